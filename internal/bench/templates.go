package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/internal/payloadtemplate"
)

// sampleRun is a finished run as the API returns it: the resource variable
// of a realistic delivery (about 3 KB of JSON).
const sampleRun = `{
  "id": "HG7ML7M8z78YcAPEB",
  "actId": "HDSasDasz78YcAPEB",
  "userId": "7sT5jcggjjA9fNcxF",
  "actorTaskId": "KJHSKHausidyaJKHs",
  "startedAt": "2026-11-26T07:34:24.202Z",
  "finishedAt": "2026-11-26T07:41:55.887Z",
  "status": "SUCCEEDED",
  "statusMessage": "Crawled 1,244 pages, 3 failed; saved 1,241 items to the dataset",
  "isStatusMessageTerminal": true,
  "meta": {
    "origin": "SCHEDULER",
    "clientIp": "172.31.44.127",
    "userAgent": "ApifyClient/2.25.0 (linux; Node/v20.20.2); isAtHome/true; SDK/3.7.2; Crawlee/3.13.0",
    "scheduleId": "dWazFsPpxMuQPmRiE",
    "scheduledAt": "2026-11-26T07:34:24.000Z"
  },
  "stats": {
    "inputBodyLen": 1240,
    "migrationCount": 0,
    "rebootCount": 0,
    "restartCount": 0,
    "resurrectCount": 0,
    "memAvgBytes": 267874071.9835,
    "memMaxBytes": 404713472,
    "memCurrentBytes": 0,
    "cpuAvgUsage": 33.75321011075804,
    "cpuMaxUsage": 169.65073553494125,
    "cpuCurrentUsage": 0,
    "netRxBytes": 103508042,
    "netTxBytes": 4854600,
    "durationMillis": 451685,
    "runTimeSecs": 451.685,
    "metamorph": 0,
    "computeUnits": 0.12546805555555556
  },
  "options": {
    "build": "latest",
    "timeoutSecs": 3600,
    "memoryMbytes": 1024,
    "diskMbytes": 2048,
    "maxItems": 10000,
    "maxTotalChargeUsd": 5
  },
  "buildId": "7sT5jcggjjA9fNcxF",
  "exitCode": 0,
  "defaultKeyValueStoreId": "eJNzqsbPiopwJcgGQ",
  "defaultDatasetId": "wmKPijuyDnPZAPRMk",
  "defaultRequestQueueId": "FL35cSF7jrxr3BY39",
  "buildNumber": "0.4.17",
  "containerUrl": "https://g8kd8kbc5ge8.runs.apify.net",
  "isContainerServerReady": false,
  "gitBranchName": "master",
  "usage": {
    "ACTOR_COMPUTE_UNITS": 0.12546805555555556,
    "DATASET_READS": 0,
    "DATASET_WRITES": 1241,
    "KEY_VALUE_STORE_READS": 3,
    "KEY_VALUE_STORE_WRITES": 14,
    "KEY_VALUE_STORE_LISTS": 0,
    "REQUEST_QUEUE_READS": 2488,
    "REQUEST_QUEUE_WRITES": 1247,
    "DATA_TRANSFER_INTERNAL_GBYTES": 0.0043180910870432854,
    "DATA_TRANSFER_EXTERNAL_GBYTES": 0.09639838384464383,
    "PROXY_RESIDENTIAL_TRANSFER_GBYTES": 0,
    "PROXY_SERPS": 0
  },
  "usageTotalUsd": 0.1049138543,
  "usageUsd": {
    "ACTOR_COMPUTE_UNITS": 0.05018722222222222,
    "DATASET_READS": 0,
    "DATASET_WRITES": 0.006205,
    "KEY_VALUE_STORE_READS": 0.000015,
    "KEY_VALUE_STORE_WRITES": 0.0007,
    "KEY_VALUE_STORE_LISTS": 0,
    "REQUEST_QUEUE_READS": 0.00995200,
    "REQUEST_QUEUE_WRITES": 0.024940,
    "DATA_TRANSFER_INTERNAL_GBYTES": 0.00021590455435216427,
    "DATA_TRANSFER_EXTERNAL_GBYTES": 0.01927967676892877,
    "PROXY_RESIDENTIAL_TRANSFER_GBYTES": 0,
    "PROXY_SERPS": 0
  },
  "pricingInfo": {
    "pricingModel": "PAY_PER_EVENT",
    "reasonForChange": "",
    "startedAt": "2026-01-01T00:00:00.000Z",
    "createdAt": "2025-12-15T10:12:45.323Z",
    "apifyMarginPercentage": 0.2,
    "pricingPerEvent": {
      "actorChargeEvents": {
        "actor-start": {"eventTitle": "Actor start", "eventPriceUsd": 0.005, "eventDescription": "Charged once when the Actor starts"},
        "page-crawled": {"eventTitle": "Page crawled", "eventPriceUsd": 0.0004, "eventDescription": "Charged for every page the crawler opens and parses"}
      }
    }
  },
  "chargedEventCounts": {"actor-start": 1, "page-crawled": 1244},
  "generalAccess": "FOLLOW_USER_SETTING",
  "storageIds": {
    "datasets": {"default": "wmKPijuyDnPZAPRMk"},
    "keyValueStores": {"default": "eJNzqsbPiopwJcgGQ"},
    "requestQueues": {"default": "FL35cSF7jrxr3BY39"}
  }
}`

// templateVars returns the variables of an ACTOR.RUN.SUCCEEDED delivery of
// sampleRun, as JSON values.
func templateVars() (map[string]any, error) {
	var run map[string]any
	if err := json.Unmarshal([]byte(sampleRun), &run); err != nil {
		return nil, fmt.Errorf("sample run: %w", err)
	}
	return map[string]any{
		"userId":    run["userId"],
		"createdAt": "2026-11-26T07:41:56.012Z",
		"eventType": string(client.EventActorRunSucceeded),
		"eventData": map[string]any{"actorId": run["actId"], "actorTaskId": run["actorTaskId"], "actorRunId": run["id"]},
		"resource":  run,
		"globals":   map[string]any{"dateISO": "2026-11-26T07:41:56.012Z", "dateUnix": 1795678916012.0},
	}, nil
}

// templateCase is one template both sides render.
type templateCase struct {
	Name          string         `json:"name"`
	Label         string         `json:"-"`
	Template      string         `json:"template"`
	Interpolate   bool           `json:"interpolate"`
	Vars          map[string]any `json:"vars"`
	MinIterations int            `json:"minIterations"`
	Target        float64        `json:"-"` // minimum speed-up of one call; 0 for none
	// DeliveryTarget is the minimum speed-up per delivery; a case with
	// one gets rows per delivery (see perDelivery).
	DeliveryTarget float64 `json:"-"`
	Paired         bool    `json:"-"` // per-delivery rows timed in pairs (see templates)
}

// interpolating20 is a template of 20 fields with placeholders inside
// strings (shouldInterpolateStrings), as a chat notification would use.
func interpolating20() string {
	fields := []string{
		`"text": "Run {{resource.id}} of {{resource.actId}} finished: {{resource.status}}"`,
		`"status": "{{resource.status}}"`,
		`"message": "{{resource.statusMessage}}"`,
		`"event": "{{eventType}} at {{createdAt}}"`,
		`"user": "{{userId}}"`,
		`"task": "https://console.apify.com/actors/tasks/{{resource.actorTaskId}}"`,
		`"run": "https://console.apify.com/actors/{{resource.actId}}/runs/{{resource.id}}"`,
		`"dataset": "https://api.apify.com/v2/datasets/{{resource.defaultDatasetId}}/items?format=json"`,
		`"store": "{{resource.defaultKeyValueStoreId}}"`,
		`"started": "{{resource.startedAt}}"`,
		`"finished": "{{resource.finishedAt}}"`,
		`"duration": "{{resource.stats.durationMillis}} ms"`,
		`"memory": "avg {{resource.stats.memAvgBytes}} B, max {{resource.stats.memMaxBytes}} B"`,
		`"cu": "{{resource.stats.computeUnits}}"`,
		`"cost": "USD {{resource.usageTotalUsd}}"`,
		`"build": "{{resource.buildNumber}} ({{resource.options.build}})"`,
		`"origin": "{{resource.meta.origin}}"`,
		`"exit": "{{resource.exitCode}}"`,
		`"resource": "{{resource.stats}}"`,
		`"when": "{{globals.dateISO}}"`,
	}
	return "{\n  " + strings.Join(fields, ",\n  ") + "\n}"
}

// placeholders returns a template of an object with n members, each a
// placeholder outside strings.
func placeholders(n int) string {
	paths := []string{"resource.id", "resource.status", "eventType", "userId", "resource.stats.durationMillis", "eventData.actorRunId", "createdAt", "resource.options"}
	var sb strings.Builder
	sb.WriteString("{")
	for i := range n {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, "\n  \"f%d\": {{%s}}", i, paths[i%len(paths)])
	}
	sb.WriteString("\n}")
	return sb.String()
}

func (b *bench) templateCases() ([]templateCase, error) {
	vars, err := templateVars()
	if err != nil {
		return nil, err
	}
	runJSON, _ := json.Marshal(vars["resource"])
	cases := []templateCase{
		{Name: "default", Label: fmt.Sprintf("default template, %.1f KB run", float64(len(runJSON))/1000), Template: actor.DefaultPayloadTemplate, Target: 5, DeliveryTarget: 10, Paired: true},
		{Name: "interpolate20", Label: "interpolating template, 20 fields", Template: interpolating20(), Interpolate: true, Target: 5, DeliveryTarget: 10, Paired: true},
		{Name: "p50", Label: "50 placeholders", Template: placeholders(50)},
		{Name: "p500", Label: "500 placeholders", Template: placeholders(500), Target: 100, DeliveryTarget: 100},
	}
	if b.cfg.HugeTemplate {
		// The reference takes tens of seconds per render here: one timed run.
		cases = append(cases, templateCase{Name: "p5000", Label: "5,000 placeholders", Template: placeholders(5000), MinIterations: 1})
	}
	for i := range cases {
		cases[i].Vars = vars
		if cases[i].MinIterations == 0 {
			cases[i].MinIterations = 10
		}
	}
	return cases, nil
}

// templates compares rendering against WebhookPayloadTemplate.parse +
// JSON.stringify, which the platform runs for each delivery, with the
// variables as a decoded JavaScript object. Each case gets one call that
// parses and renders with the run decoded (a Go map, as the reference gets
// a JavaScript object). The cases with a delivery target also get the work
// this module does per delivery: Render of the template parsed when the
// webhook was saved, with the run as the local platform passes it (its JSON,
// indexed once per event: payloadtemplate.IndexJSON), which has the target,
// and with the run decoded. Two more rows: the cost of indexing the run, once
// per event, and the cost per placeholder from 50 to 5,000, which must not
// grow.
//
// The rows of the 20-field and default templates are timed in pairs: each
// node process times one case, and our three ways of it are timed right
// after, so that both sides of a pair meet the machine in the same state (on
// a shared machine the speed of both moves by a third from minute to
// minute). Their ratio is the median of the pairs' ratios.
func (b *bench) templates(ctx context.Context) ([]row, error) {
	cases, err := b.templateCases()
	if err != nil {
		return nil, err
	}
	node, err := b.nodeEnv(ctx)
	if err != nil {
		return nil, err
	}
	runJSON, err := json.Marshal(cases[0].Vars["resource"])
	if err != nil {
		return nil, err
	}
	indexed, err := payloadtemplate.IndexJSON(runJSON)
	if err != nil {
		return nil, err
	}
	rawVars := maps.Clone(cases[0].Vars)
	rawVars["resource"] = indexed
	parsed := map[string]*payloadtemplate.Template{}
	for _, c := range cases {
		t, err := payloadtemplate.Parse(c.Template, payloadtemplate.Options{InterpolateStrings: c.Interpolate})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		parsed[c.Name] = t
	}
	render := func(c templateCase, vars map[string]any) func() error {
		return func() error {
			_, err := parsed[c.Name].Render(vars)
			return err
		}
	}
	oneCall := func(c templateCase) func() error {
		return func() error {
			_, err := actor.RenderPayloadTemplate(c.Template, c.Vars, actor.TemplateOptions{InterpolateStrings: c.Interpolate})
			return err
		}
	}
	js, paired, err := b.jsTemplates(ctx, node, cases, func(c templateCase) [3]goResult {
		return [3]goResult{goBenchOnce(render(c, rawVars)), goBenchOnce(render(c, c.Vars)), goBenchOnce(oneCall(c))}
	})
	if err != nil {
		return nil, err
	}
	var rows []row
	perPlaceholder := map[string]float64{}
	for _, c := range cases {
		ours, err := actor.RenderPayloadTemplate(c.Template, c.Vars, actor.TemplateOptions{InterpolateStrings: c.Interpolate})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		theirs := js[c.Name]
		if err := sameJSON(ours, []byte(theirs.Rendered)); err != nil {
			return nil, fmt.Errorf("%s: the two sides render different bodies: %w", c.Name, err)
		}
		for _, vars := range []map[string]any{c.Vars, rawVars} {
			if got, err := parsed[c.Name].Render(vars); err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			} else if err := sameJSON(ours, got); err != nil {
				return nil, fmt.Errorf("%s: Render renders a different body: %w", c.Name, err)
			}
		}
		if pairs := paired[c.Name]; len(pairs) > 0 {
			for k, way := range []string{"run as JSON, indexed once per event (as the local platform passes it)", "run decoded (a Go map)"} {
				target := c.DeliveryTarget
				if k == 1 {
					target = 0
				}
				rows = append(rows, pairedRow(c.Label+", per delivery: parsed when saved, "+way, pairs, k, target))
				b.logf("templates: %s: per delivery, %s: Go %s/op (%s), JS %s/op (%s), paired ratios %s",
					c.Name, way, duration(pairs.ours(k).ns), durations(pairs.goNs(k)), duration(pairs.theirs()), durations(pairs.jsNs()), ratios(pairs.ratios(k)))
			}
		} else if c.DeliveryTarget > 0 {
			res := goBench(render(c, rawVars))
			rows = append(rows, templateRow(c.Label+", per delivery: parsed when saved, run as JSON, indexed once per event", res, "", theirs.NsPerOp, c.DeliveryTarget))
		}
		perPlaceholder[c.Name] = goBench(render(c, rawVars)).ns
		label := c.Label + ", one call: parse + render, run decoded"
		if pairs := paired[c.Name]; len(pairs) > 0 {
			rows = append(rows, pairedRow(label, pairs, 2, c.Target))
			b.logf("templates: %s: one call: Go %s/op (%s), paired ratios %s", c.Name, duration(pairs.ours(2).ns), durations(pairs.goNs(2)), ratios(pairs.ratios(2)))
			continue
		}
		renderOnly := goBench(render(c, c.Vars))
		one := goBench(oneCall(c))
		rows = append(rows, templateRow(label, one, " (render alone: "+duration(renderOnly.ns)+")", theirs.NsPerOp, c.Target))
		b.logf("templates: %s: Go %s/op in one call (%d allocs; render of the parsed template %s/op), JS %s/op (median of %d processes: %s; %d runs)",
			c.Name, duration(one.ns), one.allocs, duration(renderOnly.ns), duration(theirs.NsPerOp), theirs.Processes, durations(theirs.PerProcess), theirs.Iterations)
	}
	index := goBench(func() error {
		_, err := payloadtemplate.IndexJSON(runJSON)
		return err
	})
	rows = append(rows, row{Comparison: "template rendering", Case: fmt.Sprintf("indexing the %.1f KB run, once per event (IndexJSON)", float64(len(runJSON))/1000),
		Ours: fmt.Sprintf("%s/op, %d allocs", duration(index.ns), index.allocs), Theirs: "-", Ratio: "-"})
	if last := cases[len(cases)-1]; last.Name != "p50" {
		n := map[string]float64{"p50": 50, "p500": 500, "p5000": 5000}
		lo, hi := perPlaceholder["p50"]/50, perPlaceholder[last.Name]/n[last.Name]
		rows = append(rows, row{Comparison: "template rendering", Case: "cost per placeholder, 50 to " + strings.TrimPrefix(last.Name, "p") + " placeholders (render, run as JSON)",
			Ours: fmt.Sprintf("%s to %s", duration(lo), duration(hi)), Theirs: "-", Ratio: fmt.Sprintf("%.2f× the cost at 50", hi/lo),
			Target: "linear (≤ 1.5×)", Met: met(hi/lo <= 1.5)})
	}
	return rows, nil
}

// templateRow is a row of the template comparison; target is the least
// speed-up wanted, 0 for none.
func templateRow(label string, ours goResult, note string, theirsNs, target float64) row {
	ratio := theirsNs / ours.ns
	r := row{
		Comparison: "template rendering",
		Case:       label,
		Ours:       fmt.Sprintf("%s/op, %d allocs%s", duration(ours.ns), ours.allocs, note),
		Theirs:     duration(theirsNs) + "/op",
		Ratio:      faster(ratio),
	}
	if target > 0 {
		r.Target = fmt.Sprintf("≥ %g×", target)
		r.Met = met(ratio >= target)
	}
	return r
}

// pairedRow is the row of a case timed in pairs, our way k: each side's
// median, and the median of the pairs' ratios; target 0 for none.
func pairedRow(label string, pairs timedPairs, k int, target float64) row {
	ours, ratio := pairs.ours(k), median(pairs.ratios(k))
	r := row{
		Comparison: "template rendering",
		Case:       label,
		Ours:       fmt.Sprintf("%s/op, %d allocs", duration(ours.ns), ours.allocs),
		Theirs:     duration(pairs.theirs()) + "/op",
		Ratio:      faster(ratio) + fmt.Sprintf(" (median of %d pairs)", len(pairs)),
	}
	if target > 0 {
		r.Target, r.Met = fmt.Sprintf("≥ %g×", target), met(ratio >= target)
	}
	return r
}

// timedPair is one node process's time for a case and ours, three ways,
// timed right after it.
type timedPair struct {
	js  float64     // ns per operation
	our [3]goResult // run as indexed JSON, run decoded, one call
}

type timedPairs []timedPair

func (ps timedPairs) jsNs() []float64 {
	var ns []float64
	for _, p := range ps {
		ns = append(ns, p.js)
	}
	return ns
}

func (ps timedPairs) goNs(k int) []float64 {
	var ns []float64
	for _, p := range ps {
		ns = append(ns, p.our[k].ns)
	}
	return ns
}

func (ps timedPairs) ratios(k int) []float64 {
	var rs []float64
	for _, p := range ps {
		rs = append(rs, p.js/p.our[k].ns)
	}
	return rs
}

func (ps timedPairs) theirs() float64 { return median(ps.jsNs()) }

// ours is the median of our times of way k, with the allocations of the
// first.
func (ps timedPairs) ours(k int) goResult {
	return goResult{ns: median(ps.goNs(k)), allocs: ps[0].our[k].allocs}
}

// median returns the median of xs, the mean of the middle two for an even
// count.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func ratios(rs []float64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%.1f×", r)
	}
	return strings.Join(parts, ", ")
}

// goResult is the time and allocations of one operation.
type goResult struct {
	ns     float64
	allocs int64
}

// goBench times op with testing.Benchmark, three times: the figure is the
// median, as the JS side's is the median of its processes.
func goBench(op func() error) goResult {
	var runs [3]goResult
	for i := range runs {
		runs[i] = goBenchOnce(op)
	}
	slices.SortFunc(runs[:], func(a, b goResult) int { return cmp.Compare(a.ns, b.ns) })
	return runs[1]
}

// goBenchOnce times op with one testing.Benchmark run.
func goBenchOnce(op func() error) goResult {
	res := testing.Benchmark(func(tb *testing.B) {
		tb.ReportAllocs()
		for tb.Loop() {
			if err := op(); err != nil {
				tb.Fatal(err)
			}
		}
	})
	return goResult{ns: float64(res.T.Nanoseconds()) / float64(res.N), allocs: res.AllocsPerOp()}
}

type jsTemplateResult struct {
	NsPerOp    float64   `json:"nsPerOp"`
	Iterations int       `json:"iterations"`
	Rendered   string    `json:"rendered"`
	Processes  int       `json:"-"` // node processes that timed the case
	PerProcess []float64 `json:"-"` // each process's figure
}

// jsTemplates times the cases with js/templates.js, each case in a node
// process of its own, b.cfg.JSProcesses rounds over (V8 settles on code of
// different speed from one process to the next), and gives each case the
// median of its processes' figures. A case timed once (MinIterations 1:
// seconds per run) runs in the first round only. After each process that
// timed a case with a delivery target, ours times our side of it; the pairs
// are returned by case.
func (b *bench) jsTemplates(ctx context.Context, node *nodeEnv, cases []templateCase, ours func(templateCase) [3]goResult) (map[string]jsTemplateResult, map[string]timedPairs, error) {
	dir, err := os.MkdirTemp("", "apify-bench-templates-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	runs := map[string][]jsTemplateResult{}
	paired := map[string]timedPairs{}
	for round := range max(b.cfg.JSProcesses, 1) {
		for _, c := range cases {
			if round > 0 && c.MinIterations <= 1 {
				continue
			}
			res, err := b.jsTemplatesOnce(ctx, node, []templateCase{c}, dir)
			if err != nil {
				return nil, nil, err
			}
			r, ok := res[c.Name]
			if !ok {
				return nil, nil, fmt.Errorf("templates.js gave no result for %s", c.Name)
			}
			runs[c.Name] = append(runs[c.Name], r)
			if c.Paired {
				paired[c.Name] = append(paired[c.Name], timedPair{js: r.NsPerOp, our: ours(c)})
			}
		}
	}
	out := map[string]jsTemplateResult{}
	for name, rs := range runs {
		r := rs[0]
		r.Processes = len(rs)
		r.PerProcess = nil
		for _, x := range rs {
			r.PerProcess = append(r.PerProcess, x.NsPerOp)
		}
		r.NsPerOp = median(r.PerProcess)
		for _, x := range rs[1:] {
			r.Iterations += x.Iterations
		}
		out[name] = r
	}
	return out, paired, nil
}

// jsTemplatesOnce runs js/templates.js on the cases in one node process.
func (b *bench) jsTemplatesOnce(ctx context.Context, node *nodeEnv, cases []templateCase, dir string) (map[string]jsTemplateResult, error) {
	in, out := filepath.Join(dir, "in.json"), filepath.Join(dir, "out.json")
	input, err := json.Marshal(map[string]any{
		"cases":            cases,
		"budgetMs":         float64(b.cfg.JSBudget) / float64(time.Millisecond),
		"allowedVariables": []string{"userId", "createdAt", "eventType", "eventData", "resource", "globals"},
	})
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(in, input, 0o644); err != nil {
		return nil, err
	}
	if _, err := node.run(ctx, "templates.js", nil, in, out); err != nil {
		return nil, err
	}
	var res struct {
		Results map[string]jsTemplateResult `json:"results"`
	}
	if err := readJSON(out, &res); err != nil {
		return nil, err
	}
	return res.Results, nil
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a, b []byte) error {
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		return fmt.Errorf("ours is not JSON: %w", err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		return fmt.Errorf("the reference's is not JSON: %w", err)
	}
	ca, _ := json.Marshal(va)
	cb, _ := json.Marshal(vb)
	if string(ca) != string(cb) {
		return fmt.Errorf("ours %.300s…, the reference's %.300s…", ca, cb)
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}

// durations formats each of ns with duration.
func durations(ns []float64) string {
	parts := make([]string, len(ns))
	for i, x := range ns {
		parts[i] = duration(x)
	}
	return strings.Join(parts, ", ")
}

// duration formats nanoseconds with three significant digits or so.
func duration(ns float64) string {
	unit, v := "ns", ns
	switch {
	case ns >= 1e9:
		unit, v = "s", ns/1e9
	case ns >= 1e6:
		unit, v = "ms", ns/1e6
	case ns >= 1e3:
		unit, v = "µs", ns/1e3
	}
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%.2f %s", v, unit)
}

package payloadtemplate

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// tmplBenchRun is an Actor run as the API returns it (about 3 KB of JSON).
const tmplBenchRun = `{
  "id": "HG7ML7M8z78YcAPEB", "actId": "vKs9zfyvbBG4eaAXy", "userId": "wRsJZtadYvn4mBZmm", "actorTaskId": "KJHSKHausidyaJKHs",
  "startedAt": "2024-05-01T12:00:00.000Z", "finishedAt": "2024-05-01T12:04:12.347Z",
  "status": "SUCCEEDED", "statusMessage": "Finished! Total 1,254 requests: 1,250 succeeded, 4 failed.", "isStatusMessageTerminal": true,
  "meta": {"origin": "WEBHOOK", "clientIp": "172.234.12.34", "userAgent": "ApifyClient/2.9.3 (linux; Node/v20.11.0); isAtHome/true"},
  "stats": {
    "inputBodyLen": 2048, "migrationCount": 0, "rebootCount": 0, "restartCount": 0, "resurrectCount": 2,
    "memAvgBytes": 267874071.9, "memMaxBytes": 404713472, "memCurrentBytes": 0,
    "cpuAvgUsage": 33.75321011075384, "cpuMaxUsage": 169.65073553494125, "cpuCurrentUsage": 0,
    "netRxBytes": 103508042, "netTxBytes": 4854600, "durationMillis": 248472, "runTimeSecs": 248.472,
    "metamorph": 0, "computeUnits": 0.13804
  },
  "options": {"build": "latest", "timeoutSecs": 300, "memoryMbytes": 1024, "diskMbytes": 2048, "maxItems": 1000, "maxTotalChargeUsd": 5},
  "buildId": "7sT5jcggjjA9fNcxF", "exitCode": 0,
  "defaultKeyValueStoreId": "eJNzqsbPiopwJcgGQ", "defaultDatasetId": "wmKPijuyDnPZAPRMk", "defaultRequestQueueId": "FL35cSF7jrxr3BY39",
  "buildNumber": "0.0.36", "containerUrl": "https://g8kd8kbc5ge8.runs.apify.net",
  "isContainerServerReady": true, "gitBranchName": "master",
  "usage": {
    "ACTOR_COMPUTE_UNITS": 0.13804, "DATASET_READS": 0, "DATASET_WRITES": 1250, "KEY_VALUE_STORE_READS": 3,
    "KEY_VALUE_STORE_WRITES": 6, "KEY_VALUE_STORE_LISTS": 0, "REQUEST_QUEUE_READS": 2508, "REQUEST_QUEUE_WRITES": 1254,
    "DATA_TRANSFER_INTERNAL_GBYTES": 0.0012, "DATA_TRANSFER_EXTERNAL_GBYTES": 0.0964, "PROXY_RESIDENTIAL_TRANSFER_GBYTES": 0,
    "PROXY_SERPS": 0
  },
  "usageTotalUsd": 0.0796382,
  "usageUsd": {
    "ACTOR_COMPUTE_UNITS": 0.055216, "DATASET_READS": 0, "DATASET_WRITES": 0.00625, "KEY_VALUE_STORE_READS": 0.000015,
    "KEY_VALUE_STORE_WRITES": 0.0003, "KEY_VALUE_STORE_LISTS": 0, "REQUEST_QUEUE_READS": 0.010032, "REQUEST_QUEUE_WRITES": 0.005016,
    "DATA_TRANSFER_INTERNAL_GBYTES": 0.0000012, "DATA_TRANSFER_EXTERNAL_GBYTES": 0.00241, "PROXY_RESIDENTIAL_TRANSFER_GBYTES": 0,
    "PROXY_SERPS": 0
  },
  "pricingInfo": {"pricingModel": "PAY_PER_EVENT", "apifyMarginPercentage": 0.2, "createdAt": "2024-01-10T09:00:00.000Z", "startedAt": "2024-01-10T09:00:00.000Z",
    "pricingPerEvent": {"actorChargeEvents": {"apify-actor-start": {"eventTitle": "Actor start", "eventPriceUsd": 0.00005, "eventDescription": "Charged when the Actor starts."},
      "result": {"eventTitle": "Result", "eventPriceUsd": 0.001, "eventDescription": "Charged for each item in the dataset."}}}},
  "chargedEventCounts": {"apify-actor-start": 1, "result": 1250},
  "generalAccess": "FOLLOW_USER_SETTING", "platformUsageBillingModel": "USER",
  "storageIds": {"datasets": {"default": "wmKPijuyDnPZAPRMk"}, "keyValueStores": {"default": "eJNzqsbPiopwJcgGQ"}, "requestQueues": {"default": "FL35cSF7jrxr3BY39"}},
  "labels": ["nightly", "catalogue", "eu-west"]
}`

func tmplBenchVars(b *testing.B) map[string]any {
	var run map[string]any
	if err := json.Unmarshal([]byte(tmplBenchRun), &run); err != nil {
		b.Fatal(err)
	}
	return map[string]any{
		"userId":    "wRsJZtadYvn4mBZmm",
		"createdAt": "2024-05-01T12:04:12.351Z",
		"eventType": "ACTOR.RUN.SUCCEEDED",
		"eventData": map[string]any{"actorId": "vKs9zfyvbBG4eaAXy", "actorTaskId": "KJHSKHausidyaJKHs", "actorRunId": "HG7ML7M8z78YcAPEB"},
		"resource":  run,
		"globals":   map[string]any{"dateISO": "2024-05-01T12:04:12.351Z", "dateUnix": 1714565052.0},
	}
}

// tmplBenchRawVars returns tmplBenchVars with the run as compact raw JSON,
// as the local platform passes it.
func tmplBenchRawVars(b *testing.B) map[string]any {
	vars := tmplBenchVars(b)
	raw, err := json.Marshal(vars["resource"])
	if err != nil {
		b.Fatal(err)
	}
	vars["resource"] = json.RawMessage(raw)
	return vars
}

// tmplBenchIndexedVars returns tmplBenchVars with the run indexed once, as
// the local platform passes it to each delivery of an event.
func tmplBenchIndexedVars(b *testing.B) map[string]any {
	vars := tmplBenchRawVars(b)
	j, err := IndexJSON(vars["resource"].(json.RawMessage))
	if err != nil {
		b.Fatal(err)
	}
	vars["resource"] = j
	return vars
}

func tmplBench(b *testing.B, template string, opts Options) {
	tmplBenchWith(b, template, opts, tmplBenchVars(b))
}

func tmplBenchWith(b *testing.B, template string, opts Options, vars map[string]any) {
	tmpl, err := Parse(template, opts)
	if err != nil {
		b.Fatal(err)
	}
	out, err := tmpl.Render(vars)
	if err != nil || !json.Valid(out) {
		b.Fatalf("Render: %v\n%s", err, out)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := tmpl.Render(vars); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPayloadTemplateDefault renders the platform's default template
// with a realistic run of about 3 KB.
func BenchmarkPayloadTemplateDefault(b *testing.B) {
	tmplBench(b, Default, Options{})
}

// BenchmarkPayloadTemplateDefaultRaw renders the default template with the
// run as raw JSON.
func BenchmarkPayloadTemplateDefaultRaw(b *testing.B) {
	tmplBenchWith(b, Default, Options{}, tmplBenchRawVars(b))
}

// BenchmarkPayloadTemplateDefaultIndexed renders the default template with
// the run indexed once.
func BenchmarkPayloadTemplateDefaultIndexed(b *testing.B) {
	tmplBenchWith(b, Default, Options{}, tmplBenchIndexedVars(b))
}

// tmplBenchInterpolate20 is an interpolating template of 20 fields.
const tmplBenchInterpolate20 = `{
  "text": "Run {{resource.id}} of {{eventData.actorId}} finished with {{resource.status}} at {{resource.finishedAt}}",
  "runId": "{{resource.id}}",
  "status": "{{resource.status}}",
  "message": "{{resource.statusMessage}}",
  "datasetId": "{{resource.defaultDatasetId}}",
  "datasetUrl": "https://api.apify.com/v2/datasets/{{resource.defaultDatasetId}}/items?format=json",
  "storeId": "{{resource.defaultKeyValueStoreId}}",
  "durationMillis": "{{resource.stats.durationMillis}}",
  "computeUnits": "{{resource.stats.computeUnits}}",
  "summary": "{{resource.stats.computeUnits}} CU, {{resource.usageTotalUsd}} USD, {{resource.chargedEventCounts.result}} results",
  "costUsd": "{{resource.usageTotalUsd}}",
  "items": "{{resource.chargedEventCounts.result}}",
  "memoryMbytes": "{{resource.options.memoryMbytes}}",
  "labels": "{{resource.labels}}",
  "labelText": "labels: {{resource.labels}}",
  "user": "{{userId}}",
  "event": "{{eventType}}",
  "when": "{{globals.dateISO}} ({{globals.dateUnix}})",
  "missing": "{{resource.nope}}",
  "usage": "{{resource.usage}}"
}`

// BenchmarkPayloadTemplateInterpolate20 renders an interpolating template of
// 20 fields.
func BenchmarkPayloadTemplateInterpolate20(b *testing.B) {
	tmplBench(b, tmplBenchInterpolate20, Options{InterpolateStrings: true})
}

// BenchmarkPayloadTemplateInterpolate20Raw renders the interpolating
// template of 20 fields with the run as raw JSON.
func BenchmarkPayloadTemplateInterpolate20Raw(b *testing.B) {
	tmplBenchWith(b, tmplBenchInterpolate20, Options{InterpolateStrings: true}, tmplBenchRawVars(b))
}

// BenchmarkPayloadTemplateInterpolate20Indexed renders the interpolating
// template of 20 fields with the run indexed once.
func BenchmarkPayloadTemplateInterpolate20Indexed(b *testing.B) {
	tmplBenchWith(b, tmplBenchInterpolate20, Options{InterpolateStrings: true}, tmplBenchIndexedVars(b))
}

func tmplBench500() string {
	paths := []string{"resource.id", "resource.status", "resource.stats.durationMillis", "resource.stats.computeUnits",
		"resource.defaultDatasetId", "resource.options.memoryMbytes", "resource.usageTotalUsd", "resource.labels.1",
		"eventData.actorId", "userId", "createdAt", "resource.nope", "resource.stats.restartCount", "globals.dateUnix"}
	var sb strings.Builder
	sb.WriteString("{")
	for i := range 500 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, "\n  \"f%d\": {{%s}}", i, paths[i%len(paths)])
	}
	sb.WriteString("\n}")
	return sb.String()
}

// BenchmarkPayloadTemplate500 renders a template of 500 placeholders.
func BenchmarkPayloadTemplate500(b *testing.B) {
	tmplBench(b, tmplBench500(), Options{})
}

// BenchmarkPayloadTemplateParse500 parses the template of 500 placeholders.
func BenchmarkPayloadTemplateParse500(b *testing.B) {
	tmplBenchParse(b, tmplBench500(), Options{})
}

func tmplBenchParse(b *testing.B, text string, opts Options) {
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(text, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPayloadTemplateParseDefault parses the platform's default
// template.
func BenchmarkPayloadTemplateParseDefault(b *testing.B) {
	tmplBenchParse(b, Default, Options{})
}

// BenchmarkPayloadTemplateParseInterpolate20 parses the interpolating
// template of 20 fields.
func BenchmarkPayloadTemplateParseInterpolate20(b *testing.B) {
	tmplBenchParse(b, tmplBenchInterpolate20, Options{InterpolateStrings: true})
}

func tmplBenchOneShot(b *testing.B, template string, opts Options) {
	vars := tmplBenchVars(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RenderText(template, vars, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderPayloadTemplateDefault parses and renders the default
// template in one call, as the platform's reference does per delivery.
func BenchmarkRenderPayloadTemplateDefault(b *testing.B) {
	tmplBenchOneShot(b, Default, Options{})
}

// BenchmarkRenderPayloadTemplateInterpolate20 parses and renders the
// interpolating template of 20 fields in one call.
func BenchmarkRenderPayloadTemplateInterpolate20(b *testing.B) {
	tmplBenchOneShot(b, tmplBenchInterpolate20, Options{InterpolateStrings: true})
}

// BenchmarkPayloadTemplateNumbers writes numbers as a run holds them:
// integers, short decimals and results of arithmetic in 17 digits.
func BenchmarkPayloadTemplateNumbers(b *testing.B) {
	for _, bc := range []struct {
		name string
		f    float64
	}{
		{"integer", 103508042}, {"short", 451.685}, {"cents", 0.006205}, {"long", 0.12546805555555556}, {"long2", 33.75321011075804},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 0, 32)
			for b.Loop() {
				buf = appendNumber(buf[:0], bc.f)
			}
		})
	}
}

// BenchmarkPayloadTemplateItems renders an array of 1,000 small objects,
// all of one key set or of key sets drawn at random from 40 keys.
func BenchmarkPayloadTemplateItems(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, bc := range []struct {
		name string
		item func(i int) map[string]any
	}{
		{"same", func(i int) map[string]any {
			return map[string]any{"a": float64(i), "b": "x", "c": true, "d": nil, "e": 1.5}
		}},
		{"random", func(int) map[string]any {
			m := map[string]any{}
			for len(m) < 5 {
				m[fmt.Sprintf("k%d", r.IntN(40))] = 1.0
			}
			return m
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			items := make([]any, 1000)
			for i := range items {
				items[i] = bc.item(i)
			}
			tmplBenchWith(b, `{{resource}}`, Options{}, map[string]any{"resource": items})
		})
	}
}

// BenchmarkIndexJSON indexes a run of about 3 KB, as the local platform does
// once per event.
func BenchmarkIndexJSON(b *testing.B) {
	raw, err := json.Marshal(tmplBenchVars(b)["resource"])
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := IndexJSON(raw); err != nil {
			b.Fatal(err)
		}
	}
}

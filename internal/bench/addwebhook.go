package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// childEnv, when set, makes the bench binary run as a child process: the
// Go side of a comparison that needs a process of its own.
const childEnv = "APIFY_BENCH_CHILD"

// The child's parameters, passed in the environment.
const (
	childCallsEnv  = "APIFY_BENCH_CALLS"
	childWarmupEnv = "APIFY_BENCH_WARMUP"
	childPrefixEnv = "APIFY_BENCH_PREFIX"
	childOutEnv    = "APIFY_BENCH_OUTPUT"
)

// latencies is what each side of the AddWebhook comparison reports.
type latencies struct {
	LatenciesNs []int64 `json:"latenciesNs"`
}

// runChild runs the Go side of the AddWebhook comparison as an Actor of the
// local platform (its environment says which run): warm-up calls, then
// timed sequential calls, each with its own definition so that none is
// answered from the idempotency key of another. It returns the exit code.
func runChild() int {
	var err error
	switch kind := os.Getenv(childEnv); kind {
	case "addwebhook":
		err = addWebhookChild(context.Background())
	case "storage":
		err = storageChild(context.Background())
	default:
		fmt.Fprintf(os.Stderr, "bench child: unknown kind %q\n", kind)
		return 2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 1
	}
	return 0
}

func addWebhookChild(ctx context.Context) error {
	calls, err1 := strconv.Atoi(os.Getenv(childCallsEnv))
	warmup, err2 := strconv.Atoi(os.Getenv(childWarmupEnv))
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("parameters: %w", err)
	}
	prefix, out := os.Getenv(childPrefixEnv), os.Getenv(childOutEnv)
	a := actor.New()
	if err := a.Init(ctx); err != nil {
		return err
	}
	hook := func(i string) actor.Webhook {
		return actor.Webhook{EventTypes: []actor.EventType{actor.EventActorRunSucceeded}, RequestURL: prefix + i}
	}
	for i := range warmup {
		if _, err := a.AddWebhook(ctx, hook("warmup-"+strconv.Itoa(i))); err != nil {
			return err
		}
	}
	res := latencies{LatenciesNs: make([]int64, 0, calls)}
	for i := range calls {
		start := time.Now()
		w, err := a.AddWebhook(ctx, hook(strconv.Itoa(i)))
		res.LatenciesNs = append(res.LatenciesNs, time.Since(start).Nanoseconds())
		if err != nil {
			return err
		}
		if w == nil {
			return errors.New("AddWebhook created nothing: is APIFY_IS_AT_HOME set?")
		}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}

// sideResult is one side of the AddWebhook comparison.
type sideResult struct {
	median, p99 time.Duration
	maxRSS      int64 // bytes
}

// addWebhook compares AddWebhook round trips: the bench binary as a Go
// Actor and node running the JS SDK, one after the other, against the same
// local platform and run.
func (b *bench) addWebhook(ctx context.Context) ([]row, error) {
	node, err := b.nodeEnv(ctx)
	if err != nil {
		return nil, err
	}
	srv, err := apifytest.NewServer(apifytest.WithWebhookLimit(4 * (b.cfg.AddWebhookCalls + b.cfg.AddWebhookWarmup)))
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	run, err := srv.StartRun(ctx, "bench~addwebhook", nil, client.StartOptions{})
	if err != nil {
		return nil, err
	}
	env := srv.Env(run.ID)
	dir, err := os.MkdirTemp("", "apify-bench-addwebhook-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	// The JS side runs first, so that a server grown by the other side's
	// webhooks would slow the Go side, not the reference.
	jsOut := filepath.Join(dir, "js.json")
	state, err := node.run(ctx, "addwebhook.js", env, "latency", jsOut,
		strconv.Itoa(b.cfg.AddWebhookCalls), strconv.Itoa(b.cfg.AddWebhookWarmup), "http://127.0.0.1:9/js/")
	if err != nil {
		return nil, err
	}
	js, err := summarize(jsOut, state, b.cfg.AddWebhookCalls)
	if err != nil {
		return nil, fmt.Errorf("js side: %w", err)
	}

	goOut := filepath.Join(dir, "go.json")
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(childEnviron(), env...)
	cmd.Env = append(cmd.Env, childEnv+"=addwebhook", childCallsEnv+"="+strconv.Itoa(b.cfg.AddWebhookCalls),
		childWarmupEnv+"="+strconv.Itoa(b.cfg.AddWebhookWarmup), childPrefixEnv+"=http://127.0.0.1:9/go/", childOutEnv+"="+goOut)
	var out tailBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go side: %w\n%s", err, out.String())
	}
	ours, err := summarize(goOut, cmd.ProcessState, b.cfg.AddWebhookCalls)
	if err != nil {
		return nil, fmt.Errorf("go side: %w", err)
	}

	// Both sides' webhooks must be on the server: nothing was measured
	// that did not happen.
	want := 2 * (b.cfg.AddWebhookCalls + b.cfg.AddWebhookWarmup)
	got := 0
	for w, err := range srv.Client().AllWebhooks(ctx, client.ListOptions{}) {
		if err != nil {
			return nil, err
		}
		if w.Condition.ActorRunID == run.ID {
			got++
		}
	}
	if got != want {
		return nil, fmt.Errorf("the server has %d webhooks for the run, want %d", got, want)
	}

	name := fmt.Sprintf("AddWebhook, %d sequential calls", b.cfg.AddWebhookCalls)
	medianRatio := float64(js.median) / float64(ours.median)
	p99Ratio := float64(js.p99) / float64(ours.p99)
	memRatio := float64(js.maxRSS) / float64(ours.maxRSS)
	b.logf("addwebhook: Go median %v p99 %v RSS %d MB; JS median %v p99 %v RSS %d MB",
		ours.median, ours.p99, ours.maxRSS>>20, js.median, js.p99, js.maxRSS>>20)
	return []row{
		{Comparison: name, Case: "median per call", Ours: duration(float64(ours.median)), Theirs: duration(float64(js.median)),
			Ratio: faster(medianRatio), Target: "≥ 3×", Met: met(medianRatio >= 3)},
		{Comparison: name, Case: "p99 per call", Ours: duration(float64(ours.p99)), Theirs: duration(float64(js.p99)),
			Ratio: faster(p99Ratio), Target: "≥ 3×", Met: met(p99Ratio >= 3)},
		{Comparison: name, Case: "peak RSS of the process", Ours: megabytes(ours.maxRSS), Theirs: megabytes(js.maxRSS),
			Ratio: fmt.Sprintf("%.1f× less", memRatio), Target: "≤ 1/3", Met: met(memRatio >= 3)},
	}, nil
}

// summarize reads a side's latencies and its process's peak RSS.
func summarize(path string, state *os.ProcessState, calls int) (sideResult, error) {
	var l latencies
	if err := readJSON(path, &l); err != nil {
		return sideResult{}, err
	}
	if len(l.LatenciesNs) != calls {
		return sideResult{}, fmt.Errorf("%d latencies, want %d", len(l.LatenciesNs), calls)
	}
	slices.Sort(l.LatenciesNs)
	r := sideResult{
		median: time.Duration(percentile(l.LatenciesNs, 50)),
		p99:    time.Duration(percentile(l.LatenciesNs, 99)),
	}
	if r.maxRSS = peakRSS(state); r.maxRSS <= 0 {
		return r, errors.New("the peak RSS of the process is unknown on this system")
	}
	return r, nil
}

// percentile returns the p-th percentile of sorted values (nearest rank).
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func megabytes(b int64) string {
	return fmt.Sprintf("%.1f MB", float64(b)/(1<<20))
}

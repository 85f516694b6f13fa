package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/internal/faultproxy"
)

// faultSeed seeds both sides' proxies, so that both draw from the same
// sequence of faults.
const faultSeed = 7

// faultOutcome is what one side of the fault comparison achieved.
type faultOutcome struct {
	errors     int // calls that returned an error or threw
	duplicates int // webhooks beyond the first for a definition
	missing    int // definitions without a webhook
	elapsed    time.Duration
	proxy      string // the proxy's summary
}

// faults runs the same scenario with both SDKs: FaultCalls AddWebhook calls
// with distinct definitions, FaultWorkers at a time, through a proxy that
// disturbs 30% of the requests, each SDK with its default retry settings.
// It counts, on the server, the webhooks each call created.
func (b *bench) faults(ctx context.Context) ([]row, error) {
	node, err := b.nodeEnv(ctx)
	if err != nil {
		return nil, err
	}
	srv, err := apifytest.NewServer(apifytest.WithWebhookLimit(100 * b.cfg.FaultCalls))
	if err != nil {
		return nil, err
	}
	defer srv.Close()

	js, err := b.faultSide(ctx, srv, "js", func(env []string, prefix string) (int, time.Duration, error) {
		return b.jsFaults(ctx, node, env, prefix)
	})
	if err != nil {
		return nil, fmt.Errorf("js side: %w", err)
	}
	ours, err := b.faultSide(ctx, srv, "go", func(env []string, prefix string) (int, time.Duration, error) {
		return b.goFaults(ctx, env, prefix)
	})
	if err != nil {
		return nil, fmt.Errorf("go side: %w", err)
	}
	b.logf("faults: Go: %s", ours.proxy)
	b.logf("faults: JS: %s", js.proxy)

	name := fmt.Sprintf("%d AddWebhook calls, 30%% faults", b.cfg.FaultCalls)
	count := func(n int) string { return strconv.Itoa(n) }
	return []row{
		{Comparison: name, Case: "duplicate webhooks", Ours: count(ours.duplicates), Theirs: count(js.duplicates),
			Target: "0", Met: met(ours.duplicates == 0)},
		{Comparison: name, Case: "calls that failed", Ours: count(ours.errors), Theirs: count(js.errors),
			Target: "0", Met: met(ours.errors == 0)},
		{Comparison: name, Case: "definitions without a webhook", Ours: count(ours.missing), Theirs: count(js.missing),
			Target: "0", Met: met(ours.missing == 0)},
		{Comparison: name, Case: fmt.Sprintf("wall time, %d at a time, default retries", b.cfg.FaultWorkers),
			Ours: duration(float64(ours.elapsed)), Theirs: duration(float64(js.elapsed)),
			Ratio: faster(float64(js.elapsed) / float64(ours.elapsed))},
	}, nil
}

// faultSide runs one side against a run of its own behind a proxy of its
// own, then counts that run's webhooks by request URL.
func (b *bench) faultSide(ctx context.Context, srv *apifytest.Server, side string,
	calls func(env []string, prefix string) (int, time.Duration, error)) (faultOutcome, error) {
	run, err := srv.StartRun(ctx, "bench~faults-"+side, nil, client.StartOptions{})
	if err != nil {
		return faultOutcome{}, err
	}
	proxy, err := faultproxy.New(srv.Handler(), faultproxy.Options{Rate: 0.3, Seed: faultSeed})
	if err != nil {
		return faultOutcome{}, err
	}
	env := append(srv.Env(run.ID), "APIFY_API_BASE_URL="+proxy.URL, "APIFY_API_PUBLIC_BASE_URL="+proxy.URL)
	prefix := "http://127.0.0.1:9/" + side + "/"
	errs, elapsed, err := calls(env, prefix)
	proxy.Close() // every request it forwarded has been handled
	if err != nil {
		return faultOutcome{}, err
	}
	perURL := map[string]int{}
	for w, err := range srv.Client().AllWebhooks(ctx, client.ListOptions{}) {
		if err != nil {
			return faultOutcome{}, err
		}
		if w.Condition.ActorRunID == run.ID {
			perURL[w.RequestURL]++
		}
	}
	out := faultOutcome{errors: errs, elapsed: elapsed, proxy: proxy.Summary()}
	for i := range b.cfg.FaultCalls {
		switch n := perURL[prefix+strconv.Itoa(i)]; {
		case n == 0:
			out.missing++
		case n > 1:
			out.duplicates += n - 1
		}
	}
	return out, nil
}

// goFaults makes the calls with this module's Actor, configured from env
// as on the platform, with the client's default retries.
func (b *bench) goFaults(ctx context.Context, env []string, prefix string) (int, time.Duration, error) {
	a := actor.New(actor.WithEnviron(env))
	var (
		failed  atomic.Int64
		next    atomic.Int64
		wg      sync.WaitGroup
		firstMu sync.Mutex
		first   error
	)
	start := time.Now()
	for range b.cfg.FaultWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < b.cfg.FaultCalls; i = int(next.Add(1) - 1) {
				_, err := a.AddWebhook(ctx, actor.Webhook{
					EventTypes: []actor.EventType{actor.EventActorRunSucceeded},
					RequestURL: prefix + strconv.Itoa(i),
				})
				if err != nil {
					failed.Add(1)
					firstMu.Lock()
					if first == nil {
						first = err
					}
					firstMu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		b.logf("faults: Go: first error: %v", first)
	}
	return int(failed.Load()), time.Since(start), nil
}

// jsFaults makes the calls with the JS SDK's Actor.addWebhook in a node
// process whose environment is env.
func (b *bench) jsFaults(ctx context.Context, node *nodeEnv, env []string, prefix string) (int, time.Duration, error) {
	dir, err := os.MkdirTemp("", "apify-bench-faults-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "out.json")
	if _, err := node.run(ctx, "addwebhook.js", env, "faults", out,
		strconv.Itoa(b.cfg.FaultCalls), strconv.Itoa(b.cfg.FaultWorkers), prefix); err != nil {
		return 0, 0, err
	}
	var res struct {
		Errors  int `json:"errors"`
		Samples []struct {
			Call    int    `json:"call"`
			Message string `json:"message"`
		} `json:"samples"`
		ElapsedNs int64 `json:"elapsedNs"`
	}
	if err := readJSON(out, &res); err != nil {
		return 0, 0, err
	}
	for _, s := range res.Samples {
		b.logf("faults: JS: call %d threw: %s", s.Call, oneLine(s.Message))
	}
	return res.Errors, time.Duration(res.ElapsedNs), nil
}

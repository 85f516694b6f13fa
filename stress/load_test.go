package stress

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/internal/testenv"
)

const (
	// loadClients is how many clients hit the platform at once.
	loadClients = 200
	// loadMaxIterations bounds each client's loop, so that memory stays
	// bounded however fast the machine is.
	loadMaxIterations = 150
	// loadSecondsEnv overrides how long the load lasts.
	loadSecondsEnv = "ACTOR_LOAD_SECONDS"
)

// loadDuration is ACTOR_LOAD_SECONDS if set, else 30 s with
// ACTOR_LONG_TESTS=1 (as in .ci/run) without -short, else 2 s: a short run
// by default, in which the 200 clients still go through about a thousand
// iterations at once.
func loadDuration(t *testing.T) time.Duration {
	if v := os.Getenv(loadSecondsEnv); v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || secs <= 0 {
			t.Fatalf("%s=%q: want a positive number of seconds", loadSecondsEnv, v)
		}
		return time.Duration(secs * float64(time.Second))
	}
	if testenv.LongEnabled() && !testing.Short() {
		return 30 * time.Second
	}
	return 2 * time.Second
}

// TestLoad has 200 clients, each with its own connections, start runs with
// an ad-hoc webhook, add a second webhook to each run through the API,
// finish the run, read it and the webhook back, and list webhooks and
// dispatches, in a loop (for 30 seconds under ACTOR_LONG_TESTS=1, 2 by
// default). Then no request may have failed, every run and webhook must be
// there, every dispatch must have been delivered exactly once to the local
// receiver, and after Close the number of goroutines must be back where it
// was.
//
// It does not run in parallel with the other tests, whose goroutines would
// blur the count.
func TestLoad(t *testing.T) {
	duration := loadDuration(t)
	baseline := runtime.NumGoroutine()

	var (
		recvMu   sync.Mutex
		received = map[string]int{} // "c/k/which" -> deliveries
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		recvMu.Lock()
		received[q.Get("c")+"/"+q.Get("k")+"/"+q.Get("h")]++
		recvMu.Unlock()
	}))
	defer recv.Close()

	srv, err := apifytest.NewServer(apifytest.WithWebhookLimit(4*loadClients*loadMaxIterations),
		apifytest.WithRetention(loadClients*loadMaxIterations, 0)) // every run is checked at the end
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	type made struct{ runID, webhookID string }
	var (
		mu       sync.Mutex
		errs     []error
		made1    = make([][]made, loadClients)
		requests atomic.Int64
	)
	fail := func(c, k int, what string, err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, fmt.Errorf("client %d, iteration %d: %s: %w", c, k, what, err))
	}

	ctx, cancel := context.WithTimeout(t.Context(), duration+time.Minute)
	defer cancel()
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for c := range loadClients {
		cl := srv.Client()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < loadMaxIterations && time.Now().Before(deadline); k++ {
				hook := func(which string) string {
					return fmt.Sprintf("%s/hook?c=%d&k=%d&h=%s", recv.URL, c, k, which)
				}
				run, err := cl.StartActor(ctx, "load~actor", map[string]int{"c": c, "k": k}, client.StartOptions{
					Webhooks: []client.WebhookDefinition{{EventTypes: []client.EventType{client.EventActorRunSucceeded}, RequestURL: hook("start")}},
				})
				if err != nil {
					fail(c, k, "start", err)
					return
				}
				wh, err := cl.CreateWebhook(ctx, client.WebhookCondition{ActorRunID: run.ID}, client.WebhookDefinition{
					EventTypes: []client.EventType{client.EventActorRunSucceeded},
					RequestURL: hook("created"),
				})
				if err != nil {
					fail(c, k, "create webhook", err)
					return
				}
				if _, err := srv.FinishRun(run.ID, client.StatusSucceeded, 0); err != nil {
					fail(c, k, "finish run", err)
					return
				}
				got, err := cl.GetRun(ctx, run.ID)
				if err == nil && got.Status != client.StatusSucceeded {
					err = fmt.Errorf("status %s, want SUCCEEDED", got.Status)
				}
				if err != nil {
					fail(c, k, "get run", err)
					return
				}
				if _, err := cl.GetWebhook(ctx, wh.ID); err != nil {
					fail(c, k, "get webhook", err)
					return
				}
				n := int64(4)
				if k%10 == 0 {
					if _, err := cl.ListWebhooks(ctx, client.ListOptions{Limit: 10, Desc: true}); err != nil {
						fail(c, k, "list webhooks", err)
						return
					}
					if _, err := cl.ListWebhookDispatches(ctx, client.ListOptions{Limit: 10, Desc: true}); err != nil {
						fail(c, k, "list dispatches", err)
						return
					}
					n += 2
				}
				requests.Add(n)
				made1[c] = append(made1[c], made{run.ID, wh.ID})
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(deadline.Add(-duration))
	if len(errs) > 0 {
		t.Fatalf("%d requests failed; the first: %v", len(errs), errs[0])
	}
	if err := srv.WaitIdle(ctx); err != nil {
		t.Fatalf("waiting for deliveries: %v", err)
	}

	iterations := 0
	webhooks := map[string]bool{}
	for _, ms := range made1 {
		iterations += len(ms)
		for _, m := range ms {
			webhooks[m.webhookID] = true
			if run, ok := srv.Run(m.runID); !ok || run.Status != client.StatusSucceeded {
				t.Errorf("run %s: lost or not SUCCEEDED (%v)", m.runID, run)
			}
		}
	}
	for w, err := range srv.Client().AllWebhooks(ctx, client.ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		delete(webhooks, w.ID)
	}
	if len(webhooks) > 0 {
		t.Errorf("%d created webhooks are missing from the list", len(webhooks))
	}
	dispatches := srv.Dispatches()
	for _, d := range dispatches {
		if d.Status != client.DispatchSucceeded {
			t.Errorf("dispatch %s is %s after %d calls", d.ID, d.Status, len(d.Calls))
		}
	}
	recvMu.Lock()
	for c, ms := range made1 {
		for k := range ms {
			for _, which := range []string{"start", "created"} {
				if n := received[fmt.Sprintf("%d/%d/%s", c, k, which)]; n != 1 {
					t.Errorf("client %d, iteration %d: webhook %q delivered %d times, want once", c, k, which, n)
				}
			}
		}
	}
	deliveries := len(received)
	recvMu.Unlock()
	if len(dispatches) != 2*iterations || deliveries != 2*iterations {
		t.Errorf("%d iterations: %d dispatches, %d distinct deliveries; want %d of each", iterations, len(dispatches), deliveries, 2*iterations)
	}
	t.Logf("%d clients for %v: %d iterations, %d API requests (%.0f/s), %d runs, %d webhooks, %d deliveries",
		loadClients, elapsed.Round(time.Millisecond), iterations, requests.Load(),
		float64(requests.Load())/elapsed.Seconds(), iterations, 2*iterations, deliveries)

	srv.Close()
	recv.Close()
	checkGoroutines(t, baseline)
}

// checkGoroutines waits up to five seconds for the number of goroutines to
// come back to baseline, and fails with their stacks if it does not.
func checkGoroutines(t *testing.T, baseline int) {
	t.Helper()
	var n int
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if n = runtime.NumGoroutine(); n <= baseline {
			t.Logf("goroutines: %d before, %d after Close", baseline, n)
			return
		}
	}
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
	t.Errorf("%d goroutines after Close, %d before:\n%s", n, baseline, buf.String())
}

package stress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// TestAddWebhookUnderFaults makes 1,000 AddWebhook calls with distinct
// definitions through a proxy that disturbs 30% of the requests, and checks
// that the server ends up with exactly one webhook per call and that no call
// failed.
func TestAddWebhookUnderFaults(t *testing.T) {
	t.Parallel()
	const calls, workers = 1000, 16
	ctx := t.Context()
	srv := apifytest.NewTestServer(t, apifytest.WithWebhookLimit(10*calls))
	run, err := srv.StartRun(ctx, "stress~add-webhook", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFaultProxy(t, srv, 1)
	a := actor.New(
		actor.WithEnviron(srv.Env(run.ID)),
		actor.WithClientOptions(faultyClientOptions(proxy.URL)...),
	)

	returned := make([]string, calls) // webhook ID each call returned
	var (
		mu   sync.Mutex
		errs []error
	)
	parallel(workers, calls, func(i int) {
		w, err := a.AddWebhook(ctx, actor.Webhook{
			EventTypes: []actor.EventType{actor.EventActorRunSucceeded},
			RequestURL: fmt.Sprintf("http://127.0.0.1:9/hook/%d", i),
		})
		if err != nil {
			mu.Lock()
			errs = append(errs, fmt.Errorf("call %d: %w", i, err))
			mu.Unlock()
			return
		}
		returned[i] = w.ID
	})
	proxy.Close() // every request it forwarded has been handled
	t.Logf("proxy: %s", proxy.Summary())
	if len(errs) > 0 {
		t.Errorf("%d of %d calls failed; the first: %v", len(errs), calls, errs[0])
	}

	onServer := map[string][]string{} // request URL -> webhook IDs
	total := 0
	for w, err := range srv.Client().AllWebhooks(ctx, client.ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if w.Condition.ActorRunID == run.ID {
			onServer[w.RequestURL] = append(onServer[w.RequestURL], w.ID)
			total++
		}
	}
	duplicates, missing, mismatched := 0, 0, 0
	for i := range calls {
		ids := onServer[fmt.Sprintf("http://127.0.0.1:9/hook/%d", i)]
		switch {
		case len(ids) == 0:
			missing++
		case len(ids) > 1:
			duplicates += len(ids) - 1
		case returned[i] != "" && returned[i] != ids[0]:
			mismatched++
		}
	}
	t.Logf("%d calls: %d webhooks on the server, %d duplicates, %d missing, %d errors returned", calls, total, duplicates, missing, len(errs))
	if total != calls || duplicates != 0 || missing != 0 || mismatched != 0 {
		t.Errorf("server has %d webhooks for %d calls: %d duplicates, %d missing, %d calls returned another webhook than the server's",
			total, calls, duplicates, missing, mismatched)
	}
}

// TestStartUnderFaults starts 300 runs through a proxy that disturbs 30% of
// the requests. Each call's input names the call, and the Actor counts the
// runs it is started for. No call may create two runs; a call that returned
// a run created exactly that one; every failure is a *client.StartError, and
// one that says the run cannot have started did not start one.
func TestStartUnderFaults(t *testing.T) {
	t.Parallel()
	const calls, workers = 300, 16
	ctx := t.Context()
	srv := apifytest.NewTestServer(t)

	var mu sync.Mutex
	runsOf := map[int][]string{} // call -> IDs of the runs started for it
	srv.RegisterActor("stress~start", func(_ context.Context, env []string, input []byte) error {
		var in struct{ Call int }
		if err := json.Unmarshal(input, &in); err != nil {
			return err
		}
		var id string
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "ACTOR_RUN_ID="); ok {
				id = v
			}
		}
		mu.Lock()
		runsOf[in.Call] = append(runsOf[in.Call], id)
		mu.Unlock()
		return nil
	})
	proxy := newFaultProxy(t, srv, 2)
	c, err := client.New(append(faultyClientOptions(proxy.URL), client.WithToken(srv.Token))...)
	if err != nil {
		t.Fatal(err)
	}

	started := make([]string, calls) // run ID each successful call returned
	failures := make([]error, calls)
	parallel(workers, calls, func(i int) {
		run, err := c.StartActor(ctx, "stress~start", map[string]int{"call": i}, client.StartOptions{})
		if err != nil {
			failures[i] = err
			return
		}
		started[i] = run.ID
	})
	proxy.Close() // every run the proxy forwarded a request for exists now
	t.Logf("proxy: %s", proxy.Summary())

	ids := listRunIDs(ctx, t, srv)
	for _, id := range ids {
		if _, err := srv.WaitRun(ctx, id); err != nil { // its Actor function has counted it
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	counted := 0
	for _, rs := range runsOf {
		counted += len(rs)
	}
	if counted != len(ids) {
		t.Errorf("the server lists %d runs but the Actor ran %d times", len(ids), counted)
	}

	var ok, mayHave, mayHaveAndDid, certainlyNot int
	for i := range calls {
		rs := runsOf[i]
		if len(rs) > 1 {
			t.Errorf("call %d created %d runs: %v", i, len(rs), rs)
		}
		err := failures[i]
		if err == nil {
			ok++
			if len(rs) != 1 || rs[0] != started[i] {
				t.Errorf("call %d returned run %s, but the server has %v for it", i, started[i], rs)
			}
			continue
		}
		var se *client.StartError
		if !errors.As(err, &se) {
			t.Errorf("call %d: error %v (%T) is not a *client.StartError", i, err, err)
			continue
		}
		switch {
		case se.MayHaveStarted:
			mayHave++
			if len(rs) > 0 {
				mayHaveAndDid++
			}
		default:
			certainlyNot++
			if len(rs) != 0 {
				t.Errorf("call %d said no run was started (%v), but run %v exists", i, err, rs)
			}
		}
	}
	t.Logf("%d starts: %d succeeded; %d failed saying the run may have started (%d had); %d failed saying it had not; %d runs on the server",
		calls, ok, mayHave, mayHaveAndDid, certainlyNot, len(ids))
}

package apifytest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	run, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	paths := []struct{ method, path string }{
		{"GET", "/v2/webhooks"}, {"POST", "/v2/webhooks"}, {"GET", "/v2/webhooks/x"},
		{"GET", "/v2/webhook-dispatches"}, {"GET", "/v2/webhook-dispatches/x"},
		{"POST", "/v2/acts/a~b/runs"}, {"POST", "/v2/actor-tasks/a~t/runs"},
		{"GET", "/v2/actor-runs/" + run.ID}, {"POST", "/v2/actor-runs/" + run.ID + "/abort"},
		{"GET", "/v2/key-value-stores/" + run.DefaultKeyValueStoreID + "/records/INPUT"},
		{"POST", "/_apifytest/runs/" + run.ID + "/finish"},
	}
	tests := []struct {
		name     string
		header   string
		wantType string
	}{
		{"no token", "", "token-not-provided"},
		{"wrong token", "Bearer nope", "invalid-token"},
		{"not bearer", "Basic " + srv.Token, "invalid-token"},
	}
	for _, p := range paths {
		for _, tt := range tests {
			req, _ := http.NewRequestWithContext(ctxFor(t), p.method, srv.URL+p.path, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with %s: %d, want 401", p.method, p.path, tt.name, resp.StatusCode)
			}
		}
	}
	for _, tt := range tests {
		r := call(t, srv, strings.TrimPrefix(tt.header, "Bearer "), "GET", "/v2/webhooks", nil)
		if tt.header == "" {
			r = call(t, srv, "", "GET", "/v2/webhooks", nil)
		}
		if e := r.errorOf(t); r.status != 401 || (tt.name != "not bearer" && e.Type != tt.wantType) {
			t.Errorf("%s: %d %+v", tt.name, r.status, e)
		}
	}
	// The token query parameter works too.
	if r := call(t, srv, "", "GET", "/v2/webhooks?token="+srv.Token, nil); r.status != 200 {
		t.Errorf("?token=: %d %s", r.status, r.body)
	}
	// The run was not touched by unauthenticated requests.
	if r, _ := srv.Run(run.ID); r.Status != client.StatusRunning {
		t.Errorf("run is %s after unauthenticated requests", r.Status)
	}
}

func TestIsolation(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithUser("UserB", "token-b"))
	rc := newReceiver(t)
	ctx := ctxFor(t)
	runA, _ := srv.StartRun(ctx, "a~b", nil, client.StartOptions{Webhooks: []client.WebhookDefinition{succeededHook(rc.URL)}})
	_, _ = srv.FinishRun(runA.ID, client.StatusSucceeded, 0)
	waitIdle(t, srv)
	dA := srv.Dispatches()[0]

	b := "token-b"
	for _, p := range []struct{ method, path string }{
		{"GET", "/v2/actor-runs/" + runA.ID},
		{"PUT", "/v2/actor-runs/" + runA.ID},
		{"POST", "/v2/actor-runs/" + runA.ID + "/abort"},
		{"GET", "/v2/webhooks/" + dA.WebhookID},
		{"PUT", "/v2/webhooks/" + dA.WebhookID},
		{"DELETE", "/v2/webhooks/" + dA.WebhookID},
		{"POST", "/v2/webhooks/" + dA.WebhookID + "/test"},
		{"GET", "/v2/webhooks/" + dA.WebhookID + "/dispatches"},
		{"GET", "/v2/webhook-dispatches/" + dA.ID},
		{"GET", "/v2/key-value-stores/" + runA.DefaultKeyValueStoreID + "/records/INPUT"},
		{"PUT", "/v2/key-value-stores/" + runA.DefaultKeyValueStoreID + "/records/X"},
		{"GET", "/v2/datasets/" + runA.DefaultDatasetID + "/items"},
		{"POST", "/_apifytest/runs/" + runA.ID + "/abort"},
	} {
		r := call(t, srv, b, p.method, p.path, map[string]any{})
		if r.status != http.StatusNotFound {
			t.Errorf("user B %s %s: %d %s, want 404", p.method, p.path, r.status, r.body)
		}
	}
	for _, path := range []string{"/v2/webhooks", "/v2/webhook-dispatches", "/v2/actor-runs"} {
		var page client.Page[map[string]any]
		call(t, srv, b, "GET", path, nil).data(t, &page)
		if page.Total != 0 || len(page.Items) != 0 {
			t.Errorf("user B sees %d items of %s", page.Total, path)
		}
		call(t, srv, srv.Token, "GET", path, nil).data(t, &page)
		if page.Total != 1 {
			t.Errorf("user A sees %d items of %s, want 1", page.Total, path)
		}
	}
	// B cannot hook A's run.
	r := call(t, srv, b, "POST", "/v2/webhooks", map[string]any{
		"isAdHoc": true, "eventTypes": []string{"ACTOR.RUN.SUCCEEDED"},
		"condition": map[string]any{"actorRunId": runA.ID}, "requestUrl": rc.URL,
	})
	if r.status != http.StatusBadRequest {
		t.Errorf("user B hooking A's run: %d %s", r.status, r.body)
	}
	// B's webhook on the same Actor does not fire for A's runs.
	var whB client.Webhook
	call(t, srv, b, "POST", "/v2/webhooks", map[string]any{
		"eventTypes": []string{"ACTOR.RUN.SUCCEEDED"}, "condition": map[string]any{"actorId": runA.ActID}, "requestUrl": rc.URL,
	}).data(t, &whB)
	runA2, _ := srv.StartRun(ctx, "a~b", nil, client.StartOptions{})
	_, _ = srv.FinishRun(runA2.ID, client.StatusSucceeded, 0)
	waitIdle(t, srv)
	for _, d := range srv.Dispatches() {
		if d.WebhookID == whB.ID {
			t.Errorf("B's webhook fired for A's run: %+v", d)
		}
	}
}

func TestUnknownPathAndMethod(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	r := call(t, srv, srv.Token, "GET", "/v2/nothing-here", nil)
	if r.status != 404 || r.errorOf(t).Type != "page-not-found" {
		t.Errorf("unknown path: %d %s", r.status, r.body)
	}
	r = call(t, srv, srv.Token, "PATCH", "/v2/webhooks", nil)
	if r.status != 405 || r.errorOf(t).Type != "method-not-allowed" || r.header.Get("Allow") != "GET, POST" {
		t.Errorf("PATCH /v2/webhooks: %d %s (Allow %q)", r.status, r.body, r.header.Get("Allow"))
	}
}

func TestDispatchEndpoints(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	rc := newReceiver(t)
	c := srv.Client()
	ctx := ctxFor(t)
	var runs []string
	for range 3 {
		run, err := c.StartActor(ctx, "me~actor", map[string]int{"n": 1}, client.StartOptions{
			Webhooks: []client.WebhookDefinition{succeededHook(rc.URL)},
		})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run.ID)
		_, _ = srv.FinishRun(run.ID, client.StatusSucceeded, 0)
	}
	waitIdle(t, srv)
	all, err := c.ListWebhookDispatches(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if all.Total != 3 || len(all.Items) != 3 {
		t.Fatalf("dispatches: %+v", all)
	}
	for i, d := range all.Items {
		if d.EventData.ActorRunID != runs[i] || d.Status != client.DispatchSucceeded || len(d.Calls) != 1 {
			t.Errorf("dispatch %d = %+v", i, d)
		}
		one, err := c.GetWebhookDispatch(ctx, d.ID)
		if err != nil || one.ID != d.ID {
			t.Errorf("GetWebhookDispatch = %+v, %v", one, err)
		}
		of, err := c.ListWebhookDispatchesOf(ctx, d.WebhookID, client.ListOptions{})
		if err != nil || of.Total != 1 || of.Items[0].ID != d.ID {
			t.Errorf("ListWebhookDispatchesOf = %+v, %v", of, err)
		}
	}
	desc, _ := c.ListWebhookDispatches(ctx, client.ListOptions{Desc: true, Limit: 1})
	if len(desc.Items) != 1 || desc.Items[0].ID != all.Items[2].ID {
		t.Errorf("desc page = %+v", desc)
	}
	if _, err := c.GetWebhookDispatch(ctx, "nope"); !client.IsNotFound(err) {
		t.Errorf("unknown dispatch: %v", err)
	}
	if _, err := srv.WaitDispatch(ctx, "nope"); !errors.Is(err, apifytest.ErrNotFound) {
		t.Errorf("WaitDispatch(unknown) = %v", err)
	}
}

func TestStorages(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	run, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	kv := "/v2/key-value-stores/" + run.DefaultKeyValueStoreID
	if r := call(t, srv, srv.Token, "GET", kv+"/records/INPUT", nil); r.status != 404 {
		t.Errorf("INPUT of a run without input: %d", r.status)
	}
	if r := call(t, srv, srv.Token, "PUT", kv+"/records/OUTPUT", `{"done":true}`); r.status != 201 {
		t.Errorf("PUT record: %d %s", r.status, r.body)
	}
	r := call(t, srv, srv.Token, "GET", kv+"/records/OUTPUT", nil)
	if r.status != 200 || string(r.body) != `{"done":true}` || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("GET record: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if r := call(t, srv, srv.Token, "PUT", kv+"/records/bad%20key", `1`); r.status != 400 {
		t.Errorf("bad key: %d", r.status)
	}
	if r := call(t, srv, srv.Token, "DELETE", kv+"/records/OUTPUT", nil); r.status != 204 {
		t.Errorf("DELETE record: %d", r.status)
	}
	if r := call(t, srv, srv.Token, "GET", kv+"/records/OUTPUT", nil); r.status != 404 {
		t.Errorf("deleted record: %d", r.status)
	}
	var store map[string]any
	call(t, srv, srv.Token, "GET", kv, nil).data(t, &store)
	if store["id"] != run.DefaultKeyValueStoreID {
		t.Errorf("store = %v", store)
	}

	ds := "/v2/datasets/" + run.DefaultDatasetID
	if r := call(t, srv, srv.Token, "POST", ds+"/items", `[{"a":1},{"a":2}]`); r.status != 201 {
		t.Errorf("push items: %d %s", r.status, r.body)
	}
	if r := call(t, srv, srv.Token, "POST", ds+"/items", `{"a":3}`); r.status != 201 {
		t.Errorf("push item: %d %s", r.status, r.body)
	}
	if r := call(t, srv, srv.Token, "POST", ds+"/items", `[1]`); r.status != 400 {
		t.Errorf("push a number: %d", r.status)
	}
	r = call(t, srv, srv.Token, "GET", ds+"/items?offset=1", nil)
	if string(r.body) != `[{"a":2},{"a":3}]` || r.header.Get("X-Apify-Pagination-Total") != "3" {
		t.Errorf("items: %s (total %s)", r.body, r.header.Get("X-Apify-Pagination-Total"))
	}
}

func TestControlEndpoints(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	rc := newReceiver(t)
	tests := []struct {
		path, body string
		want       client.RunStatus
		wantCode   *int
	}{
		{"finish", ``, client.StatusSucceeded, ptr(0)},
		{"finish", `{"status":"FAILED"}`, client.StatusFailed, ptr(1)},
		{"finish", `{"status":"TIMED-OUT","exitCode":9}`, client.StatusTimedOut, ptr(9)},
		{"abort", ``, client.StatusAborted, nil},
	}
	for _, tt := range tests {
		run, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{Webhooks: []client.WebhookDefinition{{
			EventTypes: []client.EventType{client.EventActorRunSucceeded, client.EventActorRunFailed, client.EventActorRunTimedOut, client.EventActorRunAborted},
			RequestURL: rc.URL,
		}}})
		r := call(t, srv, srv.Token, "POST", "/_apifytest/runs/"+run.ID+"/"+tt.path, tt.body)
		var got client.Run
		r.data(t, &got)
		if r.status != 200 || got.Status != tt.want || (tt.wantCode == nil) != (got.ExitCode == nil) || (tt.wantCode != nil && *tt.wantCode != *got.ExitCode) {
			t.Errorf("%s %s: %d %s", tt.path, tt.body, r.status, r.body)
		}
	}
	run, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	for _, body := range []string{`{"status":"RUNNING"}`, `{"status":1}`} {
		if r := call(t, srv, srv.Token, "POST", "/_apifytest/runs/"+run.ID+"/finish", body); r.status != 400 {
			t.Errorf("finish %s: %d %s", body, r.status, r.body)
		}
	}
	_, _ = srv.FinishRun(run.ID, client.StatusSucceeded, 0)
	if r := call(t, srv, srv.Token, "POST", "/_apifytest/runs/"+run.ID+"/finish", ``); r.status != 409 {
		t.Errorf("finishing a finished run: %d %s", r.status, r.body)
	}
	r := call(t, srv, srv.Token, "POST", "/_apifytest/wait-idle?timeout=10", nil)
	if r.status != 200 {
		t.Errorf("wait-idle: %d %s", r.status, r.body)
	}
	if n := len(rc.requests()); n != 4 {
		t.Errorf("receiver got %d calls after wait-idle, want 4", n)
	}
}

func TestWaitIdleTimesOutWhileDelivering(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithDeliveryBackoff(time.Hour))
	rc := newReceiver(t, 500)
	run, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{Webhooks: []client.WebhookDefinition{succeededHook(rc.URL)}})
	_, _ = srv.FinishRun(run.ID, client.StatusSucceeded, 0)
	<-rc.arrived
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := srv.WaitIdle(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitIdle with a retry an hour away = %v", err)
	}
	if r := call(t, srv, srv.Token, "POST", "/_apifytest/wait-idle?timeout=0.05", nil); r.status != http.StatusRequestTimeout {
		t.Errorf("wait-idle: %d %s", r.status, r.body)
	}
	d := srv.Dispatches()[0]
	if d.Status != client.DispatchActive || len(d.Calls) != 1 {
		t.Errorf("dispatch = %+v", d)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithDeliveryWorkers(8), apifytest.WithDeliveryBackoff(time.Millisecond))
	rc := newReceiver(t, 500, 500, 500)
	c := srv.Client()
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := ctxFor(t)
			run, err := c.StartActor(ctx, "me~actor", nil, client.StartOptions{Webhooks: []client.WebhookDefinition{succeededHook(rc.URL)}})
			if err != nil {
				errs <- err
				return
			}
			if _, err := c.CreateWebhook(ctx, client.WebhookCondition{ActorRunID: run.ID}, client.WebhookDefinition{
				EventTypes: []client.EventType{client.EventActorRunFailed, client.EventActorRunSucceeded}, RequestURL: rc.URL,
			}); err != nil {
				errs <- err
				return
			}
			if i%2 == 0 {
				_, err = c.AbortRun(ctx, run.ID, client.AbortOptions{})
			} else {
				_, err = srv.FinishRun(run.ID, client.StatusSucceeded, 0)
			}
			if err != nil {
				errs <- err
			}
			_, _ = c.ListWebhookDispatches(ctx, client.ListOptions{})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	waitIdle(t, srv)
	ds := srv.Dispatches()
	// Even runs were aborted (no webhook listens); odd ones fire both hooks.
	if len(ds) != n {
		t.Errorf("%d dispatches, want %d", len(ds), n)
	}
	for _, d := range ds {
		if d.Status != client.DispatchSucceeded {
			t.Errorf("dispatch %s is %s", d.ID, d.Status)
		}
	}
	if got := len(rc.requests()); got != n+3 {
		t.Errorf("receiver got %d calls, want %d", got, n+3)
	}
}

// TestCloseStopsDeliveriesInFlight is not parallel: it counts goroutines.
func TestCloseStopsDeliveriesInFlight(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client leave
		started <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); hang.Close() })

	before := runtime.NumGoroutine()
	srv, err := apifytest.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	block := make(chan struct{})
	srv.RegisterActor("me~blocked", func(ctx context.Context, _ []string, _ []byte) error {
		<-ctx.Done()
		close(block)
		return ctx.Err()
	})
	run, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{Webhooks: []client.WebhookDefinition{succeededHook(hang.URL)}})
	_, _ = srv.FinishRun(run.ID, client.StatusSucceeded, 0)
	if _, err := srv.StartRun(ctxFor(t), "me~blocked", nil, client.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	<-started
	done := make(chan struct{})
	go func() {
		srv.Close()
		srv.Close() // idempotent
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return with a delivery in flight")
	}
	select {
	case <-block:
	default:
		t.Error("Close returned before the Actor function did")
	}
	if err := srv.WaitIdle(context.Background()); !errors.Is(err, apifytest.ErrClosed) {
		t.Errorf("WaitIdle after Close = %v", err)
	}
	if _, err := srv.StartRun(context.Background(), "a~b", nil, client.StartOptions{}); err == nil {
		t.Error("StartRun after Close succeeded")
	}
	d := srv.Dispatches()[0]
	if d.Status != client.DispatchActive || len(d.Calls) != 1 || d.Calls[0].ErrorMessage == "" {
		t.Errorf("dispatch in flight at Close = %+v", d)
	}
	// Goroutines return to where they were, once connections wind down.
	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before NewServer", n, before)
	}
}

package apifytest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

func webhookCount(t *testing.T, srv *apifytest.Server) int {
	t.Helper()
	var page client.Page[client.Webhook]
	call(t, srv, srv.Token, "GET", "/v2/webhooks", nil).data(t, &page)
	return page.Total
}

var hookBody = map[string]any{
	"eventTypes": []string{"ACTOR.RUN.SUCCEEDED"},
	"condition":  map[string]any{"actorId": "a~b"},
	"requestUrl": "https://example.com",
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	srv.FailNext(2, http.StatusTooManyRequests, 1500*time.Millisecond)
	for range 2 {
		r := call(t, srv, srv.Token, "POST", "/v2/webhooks", hookBody)
		if r.status != 429 || r.header.Get("Retry-After") != "2" || r.errorOf(t).Type != "rate-limit-exceeded" {
			t.Errorf("faulty request: %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
		}
	}
	if n := webhookCount(t, srv); n != 0 {
		t.Errorf("failed requests created %d webhooks", n)
	}
	if r := call(t, srv, srv.Token, "POST", "/v2/webhooks", hookBody); r.status != 201 {
		t.Errorf("request after the faults: %d", r.status)
	}

	// The Go client retries through them.
	srv.FailNext(2, http.StatusServiceUnavailable, 0)
	if _, err := srv.Client().ListWebhooks(ctxFor(t), client.ListOptions{}); err != nil {
		t.Errorf("client through two 503s: %v", err)
	}
}

func TestInjectFaultMatching(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	srv.InjectFault(apifytest.Fault{Method: "POST", Path: "/v2/acts/", Status: 500, Count: 1})
	if r := call(t, srv, srv.Token, "GET", "/v2/webhooks", nil); r.status != 200 {
		t.Errorf("unmatched request: %d", r.status)
	}
	if r := call(t, srv, srv.Token, "POST", "/v2/acts/a~b/runs", nil); r.status != 500 {
		t.Errorf("matched request: %d", r.status)
	}
	if r := call(t, srv, srv.Token, "POST", "/v2/acts/a~b/runs", nil); r.status != 201 {
		t.Errorf("request after the fault: %d", r.status)
	}
	srv.FailNext(5, 500, 0)
	srv.ClearFaults()
	if r := call(t, srv, srv.Token, "GET", "/v2/webhooks", nil); r.status != 200 {
		t.Errorf("after ClearFaults: %d", r.status)
	}
}

func TestDropNextResponses(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	srv.DropNextResponses(1)
	req, _ := http.NewRequestWithContext(ctxFor(t), "POST", srv.URL+"/v2/webhooks", jsonReader(t, hookBody))
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("dropped request got a response: %d", resp.StatusCode)
	}
	if n := webhookCount(t, srv); n != 1 {
		t.Errorf("the server did not act on the dropped request: %d webhooks", n)
	}

	// The client's idempotency key makes its retry harmless.
	srv.DropNextResponses(1)
	w, err := srv.Client().CreateWebhook(ctxFor(t), client.WebhookCondition{ActorID: "a~b"},
		client.WebhookDefinition{EventTypes: []client.EventType{client.EventActorRunFailed}, RequestURL: "https://example.com"})
	if err != nil {
		t.Fatalf("client through a dropped response: %v", err)
	}
	if n := webhookCount(t, srv); n != 2 {
		t.Errorf("after the client's retry: %d webhooks, want 2 (%s)", n, w.ID)
	}
}

func TestStallNext(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	// Only the POST may stall: under load the client can give up before the
	// server reads the request, and the fault must not pass to the next one.
	srv.InjectFault(apifytest.Fault{Method: "POST", Path: "/v2/webhooks", Count: 1, Stall: time.Minute})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v2/webhooks", jsonReader(t, hookBody))
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	// Well under the minute of the stall: the client gave up.
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 30*time.Second {
		t.Errorf("stalled request: %v after %v", err, time.Since(start))
	}
	if n := webhookCount(t, srv); n != 0 {
		t.Errorf("a request abandoned while stalled created %d webhooks", n)
	}

	srv.StallNext(1, 50*time.Millisecond)
	start = time.Now()
	if r := call(t, srv, srv.Token, "GET", "/v2/webhooks", nil); r.status != 200 || time.Since(start) < 50*time.Millisecond {
		t.Errorf("short stall: %d after %v", r.status, time.Since(start))
	}
}

package apifytest_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

func TestDeliveryPayloadAndHeaders(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	rc := newReceiver(t)

	hook := succeededHook(rc.URL + "/hook?secret=1")
	hook.HeadersTemplate = `{"Authorization": "Bearer abc", "Content-Type": "text/plain", "X-Apify-Webhook": "spoofed", "X-Run": {{resource.id}}}`
	hook.ShouldInterpolateStrings = false
	run := deliverRun(t, srv, hook)

	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	ds := srv.Dispatches()
	if len(ds) != 1 {
		t.Fatalf("%d dispatches, want 1", len(ds))
	}
	d := ds[0]
	h := got[0].header
	wantHeaders := map[string]string{
		"Content-Type":                "application/json",
		"X-Apify-Webhook":             d.WebhookID,
		"X-Apify-Webhook-Dispatch-Id": d.ID,
		"X-Apify-Request-Origin":      "WEBHOOK",
		"Authorization":               "Bearer abc",
		"X-Run":                       run.ID,
	}
	for k, want := range wantHeaders {
		if got := h.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}

	var payload struct {
		UserID    string         `json:"userId"`
		CreatedAt string         `json:"createdAt"`
		EventType string         `json:"eventType"`
		EventData map[string]any `json:"eventData"`
		Resource  map[string]any `json:"resource"`
	}
	if err := json.Unmarshal(got[0].body, &payload); err != nil {
		t.Fatalf("payload is not JSON: %v: %s", err, got[0].body)
	}
	if payload.UserID != srv.UserID || payload.EventType != "ACTOR.RUN.SUCCEEDED" {
		t.Errorf("payload userId, eventType = %q, %q", payload.UserID, payload.EventType)
	}
	if _, err := time.Parse(time.RFC3339, payload.CreatedAt); err != nil {
		t.Errorf("createdAt %q: %v", payload.CreatedAt, err)
	}
	if diff := cmp.Diff(map[string]any{"actorId": run.ActID, "actorRunId": run.ID}, payload.EventData); diff != "" {
		t.Errorf("eventData (-want +got):\n%s", diff)
	}
	// The resource is the run exactly as GET /v2/actor-runs/{id} returns it.
	var apiRun map[string]any
	call(t, srv, srv.Token, "GET", "/v2/actor-runs/"+run.ID, nil).data(t, &apiRun)
	if diff := cmp.Diff(apiRun, payload.Resource); diff != "" {
		t.Errorf("resource differs from GET run (-want +got):\n%s", diff)
	}
	if payload.Resource["status"] != "SUCCEEDED" {
		t.Errorf("resource.status = %v", payload.Resource["status"])
	}

	if d.Status != client.DispatchSucceeded || d.EventType != client.EventActorRunSucceeded || len(d.Calls) != 1 {
		t.Fatalf("dispatch = %+v", d)
	}
	if c := d.Calls[0]; c.ResponseStatus != 200 || c.ResponseBody != `{"ok":true}` || c.ErrorMessage != "" || c.StartedAt == nil || c.FinishedAt == nil {
		t.Errorf("call = %+v", c)
	}
	if d.EventData == nil || d.EventData.ActorRunID != run.ID || d.Webhook == nil || !d.Webhook.IsAdHoc || d.Webhook.RequestURL != hook.RequestURL {
		t.Errorf("dispatch eventData/webhook = %+v / %+v", d.EventData, d.Webhook)
	}
}

func TestDeliveryCustomPayloadTemplate(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	rc := newReceiver(t)

	hook := succeededHook(rc.URL)
	hook.PayloadTemplate = `{"run": {{resource.id}}, "status": {{resource.status}}, "msg": "run {{resource.id}} ended", "when": {{globals.dateUnix}}}`
	hook.ShouldInterpolateStrings = true
	run := deliverRun(t, srv, hook)
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("got %d requests", len(got))
	}
	var p map[string]any
	if err := json.Unmarshal(got[0].body, &p); err != nil {
		t.Fatal(err)
	}
	if p["run"] != run.ID || p["status"] != "SUCCEEDED" || p["msg"] != "run "+run.ID+" ended" {
		t.Errorf("payload = %s", got[0].body)
	}
	if when, ok := p["when"].(float64); !ok || time.Since(time.UnixMilli(int64(when))) > time.Minute {
		t.Errorf("globals.dateUnix = %v", p["when"])
	}
}

func TestDeliveryBasicAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		headers string // the headers template
		want    string // the Authorization header received
	}{
		{"from the URL", "", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw"))},
		{"from the template", `{"Authorization": "Bearer abc"}`, "Bearer abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := apifytest.NewTestServer(t)
			rc := newReceiver(t)
			hook := succeededHook(strings.Replace(rc.URL, "http://", "http://alice:pw@", 1) + "/hook")
			hook.HeadersTemplate = tt.headers
			deliverRun(t, srv, hook)
			got := rc.requests()
			if len(got) != 1 {
				t.Fatalf("receiver got %d requests, want 1", len(got))
			}
			if auth := got[0].header.Get("Authorization"); auth != tt.want {
				t.Errorf("Authorization = %q, want %q", auth, tt.want)
			}
		})
	}
}

func TestRetrySchedule(t *testing.T) {
	t.Parallel()
	const base = 20 * time.Millisecond
	srv := apifytest.NewTestServer(t, apifytest.WithDeliveryBackoff(base))
	rc := newReceiver(t, 500, 503, 404)

	deliverRun(t, srv, succeededHook(rc.URL))
	got := rc.requests()
	if len(got) != 4 {
		t.Fatalf("receiver got %d calls, want 4", len(got))
	}
	for i := 1; i < len(got); i++ {
		gap := got[i].at.Sub(got[i-1].at)
		if want := base << (i - 1); gap < want {
			t.Errorf("retry %d came %v after the call before, want at least %v", i, gap, want)
		}
		if a, b := got[i].header.Get("X-Apify-Webhook-Dispatch-Id"), got[0].header.Get("X-Apify-Webhook-Dispatch-Id"); a != b {
			t.Errorf("retry %d has dispatch ID %q, want %q", i, a, b)
		}
	}
	d := srv.Dispatches()[0]
	var statuses []int
	for _, c := range d.Calls {
		statuses = append(statuses, c.ResponseStatus)
		if (c.ResponseStatus == 200) != (c.ErrorMessage == "") {
			t.Errorf("call %+v: errorMessage and status disagree", c)
		}
	}
	if diff := cmp.Diff([]int{500, 503, 404, 200}, statuses); diff != "" {
		t.Errorf("call statuses (-want +got):\n%s", diff)
	}
	if d.Status != client.DispatchSucceeded {
		t.Errorf("status = %s", d.Status)
	}
}

func TestRetriesExhaustedAndDoNotRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		doNotRetry bool
		retries    int
		wantCalls  int
	}{
		{"retries exhausted", false, 3, 4},
		{"doNotRetry", true, 3, 1},
		{"no retries", false, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := apifytest.NewTestServer(t, apifytest.WithDeliveryBackoff(time.Millisecond), apifytest.WithDeliveryRetries(tt.retries))
			rc := newReceiver(t, 500, 500, 500, 500, 500, 500)
			hook := succeededHook(rc.URL)
			hook.DoNotRetry = tt.doNotRetry
			deliverRun(t, srv, hook)
			d := srv.Dispatches()[0]
			if d.Status != client.DispatchFailed || len(d.Calls) != tt.wantCalls || len(rc.requests()) != tt.wantCalls {
				t.Errorf("dispatch %s with %d calls (receiver saw %d), want FAILED with %d", d.Status, len(d.Calls), len(rc.requests()), tt.wantCalls)
			}
			for _, c := range d.Calls {
				if c.ResponseStatus != 500 || !strings.Contains(c.ErrorMessage, "500") {
					t.Errorf("call = %+v", c)
				}
			}
		})
	}
}

func TestDeliveryNetworkErrorAndTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); slow.Close() })
	hangUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler) // closes the connection without an answer
	}))
	t.Cleanup(hangUp.Close)

	tests := []struct {
		name, url string
		timeout   time.Duration
		wantErr   string
	}{
		{"timeout", slow.URL, 50 * time.Millisecond, "timed out after 50ms"},
		// A generous timeout: only the hang-up may fail this call.
		{"connection closed", hangUp.URL, time.Minute, "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := apifytest.NewTestServer(t, apifytest.WithDeliveryTimeout(tt.timeout),
				apifytest.WithDeliveryRetries(1), apifytest.WithDeliveryBackoff(time.Millisecond))
			deliverRun(t, srv, succeededHook(tt.url))
			d := srv.Dispatches()[0]
			if d.Status != client.DispatchFailed || len(d.Calls) != 2 {
				t.Fatalf("dispatch %s with %d calls, want FAILED with 2", d.Status, len(d.Calls))
			}
			for _, c := range d.Calls {
				if !strings.Contains(c.ErrorMessage, tt.wantErr) || c.ResponseStatus != 0 {
					t.Errorf("call = %+v, want an error with %q", c, tt.wantErr)
				}
			}
		})
	}
}

func TestIgnoreSSLErrors(t *testing.T) {
	t.Parallel()
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshake is expected
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	for _, ignore := range []bool{false, true} {
		srv := apifytest.NewTestServer(t, apifytest.WithDeliveryRetries(0))
		hook := succeededHook(tlsSrv.URL)
		hook.IgnoreSSLErrors = ignore
		deliverRun(t, srv, hook)
		d := srv.Dispatches()[0]
		want := client.DispatchFailed
		if ignore {
			want = client.DispatchSucceeded
		}
		if d.Status != want {
			t.Errorf("ignoreSslErrors=%v: dispatch %s (%+v), want %s", ignore, d.Status, d.Calls, want)
		}
		if !ignore && !strings.Contains(d.Calls[0].ErrorMessage, "certificate") {
			t.Errorf("error %q does not mention the certificate", d.Calls[0].ErrorMessage)
		}
	}
}

// TestSlowHostDoesNotDelayOthers checks that receivers that never answer
// hold up only their own host: with more hanging calls than workers, a
// healthy receiver on another port is called at once.
func TestSlowHostDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var hanging atomic.Int64
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hanging.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); hang.Close() })
	healthy := newReceiver(t)
	const workers = 4
	srv := apifytest.NewTestServer(t, apifytest.WithDeliveryWorkers(workers), apifytest.WithDeliveryTimeout(time.Hour))
	hooks := make([]client.WebhookDefinition, 0, 4*workers+1)
	for range 4 * workers {
		hooks = append(hooks, succeededHook(hang.URL))
	}
	endRun(t, srv, append(hooks, succeededHook(healthy.URL))...)
	select {
	case <-healthy.arrived:
	case <-time.After(10 * time.Second): // a bound: the call comes at once or after an hour
		t.Fatal("the healthy receiver was not called while another host hung")
	}
	if n := hanging.Load(); n > workers {
		t.Errorf("%d calls to the hanging host at once, want at most %d", n, workers)
	}
}

// TestDeliveryDoesNotFollowRedirects checks that a receiver's redirect is
// a failed call, and the request goes nowhere else.
func TestDeliveryDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	target := newReceiver(t)
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	srv := apifytest.NewTestServer(t, apifytest.WithDeliveryRetries(0))
	deliverRun(t, srv, succeededHook(redirect.URL))
	d := srv.Dispatches()[0]
	if d.Status != client.DispatchFailed || len(d.Calls) != 1 || d.Calls[0].ResponseStatus != http.StatusTemporaryRedirect {
		t.Errorf("dispatch %s with calls %+v, want FAILED with one 307", d.Status, d.Calls)
	}
	if n := len(target.requests()); n != 0 {
		t.Errorf("the redirect target got %d calls", n)
	}
}

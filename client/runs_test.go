package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWaitForRun(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		status := []RunStatus{StatusReady, StatusRunning, StatusTimingOut, StatusTimedOut}[min(n, 3)]
		writeJSON(w, 200, fmt.Sprintf(`{"data":{"id":"run1","status":%q}}`, status))
	})
	c := newTestClient(t, api.srv.URL)
	run, err := c.WaitForRun(t.Context(), "run1")
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != StatusTimedOut {
		t.Errorf("status = %s, want %s", run.Status, StatusTimedOut)
	}
	var queries []string
	for _, r := range api.requests() {
		queries = append(queries, r.Method+" "+r.Path+"?"+r.Query)
	}
	want := []string{
		"GET /v2/actor-runs/run1?waitForFinish=60", "GET /v2/actor-runs/run1?waitForFinish=60",
		"GET /v2/actor-runs/run1?waitForFinish=60", "GET /v2/actor-runs/run1?waitForFinish=60",
	}
	if diff := cmp.Diff(want, queries); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// TestWaitForRunDeadline: the wait asked of the platform fits the context's
// deadline, and a context that ends returns the run as last seen.
func TestWaitForRunDeadline(t *testing.T) {
	t.Parallel()
	second := make(chan struct{}) // the second poll has arrived
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			close(second)
		}
		writeJSON(w, 200, `{"data":{"id":"run1","status":"RUNNING"}}`)
	})
	c := newTestClient(t, api.srv.URL, WithBackoff(20*time.Millisecond, 20*time.Millisecond))
	ctx, cancel := context.WithTimeout(t.Context(), 5500*time.Millisecond)
	go func() {
		<-second
		cancel()
	}()
	run, err := c.WaitForRun(ctx, "run1")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if run == nil || run.Status != StatusRunning {
		t.Errorf("run = %+v, want the last seen RUNNING run", run)
	}
	if q := api.requests()[0].Query; q != "waitForFinish=5" {
		t.Errorf("first query = %q, want waitForFinish=5", q)
	}
}

// startsRun7 answers a run start with run7 READY, and every other request
// with status and body.
func startsRun7(status int, body string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			writeJSON(w, 201, `{"data":{"id":"run7","status":"READY"}}`)
			return
		}
		writeJSON(w, status, body)
	}
}

func TestCallActor(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, startsRun7(200, `{"data":{"id":"run7","status":"SUCCEEDED"}}`))
	c := newTestClient(t, api.srv.URL)
	run, err := c.CallTask(t.Context(), "jane/task", nil, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != "run7" || run.Status != StatusSucceeded {
		t.Errorf("run = %s %s, want run7 SUCCEEDED", run.ID, run.Status)
	}
	var got []string
	for _, r := range api.requests() {
		got = append(got, r.Method+" "+r.Path)
	}
	want := []string{"POST /v2/actor-tasks/jane~task/runs", "GET /v2/actor-runs/run7"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// TestCallActorWaitFails: when waiting fails, the started run comes back with
// the error, which is not a *StartError.
func TestCallActorWaitFails(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, startsRun7(403, `{"error":{"type":"insufficient-permissions","message":"no"}}`))
	c := newTestClient(t, api.srv.URL)
	run, err := c.CallActor(t.Context(), "a~b", nil, StartOptions{})
	var se *StartError
	if err == nil || errors.As(err, &se) {
		t.Fatalf("error = %v, want a non-start error", err)
	}
	if run == nil || run.ID != "run7" {
		t.Errorf("run = %+v, want the started run7", run)
	}
}

func TestStartValidation(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, answer)
	c := newTestClient(t, api.srv.URL)
	tests := []struct {
		name  string
		id    string
		input any
		o     StartOptions
		want  string
	}{
		{"empty ID", "", nil, StartOptions{}, "actor ID is empty"},
		{"negative memory", "a", nil, StartOptions{MemoryMbytes: -1}, "StartOptions.MemoryMbytes"},
		{"memory not a power of 2", "a", nil, StartOptions{MemoryMbytes: 300}, "StartOptions.MemoryMbytes"},
		{"memory too small", "a", nil, StartOptions{MemoryMbytes: 64}, "StartOptions.MemoryMbytes"},
		{"negative timeout", "a", nil, StartOptions{Timeout: -time.Second}, "StartOptions.Timeout"},
		{"negative max items", "a", nil, StartOptions{MaxItems: -5}, "StartOptions.MaxItems"},
		{"wait too long", "a", nil, StartOptions{WaitForFinish: 61 * time.Second}, "StartOptions.WaitForFinish"},
		{"negative wait", "a", nil, StartOptions{WaitForFinish: -1}, "StartOptions.WaitForFinish"},
		{"bad webhook", "a", nil, StartOptions{Webhooks: []WebhookDefinition{{RequestURL: "https://x"}}}, "StartOptions.Webhooks: invalid webhook: webhooks[0].eventTypes"},
		{"bad content type", "a", nil, StartOptions{ContentType: "a\r\nb"}, "StartOptions.ContentType"},
		{"input not JSON", "a", func() {}, StartOptions{}, "encoding the input"},
	}
	for _, tt := range tests {
		_, err := c.StartActor(t.Context(), tt.id, tt.input, tt.o)
		if !isStartError(err, false) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want a *StartError without a run naming %q", tt.name, err, tt.want)
		}
	}
	var noContext context.Context
	if _, err := c.StartActor(noContext, "a", nil, StartOptions{}); !isStartError(err, false) {
		t.Errorf("nil context: error = %v, want a *StartError without a run", err)
	}
	var zero Client
	if _, err := zero.StartTask(t.Context(), "t", nil, StartOptions{}); !isStartError(err, false) {
		t.Errorf("zero Client: error = %v, want a *StartError without a run", err)
	}
	if n := api.count(); n != 0 {
		t.Errorf("%d requests were sent for invalid input", n)
	}
}

// isStartError reports whether err is a *StartError with the given
// MayHaveStarted.
func isStartError(err error, mayHaveStarted bool) bool {
	var se *StartError
	return errors.As(err, &se) && se.MayHaveStarted == mayHaveStarted
}

func TestInputValidation(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, answer)
	c := newTestClient(t, api.srv.URL)
	ctx := t.Context()
	empty := ""
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"GetWebhook", func() error { _, err := c.GetWebhook(ctx, " "); return err }, "webhook ID is empty"},
		{"DeleteWebhook", func() error { return c.DeleteWebhook(ctx, "") }, "webhook ID is empty"},
		{"GetRun", func() error { _, err := c.GetRun(ctx, ""); return err }, "run ID is empty"},
		{"WaitForRun", func() error { _, err := c.WaitForRun(ctx, ""); return err }, "run ID is empty"},
		{"AbortRun", func() error { _, err := c.AbortRun(ctx, "", AbortOptions{Gracefully: true}); return err }, "run ID is empty"},
		{"UpdateRun", func() error { _, err := c.UpdateRun(ctx, "", RunUpdate{}); return err }, "run ID is empty"},
		{"GetWebhookDispatch", func() error { _, err := c.GetWebhookDispatch(ctx, ""); return err }, "dispatch ID is empty"},
		{"StartTask", func() error { _, err := c.StartTask(ctx, "", nil, StartOptions{}); return err }, "task ID is empty"},
		{"ListWebhooks offset", func() error { _, err := c.ListWebhooks(ctx, ListOptions{Offset: -1}); return err }, "ListOptions.Offset"},
		{"ListWebhookDispatches limit", func() error { _, err := c.ListWebhookDispatches(ctx, ListOptions{Limit: -1}); return err }, "ListOptions.Limit"},
		{"CreateWebhook events", func() error {
			_, err := c.CreateWebhook(ctx, WebhookCondition{ActorID: "a"}, WebhookDefinition{RequestURL: "https://x.test"})
			return err
		}, "invalid webhook: eventTypes: "},
		{"CreateWebhook URL", func() error {
			_, err := c.CreateWebhook(ctx, WebhookCondition{ActorID: "a"}, WebhookDefinition{EventTypes: []EventType{EventTest}})
			return err
		}, "invalid webhook: requestUrl: "},
		{"CreateWebhook condition", func() error {
			_, err := c.CreateWebhook(ctx, WebhookCondition{}, WebhookDefinition{EventTypes: []EventType{EventTest}, RequestURL: "https://x.test"})
			return err
		}, "invalid webhook: condition: "},
		{"UpdateWebhook events", func() error {
			_, err := c.UpdateWebhook(ctx, "wh", WebhookUpdate{EventTypes: []EventType{}})
			return err
		}, "invalid webhook: eventTypes: "},
		{"UpdateWebhook URL", func() error {
			_, err := c.UpdateWebhook(ctx, "wh", WebhookUpdate{RequestURL: &empty})
			return err
		}, "invalid webhook: requestUrl: "},
	}
	for _, tt := range tests {
		if err := tt.call(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want one naming %q", tt.name, err, tt.want)
		}
	}
	for _, it := range []func() error{
		func() error {
			for _, err := range c.AllWebhooks(ctx, ListOptions{Limit: -1}) {
				return err
			}
			return nil
		},
	} {
		if err := it(); err == nil {
			t.Error("AllWebhooks with a negative limit: want an error")
		}
	}
	if n := api.count(); n != 0 {
		t.Errorf("%d requests were sent for invalid input", n)
	}
}

// TestCallActorReplicaLag: right after a start the platform may answer 404
// for the new run for a moment; CallActor keeps waiting, WaitForRun does not.
func TestCallActorReplicaLag(t *testing.T) {
	t.Parallel()
	handler := func(n int, w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			writeJSON(w, 201, `{"data":{"id":"run7","status":"READY"}}`)
		case n <= 2:
			writeJSON(w, 404, `{"error":{"type":"record-not-found","message":"Actor run was not found"}}`)
		default:
			writeJSON(w, 200, `{"data":{"id":"run7","status":"SUCCEEDED"}}`)
		}
	}
	api := newFakeAPI(t, handler)
	c := newTestClient(t, api.srv.URL)
	run, err := c.CallActor(t.Context(), "a~b", nil, StartOptions{})
	if err != nil || run.Status != StatusSucceeded {
		t.Fatalf("CallActor = %+v, %v; want SUCCEEDED", run, err)
	}
	if api.count() != 4 {
		t.Errorf("%d requests, want 1 start and 3 polls", api.count())
	}

	api = newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) { handler(n+1, w, r) })
	c = newTestClient(t, api.srv.URL)
	if _, err := c.WaitForRun(t.Context(), "run7"); !IsNotFound(err) {
		t.Errorf("WaitForRun error = %v, want not found", err)
	}
}

// TestCallActorRunGone: a run that stays missing ends the wait with the 404.
func TestCallActorRunGone(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, startsRun7(404, `{"error":{"type":"record-not-found","message":"gone"}}`))
	c := newTestClient(t, api.srv.URL)
	run, err := c.CallActor(t.Context(), "a~b", nil, StartOptions{})
	if !IsNotFound(err) || run == nil || run.ID != "run7" {
		t.Errorf("CallActor = %+v, %v; want run7 with a not-found error", run, err)
	}
	if want := 1 + notFoundPolls + 1; api.count() != want {
		t.Errorf("%d requests, want %d", api.count(), want)
	}
}

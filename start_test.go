package actor_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/client"
	"github.com/google/go-cmp/cmp"
)

func TestStartSendsWebhooks(t *testing.T) {
	t.Parallel()
	hooks := []actor.Webhook{
		{EventTypes: []actor.EventType{actor.EventActorRunCreated}, RequestURL: "https://example.com/created"},
		{
			EventTypes: []actor.EventType{actor.EventActorRunSucceeded, actor.EventActorRunFailed},
			RequestURL: "https://example.com/done", PayloadTemplate: `{"id": {{resource.id}}}`, IdempotencyKey: "k1",
		},
	}
	input := map[string]any{"url": "https://example.com"}
	opts := actor.StartOptions{Webhooks: hooks, MemoryMbytes: 1024, Timeout: 90 * time.Second, Build: "beta"}
	tests := map[string]struct {
		start      startMethod
		id         string
		wantPaths  []string
		wantStatus client.RunStatus
	}{
		"Start":     {(*actor.Actor).Start, "someone~scraper", []string{"POST /v2/actors/someone~scraper/runs"}, client.StatusReady},
		"StartTask": {(*actor.Actor).StartTask, "someone~daily", []string{"POST /v2/actor-tasks/someone~daily/runs"}, client.StatusReady},
		"Call": {(*actor.Actor).Call, "someone~scraper",
			[]string{"POST /v2/actors/someone~scraper/runs", "GET /v2/actor-runs/NEWRUN"}, client.StatusSucceeded},
		"CallTask": {(*actor.Actor).CallTask, "someone~daily",
			[]string{"POST /v2/actor-tasks/someone~daily/runs", "GET /v2/actor-runs/NEWRUN"}, client.StatusSucceeded},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newPlatform(t)
			a, _, _ := newActor(p.atHome())
			run, err := tc.start(a, t.Context(), tc.id, input, opts)
			if err != nil {
				t.Fatal(err)
			}
			if run.ID != "NEWRUN" || run.Status != tc.wantStatus {
				t.Errorf("run %s in %s, want NEWRUN in %s", run.ID, run.Status, tc.wantStatus)
			}
			reqs := p.requests()
			var paths []string
			for _, r := range reqs {
				paths = append(paths, r.Method+" "+r.Path)
			}
			if diff := cmp.Diff(tc.wantPaths, paths); diff != "" {
				t.Fatalf("requests (-want +got):\n%s", diff)
			}
			r := reqs[0]
			if r.Authorization != "Bearer "+testToken {
				t.Errorf("Authorization = %q, want the bearer token", r.Authorization)
			}
			if diff := cmp.Diff(jsonValue(t, `{"url":"https://example.com"}`), jsonValue(t, r.Body)); diff != "" {
				t.Errorf("input (-want +got):\n%s", diff)
			}
			q := r.Query
			if q.Get("memory") != "1024" || q.Get("timeout") != "90" || q.Get("build") != "beta" {
				t.Errorf("query %v, want memory=1024 timeout=90 build=beta", q)
			}
			sent, err := actor.DecodeWebhooks(q.Get("webhooks"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(hooks, sent); diff != "" {
				t.Errorf("webhooks sent (-want +got):\n%s", diff)
			}
		})
	}
}

// startMethod is one of the Actor's methods that start a run.
type startMethod func(a *actor.Actor, ctx context.Context, id string, input any, o actor.StartOptions) (*client.Run, error)

func TestStartValidatesWebhooks(t *testing.T) {
	t.Parallel()
	ok := actor.Webhook{EventTypes: []actor.EventType{actor.EventActorRunSucceeded}, RequestURL: "https://example.com/ok"}
	tests := map[string]struct {
		bad   actor.Webhook
		field string
	}{
		"relative URL":          {actor.Webhook{EventTypes: ok.EventTypes, RequestURL: "example.com/x"}, "webhooks[1].requestUrl"},
		"test event":            {actor.Webhook{EventTypes: []actor.EventType{actor.EventTest}, RequestURL: ok.RequestURL}, "webhooks[1].eventTypes[0]"},
		"description":           {actor.Webhook{EventTypes: ok.EventTypes, RequestURL: ok.RequestURL, Description: "d"}, "webhooks[1].description"},
		"bad payload template":  {actor.Webhook{EventTypes: ok.EventTypes, RequestURL: ok.RequestURL, PayloadTemplate: "{"}, "webhooks[1].payloadTemplate"},
		"headers not an object": {actor.Webhook{EventTypes: ok.EventTypes, RequestURL: ok.RequestURL, HeadersTemplate: `"x"`}, "webhooks[1].headersTemplate"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newPlatform(t)
			a, _, _ := newActor(p.atHome())
			_, err := a.Start(t.Context(), "someone~scraper", nil, actor.StartOptions{Webhooks: []actor.Webhook{ok, tc.bad}})
			checkValidationError(t, err, tc.field, strings.Contains(tc.field, "Template"))
			var se *client.StartError
			if !errors.As(err, &se) || se.MayHaveStarted {
				t.Errorf("err = %v, want a *client.StartError saying no run was started", err)
			}
			p.checkNothingSent(t)
		})
	}
}

func TestStartErrorPassesThrough(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	p.fail = 404
	a, _, _ := newActor(p.atHome())
	_, err := a.Start(t.Context(), "someone~missing", nil, actor.StartOptions{})
	var se *client.StartError
	if !errors.As(err, &se) || !client.IsNotFound(err) {
		t.Fatalf("err = %v, want a *client.StartError for a 404", err)
	}
	if se.MayHaveStarted {
		t.Error("MayHaveStarted for a 404")
	}
	if !strings.Contains(err.Error(), "someone~missing") {
		t.Errorf("error %q does not name the Actor", err)
	}
}

// TestCallWaitFails: when waiting for the started run fails, Call returns
// the run as last seen with the error, which is not a *client.StartError.
func TestCallWaitFails(t *testing.T) {
	t.Parallel()
	for name, call := range map[string]startMethod{"Call": (*actor.Actor).Call, "CallTask": (*actor.Actor).CallTask} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newPlatform(t)
			p.runStatus = client.StatusRunning
			p.polled = make(chan struct{}, 1)
			a, _, _ := newActor(p.atHome())
			// The deadline passes once the run has started and is being
			// waited for, however slow the machine.
			ctx := newExpiring(t.Context())
			go func() {
				<-p.polled
				ctx.expire()
			}()
			run, err := call(a, ctx, "someone~slow", nil, actor.StartOptions{})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want context.DeadlineExceeded", err)
			}
			var se *client.StartError
			if errors.As(err, &se) {
				t.Errorf("err = %v, want no *client.StartError: the run exists", err)
			}
			if run == nil || run.ID != "NEWRUN" {
				t.Errorf("run = %+v, want the started NEWRUN", run)
			}
		})
	}
}

// expiring is a context whose deadline passes when expire is called.
type expiring struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newExpiring(parent context.Context) *expiring {
	return &expiring{Context: parent, done: make(chan struct{})}
}

func (c *expiring) expire() { c.once.Do(func() { close(c.done) }) }

func (c *expiring) Done() <-chan struct{} { return c.done }

func (c *expiring) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

package actor_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/client"
)

// testToken is the API token the fake platform expects.
const testToken = "test-token-5ecret"

// recorded is one request the fake platform received.
type recorded struct {
	Method, Path  string
	Query         url.Values
	Authorization string
	Body          string
}

// platform is a fake Apify API on an httptest server: it records every
// request and answers the calls this package makes. hold, when set, is
// awaited before a POST /v2/webhooks is answered.
type platform struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []recorded
	hold chan struct{}
	// startStatus is the status the run-start endpoints return the run in.
	startStatus client.RunStatus
	// runStatus is the status GET /v2/actor-runs/{id} returns the run in.
	runStatus client.RunStatus
	// fail, when not zero, is the status every request gets.
	fail int
	// hangFirst makes the first POST /v2/webhooks hang until the client
	// gives up on it.
	hangFirst bool
	creates   int // POST /v2/webhooks received
	// polled, when set, gets a value (if it has room) for each GET of a run.
	polled chan struct{}
}

func newPlatform(t testing.TB) *platform {
	t.Helper()
	p := &platform{startStatus: client.StatusReady, runStatus: client.StatusSucceeded}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *platform) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.reqs = append(p.reqs, recorded{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
		Authorization: r.Header.Get("Authorization"), Body: string(body),
	})
	hold, fail, startStatus, runStatus := p.hold, p.fail, p.startStatus, p.runStatus
	if p.polled != nil && r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v2/actor-runs/") {
		select {
		case p.polled <- struct{}{}:
		default:
		}
	}
	p.mu.Unlock()

	if fail != 0 {
		writeJSON(w, fail, map[string]any{"error": map[string]any{"type": "test-failure", "message": "failure injected by the test"}})
		return
	}
	run := func(id string, status client.RunStatus) map[string]any {
		return map[string]any{"data": map[string]any{"id": id, "actId": "ACT1", "status": status, "startedAt": "2025-01-02T03:04:05.000Z"}}
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v2/webhooks":
		if hold != nil {
			<-hold
		}
		p.mu.Lock()
		p.creates++
		hang := p.hangFirst && p.creates == 1
		p.mu.Unlock()
		if hang {
			<-r.Context().Done()
			return
		}
		var c client.Webhook // the body: isAdHoc, condition and the definition
		if err := json.Unmarshal(body, &c); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"type": "invalid-body", "message": err.Error()}})
			return
		}
		c.ID, c.IdempotencyKey = "WH1", "" // the platform does not return the key
		writeJSON(w, http.StatusCreated, map[string]any{"data": c})
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v2/actor-runs/"):
		writeJSON(w, http.StatusOK, run(strings.TrimPrefix(r.URL.Path, "/v2/actor-runs/"), client.StatusRunning))
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v2/actor-runs/"):
		writeJSON(w, http.StatusOK, run(strings.TrimPrefix(r.URL.Path, "/v2/actor-runs/"), runStatus))
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/runs"):
		writeJSON(w, http.StatusCreated, run("NEWRUN", startStatus))
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"type": "record-not-found", "message": "no such endpoint in the fake platform"}})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// requests returns the requests received so far.
func (p *platform) requests() []recorded {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]recorded(nil), p.reqs...)
}

// checkNothingSent fails t when the platform received any request.
func (p *platform) checkNothingSent(t *testing.T) {
	t.Helper()
	if r := p.requests(); len(r) != 0 {
		t.Errorf("sent %d requests, want none: %+v", len(r), r)
	}
}

// env returns an environment lookup with the given variables.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// atHome is the environment of run RUN123 on the fake platform.
func (p *platform) atHome() map[string]string {
	return map[string]string{
		"APIFY_IS_AT_HOME":   "1",
		"ACTOR_RUN_ID":       "RUN123",
		"ACTOR_ID":           "ACT1",
		"APIFY_TOKEN":        testToken,
		"APIFY_API_BASE_URL": p.srv.URL,
	}
}

// exitRecorder records the exit codes an Actor's exit function gets.
type exitRecorder struct {
	mu    sync.Mutex
	codes []int
}

func (e *exitRecorder) exit(code int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.codes = append(e.codes, code)
}

func (e *exitRecorder) got() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]int(nil), e.codes...)
}

// logBuffer is a concurrency-safe log destination.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newActor returns an Actor on environment vars that records its exit codes
// and logs into the returned buffer, handles no signals and never retries.
func newActor(vars map[string]string, opts ...actor.Option) (*actor.Actor, *exitRecorder, *logBuffer) {
	rec := &exitRecorder{}
	logs := &logBuffer{}
	base := []actor.Option{
		actor.WithLookupEnv(env(vars)),
		actor.WithExitFunc(rec.exit),
		actor.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		actor.WithSignals(),
		actor.WithClientOptions(client.WithMaxRetries(0), client.WithBackoff(time.Millisecond, time.Millisecond)),
	}
	return actor.New(append(base, opts...)...), rec, logs
}

package apifytest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// received is one request that a receiver got.
type received struct {
	at     time.Time
	header http.Header
	body   []byte
}

// receiver is a webhook receiver on loopback that records what it gets and
// answers with the statuses it is told, then 200.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []received
	statuses []int
	arrived  chan received
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	rc := &receiver{statuses: statuses, arrived: make(chan received, 1000)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := received{at: time.Now(), header: r.Header.Clone(), body: body}
		rc.mu.Lock()
		rc.got = append(rc.got, rec)
		status := http.StatusOK
		if len(rc.statuses) > 0 {
			status, rc.statuses = rc.statuses[0], rc.statuses[1:]
		}
		rc.mu.Unlock()
		rc.arrived <- rec
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// requests returns what the receiver has got so far.
func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// ctxFor returns a context that ends with the test or after 30 seconds: a
// bound for what must happen eventually, generous for loaded machines.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// apiResponse is a raw API response.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

// call makes a raw API request with token (none when empty) and a JSON body
// (none when nil).
func call(t *testing.T, srv *apifytest.Server, token, method, path string, body any) apiResponse {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctxFor(t), method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiResponse{status: resp.StatusCode, header: resp.Header, body: raw}
}

// data decodes the {"data": ...} envelope of r into v.
func (r apiResponse) data(t *testing.T, v any) {
	t.Helper()
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil || env.Data == nil {
		t.Fatalf("response %d is not a data envelope: %s", r.status, r.body)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		t.Fatalf("decode data: %v: %s", err, env.Data)
	}
}

// apiErr is the {"error": ...} envelope.
type apiErr struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// errorOf decodes the error envelope of r.
func (r apiResponse) errorOf(t *testing.T) apiErr {
	t.Helper()
	var env struct {
		Error *apiErr `json:"error"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil || env.Error == nil {
		t.Fatalf("response %d is not an error envelope: %s", r.status, r.body)
	}
	return *env.Error
}

// succeededHook is an ad-hoc webhook for ACTOR.RUN.SUCCEEDED to url.
func succeededHook(url string) client.WebhookDefinition {
	return client.WebhookDefinition{EventTypes: []client.EventType{client.EventActorRunSucceeded}, RequestURL: url}
}

// endRun starts a run of Actor a~b with the ad-hoc webhooks hooks and
// finishes it SUCCEEDED.
func endRun(t *testing.T, srv *apifytest.Server, hooks ...client.WebhookDefinition) *client.Run {
	t.Helper()
	run, err := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{Webhooks: hooks})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.FinishRun(run.ID, client.StatusSucceeded, 0); err != nil {
		t.Fatal(err)
	}
	return run
}

// deliverRun is endRun, then it waits for the deliveries to settle.
func deliverRun(t *testing.T, srv *apifytest.Server, hooks ...client.WebhookDefinition) *client.Run {
	t.Helper()
	run := endRun(t, srv, hooks...)
	waitIdle(t, srv)
	return run
}

// wantBadRequest reports an error unless r is a 400 whose message holds
// want, as one that names the offending field does.
func wantBadRequest(t *testing.T, r apiResponse, name, want string) {
	t.Helper()
	if r.status != http.StatusBadRequest {
		t.Errorf("%s: status %d %s, want 400", name, r.status, r.body)
		return
	}
	if e := r.errorOf(t); !strings.Contains(e.Message, want) {
		t.Errorf("%s: message %q lacks %q", name, e.Message, want)
	}
}

// waitIdle waits for srv's deliveries to settle.
func waitIdle(t *testing.T, srv *apifytest.Server) {
	t.Helper()
	if err := srv.WaitIdle(ctxFor(t)); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
}

// jsonReader returns v as a JSON body.
func jsonReader(t *testing.T, v any) io.Reader {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(raw)
}

// onMessage is a slog.Handler that sends on seen, without blocking, each
// time a record with message msg is logged: a test waits on it for the
// server to reach a state.
type onMessage struct {
	msg  string
	seen chan<- struct{}
}

func (h onMessage) Enabled(context.Context, slog.Level) bool { return true }

func (h onMessage) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		select {
		case h.seen <- struct{}{}:
		default:
		}
	}
	return nil
}

func (h onMessage) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h onMessage) WithGroup(string) slog.Handler      { return h }

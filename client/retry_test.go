package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// statuses answers request n with statuses[n] (the last one repeating) and a
// body fitting the path.
func statuses(t *testing.T, statuses ...int) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		s := statuses[min(n, len(statuses)-1)]
		switch {
		case s == 0:
			hangUp(t, w)
		case s == http.StatusNoContent:
			w.WriteHeader(s)
		case s >= 300:
			writeJSON(w, s, `{"error":{"type":"some-error","message":"failed"}}`)
		case strings.HasSuffix(r.URL.Path, "/test"):
			writeJSON(w, s, `{"data":{"id":"d1"}}`)
		case strings.Contains(r.URL.Path, "runs"):
			writeJSON(w, s, `{"data":{"id":"run1","status":"RUNNING"}}`)
		default:
			writeJSON(w, s, `{"data":{"id":"x"}}`)
		}
	}
}

// Request kinds of the retry table.
var retryCalls = map[string]func(ctx context.Context, c *Client) error{
	"GET": func(ctx context.Context, c *Client) error { _, err := c.GetRun(ctx, "run1"); return err },
	"PUT": func(ctx context.Context, c *Client) error {
		_, err := c.UpdateRun(ctx, "run1", RunUpdate{StatusMessage: "m"})
		return err
	},
	"DELETE": func(ctx context.Context, c *Client) error { return c.DeleteWebhook(ctx, "wh1") },
	"create webhook": func(ctx context.Context, c *Client) error {
		_, err := c.CreateWebhook(ctx, WebhookCondition{ActorID: "a"},
			WebhookDefinition{EventTypes: []EventType{EventTest}, RequestURL: "https://example.com"})
		return err
	},
	"abort": func(ctx context.Context, c *Client) error {
		_, err := c.AbortRun(ctx, "run1", AbortOptions{})
		return err
	},
	"test webhook": func(ctx context.Context, c *Client) error { _, err := c.TestWebhook(ctx, "wh1"); return err },
	"start actor": func(ctx context.Context, c *Client) error {
		_, err := c.StartActor(ctx, "a~b", map[string]int{"n": 1}, StartOptions{})
		return err
	},
	"start task": func(ctx context.Context, c *Client) error {
		_, err := c.StartTask(ctx, "a~t", nil, StartOptions{})
		return err
	},
}

// outcome summarises a call's result for comparison.
type outcome struct {
	Attempts       int  // requests the server saw
	Status         int  // of the *APIError, 0 without one
	ErrAttempts    int  // Attempts of the *APIError or *TransportError
	Transport      bool // the error is a *TransportError
	StartError     bool // the error is a *StartError
	MayHaveStarted bool
}

func outcomeOf(seen int, err error) outcome {
	o := outcome{Attempts: seen}
	var ae *APIError
	if errors.As(err, &ae) {
		o.Status, o.ErrAttempts = ae.StatusCode, ae.Attempts
	}
	var te *TransportError
	if errors.As(err, &te) {
		o.Transport, o.ErrAttempts = true, te.Attempts
	}
	var se *StartError
	if errors.As(err, &se) {
		o.StartError, o.MayHaveStarted = true, se.MayHaveStarted
	}
	return o
}

func TestRetryRules(t *testing.T) {
	t.Parallel()
	const hangup = 0 // the connection closes without a response
	tests := []struct {
		call     string
		statuses []int
		want     outcome
	}{
		// Idempotent requests: network errors, 429 and 5xx but 501.
		{"GET", []int{500, 502, 504, 200}, outcome{Attempts: 4}},
		{"GET", []int{503, 429, 200}, outcome{Attempts: 3}},
		{"GET", []int{hangup, 200}, outcome{Attempts: 2}},
		{"GET", []int{501}, outcome{Attempts: 1, Status: 501, ErrAttempts: 1}},
		{"GET", []int{404}, outcome{Attempts: 1, Status: 404, ErrAttempts: 1}},
		{"GET", []int{400}, outcome{Attempts: 1, Status: 400, ErrAttempts: 1}},
		{"GET", []int{500}, outcome{Attempts: 4, Status: 500, ErrAttempts: 4}},
		{"GET", []int{hangup}, outcome{Attempts: 4, Transport: true, ErrAttempts: 4}},
		{"PUT", []int{503, hangup, 200}, outcome{Attempts: 3}},
		{"DELETE", []int{502, 204}, outcome{Attempts: 2}},
		{"create webhook", []int{500, hangup, 201}, outcome{Attempts: 3}},
		{"abort", []int{500, 200}, outcome{Attempts: 2}},
		// Requests that are not idempotent: only 429 and 503.
		{"test webhook", []int{500}, outcome{Attempts: 1, Status: 500, ErrAttempts: 1}},
		{"test webhook", []int{hangup}, outcome{Attempts: 1, Transport: true, ErrAttempts: 1}},
		{"test webhook", []int{429, 503, 201}, outcome{Attempts: 3}},
		{"start actor", []int{500}, outcome{Attempts: 1, Status: 500, ErrAttempts: 1, StartError: true, MayHaveStarted: true}},
		{"start actor", []int{502}, outcome{Attempts: 1, Status: 502, ErrAttempts: 1, StartError: true, MayHaveStarted: true}},
		{"start actor", []int{504}, outcome{Attempts: 1, Status: 504, ErrAttempts: 1, StartError: true, MayHaveStarted: true}},
		{"start actor", []int{hangup}, outcome{Attempts: 1, Transport: true, ErrAttempts: 1, StartError: true, MayHaveStarted: true}},
		{"start actor", []int{501}, outcome{Attempts: 1, Status: 501, ErrAttempts: 1, StartError: true}},
		{"start actor", []int{400}, outcome{Attempts: 1, Status: 400, ErrAttempts: 1, StartError: true}},
		{"start actor", []int{503, 429, 201}, outcome{Attempts: 3}},
		{"start actor", []int{429}, outcome{Attempts: 4, Status: 429, ErrAttempts: 4, StartError: true}},
		{"start actor", []int{503}, outcome{Attempts: 4, Status: 503, ErrAttempts: 4, StartError: true}},
		{"start task", []int{500}, outcome{Attempts: 1, Status: 500, ErrAttempts: 1, StartError: true, MayHaveStarted: true}},
		{"start task", []int{503, 201}, outcome{Attempts: 2}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.call, tt.statuses), func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, statuses(t, tt.statuses...))
			c := newTestClient(t, api.srv.URL, WithMaxRetries(3))
			err := retryCalls[tt.call](t.Context(), c)
			if diff := cmp.Diff(tt.want, outcomeOf(api.count(), err)); diff != "" {
				t.Errorf("outcome (-want +got):\n%s\nerror: %v", diff, err)
			}
			if wantErr := tt.want.Status != 0 || tt.want.Transport; (err != nil) != wantErr {
				t.Errorf("error = %v, want error: %v", err, wantErr)
			}
		})
	}
}

// TestCreateWebhookLostResponse: the platform stores the webhook but the
// response never arrives; the retry carries the same idempotency key, so the
// platform returns the stored webhook instead of creating a second one.
func TestCreateWebhookLostResponse(t *testing.T) {
	t.Parallel()
	var (
		mu     sync.Mutex
		stored = map[string]string{} // idempotency key -> webhook ID
	)
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		var body struct {
			IdempotencyKey string `json:"idempotencyKey"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("decoding the request: %v", err)
		}
		mu.Lock()
		key := body.IdempotencyKey
		if key == "" { // like the platform: no key, no deduplication
			key = fmt.Sprintf("anonymous-%d", n)
		}
		id, ok := stored[key]
		if !ok {
			id = fmt.Sprintf("wh%d", len(stored)+1)
			stored[key] = id
		}
		mu.Unlock()
		if n == 0 {
			hangUp(t, w) // stored, but the response is lost
			return
		}
		writeJSON(w, 201, `{"data":{"id":"`+id+`"}}`)
	})
	c := newTestClient(t, api.srv.URL)
	wh, err := c.CreateWebhook(t.Context(), WebhookCondition{ActorID: "a"},
		WebhookDefinition{EventTypes: []EventType{EventActorRunSucceeded}, RequestURL: "https://example.com"})
	if err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	reqs := api.requests()
	if len(reqs) != 2 {
		t.Fatalf("the server saw %d requests, want 2", len(reqs))
	}
	if reqs[0].Body != reqs[1].Body {
		t.Errorf("the retry sent a different body:\n%s\n%s", reqs[0].Body, reqs[1].Body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(stored) != 1 {
		t.Errorf("the platform stored %d webhooks, want exactly 1: %v", len(stored), stored)
	}
	if wh.ID != "wh1" {
		t.Errorf("webhook ID = %q, want wh1", wh.ID)
	}
}

// countingTransport counts the attempts that reach the transport.
type countingTransport struct {
	n    atomic.Int32
	base http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// closedURL returns the URL of a loopback port where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// TestStartConnectFailure: a start that cannot connect never left, so it is
// retried, and the final error says that no run started.
func TestStartConnectFailure(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"start actor", "test webhook", "GET"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tr := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
			c := newTestClient(t, closedURL(t), WithMaxRetries(2), WithHTTPClient(&http.Client{Transport: tr}))
			err := retryCalls[name](t.Context(), c)
			if got := tr.n.Load(); got != 3 {
				t.Errorf("attempts = %d, want 3", got)
			}
			var te *TransportError
			if !errors.As(err, &te) || te.Attempts != 3 {
				t.Fatalf("error = %v, want a *TransportError after 3 attempts", err)
			}
			var op *net.OpError
			if !errors.As(err, &op) || op.Op != "dial" {
				t.Errorf("error = %v, want a dial *net.OpError inside", err)
			}
			if strings.Contains(err.Error(), "?") || strings.Contains(err.Error(), testToken) {
				t.Errorf("error %q shows the query or the token", err)
			}
			if name == "start actor" && !isStartError(err, false) {
				t.Errorf("error = %#v, want a *StartError with MayHaveStarted false", err)
			}
		})
	}
}

// stall answers request n only after the client gave up on it when stalled[n]
// is set.
func stall(stalled ...bool) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		if n < len(stalled) && stalled[n] {
			<-r.Context().Done()
			return
		}
		writeJSON(w, 201, `{"data":{"id":"run1","status":"RUNNING"}}`)
	}
}

func TestAttemptTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		call string
		want outcome
	}{
		{"GET", outcome{Attempts: 2}},
		{"create webhook", outcome{Attempts: 2}},
		{"start actor", outcome{Attempts: 1, Transport: true, ErrAttempts: 1, StartError: true, MayHaveStarted: true}},
	}
	for _, tt := range tests {
		t.Run(tt.call, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, stall(true, false))
			caller := &http.Client{}
			c := newTestClient(t, api.srv.URL, WithHTTPClient(caller), WithAttemptTimeout(200*time.Millisecond))
			err := retryCalls[tt.call](t.Context(), c)
			if diff := cmp.Diff(tt.want, outcomeOf(api.count(), err)); diff != "" {
				t.Errorf("outcome (-want +got):\n%s\nerror: %v", diff, err)
			}
			if caller.Timeout != 0 {
				t.Errorf("the caller's http.Client was modified: Timeout = %v", caller.Timeout)
			}
		})
	}
}

// TestLongPollOutlivesAttemptTimeout: a waitForFinish request may take as long
// as the wait it asks for, beyond the attempt timeout.
func TestLongPollOutlivesAttemptTimeout(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		time.Sleep(150 * time.Millisecond)
		writeJSON(w, 201, `{"data":{"id":"run1","status":"SUCCEEDED"}}`)
	})
	c := newTestClient(t, api.srv.URL, WithAttemptTimeout(50*time.Millisecond))
	run, err := c.StartActor(t.Context(), "a~b", nil, StartOptions{WaitForFinish: time.Second})
	if err != nil {
		t.Fatalf("StartActor: %v", err)
	}
	if run.Status != StatusSucceeded || api.count() != 1 {
		t.Errorf("status %s after %d attempts, want SUCCEEDED after 1", run.Status, api.count())
	}
}

func TestRetryAfterClamp(t *testing.T) {
	t.Parallel()
	for _, header := range []string{"3600", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)} {
		t.Run(header, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 0 {
					w.Header().Set("Retry-After", header)
					writeJSON(w, 429, `{"error":{"type":"rate-limit-exceeded","message":"slow down"}}`)
					return
				}
				writeJSON(w, 200, `{"data":{"id":"run1"}}`)
			})
			c := newTestClient(t, api.srv.URL, WithBackoff(time.Millisecond, 30*time.Millisecond))
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second) // fail, don't hang, without the clamp
			defer cancel()
			start := time.Now()
			if _, err := c.GetRun(ctx, "run1"); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v: Retry-After was not clamped to the 30ms maximum", d)
			}
			if api.count() != 2 {
				t.Errorf("attempts = %d, want 2", api.count())
			}
		})
	}
}

func TestRetryWait(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	resp := func(retryAfter string) *http.Response {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: 429, Header: h}
	}
	const min, max = 100 * time.Millisecond, 10 * time.Second
	tests := []struct {
		name       string
		attempt    int
		resp       *http.Response
		lo, hi     time.Duration
		fromHeader bool
	}{
		{"seconds", 0, resp("3"), 3 * time.Second, 3 * time.Second, true},
		{"seconds clamped to max", 0, resp("120"), max, max, true},
		{"huge seconds clamped", 0, resp("99999999999999"), max, max, true},
		{"zero raised to min", 0, resp("0"), min, min, true},
		{"date", 0, resp(now.Add(5 * time.Second).Format(http.TimeFormat)), 5 * time.Second, 5 * time.Second, true},
		{"date clamped to max", 0, resp(now.Add(time.Hour).Format(http.TimeFormat)), max, max, true},
		{"past date raised to min", 0, resp(now.Add(-time.Hour).Format(http.TimeFormat)), min, min, true},
		{"bad header ignored", 0, resp("soon"), min, min, false},
		{"negative ignored", 0, resp("-5"), min, min, false},
		{"no response", 0, nil, min, min, false},
		{"second retry", 1, resp(""), min, 2 * min, false},
		{"fourth retry", 3, resp(""), min, 8 * min, false},
		{"capped at max", 20, resp(""), min, max, false},
		{"no overflow", 100, resp(""), min, max, false},
	}
	t.Run("largest bounds", func(t *testing.T) {
		t.Parallel()
		for attempt := range 70 {
			if got, _ := retryWait(0, math.MaxInt64, attempt, nil, now); got < 0 {
				t.Fatalf("retryWait(0, MaxInt64, %d) = %v", attempt, got)
			}
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for range 50 {
				got, fromHeader := retryWait(min, max, tt.attempt, tt.resp, now)
				if got < tt.lo || got > tt.hi || fromHeader != tt.fromHeader {
					t.Fatalf("retryWait = %v, %v; want in [%v, %v], %v", got, fromHeader, tt.lo, tt.hi, tt.fromHeader)
				}
			}
		})
	}
	t.Run("jitter", func(t *testing.T) {
		t.Parallel()
		seen := map[time.Duration]bool{}
		for range 20 {
			d, _ := retryWait(min, max, 5, nil, now)
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("20 waits were all %v: no jitter", seen)
		}
	})
}

// backoffSignal is a slog.Handler that closes entered when the client logs
// that it is about to wait before a retry.
type backoffSignal struct {
	once    sync.Once
	entered chan struct{}
}

func newBackoffSignal() *backoffSignal { return &backoffSignal{entered: make(chan struct{})} }

func (b *backoffSignal) logger() *slog.Logger { return slog.New(b) }

// wait waits until the client has entered the backoff, or fails the test
// after a minute.
func (b *backoffSignal) wait(t *testing.T) {
	select {
	case <-b.entered:
	case <-time.After(time.Minute):
		t.Error("the client never logged that it would retry")
	}
}

func (b *backoffSignal) Enabled(context.Context, slog.Level) bool { return true }
func (b *backoffSignal) WithAttrs([]slog.Attr) slog.Handler       { return b }
func (b *backoffSignal) WithGroup(string) slog.Handler            { return b }

func (b *backoffSignal) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "apify: retrying request" {
		b.once.Do(func() { close(b.entered) })
	}
	return nil
}

// TestCancelDuringBackoff: a context cancelled while the client waits to
// retry ends the call, even with an hour-long backoff, and a start cancelled
// there did not start a run.
func TestCancelDuringBackoff(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"GET", "start actor"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, statuses(t, 503))
			backoff := newBackoffSignal()
			c := newTestClient(t, api.srv.URL, WithBackoff(time.Hour, time.Hour), WithLogger(backoff.logger()))
			ctx, cancel := context.WithCancel(t.Context())
			go func() {
				backoff.wait(t)
				cancel()
			}()
			err := retryCalls[name](ctx, c)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error = %v, want context.Canceled", err)
			}
			if name == "start actor" && !isStartError(err, false) {
				t.Errorf("error = %v, want a *StartError with MayHaveStarted false: the last attempt got a 503", err)
			}
			if api.count() != 1 {
				t.Errorf("attempts = %d, want 1", api.count())
			}
		})
	}
}

// TestCancelDuringBackoffIsPrompt measures the time from cancel to return.
func TestCancelDuringBackoffIsPrompt(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 503, `{}`)
	})
	backoff := newBackoffSignal()
	c := newTestClient(t, api.srv.URL, WithBackoff(time.Hour, time.Hour), WithLogger(backoff.logger()))
	ctx, cancel := context.WithCancel(t.Context())
	var cancelledAt atomic.Int64
	go func() {
		backoff.wait(t)
		cancelledAt.Store(time.Now().UnixNano())
		cancel()
	}()
	_, err := c.GetRun(ctx, "run1")
	took := time.Since(time.Unix(0, cancelledAt.Load()))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if took > 100*time.Millisecond {
		t.Errorf("returned %v after the cancel, want within milliseconds", took)
	}
}

// TestCancelInFlightStart: a start whose context ends while the platform
// holds the request may have started a run.
func TestCancelInFlightStart(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, stall(true))
	c := newTestClient(t, api.srv.URL)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.StartActor(ctx, "a~b", nil, StartOptions{})
	if !isStartError(err, true) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want a *StartError with MayHaveStarted and context.DeadlineExceeded", err)
	}
}

// TestRetryLogging: retries are logged with method, path, attempt and status,
// never with the token or the query.
func TestRetryLogging(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	api := newFakeAPI(t, statuses(t, 500))
	c := newTestClient(t, api.srv.URL, WithLogger(log), WithMaxRetries(1))
	_, err := c.WaitForRun(t.Context(), "run1")
	if err == nil {
		t.Fatal("want an error")
	}
	var lines []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		delete(m, "time")
		delete(m, "wait")
		lines = append(lines, m)
	}
	want := []map[string]any{{
		"level": "DEBUG", "msg": "apify: retrying request", "method": "GET", "path": "/v2/actor-runs/run1",
		"attempt": 1.0, "status": 500.0, "retryAfter": false,
	}, {
		"level": "WARN", "msg": "apify: giving up", "method": "GET", "path": "/v2/actor-runs/run1",
		"attempts": 2.0, "status": 500.0,
	}}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if s := buf.String(); strings.Contains(s, testToken) || strings.Contains(s, "waitForFinish") {
		t.Errorf("the log shows the token or the query:\n%s", s)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}

func (s *syncBuffer) String() string { return string(s.Bytes()) }

// TestDeleteAfterLostResponse: a DELETE retried after its response was lost
// finds the webhook gone, which is what the caller asked for.
func TestDeleteAfterLostResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		statuses []int
		wantErr  bool
	}{
		{[]int{0, 404}, false},   // deleted, response lost, retry finds nothing
		{[]int{502, 404}, false}, // the platform deleted it but answered 502
		{[]int{404}, true},       // never existed
	}
	for _, tt := range tests {
		api := newFakeAPI(t, statuses(t, tt.statuses...))
		c := newTestClient(t, api.srv.URL)
		err := c.DeleteWebhook(t.Context(), "wh1")
		if (err != nil) != tt.wantErr || (err != nil && !IsNotFound(err)) {
			t.Errorf("%v: DeleteWebhook error = %v, want error: %v", tt.statuses, err, tt.wantErr)
		}
	}
}

// TestZeroPolicyIsSafe: a request that names no retry policy is retried only
// when it cannot have reached the platform, never after a 5xx or a lost
// response.
func TestZeroPolicyIsSafe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		statuses []int
		want     int // attempts
	}{
		{[]int{500, 200}, 1},
		{[]int{502, 200}, 1},
		{[]int{0, 200}, 1}, // the connection closes without a response
		{[]int{503, 429, 200}, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.statuses), func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, statuses(t, tt.statuses...))
			c := newTestClient(t, api.srv.URL, WithMaxRetries(3))
			c.do(t.Context(), &request{method: "POST", path: "/v2/some-new-endpoint"})
			if got := api.count(); got != tt.want {
				t.Errorf("attempts = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestCreateWebhookHungAttempt: the first attempt of a webhook creation is
// stored by the platform and then hangs; the attempt timeout cuts it, the
// retry carries the same idempotency key, and the platform ends up with
// exactly one webhook.
func TestCreateWebhookHungAttempt(t *testing.T) {
	t.Parallel()
	var (
		mu     sync.Mutex
		stored = map[string]string{} // idempotency key -> webhook ID
	)
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		var body struct {
			IdempotencyKey string `json:"idempotencyKey"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.IdempotencyKey == "" {
			t.Errorf("the request has no idempotency key (%v)", err)
		}
		mu.Lock()
		id, ok := stored[body.IdempotencyKey]
		if !ok {
			id = fmt.Sprintf("wh%d", len(stored)+1)
			stored[body.IdempotencyKey] = id
		}
		mu.Unlock()
		if n == 0 {
			<-r.Context().Done() // hangs until the client gives up on the attempt
			return
		}
		writeJSON(w, 201, `{"data":{"id":"`+id+`"}}`)
	})
	c := newTestClient(t, api.srv.URL, WithAttemptTimeout(100*time.Millisecond))
	wh, err := c.CreateWebhook(t.Context(), WebhookCondition{ActorRunID: "run1"},
		WebhookDefinition{EventTypes: []EventType{EventActorRunSucceeded}, RequestURL: "https://example.com"})
	if err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(stored) != 1 || wh.ID != "wh1" || api.count() != 2 {
		t.Errorf("got webhook %q after %d attempts, stored %v; want wh1 after 2 attempts, exactly one stored", wh.ID, api.count(), stored)
	}
}

package webhookrecv_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/webhookrecv"
)

const testSecret = "test-secret-0123456789"

// recorder is a webhookrecv.Func that records its deliveries and answers with
// the errors (or panics) it is told to.
type recorder struct {
	mu         sync.Mutex
	deliveries []*webhookrecv.Delivery
	fail       []error // consumed one per call; nil entries succeed
	panicNext  bool
	goexitNext bool // end the goroutine, as t.FailNow does
}

func (r *recorder) fn(_ context.Context, d *webhookrecv.Delivery) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deliveries = append(r.deliveries, d)
	if r.panicNext {
		r.panicNext = false
		panic("boom")
	}
	if r.goexitNext {
		r.goexitNext = false
		runtime.Goexit()
	}
	if len(r.fail) > 0 {
		err := r.fail[0]
		r.fail = r.fail[1:]
		return err
	}
	return nil
}

func (r *recorder) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.deliveries)
}

type delivery struct {
	method     string
	path       string // default "/"
	secret     string // X-Webhook-Secret; "-" for none
	dispatchID string
	body       string
	chunked    bool
}

type answer struct {
	Status int
	Body   string
}

func send(t *testing.T, srv *httptest.Server, d delivery) answer {
	t.Helper()
	a, err := trySend(t.Context(), srv, d)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// trySend is send for goroutines other than the test's.
func trySend(ctx context.Context, srv *httptest.Server, d delivery) (answer, error) {
	if d.method == "" {
		d.method = http.MethodPost
	}
	if d.path == "" {
		d.path = "/"
	}
	var body io.Reader = strings.NewReader(d.body)
	if d.chunked {
		body = io.MultiReader(body) // hides the length: sent chunked
	}
	req, err := http.NewRequestWithContext(ctx, d.method, srv.URL+d.path, body)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	switch d.secret {
	case "":
		req.Header.Set(webhookrecv.SecretHeader, testSecret)
	case "-":
	default:
		req.Header.Set(webhookrecv.SecretHeader, d.secret)
	}
	req.Header.Set(webhookrecv.HeaderWebhookID, "wh1")
	if d.dispatchID != "" {
		req.Header.Set(webhookrecv.HeaderDispatchID, d.dispatchID)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}, nil
}

func newServer(t *testing.T, fn webhookrecv.Func, opts webhookrecv.Options) *httptest.Server {
	t.Helper()
	if opts.Secret == "" {
		opts.Secret = testSecret
	}
	h, err := webhookrecv.NewHandler(fn, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

const goodBody = `{"userId":"u1","createdAt":"2025-03-14T09:26:53.589Z","eventType":"ACTOR.RUN.SUCCEEDED","eventData":{"actorId":"a1","actorRunId":"r1"},"resource":{"id":"r1","status":"SUCCEEDED"}}`

func TestHandlerAnswers(t *testing.T) {
	t.Parallel()
	accepted := answer{200, `{"status":"accepted"}`}
	unauthorized := answer{401, `{"error":"missing or wrong secret"}`}
	tests := []struct {
		name      string
		opts      webhookrecv.Options
		fail      error
		panics    bool
		d         delivery
		want      answer
		wantCalls int
	}{
		{name: "accepted", d: delivery{dispatchID: "d1", body: goodBody}, want: accepted, wantCalls: 1},
		{name: "accepted without dispatch ID", d: delivery{body: goodBody}, want: accepted, wantCalls: 1},
		{name: "GET", d: delivery{method: http.MethodGet}, want: answer{405, `{"error":"method GET not allowed: webhooks are delivered with POST"}`}},
		{name: "PUT", d: delivery{method: http.MethodPut, body: goodBody}, want: answer{405, `{"error":"method PUT not allowed: webhooks are delivered with POST"}`}},
		{name: "no secret", d: delivery{secret: "-", body: goodBody}, want: unauthorized},
		{name: "wrong secret", d: delivery{secret: "test-secret-0123456788", body: goodBody}, want: unauthorized},
		{name: "secret prefix", d: delivery{secret: "test-secret", body: goodBody}, want: unauthorized},
		{name: "secret in URL not allowed", d: delivery{secret: "-", path: "/?webhook_secret=" + testSecret, body: goodBody}, want: unauthorized},
		{
			name: "secret in URL allowed", opts: webhookrecv.Options{AllowSecretInURL: true},
			d: delivery{secret: "-", path: "/?webhook_secret=" + testSecret, body: goodBody}, want: accepted, wantCalls: 1,
		},
		{
			name: "wrong header beats right URL", opts: webhookrecv.Options{AllowSecretInURL: true},
			d: delivery{secret: "wrong", path: "/?webhook_secret=" + testSecret, body: goodBody}, want: unauthorized,
		},
		{
			name: "wrong secret in URL", opts: webhookrecv.Options{AllowSecretInURL: true},
			d: delivery{secret: "-", path: "/?webhook_secret=wrong", body: goodBody}, want: unauthorized,
		},
		{
			name: "body over the limit", opts: webhookrecv.Options{MaxBodyBytes: 64},
			d: delivery{body: goodBody}, want: answer{413, `{"error":"body larger than 64 bytes"}`},
		},
		{
			name: "chunked body over the limit", opts: webhookrecv.Options{MaxBodyBytes: 64},
			d: delivery{body: goodBody, chunked: true}, want: answer{413, `{"error":"body larger than 64 bytes"}`},
		},
		{
			name: "body at the limit", opts: webhookrecv.Options{MaxBodyBytes: int64(len(goodBody))},
			d: delivery{body: goodBody, chunked: true}, want: accepted, wantCalls: 1,
		},
		{
			name: "malformed payload", d: delivery{dispatchID: "d1", body: `{"createdAt":"soon"}`},
			want: answer{400, `{"error":"webhookrecv: malformed payload: field \"createdAt\" is not an RFC 3339 time"}`},
		},
		{name: "empty body", d: delivery{}, want: answer{400, `{"error":"webhookrecv: malformed payload: the body is empty"}`}},
		{
			name: "dispatch ID too long", d: delivery{dispatchID: strings.Repeat("x", 257), body: goodBody},
			want: answer{400, `{"error":"header X-Apify-Webhook-Dispatch-Id is longer than 256 bytes"}`},
		},
		{
			name: "function fails", fail: errors.New("database down at 10.0.0.7"),
			d: delivery{dispatchID: "d1", body: goodBody}, want: answer{500, `{"error":"processing failed; retry later"}`}, wantCalls: 1,
		},
		{
			name: "function panics", panics: true,
			d: delivery{dispatchID: "d1", body: goodBody}, want: answer{500, `{"error":"processing failed; retry later"}`}, wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{fail: []error{tt.fail}, panicNext: tt.panics}
			srv := newServer(t, rec.fn, tt.opts)
			got := send(t, srv, tt.d)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			if rec.calls() != tt.wantCalls {
				t.Errorf("function ran %d times, want %d", rec.calls(), tt.wantCalls)
			}
		})
	}
}

func TestHandlerPassesDelivery(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	srv := newServer(t, rec.fn, webhookrecv.Options{})
	send(t, srv, delivery{dispatchID: "d1", body: goodBody})
	if rec.calls() != 1 {
		t.Fatalf("function ran %d times, want 1", rec.calls())
	}
	want := &webhookrecv.Delivery{
		WebhookID: "wh1", DispatchID: "d1", Body: []byte(goodBody),
		Payload: &webhookrecv.Payload{
			UserID: "u1", CreatedAt: time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC),
			EventType: client.EventActorRunSucceeded,
			EventData: &client.EventData{ActorID: "a1", ActorRunID: "r1"},
			Resource:  []byte(`{"id":"r1","status":"SUCCEEDED"}`),
		},
	}
	if diff := cmp.Diff(want, rec.deliveries[0]); diff != "" {
		t.Errorf("delivery (-want +got):\n%s", diff)
	}
}

func TestHandlerRedeliveries(t *testing.T) {
	t.Parallel()
	accepted := answer{200, `{"status":"accepted"}`}
	duplicate := answer{200, `{"status":"duplicate"}`}
	failed := answer{500, `{"error":"processing failed; retry later"}`}
	tests := []struct {
		name      string
		fail      []error
		panics    bool
		goexits   bool
		want      []answer
		wantCalls int
	}{
		{name: "redelivery after success is recognised", want: []answer{accepted, duplicate, duplicate}, wantCalls: 1},
		{name: "retry after failure runs again", fail: []error{errors.New("x"), errors.New("y")}, want: []answer{failed, failed, accepted, duplicate}, wantCalls: 3},
		{name: "retry after panic runs again", panics: true, want: []answer{failed, accepted, duplicate}, wantCalls: 2},
		{name: "retry after runtime.Goexit runs again", goexits: true, want: []answer{failed, accepted, duplicate}, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{fail: tt.fail, panicNext: tt.panics, goexitNext: tt.goexits}
			srv := newServer(t, rec.fn, webhookrecv.Options{})
			var got []answer
			for range tt.want {
				got = append(got, send(t, srv, delivery{dispatchID: "d1", body: goodBody}))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
			if rec.calls() != tt.wantCalls {
				t.Errorf("function ran %d times, want %d", rec.calls(), tt.wantCalls)
			}
			// Another dispatch is independent.
			if a := send(t, srv, delivery{dispatchID: "d2", body: goodBody}); a != accepted {
				t.Errorf("other dispatch: %+v, want %+v", a, accepted)
			}
		})
	}
}

func TestHandlerConcurrentRedelivery(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int32
	fn := func(ctx context.Context, d *webhookrecv.Delivery) error {
		if calls.Add(1) == 1 {
			close(started)
			select {
			case <-release:
			case <-ctx.Done(): // the test failed and hung up
				return ctx.Err()
			}
		}
		return nil
	}
	srv := newServer(t, fn, webhookrecv.Options{})
	first := make(chan answer, 1)
	go func() {
		a, err := trySend(t.Context(), srv, delivery{dispatchID: "d1", body: goodBody})
		if err != nil {
			t.Error(err)
		}
		first <- a
	}()
	select {
	case <-started:
	case a := <-first:
		t.Fatalf("the first attempt was answered %+v before the function ran", a)
	}

	got := []answer{send(t, srv, delivery{dispatchID: "d1", body: goodBody})}
	close(release)
	got = append(got, <-first, send(t, srv, delivery{dispatchID: "d1", body: goodBody}))
	want := []answer{
		{409, `{"error":"this dispatch is being processed; retry later"}`},
		{200, `{"status":"accepted"}`},
		{200, `{"status":"duplicate"}`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("function ran %d times, want 1", n)
	}
}

// releaseSpy is a MemoryDeduper that reports the dispatches it releases.
type releaseSpy struct {
	webhookrecv.MemoryDeduper
	released chan string
}

func (s *releaseSpy) Release(ctx context.Context, id string) error {
	err := s.MemoryDeduper.Release(ctx, id)
	s.released <- id
	return err
}

// TestHandlerReleasesClaimWhenThePlatformHangsUp checks that a dispatch whose
// delivery the platform abandoned (its timeout, a lost connection) is not left
// claimed: the function sees its context end, and the platform's retry runs
// it again instead of getting 409 forever.
func TestHandlerReleasesClaimWhenThePlatformHangsUp(t *testing.T) {
	t.Parallel()
	running := make(chan struct{})
	var calls atomic.Int32
	fn := func(ctx context.Context, d *webhookrecv.Delivery) error {
		if calls.Add(1) == 1 {
			close(running)
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	spy := &releaseSpy{released: make(chan string, 1)}
	srv := newServer(t, fn, webhookrecv.Options{Deduper: spy})

	ctx, hangUp := context.WithCancel(t.Context())
	defer hangUp()
	sent := make(chan error, 1)
	go func() {
		_, err := trySend(ctx, srv, delivery{dispatchID: "d1", body: goodBody})
		sent <- err
	}()
	select {
	case <-running:
	case err := <-sent:
		t.Fatalf("the first attempt ended (%v) before the function ran", err)
	}
	hangUp()
	if err := <-sent; !errors.Is(err, context.Canceled) {
		t.Fatalf("first attempt: %v, want context.Canceled", err)
	}
	select {
	case id := <-spy.released:
		if id != "d1" {
			t.Errorf("released %q, want d1", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the claim of the abandoned attempt was not released within 10 s")
	}

	got := []answer{
		send(t, srv, delivery{dispatchID: "d1", body: goodBody}),
		send(t, srv, delivery{dispatchID: "d1", body: goodBody}),
	}
	want := []answer{{200, `{"status":"accepted"}`}, {200, `{"status":"duplicate"}`}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("retries (-want +got):\n%s", diff)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("function ran %d times, want 2", n)
	}
}

// brokenDeduper fails the operations it is told to.
type brokenDeduper struct {
	webhookrecv.MemoryDeduper
	claim, complete, release error
	result                   webhookrecv.ClaimResult
}

func (b *brokenDeduper) Claim(ctx context.Context, id string) (webhookrecv.ClaimResult, error) {
	if b.claim != nil || b.result != 0 {
		return b.result, b.claim
	}
	return b.MemoryDeduper.Claim(ctx, id)
}

func (b *brokenDeduper) Complete(ctx context.Context, id string) error {
	if b.complete != nil {
		return b.complete
	}
	return b.MemoryDeduper.Complete(ctx, id)
}

func (b *brokenDeduper) Release(ctx context.Context, id string) error {
	if b.release != nil {
		return b.release
	}
	return b.MemoryDeduper.Release(ctx, id)
}

func TestHandlerDeduperFailures(t *testing.T) {
	t.Parallel()
	storeFailed := answer{500, `{"error":"deduplication store failed; retry later"}`}
	tests := []struct {
		name      string
		dedup     *brokenDeduper
		fail      error
		want      answer
		wantCalls int
	}{
		{name: "claim fails", dedup: &brokenDeduper{claim: errors.New("redis down")}, want: storeFailed},
		{name: "claim returns an unknown result", dedup: &brokenDeduper{result: 42}, want: storeFailed},
		{name: "complete fails after the work is done", dedup: &brokenDeduper{complete: errors.New("redis down")}, want: answer{200, `{"status":"accepted"}`}, wantCalls: 1},
		{
			name: "release fails after the function failed", dedup: &brokenDeduper{release: errors.New("redis down")},
			fail: errors.New("x"), want: answer{500, `{"error":"processing failed; retry later"}`}, wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{fail: []error{tt.fail}}
			var logs bytes.Buffer
			srv := newServer(t, rec.fn, webhookrecv.Options{Deduper: tt.dedup, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			got := send(t, srv, delivery{dispatchID: "d1", body: goodBody})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			if rec.calls() != tt.wantCalls {
				t.Errorf("function ran %d times, want %d", rec.calls(), tt.wantCalls)
			}
			if !strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("no error logged:\n%s", logs.String())
			}
		})
	}
}

func TestHandlerLogsNoSecret(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	rec := &recorder{fail: []error{errors.New("db down")}}
	srv := newServer(t, rec.fn, webhookrecv.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	send(t, srv, delivery{dispatchID: "d1", body: goodBody})
	send(t, srv, delivery{dispatchID: "d1", body: goodBody})
	send(t, srv, delivery{dispatchID: "d1", body: goodBody})
	send(t, srv, delivery{dispatchID: "d1", secret: testSecret + "x", body: goodBody})
	out := logs.String()
	for _, want := range []string{"webhook processing failed", "db down", "webhook accepted", "redelivery recognised", "missing or wrong secret", "dispatch=d1", "webhook=wh1"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, testSecret) {
		t.Errorf("log contains the secret:\n%s", out)
	}
}

func TestHandlerLogsPanicWithStack(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	rec := &recorder{panicNext: true}
	srv := newServer(t, rec.fn, webhookrecv.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	send(t, srv, delivery{dispatchID: "d1", body: goodBody})
	for _, want := range []string{"level=ERROR", "the handler's function panicked: boom", "handler_test.go"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestZeroHandlerFailsClosed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&webhookrecv.Handler{})
	t.Cleanup(srv.Close)
	for _, secret := range []string{"-", "", "anything"} {
		got := send(t, srv, delivery{secret: secret, dispatchID: "d1", body: goodBody})
		if want := (answer{401, `{"error":"missing or wrong secret"}`}); got != want {
			t.Errorf("secret %q: %+v, want %+v", secret, got, want)
		}
	}
}

func TestNewHandlerErrors(t *testing.T) {
	t.Parallel()
	fn := func(context.Context, *webhookrecv.Delivery) error { return nil }
	tests := []struct {
		name    string
		fn      webhookrecv.Func
		opts    webhookrecv.Options
		want    string
		wantErr error
	}{
		{"nil function", nil, webhookrecv.Options{Secret: testSecret}, "webhookrecv: the handler's function is nil", nil},
		{"no secret", fn, webhookrecv.Options{}, "webhookrecv: Options.Secret: webhookrecv: no secret configured", webhookrecv.ErrNoSecret},
		{"invalid secret", fn, webhookrecv.Options{Secret: "with space"}, "webhookrecv: Options.Secret: webhookrecv: invalid secret: byte 4 is not printable ASCII without spaces", webhookrecv.ErrInvalidSecret},
		{"negative limit", fn, webhookrecv.Options{Secret: testSecret, MaxBodyBytes: -1}, "webhookrecv: Options.MaxBodyBytes is negative (-1)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := webhookrecv.NewHandler(tt.fn, tt.opts)
			if err == nil {
				t.Fatalf("NewHandler = %v, want an error", h)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantErr)
			}
		})
	}
}

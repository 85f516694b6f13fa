package actor_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-apify/actor"
	"github.com/google/go-cmp/cmp"
)

// eventPlatform is a fake platform for restarts: an events websocket at
// /events, the records of key-value store KVS1, reboot and metamorph of run
// RUN123 and its status message. Every connection to /events is handed to
// the test on conns; every record written is sent on puts.
type eventPlatform struct {
	srv   *httptest.Server
	conns chan *websocket.Conn
	puts  chan string // "key=value" of every PUT of a record

	mu        sync.Mutex
	records   map[string]string
	reqs      []recorded
	rebootErr int // when not zero, the status of every reboot
}

func newEventPlatform(t *testing.T) *eventPlatform {
	t.Helper()
	p := &eventPlatform{
		conns:   make(chan *websocket.Conn, 4),
		puts:    make(chan string, 16),
		records: map[string]string{},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *eventPlatform) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/events" {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		// Hold the handler until the client goes or the test closes c.
		ctx := c.CloseRead(context.Background())
		p.conns <- c
		<-ctx.Done()
		return
	}
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.reqs = append(p.reqs, recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: string(body)})
	rebootErr := p.rebootErr
	p.mu.Unlock()
	const records = "/v2/key-value-stores/KVS1/records/"
	run := map[string]any{"data": map[string]any{"id": "RUN123", "status": "RUNNING"}}
	switch {
	case strings.HasPrefix(r.URL.Path, records) && r.Method == http.MethodGet:
		p.mu.Lock()
		v, ok := p.records[strings.TrimPrefix(r.URL.Path, records)]
		p.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"type": "record-not-found", "message": "no record"}})
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, v)
	case strings.HasPrefix(r.URL.Path, records) && r.Method == http.MethodPut:
		key := strings.TrimPrefix(r.URL.Path, records)
		p.mu.Lock()
		p.records[key] = string(body)
		p.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		p.puts <- key + "=" + string(body)
	case r.URL.Path == "/v2/actor-runs/RUN123/reboot" && rebootErr != 0:
		writeJSON(w, rebootErr, map[string]any{"error": map[string]any{"type": "test-failure", "message": "injected"}})
	case r.Method == http.MethodPost && (r.URL.Path == "/v2/actor-runs/RUN123/reboot" || r.URL.Path == "/v2/actor-runs/RUN123/metamorph"),
		r.Method == http.MethodPut && r.URL.Path == "/v2/actor-runs/RUN123":
		writeJSON(w, http.StatusOK, run)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"type": "not-found", "message": "no such endpoint"}})
	}
}

// calls returns "METHOD path" of the API requests received so far.
func (p *eventPlatform) calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.reqs {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// env is run RUN123 on the platform with the events socket, store KVS1 and
// no wait after a restart.
func (p *eventPlatform) env() map[string]string {
	return map[string]string{
		"APIFY_IS_AT_HOME":                   "1",
		"ACTOR_RUN_ID":                       "RUN123",
		"APIFY_TOKEN":                        testToken,
		"APIFY_API_BASE_URL":                 p.srv.URL,
		"ACTOR_EVENTS_WEBSOCKET_URL":         "ws" + strings.TrimPrefix(p.srv.URL, "http") + "/events",
		"ACTOR_DEFAULT_KEY_VALUE_STORE_ID":   "KVS1",
		"APIFY_METAMORPH_AFTER_SLEEP_MILLIS": "0",
	}
}

// waitLimit bounds every wait of these tests, so that a broken SDK fails
// them instead of hanging them.
const waitLimit = 10 * time.Second

// conn waits for the next connection to the events socket.
func (p *eventPlatform) conn(t *testing.T) *websocket.Conn {
	t.Helper()
	select {
	case c := <-p.conns:
		t.Cleanup(func() { c.CloseNow() })
		return c
	case <-time.After(waitLimit):
		t.Fatal("no connection to the events socket")
		return nil
	}
}

// put waits for the next record written.
func (p *eventPlatform) put(t *testing.T) string {
	t.Helper()
	select {
	case v := <-p.puts:
		return v
	case <-time.After(waitLimit):
		t.Fatal("no record written")
		return ""
	}
}

// send writes one event frame.
func send(t *testing.T, c *websocket.Conn, frame string) {
	t.Helper()
	if err := c.Write(t.Context(), websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("writing %s: %v", frame, err)
	}
}

// receive waits for a value on ch.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		var zero T
		t.Fatalf("nothing received on a %T channel", zero)
		return zero
	}
}

// notifyHandler is a slog.Handler that closes seen at the first record
// whose message contains want.
type notifyHandler struct {
	slog.Handler
	want string
	once *sync.Once
	seen chan struct{}
}

func (h notifyHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h notifyHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.want) {
		h.once.Do(func() { close(h.seen) })
	}
	return h.Handler.Handle(ctx, r)
}

func TestEvents_TypedHandlersAndReconnect(t *testing.T) {
	t.Parallel()
	p := newEventPlatform(t)
	a, rec, _ := newActor(p.env())
	infos := make(chan actor.SystemInfo, 4)
	persists := make(chan actor.PersistState, 4)
	aborts := make(chan actor.Aborting, 4)
	a.OnSystemInfo(func(_ context.Context, e actor.SystemInfo) { infos <- e })
	a.OnPersistState(func(_ context.Context, e actor.PersistState) { persists <- e })
	a.OnAborting(func(_ context.Context, e actor.Aborting) { aborts <- e })
	removed := a.OnSystemInfo(func(context.Context, actor.SystemInfo) { t.Error("a removed handler was called") })
	removed()

	if err := a.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	c := p.conn(t)
	send(t, c, `{"name":"systemInfo","createdAt":"2025-01-02T03:04:05.000Z","data":{"memAvgBytes":1,"memCurrentBytes":2,`+
		`"memMaxBytes":3,"cpuAvgUsage":0.25,"cpuMaxUsage":0.5,"cpuCurrentUsage":0.75,"isCpuOverloaded":true,"createdAt":"2025-01-02T03:04:06.000Z"}}`)
	want := actor.SystemInfo{CreatedAt: time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC), MemAvgBytes: 1, MemCurrentBytes: 2, MemMaxBytes: 3,
		CPUAvgUsage: 0.25, CPUMaxUsage: 0.5, CPUCurrentUsage: 0.75, IsCPUOverloaded: true}
	if diff := cmp.Diff(want, receive(t, infos)); diff != "" {
		t.Errorf("systemInfo (-want +got):\n%s", diff)
	}
	// Unknown, deprecated and unreadable events are skipped; the next one
	// still arrives.
	send(t, c, `{"name":"somethingNew","data":{}}`)
	send(t, c, `{"name":"cpuInfo","data":{"isCpuOverloaded":true}}`)
	send(t, c, `not json`)
	send(t, c, `{"name":"persistState","createdAt":"2025-01-02T03:04:07Z","data":{"isMigrating":false}}`)
	if diff := cmp.Diff(actor.PersistState{CreatedAt: time.Date(2025, 1, 2, 3, 4, 7, 0, time.UTC)}, receive(t, persists)); diff != "" {
		t.Errorf("persistState (-want +got):\n%s", diff)
	}

	// A drop reconnects; events on the new connection arrive.
	c.Close(websocket.StatusGoingAway, "worker restart")
	c = p.conn(t)
	send(t, c, `{"name":"aborting","createdAt":"2025-01-02T03:04:08Z"}`)
	if diff := cmp.Diff(actor.Aborting{CreatedAt: time.Date(2025, 1, 2, 3, 4, 8, 0, time.UTC)}, receive(t, aborts)); diff != "" {
		t.Errorf("aborting (-want +got):\n%s", diff)
	}

	// Exit emits a last persistState and waits for it.
	a.Exit(t.Context(), actor.ExitOptions{})
	if got := receive(t, persists); got.IsMigrating || got.CreatedAt.IsZero() {
		t.Errorf("final persistState = %+v, want one with a time, not migrating", got)
	}
	if diff := cmp.Diff([]int{0}, rec.got()); diff != "" {
		t.Errorf("exit codes (-want +got):\n%s", diff)
	}
}

// TestEvents_CloseCodes: the SDK connects again after a drop unless the
// close code says the next attempt would fail the same way.
func TestEvents_CloseCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code          websocket.StatusCode
		wantReconnect bool
	}{
		{websocket.StatusNormalClosure, true},
		{websocket.StatusInternalError, true},
		{websocket.StatusMessageTooBig, true},
		{websocket.StatusProtocolError, false},
		{websocket.StatusUnsupportedData, false},
		{websocket.StatusInvalidFramePayloadData, false},
		{websocket.StatusPolicyViolation, false},
		{websocket.StatusMandatoryExtension, false},
	}
	for _, tc := range tests {
		t.Run(tc.code.String(), func(t *testing.T) {
			t.Parallel()
			p := newEventPlatform(t)
			gaveUp := make(chan struct{})
			logger := slog.New(notifyHandler{Handler: slog.DiscardHandler, want: "not reconnecting", once: &sync.Once{}, seen: gaveUp})
			a, _, _ := newActor(p.env(), actor.WithLogger(logger))
			if err := a.Init(t.Context()); err != nil {
				t.Fatal(err)
			}
			p.conn(t).Close(tc.code, "closed by the test")
			if tc.wantReconnect {
				p.conn(t)
			} else {
				receive(t, gaveUp)
				select {
				case <-p.conns:
					t.Errorf("reconnected after close code %d", tc.code)
				default:
				}
			}
			a.Exit(t.Context(), actor.ExitOptions{})
		})
	}
}

// TestEvents_ReadLimit: a message over the cap closes the connection
// (1009), and the SDK connects again.
func TestEvents_ReadLimit(t *testing.T) {
	t.Parallel()
	p := newEventPlatform(t)
	a, _, _ := newActor(p.env())
	if err := a.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	big := `{"name":"systemInfo","data":{"pad":"` + strings.Repeat("x", 128<<10) + `"}}`
	c := p.conn(t)
	c.Write(t.Context(), websocket.MessageText, []byte(big)) // fails when the client closes first
	p.conn(t)
	a.Exit(t.Context(), actor.ExitOptions{})
}

// TestEvents_InitFailsWithoutSocket: as in the Python SDK, Init fails when
// the first connection cannot be made; the error never shows the URL.
func TestEvents_InitFailsWithoutSocket(t *testing.T) {
	t.Parallel()
	p := newEventPlatform(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct{ name, url string }{
		{"no websocket there", "ws" + strings.TrimPrefix(p.srv.URL, "http") + "/no-socket-here?key=s3cr3t"},
		{"nothing listening", "ws" + strings.TrimPrefix(closed.URL, "http") + "/events?key=s3cr3t"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars := p.env()
			vars["ACTOR_EVENTS_WEBSOCKET_URL"] = tc.url
			a, _, _ := newActor(vars)
			err := a.Init(t.Context())
			if err == nil || !strings.Contains(err.Error(), "ACTOR_EVENTS_WEBSOCKET_URL") {
				t.Errorf("Init error = %v, want one naming ACTOR_EVENTS_WEBSOCKET_URL", err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("Init error %q shows the URL", err)
			}
		})
	}
}

// TestEvents_LegacyURL: APIFY_ACTOR_EVENTS_WS_URL is used when
// ACTOR_EVENTS_WEBSOCKET_URL is not set, and loses to it when both are.
func TestEvents_LegacyURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modern string
	}{
		{"legacy only", ""},
		{"both", "right"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newEventPlatform(t)
			vars := p.env()
			base := "ws" + strings.TrimPrefix(p.srv.URL, "http")
			delete(vars, "ACTOR_EVENTS_WEBSOCKET_URL")
			vars["APIFY_ACTOR_EVENTS_WS_URL"] = base + "/events"
			if tc.modern != "" {
				vars["APIFY_ACTOR_EVENTS_WS_URL"] = base + "/wrong"
				vars["ACTOR_EVENTS_WEBSOCKET_URL"] = base + "/events"
			}
			a, _, _ := newActor(vars)
			if err := a.Init(t.Context()); err != nil {
				t.Fatal(err)
			}
			p.conn(t)
			a.Exit(t.Context(), actor.ExitOptions{})
		})
	}
}

// TestEvents_LocalTimer: off the platform there is no socket, but the SDK
// still emits persistState on its timer.
func TestEvents_LocalTimer(t *testing.T) {
	t.Parallel()
	p := newEventPlatform(t)
	a, _, _ := newActor(map[string]string{
		"APIFY_PERSIST_STATE_INTERVAL_MILLIS": "1",
		"ACTOR_EVENTS_WEBSOCKET_URL":          "ws" + strings.TrimPrefix(p.srv.URL, "http") + "/events",
	})
	persists := make(chan actor.PersistState, 1)
	a.OnPersistState(func(_ context.Context, e actor.PersistState) {
		select {
		case persists <- e:
		default:
		}
	})
	if err := a.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, persists); got.IsMigrating {
		t.Errorf("timer persistState = %+v, want not migrating", got)
	}
	a.Exit(t.Context(), actor.ExitOptions{})
	select {
	case <-p.conns:
		t.Error("connected to the events socket off the platform")
	default:
	}
}

type counter struct {
	Count int `json:"count"`
}

func TestState_LoadedAndSaved(t *testing.T) {
	t.Parallel()
	p := newEventPlatform(t)
	p.records[actor.DefaultStateKey] = `{"count":5}`
	a, rec, _ := newActor(p.env())
	s, err := actor.UseState(t.Context(), a, "", counter{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Get().Count; got != 5 {
		t.Errorf("loaded count = %d, want 5", got)
	}
	again, err := actor.UseState(t.Context(), a, actor.DefaultStateKey, counter{})
	if err != nil || again != s {
		t.Errorf("second UseState = %p, %v; want the same state %p", again, err, s)
	}
	if _, err := actor.UseState(t.Context(), a, "", 0); err == nil {
		t.Error("UseState with another type succeeded, want an error")
	}
	other, err := actor.UseState(t.Context(), a, "OTHER", counter{Count: 9})
	if err != nil {
		t.Fatal(err)
	}

	// The platform's persistState saves both states: one changed, the
	// other was never saved.
	s.Update(func(c *counter) { c.Count++ })
	send(t, p.conn(t), `{"name":"persistState","data":{"isMigrating":false}}`)
	got := []string{p.put(t), p.put(t)}
	slices.Sort(got)
	if diff := cmp.Diff([]string{actor.DefaultStateKey + `={"count":6}`, `OTHER={"count":9}`}, got); diff != "" {
		t.Errorf("saved on persistState (-want +got):\n%s", diff)
	}
	// Exit saves what changed since.
	s.Set(counter{Count: 7})
	a.Exit(t.Context(), actor.ExitOptions{})
	if diff := cmp.Diff(actor.DefaultStateKey+`={"count":7}`, p.put(t)); diff != "" {
		t.Errorf("saved at exit (-want +got):\n%s", diff)
	}
	if other.Get().Count != 9 {
		t.Errorf("OTHER = %+v", other.Get())
	}
	select {
	case v := <-p.puts:
		t.Errorf("an unchanged state was saved again: %s", v)
	default:
	}
	if diff := cmp.Diff([]int{0}, rec.got()); diff != "" {
		t.Errorf("exit codes (-want +got):\n%s", diff)
	}
}

func TestState_Errors(t *testing.T) {
	t.Parallel()
	p := newEventPlatform(t)
	p.records["BROKEN"] = `{"count":"five"}`
	vars := p.env()
	delete(vars, "ACTOR_EVENTS_WEBSOCKET_URL")
	a, _, _ := newActor(vars)
	if _, err := actor.UseState(t.Context(), a, "BROKEN", counter{}); err == nil || !strings.Contains(err.Error(), "BROKEN") {
		t.Errorf("UseState of a record of another shape: error = %v, want one naming the record", err)
	}
	if _, err := actor.UseState(t.Context(), a, "bad/key", counter{}); err == nil || !strings.Contains(err.Error(), "bad/key") {
		t.Errorf("UseState with a bad key: error = %v, want one naming the key", err)
	}
	a.Exit(t.Context(), actor.ExitOptions{})
}

// TestState_InMemory: without a platform the state is kept in memory and
// nothing is sent.
func TestState_InMemory(t *testing.T) {
	t.Parallel()
	p := newEventPlatform(t)
	vars := p.env()
	delete(vars, "ACTOR_DEFAULT_KEY_VALUE_STORE_ID")
	delete(vars, "ACTOR_EVENTS_WEBSOCKET_URL")
	a, _, _ := newActor(vars)
	s, err := actor.UseState(t.Context(), a, "", counter{Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	s.Update(func(c *counter) { c.Count *= 2 })
	if err := s.Save(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := s.Get().Count; got != 6 {
		t.Errorf("count = %d, want 6", got)
	}
	a.Exit(t.Context(), actor.ExitOptions{})
	for _, c := range p.calls() {
		if strings.Contains(c, "/key-value-stores/") {
			t.Errorf("a state in memory called %s", c)
		}
	}
}

// TestState_LocalFiles: off the platform the state is a record of the local
// default key-value store, where the JS SDK keeps it, and a later process
// on the same storage (not purged) starts from it.
func TestState_LocalFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{"APIFY_LOCAL_STORAGE_DIR": dir}
	a, _, _ := newActor(vars)
	s, err := actor.UseState(t.Context(), a, "", counter{Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	s.Update(func(c *counter) { c.Count++ })
	a.Exit(t.Context(), actor.ExitOptions{}) // saves the state
	b, err := os.ReadFile(filepath.Join(dir, "key_value_stores", "default", actor.DefaultStateKey+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var stored counter
	if err := json.Unmarshal(b, &stored); err != nil || stored.Count != 4 {
		t.Errorf("the record holds %s (%v), want a count of 4", b, err)
	}

	vars["CRAWLEE_PURGE_ON_START"] = "0"
	again, _, _ := newActor(vars)
	s2, err := actor.UseState(t.Context(), again, "", counter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.Get().Count; got != 4 {
		t.Errorf("the next process starts from %d, want 4", got)
	}
	again.Exit(t.Context(), actor.ExitOptions{})
}

// TestMain_Migrating: a migration cancels the function's context with
// ErrMigrating, saves the state, asks for a reboot to hasten the restart,
// sets no final status message, and never exits 0 whatever the function
// does.
func TestMain_Migrating(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		end      func(ctx context.Context, a *actor.Actor) error
		wantCode int
	}{
		{"returns nil", func(context.Context, *actor.Actor) error { return nil }, 1},
		{"returns the context's error", func(ctx context.Context, _ *actor.Actor) error { return ctx.Err() }, 1},
		{"exits 0 itself", func(ctx context.Context, a *actor.Actor) error {
			a.Exit(ctx, actor.ExitOptions{ExitCode: 0})
			return nil
		}, 1},
		{"fails with its own code", func(ctx context.Context, a *actor.Actor) error {
			a.Exit(ctx, actor.ExitOptions{ExitCode: 7})
			return nil
		}, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newEventPlatform(t)
			a, rec, _ := newActor(p.env())
			started := make(chan struct{})
			causes := make(chan error, 1)
			migratingPersist := make(chan struct{})
			var once sync.Once
			a.OnPersistState(func(_ context.Context, e actor.PersistState) {
				if e.IsMigrating {
					once.Do(func() { close(migratingPersist) })
				}
			})
			mainDone := make(chan struct{})
			go func() {
				defer close(mainDone)
				a.Main(func(ctx context.Context) error {
					s, err := actor.UseState(ctx, a, "", counter{})
					if err != nil {
						return err
					}
					close(started)
					<-ctx.Done()
					causes <- context.Cause(ctx)
					s.Update(func(c *counter) { c.Count = 42 })
					return tc.end(ctx, a)
				})
			}()
			receive(t, started)
			send(t, p.conn(t), `{"name":"migrating","data":{"timeRemainingSecs":30}}`)
			receive(t, mainDone)
			receive(t, migratingPersist) // the SDK's persistState with isMigrating
			if err := receive(t, causes); !errors.Is(err, actor.ErrMigrating) {
				t.Errorf("cause = %v, want ErrMigrating", err)
			}
			if diff := cmp.Diff([]int{tc.wantCode}, rec.got()); diff != "" {
				t.Errorf("exit codes (-want +got):\n%s", diff)
			}
			var saved []string
			for len(p.puts) > 0 {
				saved = append(saved, <-p.puts)
			}
			if len(saved) == 0 || saved[len(saved)-1] != actor.DefaultStateKey+`={"count":42}` {
				t.Errorf("saved %q, want the state with count 42 last", saved)
			}
			calls := p.calls()
			if !contains(calls, "POST /v2/actor-runs/RUN123/reboot") {
				t.Errorf("calls %q: no reboot to hasten the migration", calls)
			}
			if contains(calls, "PUT /v2/actor-runs/RUN123") {
				t.Errorf("calls %q: a final status message was set on a run that goes on", calls)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestEvents_ExitFromHandler: a handler that ends the run does not wait for
// itself.
func TestEvents_ExitFromHandler(t *testing.T) {
	t.Parallel()
	p := newEventPlatform(t)
	a, rec, _ := newActor(p.env())
	exited := make(chan struct{})
	a.OnAborting(func(ctx context.Context, _ actor.Aborting) {
		a.Exit(ctx, actor.ExitOptions{ExitCode: 3})
		close(exited)
	})
	a.OnPersistState(func(ctx context.Context, _ actor.PersistState) {
		a.Exit(ctx, actor.ExitOptions{ExitCode: 4}) // the second Exit returns at once
	})
	if err := a.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	send(t, p.conn(t), `{"name":"aborting"}`)
	receive(t, exited)
	if diff := cmp.Diff([]int{3}, rec.got()); diff != "" {
		t.Errorf("exit codes (-want +got):\n%s", diff)
	}
}

// TestEvents_ProcessEnvironment: an Actor made without WithEnviron or
// WithLookupEnv reads the events URL from the process environment (a nil
// lookup once crashed Init on the platform). Not parallel: it sets the
// process environment.
func TestEvents_ProcessEnvironment(t *testing.T) {
	p := newEventPlatform(t)
	for name, value := range p.env() {
		t.Setenv(name, value)
	}
	a := actor.New(actor.WithExitFunc(func(int) {}))
	if err := a.Init(t.Context()); err != nil {
		t.Fatalf("Init: %v", err)
	}
	p.conn(t) // the socket from the process environment's URL
}

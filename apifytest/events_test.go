package apifytest_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// frame is one event as the events websocket sends it.
type frame struct {
	Name      string          `json:"name"`
	CreatedAt string          `json:"createdAt"`
	Data      json.RawMessage `json:"data"`
}

// envOf returns the value of name in a run's environment.
func envOf(env []string, name string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	return ""
}

// dialEvents connects to run runID's events websocket, as an SDK does.
func dialEvents(t *testing.T, srv *apifytest.Server, runID string) *websocket.Conn {
	t.Helper()
	return dialURL(t, envOf(srv.Env(runID), "ACTOR_EVENTS_WEBSOCKET_URL"))
}

func dialURL(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.Dial(ctxFor(t), url, nil)
	if err != nil {
		t.Fatalf("dial the events websocket: %v", err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	return conn
}

// readFrame reads the next event, or returns the error that ended the
// connection.
func readFrame(ctx context.Context, conn *websocket.Conn) (frame, error) {
	typ, b, err := conn.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	var f frame
	if typ != websocket.MessageText {
		return f, errors.New("not a text frame")
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, err
	}
	return f, nil
}

// nextEvent reads events until one named name, skipping the others
// (systemInfo).
func nextEvent(t *testing.T, conn *websocket.Conn, name string) frame {
	t.Helper()
	for {
		f, err := readFrame(ctxFor(t), conn)
		if err != nil {
			t.Fatalf("waiting for %s: %v", name, err)
		}
		if f.Name == name {
			return f
		}
	}
}

// closeCode reads until the connection closes and returns its close
// status, skipping events.
func closeCode(t *testing.T, conn *websocket.Conn) (websocket.StatusCode, []string) {
	t.Helper()
	var names []string
	for {
		f, err := readFrame(ctxFor(t), conn)
		if err != nil {
			code := websocket.CloseStatus(err)
			if code == -1 {
				t.Fatalf("the connection ended without a close frame: %v", err)
			}
			return code, names
		}
		if f.Name != "systemInfo" {
			names = append(names, f.Name)
		}
	}
}

func TestEventsEnvironment(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	run, err := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env := srv.Env(run.ID)
	url := envOf(env, "ACTOR_EVENTS_WEBSOCKET_URL")
	if url == "" || url != envOf(env, "APIFY_ACTOR_EVENTS_WS_URL") {
		t.Fatalf("ACTOR_EVENTS_WEBSOCKET_URL = %q, APIFY_ACTOR_EVENTS_WS_URL = %q", url, envOf(env, "APIFY_ACTOR_EVENTS_WS_URL"))
	}
	wantPrefix := "ws" + strings.TrimPrefix(srv.URL, "http") + "/_apifytest/runs/" + run.ID + "/events?key="
	if !strings.HasPrefix(url, wantPrefix) || strings.Contains(url, srv.Token) {
		t.Errorf("events URL %q: want %q and a key of its own, not the token", url, wantPrefix)
	}
	var got map[string]string
	call(t, srv, srv.Token, "GET", "/_apifytest/runs/"+run.ID+"/env", nil).data(t, &got)
	if got["ACTOR_EVENTS_WEBSOCKET_URL"] != url || got["ACTOR_RUN_ID"] != run.ID {
		t.Errorf("GET env = %v", got)
	}
	if resp := call(t, srv, "", "GET", "/_apifytest/runs/"+run.ID+"/env", nil); resp.status != 401 {
		t.Errorf("GET env without a token: %d", resp.status)
	}
}

// TestEventsRefused covers the connections the platform closes with 1008:
// a wrong key, an unknown run, a finished run, and one over the limit.
func TestEventsRefused(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithSystemInfoInterval(5*time.Millisecond))
	run, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	done, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	url := envOf(srv.Env(run.ID), "ACTOR_EVENTS_WEBSOCKET_URL")
	doneURL := envOf(srv.Env(done.ID), "ACTOR_EVENTS_WEBSOCKET_URL")
	if _, err := srv.FinishRun(done.ID, client.StatusSucceeded, 0); err != nil {
		t.Fatal(err)
	}
	base, _, _ := strings.Cut(url, "?")
	for name, u := range map[string]string{
		"wrong key":    base + "?key=guess",
		"no key":       base,
		"unknown run":  strings.Replace(url, run.ID, "nosuchrun", 1),
		"finished run": doneURL,
	} {
		if code, _ := closeCode(t, dialURL(t, u)); code != websocket.StatusPolicyViolation {
			t.Errorf("%s: closed with %v, want 1008", name, code)
		}
	}

	// Each of the first ten gets events: it has been counted.
	for range apifytest.MaxEventConnections {
		nextEvent(t, dialURL(t, url), "systemInfo")
	}
	if code, _ := closeCode(t, dialURL(t, url)); code != websocket.StatusPolicyViolation {
		t.Errorf("connection %d: closed with %v, want 1008", apifytest.MaxEventConnections+1, code)
	}
}

// TestSystemInfo checks that a run whose function runs gets systemInfo
// events with the figures of the process it runs in, in every field the
// SDKs read.
func TestSystemInfo(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithSystemInfoInterval(5*time.Millisecond))
	started := make(chan string, 1)
	srv.RegisterActor("a~waits", func(ctx context.Context, env []string, _ []byte) error {
		started <- envOf(env, "ACTOR_EVENTS_WEBSOCKET_URL")
		<-ctx.Done()
		return ctx.Err()
	})
	run, _ := srv.StartRun(ctxFor(t), "a~waits", nil, client.StartOptions{})
	conn := dialURL(t, <-started)
	f := nextEvent(t, conn, "systemInfo")
	var data map[string]any
	if err := json.Unmarshal(f.Data, &data); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"memAvgBytes", "memCurrentBytes", "memMaxBytes", "cpuAvgUsage", "cpuMaxUsage", "cpuCurrentUsage", "isCpuOverloaded", "createdAt"} {
		if _, ok := data[k]; !ok {
			t.Errorf("systemInfo lacks %s: %s", k, f.Data)
		}
	}
	if _, err := time.Parse(time.RFC3339, f.CreatedAt); err != nil {
		t.Errorf("createdAt %q: %v", f.CreatedAt, err)
	}
	if mem, _ := data["memCurrentBytes"].(float64); mem < 1<<20 {
		t.Errorf("memCurrentBytes = %v, want this process's resident memory", data["memCurrentBytes"])
	}
	if got, _ := srv.Run(run.ID); got.Stats.MemMaxBytes < 1<<20 {
		t.Errorf("run stats = %+v, want the memory measured", got.Stats)
	}
	if _, err := srv.AbortRun(run.ID); err != nil {
		t.Fatal(err)
	}
	if code, _ := closeCode(t, conn); code != websocket.StatusNormalClosure {
		t.Errorf("closed with %v at the run's end, want 1000", code)
	}
}

// TestGracefulAbortSendsAborting checks that a graceful abort sends
// aborting before the run's function is stopped: either the function
// exits on its own after the event, or the abort timeout stops it.
func TestGracefulAbortSendsAborting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		timeout     time.Duration
		exitsItself bool
	}{
		{"exits on aborting", time.Minute, true},
		{"stopped after the timeout", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := apifytest.NewTestServer(t, apifytest.WithGracefulAbortTimeout(tt.timeout))
			started := make(chan string, 1)
			heard := make(chan struct{})
			cancelled := make(chan error, 1)
			srv.RegisterActor("a~b", func(ctx context.Context, env []string, _ []byte) error {
				started <- envOf(env, "ACTOR_EVENTS_WEBSOCKET_URL")
				select {
				case <-heard:
					return nil
				case <-ctx.Done():
					cancelled <- context.Cause(ctx)
					return ctx.Err()
				}
			})
			run, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
			conn := dialURL(t, <-started)
			nextEvent(t, conn, "systemInfo") // counted among the connections
			var aborting client.Run
			call(t, srv, srv.Token, "POST", "/v2/actor-runs/"+run.ID+"/abort?gracefully=true", nil).data(t, &aborting)
			if aborting.Status != client.StatusAborting {
				t.Errorf("status after a graceful abort %s, want ABORTING", aborting.Status)
			}
			f := nextEvent(t, conn, "aborting")
			if string(f.Data) != "{}" {
				t.Errorf("aborting data %s, want {}", f.Data)
			}
			if tt.exitsItself {
				close(heard)
			}
			end, err := srv.WaitRun(ctxFor(t), run.ID)
			if err != nil || end.Status != client.StatusAborted {
				t.Fatalf("WaitRun = %+v, %v", end, err)
			}
			select {
			case cause := <-cancelled:
				if tt.exitsItself || !errors.Is(cause, context.Canceled) {
					t.Errorf("the function's context was cancelled (%v)", cause)
				}
			default:
				if !tt.exitsItself {
					t.Error("the function's context was not cancelled")
				}
			}
			if code, names := closeCode(t, conn); code != websocket.StatusNormalClosure || len(names) != 0 {
				t.Errorf("then %v and closed with %v, want 1000", names, code)
			}
		})
	}
}

package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-apify/actor/client"
)

// serving is an apify-local serve running in process.
type serving struct {
	env    map[string]string
	client *client.Client
	stop   func() int
}

// startServe runs apify-local serve with args until the test ends.
func startServe(t *testing.T, args ...string) serving {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, append([]string{"serve"}, args...), nil, pw, io.Discard)
		pw.Close()
	}()
	env := map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(env) < 4 && sc.Scan() {
		name, value, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if !ok {
			t.Fatalf("serve printed %q", sc.Text())
		}
		env[name] = value
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	c, err := client.New(client.WithBaseURL(env["APIFY_API_BASE_URL"]), client.WithToken(env["APIFY_TOKEN"]),
		client.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatalf("serve printed %v: %v", env, err)
	}
	stopped := false
	var code int
	stop := func() int {
		if !stopped {
			cancel()
			code, stopped = <-done, true
		}
		return code
	}
	t.Cleanup(func() { stop() })
	return serving{env: env, client: c, stop: stop}
}

// control POSTs to a control endpoint and returns the status.
func (s serving) control(t *testing.T, path, body string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", s.env["APIFY_API_BASE_URL"]+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.env["APIFY_TOKEN"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestServeControlEndpoints(t *testing.T) {
	t.Parallel()
	s := startServe(t, "--finish-after", "0", "--token", "tok", "--user-id", "UserX")
	if s.env["APIFY_TOKEN"] != "tok" || s.env["APIFY_USER_ID"] != "UserX" || !strings.HasPrefix(s.env["APIFY_API_BASE_URL"], "http://127.0.0.1:") {
		t.Fatalf("env = %v", s.env)
	}
	rc := newReceiver(t)
	ctx := t.Context()
	run, err := s.client.StartActor(ctx, "someone~anything", map[string]int{"a": 1}, client.StartOptions{
		Webhooks: []client.WebhookDefinition{{EventTypes: []client.EventType{client.EventActorRunFailed}, RequestURL: rc.URL}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// With --finish-after 0 the run waits to be told.
	got, err := s.client.GetRun(ctx, run.ID)
	if err != nil || got.Status != client.StatusRunning {
		t.Fatalf("run = %+v, %v", got, err)
	}
	if code := s.control(t, "/_apifytest/runs/"+run.ID+"/finish", `{"status":"FAILED","exitCode":5}`); code != 200 {
		t.Fatalf("finish: %d", code)
	}
	if code := s.control(t, "/_apifytest/wait-idle?timeout=10", ""); code != 200 {
		t.Fatalf("wait-idle: %d", code)
	}
	hooks := rc.hooks()
	if len(hooks) != 1 || hooks[0].body["eventType"] != "ACTOR.RUN.FAILED" {
		t.Fatalf("hooks = %+v", hooks)
	}
	if res := hooks[0].body["resource"].(map[string]any); res["exitCode"] != 5.0 || res["status"] != "FAILED" {
		t.Errorf("resource = %v", res)
	}
	run2, _ := s.client.StartActor(ctx, "someone~anything", nil, client.StartOptions{})
	if code := s.control(t, "/_apifytest/runs/"+run2.ID+"/abort", ""); code != 200 {
		t.Errorf("abort: %d", code)
	}
	if got, _ := s.client.GetRun(ctx, run2.ID); got.Status != client.StatusAborted {
		t.Errorf("aborted run is %s", got.Status)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("serve exited with %d", code)
	}
}

func TestServeFinishesRunsByItself(t *testing.T) {
	t.Parallel()
	s := startServe(t, "--finish-after", "50ms", "--finish-status", "timed-out")
	run, err := s.client.StartActor(t.Context(), "a~b", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	end, err := s.client.WaitForRun(t.Context(), run.ID)
	if err != nil || end.Status != client.StatusTimedOut {
		t.Errorf("run = %+v, %v; want TIMED-OUT", end, err)
	}
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://127.0.0.1:80": "http://127.0.0.1:80",
		"a b":                 "'a b'",
		"it's":                `'it'\''s'`,
		"":                    "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestServeRetention checks that serve forgets finished runs past
// --retain-runs, and refuses a retention it cannot keep.
func TestServeRetention(t *testing.T) {
	t.Parallel()
	s := startServe(t, "--retain-runs", "1", "--finish-after", "0")
	ctx := t.Context()
	var ids []string
	for range 2 {
		run, err := s.client.StartActor(ctx, "janedoe~kept", nil, client.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
		if code := s.control(t, "/_apifytest/runs/"+run.ID+"/finish", ""); code != http.StatusOK {
			t.Fatalf("finish: %d", code)
		}
		if code := s.control(t, "/_apifytest/wait-idle?timeout=10", ""); code != http.StatusOK {
			t.Fatalf("wait-idle: %d", code)
		}
	}
	if _, err := s.client.GetRun(ctx, ids[1]); err != nil {
		t.Errorf("the newest run: %v", err)
	}
	if _, err := s.client.GetRun(ctx, ids[0]); !client.IsNotFound(err) {
		t.Errorf("the oldest run past --retain-runs 1: got %v, want a 404", err)
	}

	var stderr strings.Builder
	if code := runMain(ctx, []string{"serve", "--retain-runs", "0"}, nil, io.Discard, &stderr); code != 2 {
		t.Errorf("--retain-runs 0: exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "--retain-runs must be at least 1") {
		t.Errorf("--retain-runs 0: stderr %q does not say what is wrong", stderr.String())
	}
}

// TestServeMigrate migrates and reboots a run: it has no process here, so
// each restart counts at once and the run stays RUNNING.
func TestServeMigrate(t *testing.T) {
	t.Parallel()
	s := startServe(t, "--finish-after", "0")
	run, err := s.client.StartActor(t.Context(), "a~b", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if code := s.control(t, "/_apifytest/runs/"+run.ID+"/migrate", ""); code != 200 {
		t.Fatalf("migrate: %d", code)
	}
	got, err := s.client.GetRun(t.Context(), run.ID)
	if err != nil || got.Status != client.StatusRunning || got.Stats.RestartCount != 1 || got.Stats.MigrationCount != 1 {
		t.Errorf("run after the migration = %+v, %v", got, err)
	}
	if code := s.control(t, "/v2/actor-runs/"+run.ID+"/reboot", ""); code != 200 {
		t.Fatalf("reboot: %d", code)
	}
	if got, _ := s.client.GetRun(t.Context(), run.ID); got.Stats.RestartCount != 2 || got.Stats.RebootCount != 1 {
		t.Errorf("run after the reboot = %+v", got.Stats)
	}
}

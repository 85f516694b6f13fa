package actor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/client"
	"github.com/google/go-cmp/cmp"
)

// statusUpdate is the body of PUT /v2/actor-runs/{id}.
type statusUpdate struct {
	Path                    string
	StatusMessage           string `json:"statusMessage"`
	IsStatusMessageTerminal bool   `json:"isStatusMessageTerminal"`
}

// statusUpdates returns the status messages the platform received.
func (p *platform) statusUpdates(t *testing.T) []statusUpdate {
	t.Helper()
	var out []statusUpdate
	for _, r := range p.requests() {
		if r.Method != "PUT" {
			continue
		}
		var u statusUpdate
		if err := json.Unmarshal([]byte(r.Body), &u); err != nil {
			t.Fatalf("status update body: %v", err)
		}
		u.Path = r.Path
		out = append(out, u)
	}
	return out
}

func TestMain_ExitCodesAndStatusMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fn       func(ctx context.Context) error
		wantCode int
		wantMsg  string
	}{
		{"success", func(context.Context) error { return nil }, 0, "Actor finished with exit code 0"},
		{"error", func(context.Context) error { return errors.New("the input has no URL") }, 1, "the input has no URL"},
		{"panic", func(context.Context) error { panic("index out of range") }, actor.ExitCodePanic, "Actor panicked: index out of range"},
		{"panic with error", func(context.Context) error { panic(errors.New("boom")) }, actor.ExitCodePanic, "Actor panicked: boom"},
		{"nil function", nil, 1, "actor: Main: nil function"},
		{"exit inside", func(ctx context.Context) error {
			// Main's own Exit afterwards must be a no-op.
			actorFrom(ctx).Exit(ctx, actor.ExitOptions{ExitCode: 3, StatusMessage: "stopped early"})
			return nil
		}, 3, "stopped early"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPlatform(t)
			a, rec, _ := newActor(p.atHome())
			fn := tc.fn
			if fn != nil {
				fn = func(ctx context.Context) error { return tc.fn(withActor(ctx, a)) }
			}
			a.Main(fn)

			if diff := cmp.Diff([]int{tc.wantCode}, rec.got()); diff != "" {
				t.Errorf("exit codes (-want +got):\n%s", diff)
			}
			want := []statusUpdate{{Path: "/v2/actor-runs/RUN123", StatusMessage: tc.wantMsg, IsStatusMessageTerminal: true}}
			if diff := cmp.Diff(want, p.statusUpdates(t)); diff != "" {
				t.Errorf("status updates (-want +got):\n%s", diff)
			}
		})
	}
}

type actorKey struct{}

func withActor(ctx context.Context, a *actor.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

func actorFrom(ctx context.Context) *actor.Actor { return ctx.Value(actorKey{}).(*actor.Actor) }

func TestMain_OffPlatform(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	vars := p.atHome()
	delete(vars, "APIFY_IS_AT_HOME")
	a, rec, logs := newActor(vars)
	a.Main(func(context.Context) error { return errors.New("no input") })

	if diff := cmp.Diff([]int{1}, rec.got()); diff != "" {
		t.Errorf("exit codes (-want +got):\n%s", diff)
	}
	p.checkNothingSent(t)
	if l := logs.String(); !strings.Contains(l, "no input") {
		t.Errorf("log does not show the error:\n%s", l)
	}
}

func TestExitReusesLastStatusMessage(t *testing.T) {
	t.Parallel()
	for _, atHome := range []bool{true, false} {
		t.Run(fmt.Sprint("atHome=", atHome), func(t *testing.T) {
			t.Parallel()
			p := newPlatform(t)
			vars := p.atHome()
			if !atHome {
				delete(vars, "APIFY_IS_AT_HOME")
			}
			a, rec, logs := newActor(vars)
			ctx := t.Context()
			if err := a.SetStatusMessage(ctx, "Crawled 10 of 10 pages"); err != nil {
				t.Fatal(err)
			}
			a.Exit(ctx, actor.ExitOptions{})
			a.Exit(ctx, actor.ExitOptions{ExitCode: 5, StatusMessage: "ignored: second Exit"})

			if diff := cmp.Diff([]int{0}, rec.got()); diff != "" {
				t.Errorf("exit codes (-want +got):\n%s", diff)
			}
			var want []statusUpdate
			if atHome {
				want = []statusUpdate{
					{Path: "/v2/actor-runs/RUN123", StatusMessage: "Crawled 10 of 10 pages"},
					{Path: "/v2/actor-runs/RUN123", StatusMessage: "Crawled 10 of 10 pages", IsStatusMessageTerminal: true},
				}
			}
			if diff := cmp.Diff(want, p.statusUpdates(t)); diff != "" {
				t.Errorf("status updates (-want +got):\n%s", diff)
			}
			if l := logs.String(); !strings.Contains(l, `msg="Exiting Actor" exitCode=0 statusMessage="Crawled 10 of 10 pages"`) {
				t.Errorf("the exit log line does not show the last status message:\n%s", l)
			}
		})
	}
}

func TestSetStatusMessage(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	a, _, _ := newActor(p.atHome())
	if err := a.SetTerminalStatusMessage(t.Context(), "Done: 3 items"); err != nil {
		t.Fatal(err)
	}
	r := p.requests()
	if len(r) != 1 || r[0].Authorization != "Bearer "+testToken {
		t.Fatalf("requests %+v, want one with the bearer token", r)
	}
	want := []statusUpdate{{Path: "/v2/actor-runs/RUN123", StatusMessage: "Done: 3 items", IsStatusMessageTerminal: true}}
	if diff := cmp.Diff(want, p.statusUpdates(t)); diff != "" {
		t.Errorf("status updates (-want +got):\n%s", diff)
	}

	t.Run("without run ID", func(t *testing.T) {
		t.Parallel()
		p := newPlatform(t)
		vars := p.atHome()
		delete(vars, "ACTOR_RUN_ID")
		a, _, _ := newActor(vars)
		if err := a.SetStatusMessage(t.Context(), "x"); !errors.Is(err, actor.ErrNoRunID) {
			t.Errorf("err = %v, want ErrNoRunID", err)
		}
		p.checkNothingSent(t)
	})
	t.Run("platform error", func(t *testing.T) {
		t.Parallel()
		p := newPlatform(t)
		p.fail = 400
		a, _, _ := newActor(p.atHome())
		err := a.SetStatusMessage(t.Context(), "x")
		if err == nil || strings.Contains(err.Error(), testToken) {
			t.Errorf("err = %v, want an error without the token", err)
		}
	})
}

func TestExitWaitsForPendingRequests(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	p.hold = make(chan struct{})
	a, rec, _ := newActor(p.atHome())
	ctx := t.Context()

	added := make(chan error, 1)
	go func() {
		_, err := a.AddWebhook(ctx, failedWebhook)
		added <- err
	}()
	waitFor(t, func() bool { return len(p.requests()) == 1 })

	exited := make(chan struct{})
	go func() {
		a.Exit(ctx, actor.ExitOptions{})
		close(exited)
	}()
	select {
	case <-exited:
		t.Fatal("Exit returned while a request was pending")
	case <-time.After(100 * time.Millisecond):
	}
	if got := rec.got(); len(got) != 0 {
		t.Fatalf("exited with %v while a request was pending", got)
	}
	close(p.hold)
	if err := <-added; err != nil {
		t.Fatal(err)
	}
	<-exited
	if diff := cmp.Diff([]int{0}, rec.got()); diff != "" {
		t.Errorf("exit codes (-want +got):\n%s", diff)
	}
}

func TestExitWaitIsBounded(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	p.hold = make(chan struct{})
	defer close(p.hold)
	a, rec, logs := newActor(p.atHome())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	go a.AddWebhook(ctx, failedWebhook)
	waitFor(t, func() bool { return len(p.requests()) == 1 })

	start := time.Now()
	a.Exit(t.Context(), actor.ExitOptions{ExitCode: 2, Timeout: 200 * time.Millisecond})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Exit took %v with a 200ms timeout", d)
	}
	if diff := cmp.Diff([]int{2}, rec.got()); diff != "" {
		t.Errorf("exit codes (-want +got):\n%s", diff)
	}
	if l := logs.String(); !strings.Contains(l, "pending=1") {
		t.Errorf("log does not report the pending request:\n%s", l)
	}
}

func TestInitTwiceWarns(t *testing.T) {
	t.Parallel()
	a, _, logs := newActor(map[string]string{"ACTOR_RUN_ID": "RUN123"})
	for range 2 {
		if err := a.Init(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	l := logs.String()
	if strings.Count(l, "Actor initialized") != 1 || strings.Count(l, "level=WARN") != 1 || !strings.Contains(l, "more than once") {
		t.Errorf("want one init line and one warning; log:\n%s", l)
	}
	if strings.Contains(l, testToken) {
		t.Errorf("log reveals the token:\n%s", l)
	}
}

func TestInitBadBaseURL(t *testing.T) {
	t.Parallel()
	a, rec, _ := newActor(map[string]string{"APIFY_API_BASE_URL": "::not a url", "APIFY_TOKEN": testToken})
	err := a.Init(t.Context())
	if err == nil || strings.Contains(err.Error(), testToken) {
		t.Fatalf("Init = %v, want an error without the token", err)
	}
	a.Main(func(context.Context) error { t.Error("Main ran the function after a failed Init"); return nil })
	if diff := cmp.Diff([]int{1}, rec.got()); diff != "" {
		t.Errorf("exit codes (-want +got):\n%s", diff)
	}
}

func TestMain_SignalCancelsContext(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("cannot send os.Interrupt to the own process on Windows")
	}
	p := newPlatform(t)
	a, rec, _ := newActor(p.atHome(), actor.WithSignals(os.Interrupt))
	a.Main(func(ctx context.Context) error {
		self, err := os.FindProcess(os.Getpid())
		if err != nil {
			return err
		}
		if err := self.Signal(os.Interrupt); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return errors.New("the signal did not cancel the context")
		}
	})
	if diff := cmp.Diff([]int{1}, rec.got()); diff != "" {
		t.Errorf("exit codes (-want +got):\n%s", diff)
	}
	want := []statusUpdate{{Path: "/v2/actor-runs/RUN123", StatusMessage: "received signal interrupt: context canceled", IsStatusMessageTerminal: true}}
	if diff := cmp.Diff(want, p.statusUpdates(t)); diff != "" {
		t.Errorf("status updates (-want +got):\n%s", diff)
	}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWithClient(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, err := client.New(client.WithBaseURL(p.srv.URL), client.WithToken("other-token"))
	if err != nil {
		t.Fatal(err)
	}
	vars := p.atHome()
	vars["APIFY_API_BASE_URL"] = "http://127.0.0.1:1" // not used: the given client wins
	a, _, _ := newActor(vars, actor.WithClient(c))
	if _, err := a.AddWebhook(t.Context(), failedWebhook); err != nil {
		t.Fatal(err)
	}
	if r := p.requests(); len(r) != 1 || r[0].Authorization != "Bearer other-token" {
		t.Errorf("requests %+v, want one through the given client", r)
	}
}

// TestActorNeverPrintsToken: printing or logging an Actor shows its
// environment with the token redacted.
func TestActorNeverPrintsToken(t *testing.T) {
	t.Parallel()
	a, _, _ := newActor(map[string]string{"ACTOR_RUN_ID": "RUN123", "APIFY_TOKEN": testToken})
	if err := a.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		outs = append(outs, fmt.Sprintf(verb, a), fmt.Sprintf(verb, []any{a}))
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("m", "actor", a)
	outs = append(outs, logged.String())
	for _, out := range outs {
		if strings.Contains(out, testToken) || strings.Contains(out, fmt.Sprintf("%x", testToken)) {
			t.Errorf("output reveals the token: %s", out)
		}
	}
	if s := fmt.Sprint(a); !strings.HasPrefix(s, "actor.Actor{Environment{") || !strings.Contains(s, `RunID:"RUN123"`) {
		t.Errorf("Sprint = %s, want the Actor's environment", s)
	}
}

func TestNewIgnoresNilOption(t *testing.T) {
	t.Parallel()
	a := actor.New(nil, actor.WithLookupEnv(env(map[string]string{"ACTOR_RUN_ID": "RUN123"})), nil)
	if got := a.Env().RunID; got != "RUN123" {
		t.Errorf("Env().RunID = %q, want RUN123", got)
	}
}

// TestZeroActor: the zero Actor works like the default one: it reads the
// process environment and prints without a token.
func TestZeroActor(t *testing.T) {
	t.Parallel()
	var a actor.Actor
	want := actor.New().Env()
	if diff := cmp.Diff(want, a.Env()); diff != "" {
		t.Errorf("Env() of the zero Actor (-want +got):\n%s", diff)
	}
	if got := a.IsAtHome(); got != want.IsAtHome {
		t.Errorf("IsAtHome() = %t, want %t", got, want.IsAtHome)
	}
	if s := fmt.Sprint(&a); !strings.HasPrefix(s, "actor.Actor{Environment{") {
		t.Errorf("Sprint = %s, want the Actor's environment", s)
	}
	var nilActor *actor.Actor
	if s := fmt.Sprint(nilActor); s != "<nil>" {
		t.Errorf("Sprint(nil) = %s", s)
	}
}

package actor_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/client"
	"github.com/google/go-cmp/cmp"
)

// TestReboot_RunsHandlersAndGuardsReentry: Reboot runs the persistState and
// migrating handlers itself before asking the platform; a Reboot from the
// migrating handler returns ErrRestartInProgress instead of looping; the
// platform is asked once, and Exit never exits 0 afterwards.
func TestReboot_RunsHandlersAndGuardsReentry(t *testing.T) {
	t.Parallel()
	p := newEventPlatform(t)
	vars := p.env()
	delete(vars, "ACTOR_EVENTS_WEBSOCKET_URL")
	a, rec, _ := newActor(vars)
	var (
		mu       sync.Mutex
		got      []string
		innerErr error
	)
	a.OnPersistState(func(_ context.Context, e actor.PersistState) {
		mu.Lock()
		defer mu.Unlock()
		if e.IsMigrating {
			got = append(got, "persistState migrating")
		}
	})
	a.OnMigrating(func(ctx context.Context, _ actor.Migrating) {
		err := a.Reboot(ctx)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, "migrating")
		innerErr = err
	})
	s, err := actor.UseState(t.Context(), a, "", counter{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.Set(counter{Count: 2})

	err = a.Reboot(t.Context())
	if !errors.Is(err, actor.ErrNotStopped) {
		t.Errorf("Reboot = %v, want ErrNotStopped (the process was not stopped after the wait)", err)
	}
	mu.Lock()
	slices.Sort(got)
	if diff := cmp.Diff([]string{"migrating", "persistState migrating"}, got); diff != "" {
		t.Errorf("handlers run (-want +got):\n%s", diff)
	}
	if !errors.Is(innerErr, actor.ErrRestartInProgress) {
		t.Errorf("Reboot from the migrating handler = %v, want ErrRestartInProgress", innerErr)
	}
	mu.Unlock()
	// The state was saved before the reboot was asked for.
	calls := p.calls()
	wantCalls := []string{"GET /v2/key-value-stores/KVS1/records/APIFY_GLOBAL_STATE",
		"PUT /v2/key-value-stores/KVS1/records/APIFY_GLOBAL_STATE", "POST /v2/actor-runs/RUN123/reboot"}
	if diff := cmp.Diff(wantCalls, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if err := a.Reboot(t.Context()); !errors.Is(err, actor.ErrRestartInProgress) {
		t.Errorf("Reboot after an accepted reboot = %v, want ErrRestartInProgress", err)
	}

	a.Exit(t.Context(), actor.ExitOptions{})
	if diff := cmp.Diff([]int{1}, rec.got()); diff != "" {
		t.Errorf("exit codes after a reboot (-want +got):\n%s", diff)
	}
	if calls := p.calls(); contains(calls, "PUT /v2/actor-runs/RUN123") {
		t.Errorf("calls %q: a final status message was set on a run that restarts", calls)
	}
}

// TestReboot_FailureAllowsRetry: a reboot the platform refuses returns its
// error, and the next call asks again.
func TestReboot_FailureAllowsRetry(t *testing.T) {
	t.Parallel()
	p := newEventPlatform(t)
	p.rebootErr = http.StatusConflict
	vars := p.env()
	delete(vars, "ACTOR_EVENTS_WEBSOCKET_URL")
	a, rec, _ := newActor(vars)
	for i := range 2 {
		err := a.Reboot(t.Context())
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict {
			t.Errorf("Reboot %d = %v, want the platform's 409", i, err)
		}
	}
	if n := strings.Count(strings.Join(p.calls(), "\n"), "/reboot"); n != 2 {
		t.Errorf("%d reboot requests, want 2", n)
	}
	a.Exit(t.Context(), actor.ExitOptions{})
	if diff := cmp.Diff([]int{0}, rec.got()); diff != "" {
		t.Errorf("exit codes after failed reboots (-want +got):\n%s", diff)
	}
}

func TestMetamorph(t *testing.T) {
	t.Parallel()
	p := newEventPlatform(t)
	vars := p.env()
	delete(vars, "ACTOR_EVENTS_WEBSOCKET_URL")
	a, _, _ := newActor(vars)
	migrating := make(chan actor.Migrating, 1)
	a.OnMigrating(func(_ context.Context, e actor.Migrating) { migrating <- e })
	err := a.Metamorph(t.Context(), "user/target", map[string]string{"url": "https://example.com"}, actor.MetamorphOptions{Build: "beta"})
	if !errors.Is(err, actor.ErrNotStopped) {
		t.Errorf("Metamorph = %v, want ErrNotStopped", err)
	}
	receive(t, migrating)
	p.mu.Lock()
	r := p.reqs[len(p.reqs)-1]
	p.mu.Unlock()
	got := []string{r.Method, r.Path, r.Query.Get("targetActorId"), r.Query.Get("build"), r.Body}
	want := []string{"POST", "/v2/actor-runs/RUN123/metamorph", "user~target", "beta", `{"url":"https://example.com"}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metamorph request (-want +got):\n%s", diff)
	}
	if err := a.Metamorph(t.Context(), " ", nil, actor.MetamorphOptions{}); err == nil {
		t.Error("Metamorph without a target succeeded")
	}
	a.Exit(t.Context(), actor.ExitOptions{})
}

// TestRestart_OffPlatform: off the platform Reboot and Metamorph do nothing.
func TestRestart_OffPlatform(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	a, rec, _ := newActor(map[string]string{"APIFY_API_BASE_URL": p.srv.URL})
	if err := a.Reboot(t.Context()); err != nil {
		t.Errorf("Reboot off the platform = %v, want nil", err)
	}
	if err := a.Metamorph(t.Context(), "T1", nil, actor.MetamorphOptions{}); err != nil {
		t.Errorf("Metamorph off the platform = %v, want nil", err)
	}
	a.Exit(t.Context(), actor.ExitOptions{})
	p.checkNothingSent(t)
	if diff := cmp.Diff([]int{0}, rec.got()); diff != "" {
		t.Errorf("exit codes (-want +got):\n%s", diff)
	}
}

// TestMain_Aborting: an aborting event cancels the function's context with
// ErrAborting, and the run ends with the state saved.
func TestMain_Aborting(t *testing.T) {
	t.Parallel()
	p := newEventPlatform(t)
	a, rec, _ := newActor(p.env())
	started := make(chan struct{})
	causes := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Main(func(ctx context.Context) error {
			s, err := actor.UseState(ctx, a, "", counter{})
			if err != nil {
				return err
			}
			close(started)
			<-ctx.Done()
			causes <- context.Cause(ctx)
			s.Set(counter{Count: 3})
			return ctx.Err()
		})
	}()
	receive(t, started)
	send(t, p.conn(t), `{"name":"aborting"}`)
	receive(t, done)
	if err := receive(t, causes); !errors.Is(err, actor.ErrAborting) {
		t.Errorf("cause = %v, want ErrAborting", err)
	}
	if diff := cmp.Diff(actor.DefaultStateKey+`={"count":3}`, p.put(t)); diff != "" {
		t.Errorf("saved (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{1}, rec.got()); diff != "" {
		t.Errorf("exit codes (-want +got):\n%s", diff)
	}
	if calls := p.calls(); contains(calls, "POST /v2/actor-runs/RUN123/reboot") {
		t.Errorf("calls %q: an aborted run was rebooted", calls)
	}
}

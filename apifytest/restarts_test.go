package apifytest_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// call is one call of an Actor function, as it saw it.
type fnCall struct {
	restart  apifytest.Restart
	runID    string
	inputKey string
	input    string
	cause    error // its context's, when it was cancelled
}

// recorder is an Actor function that records its calls. Its first call
// acts as first says; later calls return nil.
type recorder struct {
	mu      sync.Mutex
	calls   []fnCall
	started chan string // each call's events URL
}

func newRecorder() *recorder { return &recorder{started: make(chan string, 10)} }

func (rec *recorder) fn(first func(ctx context.Context, eventsURL string) error) apifytest.ActorFunc {
	return func(ctx context.Context, env []string, input []byte) error {
		why, _ := apifytest.RestartOf(ctx)
		rec.mu.Lock()
		n := len(rec.calls)
		rec.calls = append(rec.calls, fnCall{restart: why, runID: envOf(env, "ACTOR_RUN_ID"),
			inputKey: envOf(env, "ACTOR_INPUT_KEY"), input: string(input)})
		rec.mu.Unlock()
		url := envOf(env, "ACTOR_EVENTS_WEBSOCKET_URL")
		rec.started <- url
		if n > 0 || first == nil {
			return nil
		}
		err := first(ctx, url)
		rec.mu.Lock()
		rec.calls[n].cause = context.Cause(ctx)
		rec.mu.Unlock()
		return err
	}
}

func (rec *recorder) got() []fnCall {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]fnCall(nil), rec.calls...)
}

// TestMigrateGoActor migrates a run of a registered function mid-run: the
// function hears migrating and exits with an error, is stopped after the
// grace, or exits cleanly, which ends the run without a restart.
func TestMigrateGoActor(t *testing.T) {
	t.Parallel()
	errMigrated := errors.New("migrating: exiting to be restarted")
	tests := []struct {
		name        string
		grace       time.Duration
		listens     bool  // the function listens to its events
		onMigrating error // and returns this on migrating
		wantCalls   int
		wantCause   error
		wantRestart int
	}{
		{"exits on migrating", time.Minute, true, errMigrated, 2, nil, 1},
		{"killed after the grace", 0, false, nil, 2, apifytest.ErrRestarting, 1},
		{"exits 0 during the migration", time.Minute, true, nil, 1, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := apifytest.NewTestServer(t, apifytest.WithMigrationGrace(tt.grace), apifytest.WithSystemInfoInterval(5*time.Millisecond))
			rec := newRecorder()
			listening := make(chan struct{}, 1)
			srv.RegisterActor("a~b", rec.fn(func(ctx context.Context, url string) error {
				if tt.listens {
					return untilMigrating(ctx, url, listening, tt.onMigrating)
				}
				<-ctx.Done()
				return ctx.Err()
			}))
			run, err := srv.StartRun(ctxFor(t), "a~b", []byte(`{"n":1}`), client.StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			<-rec.started
			if tt.listens {
				<-listening // the function's connection is counted
			}
			mid, err := srv.MigrateRun(ctxFor(t), run.ID)
			if err != nil {
				t.Fatal(err)
			}
			end, err := srv.WaitRun(ctxFor(t), run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if end.Status != client.StatusSucceeded || end.Stats.RestartCount != tt.wantRestart || end.Stats.MigrationCount != 1 {
				t.Errorf("run ended %s with stats %+v (after the migration %s), want SUCCEEDED, %d restarts, 1 migration",
					end.Status, end.Stats, mid.Status, tt.wantRestart)
			}
			calls := rec.got()
			if len(calls) != tt.wantCalls {
				t.Fatalf("%d calls, want %d: %+v", len(calls), tt.wantCalls, calls)
			}
			if !errors.Is(calls[0].cause, tt.wantCause) && calls[0].cause != tt.wantCause {
				t.Errorf("first call's context cause %v, want %v", calls[0].cause, tt.wantCause)
			}
			if tt.wantCalls == 2 {
				want := fnCall{restart: apifytest.Restart{Kind: apifytest.RestartMigration, Count: 1},
					runID: run.ID, inputKey: "INPUT", input: `{"n":1}`}
				if diff := cmp.Diff(want, calls[1], cmp.AllowUnexported(fnCall{}), cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
					t.Errorf("second call (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// untilMigrating is an Actor that listens to its events and returns
// onMigrating when it hears migrating. It signals listening when it has
// heard its first event: its connection is counted, and a migration
// reaches it.
func untilMigrating(ctx context.Context, url string, listening chan<- struct{}, onMigrating error) error {
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	first := true
	for {
		f, err := readFrame(ctx, conn)
		if err != nil {
			return err
		}
		if first {
			listening <- struct{}{}
			first = false
		}
		if f.Name == "migrating" {
			return onMigrating
		}
	}
}

func TestMigrateErrors(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	if _, err := srv.MigrateRun(ctxFor(t), "nosuchrun"); !errors.Is(err, apifytest.ErrNotFound) {
		t.Errorf("MigrateRun(unknown) = %v", err)
	}
	run := endRun(t, srv)
	if _, err := srv.MigrateRun(ctxFor(t), run.ID); !errors.Is(err, apifytest.ErrRunFinished) {
		t.Errorf("MigrateRun(finished) = %v", err)
	}
	if resp := call(t, srv, srv.Token, "POST", "/_apifytest/runs/"+run.ID+"/migrate", nil); resp.status != 400 {
		t.Errorf("POST migrate of a finished run: %d %s", resp.status, resp.body)
	}
}

// TestMigrateEndpoint migrates a run that tests drive (no function) over
// HTTP: its connection hears migrating with the time remaining, then is
// closed for the restart.
func TestMigrateEndpoint(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithMigrationGrace(3*time.Second), apifytest.WithSystemInfoInterval(5*time.Millisecond))
	run, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	conn := dialEvents(t, srv, run.ID)
	nextEvent(t, conn, "systemInfo")
	var got client.Run
	call(t, srv, srv.Token, "POST", "/_apifytest/runs/"+run.ID+"/migrate", nil).data(t, &got)
	if got.Status != client.StatusRunning || got.Stats.RestartCount != 1 || got.Stats.MigrationCount != 1 {
		t.Errorf("after migrate: %s %+v", got.Status, got.Stats)
	}
	f := nextEvent(t, conn, "migrating")
	if string(f.Data) != `{"timeRemainingSecs":3}` {
		t.Errorf("migrating data %s", f.Data)
	}
	if code, _ := closeCode(t, conn); code != websocket.StatusServiceRestart {
		t.Errorf("closed with %v, want 1012", code)
	}
}

// TestReboot reboots a running function over the API, and refuses runs
// that are not RUNNING.
func TestReboot(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	rec := newRecorder()
	srv.RegisterActor("a~b", rec.fn(func(ctx context.Context, _ string) error {
		<-ctx.Done()
		return ctx.Err()
	}))
	run, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	<-rec.started
	var got client.Run
	resp := call(t, srv, srv.Token, "POST", "/v2/actor-runs/"+run.ID+"/reboot", nil)
	resp.data(t, &got)
	if resp.status != 200 || got.Status != client.StatusRunning || got.Stats.RebootCount != 1 {
		t.Errorf("reboot: %d %s %+v", resp.status, got.Status, got.Stats)
	}
	end, err := srv.WaitRun(ctxFor(t), run.ID)
	if err != nil || end.Status != client.StatusSucceeded || end.Stats.RestartCount != 1 || end.Stats.RebootCount != 1 {
		t.Fatalf("WaitRun = %+v, %v", end, err)
	}
	calls := rec.got()
	if len(calls) != 2 || calls[1].restart != (apifytest.Restart{Kind: apifytest.RestartReboot, Count: 1}) || !errors.Is(calls[0].cause, apifytest.ErrRestarting) {
		t.Errorf("calls = %+v", calls)
	}
	resp = call(t, srv, srv.Token, "POST", "/v2/actor-runs/"+run.ID+"/reboot", nil)
	if resp.status != 400 || resp.errorOf(t).Type != "run-already-finished" {
		t.Errorf("reboot of a finished run: %d %s", resp.status, resp.body)
	}
	if resp := call(t, srv, srv.Token, "POST", "/v2/actor-runs/nope/reboot", nil); resp.status != 404 {
		t.Errorf("reboot of an unknown run: %d", resp.status)
	}
}

// TestResurrect resurrects a finished run: it runs again, fires
// ACTOR.RUN.RESURRECTED, and its ad-hoc webhook for the end fires once by
// default, again with WithRefireAfterResurrect.
func TestResurrect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      []apifytest.Option
		wantEnded int
	}{
		{"triggers once", nil, 1},
		{"refires", []apifytest.Option{apifytest.WithRefireAfterResurrect()}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := apifytest.NewTestServer(t, tt.opts...)
			rc := newReceiver(t)
			rec := newRecorder()
			srv.RegisterActor("a~b", rec.fn(nil))
			run, err := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{Webhooks: []client.WebhookDefinition{
				succeededHook(rc.URL),
				{EventTypes: []client.EventType{client.EventActorRunResurrected}, RequestURL: rc.URL},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := srv.WaitRun(ctxFor(t), run.ID); err != nil {
				t.Fatal(err)
			}
			waitIdle(t, srv)
			var got client.Run
			resp := call(t, srv, srv.Token, "POST", "/v2/actor-runs/"+run.ID+"/resurrect?timeout=60&memory=2048", nil)
			resp.data(t, &got)
			if resp.status != 200 || got.Status != client.StatusRunning || got.Stats.ResurrectCount != 1 ||
				got.Options.MemoryMbytes != 2048 || got.Options.TimeoutSecs != 60 || got.FinishedAt != nil {
				t.Errorf("resurrect: %d %+v", resp.status, got)
			}
			end, err := srv.WaitRun(ctxFor(t), run.ID)
			if err != nil || end.Status != client.StatusSucceeded || end.Stats.ResurrectCount != 1 {
				t.Fatalf("WaitRun = %+v, %v", end, err)
			}
			waitIdle(t, srv)
			events := map[string]int{}
			for _, r := range rc.requests() {
				var p struct{ EventType string }
				_ = json.Unmarshal(r.body, &p)
				events[p.EventType]++
			}
			want := map[string]int{"ACTOR.RUN.SUCCEEDED": tt.wantEnded, "ACTOR.RUN.RESURRECTED": 1}
			if diff := cmp.Diff(want, events); diff != "" {
				t.Errorf("deliveries (-want +got):\n%s", diff)
			}
			if calls := rec.got(); len(calls) != 2 || calls[1].restart != (apifytest.Restart{Kind: apifytest.RestartResurrection, Count: 1}) {
				t.Errorf("calls = %+v", calls)
			}
		})
	}
}

func TestResurrectRunning(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	run, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	resp := call(t, srv, srv.Token, "POST", "/v2/actor-runs/"+run.ID+"/resurrect", nil)
	if resp.status != 400 || resp.errorOf(t).Type != "run-not-finished" {
		t.Errorf("resurrect of a running run: %d %s", resp.status, resp.body)
	}
	wantBadRequest(t, call(t, srv, srv.Token, "POST", "/v2/actor-runs/"+run.ID+"/resurrect?memory=100", nil), "memory", "power of 2")
}

// TestMetamorph turns a run of one registered function into one of
// another, with the new input as INPUT-METAMORPH-1.
func TestMetamorph(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	from, to := newRecorder(), newRecorder()
	srv.RegisterActor("a~from", from.fn(func(ctx context.Context, _ string) error {
		<-ctx.Done()
		return ctx.Err()
	}))
	srv.RegisterActor("a~to", to.fn(nil))
	run, _ := srv.StartRun(ctxFor(t), "a~from", []byte(`{"first":true}`), client.StartOptions{})
	<-from.started
	wantBadRequest(t, call(t, srv, srv.Token, "POST", "/v2/actor-runs/"+run.ID+"/metamorph", nil), "targetActorId", "required")
	resp := call(t, srv, srv.Token, "POST", "/v2/actor-runs/"+run.ID+"/metamorph?targetActorId=a~unregistered", `{"x":1}`)
	if resp.status != 501 || resp.errorOf(t).Type != "metamorph-not-supported" {
		t.Errorf("metamorph to an Actor without a function: %d %s", resp.status, resp.body)
	}
	resp = call(t, srv, srv.Token, "POST", "/v2/actor-runs/"+run.ID+"/metamorph?targetActorId=a/to&build=beta", `{"x":1}`)
	var got client.Run
	resp.data(t, &got)
	if resp.status != 200 || len(got.Metamorphs) != 1 || got.Metamorphs[0].InputKey != "INPUT-METAMORPH-1" || got.Stats.Metamorph != 1 {
		t.Errorf("metamorph: %d %+v", resp.status, got)
	}
	end, err := srv.WaitRun(ctxFor(t), run.ID)
	if err != nil || end.Status != client.StatusSucceeded {
		t.Fatalf("WaitRun = %+v, %v", end, err)
	}
	calls := to.got()
	want := []fnCall{{restart: apifytest.Restart{Kind: apifytest.RestartMetamorph, Count: 1}, runID: run.ID,
		inputKey: "INPUT-METAMORPH-1", input: `{"x":1}`}}
	if diff := cmp.Diff(want, calls, cmp.AllowUnexported(fnCall{}), cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Errorf("the target's calls (-want +got):\n%s", diff)
	}
	rec, err := srv.Client().GetRecord(ctxFor(t), run.DefaultKeyValueStoreID, "INPUT-METAMORPH-1")
	if err != nil || string(rec.Value) != `{"x":1}` || rec.ContentType != "application/json" {
		t.Errorf("INPUT-METAMORPH-1 = %+v, %v", rec, err)
	}
}

// TestResurrectWhileTheOldCallRuns resurrects a run that FinishRun ended
// while its function still ran: the old call's return leaves the new one
// in charge.
func TestResurrectWhileTheOldCallRuns(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	release := make(chan struct{})
	calls := make(chan context.Context, 2)
	srv.RegisterActor("a~b", func(ctx context.Context, _ []string, _ []byte) error {
		calls <- ctx
		if _, again := apifytest.RestartOf(ctx); !again {
			<-release // returns late, after its run was resurrected
			return errors.New("the old call")
		}
		<-ctx.Done()
		return ctx.Err()
	})
	run, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	<-calls
	if _, err := srv.FinishRun(run.ID, client.StatusSucceeded, 0); err != nil {
		t.Fatal(err)
	}
	if resp := call(t, srv, srv.Token, "POST", "/v2/actor-runs/"+run.ID+"/resurrect", nil); resp.status != 200 {
		t.Fatalf("resurrect: %d %s", resp.status, resp.body)
	}
	second := <-calls
	close(release)
	if _, err := srv.AbortRun(run.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-second.Done(): // the abort reached the new call
	case <-ctxFor(t).Done():
		t.Fatal("the abort did not cancel the new call")
	}
	end, err := srv.WaitRun(ctxFor(t), run.ID)
	if err != nil || end.Status != client.StatusAborted || end.Stats.ResurrectCount != 1 {
		t.Errorf("WaitRun = %+v, %v", end, err)
	}
}

package apifytest_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// exitError is an error with an exit code, as *exec.ExitError.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e exitError) ExitCode() int { return int(e) }

func TestRegisteredActorOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fn         apifytest.ActorFunc
		abort      bool
		timeout    time.Duration
		wantStatus client.RunStatus
		wantEvent  client.EventType
		wantCode   *int
	}{
		{"success", func(context.Context, []string, []byte) error { return nil },
			false, 0, client.StatusSucceeded, client.EventActorRunSucceeded, ptr(0)},
		{"failure", func(context.Context, []string, []byte) error { return errors.New("boom") },
			false, 0, client.StatusFailed, client.EventActorRunFailed, ptr(1)},
		{"exit code", func(context.Context, []string, []byte) error { return exitError(3) },
			false, 0, client.StatusFailed, client.EventActorRunFailed, ptr(3)},
		{"aborted by the Actor", func(context.Context, []string, []byte) error { return fmt.Errorf("stop: %w", apifytest.ErrAborted) },
			false, 0, client.StatusAborted, client.EventActorRunAborted, nil},
		{"panic", func(context.Context, []string, []byte) error { panic("oops") },
			false, 0, client.StatusFailed, client.EventActorRunFailed, ptr(1)},
		{"aborted", func(ctx context.Context, _ []string, _ []byte) error { <-ctx.Done(); return ctx.Err() },
			true, 0, client.StatusAborted, client.EventActorRunAborted, nil},
		{"timed out", func(ctx context.Context, _ []string, _ []byte) error { <-ctx.Done(); return exitError(143) },
			false, 50 * time.Millisecond, client.StatusTimedOut, client.EventActorRunTimedOut, ptr(143)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := apifytest.NewTestServer(t)
			rc := newReceiver(t)
			srv.RegisterActor("me~actor", tt.fn)
			hook := client.WebhookDefinition{EventTypes: []client.EventType{
				client.EventActorRunSucceeded, client.EventActorRunFailed, client.EventActorRunAborted, client.EventActorRunTimedOut,
			}, RequestURL: rc.URL}
			ctx := ctxFor(t)
			run, err := srv.StartRun(ctx, "me/actor", nil, client.StartOptions{Webhooks: []client.WebhookDefinition{hook}, Timeout: tt.timeout})
			if err != nil {
				t.Fatal(err)
			}
			if tt.abort {
				ab, err := srv.Client().AbortRun(ctx, run.ID, client.AbortOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if ab.Status != client.StatusAborting && ab.Status != client.StatusAborted {
					t.Errorf("abort answered %s", ab.Status)
				}
			}
			end, err := srv.WaitRun(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if end.Status != tt.wantStatus || end.FinishedAt == nil || !end.IsStatusMessageTerminal || end.StatusMessage == "" {
				t.Errorf("run ended %+v, want %s", end, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantCode, end.ExitCode); diff != "" {
				t.Errorf("exit code (-want +got):\n%s", diff)
			}
			waitIdle(t, srv)
			ds := srv.Dispatches()
			if len(ds) != 1 || ds[0].EventType != tt.wantEvent {
				t.Errorf("dispatches = %+v, want one %s", ds, tt.wantEvent)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestActorFuncSeesEnvAndInput(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	type seen struct {
		env   map[string]string
		input string
	}
	got := make(chan seen, 1)
	srv.RegisterActor("me~env", func(_ context.Context, env []string, input []byte) error {
		m := map[string]string{}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		got <- seen{m, string(input)}
		return nil
	})
	run, err := srv.StartRun(ctxFor(t), "me~env", []byte(`{"x":1}`), client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s.input != `{"x":1}` {
		t.Errorf("input = %q", s.input)
	}
	want := map[string]string{
		"APIFY_API_BASE_URL": srv.URL, "APIFY_TOKEN": srv.Token, "APIFY_IS_AT_HOME": "1",
		"ACTOR_RUN_ID": run.ID, "APIFY_ACTOR_RUN_ID": run.ID, "ACTOR_ID": run.ActID, "APIFY_ACTOR_ID": run.ActID,
		"APIFY_USER_ID": srv.UserID, "ACTOR_DEFAULT_KEY_VALUE_STORE_ID": run.DefaultKeyValueStoreID,
		"ACTOR_DEFAULT_DATASET_ID": run.DefaultDatasetID, "ACTOR_DEFAULT_REQUEST_QUEUE_ID": run.DefaultRequestQueueID,
		"ACTOR_INPUT_KEY": "INPUT",
	}
	for k, v := range want {
		if s.env[k] != v {
			t.Errorf("%s = %q, want %q", k, s.env[k], v)
		}
	}
	if diff := cmp.Diff(srv.Env(run.ID), envList(s.env), cmpSorted); diff != "" {
		t.Errorf("Env(runID) differs from what the function saw (-want +got):\n%s", diff)
	}
	// The input is the run's INPUT record.
	resp := call(t, srv, srv.Token, "GET", "/v2/key-value-stores/"+run.DefaultKeyValueStoreID+"/records/INPUT", nil)
	if resp.status != 200 || string(resp.body) != `{"x":1}` || !strings.HasPrefix(resp.header.Get("Content-Type"), "application/json") {
		t.Errorf("INPUT record: %d %q %q", resp.status, resp.header.Get("Content-Type"), resp.body)
	}
}

func envList(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// cmpSorted compares string lists as sets.
var cmpSorted = cmp.Transformer("sorted", func(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
})

func TestEnvWithoutRun(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	want := []string{"APIFY_API_BASE_URL=" + srv.URL, "APIFY_CLIENT_BASE_URL=" + srv.URL, "APIFY_API_PUBLIC_BASE_URL=" + srv.URL, "APIFY_TOKEN=" + srv.Token, "APIFY_USER_ID=" + srv.UserID}
	if diff := cmp.Diff(want, srv.Env(""), cmpSorted); diff != "" {
		t.Errorf("Env(\"\") (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %q", srv.URL)
	}
}

func TestRunLifecycleFromGo(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ctx := ctxFor(t)
	run, err := srv.StartRun(ctx, "janedoe~plain", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != client.StatusRunning || len(run.ID) != 17 || len(run.ActID) != 17 || run.UserID != srv.UserID {
		t.Errorf("started run = %+v", run)
	}
	want := client.RunOptions{Build: "latest", TimeoutSecs: 3600, MemoryMbytes: 1024, DiskMbytes: 2048}
	if diff := cmp.Diff(want, run.Options); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
	again, _ := srv.StartRun(ctx, "janedoe/plain", nil, client.StartOptions{})
	if again.ActID != run.ActID {
		t.Errorf("janedoe/plain is Actor %s, janedoe~plain %s", again.ActID, run.ActID)
	}
	end, err := srv.FinishRun(run.ID, client.StatusFailed, 7)
	if err != nil {
		t.Fatal(err)
	}
	if end.Status != client.StatusFailed || *end.ExitCode != 7 || end.FinishedAt == nil {
		t.Errorf("finished run = %+v", end)
	}
	if _, err := srv.FinishRun(run.ID, client.StatusSucceeded, 0); !errors.Is(err, apifytest.ErrRunFinished) {
		t.Errorf("second FinishRun: %v, want ErrRunFinished", err)
	}
	if _, err := srv.FinishRun(again.ID, client.StatusRunning, 0); err == nil {
		t.Error("FinishRun with RUNNING succeeded")
	}
	if _, err := srv.FinishRun("nope", client.StatusSucceeded, 0); !errors.Is(err, apifytest.ErrNotFound) {
		t.Errorf("FinishRun of unknown run: %v", err)
	}
	ab, err := srv.AbortRun(again.ID)
	if err != nil || ab.Status != client.StatusAborted {
		t.Errorf("AbortRun = %+v, %v", ab, err)
	}
	// Aborting a finished run changes nothing.
	ab2, err := srv.AbortRun(run.ID)
	if err != nil || ab2.Status != client.StatusFailed {
		t.Errorf("AbortRun of a finished run = %+v, %v", ab2, err)
	}
	got, ok := srv.Run(run.ID)
	if !ok || got.Status != client.StatusFailed {
		t.Errorf("Run = %+v, %v", got, ok)
	}
}

func TestRunTimeoutWithoutFunction(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	run, err := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{Timeout: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if run.Options.TimeoutSecs != 1 {
		t.Errorf("timeoutSecs = %d, want 1 (rounded up)", run.Options.TimeoutSecs)
	}
	end, err := srv.WaitRun(ctxFor(t), run.ID)
	if err != nil || end.Status != client.StatusTimedOut {
		t.Errorf("run = %+v, %v; want TIMED-OUT", end, err)
	}
}

func TestAutoFinish(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithAutoFinish(20*time.Millisecond, client.StatusFailed))
	run, err := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	end, err := srv.WaitRun(ctxFor(t), run.ID)
	if err != nil || end.Status != client.StatusFailed || *end.ExitCode != 1 {
		t.Errorf("run = %+v, %v; want FAILED with exit code 1", end, err)
	}
	if _, err := apifytest.NewServer(apifytest.WithAutoFinish(time.Second, client.StatusRunning)); err == nil {
		t.Error("WithAutoFinish(RUNNING) was accepted")
	}
}

func TestStartRunAPI(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	rc := newReceiver(t)
	hooks := `[{"eventTypes":["ACTOR.RUN.CREATED","ACTOR.RUN.SUCCEEDED"],"requestUrl":"` + rc.URL + `"}]`
	q := url.Values{
		"webhooks": {base64.StdEncoding.EncodeToString([]byte(hooks))},
		"timeout":  {"120"}, "memory": {"256"}, "build": {"beta"},
	}
	for _, prefix := range []string{"/v2/acts/", "/v2/actors/"} {
		resp := call(t, srv, srv.Token, "POST", prefix+"janedoe~api/runs?"+q.Encode(), `{"hello":"world"}`)
		if resp.status != http.StatusCreated {
			t.Fatalf("start: %d %s", resp.status, resp.body)
		}
		var run map[string]any
		resp.data(t, &run)
		if loc := resp.header.Get("Location"); loc != srv.URL+"/v2/actor-runs/"+run["id"].(string) {
			t.Errorf("Location = %q", loc)
		}
		opts := run["options"].(map[string]any)
		if opts["build"] != "beta" || opts["timeoutSecs"] != 120.0 || opts["memoryMbytes"] != 256.0 || opts["diskMbytes"] != 512.0 {
			t.Errorf("options = %v", opts)
		}
		for _, k := range []string{"id", "actId", "userId", "startedAt", "status", "meta", "stats", "buildId", "defaultKeyValueStoreId", "defaultDatasetId", "defaultRequestQueueId", "generalAccess", "storageIds"} {
			if _, ok := run[k]; !ok {
				t.Errorf("run has no %q: %v", k, run)
			}
		}
		if meta := run["meta"].(map[string]any); meta["origin"] != "API" {
			t.Errorf("meta = %v", meta)
		}
		if _, err := srv.FinishRun(run["id"].(string), client.StatusSucceeded, 0); err != nil {
			t.Fatal(err)
		}
	}
	waitIdle(t, srv)
	var events []client.EventType
	for _, d := range srv.Dispatches() {
		events = append(events, d.EventType)
	}
	// An ad-hoc webhook fires at most once: CREATED, not SUCCEEDED.
	if diff := cmp.Diff([]client.EventType{client.EventActorRunCreated, client.EventActorRunCreated}, events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// Ad-hoc webhooks are listed.
	var page client.Page[client.Webhook]
	call(t, srv, srv.Token, "GET", "/v2/webhooks", nil).data(t, &page)
	if page.Total != 2 || !page.Items[0].IsAdHoc || page.Items[0].Condition.ActorRunID == "" {
		t.Errorf("webhooks = %+v", page)
	}
}

func TestStartRunBadWebhooksParam(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, param, wantInMessage string
	}{
		{"not base64", "%%%not-base64", "base64"},
		{"not JSON", b64("nope"), "JSON array"},
		{"not an array", b64(`{"eventTypes":["ACTOR.RUN.SUCCEEDED"],"requestUrl":"https://x.io"}`), "JSON array"},
		{"item not an object", b64(`[1]`), "webhooks[0]"},
		{"no eventTypes", b64(`[{"requestUrl":"https://x.io"}]`), "webhooks[0].eventTypes"},
		{"no requestUrl", b64(`[{"eventTypes":["ACTOR.RUN.SUCCEEDED"]}]`), "webhooks[0].requestUrl"},
		{"second bad", b64(`[{"eventTypes":["ACTOR.RUN.SUCCEEDED"],"requestUrl":"https://x.io"},{"eventTypes":["X"],"requestUrl":"https://x.io"}]`), "webhooks[1].eventTypes[0]"},
		{"bad template", b64(`[{"eventTypes":["ACTOR.RUN.SUCCEEDED"],"requestUrl":"https://x.io","payloadTemplate":"{"}]`), "webhooks[0].payloadTemplate"},
	}
	for _, tt := range tests {
		for _, path := range []string{"/v2/acts/a~b/runs", "/v2/actor-tasks/a~t/runs"} {
			resp := call(t, srv, srv.Token, "POST", path+"?webhooks="+url.QueryEscape(tt.param), nil)
			wantBadRequest(t, resp, tt.name+" "+path, tt.wantInMessage)
		}
	}
	// A query that cannot be read, which Go's URL.Query drops silently.
	for _, query := range []string{"webhooks=%%%", "webhooks=%zz", "timeout=10&webhooks=a%", "webhooks=" + b64("[]") + ";x=1", "we%zzbhooks=1"} {
		for _, path := range []string{"/v2/acts/a~b/runs", "/v2/actor-tasks/a~t/runs"} {
			resp := call(t, srv, srv.Token, "POST", path+"?"+query, nil)
			wantBadRequest(t, resp, query+" "+path, "cannot be read")
		}
	}
	var page client.Page[client.Run]
	call(t, srv, srv.Token, "GET", "/v2/actor-runs", nil).data(t, &page)
	if page.Total != 0 {
		t.Errorf("%d runs were created by invalid starts", page.Total)
	}
	// URL-safe base64 without padding, as some clients send, is fine.
	param := base64.RawURLEncoding.EncodeToString([]byte(`[{"eventTypes":["ACTOR.RUN.SUCCEEDED"],"requestUrl":"https://x.io/?a=b>"}]`))
	if resp := call(t, srv, srv.Token, "POST", "/v2/acts/a~b/runs?webhooks="+param, nil); resp.status != http.StatusCreated {
		t.Errorf("URL-safe unpadded webhooks: %d %s", resp.status, resp.body)
	}
}

func TestTaskRuns(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	rc := newReceiver(t)
	srv.RegisterTask("me~task", "me~actor")
	ran := make(chan string, 1)
	srv.RegisterActor("me~actor", func(_ context.Context, env []string, _ []byte) error {
		ran <- envValue(env, "ACTOR_TASK_ID")
		return nil
	})
	var wh client.Webhook
	call(t, srv, srv.Token, "POST", "/v2/webhooks", map[string]any{
		"eventTypes": []string{"ACTOR.RUN.SUCCEEDED"},
		"condition":  map[string]any{"actorTaskId": "me~task"},
		"requestUrl": rc.URL,
	}).data(t, &wh)
	run, err := srv.Client().StartTask(ctxFor(t), "me~task", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if run.ActorTaskID != wh.Condition.ActorTaskID || run.ActorTaskID == "" {
		t.Errorf("run's task %q, webhook's %q", run.ActorTaskID, wh.Condition.ActorTaskID)
	}
	if got := <-ran; got != run.ActorTaskID {
		t.Errorf("ACTOR_TASK_ID = %q", got)
	}
	if _, err := srv.WaitRun(ctxFor(t), run.ID); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, srv)
	ds := srv.Dispatches()
	if len(ds) != 1 || ds[0].EventData.ActorTaskID != run.ActorTaskID {
		t.Fatalf("dispatches = %+v", ds)
	}
	if !strings.Contains(string(rc.requests()[0].body), `"actorTaskId":"`+run.ActorTaskID+`"`) {
		t.Errorf("payload lacks the task: %s", rc.requests()[0].body)
	}
	// A persistent webhook fires for every matching run.
	run2, _ := srv.Client().StartTask(ctxFor(t), "me~task", nil, client.StartOptions{})
	if _, err := srv.WaitRun(ctxFor(t), run2.ID); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, srv)
	if n := len(srv.Dispatches()); n != 2 {
		t.Errorf("%d dispatches after two task runs, want 2", n)
	}
}

func TestWaitForFinish(t *testing.T) {
	t.Parallel()
	waiting := make(chan struct{}, 1)
	srv := apifytest.NewTestServer(t, apifytest.WithLogger(slog.New(onMessage{"apifytest: waiting for the run to finish", waiting})))
	run, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})

	start := time.Now()
	var r client.Run
	call(t, srv, srv.Token, "GET", "/v2/actor-runs/"+run.ID+"?waitForFinish=0.1", nil).data(t, &r)
	if r.Status != client.StatusRunning || time.Since(start) < 100*time.Millisecond {
		t.Errorf("waitForFinish=0.1 returned %s after %v", r.Status, time.Since(start))
	}

	<-waiting // the wait of waitForFinish=0.1
	go func() {
		<-waiting
		_, _ = srv.FinishRun(run.ID, client.StatusSucceeded, 0)
	}()
	start = time.Now()
	call(t, srv, srv.Token, "GET", "/v2/actor-runs/"+run.ID+"?waitForFinish=30", nil).data(t, &r)
	// Well under the 30 seconds asked for: the finish ended the wait.
	if r.Status != client.StatusSucceeded || time.Since(start) > 20*time.Second {
		t.Errorf("waitForFinish=30 returned %s after %v", r.Status, time.Since(start))
	}
	if resp := call(t, srv, srv.Token, "GET", "/v2/actor-runs/"+run.ID+"?waitForFinish=soon", nil); resp.status != 400 {
		t.Errorf("waitForFinish=soon: %d", resp.status)
	}
	// The Go client's WaitForRun uses it.
	run2, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	go func() {
		<-waiting
		_, _ = srv.FinishRun(run2.ID, client.StatusAborted, 0)
	}()
	got, err := srv.Client().WaitForRun(ctxFor(t), run2.ID)
	if err != nil || got.Status != client.StatusAborted {
		t.Errorf("WaitForRun = %+v, %v", got, err)
	}
}

func TestUpdateAndAbortRunAPI(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	run, _ := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	resp := call(t, srv, srv.Token, "PUT", "/v2/actor-runs/"+run.ID, map[string]any{"runId": run.ID, "statusMessage": "half way", "isStatusMessageTerminal": false})
	var r client.Run
	resp.data(t, &r)
	if r.StatusMessage != "half way" || r.IsStatusMessageTerminal {
		t.Errorf("updated run = %+v", r)
	}
	if resp := call(t, srv, srv.Token, "PUT", "/v2/actor-runs/"+run.ID, map[string]any{"runId": "other"}); resp.status != 400 {
		t.Errorf("mismatched runId: %d", resp.status)
	}
	if resp := call(t, srv, srv.Token, "PUT", "/v2/actor-runs/"+run.ID, map[string]any{"generalAccess": "EVERYONE"}); resp.status != 400 {
		t.Errorf("bad generalAccess: %d", resp.status)
	}
	if _, err := srv.Client().UpdateRun(ctxFor(t), run.ID, client.RunUpdate{StatusMessage: "done", IsStatusMessageTerminal: true}); err != nil {
		t.Fatal(err)
	}
	resp = call(t, srv, srv.Token, "POST", "/v2/actor-runs/"+run.ID+"/abort?gracefully=true", nil)
	resp.data(t, &r)
	if resp.status != 200 || r.Status != client.StatusAborted || r.StatusMessage != "done" {
		t.Errorf("abort: %d %+v", resp.status, r)
	}
	resp = call(t, srv, srv.Token, "POST", "/v2/actor-runs/"+run.ID+"/abort", nil)
	resp.data(t, &r)
	if resp.status != 200 || r.Status != client.StatusAborted {
		t.Errorf("second abort: %d %+v", resp.status, r)
	}
	for _, path := range []string{"/v2/actor-runs/nope", "/v2/actor-runs/nope/abort"} {
		m := "GET"
		if strings.HasSuffix(path, "abort") {
			m = "POST"
		}
		if resp := call(t, srv, srv.Token, m, path, nil); resp.status != 404 || resp.errorOf(t).Type != "record-not-found" {
			t.Errorf("%s %s: %d %s", m, path, resp.status, resp.body)
		}
	}
}

func TestCreatedDispatchesGoFirst(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithDeliveryBackoff(time.Millisecond))
	// The receiver fails the first call (the CREATED one) slowly; the
	// run's end must still not overtake it.
	rc := newReceiver(t, 500)
	hooks := []client.WebhookDefinition{
		{EventTypes: []client.EventType{client.EventActorRunCreated}, RequestURL: rc.URL + "/created"},
		{EventTypes: []client.EventType{client.EventActorRunSucceeded}, RequestURL: rc.URL + "/succeeded"},
	}
	for range 20 {
		endRun(t, srv, hooks...)
	}
	waitIdle(t, srv)
	firstSeen := map[string]string{} // run ID → first event seen
	for _, r := range rc.requests() {
		var ev, id string
		body := string(r.body)
		if strings.Contains(body, `"ACTOR.RUN.CREATED"`) {
			ev = "created"
		} else {
			ev = "succeeded"
		}
		i := strings.Index(body, `"actorRunId":"`)
		id = body[i+14 : i+31]
		if _, ok := firstSeen[id]; !ok {
			firstSeen[id] = ev
		}
	}
	for id, ev := range firstSeen {
		if ev != "created" {
			t.Errorf("run %s: receiver heard %s first", id, ev)
		}
	}
	if len(firstSeen) != 20 {
		t.Errorf("heard of %d runs, want 20", len(firstSeen))
	}
}

// envValue returns the value of name in env.
func envValue(env []string, name string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

func TestFinalStatusMessage(t *testing.T) {
	t.Parallel()
	progress := client.RunUpdate{StatusMessage: "Crawled 45 of 100 pages"}
	tests := []struct {
		name         string
		update       *client.RunUpdate // set by the Actor before it ends
		fnErr        error             // the run is a registered Actor returning this
		status       client.RunStatus  // else it is finished with this
		wantMsg      string
		wantTerminal bool
	}{
		{"none", nil, nil, client.StatusSucceeded, "Actor finished successfully (exit code 0)", true},
		{"progress stays", &progress, nil, client.StatusSucceeded, progress.StatusMessage, false},
		{"terminal stays", &client.RunUpdate{StatusMessage: "Gave up", IsStatusMessageTerminal: true}, nil, client.StatusFailed, "Gave up", true},
		{"error without a message", nil, errors.New("no luck today"), "", "no luck today", true},
		{"error over progress", &progress, errors.New("no luck today"), "", "no luck today", true},
		{"error under a terminal message", &client.RunUpdate{StatusMessage: "Gave up", IsStatusMessageTerminal: true}, errors.New("no luck today"), "", "Gave up", true},
		{"exit code without a message", nil, exitError(3), "", "exit status 3", true},
		{"progress stays over an exit code", &progress, exitError(3), "", progress.StatusMessage, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := apifytest.NewTestServer(t)
			ctx := ctxFor(t)
			update := func(runID string) error {
				if tt.update == nil {
					return nil
				}
				_, err := srv.Client().UpdateRun(ctx, runID, *tt.update)
				return err
			}
			if tt.status == "" {
				srv.RegisterActor("me~actor", func(ctx context.Context, env []string, _ []byte) error {
					if err := update(envValue(env, "ACTOR_RUN_ID")); err != nil {
						return fmt.Errorf("update: %w", err)
					}
					return tt.fnErr
				})
			}
			run, err := srv.StartRun(ctx, "me~actor", nil, client.StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tt.status != "" {
				if err := update(run.ID); err != nil {
					t.Fatal(err)
				}
				if _, err := srv.FinishRun(run.ID, tt.status, 0); err != nil {
					t.Fatal(err)
				}
			}
			end, err := srv.WaitRun(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			type msg struct {
				Message  string
				Terminal bool
			}
			if diff := cmp.Diff(msg{tt.wantMsg, tt.wantTerminal}, msg{end.StatusMessage, end.IsStatusMessageTerminal}); diff != "" {
				t.Errorf("final status message (-want +got):\n%s", diff)
			}
		})
	}
}

// sendAndHangUp is an Actor that ends as a process does when it sends its
// last status message and exits without waiting for the answer (the JS
// SDK's Actor.exit waits 1 ms): over a kept-alive connection of its own it
// reads its run, writes the update, closes the connection and returns ret.
func sendAndHangUp(msg string, ret error) apifytest.ActorFunc {
	return func(_ context.Context, env []string, _ []byte) error {
		get := func(name string) string {
			for _, kv := range env {
				if k, v, _ := strings.Cut(kv, "="); k == name {
					return v
				}
			}
			return ""
		}
		runPath := "/v2/actor-runs/" + get("ACTOR_RUN_ID")
		conn, err := net.Dial("tcp", strings.TrimPrefix(get("APIFY_API_BASE_URL"), "http://"))
		if err != nil {
			return err
		}
		defer conn.Close()
		head := "Host: apifytest\r\nAuthorization: Bearer " + get("APIFY_TOKEN") + "\r\n"
		if _, err := io.WriteString(conn, "GET "+runPath+" HTTP/1.1\r\n"+head+"\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body) // all read: the close is a FIN, not a reset
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %v %v", runPath, resp.Status, err)
		}
		body := fmt.Sprintf(`{"statusMessage":%q,"isStatusMessageTerminal":true}`, msg)
		if _, err := fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			runPath, head, len(body), body); err != nil {
			return err
		}
		if err := conn.Close(); err != nil {
			return err
		}
		return ret
	}
}

// TestRunEndsWithWhatItsActorSent: the status message an Actor sent just
// before it ended, without waiting for the answer, is the run's final one,
// whether it succeeded or failed: the run ends once the server has handled
// what the Actor's closed connections still held. Each case runs many
// times, since without that wait the update loses the race only now and
// then.
func TestRunEndsWithWhatItsActorSent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		ret        error
		wantStatus client.RunStatus
	}{
		{"exit 0", nil, client.StatusSucceeded},
		{"exit 3", exitError(3), client.StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := apifytest.NewTestServer(t)
			srv.RegisterActor("me~hang-up", sendAndHangUp("done after 3 starts", tt.ret))
			for i := range 20 {
				run, err := srv.StartRun(t.Context(), "me~hang-up", nil, client.StartOptions{})
				if err != nil {
					t.Fatal(err)
				}
				end, err := srv.WaitRun(t.Context(), run.ID)
				if err != nil {
					t.Fatal(err)
				}
				want := []any{tt.wantStatus, "done after 3 starts", true}
				got := []any{end.Status, end.StatusMessage, end.IsStatusMessageTerminal}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("run %d: status, message, terminal (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

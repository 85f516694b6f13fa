package apifytest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/google/go-cmp/cmp"
)

// actorObj is the part of an Actor object the tests look at.
type actorObj struct {
	ID, UserID, Name, Username string
	Stats                      struct{ TotalRuns int }
	Versions                   []any
	DefaultRunOptions          struct {
		Build        string
		TimeoutSecs  int
		MemoryMbytes int
	}
}

func TestGetActor(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	other := apifytest.NewTestServer(t)
	srv.RegisterActor("janedoe~registered", func(context.Context, []string, []byte) error { return nil })

	var got actorObj
	call(t, srv, srv.Token, "GET", "/v2/actors/janedoe~my-actor", nil).data(t, &got)
	var again actorObj
	call(t, other, other.Token, "GET", "/v2/actors/janedoe~my-actor", nil).data(t, &again)
	if got.ID != again.ID || len(got.ID) != 17 {
		t.Errorf("IDs of janedoe~my-actor in two servers: %q and %q, want the same 17 characters", got.ID, again.ID)
	}
	want := actorObj{ID: got.ID, UserID: srv.UserID, Name: "my-actor", Username: "janedoe", Versions: []any{}}
	want.DefaultRunOptions.Build, want.DefaultRunOptions.TimeoutSecs, want.DefaultRunOptions.MemoryMbytes = "latest", 3600, 1024
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /v2/actors/janedoe~my-actor (-want +got):\n%s", diff)
	}

	run, err := srv.StartRun(ctxFor(t), "janedoe~my-actor", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if run.ActID != got.ID {
		t.Errorf("run's actId = %q, want the Actor's %q", run.ActID, got.ID)
	}
	var byID actorObj
	call(t, srv, srv.Token, "GET", "/v2/acts/"+got.ID, nil).data(t, &byID)
	want.Stats.TotalRuns = 1
	if diff := cmp.Diff(want, byID); diff != "" {
		t.Errorf("GET /v2/acts/{id} after a run (-want +got):\n%s", diff)
	}

	var list client.Page[actorObj]
	call(t, srv, srv.Token, "GET", "/v2/actors?desc=1", nil).data(t, &list)
	var names []string
	for _, a := range list.Items {
		names = append(names, a.Username+"~"+a.Name)
	}
	if diff := cmp.Diff([]string{"janedoe~my-actor", "janedoe~registered"}, names); diff != "" || list.Total != 2 {
		t.Errorf("GET /v2/actors?desc=1: total %d (-want +got):\n%s", list.Total, diff)
	}
	call(t, other, other.Token, "GET", "/v2/actors", nil).data(t, &list)
	if list.Total != 1 {
		t.Errorf("the other server lists %d Actors, want 1", list.Total)
	}

	var task struct{ ID, ActID, Name, Username string }
	call(t, srv, srv.Token, "GET", "/v2/actor-tasks/janedoe~my-task", nil).data(t, &task)
	if task.Name != "my-task" || task.Username != "janedoe" || len(task.ActID) != 17 {
		t.Errorf("GET /v2/actor-tasks/janedoe~my-task = %+v", task)
	}
	var tasks client.Page[struct{ ID string }]
	call(t, srv, srv.Token, "GET", "/v2/actor-tasks", nil).data(t, &tasks)
	if tasks.Total != 1 || tasks.Items[0].ID != task.ID {
		t.Errorf("GET /v2/actor-tasks = %+v, want the task %s", tasks, task.ID)
	}
}

func TestJobRunLists(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ctx := ctxFor(t)
	var ids []string
	for _, ref := range []string{"a~one", "a~two", "a~one", "a~one"} {
		run, err := srv.StartRun(ctx, ref, nil, client.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
	}
	if _, err := srv.FinishRun(ids[0], client.StatusSucceeded, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.FinishRun(ids[2], client.StatusFailed, 1); err != nil {
		t.Fatal(err)
	}
	taskRun := call(t, srv, srv.Token, "POST", "/v2/actor-tasks/a~task/runs", nil)
	var tr client.Run
	taskRun.data(t, &tr)

	tests := []struct {
		path string
		want []string
	}{
		{"/v2/actors/a~one/runs", []string{ids[0], ids[2], ids[3]}},
		{"/v2/acts/a~one/runs?desc=true&limit=2", []string{ids[3], ids[2]}},
		{"/v2/actors/a~one/runs?offset=1", []string{ids[2], ids[3]}},
		{"/v2/actors/a~one/runs?status=SUCCEEDED,FAILED", []string{ids[0], ids[2]}},
		{"/v2/actors/a~one/runs?status=RUNNING", []string{ids[3]}},
		{"/v2/actors/a~two/runs", []string{ids[1]}},
		{"/v2/actors/a~none/runs", nil},
		{"/v2/actor-tasks/a~task/runs", []string{tr.ID}},
	}
	for _, tt := range tests {
		var page client.Page[client.Run]
		call(t, srv, srv.Token, "GET", tt.path, nil).data(t, &page)
		var got []string
		for _, r := range page.Items {
			got = append(got, r.ID)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", tt.path, diff)
		}
	}
	wantBadRequest(t, call(t, srv, srv.Token, "GET", "/v2/actors/a~one/runs?status=DONE", nil), "status=DONE", "status")
}

func TestLastRun(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ctx := ctxFor(t)
	if r := call(t, srv, srv.Token, "GET", "/v2/actors/a~b/runs/last", nil); r.status != http.StatusNotFound || r.errorOf(t).Type != "record-not-found" {
		t.Errorf("runs/last without runs: %d %s, want 404 record-not-found", r.status, r.body)
	}
	first := endRun(t, srv)
	second, err := srv.StartRun(ctx, "a~b", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.AppendLog(first.ID, []byte("hello from the first run\n")); err != nil {
		t.Fatal(err)
	}
	call(t, srv, srv.Token, "POST", "/v2/actor-runs/"+first.ID+"/dataset/items", `{"n":1}`)

	tests := []struct {
		path, want string
	}{
		{"/v2/actors/a~b/runs/last", second.ID},
		{"/v2/acts/a~b/runs/last?status=SUCCEEDED", first.ID},
		{"/v2/actors/a~b/runs/last?status=RUNNING&origin=DEVELOPMENT", second.ID},
	}
	for _, tt := range tests {
		var run client.Run
		call(t, srv, srv.Token, "GET", tt.path, nil).data(t, &run)
		if run.ID != tt.want {
			t.Errorf("GET %s = run %s, want %s", tt.path, run.ID, tt.want)
		}
	}
	items := call(t, srv, srv.Token, "GET", "/v2/actors/a~b/runs/last/dataset/items?status=SUCCEEDED", nil)
	if string(items.body) != `[{"n":1}]` {
		t.Errorf("runs/last/dataset/items = %d %s", items.status, items.body)
	}
	logText := call(t, srv, srv.Token, "GET", "/v2/actors/a~b/runs/last/log?status=SUCCEEDED", nil)
	if untimed(t, logText.body) != startLine+"hello from the first run\n" {
		t.Errorf("runs/last/log = %d %q", logText.status, logText.body)
	}
	var aborted client.Run
	call(t, srv, srv.Token, "POST", "/v2/actors/a~b/runs/last/abort", nil).data(t, &aborted)
	if aborted.ID != second.ID || aborted.Status != client.StatusAborted {
		t.Errorf("runs/last/abort = %s %s, want %s ABORTED", aborted.ID, aborted.Status, second.ID)
	}
	if r := call(t, srv, srv.Token, "GET", "/v2/actors/a~b/runs/last/dataset?status=TIMED-OUT", nil); r.status != http.StatusNotFound {
		t.Errorf("runs/last/dataset with no such run: %d, want 404", r.status)
	}
}

func TestDeleteRun(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithUser("other", "other-token"))
	running, err := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ended := endRun(t, srv)
	tests := []struct {
		name, token, id string
		status          int
	}{
		{"running", srv.Token, running.ID, http.StatusBadRequest},
		{"unknown", srv.Token, "NoSuchRunAtAll00", http.StatusNotFound},
		{"another user's", "other-token", ended.ID, http.StatusNotFound},
		{"ended", srv.Token, ended.ID, http.StatusNoContent},
		{"deleted", srv.Token, ended.ID, http.StatusNotFound},
	}
	for _, tt := range tests {
		if r := call(t, srv, tt.token, "DELETE", "/v2/actor-runs/"+tt.id, nil); r.status != tt.status {
			t.Errorf("%s: DELETE = %d %s, want %d", tt.name, r.status, r.body, tt.status)
		}
	}
	for _, path := range []string{"/v2/actor-runs/" + ended.ID, "/v2/datasets/" + ended.DefaultDatasetID} {
		if r := call(t, srv, srv.Token, "GET", path, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s after the run's deletion: %d, want 404", path, r.status)
		}
	}
	if _, ok := srv.Run(running.ID); !ok {
		t.Error("the running run went too")
	}
}

func TestActorRunByID(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	run, err := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got client.Run
	call(t, srv, srv.Token, "GET", "/v2/actors/a~b/runs/"+run.ID, nil).data(t, &got)
	if got.ID != run.ID {
		t.Errorf("GET /v2/actors/a~b/runs/{runId} = %s, want %s", got.ID, run.ID)
	}
	for _, path := range []string{"/v2/actors/a~other/runs/" + run.ID, "/v2/acts/a~b/runs/NoSuchRunAtAll00"} {
		if r := call(t, srv, srv.Token, "GET", path, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.status)
		}
	}
	call(t, srv, srv.Token, "POST", "/v2/acts/"+run.ActID+"/runs/"+run.ID+"/abort", nil).data(t, &got)
	if got.Status != client.StatusAborted {
		t.Errorf("POST .../runs/{runId}/abort: status %s, want ABORTED", got.Status)
	}
}

func TestJobWebhooks(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	rc := newReceiver(t)
	create := func(cond map[string]string) string {
		var wh client.Webhook
		call(t, srv, srv.Token, "POST", "/v2/webhooks", map[string]any{
			"eventTypes": []string{"ACTOR.RUN.SUCCEEDED"}, "condition": cond, "requestUrl": rc.URL,
		}).data(t, &wh)
		return wh.ID
	}
	onActor := create(map[string]string{"actorId": "a~b"})
	onTask := create(map[string]string{"actorTaskId": "a~task"})
	create(map[string]string{"actorId": "a~other"})
	endRun(t, srv, succeededHook(rc.URL)) // an ad-hoc webhook of a run of a~b
	tests := []struct {
		path string
		want []string
	}{
		{"/v2/actors/a~b/webhooks", []string{onActor}},
		{"/v2/acts/a~b/webhooks", []string{onActor}},
		{"/v2/actor-tasks/a~task/webhooks", []string{onTask}},
		{"/v2/actors/a~none/webhooks", nil},
	}
	for _, tt := range tests {
		var page client.Page[client.Webhook]
		call(t, srv, srv.Token, "GET", tt.path, nil).data(t, &page)
		var got []string
		for _, wh := range page.Items {
			got = append(got, wh.ID)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", tt.path, diff)
		}
	}
}

func TestTaskInput(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	inputs := make(chan string, 3)
	srv.RegisterActor("a~b", func(_ context.Context, _ []string, input []byte) error {
		inputs <- string(input)
		return nil
	})
	srv.RegisterTask("a~task", "a~b")
	if r := call(t, srv, srv.Token, "GET", "/v2/actor-tasks/a~task/input", nil); string(r.body) != "{}" {
		t.Errorf("input of a task without one: %s", r.body)
	}
	if r := call(t, srv, srv.Token, "PUT", "/v2/actor-tasks/a~task/input", `{"a": 1, "b": "saved"}`); r.status != http.StatusOK || string(r.body) != `{"a":1,"b":"saved"}` {
		t.Errorf("PUT input: %d %s", r.status, r.body)
	}
	wantBadRequest(t, call(t, srv, srv.Token, "PUT", "/v2/actor-tasks/a~task/input", `[1]`), "an array", "JSON object")
	var task struct{ Input map[string]any }
	call(t, srv, srv.Token, "GET", "/v2/actor-tasks/a~task", nil).data(t, &task)
	if diff := cmp.Diff(map[string]any{"a": 1.0, "b": "saved"}, task.Input); diff != "" {
		t.Errorf("the task's input (-want +got):\n%s", diff)
	}
	tests := []struct{ body, want string }{
		{"", `{"a":1,"b":"saved"}`},
		{`{"b":"given","c":true}`, `{"a":1,"b":"given","c":true}`},
	}
	for _, tt := range tests {
		var body any
		if tt.body != "" {
			body = tt.body
		}
		call(t, srv, srv.Token, "POST", "/v2/actor-tasks/a~task/runs", body)
		if got := <-inputs; got != tt.want {
			t.Errorf("run started with %q: input %s, want %s", tt.body, got, tt.want)
		}
	}
}

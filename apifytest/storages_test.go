package apifytest_test

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/google/go-cmp/cmp"
)

// storageJSON is the part of a storage's JSON that every kind has.
type storageJSON struct {
	ID                  string  `json:"id"`
	Name                *string `json:"name"`
	UserID              string  `json:"userId"`
	ActRunID            *string `json:"actRunId"`
	ConsoleURL          string  `json:"consoleUrl"`
	ItemCount           *int    `json:"itemCount"`
	CleanItemCount      *int    `json:"cleanItemCount"`
	TotalRequestCount   *int    `json:"totalRequestCount"`
	PendingRequestCount *int    `json:"pendingRequestCount"`
	HadMultipleClients  *bool   `json:"hadMultipleClients"`
}

// TestStorageCollections drives the collections of each kind through HTTP:
// get-or-create by name, lookup by ID and "username~name", list with and
// without unnamed storages, rename, delete.
func TestStorageCollections(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ path, console string }{
		{"/v2/datasets", "https://console.apify.com/storage/datasets/"},
		{"/v2/key-value-stores", "https://console.apify.com/storage/key-value-stores/"},
		{"/v2/request-queues", "https://console.apify.com/storage/request-queues/"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			srv := apifytest.NewTestServer(t)
			tok := srv.Token

			created := call(t, srv, tok, "POST", tc.path+"?name=my-store", nil)
			if created.status != http.StatusCreated {
				t.Fatalf("create: %d %s", created.status, created.body)
			}
			var st storageJSON
			created.data(t, &st)
			if st.Name == nil || *st.Name != "my-store" || st.UserID != srv.UserID || st.ConsoleURL != tc.console+st.ID {
				t.Errorf("created: %+v", st)
			}
			if loc := created.header.Get("Location"); loc != srv.URL+tc.path+"/"+st.ID {
				t.Errorf("Location %q", loc)
			}
			again := call(t, srv, tok, "POST", tc.path+"?name=my-store", nil)
			var st2 storageJSON
			again.data(t, &st2)
			if again.status != http.StatusOK || st2.ID != st.ID {
				t.Errorf("get-or-create again: %d, ID %s want %s", again.status, st2.ID, st.ID)
			}
			unnamed := call(t, srv, tok, "POST", tc.path, nil)
			var un storageJSON
			unnamed.data(t, &un)
			if unnamed.status != http.StatusCreated || un.Name != nil || un.ID == st.ID {
				t.Errorf("unnamed: %d %s", unnamed.status, unnamed.body)
			}

			for _, ref := range []string{st.ID, "~my-store", "user-" + srv.UserID + "~my-store"} {
				var got storageJSON
				r := call(t, srv, tok, "GET", tc.path+"/"+ref, nil)
				r.data(t, &got)
				if r.status != http.StatusOK || got.ID != st.ID {
					t.Errorf("GET %s: %d %s", ref, r.status, r.body)
				}
			}
			if r := call(t, srv, tok, "GET", tc.path+"/someone~my-store", nil); r.status != http.StatusNotFound || r.errorOf(t).Type != "record-not-found" {
				t.Errorf("another user's name: %d %s", r.status, r.body)
			}

			listIDs := func(query string) []string {
				var p client.Page[storageJSON]
				call(t, srv, tok, "GET", tc.path+query, nil).data(t, &p)
				var ids []string
				for _, it := range p.Items {
					ids = append(ids, it.ID)
				}
				return ids
			}
			if diff := cmp.Diff([]string{st.ID}, listIDs("")); diff != "" {
				t.Errorf("named list (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{st.ID, un.ID}, listIDs("?unnamed=1")); diff != "" {
				t.Errorf("unnamed list (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{un.ID, st.ID}, listIDs("?unnamed=true&desc=1")); diff != "" {
				t.Errorf("desc list (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{un.ID}, listIDs("?unnamed=1&offset=1&limit=5")); diff != "" {
				t.Errorf("offset list (-want +got):\n%s", diff)
			}
			if got := listIDs("?ownership=sharedWithMe"); len(got) != 0 {
				t.Errorf("shared: %v", got)
			}

			// Rename: a taken name is a conflict; a free one moves the name.
			if r := call(t, srv, tok, "PUT", tc.path+"/"+un.ID, map[string]any{"name": "my-store"}); r.status != http.StatusConflict || r.errorOf(t).Type != "name-not-unique" {
				t.Errorf("rename to a taken name: %d %s", r.status, r.body)
			}
			wantBadRequest(t, call(t, srv, tok, "PUT", tc.path+"/"+un.ID, map[string]any{"name": "-bad"}), "bad name", "name")
			wantBadRequest(t, call(t, srv, tok, "POST", tc.path+"?name="+strings.Repeat("a", 64), nil), "long name", "name")
			var renamed storageJSON
			call(t, srv, tok, "PUT", tc.path+"/"+st.ID, map[string]any{"name": "other"}).data(t, &renamed)
			if renamed.Name == nil || *renamed.Name != "other" {
				t.Errorf("renamed: %+v", renamed)
			}
			if r := call(t, srv, tok, "GET", tc.path+"/~my-store", nil); r.status != http.StatusNotFound {
				t.Errorf("old name after rename: %d", r.status)
			}
			if r := call(t, srv, tok, "DELETE", tc.path+"/~other", nil); r.status != http.StatusNoContent {
				t.Errorf("delete: %d %s", r.status, r.body)
			}
			if r := call(t, srv, tok, "GET", tc.path+"/"+st.ID, nil); r.status != http.StatusNotFound {
				t.Errorf("after delete: %d", r.status)
			}
			if r := call(t, srv, tok, "POST", tc.path+"?name=other", nil); r.status != http.StatusCreated {
				t.Errorf("name free after delete: %d", r.status)
			}
		})
	}
}

// TestStoragesPerUser checks that names are per user and storages are
// private.
func TestStoragesPerUser(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithUser("u2", "token-2"))
	var mine, theirs storageJSON
	call(t, srv, srv.Token, "POST", "/v2/datasets?name=shared-name", nil).data(t, &mine)
	call(t, srv, "token-2", "POST", "/v2/datasets?name=shared-name", nil).data(t, &theirs)
	if mine.ID == theirs.ID {
		t.Fatal("two users got the same dataset")
	}
	if r := call(t, srv, "token-2", "GET", "/v2/datasets/"+mine.ID, nil); r.status != http.StatusNotFound {
		t.Errorf("another user's dataset: %d", r.status)
	}
	if r := call(t, srv, "token-2", "GET", "/v2/datasets/user-"+srv.UserID+"~shared-name", nil); r.status != http.StatusNotFound {
		t.Errorf("another user's name: %d", r.status)
	}
}

// TestRunStorages checks the run's default storages under
// /v2/actor-runs/{runId}: the same storages as under their IDs.
func TestRunStorages(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ctx := ctxFor(t)
	run, err := srv.StartRun(ctx, "me~storages", []byte(`{"a":1}`), client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if run.DefaultRequestQueueID == "" {
		t.Fatal("no default request queue")
	}
	base := "/v2/actor-runs/" + run.ID
	for _, tc := range []struct{ sub, id string }{
		{"/dataset", run.DefaultDatasetID},
		{"/key-value-store", run.DefaultKeyValueStoreID},
		{"/request-queue", run.DefaultRequestQueueID},
	} {
		var st storageJSON
		r := call(t, srv, srv.Token, "GET", base+tc.sub, nil)
		r.data(t, &st)
		if r.status != http.StatusOK || st.ID != tc.id || st.ActRunID == nil || *st.ActRunID != run.ID {
			t.Errorf("%s: %d %s", tc.sub, r.status, r.body)
		}
	}
	if r := call(t, srv, srv.Token, "POST", base+"/dataset/items", `[{"x":1},{"x":2}]`); r.status != http.StatusCreated {
		t.Fatalf("push through the run: %d %s", r.status, r.body)
	}
	items, err := client.ListItems[map[string]int](ctx, srv.Client(), run.DefaultDatasetID, client.ItemsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]map[string]int{{"x": 1}, {"x": 2}}, items.Items); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	if r := call(t, srv, srv.Token, "GET", base+"/key-value-store/records/INPUT", nil); string(r.body) != `{"a":1}` {
		t.Errorf("INPUT through the run: %d %s", r.status, r.body)
	}
	if r := call(t, srv, srv.Token, "POST", base+"/request-queue/requests", map[string]string{"url": "https://example.com", "uniqueKey": "https://example.com"}); r.status != http.StatusCreated {
		t.Errorf("request through the run: %d %s", r.status, r.body)
	}
	head, err := srv.Client().RequestQueue(run.DefaultRequestQueueID).Head(ctx, 0)
	if err != nil || len(head.Items) != 1 || head.Items[0].ID != "EAaArVRs5qV39C9" {
		t.Errorf("head: %+v, %v", head, err)
	}
	if r := call(t, srv, srv.Token, "GET", "/v2/actor-runs/NoSuchRun12345678/dataset", nil); r.status != http.StatusNotFound {
		t.Errorf("missing run: %d", r.status)
	}
}

// TestStorageBodyLimit checks that a body over 9 MiB is a 413 with the
// platform's error type, for items, records and requests alike.
func TestStorageBodyLimit(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	run, err := srv.StartRun(ctxFor(t), "me~big", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	big := `{"a":"` + strings.Repeat("x", client.MaxPayloadBytes) + `"}`
	for _, path := range []string{
		"/v2/datasets/" + run.DefaultDatasetID + "/items",
		"/v2/key-value-stores/" + run.DefaultKeyValueStoreID + "/records/big",
		"/v2/request-queues/" + run.DefaultRequestQueueID + "/requests",
	} {
		r := call(t, srv, srv.Token, "POST", path, big)
		if r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: %d %s", path, r.status, r.body)
			continue
		}
		want := "The POST payload is too large (limit: 9437184 bytes, actual length: " + strconv.Itoa(len(big)) + " bytes)."
		if e := r.errorOf(t); e.Type != "request-too-large" || e.Message != want {
			t.Errorf("%s: %+v, want %q", path, e, want)
		}
	}
	// Exactly at the limit is accepted.
	atLimit := strings.Repeat("x", client.MaxPayloadBytes)
	if r := call(t, srv, srv.Token, "PUT", "/v2/key-value-stores/"+run.DefaultKeyValueStoreID+"/records/max", atLimit); r.status != http.StatusCreated {
		t.Errorf("at the limit: %d %s", r.status, r.body[:min(len(r.body), 200)])
	}
}

// TestStorageLimit checks that the storages of a user hold at most
// WithStorageLimit bytes, and that deleting frees them.
func TestStorageLimit(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithStorageLimit(1000))
	ctx := ctxFor(t)
	c := srv.Client()
	kv, err := c.GetOrCreateKeyValueStore(ctx, "limited")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetRecord(ctx, kv.ID, "a", make([]byte, 600), "application/octet-stream"); err != nil {
		t.Fatal(err)
	}
	err = c.SetRecord(ctx, kv.ID, "b", make([]byte, 600), "application/octet-stream")
	if ae, ok := err.(*client.APIError); !ok || ae.StatusCode != http.StatusForbidden || ae.Type != "limit-reached" {
		t.Fatalf("past the limit: %v", err)
	}
	// Replacing a record counts the difference.
	if err := c.SetRecord(ctx, kv.ID, "a", make([]byte, 900), "application/octet-stream"); err != nil {
		t.Errorf("replace within the limit: %v", err)
	}
	if err := c.DeleteKeyValueStore(ctx, kv.ID); err != nil {
		t.Fatal(err)
	}
	ds, err := c.GetOrCreateDataset(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PushItems(ctx, ds.ID, []map[string]string{{"x": strings.Repeat("y", 800)}}); err != nil {
		t.Errorf("after deleting the store: %v", err)
	}
	// A batch of requests past the limit: those that fit are added, the
	// others left unprocessed.
	q, err := c.GetOrCreateRequestQueue(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.RequestQueue(q.ID).AddRequests(ctx, []client.Request{
		{URL: "https://example.com/1"}, {URL: "https://example.com/" + strings.Repeat("2", 200)},
	}, client.RequestOptions{})
	if err != nil || len(res.ProcessedRequests) != 1 || len(res.UnprocessedRequests) != 1 {
		t.Errorf("batch past the limit: %+v, %v", res, err)
	}
}

// TestListMismatchesFixed checks the fields the API description requires
// of list items: usageTotalUsd of runs, doNotRetry and ignoreSslErrors of
// webhooks; and that a run list takes several statuses.
func TestListMismatchesFixed(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ctx := ctxFor(t)
	ok, err := srv.StartRun(ctx, "me~a", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	running, err := srv.StartRun(ctx, "me~a", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	failed, err := srv.StartRun(ctx, "me~a", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.FinishRun(ok.ID, client.StatusSucceeded, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.FinishRun(failed.ID, client.StatusFailed, 1); err != nil {
		t.Fatal(err)
	}
	var runs client.Page[map[string]any]
	r := call(t, srv, srv.Token, "GET", "/v2/actor-runs?status=SUCCEEDED,FAILED", nil)
	r.data(t, &runs)
	var ids []string
	for _, it := range runs.Items {
		ids = append(ids, it["id"].(string))
		if v, has := it["usageTotalUsd"]; !has || v != 0.0 {
			t.Errorf("run list item usageTotalUsd = %v, %v", v, has)
		}
	}
	if diff := cmp.Diff([]string{ok.ID, failed.ID}, ids); diff != "" {
		t.Errorf("status=SUCCEEDED,FAILED (-want +got):\n%s", diff)
	}
	_ = running
	wantBadRequest(t, call(t, srv, srv.Token, "GET", "/v2/actor-runs?status=SUCCEEDED,NOPE", nil), "bad status", "NOPE")

	if _, err := srv.Client().CreateWebhook(ctx, client.WebhookCondition{ActorID: "a1"}, client.WebhookDefinition{
		EventTypes: []client.EventType{client.EventActorRunSucceeded}, RequestURL: "https://example.com/hook",
	}); err != nil {
		t.Fatal(err)
	}
	var hooks client.Page[map[string]any]
	call(t, srv, srv.Token, "GET", "/v2/webhooks", nil).data(t, &hooks)
	for _, h := range hooks.Items {
		if h["doNotRetry"] != false || h["ignoreSslErrors"] != false {
			t.Errorf("webhook list item: doNotRetry %v, ignoreSslErrors %v", h["doNotRetry"], h["ignoreSslErrors"])
		}
	}
}

// TestStorageRetention checks that the retention evicts the default
// storages of a run, unless they were given a name.
func TestStorageRetention(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithRetention(1, 0))
	first := endRun(t, srv)
	r := call(t, srv, srv.Token, "PUT", "/v2/datasets/"+first.DefaultDatasetID, map[string]string{"name": "kept"})
	if r.status != http.StatusOK {
		t.Fatalf("rename: %d %s", r.status, r.body)
	}
	endRun(t, srv) // evicts the first run
	if _, ok := srv.Run(first.ID); ok {
		t.Fatal("the first run was not evicted")
	}
	if r := call(t, srv, srv.Token, "GET", "/v2/key-value-stores/"+first.DefaultKeyValueStoreID, nil); r.status != http.StatusNotFound {
		t.Errorf("evicted run's store: %d", r.status)
	}
	if r := call(t, srv, srv.Token, "GET", "/v2/datasets/~kept", nil); r.status != http.StatusOK {
		t.Errorf("named dataset of an evicted run: %d", r.status)
	}
	var stores client.Page[storageJSON]
	call(t, srv, srv.Token, "GET", "/v2/key-value-stores?unnamed=1", nil).data(t, &stores)
	if stores.Total != 1 {
		t.Errorf("stores after eviction: %d, want the second run's only", stores.Total)
	}
}

// storageInfo is what the tests read of a storage.
type storageInfo struct{ id, name, consoleURL string }

// storageOps are the Go client's calls on one kind of storage, reduced to
// storageInfo and IDs.
type storageOps struct {
	kind        string
	getOrCreate func(ctx context.Context, c *client.Client, name string) (storageInfo, error)
	get         func(ctx context.Context, c *client.Client, id string) (storageInfo, error)
	rename      func(ctx context.Context, c *client.Client, id, name string) (storageInfo, error)
	del         func(ctx context.Context, c *client.Client, id string) error
	all         func(ctx context.Context, c *client.Client, o client.StorageListOptions) ([]string, error)
}

// opsOf makes the storageOps of kind from the client's methods for it and
// info, which reads a storage of type T.
func opsOf[T any](kind string,
	getOrCreate, get func(*client.Client, context.Context, string) (*T, error),
	update func(*client.Client, context.Context, string, client.StorageUpdate) (*T, error),
	del func(*client.Client, context.Context, string) error,
	all func(*client.Client, context.Context, client.StorageListOptions) iter.Seq2[T, error],
	info func(T) storageInfo,
) storageOps {
	read := func(v *T, err error) (storageInfo, error) {
		if err != nil {
			return storageInfo{}, err
		}
		return info(*v), nil
	}
	return storageOps{
		kind: kind,
		getOrCreate: func(ctx context.Context, c *client.Client, name string) (storageInfo, error) {
			return read(getOrCreate(c, ctx, name))
		},
		get: func(ctx context.Context, c *client.Client, id string) (storageInfo, error) {
			return read(get(c, ctx, id))
		},
		rename: func(ctx context.Context, c *client.Client, id, name string) (storageInfo, error) {
			return read(update(c, ctx, id, client.StorageUpdate{Name: &name}))
		},
		del: func(ctx context.Context, c *client.Client, id string) error { return del(c, ctx, id) },
		all: func(ctx context.Context, c *client.Client, o client.StorageListOptions) ([]string, error) {
			return collect(all(c, ctx, o), func(v T) string { return info(v).id })
		},
	}
}

// collect returns the IDs an iterator of storages yields.
func collect[T any](seq iter.Seq2[T, error], id func(T) string) ([]string, error) {
	var ids []string
	for s, err := range seq {
		if err != nil {
			return nil, err
		}
		ids = append(ids, id(s))
	}
	return ids, nil
}

// TestStoragesThroughClient drives each kind of storage with the Go
// client: get-or-create by name, get by ID and name, rename, list page by
// page, delete.
func TestStoragesThroughClient(t *testing.T) {
	t.Parallel()
	type C = client.Client
	for _, ops := range []storageOps{
		opsOf("dataset", (*C).GetOrCreateDataset, (*C).GetDataset, (*C).UpdateDataset, (*C).DeleteDataset, (*C).AllDatasets,
			func(d client.Dataset) storageInfo { return storageInfo{d.ID, d.Name, d.ConsoleURL} }),
		opsOf("key-value-store", (*C).GetOrCreateKeyValueStore, (*C).GetKeyValueStore, (*C).UpdateKeyValueStore,
			(*C).DeleteKeyValueStore, (*C).AllKeyValueStores,
			func(s client.KeyValueStore) storageInfo { return storageInfo{s.ID, s.Name, s.ConsoleURL} }),
		opsOf("request-queue", (*C).GetOrCreateRequestQueue, (*C).GetRequestQueue, (*C).UpdateRequestQueue,
			(*C).DeleteRequestQueue, (*C).AllRequestQueues,
			func(q client.RequestQueue) storageInfo { return storageInfo{q.ID, q.Name, q.ConsoleURL} }),
	} {
		t.Run(ops.kind, func(t *testing.T) {
			t.Parallel()
			srv := apifytest.NewTestServer(t)
			ctx := ctxFor(t)
			c := srv.Client()
			var named []string
			for i := range 5 {
				st, err := ops.getOrCreate(ctx, c, "store-"+strconv.Itoa(i))
				if err != nil || st.name != "store-"+strconv.Itoa(i) {
					t.Fatalf("getOrCreate: %+v %v", st, err)
				}
				named = append(named, st.id)
			}
			again, err := ops.getOrCreate(ctx, c, "store-2")
			if err != nil || again.id != named[2] {
				t.Errorf("getOrCreate again: %s, want %s (%v)", again.id, named[2], err)
			}
			st, err := ops.getOrCreate(ctx, c, "")
			if err != nil {
				t.Fatal(err)
			}
			unnamed := st.id
			if st, err := ops.get(ctx, c, "~store-3"); err != nil || st.name != "store-3" {
				t.Errorf("get by name: %q, %v", st.name, err)
			}
			if st, err := ops.get(ctx, c, named[0]); err != nil || !strings.HasSuffix(st.consoleURL, "/"+named[0]) {
				t.Errorf("consoleUrl %q, %v", st.consoleURL, err)
			}
			got, err := ops.all(ctx, c, client.StorageListOptions{ListOptions: client.ListOptions{Limit: 2}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(named, got); diff != "" {
				t.Errorf("all named, by pages of 2 (-want +got):\n%s", diff)
			}
			got, err = ops.all(ctx, c, client.StorageListOptions{Unnamed: true, ListOptions: client.ListOptions{Limit: 4}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(append(append([]string(nil), named...), unnamed), got); diff != "" {
				t.Errorf("all with unnamed (-want +got):\n%s", diff)
			}
			if st, err := ops.rename(ctx, c, unnamed, "renamed"); err != nil || st.name != "renamed" {
				t.Errorf("rename: %q, %v", st.name, err)
			}
			var ae *client.APIError
			if _, err := ops.rename(ctx, c, unnamed, "store-1"); !errors.As(err, &ae) || ae.StatusCode != http.StatusConflict {
				t.Errorf("rename to a taken name: %v", err)
			}
			if err := ops.del(ctx, c, named[0]); err != nil {
				t.Fatal(err)
			}
			if _, err := ops.get(ctx, c, named[0]); !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound {
				t.Errorf("get deleted: %v", err)
			}
		})
	}
}

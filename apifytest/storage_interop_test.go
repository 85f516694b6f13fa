package apifytest_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/internal/nodetest"
	"github.com/google/go-cmp/cmp"
)

// runNode runs script (a path relative to the package) with node, with env
// added to the environment, for at most two minutes (node is slow on a busy
// machine), and returns what it printed; a failure ends the test with what
// it wrote to stderr.
func runNode(ctx context.Context, t *testing.T, node, script string, env ...string) []byte {
	t.Helper()
	path, err := filepath.Abs(script)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, path)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	return stdout
}

// TestJSClientStorageInterop drives the storage API with the official JS
// API client, apify-client, unmodified: datasets, key-value stores, request
// queues and a run's default storages; then reads back with the Go client
// what the JS client wrote.
func TestJSClientStorageInterop(t *testing.T) {
	t.Parallel()
	dir := nodetest.Install(t, nodetest.ApifyClient)
	node := nodetest.Node(t)
	srv := apifytest.NewTestServer(t)
	stdout := runNode(t.Context(), t, node, "testdata/storage_interop.js",
		"NODE_MODULES="+filepath.Join(dir, "node_modules"), "APIFY_API_BASE_URL="+srv.URL, "APIFY_TOKEN="+srv.Token)
	type head struct {
		Items []struct {
			ID, URL       string
			LockExpiresAt *time.Time
		}
		HadMultipleClients, QueueHasLockedRequests bool
		LockSecs                                   int
	}
	var out struct {
		DatasetAgain bool
		Page         struct {
			Items                []map[string]int
			Total, Offset, Count int
			Desc                 bool
		}
		Clean    []map[string]any
		AllCount int
		CSV      string
		Dataset  client.Dataset
		Datasets client.Page[client.Dataset]
		Obj      map[string]int
		Text     struct{ Value, ContentType string }
		Bin      []byte
		Missing  bool
		Exists   []bool
		KeysPage struct {
			Items                 []client.KeyInfo
			IsTruncated           bool
			NextExclusiveStartKey *string
		}
		AllKeys           []string
		AfterDelete       bool
		Added, AddedAgain client.RequestRegistration
		Batch             struct{ Processed, Unprocessed int }
		Head, Locked      head
		Prolonged         struct{ LockExpiresAt time.Time }
		Handled           client.RequestRegistration
		HeadAfter         head
		DeletedGone       bool
		Unlocked          struct{ UnlockedCount int }
		Listed            int
		Queue             client.RequestQueue
		RunItems          []map[string]bool
		RunQueue          client.RequestQueue
		RunID             string
	}
	if err := json.Unmarshal(stdout, &out); err != nil {
		t.Fatalf("script output: %v\n%s", err, stdout)
	}

	// Datasets.
	if !out.DatasetAgain {
		t.Error("getOrCreate by name made a second dataset")
	}
	if diff := cmp.Diff([]map[string]int{{"n": 5}, {"n": 4}, {"n": 3}}, out.Page.Items); diff != "" {
		t.Errorf("listItems page (-want +got):\n%s", diff)
	}
	if out.Page.Total != 101 || out.Page.Offset != 95 || !out.Page.Desc {
		t.Errorf("listItems pagination: %+v", out.Page)
	}
	if len(out.Clean) != 1 || out.Clean[0]["#hidden"] != nil || out.AllCount != 101 {
		t.Errorf("clean %v, all %d", out.Clean, out.AllCount)
	}
	if want := "\ufeffn,text\n0,item item item item item \n1,item item item item item \n"; out.CSV != want {
		t.Errorf("csv %q, want %q", out.CSV, want)
	}
	if out.Dataset.ItemCount != 101 || out.Dataset.Name != "js-dataset" || out.Dataset.ConsoleURL == "" {
		t.Errorf("dataset: %+v", out.Dataset)
	}
	if len(out.Datasets.Items) != 1 || out.Datasets.Items[0].Name != "js-dataset" {
		t.Errorf("datasets: %+v", out.Datasets)
	}

	// Key-value stores.
	if out.Obj["a"] != 1 || out.Text.Value != "hello" || !strings.HasPrefix(out.Text.ContentType, "text/plain") {
		t.Errorf("records: %v %+v", out.Obj, out.Text)
	}
	if diff := cmp.Diff([]byte{0, 1, 2, 255}, out.Bin); diff != "" {
		t.Errorf("binary record (-want +got):\n%s", diff)
	}
	if !out.Missing || !out.AfterDelete || !cmp.Equal([]bool{true, false}, out.Exists) {
		t.Errorf("missing %v, after delete %v, exists %v", out.Missing, out.AfterDelete, out.Exists)
	}
	var pageKeys []string
	for _, k := range out.KeysPage.Items {
		pageKeys = append(pageKeys, k.Key)
	}
	if !cmp.Equal([]string{"page-1", "page-2"}, pageKeys) || !out.KeysPage.IsTruncated || out.KeysPage.NextExclusiveStartKey == nil || *out.KeysPage.NextExclusiveStartKey != "page-2" {
		t.Errorf("keys page: %+v", out.KeysPage)
	}
	wantKeys := []string{"bin", "obj", "page-0"} // the JS client's limit is of all the keys it lists
	if diff := cmp.Diff(wantKeys, out.AllKeys); diff != "" {
		t.Errorf("all keys (-want +got):\n%s", diff)
	}

	// Request queues.
	if out.Added.RequestID != "EAaArVRs5qV39C9" || out.Added.WasAlreadyPresent || !out.AddedAgain.WasAlreadyPresent {
		t.Errorf("added %+v, again %+v", out.Added, out.AddedAgain)
	}
	if out.Batch.Processed != 20 || out.Batch.Unprocessed != 0 {
		t.Errorf("batch: %+v", out.Batch)
	}
	urls := func(h head) []string {
		var u []string
		for _, it := range h.Items {
			u = append(u, it.URL)
		}
		return u
	}
	if diff := cmp.Diff([]string{"https://example.com/first", "https://example.com", "https://example.com/1"}, urls(out.Head)); diff != "" {
		t.Errorf("head (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"https://example.com/first", "https://example.com"}, urls(out.Locked)); diff != "" {
		t.Errorf("locked (-want +got):\n%s", diff)
	}
	if out.Locked.LockSecs != 60 || !out.Locked.QueueHasLockedRequests || out.Locked.Items[0].LockExpiresAt == nil {
		t.Errorf("lock: %+v", out.Locked)
	}
	if time.Until(out.Prolonged.LockExpiresAt) < 90*time.Second {
		t.Errorf("prolonged to %v", out.Prolonged.LockExpiresAt)
	}
	if !out.Handled.WasAlreadyPresent || out.Handled.WasAlreadyHandled {
		t.Errorf("handled: %+v", out.Handled)
	}
	if diff := cmp.Diff([]string{"https://example.com", "https://example.com/1"}, urls(out.HeadAfter)); diff != "" {
		t.Errorf("head after (-want +got):\n%s", diff)
	}
	if !out.DeletedGone || out.Unlocked.UnlockedCount != 1 || out.Listed != 21 {
		t.Errorf("deleted gone %v, unlocked %d, listed %d", out.DeletedGone, out.Unlocked.UnlockedCount, out.Listed)
	}
	if q := out.Queue; q.TotalRequestCount != 21 || q.HandledRequestCount != 1 || q.PendingRequestCount != 20 || q.HadMultipleClients {
		t.Errorf("queue: total %d handled %d pending %d multiple %v", q.TotalRequestCount, q.HandledRequestCount, q.PendingRequestCount, q.HadMultipleClients)
	}

	// A run's default storages.
	run, ok := srv.Run(out.RunID)
	if !ok {
		t.Fatalf("run %s not found", out.RunID)
	}
	if !cmp.Equal([]map[string]bool{{"run": true}}, out.RunItems) || out.RunQueue.ID != run.DefaultRequestQueueID {
		t.Errorf("run items %v, queue %s want %s", out.RunItems, out.RunQueue.ID, run.DefaultRequestQueueID)
	}

	// What the JS client wrote, read with the Go client.
	c := srv.Client()
	kv, err := c.GetOrCreateKeyValueStore(t.Context(), "js-store")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := c.GetRecord(t.Context(), kv.ID, "bin")
	if err != nil || !cmp.Equal([]byte{0, 1, 2, 255}, rec.Value) {
		t.Errorf("Go reads the JS record: %+v, %v", rec, err)
	}
}

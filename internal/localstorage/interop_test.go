package localstorage

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/internal/nodetest"
)

// interopScript runs under the official JS SDK against the storage Go wrote:
// it reads Go's record, items and queue, handles the queue's requests, then
// writes a record, items and a queue for Go to read.
const interopScript = `
const { Actor } = require('apify');
(async () => {
	await Actor.init();
	const out = {};
	out.record = await Actor.getValue('FROM_GO');
	out.text = await Actor.getValue('GO_TEXT');
	out.html = await Actor.getValue('GO_HTML');
	const custom = await Actor.getValue('GO_CUSTOM');
	out.custom = Buffer.isBuffer(custom) ? custom.toString('hex') : custom;
	out.keys = [];
	await (await Actor.openKeyValueStore()).forEachKey((k) => { out.keys.push(k); });
	out.items = (await (await Actor.openDataset()).getData()).items;
	const rq = await Actor.openRequestQueue('go-queue');
	out.info = await rq.getInfo();
	out.fetched = [];
	for (let r; (r = await rq.fetchNextRequest()); ) {
		out.fetched.push({ url: r.url, userData: r.userData, retryCount: r.retryCount });
		await rq.markRequestHandled(r);
	}
	out.finished = await rq.isFinished();
	await Actor.setValue('FROM_JS', { from: 'js', n: [1, 2] });
	await Actor.setValue('JS_TEXT', 'plain text', { contentType: 'text/plain' });
	await Actor.setValue('JS_BIN', Buffer.from([0, 1, 254, 255]), { contentType: 'application/octet-stream' });
	await Actor.pushData([{ js: 1 }, { js: 2 }]);
	const jq = await Actor.openRequestQueue('js-queue');
	await jq.addRequest({ url: 'https://js.test/1', userData: { from: 'js' } });
	await jq.addRequest({ url: 'https://js.test/2' });
	const done = await jq.addRequest({ url: 'https://js.test/3' });
	const r3 = await jq.getRequest(done.requestId);
	await jq.markRequestHandled(r3);
	console.log('RESULT:' + JSON.stringify(out));
	await Actor.exit({ exit: false });
})().catch((e) => { console.error(e); process.exit(1); });
`

func TestInteropJS(t *testing.T) {
	t.Parallel()
	modules := nodetest.Install(t, nodetest.Apify)
	node := nodetest.Node(t)
	dir := t.TempDir()
	ctx := t.Context()

	// Go writes.
	s, err := New(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := s.KeyValueStore(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Set(ctx, "FROM_GO", []byte(`{"from":"go","list":[1,"two"]}`), "application/json; charset=utf-8"); err != nil {
		t.Fatal(err)
	}
	if err := kv.Set(ctx, "GO_TEXT", []byte("héllo"), "text/plain; charset=utf-8"); err != nil {
		t.Fatal(err)
	}
	// These two get a record metadata file: the extension alone would give
	// text/html; charset=utf-8 and application/octet-stream.
	if err := kv.Set(ctx, "GO_HTML", []byte("<p>hi</p>"), "text/html"); err != nil {
		t.Fatal(err)
	}
	if err := kv.Set(ctx, "GO_CUSTOM", []byte{0xca, 0xfe}, "application/x-custom"); err != nil {
		t.Fatal(err)
	}
	d, err := s.Dataset(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Push(ctx, json.RawMessage(`{"go":1}`), json.RawMessage(`{"go":2,"nested":{"a":[true]}}`), json.RawMessage(`{"go":3}`)); err != nil {
		t.Fatal(err)
	}
	q, err := s.RequestQueue(ctx, "go-queue")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		req Request
		ff  bool
	}{
		{Request{URL: "https://go.test/1", UniqueKey: "https://go.test/1", UserData: json.RawMessage(`{"label":"L"}`)}, false},
		{Request{URL: "https://go.test/2", UniqueKey: "https://go.test/2"}, false},
		{Request{URL: "https://go.test/ff", UniqueKey: "https://go.test/ff", RetryCount: 1}, true},
		{Request{URL: "https://go.test/done", UniqueKey: "https://go.test/done", HandledAt: ptr(time.Now())}, false},
	} {
		if _, err := q.Add(ctx, r.req, AddOptions{Forefront: r.ff}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// JS reads and writes.
	script := filepath.Join(t.TempDir(), "interop.cjs")
	if err := os.WriteFile(script, []byte(interopScript), 0o644); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, node, script)
	cmd.Env = append(os.Environ(),
		"NODE_PATH="+filepath.Join(modules, "node_modules"),
		EnvLocalStorageDir+"="+dir, EnvCrawleeStorageDir+"="+dir, // apify 3.7.2 reads only CRAWLEE_STORAGE_DIR
		EnvCrawleePurgeOnStart+"=0", "APIFY_LOG_LEVEL=WARNING")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	_, res, ok := strings.Cut(stdout.String(), "RESULT:")
	if !ok {
		t.Fatalf("no result from node\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	var out struct {
		Record  any
		Text    string
		HTML    string
		Custom  string
		Keys    []string
		Items   []any
		Info    struct{ PendingRequestCount, HandledRequestCount, TotalRequestCount int }
		Fetched []struct {
			URL        string
			UserData   map[string]any
			RetryCount int
		}
		Finished bool
	}
	if err := json.Unmarshal([]byte(strings.SplitN(res, "\n", 2)[0]), &out); err != nil {
		t.Fatalf("result %q: %v", res, err)
	}
	if diff := cmp.Diff(map[string]any{"from": "go", "list": []any{1.0, "two"}}, out.Record); diff != "" {
		t.Errorf("JS read FROM_GO (-want +got):\n%s", diff)
	}
	if out.Text != "héllo" {
		t.Errorf("JS read GO_TEXT = %q", out.Text)
	}
	if out.HTML != "<p>hi</p>" || out.Custom != "cafe" {
		t.Errorf("JS read GO_HTML %q, GO_CUSTOM %q", out.HTML, out.Custom)
	}
	sort.Strings(out.Keys)
	if diff := cmp.Diff([]string{"FROM_GO", "GO_CUSTOM", "GO_HTML", "GO_TEXT"}, out.Keys); diff != "" {
		t.Errorf("JS listed keys (-want +got):\n%s", diff)
	}
	wantItems := []any{map[string]any{"go": 1.0}, map[string]any{"go": 2.0, "nested": map[string]any{"a": []any{true}}}, map[string]any{"go": 3.0}}
	if diff := cmp.Diff(wantItems, out.Items); diff != "" {
		t.Errorf("JS read items (-want +got):\n%s", diff)
	}
	if out.Info.PendingRequestCount != 3 || out.Info.HandledRequestCount != 1 || out.Info.TotalRequestCount != 4 {
		t.Errorf("JS read queue info %+v", out.Info)
	}
	if len(out.Fetched) != 3 || out.Fetched[0].URL != "https://go.test/ff" || out.Fetched[0].RetryCount != 1 {
		t.Fatalf("JS fetched %+v, want the forefront request first, then the two pending ones", out.Fetched)
	}
	urls := []string{out.Fetched[1].URL, out.Fetched[2].URL}
	sort.Strings(urls)
	if diff := cmp.Diff([]string{"https://go.test/1", "https://go.test/2"}, urls); diff != "" {
		t.Errorf("JS fetched (-want +got):\n%s", diff)
	}
	for _, f := range out.Fetched {
		if f.URL == "https://go.test/1" && f.UserData["label"] != "L" {
			t.Errorf("JS read userData %v", f.UserData)
		}
	}
	if !out.Finished {
		t.Error("JS: queue not finished after handling every request")
	}

	// Go reads what JS wrote.
	s2, err := New(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	kv2, err := s2.KeyValueStore(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []Record{
		{Key: "FROM_JS", ContentType: "application/json; charset=utf-8", Value: []byte("{\n  \"from\": \"js\",\n  \"n\": [\n    1,\n    2\n  ]\n}")},
		{Key: "JS_TEXT", ContentType: "text/plain; charset=utf-8", Value: []byte("plain text")},
		{Key: "JS_BIN", ContentType: "application/octet-stream", Value: []byte{0, 1, 254, 255}},
		{Key: "FROM_GO", ContentType: "application/json; charset=utf-8", Value: []byte(`{"from":"go","list":[1,"two"]}`)},
	} {
		got, err := kv2.Get(ctx, w.Key)
		if err != nil {
			t.Fatalf("Go Get(%s): %v", w.Key, err)
		}
		if diff := cmp.Diff(w, *got); diff != "" {
			t.Errorf("Go read %s (-want +got):\n%s", w.Key, diff)
		}
	}
	d2, err := s2.Dataset(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"go":1}`, `{"go":2,"nested":{"a":[true]}}`, `{"go":3}`, `{"js":1}`, `{"js":2}`}
	if diff := cmp.Diff(want, readItems(t, d2, ItemsOptions{})); diff != "" {
		t.Errorf("Go read items (-want +got):\n%s", diff)
	}
	gq, err := s2.RequestQueue(ctx, "go-queue")
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := gq.Info(ctx); info.PendingRequestCount != 0 || info.HandledRequestCount != 4 {
		t.Errorf("Go read go-queue info %+v, want all 4 handled by JS", info)
	}
	jq, err := s2.RequestQueue(ctx, "js-queue")
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := jq.Info(ctx); info.PendingRequestCount != 2 || info.HandledRequestCount != 1 {
		t.Errorf("Go read js-queue info %+v", info)
	}
	var got []string
	for {
		r, err := jq.FetchNext(ctx, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			break
		}
		got = append(got, r.URL+" "+string(r.UserData))
		if err := jq.MarkHandled(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(got)
	if diff := cmp.Diff([]string{`https://js.test/1 {"from":"js"}`, "https://js.test/2 {}"}, got); diff != "" {
		t.Errorf("Go fetched from js-queue (-want +got):\n%s", diff)
	}
}

func ptr[T any](v T) *T { return &v }

// TestInteropPurge purges the same tree with Go and with the JS SDK's start
// (Actor.init with purging on) and compares what is left.
func TestInteropPurge(t *testing.T) {
	t.Parallel()
	modules := nodetest.Install(t, nodetest.Apify)
	node := nodetest.Node(t)
	tree := []string{
		"key_value_stores/default/INPUT.json",
		"key_value_stores/default/INPUT.bin",
		"key_value_stores/default/INPUT",
		"key_value_stores/default/OUTPUT.json",
		"key_value_stores/default/OUTPUT.__metadata__.json",
		"key_value_stores/named/STATE.json",
		"datasets/default/000000001.json",
		"datasets/results/000000001.json",
		"request_queues/default/Lc4KTFBEGzPqcr0.json",
		"request_queues/crawl/Lc4KTFBEGzPqcr0.json",
	}
	goDir, jsDir := t.TempDir(), t.TempDir()
	for _, f := range tree {
		writeFile(t, filepath.Join(goDir, f), "{}")
		writeFile(t, filepath.Join(jsDir, f), "{}")
	}
	s, err := New(t.Context(), goDir, &Options{Purge: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	script := filepath.Join(t.TempDir(), "purge.cjs")
	src := `const { Actor } = require('apify'); (async () => { await Actor.init(); await Actor.openDataset(); await new Promise((r) => setTimeout(r, 200)); await Actor.exit({ exit: false }); })().catch((e) => { console.error(e); process.exit(1); });`
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(modules, "node_modules"),
		EnvCrawleeStorageDir+"="+jsDir, EnvCrawleePurgeOnStart+"=1", "APIFY_LOG_LEVEL=WARNING")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	// Crawlee removes the renamed directories in the background and writes
	// no metadata by default: compare the data files only.
	data := func(dir string) []string {
		var out []string
		for _, f := range files(t, dir) {
			if !strings.Contains(f, "__CRAWLEE_TEMPORARY") && !strings.Contains(f, "__OLD") && !strings.HasSuffix(f, "/"+metadataFile) {
				out = append(out, f)
			}
		}
		return out
	}
	if diff := cmp.Diff(data(jsDir), data(goDir)); diff != "" {
		t.Errorf("files left by purging, JS (-) and Go (+):\n%s", diff)
	}
}

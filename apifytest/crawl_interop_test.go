package apifytest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/internal/nodetest"
)

// sitePages is the number of pages of the loopback site: a binary tree,
// page n linking to 2n+1 and 2n+2.
const sitePages = 50

// TestJSSDKCrawlInterop runs a crawler written with the official JS SDK
// (apify, and Crawlee's request queue under it) as a run of the server:
// it crawls a loopback site into named storages, and the Go client checks
// what it left.
func TestJSSDKCrawlInterop(t *testing.T) {
	t.Parallel()
	dir := nodetest.Install(t, nodetest.Apify)
	node := nodetest.Node(t)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil || n < 0 || n >= sitePages {
			http.NotFound(w, r)
			return
		}
		var links strings.Builder
		for _, c := range []int{2*n + 1, 2*n + 2} {
			if c < sitePages {
				fmt.Fprintf(&links, `<a href="/%d">%d</a>`, c, c)
			}
		}
		fmt.Fprintf(w, "<html><title>page %d</title>%s</html>", n, links.String())
	}))
	defer site.Close()

	srv := apifytest.NewTestServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // node is slow on a busy machine
	defer cancel()
	run, err := srv.StartRun(ctx, "me~js-crawler", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runNode(ctx, t, node, "testdata/crawl_interop.js", append(srv.Env(run.ID),
		"NODE_MODULES="+filepath.Join(dir, "node_modules"), "SITE="+site.URL, "CRAWLEE_LOG_LEVEL=ERROR")...)

	c := srv.Client()
	var output struct{ Fetched, Keys int }
	if err := c.GetRecordJSON(ctx, run.DefaultKeyValueStoreID, "OUTPUT", &output); err != nil {
		t.Fatal(err)
	}
	if output.Fetched != sitePages+1 || output.Keys != sitePages {
		t.Errorf("the crawler fetched %d pages (want %d: one twice) and listed %d keys (want %d)", output.Fetched, sitePages+1, output.Keys, sitePages)
	}
	queues, err := c.ListRequestQueues(ctx, client.StorageListOptions{})
	if err != nil || len(queues.Items) != 1 || queues.Items[0].Name != "crawl-queue" {
		t.Fatalf("queues: %+v, %v", queues, err)
	}
	if q := queues.Items[0]; q.TotalRequestCount != sitePages || q.HandledRequestCount != sitePages || q.PendingRequestCount != 0 {
		t.Errorf("queue: total %d handled %d pending %d", q.TotalRequestCount, q.HandledRequestCount, q.PendingRequestCount)
	}
	ds, err := c.GetOrCreateDataset(ctx, "crawl-results")
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for it, err := range client.AllItems[struct{ URL string }](ctx, c, ds.ID, client.ItemsOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, it.URL)
	}
	slices.Sort(urls)
	if len(urls) != sitePages || len(slices.Compact(urls)) != sitePages {
		t.Errorf("dataset: %d items, want %d distinct pages", len(urls), sitePages)
	}
	kv, err := c.GetOrCreateKeyValueStore(ctx, "crawl-pages")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range c.AllKeys(ctx, kv.ID, client.KeysOptions{Prefix: "page-"}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != sitePages {
		t.Errorf("%d page records, want %d", n, sitePages)
	}
}

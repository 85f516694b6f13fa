package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/internal/nodetest"
	"github.com/go-apify/actor/internal/testenv"
)

// crawleeBasic is Crawlee's BasicCrawler at the version of the @crawlee/core
// that apify 3.7.2 installs with, so that npm keeps one @crawlee/core and
// the crawler uses the SDK's storage configuration.
const crawleeBasic = "@crawlee/basic@3.18.1"

// crawlStorage is what the run's storages hold, read through the API while
// apify-local delivers the run's end webhook.
type crawlStorage struct {
	items, handled, total int
	keys                  []string
	err                   error
}

// TestRunCrawleeBasicCrawler runs a Crawlee BasicCrawler of the official JS
// SDK (testdata/crawler_actor.js) under apify-local run over a loopback
// site of 60 linked pages: the crawler's default request queue (add, batch
// add, head and lock, mark handled), a named dataset and a named key-value
// store, and key listing with forEachKey all work against the local
// platform, as the Go client sees after the run. It takes about a second
// once the packages are installed, so it is not behind testenv.Long.
func TestRunCrawleeBasicCrawler(t *testing.T) {
	testenv.Long(t) // node processes: in the long suite, which .ci/run runs
	t.Parallel()
	dir := nodetest.Install(t, nodetest.Apify, crawleeBasic)
	node := nodetest.Node(t)
	script, err := filepath.Abs("testdata/crawler_actor.js")
	if err != nil {
		t.Fatal(err)
	}

	// Page i links to pages i+1 and 7i+3 (mod pages): every page is reached
	// from page 0, most of them more than once.
	const pages = 60
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/page/"))
		if err != nil || i < 0 || i >= pages {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<html><head><title>Page %d</title></head><body><a href="/page/%d">next</a> <a href="/page/%d">jump</a></body></html>`,
			i, (i+1)%pages, (7*i+3)%pages)
	}))
	defer site.Close()

	apiFile := filepath.Join(t.TempDir(), "api")
	got := make(chan crawlStorage, 1)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- readCrawlStorage(r, apiFile):
		default: // a second delivery: the first one counts
		}
	}))
	defer rc.Close()

	code, stdout, stderr := runLocal(t.Context(), "run", "--webhook", rc.URL+"/end", "--",
		node, script, dir, site.URL+"/page/0", apiFile)
	defer func() {
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
		}
	}()
	if code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if want := fmt.Sprintf("crawled: %d finished, 0 failed", pages); !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout lacks %q", want)
	}

	var s crawlStorage
	select {
	case s = <-got:
	default:
		t.Fatal("the run's end webhook was not delivered")
	}
	if s.err != nil {
		t.Fatalf("reading the storages through the API: %v", s.err)
	}
	if s.items != pages {
		t.Errorf("dataset crawl-results has %d items, want %d", s.items, pages)
	}
	if s.handled != pages || s.total != pages {
		t.Errorf("request queue: %d handled of %d, want %d of %d", s.handled, s.total, pages, pages)
	}
	var wantKeys []string
	for i := range pages {
		wantKeys = append(wantKeys, fmt.Sprintf("page--page-%d", i))
	}
	slices.Sort(wantKeys)
	if diff := cmp.Diff(wantKeys, s.keys); diff != "" {
		t.Errorf("keys of crawl-state through the API (-want +got):\n%s", diff)
	}
	// forEachKey listed the same keys, in the API's order.
	listed := "(no keys line)"
	for _, l := range strings.Split(stdout.String(), "\n") {
		if k, ok := strings.CutPrefix(l, "keys: "); ok {
			listed = k
		}
	}
	if diff := cmp.Diff(strings.Join(wantKeys, ","), listed); diff != "" {
		t.Errorf("keys listed by forEachKey (-want +got):\n%s", diff)
	}
}

// readCrawlStorage reads the named dataset's item count, the default
// request queue's counts and the named key-value store's keys through the
// API of the run whose base URL, token and request queue ID the Actor
// wrote to apiFile.
func readCrawlStorage(r *http.Request, apiFile string) (s crawlStorage) {
	ctx := r.Context()
	b, err := os.ReadFile(apiFile)
	if err != nil {
		return crawlStorage{err: err}
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		return crawlStorage{err: fmt.Errorf("%s: %d lines, want 3", apiFile, len(lines))}
	}
	c, err := client.New(client.WithBaseURL(lines[0]), client.WithToken(lines[1]))
	if err != nil {
		return crawlStorage{err: err}
	}
	ds, err := c.GetOrCreateDataset(ctx, "crawl-results")
	if err != nil {
		return crawlStorage{err: err}
	}
	s.items = ds.ItemCount
	q, err := c.GetRequestQueue(ctx, lines[2])
	if err != nil {
		return crawlStorage{err: err}
	}
	s.handled, s.total = q.HandledRequestCount, q.TotalRequestCount
	kv, err := c.GetOrCreateKeyValueStore(ctx, "crawl-state")
	if err != nil {
		return crawlStorage{err: err}
	}
	for k, err := range c.AllKeys(ctx, kv.ID, client.KeysOptions{}) {
		if err != nil {
			return crawlStorage{err: err}
		}
		s.keys = append(s.keys, k.Key)
	}
	return s
}

// Command storage is an Actor that crawls: it reads its input, crawls a
// small site through a request queue, pushes one result per page to its
// default dataset and stores a summary record in its default key-value
// store. The site is served on loopback by the program itself.
//
// Off the platform the storages are local files in the layout of the Apify
// CLI and the official SDKs. Without APIFY_LOCAL_STORAGE_DIR the program
// uses a new temporary directory, removed at the end, so that running it in
// a clone leaves nothing behind; set the variable to keep the files:
//
//	go run ./examples/storage
//	APIFY_LOCAL_STORAGE_DIR=./storage go run ./examples/storage
//	echo '{"maxPages": 3}' > storage/key_value_stores/default/INPUT.json   # then run again
//
// On the platform, or under apify-local, the same code uses the storage
// API:
//
//	go run ./cmd/apify-local run --input '{"maxPages": 3}' -- go run ./examples/storage
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-apify/actor"
)

// localStorageDir names the directory of the local storage; the SDKs also
// read CRAWLEE_STORAGE_DIR.
const localStorageDir = "APIFY_LOCAL_STORAGE_DIR"

// Input is the Actor's input.
type Input struct {
	// MaxPages is the most pages crawled.
	MaxPages int `json:"maxPages"`
	// MaxDepth is the most links followed from the start page.
	MaxDepth int `json:"maxDepth"`
}

// Page is one result: a crawled page.
type Page struct {
	URL   string `json:"url"`
	Title string `json:"title"`
	Depth int    `json:"depth"`
	Links int    `json:"links"`
}

// Summary is the record stored at the end.
type Summary struct {
	PagesCrawled int    `json:"pagesCrawled"`
	Failed       int    `json:"failed"`
	StartURL     string `json:"startUrl"`
}

func main() {
	cleanup := func() {}
	if actor.Default().StorageMode() == actor.StorageLocal && os.Getenv(localStorageDir) == "" && os.Getenv("CRAWLEE_STORAGE_DIR") == "" {
		dir, err := os.MkdirTemp("", "actor-storage-example-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Setenv(localStorageDir, dir)
		cleanup = func() { os.RemoveAll(dir) }
		fmt.Printf("storage: local files under %s (removed at the end; set %s to keep them)\n", dir, localStorageDir)
	}
	a := actor.New(
		actor.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
		actor.WithExitFunc(func(code int) {
			cleanup()
			os.Exit(code)
		}),
	)
	a.Main(func(ctx context.Context) error { return run(ctx, a) })
}

func run(ctx context.Context, a *actor.Actor) error {
	fmt.Printf("storage: %s mode\n", a.StorageMode())

	in := Input{MaxPages: 5, MaxDepth: 3}
	switch err := a.GetInput(ctx, &in); {
	case errors.Is(err, actor.ErrNoInput):
		fmt.Printf("input: none; using maxPages %d, maxDepth %d\n", in.MaxPages, in.MaxDepth)
	case err != nil:
		return err // a field of the wrong type is named in the error
	default:
		fmt.Printf("input: maxPages %d, maxDepth %d\n", in.MaxPages, in.MaxDepth)
	}
	if in.MaxPages < 1 || in.MaxPages > 1000 {
		return fmt.Errorf("input: maxPages %d is not between 1 and 1000", in.MaxPages)
	}

	site, stop, err := serveSite(12)
	if err != nil {
		return err
	}
	defer stop()

	q, err := a.OpenRequestQueue(ctx, "")
	if err != nil {
		return err
	}
	if _, err := q.AddRequest(ctx, actor.Request{URL: site + "/", UserData: []byte(`{"depth":0}`)}, actor.AddOptions{}); err != nil {
		return err
	}
	sum := Summary{StartURL: site + "/"}
	for sum.PagesCrawled < in.MaxPages {
		r, err := q.FetchNext(ctx, time.Minute)
		if err != nil {
			return err
		}
		if r == nil {
			break // nothing left: this loop handles one request at a time
		}
		if err := crawl(ctx, q, a, r, in.MaxDepth); err != nil {
			r.RetryCount++
			r.ErrorMessages = append(r.ErrorMessages, err.Error())
			if r.RetryCount < 3 {
				if err := q.Reclaim(ctx, r, actor.AddOptions{}); err != nil {
					return err
				}
				continue
			}
			sum.Failed++
			fmt.Printf("failed %s: %v\n", r.URL, err)
		} else {
			sum.PagesCrawled++
		}
		if err := q.MarkHandled(ctx, r); err != nil {
			return err
		}
	}
	if err := a.SetValue(ctx, "SUMMARY", sum); err != nil {
		return err
	}

	d, err := a.OpenDataset(ctx, "")
	if err != nil {
		return err
	}
	n := 0
	for p, err := range actor.Items[Page](ctx, d, actor.ItemsOptions{Fields: []string{"url", "title"}}) {
		if err != nil {
			return err
		}
		n++
		fmt.Printf("dataset: %s %q\n", p.URL, p.Title)
	}
	info, err := q.Info(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("queue: %d requests, %d handled\n", info.TotalRequestCount, info.HandledRequestCount)
	kv, err := a.OpenKeyValueStore(ctx, "")
	if err != nil {
		return err
	}
	rec, err := kv.GetRecord(ctx, "SUMMARY")
	if err != nil {
		return err
	}
	fmt.Printf("summary: %s\n", rec.Value)
	fmt.Printf("done: %d pages crawled, %d failed, %d items in the dataset\n", sum.PagesCrawled, sum.Failed, n)
	return nil
}

var (
	titleRe = regexp.MustCompile(`<title>([^<]*)</title>`)
	linkRe  = regexp.MustCompile(`href="([^"]+)"`)
)

// crawl fetches the page of r, pushes its result and enqueues its links.
func crawl(ctx context.Context, q *actor.RequestQueue, a *actor.Actor, r *actor.Request, maxDepth int) error {
	var ud struct {
		Depth int `json:"depth"`
	}
	if len(r.UserData) > 0 {
		if err := json.Unmarshal(r.UserData, &ud); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	page := Page{URL: r.URL, Depth: ud.Depth}
	if m := titleRe.FindSubmatch(body); m != nil {
		page.Title = html.UnescapeString(string(m[1]))
	}
	base, _ := url.Parse(r.URL)
	var links []actor.Request
	for _, m := range linkRe.FindAllSubmatch(body, -1) {
		u, err := base.Parse(html.UnescapeString(string(m[1])))
		if err != nil {
			continue
		}
		page.Links++
		if ud.Depth < maxDepth {
			links = append(links, actor.Request{URL: u.String(), UserData: []byte(`{"depth":` + strconv.Itoa(ud.Depth+1) + `}`)})
		}
	}
	fmt.Printf("crawled %s %q (depth %d, %d links)\n", page.URL, page.Title, page.Depth, page.Links)
	if err := a.PushData(ctx, page); err != nil {
		return err
	}
	r.LoadedURL = r.URL
	_, err = q.AddRequests(ctx, links, actor.AddOptions{})
	return err
}

// serveSite serves n linked pages on loopback: page i links to pages 2i
// and 2i+1 (a binary tree from page 1, "/"), and back to the start.
func serveSite(n int) (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := 1
		if r.URL.Path != "/" {
			num, ok := strings.CutPrefix(r.URL.Path, "/page/")
			v, err := strconv.Atoi(num)
			if !ok || err != nil || v < 2 || v > n {
				http.NotFound(w, r)
				return
			}
			i = v
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html><head><title>Page %d</title></head><body><a href=\"/\">home</a>", i)
		for _, c := range []int{2 * i, 2*i + 1} {
			if c <= n {
				fmt.Fprintf(w, ` <a href="/page/%d">page %d</a>`, c, c)
			}
		}
		fmt.Fprint(w, "</body></html>")
	})}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

package apifytest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// benchItems is n small items, as a crawler pushes them.
func benchItems(n int) []map[string]any {
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = map[string]any{"url": "https://example.com/" + strconv.Itoa(i), "title": "Page " + strconv.Itoa(i), "n": i}
	}
	return items
}

// BenchmarkPushItems pushes 1000 small items a call with the Go client;
// items/s is the server's and the client's throughput together.
func BenchmarkPushItems(b *testing.B) {
	srv := apifytest.NewTestServer(b, apifytest.WithStorageLimit(1<<40))
	c := srv.Client()
	ctx := context.Background()
	ds, err := c.GetOrCreateDataset(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	items := benchItems(1000)
	b.ResetTimer()
	for range b.N {
		if err := c.PushItems(ctx, ds.ID, items); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(items))/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkPushItemsBody posts a body of 10,000 small items as the JS
// client sends it (compact JSON; brotli at quality 6 past 1 KiB, gzip where
// brotli is missing) and as it stands: the server's side of a push alone.
// Every 10 pushes go to a new dataset (the old one deleted): 100,000
// items, as the bench program pushes.
func BenchmarkPushItemsBody(b *testing.B) {
	srv := apifytest.NewTestServer(b)
	c := srv.Client()
	ctx := context.Background()
	plain, err := json.Marshal(benchItems(10_000))
	if err != nil {
		b.Fatal(err)
	}
	var gz, br bytes.Buffer
	zw := gzip.NewWriter(&gz)
	bw := brotli.NewWriterLevel(&br, 6)
	for _, w := range []io.WriteCloser{zw, bw} {
		if _, err := w.Write(plain); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		encoding string
		body     []byte
	}{{"identity", plain}, {"gzip", gz.Bytes()}, {"br", br.Bytes()}} {
		b.Run(bc.encoding, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(plain)))
			var ds *client.Dataset
			for i := range b.N {
				if i%10 == 0 {
					if ds != nil {
						if err := c.DeleteDataset(ctx, ds.ID); err != nil {
							b.Fatal(err)
						}
					}
					var err error
					if ds, err = c.GetOrCreateDataset(ctx, ""); err != nil {
						b.Fatal(err)
					}
				}
				req, err := http.NewRequest(http.MethodPost, srv.URL+"/v2/datasets/"+ds.ID+"/items", bytes.NewReader(bc.body))
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+srv.Token)
				req.Header.Set("Content-Type", "application/json; charset=utf-8")
				req.Header.Set("Content-Encoding", bc.encoding)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			b.ReportMetric(float64(b.N*10_000)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkListItems reads pages of 1000 items of a 10,000-item dataset,
// plain and with fields and unwind.
func BenchmarkListItems(b *testing.B) {
	srv := apifytest.NewTestServer(b)
	c := srv.Client()
	ctx := context.Background()
	ds, err := c.GetOrCreateDataset(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	if err := c.PushItems(ctx, ds.ID, benchItems(10_000)); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		o    client.ItemsOptions
	}{
		{"plain", client.ItemsOptions{Limit: 1000}},
		{"fields", client.ItemsOptions{Limit: 1000, Fields: []string{"n", "url"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for i := range b.N {
				bc.o.Offset = i % 10 * 1000
				p, err := client.ListItems[json.RawMessage](ctx, c, ds.ID, bc.o)
				if err != nil || len(p.Items) != 1000 {
					b.Fatal(len(p.Items), err)
				}
			}
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkRequestQueueLoop runs a crawler's loop: lock the head, mark each
// request handled, over a queue of 1000 requests per iteration.
func BenchmarkRequestQueueLoop(b *testing.B) {
	srv := apifytest.NewTestServer(b, apifytest.WithStorageLimit(1<<40))
	c := srv.Client()
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		info, err := c.GetOrCreateRequestQueue(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		q := c.RequestQueue(info.ID)
		var rs []client.Request
		for j := range 1000 {
			rs = append(rs, client.Request{URL: "https://example.com/" + strconv.Itoa(i) + "/" + strconv.Itoa(j)})
		}
		if _, err := q.AddRequests(ctx, rs, client.RequestOptions{}); err != nil {
			b.Fatal(err)
		}
		for {
			h, err := q.LockHead(ctx, time.Minute, 25)
			if err != nil {
				b.Fatal(err)
			}
			if len(h.Items) == 0 {
				break
			}
			for _, r := range h.Items {
				full, err := q.GetRequest(ctx, r.ID)
				if err != nil {
					b.Fatal(err)
				}
				if err := q.MarkHandled(ctx, full); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "requests/s")
}

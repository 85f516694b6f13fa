package apifytest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// sink is a receiver that only counts.
func sink(b *testing.B) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.Add(1)
	}))
	b.Cleanup(srv.Close)
	return srv, &n
}

// BenchmarkDelivery measures webhook deliveries: b.N runs with one ad-hoc
// webhook each end one after another, and the default worker pool delivers.
func BenchmarkDelivery(b *testing.B) {
	rcv, got := sink(b)
	srv := apifytest.NewTestServer(b, apifytest.WithWebhookLimit(b.N+1))
	ids := make([]string, b.N)
	for i := range ids {
		run, err := srv.StartRun(context.Background(), "bench~deliveries", nil, client.StartOptions{Webhooks: []client.WebhookDefinition{succeededHook(rcv.URL)}})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = run.ID
	}
	b.ResetTimer()
	for _, id := range ids {
		if _, err := srv.FinishRun(id, client.StatusSucceeded, 0); err != nil {
			b.Fatal(err)
		}
	}
	if err := srv.WaitIdle(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if got.Load() != int64(b.N) {
		b.Fatalf("receiver got %d calls, want %d", got.Load(), b.N)
	}
}

// BenchmarkBareClient is the baseline for BenchmarkDelivery: b.N POSTs of a
// payload of the same size from 32 goroutines with a plain http.Client.
func BenchmarkBareClient(b *testing.B) {
	rcv, got := sink(b)
	payload := bytes.Repeat([]byte("x"), 1500)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: apifytest.DefaultDeliveryWorkers}}
	jobs := make(chan struct{}, b.N)
	for range b.N {
		jobs <- struct{}{}
	}
	close(jobs)
	b.ResetTimer()
	var wg sync.WaitGroup
	for range apifytest.DefaultDeliveryWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				resp, err := hc.Post(rcv.URL, "application/json", bytes.NewReader(payload))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if got.Load() != int64(b.N) {
		b.Fatalf("receiver got %d calls, want %d", got.Load(), b.N)
	}
}

// BenchmarkListRuns measures GET /v2/actor-runs?limit=1 with 50,000 runs:
// a list costs what it returns, not what the user has.
func BenchmarkListRuns(b *testing.B) {
	srv := apifytest.NewTestServer(b, apifytest.WithRetention(100_000, 0))
	for range 50_000 {
		if _, err := srv.StartRun(context.Background(), "bench~list", nil, client.StartOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	hc := &http.Client{}
	for _, query := range []string{"limit=1", "limit=1&desc=1", "limit=1&offset=25000&status=RUNNING"} {
		b.Run(query, func(b *testing.B) {
			req, err := http.NewRequest("GET", srv.URL+"/v2/actor-runs?"+query, nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+srv.Token)
			for b.Loop() {
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}

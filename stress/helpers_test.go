package stress

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/internal/faultproxy"
)

// faultRate is the share of requests the fault suites disturb.
const faultRate = 0.3

// attemptTimeout is the clients' per-attempt timeout under faults; the
// proxy's stalls last twice as long.
const attemptTimeout = 200 * time.Millisecond

// newFaultProxy puts a proxy injecting every kind of fault into 30% of the
// requests in front of srv; it is closed when the test ends.
func newFaultProxy(t *testing.T, srv *apifytest.Server, seed uint64) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(srv.Handler(), faultproxy.Options{Rate: faultRate, Seed: seed, Stall: 2 * attemptTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// faultyClientOptions are the options of a client that talks to the
// platform through a fault proxy: short backoffs so that the suites finish
// fast, a per-attempt timeout shorter than the stalls, and retries enough
// that 30% faults never exhaust them.
func faultyClientOptions(baseURL string) []client.Option {
	return []client.Option{
		client.WithBaseURL(baseURL),
		client.WithBackoff(time.Millisecond, 20*time.Millisecond),
		client.WithAttemptTimeout(attemptTimeout),
		client.WithMaxRetries(20),
	}
}

// parallel calls fn(i) for i in [0, n) on workers goroutines.
func parallel(workers, n int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// listRunIDs returns the IDs of every run of srv's default user, read
// through the API without faults (package client has no run list).
func listRunIDs(ctx context.Context, t *testing.T, srv *apifytest.Server) []string {
	t.Helper()
	var ids []string
	for offset := 0; ; {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			fmt.Sprintf("%s/v2/actor-runs?offset=%d&limit=1000", srv.URL, offset), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Data struct {
				Count int `json:"count"`
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("listing runs: status %d, %v", resp.StatusCode, err)
		}
		for _, it := range page.Data.Items {
			ids = append(ids, it.ID)
		}
		if page.Data.Count == 0 {
			return ids
		}
		offset += page.Data.Count
	}
}

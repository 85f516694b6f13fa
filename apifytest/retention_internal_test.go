package apifytest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-apify/actor/client"
)

// TestRetentionByAge checks that a run done longer ago than the retention's
// age is evicted, and that an eviction is scheduled for the next one.
func TestRetentionByAge(t *testing.T) {
	t.Parallel()
	s := NewTestServer(t, WithRetention(100, time.Hour))
	var ids []string
	for range 2 {
		run, err := s.StartRun(t.Context(), "a~b", nil, client.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.FinishRun(run.ID, client.StatusSucceeded, 0); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
	}
	s.mu.Lock()
	if s.evictTimer == nil {
		t.Error("no eviction scheduled")
	}
	s.done[0].at = time.Now().Add(-2 * time.Hour) // as if done two hours ago
	s.evictLocked()
	s.mu.Unlock()
	if _, ok := s.Run(ids[0]); ok {
		t.Error("the run done two hours ago is still there")
	}
	if _, ok := s.Run(ids[1]); !ok {
		t.Error("the run done just now was evicted")
	}
}

// TestListCostsItsPage checks that a list of one run allocates the same
// with 10 runs as with 10,000: it copies its page, not every record.
func TestListCostsItsPage(t *testing.T) {
	// Not parallel: AllocsPerRun counts every goroutine's allocations.
	allocs := func(n int) float64 {
		s := NewTestServer(t)
		for range n {
			if _, err := s.StartRun(t.Context(), "a~b", nil, client.StartOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		for _, path := range []string{"/v2/actor-runs?limit=1", "/v2/actor-runs?limit=1&desc=1", "/v2/webhook-dispatches?limit=1"} {
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+s.Token)
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d", path, rec.Code)
			}
		}
		req := httptest.NewRequest("GET", "/v2/actor-runs?limit=1", nil)
		req.Header.Set("Authorization", "Bearer "+s.Token)
		return testing.AllocsPerRun(20, func() { s.Handler().ServeHTTP(httptest.NewRecorder(), req) })
	}
	small, large := allocs(10), allocs(10_000)
	if large > small+20 {
		t.Errorf("a list of 1 run allocates %.0f times with 10,000 runs, %.0f with 10", large, small)
	}
}

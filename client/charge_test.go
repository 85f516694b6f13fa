package client

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestChargeRunRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		key     string
		wantKey []string
	}{
		{"with key", "run1-page-0", []string{"run1-page-0"}},
		{"without key", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var keys []string
			api := newFakeAPI(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				keys = append(keys, r.Header.Values("Idempotency-Key")...)
				mu.Unlock()
				writeJSON(w, http.StatusCreated, `{}`)
			})
			err := newTestClient(t, api.srv.URL).ChargeRun(t.Context(), "run1", "page", 3, ChargeOptions{IdempotencyKey: tc.key})
			if err != nil {
				t.Fatal(err)
			}
			reqs := api.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			got := []string{r.Method, r.Path, r.Header.Get("Content-Type"), r.Body, r.Header.Get("Authorization")}
			want := []string{"POST", "/v2/actor-runs/run1/charge", "application/json", `{"eventName":"page","count":3}`, "Bearer " + testToken}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.wantKey == nil { // a key made for the call
				if len(keys) != 1 || len(keys[0]) < 20 {
					t.Errorf("idempotency keys %q, want one random key", keys)
				}
				return
			}
			if diff := cmp.Diff(tc.wantKey, keys); diff != "" {
				t.Errorf("idempotency keys (-want +got):\n%s", diff)
			}
		})
	}
}

// A charge is retried after a 500, which may come after the platform
// charged: the key, given or made for the call, is the same on every
// attempt, which makes that harmless.
func TestChargeRunRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		key       string
		wantCalls int
		wantErr   bool
	}{
		{"with key", "k1", 2, false},
		{"without key", "", 2, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 0 {
					writeJSON(w, http.StatusInternalServerError, `{"error":{"type":"internal-server-error","message":"boom"}}`)
					return
				}
				writeJSON(w, http.StatusCreated, `{}`)
			})
			err := newTestClient(t, api.srv.URL).ChargeRun(t.Context(), "run1", "page", 1, ChargeOptions{IdempotencyKey: tc.key})
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, want error: %t", err, tc.wantErr)
			}
			reqs := api.requests()
			if len(reqs) != tc.wantCalls {
				t.Fatalf("got %d requests, want %d", len(reqs), tc.wantCalls)
			}
			if k0, k1 := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key"); k0 == "" || k0 != k1 {
				t.Errorf("idempotency keys %q and %q, want one key on both attempts", k0, k1)
			}
		})
	}
}

func TestChargeRunValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		runID   string
		event   string
		count   int
		key     string
		wantErr string
	}{
		{"no run", " ", "page", 1, "", "run ID is empty"},
		{"no event", "run1", " ", 1, "", "eventName: is empty"},
		{"long event", "run1", strings.Repeat("e", MaxEventNameBytes+1), 1, "", "eventName: is longer than"},
		{"zero count", "run1", "page", 0, "", "count: 0 is not a positive"},
		{"negative count", "run1", "page", -2, "", "count: -2 is not a positive"},
		{"long key", "run1", "page", 1, strings.Repeat("k", MaxIdempotencyKeyBytes+1), "IdempotencyKey: is longer than"},
		{"key with newline", "run1", "page", 1, "a\nb", "IdempotencyKey: has control characters"},
		{"key with spaces", "run1", "page", 1, " a", "IdempotencyKey: has control characters or surrounding spaces"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusCreated, `{}`) })
			err := newTestClient(t, api.srv.URL).ChargeRun(t.Context(), tc.runID, tc.event, tc.count, ChargeOptions{IdempotencyKey: tc.key})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if n := len(api.requests()); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
}

package client

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRestartRequests(t *testing.T) {
	t.Parallel()
	yes := true
	tests := []struct {
		name      string
		call      func(ctx context.Context, c *Client) (*Run, error)
		wantPath  string
		wantQuery string
		wantType  string
		wantBody  string
	}{
		{"reboot", func(ctx context.Context, c *Client) (*Run, error) { return c.RebootRun(ctx, "run1") },
			"/v2/actor-runs/run1/reboot", "", "", ""},
		{"metamorph JSON", func(ctx context.Context, c *Client) (*Run, error) {
			return c.MetamorphRun(ctx, "run1", "user/target", map[string]int{"n": 1}, MetamorphOptions{Build: "beta"})
		}, "/v2/actor-runs/run1/metamorph", "build=beta&targetActorId=user~target", "application/json", `{"n":1}`},
		{"metamorph raw", func(ctx context.Context, c *Client) (*Run, error) {
			return c.MetamorphRun(ctx, "run1", "T1", []byte("hello"), MetamorphOptions{ContentType: "text/plain"})
		}, "/v2/actor-runs/run1/metamorph", "targetActorId=T1", "text/plain", "hello"},
		{"metamorph without input", func(ctx context.Context, c *Client) (*Run, error) {
			return c.MetamorphRun(ctx, "run1", "T1", nil, MetamorphOptions{})
		}, "/v2/actor-runs/run1/metamorph", "targetActorId=T1", "", ""},
		{"resurrect", func(ctx context.Context, c *Client) (*Run, error) {
			return c.ResurrectRun(ctx, "run1", ResurrectOptions{})
		}, "/v2/actor-runs/run1/resurrect", "", "", ""},
		{"resurrect with options", func(ctx context.Context, c *Client) (*Run, error) {
			return c.ResurrectRun(ctx, "run1", ResurrectOptions{
				Build: "0.1.2", MemoryMbytes: 512, Timeout: 1500 * time.Millisecond, MaxItems: 10,
				MaxTotalChargeUSD: 2.5, RestartOnError: &yes,
			})
		}, "/v2/actor-runs/run1/resurrect",
			"build=0.1.2&maxItems=10&maxTotalChargeUsd=2.5&memory=512&restartOnError=true&timeout=2", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, 200, `{"data":{"id":"run1","status":"RUNNING"}}`)
			})
			run, err := tc.call(t.Context(), newTestClient(t, api.srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			if run.ID != "run1" || run.Status != StatusRunning {
				t.Errorf("run = %+v, want run1 RUNNING", run)
			}
			reqs := api.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			got := []string{r.Method, r.Path, r.Query, r.Header.Get("Content-Type"), r.Body, r.Header.Get("Authorization")}
			want := []string{"POST", tc.wantPath, tc.wantQuery, tc.wantType, tc.wantBody, "Bearer " + testToken}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRestartValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		call    func(ctx context.Context, c *Client) error
		wantErr string
	}{
		{"reboot without run", func(ctx context.Context, c *Client) error { _, err := c.RebootRun(ctx, " "); return err }, "run ID is empty"},
		{"metamorph without target", func(ctx context.Context, c *Client) error {
			_, err := c.MetamorphRun(ctx, "run1", "", nil, MetamorphOptions{})
			return err
		}, "target Actor ID is empty"},
		{"metamorph build", func(ctx context.Context, c *Client) error {
			_, err := c.MetamorphRun(ctx, "run1", "T1", nil, MetamorphOptions{Build: " beta"})
			return err
		}, "MetamorphOptions.Build"},
		{"metamorph content type", func(ctx context.Context, c *Client) error {
			_, err := c.MetamorphRun(ctx, "run1", "T1", "x", MetamorphOptions{ContentType: "text/plain\r\nX: y"})
			return err
		}, "MetamorphOptions.ContentType"},
		{"metamorph input", func(ctx context.Context, c *Client) error {
			_, err := c.MetamorphRun(ctx, "run1", "T1", func() {}, MetamorphOptions{})
			return err
		}, "encoding the input as JSON"},
		{"resurrect memory", func(ctx context.Context, c *Client) error {
			_, err := c.ResurrectRun(ctx, "run1", ResurrectOptions{MemoryMbytes: 300})
			return err
		}, "ResurrectOptions.MemoryMbytes"},
		{"resurrect timeout", func(ctx context.Context, c *Client) error {
			_, err := c.ResurrectRun(ctx, "run1", ResurrectOptions{Timeout: -time.Second})
			return err
		}, "ResurrectOptions.Timeout"},
		{"resurrect max items", func(ctx context.Context, c *Client) error {
			_, err := c.ResurrectRun(ctx, "run1", ResurrectOptions{MaxItems: -1})
			return err
		}, "ResurrectOptions.MaxItems"},
		{"resurrect charge", func(ctx context.Context, c *Client) error {
			_, err := c.ResurrectRun(ctx, "run1", ResurrectOptions{MaxTotalChargeUSD: -1})
			return err
		}, "ResurrectOptions.MaxTotalChargeUSD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, 200, `{"data":{"id":"run1","status":"RUNNING"}}`)
			})
			err := tc.call(t.Context(), newTestClient(t, api.srv.URL))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want one naming %q", err, tc.wantErr)
			}
			if n := api.count(); n != 0 {
				t.Errorf("sent %d requests, want none", n)
			}
		})
	}
}

// TestRestartRetries: a restart is sent again after 503 or 429, which the
// platform answers without acting, but not after a 500 or a lost response,
// which may come after the run restarted.
func TestRestartRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		first     func(t *testing.T, w http.ResponseWriter)
		wantCalls int
		wantErr   bool
	}{
		{"503", func(_ *testing.T, w http.ResponseWriter) { writeJSON(w, 503, `{}`) }, 2, false},
		{"429", func(_ *testing.T, w http.ResponseWriter) { writeJSON(w, 429, `{}`) }, 2, false},
		{"500", func(_ *testing.T, w http.ResponseWriter) { writeJSON(w, 500, `{}`) }, 1, true},
		{"lost response", hangUp, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 0 {
					tc.first(t, w)
					return
				}
				writeJSON(w, 200, `{"data":{"id":"run1","status":"RUNNING"}}`)
			})
			c := newTestClient(t, api.srv.URL)
			calls := []func() error{
				func() error { _, err := c.RebootRun(t.Context(), "run1"); return err },
				func() error { _, err := c.MetamorphRun(t.Context(), "run1", "T1", nil, MetamorphOptions{}); return err },
				func() error { _, err := c.ResurrectRun(t.Context(), "run1", ResurrectOptions{}); return err },
			}
			for i, call := range calls {
				// Each call starts a new series whose first attempt fails.
				api.mu.Lock()
				api.reqs = nil
				api.mu.Unlock()
				err := call()
				if (err != nil) != tc.wantErr {
					t.Errorf("call %d: error = %v, want error %t", i, err, tc.wantErr)
				}
				if n := api.count(); n != tc.wantCalls {
					t.Errorf("call %d: %d attempts, want %d", i, n, tc.wantCalls)
				}
			}
		})
	}
}

package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRequestQueueRequests(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const key = "client-key-1"
	queue := func(c *Client) *RequestQueueClient {
		q, err := c.RequestQueue("jane/crawl").WithClientKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	handled := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const base = "/v2/request-queues/jane~crawl"
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	checkStorageCalls(t, []storageCall{
		{"get or create by name", func(c *Client) error { _, err := c.GetOrCreateRequestQueue(ctx, "crawl"); return err },
			recorded{Method: "POST", Path: "/v2/request-queues", Query: "name=crawl"}},
		{"get", func(c *Client) error { _, err := c.GetRequestQueue(ctx, "q1"); return err },
			recorded{Method: "GET", Path: "/v2/request-queues/q1"}},
		{"delete", func(c *Client) error { return c.DeleteRequestQueue(ctx, "q1") },
			recorded{Method: "DELETE", Path: "/v2/request-queues/q1"}},
		{"list", func(c *Client) error {
			_, err := c.ListRequestQueues(ctx, StorageListOptions{Unnamed: true})
			return err
		},
			recorded{Method: "GET", Path: "/v2/request-queues", Query: "unnamed=1"}},
		{"add with the URL as unique key", func(c *Client) error {
			reg, err := queue(c).AddRequest(ctx, Request{URL: "https://a.test/x", UserData: json.RawMessage(`{"label":"START"}`)}, RequestOptions{Forefront: true})
			if err == nil && reg.RequestID != "r1" {
				err = fmt.Errorf("registration = %+v", reg)
			}
			return err
		}, recorded{Method: "POST", Path: base + "/requests", Query: "clientKey=" + key + "&forefront=true",
			Body: `{"uniqueKey":"https://a.test/x","url":"https://a.test/x","userData":{"label":"START"}}`, Header: jsonCT}},
		{"add a batch", func(c *Client) error {
			_, err := queue(c).AddRequests(ctx, []Request{{URL: "https://a.test/1"}, {URL: "https://a.test/2", UniqueKey: "two", Method: "POST", Payload: "p"}}, RequestOptions{})
			return err
		}, recorded{Method: "POST", Path: base + "/requests/batch", Query: "clientKey=" + key,
			Body: `[{"uniqueKey":"https://a.test/1","url":"https://a.test/1"},{"uniqueKey":"two","url":"https://a.test/2","method":"POST","payload":"p"}]`, Header: jsonCT}},
		{"get request", func(c *Client) error {
			r, err := queue(c).GetRequest(ctx, "r1")
			if err == nil && (r.ID != "r1" || r.UniqueKey != "k") {
				err = fmt.Errorf("request = %+v", r)
			}
			return err
		}, recorded{Method: "GET", Path: base + "/requests/r1"}},
		{"update request", func(c *Client) error {
			_, err := queue(c).UpdateRequest(ctx, Request{ID: "r1", URL: "https://a.test", UniqueKey: "k", RetryCount: 2, HandledAt: &handled}, RequestOptions{})
			return err
		}, recorded{Method: "PUT", Path: base + "/requests/r1", Query: "clientKey=" + key,
			Body: `{"id":"r1","uniqueKey":"k","url":"https://a.test","retryCount":2,"handledAt":"2026-01-02T03:04:05Z"}`, Header: jsonCT}},
		{"delete request", func(c *Client) error { return queue(c).DeleteRequest(ctx, "r1") },
			recorded{Method: "DELETE", Path: base + "/requests/r1", Query: "clientKey=" + key}},
		{"head", func(c *Client) error {
			h, err := queue(c).Head(ctx, 10)
			if err == nil && (len(h.Items) != 1 || h.Items[0].ID != "r1") {
				err = fmt.Errorf("head = %+v", h)
			}
			return err
		}, recorded{Method: "GET", Path: base + "/head", Query: "clientKey=" + key + "&limit=10"}},
		{"lock head", func(c *Client) error { _, err := queue(c).LockHead(ctx, 1500*time.Millisecond, 25); return err },
			recorded{Method: "POST", Path: base + "/head/lock", Query: "clientKey=" + key + "&limit=25&lockSecs=2"}},
		{"prolong lock", func(c *Client) error {
			exp, err := queue(c).ProlongLock(ctx, "r1", time.Minute, RequestOptions{Forefront: true})
			if err == nil && !exp.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
				err = fmt.Errorf("expiry = %v", exp)
			}
			return err
		}, recorded{Method: "PUT", Path: base + "/requests/r1/lock", Query: "clientKey=" + key + "&forefront=true&lockSecs=60"}},
		{"delete lock", func(c *Client) error { return queue(c).DeleteLock(ctx, "r1", RequestOptions{}) },
			recorded{Method: "DELETE", Path: base + "/requests/r1/lock", Query: "clientKey=" + key}},
		{"unlock", func(c *Client) error {
			n, err := queue(c).UnlockRequests(ctx)
			if err == nil && n != 3 {
				err = fmt.Errorf("unlocked %d", n)
			}
			return err
		}, recorded{Method: "POST", Path: base + "/requests/unlock", Query: "clientKey=" + key}},
	})
}

// TestClientKey: one queue client sends one random key, another client
// another.
func TestClientKey(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, storageAnswer)
	c := newTestClient(t, api.srv.URL)
	q1, q2 := c.RequestQueue("q"), c.RequestQueue("q")
	if k := q1.ClientKey(); k == "" || len(k) > 32 || k == q2.ClientKey() {
		t.Errorf("client keys %q and %q: want two different keys of 1 to 32 characters", k, q2.ClientKey())
	}
	ctx := t.Context()
	for _, call := range []func(*RequestQueueClient) error{
		func(q *RequestQueueClient) error { _, err := q.Head(ctx, 0); return err },
		func(q *RequestQueueClient) error { _, err := q.LockHead(ctx, time.Second, 1); return err },
		func(q *RequestQueueClient) error { _, err := q.UnlockRequests(ctx); return err },
	} {
		if err := call(q1); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range api.requests() {
		v, _ := url.ParseQuery(r.Query)
		if v.Get("clientKey") != q1.ClientKey() {
			t.Errorf("%s %s: clientKey = %q, want %q", r.Method, r.Path, v.Get("clientKey"), q1.ClientKey())
		}
	}
	for _, bad := range []string{"", strings.Repeat("k", 33), "a b", "a&b"} {
		if _, err := q1.WithClientKey(bad); err == nil {
			t.Errorf("WithClientKey(%q) = nil error, want one", bad)
		}
	}
}

func TestRequestQueueValidation(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, storageAnswer)
	c := newTestClient(t, api.srv.URL)
	ctx := t.Context()
	q := c.RequestQueue("q1")
	checkRefused(t, api, []refusal{
		{"empty queue ID", func() error { _, err := c.RequestQueue("").Head(ctx, 1); return err }, "request queue ID is empty"},
		{"add with an ID", func() error {
			_, err := q.AddRequest(ctx, Request{ID: "x", URL: "https://a.test"}, RequestOptions{})
			return err
		}, "Request.ID: a new request must not have an ID"},
		{"add without URL", func() error { _, err := q.AddRequest(ctx, Request{}, RequestOptions{}); return err }, "Request.URL is empty"},
		{"relative URL", func() error { _, err := q.AddRequest(ctx, Request{URL: "page"}, RequestOptions{}); return err }, "not an absolute URL"},
		{"batch item invalid", func() error {
			_, err := q.AddRequests(ctx, []Request{{URL: "https://a.test"}, {URL: ""}}, RequestOptions{})
			return err
		}, "requests[1].URL is empty"},
		{"batch item over the limit", func() error {
			_, err := q.AddRequests(ctx, []Request{{URL: "https://a.test", Payload: strings.Repeat("x", MaxPayloadBytes)}}, RequestOptions{})
			return err
		}, "requests[0]: 9437252 bytes of JSON exceed"},
		{"update without ID", func() error {
			_, err := q.UpdateRequest(ctx, Request{URL: "https://a.test", UniqueKey: "k"}, RequestOptions{})
			return err
		}, "Request.ID: client: request ID is empty"},
		{"update without unique key", func() error {
			_, err := q.UpdateRequest(ctx, Request{ID: "r", URL: "https://a.test"}, RequestOptions{})
			return err
		}, "unique key are required"},
		{"mark nil handled", func() error { return q.MarkHandled(ctx, nil) }, "the request is nil"},
		{"head limit", func() error { _, err := q.Head(ctx, 1001); return err }, "limit 1001"},
		{"lock limit", func() error { _, err := q.LockHead(ctx, time.Second, 26); return err }, "limit 26"},
		{"lock zero", func() error { _, err := q.LockHead(ctx, 0, 1); return err }, "lock duration 0s is not positive"},
		{"prolong negative", func() error { _, err := q.ProlongLock(ctx, "r", -time.Second, RequestOptions{}); return err }, "lock duration"},
		{"empty request ID", func() error { return q.DeleteLock(ctx, "", RequestOptions{}) }, "request ID is empty"},
	})
}

// TestAddRequestsBatches: 60 requests go in batches of 25, 25 and 10, and
// the requests the platform leaves unprocessed are sent again.
func TestAddRequestsBatches(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		var rs []Request
		if err := json.NewDecoder(r.Body).Decode(&rs); err != nil {
			t.Error(err)
		}
		var done, left []string
		for i, req := range rs {
			reg := fmt.Sprintf(`{"requestId":"id-%s","uniqueKey":%q,"wasAlreadyPresent":false,"wasAlreadyHandled":false}`, req.UniqueKey, req.UniqueKey)
			// The first attempt at the second batch leaves its last two
			// requests unprocessed.
			if n == 1 && i >= len(rs)-2 {
				left = append(left, fmt.Sprintf(`{"uniqueKey":%q,"url":%q}`, req.UniqueKey, req.URL))
				continue
			}
			done = append(done, reg)
		}
		writeJSON(w, 201, `{"data":{"processedRequests":[`+strings.Join(done, ",")+`],"unprocessedRequests":[`+strings.Join(left, ",")+`]}}`)
	})
	c := newTestClient(t, api.srv.URL)
	var rs []Request
	for i := range 60 {
		rs = append(rs, Request{URL: fmt.Sprintf("https://a.test/%d", i)})
	}
	res, err := c.RequestQueue("q1").AddRequests(t.Context(), rs, RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, r := range api.requests() {
		var got []Request
		if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(got))
	}
	if diff := cmp.Diff([]int{25, 25, 2, 10}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	if len(res.ProcessedRequests) != 60 || len(res.UnprocessedRequests) != 0 {
		t.Errorf("processed %d, unprocessed %d; want 60 and 0", len(res.ProcessedRequests), len(res.UnprocessedRequests))
	}
	seen := map[string]bool{}
	for _, p := range res.ProcessedRequests {
		seen[p.UniqueKey] = true
	}
	if len(seen) != 60 {
		t.Errorf("%d distinct requests processed, want 60", len(seen))
	}
}

// TestAddRequestsGivesUp: requests still unprocessed after the last round
// are returned to the caller.
func TestAddRequestsGivesUp(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 201, `{"data":{"processedRequests":[],"unprocessedRequests":[{"uniqueKey":"k","url":"https://a.test"}]}}`)
	})
	c := newTestClient(t, api.srv.URL)
	res, err := c.RequestQueue("q1").AddRequests(t.Context(), []Request{{URL: "https://a.test", UniqueKey: "k", UserData: json.RawMessage(`{"x":1}`)}}, RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Request{{URL: "https://a.test", UniqueKey: "k", UserData: json.RawMessage(`{"x":1}`)}}
	if diff := cmp.Diff(want, res.UnprocessedRequests); diff != "" {
		t.Errorf("unprocessed (-want +got):\n%s", diff)
	}
	if n := api.count(); n != batchAddRounds {
		t.Errorf("sent %d requests, want %d", n, batchAddRounds)
	}
}

// TestRequestQueueRetries: adding (deduplicated by unique key) is retried
// after a 500; locking the head is not.
func TestRequestQueueRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		call     func(q *RequestQueueClient) error
		requests int
		wantErr  bool
	}{
		{"add", func(q *RequestQueueClient) error {
			_, err := q.AddRequest(t.Context(), Request{URL: "https://a.test"}, RequestOptions{})
			return err
		}, 2, false},
		{"batch add", func(q *RequestQueueClient) error {
			_, err := q.AddRequests(t.Context(), []Request{{URL: "https://a.test"}}, RequestOptions{})
			return err
		}, 2, false},
		{"update", func(q *RequestQueueClient) error {
			_, err := q.UpdateRequest(t.Context(), Request{ID: "r", URL: "https://a.test", UniqueKey: "k"}, RequestOptions{})
			return err
		}, 2, false},
		{"prolong", func(q *RequestQueueClient) error {
			_, err := q.ProlongLock(t.Context(), "r", time.Second, RequestOptions{})
			return err
		}, 2, false},
		{"unlock", func(q *RequestQueueClient) error { _, err := q.UnlockRequests(t.Context()); return err }, 2, false},
		{"lock head", func(q *RequestQueueClient) error { _, err := q.LockHead(t.Context(), time.Second, 1); return err }, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, failOnce)
			c := newTestClient(t, api.srv.URL)
			err := tt.call(c.RequestQueue("q1"))
			if (err != nil) != tt.wantErr {
				t.Errorf("error = %v, want an error: %t", err, tt.wantErr)
			}
			if n := api.count(); n != tt.requests {
				t.Errorf("sent %d requests, want %d", n, tt.requests)
			}
		})
	}
}

func TestMarkHandled(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, storageAnswer)
	c := newTestClient(t, api.srv.URL)
	lock := time.Now()
	r := &Request{ID: "r1", URL: "https://a.test", UniqueKey: "k", LockExpiresAt: &lock}
	before := time.Now()
	if err := c.RequestQueue("q1").MarkHandled(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if r.HandledAt == nil || r.HandledAt.Before(before.Add(-time.Second)) {
		t.Fatalf("HandledAt = %v, want about now", r.HandledAt)
	}
	var sent map[string]any
	if err := json.Unmarshal([]byte(api.requests()[0].Body), &sent); err != nil {
		t.Fatal(err)
	}
	if sent["handledAt"] != r.HandledAt.Format(time.RFC3339Nano) || sent["lockExpiresAt"] != nil {
		t.Errorf("sent %v, want handledAt %v and no lockExpiresAt", sent, r.HandledAt)
	}
}

func TestAllRequests(t *testing.T) {
	t.Parallel()
	pages := []string{
		`{"data":{"items":[{"id":"r1","url":"https://a.test/1","uniqueKey":"1"},{"id":"r2","url":"https://a.test/2","uniqueKey":"2"}],"limit":2,"nextCursor":"c2"}}`,
		`{"data":{"items":[{"id":"r3","url":"https://a.test/3","uniqueKey":"3"}],"limit":2,"cursor":"c2"}}`,
	}
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, pages[min(n, 1)]) })
	c := newTestClient(t, api.srv.URL)
	q, err := c.RequestQueue("q1").WithClientKey("ck")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for r, err := range q.AllRequests(t.Context(), RequestsOptions{Limit: 2, States: []RequestState{RequestPending, RequestLocked}}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.ID)
	}
	if diff := cmp.Diff([]string{"r1", "r2", "r3"}, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	var queries []string
	for _, r := range api.requests() {
		queries = append(queries, r.Method+" "+r.Path+"?"+r.Query)
	}
	want := []string{
		"GET /v2/request-queues/q1/requests?clientKey=ck&filter=pending%2Clocked&limit=2",
		"GET /v2/request-queues/q1/requests?clientKey=ck&cursor=c2&filter=pending%2Clocked&limit=2",
	}
	if diff := cmp.Diff(want, queries); diff != "" {
		t.Errorf("requests sent (-want +got):\n%s", diff)
	}
	for _, o := range []RequestsOptions{{Limit: 10001}, {States: []RequestState{"handled"}}, {Cursor: "a\nb"}} {
		if _, err := q.ListRequests(t.Context(), o); err == nil {
			t.Errorf("ListRequests(%+v) = nil error, want one", o)
		}
	}
	if n := api.count(); n != 2 {
		t.Errorf("sent %d requests, want 2", n)
	}
}

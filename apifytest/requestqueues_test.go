package apifytest_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/google/go-cmp/cmp"
)

// TestRequestIDs checks that request IDs derive from unique keys as the
// platform and Crawlee derive them (vectors from crawlee's
// uniqueKeyToRequestId).
func TestRequestIDs(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ctx := ctxFor(t)
	q, err := srv.Client().GetOrCreateRequestQueue(ctx, "ids")
	if err != nil {
		t.Fatal(err)
	}
	rq := srv.Client().RequestQueue(q.ID)
	for _, tc := range []struct{ uniqueKey, id string }{
		{"https://example.com", "EAaArVRs5qV39C9"},
		{"https://crawlee.dev/page/1", "Q2VL6HeuJ5SYJi3"},
		{"x", "LXEWQrcmsEQBYny"},
	} {
		reg, err := rq.AddRequest(ctx, client.Request{URL: "https://example.com/any", UniqueKey: tc.uniqueKey}, client.RequestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if reg.RequestID != tc.id {
			t.Errorf("ID of %q: %s, want %s", tc.uniqueKey, reg.RequestID, tc.id)
		}
	}
}

// TestRequestQueueFlow runs a crawler's loop through the Go client: add
// (one and a batch, deduplicated, forefront), head, lock, prolong, mark
// handled, reclaim, and the queue's counts.
func TestRequestQueueFlow(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ctx := ctxFor(t)
	c := srv.Client()
	info, err := c.GetOrCreateRequestQueue(ctx, "flow")
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.RequestQueue(info.ID).WithClientKey("client-a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.RequestQueue(info.ID).WithClientKey("client-b")
	if err != nil {
		t.Fatal(err)
	}
	page := func(i int) client.Request {
		return client.Request{URL: "https://example.com/" + strconv.Itoa(i), UserData: []byte(`{"i":` + strconv.Itoa(i) + `}`)}
	}
	reg, err := a.AddRequest(ctx, page(0), client.RequestOptions{})
	if err != nil || reg.WasAlreadyPresent {
		t.Fatalf("add: %+v, %v", reg, err)
	}
	var batch []client.Request
	for i := range 30 { // two batches; 0 is there already
		batch = append(batch, page(i))
	}
	res, err := a.AddRequests(ctx, batch, client.RequestOptions{})
	if err != nil || len(res.ProcessedRequests) != 30 || len(res.UnprocessedRequests) != 0 {
		t.Fatalf("batch: %+v, %v", res, err)
	}
	if !res.ProcessedRequests[0].WasAlreadyPresent || res.ProcessedRequests[1].WasAlreadyPresent {
		t.Errorf("batch dedup: %+v", res.ProcessedRequests[:2])
	}
	if _, err := a.AddRequest(ctx, page(99), client.RequestOptions{Forefront: true}); err != nil {
		t.Fatal(err)
	}

	head, err := a.Head(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	urls := func(h *client.QueueHead) []string {
		var out []string
		for _, r := range h.Items {
			out = append(out, r.URL)
		}
		return out
	}
	if diff := cmp.Diff([]string{"https://example.com/99", "https://example.com/0", "https://example.com/1"}, urls(head)); diff != "" {
		t.Errorf("head (-want +got):\n%s", diff)
	}

	locked, err := a.LockHead(ctx, time.Minute, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"https://example.com/99", "https://example.com/0"}, urls(locked)); diff != "" {
		t.Errorf("locked (-want +got):\n%s", diff)
	}
	if !locked.QueueHasLockedRequests || locked.LockSecs != 60 || locked.Items[0].LockExpiresAt == nil {
		t.Errorf("lock head: %+v", locked)
	}
	// Client b sees neither in the head, and cannot take a's locks.
	other, err := b.LockHead(ctx, time.Minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"https://example.com/1"}, urls(other)); diff != "" {
		t.Errorf("b's lock (-want +got):\n%s", diff)
	}
	if !other.HadMultipleClients {
		t.Error("hadMultipleClients is false with two clients")
	}
	first := locked.Items[0].ID
	var ae *client.APIError
	if _, err := b.ProlongLock(ctx, first, time.Minute, client.RequestOptions{}); !errors.As(err, &ae) || ae.Type != "request-handled-or-locked" {
		t.Errorf("b prolongs a's lock: %v", err)
	}
	if err := b.DeleteRequest(ctx, first); !errors.As(err, &ae) || ae.StatusCode != http.StatusForbidden {
		t.Errorf("b deletes a's locked request: %v", err)
	}
	exp, err := a.ProlongLock(ctx, first, 2*time.Minute, client.RequestOptions{})
	if err != nil || time.Until(exp) < 90*time.Second {
		t.Errorf("prolong: %v, %v", exp, err)
	}

	// a handles the first, and gives the second back at the forefront.
	full, err := a.GetRequest(ctx, first)
	if err != nil || string(full.UserData) != `{"i":99}` {
		t.Fatalf("get: %+v, %v", full, err)
	}
	if err := a.MarkHandled(ctx, full); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteLock(ctx, locked.Items[1].ID, client.RequestOptions{Forefront: true}); err != nil {
		t.Fatal(err)
	}
	head, err = a.Head(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"https://example.com/0", "https://example.com/2"}, urls(head)); diff != "" {
		t.Errorf("head after handling (-want +got):\n%s", diff)
	}
	again, err := a.AddRequest(ctx, page(99), client.RequestOptions{})
	if err != nil || !again.WasAlreadyPresent || !again.WasAlreadyHandled {
		t.Errorf("re-add handled: %+v, %v", again, err)
	}
	n, err := b.UnlockRequests(ctx)
	if err != nil || n != 1 {
		t.Errorf("b unlocks: %d, %v", n, err)
	}

	got, err := c.GetRequestQueue(ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TotalRequestCount != 31 || got.HandledRequestCount != 1 || got.PendingRequestCount != 30 || !got.HadMultipleClients {
		t.Errorf("queue counts: total %d handled %d pending %d multiple %v",
			got.TotalRequestCount, got.HandledRequestCount, got.PendingRequestCount, got.HadMultipleClients)
	}
	if err := a.DeleteRequest(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetRequest(ctx, first); !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound {
		t.Errorf("get deleted: %v", err)
	}

	var listed []string
	for r, err := range a.AllRequests(ctx, client.RequestsOptions{Limit: 7}) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, r.URL)
	}
	if len(listed) != 30 || listed[0] != "https://example.com/0" || listed[29] != "https://example.com/29" {
		t.Errorf("AllRequests: %d, %v", len(listed), listed)
	}
	if _, err := a.LockHead(ctx, time.Minute, 1); err != nil {
		t.Fatal(err)
	}
	lockedPage, err := a.ListRequests(ctx, client.RequestsOptions{States: []client.RequestState{client.RequestLocked}})
	if err != nil || len(lockedPage.Items) != 1 || lockedPage.Items[0].URL != "https://example.com/0" {
		t.Errorf("locked requests: %+v, %v", lockedPage, err)
	}
}

// TestRequestQueueErrors checks that bad requests are refused with the
// reason and change nothing.
func TestRequestQueueErrors(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	var q storageJSON
	call(t, srv, srv.Token, "POST", "/v2/request-queues", nil).data(t, &q)
	base := "/v2/request-queues/" + q.ID
	tooMany := make([]map[string]string, 26)
	for i := range tooMany {
		tooMany[i] = map[string]string{"url": "https://e.com/" + strconv.Itoa(i), "uniqueKey": strconv.Itoa(i)}
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
		want               string
	}{
		{"no url", "POST", "/requests", map[string]string{"uniqueKey": "k"}, "url"},
		{"no unique key", "POST", "/requests", map[string]string{"url": "https://e.com"}, "uniqueKey"},
		{"relative url", "POST", "/requests", map[string]string{"url": "/x", "uniqueKey": "k"}, "url"},
		{"bad method", "POST", "/requests", map[string]string{"url": "https://e.com", "uniqueKey": "k", "method": "FETCH"}, "method"},
		{"wrong id", "POST", "/requests", map[string]string{"url": "https://e.com", "uniqueKey": "k", "id": "abc"}, "id"},
		{"bad type", "POST", "/requests", map[string]any{"url": "https://e.com", "uniqueKey": "k", "retryCount": "two"}, "retryCount"},
		{"bad handledAt", "POST", "/requests", map[string]any{"url": "https://e.com", "uniqueKey": "k", "handledAt": "yesterday"}, "handledAt"},
		{"bad userData", "POST", "/requests", map[string]any{"url": "https://e.com", "uniqueKey": "k", "userData": []int{1}}, "userData"},
		{"batch too big", "POST", "/requests/batch", tooMany, "25"},
		{"batch item", "POST", "/requests/batch", []map[string]string{{"url": "https://e.com", "uniqueKey": "k"}, {"url": "https://e.com"}}, "requests[1]"},
		{"no lockSecs", "POST", "/head/lock", nil, "lockSecs"},
		{"long lock", "POST", "/head/lock?lockSecs=100000", nil, "lockSecs"},
		{"head limit", "GET", "/head?limit=0", nil, "limit"},
		{"cursor", "GET", "/requests?cursor=nope", nil, "cursor"},
		{"filter", "GET", "/requests?filter=handled", nil, "filter"},
		{"forefront", "POST", "/requests?forefront=maybe", map[string]string{"url": "https://e.com", "uniqueKey": "k"}, "forefront"},
	} {
		wantBadRequest(t, call(t, srv, srv.Token, tc.method, base+tc.path, tc.body), tc.name, tc.want)
	}
	r := call(t, srv, srv.Token, "GET", base+"/head?clientKey=0123456789012345678901234567890123", nil)
	if r.status != http.StatusBadRequest || r.errorOf(t).Type != "invalid-client-key" {
		t.Errorf("long client key: %d %s", r.status, r.body)
	}
	var got storageJSON
	call(t, srv, srv.Token, "GET", base, nil).data(t, &got)
	if *got.TotalRequestCount != 0 {
		t.Errorf("refused requests were added: %d", *got.TotalRequestCount)
	}
	if r := call(t, srv, srv.Token, "PUT", base+"/requests/NoSuchRequest12", map[string]string{"url": "https://e.com", "uniqueKey": "k"}); r.status != http.StatusNotFound {
		t.Errorf("update missing: %d", r.status)
	}
}

// TestRequestQueueHTTP checks the raw answers: status codes, batch delete,
// update back to pending, and locks of other clients.
func TestRequestQueueHTTP(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	var q storageJSON
	call(t, srv, srv.Token, "POST", "/v2/request-queues?name=raw", nil).data(t, &q)
	base := "/v2/request-queues/" + q.ID
	add := call(t, srv, srv.Token, "POST", base+"/requests?clientKey=k1", map[string]any{
		"url": "https://e.com/a", "uniqueKey": "a", "handledAt": "2026-01-02T03:04:05.000Z"})
	if add.status != http.StatusCreated {
		t.Fatalf("add: %d %s", add.status, add.body)
	}
	var reg struct {
		RequestID         string `json:"requestId"`
		WasAlreadyPresent bool   `json:"wasAlreadyPresent"`
		WasAlreadyHandled bool   `json:"wasAlreadyHandled"`
	}
	add.data(t, &reg)
	// Back to pending: it enters the head.
	up := call(t, srv, srv.Token, "PUT", base+"/requests/"+reg.RequestID+"?clientKey=k1", map[string]any{
		"id": reg.RequestID, "url": "https://e.com/a", "uniqueKey": "a", "handledAt": nil})
	up.data(t, &reg)
	if up.status != http.StatusOK || !reg.WasAlreadyPresent || !reg.WasAlreadyHandled {
		t.Errorf("update: %d %s", up.status, up.body)
	}
	var head struct {
		Items []struct{ ID string } `json:"items"`
	}
	lock := call(t, srv, srv.Token, "POST", base+"/head/lock?lockSecs=1&clientKey=k1", nil)
	lock.data(t, &head)
	if lock.status != http.StatusCreated || len(head.Items) != 1 {
		t.Fatalf("lock: %d %s", lock.status, lock.body)
	}
	call(t, srv, srv.Token, "GET", base+"/head?clientKey=k2", nil).data(t, &head)
	if len(head.Items) != 0 {
		t.Errorf("a locked request is in the head: %+v", head)
	}
	// Without a client key, a call is another client's.
	if r := call(t, srv, srv.Token, "DELETE", base+"/requests/"+reg.RequestID+"/lock", nil); r.status != http.StatusForbidden {
		t.Errorf("delete lock without a client key: %d %s", r.status, r.body)
	}
	del := call(t, srv, srv.Token, "DELETE", base+"/requests/batch?clientKey=k1", []map[string]string{{"uniqueKey": "a"}, {"id": "NoSuchRequest12"}})
	var out struct {
		ProcessedRequests   []struct{ ID, UniqueKey string } `json:"processedRequests"`
		UnprocessedRequests []struct{ ID string }            `json:"unprocessedRequests"`
	}
	del.data(t, &out)
	if del.status != http.StatusOK || len(out.ProcessedRequests) != 2 || out.ProcessedRequests[0].ID != reg.RequestID || len(out.UnprocessedRequests) != 0 {
		t.Errorf("batch delete: %d %s", del.status, del.body)
	}
	var got storageJSON
	call(t, srv, srv.Token, "GET", base, nil).data(t, &got)
	if *got.TotalRequestCount != 0 || *got.PendingRequestCount != 0 {
		t.Errorf("after batch delete: %s", call(t, srv, srv.Token, "GET", base, nil).body)
	}
}

// TestRequestQueueConcurrentClients has four clients lock and handle the
// head of one queue at once: each request is handed out exactly once.
func TestRequestQueueConcurrentClients(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ctx := ctxFor(t)
	info, err := srv.Client().GetOrCreateRequestQueue(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var rs []client.Request
	for i := range 200 {
		rs = append(rs, client.Request{URL: "https://example.com/" + strconv.Itoa(i)})
	}
	if _, err := srv.Client().RequestQueue(info.ID).AddRequests(ctx, rs, client.RequestOptions{}); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, len(rs)*2)
	errs := make(chan error, 4)
	for w := range 4 {
		go func() {
			q, err := srv.Client().RequestQueue(info.ID).WithClientKey("worker-" + strconv.Itoa(w))
			if err != nil {
				errs <- err
				return
			}
			for {
				h, err := q.LockHead(ctx, time.Minute, 5)
				if err != nil || len(h.Items) == 0 {
					errs <- err
					return
				}
				for _, it := range h.Items {
					r, err := q.GetRequest(ctx, it.ID)
					if err == nil {
						err = q.MarkHandled(ctx, r)
					}
					if err != nil {
						errs <- err
						return
					}
					got <- r.URL
				}
			}
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(got)
	seen := map[string]int{}
	for u := range got {
		seen[u]++
	}
	for _, r := range rs {
		if seen[r.URL] != 1 {
			t.Errorf("%s handed out %d times", r.URL, seen[r.URL])
		}
	}
	q, err := srv.Client().GetRequestQueue(ctx, info.ID)
	if err != nil || q.HandledRequestCount != 200 || q.PendingRequestCount != 0 || !q.HadMultipleClients {
		t.Errorf("queue: %+v, %v", q, err)
	}
}

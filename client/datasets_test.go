package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// refusal is a call with bad input and what its error must mention.
type refusal struct {
	name string
	call func() error
	want string
}

// checkRefused checks that each call fails with an error mentioning its
// want, and that none of them sent anything to api.
func checkRefused(t *testing.T, api *fakeAPI, tests []refusal) {
	t.Helper()
	for _, tt := range tests {
		err := tt.call()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
	if n := api.count(); n != 0 {
		t.Errorf("invalid input sent %d requests, want none", n)
	}
}

// failOnce answers the first request with a 500 and the others as
// storageAnswer does.
func failOnce(n int, w http.ResponseWriter, r *http.Request) {
	if n == 0 {
		writeJSON(w, 500, `{"error":{"type":"internal-error","message":"oops"}}`)
		return
	}
	storageAnswer(n, w, r)
}

// storageAnswer answers the storage API's requests with minimal valid bodies.
func storageAnswer(_ int, w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodHead:
		w.WriteHeader(http.StatusOK)
	case strings.HasSuffix(p, "/items") && r.Method == http.MethodPost:
		writeJSON(w, 201, `{}`)
	case strings.HasSuffix(p, "/items"):
		w.Header().Set("X-Apify-Pagination-Total", "2")
		w.Header().Set("X-Apify-Pagination-Offset", r.URL.Query().Get("offset"))
		writeJSON(w, 200, `[{"a":1},{"a":2}]`)
	case strings.Contains(p, "/records/") && r.Method == http.MethodPut:
		writeJSON(w, 201, `{}`)
	case strings.Contains(p, "/records/"):
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(200)
		fmt.Fprint(w, "hello")
	case strings.HasSuffix(p, "/keys"):
		writeJSON(w, 200, `{"data":{"items":[{"key":"a","size":1}],"count":1,"limit":1000,"isTruncated":false}}`)
	case p == "/v2/datasets" || p == "/v2/key-value-stores" || p == "/v2/request-queues":
		if r.Method == http.MethodPost {
			writeJSON(w, 201, `{"data":{"id":"s1","name":"n"}}`)
			return
		}
		writeJSON(w, 200, `{"data":{"total":1,"offset":0,"limit":1000,"count":1,"items":[{"id":"s1"}]}}`)
	case strings.HasSuffix(p, "/requests/unlock"):
		writeJSON(w, 200, `{"data":{"unlockedCount":3}}`)
	case strings.HasSuffix(p, "/requests/batch"):
		writeJSON(w, 201, `{"data":{"processedRequests":[],"unprocessedRequests":[]}}`)
	case strings.HasSuffix(p, "/lock") && r.Method == http.MethodPut:
		writeJSON(w, 200, `{"data":{"lockExpiresAt":"2026-01-01T00:00:00Z"}}`)
	case strings.HasSuffix(p, "/head/lock"), strings.HasSuffix(p, "/head"):
		writeJSON(w, 200, `{"data":{"limit":1,"items":[{"id":"r1","url":"https://a.test","uniqueKey":"k"}]}}`)
	case strings.Contains(p, "/requests"):
		if r.Method == http.MethodGet {
			writeJSON(w, 200, `{"data":{"id":"r1","url":"https://a.test","uniqueKey":"k"}}`)
			return
		}
		writeJSON(w, 201, `{"data":{"requestId":"r1","wasAlreadyPresent":false,"wasAlreadyHandled":false}}`)
	default:
		writeJSON(w, 200, `{"data":{"id":"s1","name":"n"}}`)
	}
}

// storageCall is one call of the storage API and the request it must send.
type storageCall struct {
	name string
	call func(c *Client) error
	want recorded // Method, Path, Query and Body; Header["Content-Type"] if set
}

// checkStorageCalls runs each call against a fresh fake API and compares the
// request it sent.
func checkStorageCalls(t *testing.T, tests []storageCall) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, storageAnswer)
			c := newTestClient(t, api.srv.URL)
			if err := tt.call(c); err != nil {
				t.Fatal(err)
			}
			reqs := api.requests()
			if len(reqs) != 1 {
				t.Fatalf("sent %d requests, want 1", len(reqs))
			}
			got := reqs[0]
			if got.Header.Get("Authorization") != "Bearer "+testToken {
				t.Errorf("Authorization = %q, want the bearer token", got.Header.Get("Authorization"))
			}
			if strings.Contains(got.Query, testToken) || strings.Contains(got.Path, testToken) {
				t.Errorf("the token is in the URL: %s?%s", got.Path, got.Query)
			}
			want := tt.want
			got.Header = http.Header{"Content-Type": got.Header["Content-Type"]}
			if want.Header == nil {
				got.Header = nil
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDatasetRequests(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	name := "renamed"
	checkStorageCalls(t, []storageCall{
		{"get or create by name", func(c *Client) error {
			d, err := c.GetOrCreateDataset(ctx, "my-data")
			if err == nil && d.ID != "s1" {
				err = fmt.Errorf("ID = %q", d.ID)
			}
			return err
		}, recorded{Method: "POST", Path: "/v2/datasets", Query: "name=my-data"}},
		{"create unnamed", func(c *Client) error { _, err := c.GetOrCreateDataset(ctx, ""); return err },
			recorded{Method: "POST", Path: "/v2/datasets"}},
		{"get by username~name", func(c *Client) error { _, err := c.GetDataset(ctx, "jane/my-data"); return err },
			recorded{Method: "GET", Path: "/v2/datasets/jane~my-data"}},
		{"update", func(c *Client) error {
			_, err := c.UpdateDataset(ctx, "d1", StorageUpdate{Name: &name, GeneralAccess: AccessRestricted})
			return err
		}, recorded{Method: "PUT", Path: "/v2/datasets/d1", Body: `{"name":"renamed","generalAccess":"RESTRICTED"}`,
			Header: http.Header{"Content-Type": {"application/json"}}}},
		{"delete", func(c *Client) error { return c.DeleteDataset(ctx, "d1") },
			recorded{Method: "DELETE", Path: "/v2/datasets/d1"}},
		{"list", func(c *Client) error {
			p, err := c.ListDatasets(ctx, StorageListOptions{ListOptions: ListOptions{Offset: 5, Limit: 10, Desc: true}, Unnamed: true, Ownership: OwnedByMe})
			if err == nil && (p.Total != 1 || p.Items[0].ID != "s1") {
				err = fmt.Errorf("page = %+v", p)
			}
			return err
		}, recorded{Method: "GET", Path: "/v2/datasets", Query: "desc=1&limit=10&offset=5&ownership=ownedByMe&unnamed=1"}},
		{"push one item", func(c *Client) error {
			return c.PushItems(ctx, "d1", map[string]any{"url": "https://a.test/?x=<&>"})
		}, recorded{Method: "POST", Path: "/v2/datasets/d1/items", Body: `[{"url":"https://a.test/?x=<&>"}]`,
			Header: http.Header{"Content-Type": {"application/json"}}}},
		{"push a slice and raw JSON", func(c *Client) error {
			return c.PushItems(ctx, "d1", []any{struct {
				A int `json:"a"`
			}{1}, json.RawMessage(` { "b" : 2 } `)})
		}, recorded{Method: "POST", Path: "/v2/datasets/d1/items", Body: `[{"a":1},{"b":2}]`,
			Header: http.Header{"Content-Type": {"application/json"}}}},
		{"list items with every filter", func(c *Client) error {
			p, err := ListItems[map[string]int](ctx, c, "d1", ItemsOptions{
				Offset: 3, Limit: 2, Desc: true, Fields: []string{"a", "b"}, Omit: []string{"#x"},
				Unwind: []string{"list"}, Flatten: []string{"o"}, Clean: true, SkipHidden: true, SkipEmpty: true,
			})
			want := &Page[map[string]int]{Total: 2, Offset: 3, Limit: 2, Count: 2, Desc: true, Items: []map[string]int{{"a": 1}, {"a": 2}}}
			if diff := cmp.Diff(want, p); err == nil && diff != "" {
				err = fmt.Errorf("page (-want +got):\n%s", diff)
			}
			return err
		}, recorded{Method: "GET", Path: "/v2/datasets/d1/items",
			Query: "clean=1&desc=1&fields=a%2Cb&flatten=o&format=json&limit=2&offset=3&omit=%23x&skipEmpty=1&skipHidden=1&unwind=list"}},
	})
}

func TestDatasetValidation(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, storageAnswer)
	c := newTestClient(t, api.srv.URL)
	ctx := t.Context()
	long := strings.Repeat("a", 64)
	bad := "bad_name"
	checkRefused(t, api, []refusal{
		{"empty ID", func() error { _, err := c.GetDataset(ctx, " "); return err }, "dataset ID is empty"},
		{"control character in ID", func() error { return c.DeleteDataset(ctx, "a\nb") }, "dataset ID contains control characters"},
		{"name with underscore", func() error { _, err := c.GetOrCreateDataset(ctx, "my_data"); return err }, "dataset name: \"my_data\" may contain only"},
		{"name too long", func() error { _, err := c.GetOrCreateDataset(ctx, long); return err }, "dataset name: 64 characters"},
		{"name ending in a hyphen", func() error { _, err := c.GetOrCreateDataset(ctx, "a-"); return err }, "start or end with a hyphen"},
		{"bad new name", func() error { _, err := c.UpdateDataset(ctx, "d", StorageUpdate{Name: &bad}); return err }, "StorageUpdate.Name"},
		{"bad access", func() error { _, err := c.UpdateDataset(ctx, "d", StorageUpdate{GeneralAccess: "PUBLIC"}); return err }, "StorageUpdate.GeneralAccess"},
		{"bad ownership", func() error { _, err := c.ListDatasets(ctx, StorageListOptions{Ownership: "mine"}); return err }, "StorageListOptions.Ownership"},
		{"negative offset", func() error {
			_, err := c.ListDatasets(ctx, StorageListOptions{ListOptions: ListOptions{Offset: -1}})
			return err
		}, "ListOptions.Offset"},
		{"items nil", func() error { return c.PushItems(ctx, "d", nil) }, "items is nil"},
		{"item not encodable", func() error { return c.PushItems(ctx, "d", []any{map[string]int{}, map[string]any{"f": func() {}}}) }, "items[1]: encoding as JSON"},
		{"item not an object", func() error { return c.PushItems(ctx, "d", []any{map[string]int{}, map[string]int{}, 7}) }, "items[2]: a dataset item must be a JSON object, not a number"},
		{"item an array", func() error { return c.PushItems(ctx, "d", [][]int{{1}}) }, "items[0]: a dataset item must be a JSON object, not an array"},
		{"raw item invalid", func() error { return c.PushItems(ctx, "d", []byte(`{"a":`)) }, "items[0]: encoding as JSON"},
		{"item over the limit", func() error {
			return c.PushItems(ctx, "d", []map[string]string{{"a": "b"}, {"big": strings.Repeat("x", MaxPayloadBytes)}})
		}, "items[1]: 9437194 bytes of JSON exceed the platform's limit of 9437182 bytes per item"},
		{"field with a comma", func() error { _, err := ListItems[any](ctx, c, "d", ItemsOptions{Fields: []string{"a,b"}}); return err }, "ItemsOptions.Fields[0]"},
		{"empty unwind", func() error { _, err := ListItems[any](ctx, c, "d", ItemsOptions{Unwind: []string{""}}); return err }, "ItemsOptions.Unwind[0]"},
		{"negative limit", func() error { _, err := ListItems[any](ctx, c, "d", ItemsOptions{Limit: -1}); return err }, "ItemsOptions.Limit"},
	})
}

// TestBatches checks the boundary arithmetic of splitting items at a limit:
// "[" + items joined by "," + "]".
func TestBatches(t *testing.T) {
	t.Parallel()
	item := func(n int) map[string]string { return map[string]string{"k": strings.Repeat("x", n)} } // n+8 bytes
	tests := []struct {
		name  string
		sizes []int // of the "x" runs
		limit int
		maxN  int
		want  []batch
	}{
		// Two items of 10 bytes: "[" 10 "," 10 "]" is 23 bytes.
		{"exactly at the limit", []int{2, 2}, 23, 0, []batch{{0, 2}}},
		{"one byte over", []int{2, 2}, 22, 0, []batch{{0, 1}, {1, 1}}},
		{"a lone item fills a batch", []int{2, 12, 2}, 22, 0, []batch{{0, 1}, {1, 1}, {2, 1}}},
		{"count cap", []int{0, 0, 0, 0, 0}, 1000, 2, []batch{{0, 2}, {2, 2}, {4, 1}}},
		{"greedy packing", []int{1, 1, 1, 10}, 32, 0, []batch{{0, 3}, {3, 1}}},
	}
	for _, tt := range tests {
		var items []any
		enc := &encodedItems{}
		for _, n := range tt.sizes {
			items = append(items, item(n))
			b, err := json.Marshal(item(n))
			if err != nil {
				t.Fatal(err)
			}
			if len(enc.buf) > 0 {
				enc.buf = append(enc.buf, ',')
			}
			enc.buf = append(enc.buf, b...)
			enc.ends = append(enc.ends, len(enc.buf))
		}
		got := enc.batches(tt.limit, tt.maxN)
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(batch{})); diff != "" {
			t.Errorf("%s: batches (-want +got):\n%s", tt.name, diff)
		}
		var all []map[string]string
		for _, b := range got {
			body := enc.body(b)
			if len(body) > tt.limit {
				t.Errorf("%s: batch %v is %d bytes, over %d", tt.name, b, len(body), tt.limit)
			}
			var part []map[string]string
			if err := json.Unmarshal(body, &part); err != nil {
				t.Fatalf("%s: batch %s: %v", tt.name, body, err)
			}
			all = append(all, part...)
		}
		if len(all) != len(items) {
			t.Errorf("%s: the batches hold %d items, want %d", tt.name, len(all), len(items))
		}
	}
}

// TestItemBatcher checks the bodies a push is split into, one at a time in
// one buffer, and that the first fill checks every item.
func TestItemBatcher(t *testing.T) {
	t.Parallel()
	item := func(n int) map[string]string { return map[string]string{"k": strings.Repeat("x", n)} } // n+8 bytes
	tests := []struct {
		name  string
		items []any
		limit int
		want  []string // the bodies
	}{
		// Two items of 10 bytes: "[" 10 "," 10 "]" is 23 bytes.
		{"exactly at the limit", []any{item(2), item(2)}, 23, []string{`[{"k":"xx"},{"k":"xx"}]`}},
		{"one byte over", []any{item(2), item(2)}, 22, []string{`[{"k":"xx"}]`, `[{"k":"xx"}]`}},
		{"a lone item over the limit", []any{item(2), item(12), item(2)}, 22,
			[]string{`[{"k":"xx"}]`, `[{"k":"xxxxxxxxxxxx"}]`, `[{"k":"xx"}]`}},
		{"greedy packing", []any{item(1), item(1), item(1), item(10)}, 32,
			[]string{`[{"k":"x"},{"k":"x"},{"k":"x"}]`, `[{"k":"xxxxxxxxxx"}]`}},
		{"raw JSON compacted", []any{json.RawMessage(` { "a" : 1 } `), []byte(`{"b":[1, 2]}`)}, 100, []string{`[{"a":1},{"b":[1,2]}]`}},
		{"no item", []any{}, 100, nil},
		{"items across chunks", []any{item(chunkBytes), item(2 * chunkBytes), item(1)}, 4 * chunkBytes,
			[]string{`[{"k":"` + strings.Repeat("x", chunkBytes) + `"},{"k":"` + strings.Repeat("x", 2*chunkBytes) + `"},{"k":"x"}]`}},
		{"chunks reused", []any{item(chunkBytes), item(2 * chunkBytes), item(1)}, 2 * chunkBytes,
			[]string{`[{"k":"` + strings.Repeat("x", chunkBytes) + `"}]`, `[{"k":"` + strings.Repeat("x", 2*chunkBytes) + `"}]`, `[{"k":"x"}]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			list, err := newItemList(tt.items)
			if err != nil {
				t.Fatal(err)
			}
			b := &itemBatcher{items: list, limit: tt.limit}
			var got []string
			for first := true; ; first = false {
				n, err := b.fill(first)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				r, err := b.body.reader()
				if err != nil {
					t.Fatal(err)
				}
				if l := r.(interface{ Len() int }).Len(); l != b.body.size {
					t.Errorf("Len() = %d, want %d", l, b.body.size)
				}
				body, err := io.ReadAll(r)
				if err != nil {
					t.Fatal(err)
				}
				r.(io.Closer).Close()
				got = append(got, string(body))
				b.next += n
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("bodies (-want +got):\n%s", diff)
			}
		})
	}
}

// TestChunkedBodyOpenReader: a body whose reader is still open is not
// overwritten by the next one.
func TestChunkedBodyOpenReader(t *testing.T) {
	t.Parallel()
	list, err := newItemList([]map[string]string{{"a": strings.Repeat("x", chunkBytes)}, {"b": "y"}})
	if err != nil {
		t.Fatal(err)
	}
	b := &itemBatcher{items: list, limit: chunkBytes}
	if _, err := b.fill(true); err != nil {
		t.Fatal(err)
	}
	r, err := b.body.reader() // not closed, as by a transport still writing it
	if err != nil {
		t.Fatal(err)
	}
	b.next++
	if _, err := b.fill(false); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"a":"` + strings.Repeat("x", chunkBytes) + `"}]`; string(got) != want {
		t.Errorf("the open reader read %.40q..., want %.40q...", got, want)
	}
}

// TestPushItemsChecksEveryItemFirst: an item that cannot be pushed fails
// the push before any request, wherever it is.
func TestPushItemsChecksEveryItemFirst(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", PushBatchBytes/2) // alone in a request
	tests := []struct {
		name  string
		items []any
		index int
		want  string
	}{
		{"not an object in the third request", []any{map[string]string{"a": big}, map[string]string{"b": big}, map[string]int{}, 7}, 3,
			"a dataset item must be a JSON object, not a number"},
		{"cannot be encoded after the first request", []any{map[string]string{"a": big}, map[string]string{"b": big}, math.NaN()}, 2,
			"encoding as JSON"},
		{"over the limit after the first request", []any{map[string]string{"a": big}, map[string]string{"b": big}, map[string]string{"c": strings.Repeat("x", MaxPayloadBytes)}}, 2,
			"exceed the platform's limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, storageAnswer)
			c := newTestClient(t, api.srv.URL)
			err := c.PushItems(t.Context(), "d1", tt.items)
			var ie *ItemError
			if !errors.As(err, &ie) || ie.Index != tt.index || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want an *ItemError for items[%d] containing %q", err, tt.index, tt.want)
			}
			if n := api.count(); n != 0 {
				t.Errorf("sent %d requests, want none", n)
			}
		})
	}
}

// TestPushItemsRetrySendsTheSameBytes: a batch built in the buffer of the
// one before it is resent as it was when retried.
func TestPushItemsRetrySendsTheSameBytes(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", PushBatchBytes/2)
	items := []map[string]string{{"a": big}, {"b": big}, {"c": "short"}} // one request each but the last two
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if body, _ := io.ReadAll(r.Body); r.ContentLength != int64(len(body)) {
			t.Errorf("request %d: Content-Length %d for a body of %d bytes", n, r.ContentLength, len(body))
		}
		if n == 1 || n == 2 { // the first attempts of the second batch
			writeJSON(w, 503, `{"error":{"type":"x","message":"busy"}}`)
			return
		}
		writeJSON(w, 201, `{}`)
	})
	c := newTestClient(t, api.srv.URL)
	if err := c.PushItems(t.Context(), "d1", items); err != nil {
		t.Fatal(err)
	}
	first := `[{"a":"` + big + `"}]`
	second := `[{"b":"` + big + `"},{"c":"short"}]`
	var got []string
	for _, r := range api.requests() {
		got = append(got, r.Body)
	}
	if diff := cmp.Diff([]string{first, second, second, second}, got); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
}

// TestPushItemsSplitsAtTheLimit pushes items filling one request to the byte
// and then one byte more, through the real batch size, and an item that
// takes a request of the platform's limit alone.
func TestPushItemsSplitsAtTheLimit(t *testing.T) {
	t.Parallel()
	// Items of 100,000 bytes: {"v":"x..."} is 8 bytes plus the run.
	const itemLen = 100_000
	n := PushBatchBytes / (itemLen + 1) // items that fit with their commas and brackets
	fill := PushBatchBytes - (n*(itemLen+1) + 1)
	mk := func(extra int) []map[string]string {
		items := make([]map[string]string, n)
		for i := range items {
			items[i] = map[string]string{"v": strings.Repeat("x", itemLen-8)}
		}
		items[n-1]["v"] += strings.Repeat("y", extra)
		return items
	}
	largest := map[string]string{"v": strings.Repeat("z", maxItemBytes-8)}
	tests := []struct {
		name  string
		items []map[string]string
		want  []int // bytes per request
	}{
		{"exactly the batch size", mk(fill), []int{PushBatchBytes}},
		{"one byte over", mk(fill + 1), []int{(n-1)*(itemLen+1) + 1, itemLen + fill + 1 + 2}},
		{"the largest item alone", []map[string]string{{"a": "b"}, largest, {"c": "d"}}, []int{11, MaxPayloadBytes, 11}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, storageAnswer)
			c := newTestClient(t, api.srv.URL)
			if err := c.PushItems(t.Context(), "d1", tt.items); err != nil {
				t.Fatal(err)
			}
			var got []int
			var stored []map[string]string
			for _, r := range api.requests() {
				got = append(got, len(r.Body))
				var items []map[string]string
				if err := json.Unmarshal([]byte(r.Body), &items); err != nil {
					t.Fatal(err)
				}
				stored = append(stored, items...)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("bytes per request (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.items, stored); diff != "" {
				t.Errorf("items sent (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPushItemsRetries: a push that may have reached the platform is not
// repeated, and the error says what was stored.
func TestPushItemsRetries(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", PushBatchBytes/2)
	items := []map[string]string{{"a": big}, {"b": big}, {"c": big}} // one request each
	tests := []struct {
		name     string
		status   func(n int) int // of request n
		requests int
		want     *PushError // nil for success
	}{
		{"500 on the first batch", func(int) int { return 500 }, 1, &PushError{Stored: 0, Failed: 1, MayHaveStored: true}},
		{"500 on the second batch", func(n int) int { return []int{201, 500}[min(n, 1)] }, 2, &PushError{Stored: 1, Failed: 1, MayHaveStored: true}},
		{"400 on the third batch", func(n int) int { return []int{201, 201, 400}[min(n, 2)] }, 3, &PushError{Stored: 2, Failed: 1}},
		{"503 is retried", func(n int) int { return []int{503, 201}[min(n, 1)] }, 4, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, tt.status(n), `{"error":{"type":"x","message":"status `+strconv.Itoa(tt.status(n))+`"}}`)
			})
			c := newTestClient(t, api.srv.URL)
			err := c.PushItems(t.Context(), "d1", items)
			if got := api.count(); got != tt.requests {
				t.Errorf("sent %d requests, want %d", got, tt.requests)
			}
			if tt.want == nil {
				if err != nil {
					t.Errorf("error = %v, want none", err)
				}
				return
			}
			var pe *PushError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want a *PushError", err)
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Errorf("error = %v, want it to wrap an *APIError", err)
			}
			pe.Err = nil
			if diff := cmp.Diff(tt.want, pe); diff != "" {
				t.Errorf("PushError (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAllItems pages over stored items by offset, whatever the filters keep.
func TestAllItems(t *testing.T) {
	t.Parallel()
	// 5 stored items; the platform keeps only even ones (as with skipEmpty).
	api := newFakeAPI(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		off, _ := strconv.Atoi(q.Get("offset"))
		lim, _ := strconv.Atoi(q.Get("limit"))
		var items []string
		for i := off; i < min(off+lim, 5); i++ {
			if i%2 == 0 {
				items = append(items, fmt.Sprintf(`{"i":%d}`, i))
			}
		}
		w.Header().Set("X-Apify-Pagination-Total", "5")
		writeJSON(w, 200, "["+strings.Join(items, ",")+"]")
	})
	c := newTestClient(t, api.srv.URL)
	var got []int
	for it, err := range AllItems[struct{ I int }](t.Context(), c, "d1", ItemsOptions{Limit: 2, SkipEmpty: true}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, it.I)
	}
	if diff := cmp.Diff([]int{0, 2, 4}, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	var queries []string
	for _, r := range api.requests() {
		queries = append(queries, r.Query)
	}
	want := []string{
		"format=json&limit=2&skipEmpty=1",
		"format=json&limit=2&offset=2&skipEmpty=1",
		"format=json&limit=2&offset=4&skipEmpty=1",
	}
	if diff := cmp.Diff(want, queries); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
}

func TestAllItemsStopsAtError(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 404, `{"error":{"type":"record-not-found","message":"Dataset was not found"}}`)
	})
	c := newTestClient(t, api.srv.URL)
	n := 0
	for _, err := range AllItems[json.RawMessage](t.Context(), c, "missing", ItemsOptions{}) {
		n++
		if !IsNotFound(err) {
			t.Errorf("error = %v, want a 404", err)
		}
	}
	if n != 1 {
		t.Errorf("yielded %d times, want once", n)
	}
}

// BenchmarkPushItems pushes 100,000 small items (about 6 MB of JSON, three
// requests) to a loopback server that reads and discards the bodies.
func BenchmarkPushItems(b *testing.B) {
	srv := newBenchServer(b, `{}`)
	c, err := New(WithBaseURL(srv), WithToken(testToken))
	if err != nil {
		b.Fatal(err)
	}
	type item struct {
		URL   string `json:"url"`
		Title string `json:"title"`
		N     int    `json:"n"`
	}
	items := make([]item, 100_000)
	for i := range items {
		items[i] = item{URL: fmt.Sprintf("https://example.com/page/%d", i), Title: "A page title", N: i}
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.PushItems(ctx, "d1", items); err != nil {
			b.Fatal(err)
		}
	}
}

package client

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pagedAPI serves total items with IDs "w0", "w1", ... honouring offset and
// limit (default 1000), and fails with 500 from request failAt on (-1: never).
func pagedAPI(t *testing.T, total, failAt int) *fakeAPI {
	return newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if failAt >= 0 && n >= failAt {
			writeJSON(w, 400, `{"error":{"type":"x","message":"broken"}}`)
			return
		}
		q := r.URL.Query()
		offset, _ := strconv.Atoi(q.Get("offset"))
		limit, _ := strconv.Atoi(q.Get("limit"))
		if limit == 0 {
			limit = 1000
		}
		var items []string
		for i := offset; i < min(offset+limit, total); i++ {
			items = append(items, fmt.Sprintf(`{"id":"w%d"}`, i))
		}
		writeJSON(w, 200, fmt.Sprintf(`{"data":{"total":%d,"offset":%d,"limit":%d,"count":%d,"desc":false,"items":[%s]}}`,
			total, offset, limit, len(items), strings.Join(items, ",")))
	})
}

func TestAllWebhooks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		total     int
		o         ListOptions
		wantIDs   int // IDs from the offset on
		wantPages []string
	}{
		{"three pages", 5, ListOptions{Limit: 2}, 5, []string{"limit=2", "limit=2&offset=2", "limit=2&offset=4"}},
		{"exact pages", 4, ListOptions{Limit: 2}, 4, []string{"limit=2", "limit=2&offset=2"}},
		{"from an offset", 5, ListOptions{Offset: 3, Limit: 10}, 2, []string{"limit=10&offset=3"}},
		{"empty", 0, ListOptions{}, 0, []string{""}},
		{"platform default page", 3, ListOptions{}, 3, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := pagedAPI(t, tt.total, -1)
			c := newTestClient(t, api.srv.URL)
			var got, want []string
			for w, err := range c.AllWebhooks(t.Context(), tt.o) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, w.ID)
			}
			for i := tt.total - tt.wantIDs; i < tt.total; i++ {
				want = append(want, fmt.Sprintf("w%d", i))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("IDs (-want +got):\n%s", diff)
			}
			var pages []string
			for _, r := range api.requests() {
				pages = append(pages, r.Query)
			}
			if diff := cmp.Diff(tt.wantPages, pages); diff != "" {
				t.Errorf("page queries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAllStopsEarlyAndOnError(t *testing.T) {
	t.Parallel()
	t.Run("break", func(t *testing.T) {
		t.Parallel()
		api := pagedAPI(t, 10, -1)
		c := newTestClient(t, api.srv.URL)
		n := 0
		for _, err := range c.AllWebhookDispatches(t.Context(), ListOptions{Limit: 2}) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 3 {
				break
			}
		}
		if api.count() != 2 {
			t.Errorf("fetched %d pages for 3 items of 2 per page, want 2", api.count())
		}
	})
	t.Run("error", func(t *testing.T) {
		t.Parallel()
		api := pagedAPI(t, 10, 1)
		c := newTestClient(t, api.srv.URL)
		var ids []string
		var errs []error
		for d, err := range c.AllWebhookDispatches(t.Context(), ListOptions{Limit: 3}) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			ids = append(ids, d.ID)
		}
		if diff := cmp.Diff([]string{"w0", "w1", "w2"}, ids); diff != "" {
			t.Errorf("IDs (-want +got):\n%s", diff)
		}
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "broken") {
			t.Errorf("errors = %v, want the one page error", errs)
		}
	})
}

func TestListPage(t *testing.T) {
	t.Parallel()
	api := pagedAPI(t, 7, -1)
	c := newTestClient(t, api.srv.URL)
	p, err := c.ListWebhookDispatchesOf(t.Context(), "wh1", ListOptions{Offset: 5, Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	want := &Page[WebhookDispatch]{Total: 7, Offset: 5, Limit: 4, Count: 2, Items: []WebhookDispatch{{ID: "w5"}, {ID: "w6"}}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("page (-want +got):\n%s", diff)
	}
}

package apifytest_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// TestListRunsPages checks run lists by status, offset, limit and order,
// with runs that end in another order than they started.
func TestListRunsPages(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	var ids []string
	for range 5 {
		run, err := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
	}
	for _, end := range []struct {
		i      int
		status client.RunStatus
	}{{3, client.StatusSucceeded}, {0, client.StatusSucceeded}, {1, client.StatusFailed}, {4, client.StatusSucceeded}} {
		if _, err := srv.FinishRun(ids[end.i], end.status, 0); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		query string
		total int
		want  []string
	}{
		{"", 5, ids},
		{"?status=SUCCEEDED", 3, []string{ids[0], ids[3], ids[4]}},
		{"?status=SUCCEEDED&desc=1", 3, []string{ids[4], ids[3], ids[0]}},
		{"?status=SUCCEEDED&offset=1&limit=1", 3, []string{ids[3]}},
		{"?status=RUNNING", 1, []string{ids[2]}},
		{"?status=ABORTED", 0, nil},
		{"?desc=true&offset=1&limit=2", 5, []string{ids[3], ids[2]}},
		{"?offset=9", 5, nil},
	}
	for _, tt := range tests {
		var page client.Page[client.Run]
		call(t, srv, srv.Token, "GET", "/v2/actor-runs"+tt.query, nil).data(t, &page)
		var got []string
		for _, r := range page.Items {
			got = append(got, r.ID)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" || page.Total != tt.total || page.Count != len(tt.want) {
			t.Errorf("%s: total %d, count %d, want %d; runs (-want +got):\n%s", tt.query, page.Total, page.Count, tt.total, diff)
		}
	}
}

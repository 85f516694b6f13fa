package apifytest

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDocListsEveryRoute checks that the endpoint lists of the package
// documentation (doc.go) name exactly the routes the server serves.
func TestDocListsEveryRoute(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, rt := range (&Server{}).routeTable() {
		for m := range rt.methods {
			want = append(want, m+" "+rt.pattern)
		}
	}
	slices.Sort(want)
	if got := documentedRoutes(string(src)); !cmp.Equal(want, got) {
		t.Errorf("doc.go's endpoint lists disagree with routeTable (-routes +doc):\n%s", cmp.Diff(want, got))
	}
}

// documentedRoutes returns, sorted, the "METHOD /path" pairs of the indented
// blocks of a doc comment: one or more methods (comma-separated), then a
// path starting with /.
func documentedRoutes(src string) []string {
	methods := []string{"GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"}
	var out, pending []string
	for line := range strings.Lines(src) {
		text, ok := strings.CutPrefix(line, "//\t")
		if !ok {
			continue
		}
		pending = pending[:0]
		for _, f := range strings.Fields(text) {
			switch m := strings.TrimSuffix(f, ","); {
			case slices.Contains(methods, m):
				pending = append(pending, m)
			case strings.HasPrefix(f, "/") && len(pending) > 0:
				for _, m := range pending {
					out = append(out, m+" "+f)
				}
				pending = pending[:0]
			default:
				pending = pending[:0]
			}
		}
	}
	slices.Sort(out)
	return out
}

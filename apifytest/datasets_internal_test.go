package apifytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-apify/actor/internal/items"
	"github.com/google/go-cmp/cmp"
)

// FuzzShapeItems feeds the shaping of dataset reads arbitrary items and
// queries: it must not panic, and what it writes as JSON must be valid.
func FuzzShapeItems(f *testing.F) {
	f.Add([]byte(`{"a":{"b":[1,{"c":2}]},"#h":1}`), "unwind=a&flatten=a&fields=a,b&omit=c&clean=1")
	f.Add([]byte(`{"a":[{"a":1},2,[3]],"b":null}`), "unwind=a,a&flatten=b&format=jsonl")
	f.Add([]byte(`{"x":"y,\"z\"\n","n":{"m":{"o":1}}}`), "format=csv&flatten=n&delimiter=%09")
	f.Add([]byte(`{}`), "skipEmpty=1&fields=a&outputFields=b")
	f.Fuzz(func(t *testing.T, item []byte, query string) {
		o, err := items.Parse(item)
		if err != nil {
			return // only objects are stored
		}
		var buf bytes.Buffer
		_ = json.Compact(&buf, o.AppendJSON(nil))
		q, e := parseItemsQuery(&http.Request{URL: &url.URL{RawQuery: query}})
		if e != nil {
			return
		}
		body, _, e := q.render([][]byte{buf.Bytes(), buf.Bytes()})
		if e != nil {
			return
		}
		body = bytes.TrimPrefix(body, []byte("\ufeff"))
		switch q.format {
		case "json":
			if !json.Valid(body) {
				t.Fatalf("invalid JSON %q for item %s, query %q", body, item, query)
			}
		case "jsonl":
			for _, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
				if len(line) > 0 && !json.Valid(line) {
					t.Fatalf("invalid JSON line %q for item %s, query %q", line, item, query)
				}
			}
		}
	})
}

// TestItemLog pushes items of many sizes, in pushes of many sizes, and
// reads them back.
func TestItemLog(t *testing.T) {
	t.Parallel()
	var l itemLog
	var want []string
	for i, n := range []int{1, 1, 3, 1000, 1, 5000, 2, 1, 2000, 1} {
		var body bytes.Buffer
		body.WriteByte('[')
		for j := range n {
			if j > 0 {
				body.WriteByte(',')
			}
			it := fmt.Sprintf(`{"push":%d,"item":%d,"pad":%q}`, i, j, strings.Repeat("x", (i*j)%300))
			body.WriteString(it)
			want = append(want, it)
		}
		body.WriteByte(']')
		p, err := items.Split(body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		l.add(p)
	}
	got := make([]string, len(l.refs))
	for i, r := range l.refs {
		got[i] = string(l.item(r))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	used, held := 0, 0
	for _, c := range l.chunks {
		used, held = used+len(c), held+cap(c)
	}
	if held > 2*used+maxChunk {
		t.Errorf("%d chunks hold %d bytes for %d bytes of items", len(l.chunks), held, used)
	}
}

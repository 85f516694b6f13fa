package apifytest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/google/go-cmp/cmp"
)

// TestDatasetItems reads items back through HTTP with each filter and
// format.
func TestDatasetItems(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	var ds storageJSON
	call(t, srv, srv.Token, "POST", "/v2/datasets?name=items", nil).data(t, &ds)
	items := `[
		{"b": 1, "a": "x", "#hidden": true, "tags": ["t1", "t2"], "geo": {"lat": 1, "pos": {"x": 2}}},
		{},
		{"#only": "hidden"},
		{"a": "y,\"q\"", "tags": [{"name": "n1"}, "t3"], "c": null}
	]`
	if r := call(t, srv, srv.Token, "POST", "/v2/datasets/"+ds.ID+"/items", items); r.status != http.StatusCreated {
		t.Fatalf("push: %d %s", r.status, r.body)
	}
	if r := call(t, srv, srv.Token, "POST", "/v2/datasets/"+ds.ID+"/items", `{"single": "object"}`); r.status != http.StatusCreated {
		t.Fatalf("push one: %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		name, query, want, contentType string
		count                          string
	}{
		{name: "all", query: "",
			want:  `[{"b":1,"a":"x","#hidden":true,"tags":["t1","t2"],"geo":{"lat":1,"pos":{"x":2}}},{},{"#only":"hidden"},{"a":"y,\"q\"","tags":[{"name":"n1"},"t3"],"c":null},{"single":"object"}]`,
			count: "5"},
		{name: "offset limit", query: "?offset=1&limit=2", want: `[{},{"#only":"hidden"}]`, count: "2"},
		{name: "desc", query: "?desc=1&limit=2", want: `[{"single":"object"},{"a":"y,\"q\"","tags":[{"name":"n1"},"t3"],"c":null}]`, count: "2"},
		{name: "fields in their order", query: "?fields=a,b&limit=1", want: `[{"a":"x","b":1}]`, count: "1"},
		{name: "omit", query: "?omit=tags,geo,%23hidden&limit=1", want: `[{"b":1,"a":"x"}]`, count: "1"},
		{name: "skipHidden", query: "?skipHidden=1&limit=3&fields=a,%23hidden,%23only", want: `[{"a":"x"},{},{}]`, count: "3"},
		{name: "skipEmpty", query: "?skipEmpty=true&limit=3&fields=%23only", want: `[{"#only":"hidden"}]`, count: "3"},
		{name: "clean", query: "?clean=1&limit=3&omit=tags,geo", want: `[{"b":1,"a":"x"}]`, count: "3"},
		{name: "unwind array", query: "?unwind=tags&fields=a,tags,name", want: `[{"a":"x","tags":"t1"},{"a":"x","tags":"t2"},{},{},{"a":"y,\"q\"","name":"n1"},{"a":"y,\"q\"","tags":"t3"},{}]`, count: "5"},
		{name: "unwind object", query: "?unwind=geo&limit=1&fields=b,geo", want: `[{"b":1,"lat":1,"pos":{"x":2}}]`, count: "1"},
		{name: "omit then unwind", query: "?unwind=tags&limit=1&omit=tags", want: `[{"b":1,"a":"x","#hidden":true,"geo":{"lat":1,"pos":{"x":2}}}]`, count: "1"},
		{name: "flatten", query: "?flatten=geo&limit=1&omit=tags", want: `[{"b":1,"a":"x","#hidden":true,"geo.lat":1,"geo.pos.x":2}]`, count: "1"},
		{name: "outputFields", query: "?fields=a,b&outputFields=title,rank&limit=1", want: `[{"title":"x","rank":1}]`, count: "1"},
		{name: "json with a BOM", query: "?fields=b&limit=1&bom=1", want: "\ufeff" + `[{"b":1}]`, count: "1"},
		{name: "jsonl", query: "?format=jsonl&offset=3&fields=a", want: "{\"a\":\"y,\\\"q\\\"\"}\n{}\n", contentType: "application/jsonl; charset=utf-8", count: "2"},
		{name: "csv", query: "?format=csv&skipEmpty=1&skipHidden=1",
			want:        "\ufeffb,a,tags,geo,c,single\n1,x,\"[\"\"t1\"\",\"\"t2\"\"]\",\"{\"\"lat\"\":1,\"\"pos\"\":{\"\"x\"\":2}}\",,\n,\"y,\"\"q\"\"\",\"[{\"\"name\"\":\"\"n1\"\"},\"\"t3\"\"]\",,,\n,,,,,object\n",
			contentType: "text/csv; charset=utf-8", count: "5"},
		{name: "csv without header, delimiter", query: "?format=csv&fields=a,b&limit=1&skipHeaderRow=1&delimiter=%3B&bom=0", want: "x;1\n", contentType: "text/csv; charset=utf-8", count: "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := call(t, srv, srv.Token, "GET", "/v2/datasets/"+ds.ID+"/items"+tc.query, nil)
			if r.status != http.StatusOK {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if diff := cmp.Diff(tc.want, string(r.body)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			ct := tc.contentType
			if ct == "" {
				ct = "application/json; charset=utf-8"
			}
			if got := r.header.Get("Content-Type"); got != ct {
				t.Errorf("Content-Type %q, want %q", got, ct)
			}
			if got := r.header.Get("X-Apify-Pagination-Total"); got != "5" {
				t.Errorf("total %q", got)
			}
			if got := r.header.Get("X-Apify-Pagination-Count"); got != tc.count {
				t.Errorf("count %q, want %s", got, tc.count)
			}
			head := call(t, srv, srv.Token, "HEAD", "/v2/datasets/"+ds.ID+"/items"+tc.query, nil)
			if head.status != http.StatusOK || len(head.body) != 0 || head.header.Get("X-Apify-Pagination-Count") != tc.count {
				t.Errorf("HEAD: %d %q %v", head.status, head.body, head.header)
			}
		})
	}

	if r := call(t, srv, srv.Token, "GET", "/v2/datasets/"+ds.ID+"/items?attachment=1&format=jsonl&limit=1", nil); r.header.Get("Content-Disposition") != "attachment; filename=items.jsonl" {
		t.Errorf("attachment: Content-Disposition %q", r.header.Get("Content-Disposition"))
	}
	if r := call(t, srv, srv.Token, "GET", "/v2/datasets/"+ds.ID+"/statistics", nil); r.status != http.StatusOK || string(r.body) != `{"data":{"fieldStatistics":null}}` {
		t.Errorf("statistics: %d %s", r.status, r.body)
	}
	var got storageJSON
	call(t, srv, srv.Token, "GET", "/v2/datasets/"+ds.ID, nil).data(t, &got)
	if *got.ItemCount != 5 || *got.CleanItemCount != 3 {
		t.Errorf("itemCount %d, cleanItemCount %d; want 5 and 3", *got.ItemCount, *got.CleanItemCount)
	}
}

// TestDatasetLegacyFilters checks the filters of the legacy Crawler's
// results: skipFailedPages and simplified.
func TestDatasetLegacyFilters(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ds, err := srv.Client().GetOrCreateDataset(ctxFor(t), "legacy")
	if err != nil {
		t.Fatal(err)
	}
	path := "/v2/datasets/" + ds.ID + "/items"
	if r := call(t, srv, srv.Token, "POST", path, `[{"url":"u1","pageFunctionResult":[{"a":1},{"a":2}],"x":1},{"url":"u2","errorInfo":"boom"}]`); r.status != http.StatusCreated {
		t.Fatalf("push: %d %s", r.status, r.body)
	}
	for _, tc := range []struct{ query, want string }{
		{"?skipFailedPages=1", `[{"url":"u1","pageFunctionResult":[{"a":1},{"a":2}],"x":1}]`},
		{"?simplified=1", `[{"url":"u1","a":1},{"url":"u1","a":2},{"url":"u2","errorInfo":"boom"}]`},
	} {
		r := call(t, srv, srv.Token, "GET", path+tc.query, nil)
		if diff := cmp.Diff(tc.want, string(r.body)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.query, diff)
		}
	}
}

// TestDatasetItemsErrors checks that bad pushes and reads are refused with
// the reason, and the refused pushes store nothing.
func TestDatasetItemsErrors(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ds, err := srv.Client().GetOrCreateDataset(ctxFor(t), "errs")
	if err != nil {
		t.Fatal(err)
	}
	path := "/v2/datasets/" + ds.ID + "/items"
	for _, tc := range []struct{ name, body, want string }{
		{"not an object", `[{"a":1}, 2]`, "item 1"},
		{"string", `"x"`, "item 0"},
		{"bad JSON", `[{"a":1}`, "JSON"},
		{"two objects", `{"a":1} {"b":2}`, "JSON"},
		{"bad JSON after good items", `[{"a":1},{"b":tru}]`, "JSON"},
		{"too deep", strings.Repeat(`{"a":`, 10_001) + `1` + strings.Repeat(`}`, 10_001), "nested"},
	} {
		wantBadRequest(t, call(t, srv, srv.Token, "POST", path, tc.body), tc.name, tc.want)
	}
	for _, tc := range []struct{ name, query, want string }{
		{"format", "?format=xlsx", "format"},
		{"limit", "?limit=-1", "limit"},
		{"offset", "?offset=x", "offset"},
		{"bool", "?clean=maybe", "clean"},
		{"delimiter", "?format=csv&delimiter=ab", "delimiter"},
		{"outputFields", "?fields=a&outputFields=x,y", "outputFields"},
		{"view", "?view=overview", "view"},
	} {
		wantBadRequest(t, call(t, srv, srv.Token, "GET", path+tc.query, nil), tc.name, tc.want)
	}
	// Unwinding an array of 300 elements under a 1 MB field would make a
	// response of 300 MB: refused, without making it.
	big := `{"pad":"` + strings.Repeat("x", 1<<20) + `","arr":[` + strings.TrimSuffix(strings.Repeat("0,", 300), ",") + `]}`
	if r := call(t, srv, srv.Token, "POST", path, big); r.status != http.StatusCreated {
		t.Fatalf("push big: %d %s", r.status, r.body)
	}
	wantBadRequest(t, call(t, srv, srv.Token, "GET", path+"?unwind=arr", nil), "unwind past the response limit", "smaller limit")
	wantBadRequest(t, call(t, srv, srv.Token, "GET", path+"?unwind=arr&format=csv", nil), "csv unwind past the response limit", "smaller limit")
	if r := call(t, srv, srv.Token, "GET", path+"?unwind=arr&fields=arr", nil); r.status != http.StatusOK || !strings.HasPrefix(string(r.body), `[{"arr":0},`) {
		t.Errorf("unwind of small items: %d %.100s", r.status, r.body)
	}
	if r := call(t, srv, srv.Token, "GET", "/v2/datasets/NoSuchDataset1234/items", nil); r.status != http.StatusNotFound {
		t.Errorf("missing dataset: %d", r.status)
	}
	p, err := client.ListItems[json.RawMessage](ctxFor(t), srv.Client(), ds.ID, client.ItemsOptions{})
	if err != nil || p.Total != 1 {
		t.Errorf("after refused pushes: %+v, %v", p, err)
	}
}

// TestDatasetThroughClient pushes and reads items with the Go client:
// batches split by PushItems, pages of AllItems, filters.
func TestDatasetThroughClient(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ctx := ctxFor(t)
	c := srv.Client()
	ds, err := c.GetOrCreateDataset(ctx, "through-client")
	if err != nil {
		t.Fatal(err)
	}
	type item struct {
		N      int    `json:"n"`
		Secret string `json:"#secret,omitempty"`
	}
	var pushed []item
	for i := range 2500 {
		pushed = append(pushed, item{N: i, Secret: "s"})
	}
	if err := c.PushItems(ctx, ds.ID, pushed); err != nil {
		t.Fatal(err)
	}
	var got []item
	for it, err := range client.AllItems[item](ctx, c, ds.ID, client.ItemsOptions{Limit: 700, Clean: true}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, it)
	}
	if len(got) != len(pushed) || got[0].Secret != "" || got[2499].N != 2499 {
		t.Errorf("AllItems: %d items, first %+v", len(got), got[0])
	}
	page, err := client.ListItems[item](ctx, c, ds.ID, client.ItemsOptions{Offset: 10, Limit: 3, Desc: true})
	if err != nil {
		t.Fatal(err)
	}
	want := &client.Page[item]{Total: 2500, Offset: 10, Limit: 3, Count: 3, Desc: true,
		Items: []item{{2489, "s"}, {2488, "s"}, {2487, "s"}}}
	if diff := cmp.Diff(want, page); diff != "" {
		t.Errorf("ListItems (-want +got):\n%s", diff)
	}
	info, err := c.GetDataset(ctx, ds.ID)
	if err != nil || info.ItemCount != 2500 || info.ConsoleURL == "" {
		t.Errorf("GetDataset: %+v, %v", info, err)
	}
}

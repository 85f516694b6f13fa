package localstorage_test

import (
	"encoding/json"
	"testing"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/internal/localstorage"
	"github.com/google/go-cmp/cmp"
)

// TestItemFilterMatchesPlatform reads the same items with the same filters
// from a local dataset and from the local platform's dataset items endpoint
// (through the client): both must shape them alike.
func TestItemFilterMatchesPlatform(t *testing.T) {
	t.Parallel()
	raw := []json.RawMessage{
		json.RawMessage(`{"id":1,"#debug":"x","tags":["a",{"t":"b","id":7}],"geo":{"lat":1,"#h":2},"<&>":true}`),
		json.RawMessage(`{"#only":"hidden"}`),
		json.RawMessage(`{}`),
		json.RawMessage(`{"id":2,"tags":[],"geo":5,"offers":[{"p":1},{"p":2}]}`),
	}
	s, err := localstorage.New(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d, err := s.Dataset(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Push(t.Context(), raw...); err != nil {
		t.Fatal(err)
	}
	srv := apifytest.NewTestServer(t)
	c := srv.Client()
	ds, err := c.GetOrCreateDataset(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PushItems(t.Context(), ds.ID, raw); err != nil {
		t.Fatal(err)
	}
	tests := []localstorage.ItemFilter{
		{},
		{Fields: []string{"tags", "id", "missing"}},
		{Omit: []string{"geo", "tags"}},
		{Unwind: []string{"tags"}},
		{Unwind: []string{"geo", "offers"}},
		{Fields: []string{"id", "offers"}, Unwind: []string{"offers"}},
		{Omit: []string{"id"}, Unwind: []string{"tags"}},
		{SkipHidden: true},
		{SkipEmpty: true},
		{Clean: true, Unwind: []string{"geo"}},
		{Fields: []string{"#only"}, SkipHidden: true},
	}
	for _, f := range tests {
		var local []string
		for it, err := range d.Items(t.Context(), localstorage.ItemsOptions{Filter: f}) {
			if err != nil {
				t.Fatal(err)
			}
			local = append(local, string(it))
		}
		p, err := client.ListItems[json.RawMessage](t.Context(), c, ds.ID, client.ItemsOptions{
			Fields: f.Fields, Omit: f.Omit, Unwind: f.Unwind, SkipHidden: f.SkipHidden, SkipEmpty: f.SkipEmpty, Clean: f.Clean,
		})
		if err != nil {
			t.Fatal(err)
		}
		var platform []string
		for _, it := range p.Items {
			platform = append(platform, string(it))
		}
		if diff := cmp.Diff(platform, local); diff != "" {
			t.Errorf("%+v: local storage differs from the platform (-platform +local):\n%s", f, diff)
		}
	}
}

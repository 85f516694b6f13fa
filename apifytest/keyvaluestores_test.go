package apifytest_test

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/google/go-cmp/cmp"
)

// keysJSON is a page of keys.
type keysJSON struct {
	Items []struct {
		Key             string `json:"key"`
		Size            int    `json:"size"`
		RecordPublicURL string `json:"recordPublicUrl"`
	} `json:"items"`
	Count                 int    `json:"count"`
	Limit                 int    `json:"limit"`
	ExclusiveStartKey     string `json:"exclusiveStartKey"`
	IsTruncated           bool   `json:"isTruncated"`
	NextExclusiveStartKey string `json:"nextExclusiveStartKey"`
}

// TestListKeys lists keys through HTTP with exclusiveStartKey, limit and
// prefix.
func TestListKeys(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ctx := ctxFor(t)
	c := srv.Client()
	kv, err := c.GetOrCreateKeyValueStore(ctx, "keys")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"b-2", "a-1", "b-1", "c", "b-3"} {
		if err := c.SetRecord(ctx, kv.ID, k, []byte(k+k), "text/plain"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.DeleteRecord(ctx, kv.ID, "c"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetRecord(ctx, kv.ID, "b-2", []byte("x"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	base := "/v2/key-value-stores/" + kv.ID + "/keys"
	for _, tc := range []struct {
		name, query string
		keys        []string
		truncated   bool
		next        string
	}{
		{"all", "", []string{"a-1", "b-1", "b-2", "b-3"}, false, ""},
		{"limit", "?limit=2", []string{"a-1", "b-1"}, true, "b-1"},
		{"after", "?exclusiveStartKey=b-1&limit=2", []string{"b-2", "b-3"}, false, ""},
		{"after a missing key", "?exclusiveStartKey=b-10", []string{"b-2", "b-3"}, false, ""},
		{"prefix", "?prefix=b-", []string{"b-1", "b-2", "b-3"}, false, ""},
		{"prefix after", "?prefix=b-&exclusiveStartKey=b-2", []string{"b-3"}, false, ""},
		{"prefix, start before", "?prefix=b&exclusiveStartKey=a", []string{"b-1", "b-2", "b-3"}, false, ""},
		{"no match", "?prefix=z", nil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var p keysJSON
			r := call(t, srv, srv.Token, "GET", base+tc.query, nil)
			r.data(t, &p)
			var keys []string
			for _, it := range p.Items {
				keys = append(keys, it.Key)
				want := 2 * len(it.Key)
				if it.Key == "b-2" {
					want = 1
				}
				if it.Size != want || it.RecordPublicURL != srv.URL+"/v2/key-value-stores/"+kv.ID+"/records/"+it.Key {
					t.Errorf("%s: size %d, URL %s", it.Key, it.Size, it.RecordPublicURL)
				}
			}
			if diff := cmp.Diff(tc.keys, keys); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if p.IsTruncated != tc.truncated || p.NextExclusiveStartKey != tc.next || p.Count != len(tc.keys) {
				t.Errorf("truncated %v next %q count %d", p.IsTruncated, p.NextExclusiveStartKey, p.Count)
			}
		})
	}
	wantBadRequest(t, call(t, srv, srv.Token, "GET", base+"?limit=0", nil), "limit 0", "limit")
	wantBadRequest(t, call(t, srv, srv.Token, "GET", base+"?collection=images", nil), "collection", "collection")
}

// TestKeysThroughClient pages through many keys with AllKeys.
func TestKeysThroughClient(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ctx := ctxFor(t)
	c := srv.Client()
	kv, err := c.GetOrCreateKeyValueStore(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 1500 {
		k := "k" + strconv.Itoa(10000+i)
		want = append(want, k)
		if err := c.SetRecordJSON(ctx, kv.ID, k, i); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for k, err := range c.AllKeys(ctx, kv.ID, client.KeysOptions{Prefix: "k1"}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, k.Key)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AllKeys (-want +got):\n%s", diff)
	}
	var v int
	if err := c.GetRecordJSON(ctx, kv.ID, "k10042", &v); err != nil || v != 42 {
		t.Errorf("GetRecordJSON: %d, %v", v, err)
	}
	if r := call(t, srv, srv.Token, "GET", "/v2/key-value-stores/"+kv.ID+"/records/k10001?attachment=true", nil); r.header.Get("Content-Disposition") != `attachment; filename="k10001"` || string(r.body) != "1" {
		t.Errorf("attachment: %q %s", r.header.Get("Content-Disposition"), r.body)
	}
	if ok, err := c.RecordExists(ctx, kv.ID, "nope"); ok || err != nil {
		t.Errorf("RecordExists(nope): %v, %v", ok, err)
	}
	if r := call(t, srv, srv.Token, "PUT", "/v2/key-value-stores/"+kv.ID+"/records/bad%20key", "x"); r.status != http.StatusBadRequest || r.errorOf(t).Type != "invalid-record-key" {
		t.Errorf("bad key: %d %s", r.status, r.body)
	}
}

// TestDownloadRecords downloads the records of a store, through its ID and
// its run, as a ZIP archive.
func TestDownloadRecords(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ctx := ctxFor(t)
	run, err := srv.StartRun(ctx, "me~zip", []byte(`{"in":1}`), client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client()
	for k, v := range map[string]string{"img-1": "one", "img-2": "two", "other": "x"} {
		if err := c.SetRecord(ctx, run.DefaultKeyValueStoreID, k, []byte(v), "text/plain"); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		path string
		want map[string]string
	}{
		{"/v2/key-value-stores/" + run.DefaultKeyValueStoreID + "/records?prefix=img-", map[string]string{"img-1": "one", "img-2": "two"}},
		{"/v2/actor-runs/" + run.ID + "/key-value-store/records", map[string]string{"INPUT": `{"in":1}`, "img-1": "one", "img-2": "two", "other": "x"}},
	} {
		r := call(t, srv, srv.Token, "GET", tc.path, nil)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/zip" {
			t.Fatalf("%s: %d %s", tc.path, r.status, r.body)
		}
		zr, err := zip.NewReader(bytes.NewReader(r.body), int64(len(r.body)))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			got[f.Name] = string(b)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.path, diff)
		}
	}
}

package client

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKeyValueStoreRequests(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	checkStorageCalls(t, []storageCall{
		{"get or create by name", func(c *Client) error { _, err := c.GetOrCreateKeyValueStore(ctx, "state"); return err },
			recorded{Method: "POST", Path: "/v2/key-value-stores", Query: "name=state"}},
		{"get", func(c *Client) error { _, err := c.GetKeyValueStore(ctx, "jane~state"); return err },
			recorded{Method: "GET", Path: "/v2/key-value-stores/jane~state"}},
		{"update", func(c *Client) error {
			_, err := c.UpdateKeyValueStore(ctx, "s1", StorageUpdate{GeneralAccess: AccessAnyoneWithIDCanRead})
			return err
		}, recorded{Method: "PUT", Path: "/v2/key-value-stores/s1", Body: `{"generalAccess":"ANYONE_WITH_ID_CAN_READ"}`,
			Header: http.Header{"Content-Type": {"application/json"}}}},
		{"delete", func(c *Client) error { return c.DeleteKeyValueStore(ctx, "s1") },
			recorded{Method: "DELETE", Path: "/v2/key-value-stores/s1"}},
		{"list", func(c *Client) error {
			_, err := c.ListKeyValueStores(ctx, StorageListOptions{Ownership: SharedWithMe})
			return err
		},
			recorded{Method: "GET", Path: "/v2/key-value-stores", Query: "ownership=sharedWithMe"}},
		{"get record", func(c *Client) error {
			rec, err := c.GetRecord(ctx, "s1", "OUTPUT")
			want := &Record{Key: "OUTPUT", Value: []byte("hello"), ContentType: "text/plain"}
			if diff := cmp.Diff(want, rec); err == nil && diff != "" {
				err = fmt.Errorf("record (-want +got):\n%s", diff)
			}
			return err
		}, recorded{Method: "GET", Path: "/v2/key-value-stores/s1/records/OUTPUT", Query: "attachment=1"}},
		{"open record", func(c *Client) error {
			rec, err := c.OpenRecord(ctx, "s1", "photo.png")
			if err != nil {
				return err
			}
			defer rec.Close()
			b, err := io.ReadAll(rec)
			if err == nil && (string(b) != "hello" || rec.ContentType != "text/plain" || rec.Size != 5) {
				err = fmt.Errorf("record = %q %q %d", b, rec.ContentType, rec.Size)
			}
			return err
		}, recorded{Method: "GET", Path: "/v2/key-value-stores/s1/records/photo.png", Query: "attachment=1"}},
		{"record exists", func(c *Client) error {
			ok, err := c.RecordExists(ctx, "s1", "INPUT")
			if err == nil && !ok {
				err = fmt.Errorf("exists = false")
			}
			return err
		}, recorded{Method: "HEAD", Path: "/v2/key-value-stores/s1/records/INPUT"}},
		{"set record", func(c *Client) error { return c.SetRecord(ctx, "s1", "page(1).html", []byte("<p>"), "text/html") },
			recorded{Method: "PUT", Path: "/v2/key-value-stores/s1/records/page%281%29.html", Body: "<p>",
				Header: http.Header{"Content-Type": {"text/html"}}}},
		{"set binary record", func(c *Client) error { return c.SetRecord(ctx, "s1", "blob", nil, "") },
			recorded{Method: "PUT", Path: "/v2/key-value-stores/s1/records/blob",
				Header: http.Header{"Content-Type": {"application/octet-stream"}}}},
		{"set JSON record", func(c *Client) error { return c.SetRecordJSON(ctx, "s1", "STATE", map[string]int{"n": 1}) },
			recorded{Method: "PUT", Path: "/v2/key-value-stores/s1/records/STATE", Body: `{"n":1}`,
				Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}}},
		{"delete record", func(c *Client) error { return c.DeleteRecord(ctx, "s1", "STATE") },
			recorded{Method: "DELETE", Path: "/v2/key-value-stores/s1/records/STATE"}},
		{"list keys", func(c *Client) error {
			p, err := c.ListKeys(ctx, "s1", KeysOptions{ExclusiveStartKey: "a", Limit: 10, Prefix: "img-", Collection: "images"})
			if err == nil && (len(p.Items) != 1 || p.Items[0] != KeyInfo{Key: "a", Size: 1}) {
				err = fmt.Errorf("page = %+v", p)
			}
			return err
		}, recorded{Method: "GET", Path: "/v2/key-value-stores/s1/keys", Query: "collection=images&exclusiveStartKey=a&limit=10&prefix=img-"}},
	})
}

func TestRecordKeyValidation(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, storageAnswer)
	c := newTestClient(t, api.srv.URL)
	ctx := t.Context()
	checkRefused(t, api, []refusal{
		{"empty key", func() error { _, err := c.GetRecord(ctx, "s1", ""); return err }, "record key: the record key is empty"},
		{"slash", func() error { return c.SetRecord(ctx, "s1", "a/b", nil, "") }, `"a/b" may contain only`},
		{"space", func() error { return c.DeleteRecord(ctx, "s1", "a b") }, `"a b" may contain only`},
		{"non-ASCII", func() error { _, err := c.RecordExists(ctx, "s1", "café"); return err }, "may contain only"},
		{"too long", func() error { _, err := c.OpenRecord(ctx, "s1", strings.Repeat("k", 257)); return err }, "257 characters, more than the platform's maximum of 256"},
		{"empty store", func() error { _, err := c.GetRecord(ctx, "", "k"); return err }, "key-value store ID is empty"},
		{"bad content type", func() error { return c.SetRecord(ctx, "s1", "k", nil, "text/plain\r\nX: y") }, "content type"},
		{"not JSON", func() error { return c.SetRecordJSON(ctx, "s1", "k", make(chan int)) }, "record k: encoding as JSON"},
		{"keys limit", func() error { _, err := c.ListKeys(ctx, "s1", KeysOptions{Limit: 1001}); return err }, "KeysOptions.Limit"},
		{"bad prefix", func() error { _, err := c.ListKeys(ctx, "s1", KeysOptions{Prefix: "a/"}); return err }, "KeysOptions.Prefix"},
		{"bad start key", func() error { _, err := c.ListKeys(ctx, "s1", KeysOptions{ExclusiveStartKey: "a b"}); return err }, "KeysOptions.ExclusiveStartKey"},
		{"public URL of a bad key", func() error { _, err := c.RecordPublicURL(ctx, "s1", "a?b"); return err }, "may contain only"},
	})
	for _, k := range []string{"INPUT", "a", strings.Repeat("z", 256), "!-_.'()", "0.json"} {
		if err := ValidateRecordKey(k); err != nil {
			t.Errorf("ValidateRecordKey(%q) = %v, want nil", k, err)
		}
	}
}

func TestRecordMissing(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.WriteHeader(404)
			return
		}
		writeJSON(w, 404, `{"error":{"type":"record-not-found","message":"Record was not found"}}`)
	})
	c := newTestClient(t, api.srv.URL)
	ctx := t.Context()
	if _, err := c.GetRecord(ctx, "s1", "INPUT"); !IsNotFound(err) {
		t.Errorf("GetRecord: error = %v, want a 404", err)
	}
	var v any
	if err := c.GetRecordJSON(ctx, "s1", "INPUT", &v); !IsNotFound(err) {
		t.Errorf("GetRecordJSON: error = %v, want a 404", err)
	}
	if _, err := c.OpenRecord(ctx, "s1", "INPUT"); !IsNotFound(err) || !strings.Contains(err.Error(), "Record was not found") {
		t.Errorf("OpenRecord: error = %v, want a 404 with the platform's message", err)
	}
	if ok, err := c.RecordExists(ctx, "s1", "INPUT"); ok || err != nil {
		t.Errorf("RecordExists = %v, %v; want false, nil", ok, err)
	}
}

// TestRecordRetries: PUT and GET of records are retried after a 500.
func TestRecordRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(c *Client) error
	}{
		{"set", func(c *Client) error { return c.SetRecord(t.Context(), "s1", "k", []byte("v"), "text/plain") }},
		{"get", func(c *Client) error { _, err := c.GetRecord(t.Context(), "s1", "k"); return err }},
		{"open", func(c *Client) error {
			r, err := c.OpenRecord(t.Context(), "s1", "k")
			if err == nil {
				r.Close()
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, failOnce)
			c := newTestClient(t, api.srv.URL)
			if err := tt.call(c); err != nil {
				t.Fatal(err)
			}
			reqs := api.requests()
			if len(reqs) != 2 || reqs[0].Body != reqs[1].Body {
				t.Errorf("requests = %+v, want the same request twice", reqs)
			}
		})
	}
}

// TestRecordExistsGivesUp: a HEAD that keeps failing ends with the status,
// not with a failure to read a body a HEAD response does not have.
func TestRecordExistsGivesUp(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusBadGateway)
	})
	c := newTestClient(t, api.srv.URL, WithMaxRetries(2))
	_, err := c.RecordExists(t.Context(), "s1", "k")
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadGateway || ae.Attempts != 3 {
		t.Errorf("error = %v, want a 502 *APIError after 3 attempts", err)
	}
}

func TestAllKeys(t *testing.T) {
	t.Parallel()
	pages := []string{
		`{"data":{"items":[{"key":"a","size":1},{"key":"b","size":2}],"count":2,"limit":2,"isTruncated":true,"nextExclusiveStartKey":"b"}}`,
		`{"data":{"items":[{"key":"c","size":3}],"count":1,"limit":2,"exclusiveStartKey":"b","isTruncated":false,"nextExclusiveStartKey":"c"}}`,
	}
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, pages[min(n, 1)]) })
	c := newTestClient(t, api.srv.URL)
	var got []string
	for k, err := range c.AllKeys(t.Context(), "s1", KeysOptions{Limit: 2, Prefix: "x"}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, k.Key)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, got); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	var queries []string
	for _, r := range api.requests() {
		queries = append(queries, r.Query)
	}
	if diff := cmp.Diff([]string{"limit=2&prefix=x", "exclusiveStartKey=b&limit=2&prefix=x"}, queries); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
}

// TestAllKeysStuck: a platform whose next key does not advance ends the
// iteration with an error instead of looping.
func TestAllKeysStuck(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, `{"data":{"items":[{"key":"a","size":1}],"count":1,"limit":1,"isTruncated":true,"nextExclusiveStartKey":"a"}}`)
	})
	c := newTestClient(t, api.srv.URL)
	var errs int
	for _, err := range c.AllKeys(t.Context(), "s1", KeysOptions{}) {
		if err != nil {
			errs++
		}
	}
	if errs != 1 || api.count() != 2 {
		t.Errorf("errors = %d after %d requests, want 1 after 2", errs, api.count())
	}
}

// TestRecordSignature uses the test vectors of @apify/utilities.
func TestRecordSignature(t *testing.T) {
	t.Parallel()
	tests := []struct{ secret, key, want string }{
		{"hmac-secret-key", "hmac-message-to-be-authenticated", "pcVagAsudj8dFqdlg7mG"},
		{"hmac-same-secret-key", "hmac-same-message-to-be-authenticated", "FYMcmTIm3idXqleF1Sw5"},
	}
	for _, tt := range tests {
		if got := recordSignature(tt.secret, tt.key); got != tt.want {
			t.Errorf("recordSignature(%q, %q) = %q, want %q", tt.secret, tt.key, got, tt.want)
		}
	}
}

func TestRecordPublicURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		store string
		want  string // after the base URL
	}{
		{"public store", `{"data":{"id":"S1"}}`, "/v2/key-value-stores/S1/records/OUTPUT"},
		{"signed", `{"data":{"id":"S1","urlSigningSecretKey":"hmac-secret-key"}}`,
			"/v2/key-value-stores/S1/records/OUTPUT?signature=" + recordSignature("hmac-secret-key", "OUTPUT")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, tt.store) })
			c := newTestClient(t, api.srv.URL)
			got, err := c.RecordPublicURL(t.Context(), "jane~state", "OUTPUT")
			if err != nil {
				t.Fatal(err)
			}
			if got != api.srv.URL+tt.want {
				t.Errorf("URL = %s, want %s", got, api.srv.URL+tt.want)
			}
			if strings.Contains(got, testToken) {
				t.Errorf("the URL carries the token: %s", got)
			}
			if r := api.requests(); len(r) != 1 || r[0].Path != "/v2/key-value-stores/jane~state" {
				t.Errorf("requests = %+v, want one GET of the store", r)
			}
		})
	}
}

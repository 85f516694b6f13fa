package actor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/google/go-cmp/cmp"
)

// backendSetup makes Actors whose storage lives in one backend.
type backendSetup struct {
	name     string
	newActor func(tb testing.TB) *actor.Actor
}

func mapLookup(env map[string]string) actor.Option {
	return actor.WithLookupEnv(func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
}

// localActor returns an Actor whose storage is in local files under dir,
// with the extra environment variables given as name, value pairs. Its
// storage is closed (its metadata written) when tb ends, before dir is
// removed if tb made it.
func localActor(tb testing.TB, dir string, extra ...string) *actor.Actor {
	env := map[string]string{"APIFY_LOCAL_STORAGE_DIR": dir}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	a := actor.New(mapLookup(env), actor.WithExitFunc(func(int) {}))
	tb.Cleanup(func() { a.Exit(context.Background(), actor.ExitOptions{}) })
	return a
}

var fastRetries = actor.WithClientOptions(client.WithBackoff(time.Millisecond, 10*time.Millisecond))

var backends = []backendSetup{
	{name: "local", newActor: func(tb testing.TB) *actor.Actor {
		return localActor(tb, tb.TempDir())
	}},
	{name: "apifytest", newActor: func(tb testing.TB) *actor.Actor {
		return apifytestActor(tb, nil, "")
	}},
	{name: "fake platform", newActor: func(tb testing.TB) *actor.Actor {
		return actor.New(actor.WithEnviron(newStorageAPI(tb).env()), fastRetries, actor.WithExitFunc(func(int) {}))
	}},
}

// apifytestActor returns an Actor running as a run of a new apifytest
// server, started with the given input (nil for none).
func apifytestActor(tb testing.TB, input []byte, contentType string) *actor.Actor {
	srv := apifytest.NewTestServer(tb)
	run, err := srv.StartRun(tb.Context(), "me~storage-test", input, client.StartOptions{Timeout: -1, ContentType: contentType})
	if err != nil {
		tb.Fatal(err)
	}
	return actor.New(actor.WithEnviron(srv.Env(run.ID)), fastRetries, actor.WithExitFunc(func(int) {}))
}

// forEachBackend runs f as a parallel subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, a *actor.Actor)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b.newActor(t))
		})
	}
}

type crawlInput struct {
	StartURL string   `json:"startUrl"`
	MaxPages int      `json:"maxPages"`
	Tags     []string `json:"tags"`
}

func TestGetInput(t *testing.T) {
	t.Parallel()
	defaults := crawlInput{StartURL: "http://default/", MaxPages: 3}
	tests := []struct {
		name        string
		value       []byte // nil: no input record
		contentType string
		want        crawlInput
		wantErr     string // "" for none
		wantIs      error
	}{
		{name: "missing", wantIs: actor.ErrNoInput, want: defaults},
		{name: "empty", value: []byte{}, contentType: "application/json", want: defaults},
		{name: "object", value: []byte(`{"startUrl":"http://x/","maxPages":10}`), contentType: "application/json; charset=utf-8",
			want: crawlInput{StartURL: "http://x/", MaxPages: 10}},
		{name: "partial keeps defaults", value: []byte(`{"tags":["a"]}`), contentType: "application/json",
			want: crawlInput{StartURL: "http://default/", MaxPages: 3, Tags: []string{"a"}}},
		{name: "wrong type names the field", value: []byte(`{"maxPages":"ten"}`), contentType: "application/json",
			wantErr: `field "maxPages": JSON string cannot be decoded into int`},
		{name: "nested field", value: []byte(`{"tags":[1]}`), contentType: "application/json",
			wantErr: `field "tags"`},
		{name: "not JSON", value: []byte(`{"maxPages":`), contentType: "application/json", wantErr: "incomplete JSON"},
		{name: "trailing data", value: []byte(`{} {}`), contentType: "application/json", wantErr: "data after the JSON value"},
		{name: "text into a struct", value: []byte("hello"), contentType: "text/plain", wantErr: `content type "text/plain", not JSON`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachBackend(t, func(t *testing.T, a *actor.Actor) {
				ctx := t.Context()
				if tt.value != nil {
					kv, err := a.OpenKeyValueStore(ctx, "")
					if err != nil {
						t.Fatal(err)
					}
					if err := kv.SetRecord(ctx, "INPUT", tt.value, tt.contentType); err != nil {
						t.Fatal(err)
					}
				}
				got := defaults
				err := a.GetInput(ctx, &got)
				switch {
				case tt.wantIs != nil:
					if !errors.Is(err, tt.wantIs) {
						t.Fatalf("GetInput = %v, want an error matching %v", err, tt.wantIs)
					}
				case tt.wantErr != "":
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("GetInput = %v, want an error containing %q", err, tt.wantErr)
					}
					return
				case err != nil:
					t.Fatalf("GetInput: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("input (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestGetInputTextAndRawBytes(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *actor.Actor) {
		ctx := t.Context()
		kv, err := a.OpenKeyValueStore(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := kv.SetRecord(ctx, "INPUT", []byte("plain words"), "text/plain"); err != nil {
			t.Fatal(err)
		}
		var s string
		if err := a.GetInput(ctx, &s); err != nil || s != "plain words" {
			t.Errorf("GetInput(*string) = %q, %v; want %q, nil", s, err, "plain words")
		}
		var b []byte
		if err := a.GetInput(ctx, &b); err != nil || string(b) != "plain words" {
			t.Errorf("GetInput(*[]byte) = %q, %v; want %q, nil", b, err, "plain words")
		}
	})
}

// TestGetInputOfRun reads the input a run was started with, as the platform
// stores it.
func TestGetInputOfRun(t *testing.T) {
	t.Parallel()
	a := apifytestActor(t, []byte(`{"startUrl":"http://given/","maxPages":"9"}`), "")
	var in crawlInput
	err := a.GetInput(t.Context(), &in)
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Field != "maxPages" || in.StartURL != "http://given/" {
		t.Errorf("GetInput = %+v, %v; want the start URL and an *json.UnmarshalTypeError for maxPages", in, err)
	}
	a = apifytestActor(t, []byte(`{"startUrl":"http://given/","maxPages":9}`), "")
	if err := a.GetInput(t.Context(), &in); err != nil || in.MaxPages != 9 {
		t.Errorf("GetInput = %+v, %v; want maxPages 9", in, err)
	}
}

// TestGetInputLocalFiles reads the input as the CLI and the SDKs lay it out,
// under the key the environment names, which the purge on start keeps (as
// the Python SDK does).
func TestGetInputLocalFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		file string
	}{
		{"default key", nil, "INPUT.json"},
		{"ACTOR_INPUT_KEY", []string{"ACTOR_INPUT_KEY", "MY-INPUT"}, "MY-INPUT.json"},
		{"legacy APIFY_INPUT_KEY", []string{"APIFY_INPUT_KEY", "OLD_INPUT"}, "OLD_INPUT.json"},
		{"ACTOR_ wins", []string{"ACTOR_INPUT_KEY", "NEW", "APIFY_INPUT_KEY", "OLD"}, "NEW.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			store := filepath.Join(dir, "key_value_stores", "default")
			if err := os.MkdirAll(store, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(store, tt.file), []byte(`{"maxPages": 7}`), 0o644); err != nil {
				t.Fatal(err)
			}
			a := localActor(t, dir, tt.env...)
			var in crawlInput
			if err := a.GetInput(t.Context(), &in); err != nil || in.MaxPages != 7 {
				t.Errorf("GetInput = %+v, %v; want maxPages 7", in, err)
			}
		})
	}
}

type product struct {
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

func TestPushDataAndItems(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *actor.Actor) {
		ctx := t.Context()
		if err := a.PushData(ctx, product{"a", 1}); err != nil {
			t.Fatal(err)
		}
		if err := a.PushData(ctx, []product{{"b", 2}, {"c", 3}}); err != nil {
			t.Fatal(err)
		}
		if err := a.PushData(ctx, []any{json.RawMessage(`{"name":"d","price":4}`), map[string]any{"name": "e", "price": 5}}); err != nil {
			t.Fatal(err)
		}
		if err := a.PushData(ctx, []product{}); err != nil {
			t.Fatalf("pushing no items: %v", err)
		}
		d, err := a.OpenDataset(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		names := func(o actor.ItemsOptions) string {
			var out []string
			for p, err := range actor.Items[product](ctx, d, o) {
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, p.Name)
			}
			return strings.Join(out, ",")
		}
		for _, c := range []struct {
			o    actor.ItemsOptions
			want string
		}{
			{actor.ItemsOptions{}, "a,b,c,d,e"},
			{actor.ItemsOptions{Offset: 1, Limit: 2}, "b,c"},
			{actor.ItemsOptions{Desc: true}, "e,d,c,b,a"},
			{actor.ItemsOptions{Desc: true, Offset: 1, Limit: 3}, "d,c,b"},
			{actor.ItemsOptions{Offset: 10}, ""},
		} {
			if got := names(c.o); got != c.want {
				t.Errorf("Items(%+v) = %q, want %q", c.o, got, c.want)
			}
		}
		// An item of the wrong shape is an error naming the field.
		for _, err := range actor.Items[struct{ Name int }](ctx, d, actor.ItemsOptions{}) {
			if err == nil || !strings.Contains(err.Error(), `field "Name"`) {
				t.Errorf("decoding into the wrong type: %v, want an error naming the field", err)
			}
			break
		}
	})
}

func TestPushDataRefusesBadItems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		items any
		want  string
	}{
		{"nil", nil, "items is nil"},
		{"not an object", []any{map[string]int{"ok": 1}, 42}, "items[1]: a dataset item must be a JSON object, not a number"},
		{"an array item", []any{[]int{1}}, "items[0]: a dataset item must be a JSON object, not an array"},
		{"cannot be encoded", []any{map[string]any{"ok": 1}, map[string]any{"ch": make(chan int)}}, "items[1]: encoding as JSON"},
		{"invalid raw JSON", []json.RawMessage{json.RawMessage(`{"a":`)}, "items[0]: encoding as JSON"},
		{"over the limit", []any{map[string]any{"ok": 1}, map[string]string{"big": strings.Repeat("x", client.MaxPayloadBytes)}},
			"items[1]: 9437194 bytes of JSON exceed the platform's limit"},
		{"bad after the first request", []any{map[string]string{"a": strings.Repeat("x", client.PushBatchBytes/2)},
			map[string]string{"b": strings.Repeat("x", client.PushBatchBytes/2)}, map[string]float64{"c": math.Inf(1)}},
			"items[2]: encoding as JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachBackend(t, func(t *testing.T, a *actor.Actor) {
				ctx := t.Context()
				err := a.PushData(ctx, tt.items)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("PushData = %v, want an error containing %q", err, tt.want)
				}
				d, err := a.OpenDataset(ctx, "")
				if err != nil {
					t.Fatal(err)
				}
				for _, err := range actor.Items[json.RawMessage](ctx, d, actor.ItemsOptions{}) {
					t.Fatalf("an item was stored (err %v)", err)
				}
			})
		})
	}
}

func TestItemFilters(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *actor.Actor) {
		ctx := t.Context()
		d, err := a.OpenDataset(ctx, "filtered")
		if err != nil {
			t.Fatal(err)
		}
		items := []json.RawMessage{
			json.RawMessage(`{"url":"u1","#debug":1,"offers":[{"p":1},{"p":2}]}`),
			json.RawMessage(`{}`),
			json.RawMessage(`{"url":"u2","#debug":2,"offers":[{"p":3}]}`),
		}
		if err := d.PushData(ctx, items); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			o    actor.ItemsOptions
			want []string
		}{
			{actor.ItemsOptions{Fields: []string{"url"}}, []string{`{"url":"u1"}`, `{}`, `{"url":"u2"}`}},
			{actor.ItemsOptions{Omit: []string{"offers", "#debug"}, SkipEmpty: true}, []string{`{"url":"u1"}`, `{"url":"u2"}`}},
			{actor.ItemsOptions{Clean: true, Fields: []string{"url", "#debug"}}, []string{`{"url":"u1"}`, `{"url":"u2"}`}},
			{actor.ItemsOptions{SkipHidden: true, Omit: []string{"offers"}}, []string{`{"url":"u1"}`, `{}`, `{"url":"u2"}`}},
			{actor.ItemsOptions{Unwind: []string{"offers"}, Omit: []string{"#debug"}, SkipEmpty: true},
				[]string{`{"url":"u1","p":1}`, `{"url":"u1","p":2}`, `{"url":"u2","p":3}`}},
			{actor.ItemsOptions{Desc: true, Limit: 1, Fields: []string{"url"}}, []string{`{"url":"u2"}`}},
		}
		for _, tt := range tests {
			var got []string
			for it, err := range actor.Items[json.RawMessage](ctx, d, tt.o) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(it))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Items(%+v) (-want +got):\n%s", tt.o, diff)
			}
		}
	})
}

func TestKeyValueStore(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *actor.Actor) {
		ctx := t.Context()
		type state struct {
			Done  []string `json:"done"`
			Count int      `json:"count"`
		}
		if err := a.SetValue(ctx, "STATE", state{Done: []string{"a"}, Count: 1}); err != nil {
			t.Fatal(err)
		}
		var got state
		if err := a.GetValue(ctx, "STATE", &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(state{Done: []string{"a"}, Count: 1}, got); diff != "" {
			t.Errorf("GetValue (-want +got):\n%s", diff)
		}
		kv, err := a.OpenKeyValueStore(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		rec, err := kv.GetRecord(ctx, "STATE")
		if err != nil || !strings.HasPrefix(rec.ContentType, "application/json") {
			t.Errorf("GetRecord(STATE) = %+v, %v; want a JSON record", rec, err)
		}

		png := []byte("\x89PNG\r\n\x1a\n\x00binary\xff")
		if err := kv.SetRecord(ctx, "screenshot.png", png, "image/png"); err != nil {
			t.Fatal(err)
		}
		rec, err = kv.GetRecord(ctx, "screenshot.png")
		if err != nil || !bytes.Equal(rec.Value, png) || rec.ContentType != "image/png" {
			t.Errorf("GetRecord(screenshot.png) = %+v, %v; want the bytes as image/png", rec, err)
		}

		big := bytes.Repeat([]byte("0123456789"), 100_000) // 1 MB
		if err := kv.SetRecordFrom(ctx, "blob", bytes.NewReader(big), ""); err != nil {
			t.Fatal(err)
		}
		rr, err := kv.OpenRecord(ctx, "blob")
		if err != nil {
			t.Fatal(err)
		}
		streamed, err := io.ReadAll(rr)
		rr.Close()
		if err != nil || !bytes.Equal(streamed, big) || rr.ContentType != "application/octet-stream" {
			t.Errorf("OpenRecord(blob): %d bytes, %q, %v; want %d bytes of application/octet-stream", len(streamed), rr.ContentType, err, len(big))
		}

		if err := kv.Delete(ctx, "STATE"); err != nil {
			t.Fatal(err)
		}
		if err := kv.Delete(ctx, "STATE"); err != nil {
			t.Errorf("deleting a missing record: %v", err)
		}
		if err := kv.GetValue(ctx, "STATE", &got); !errors.Is(err, actor.ErrNotFound) {
			t.Errorf("GetValue of a deleted record = %v, want ErrNotFound", err)
		}
		if _, err := kv.OpenRecord(ctx, "STATE"); !errors.Is(err, actor.ErrNotFound) {
			t.Errorf("OpenRecord of a deleted record = %v, want ErrNotFound", err)
		}
	})
}

func TestKeyValueStoreRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(ctx context.Context, kv *actor.KeyValueStore) error
		want string
	}{
		{"empty key", func(ctx context.Context, kv *actor.KeyValueStore) error { return kv.SetValue(ctx, "", 1) }, "the record key is empty"},
		{"bad key", func(ctx context.Context, kv *actor.KeyValueStore) error { return kv.SetValue(ctx, "a/b", 1) }, "may contain only"},
		{"long key", func(ctx context.Context, kv *actor.KeyValueStore) error {
			return kv.SetValue(ctx, strings.Repeat("k", 257), 1)
		}, "more than the platform's maximum of 256"},
		{"unencodable", func(ctx context.Context, kv *actor.KeyValueStore) error { return kv.SetValue(ctx, "k", func() {}) }, "encoding as JSON"},
		{"bad raw JSON", func(ctx context.Context, kv *actor.KeyValueStore) error {
			return kv.SetValue(ctx, "k", json.RawMessage("{"))
		}, "not valid JSON"},
		{"content type with a newline", func(ctx context.Context, kv *actor.KeyValueStore) error {
			return kv.SetRecord(ctx, "k", nil, "text/plain\r\nX-Injected: 1")
		}, "control characters"},
		{"value over the limit", func(ctx context.Context, kv *actor.KeyValueStore) error {
			return kv.SetRecord(ctx, "k", make([]byte, client.MaxPayloadBytes+1), "")
		}, "exceed the platform's limit"},
		{"stream over the limit", func(ctx context.Context, kv *actor.KeyValueStore) error {
			return kv.SetRecordFrom(ctx, "k", io.LimitReader(zeros{}, client.MaxPayloadBytes+1), "")
		}, "limit"},
		{"nil reader", func(ctx context.Context, kv *actor.KeyValueStore) error { return kv.SetRecordFrom(ctx, "k", nil, "") }, "the reader is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachBackend(t, func(t *testing.T, a *actor.Actor) {
				ctx := t.Context()
				kv, err := a.OpenKeyValueStore(ctx, "")
				if err != nil {
					t.Fatal(err)
				}
				if err := tt.do(ctx, kv); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %v, want an error containing %q", err, tt.want)
				}
				if _, err := kv.GetRecord(ctx, "k"); !errors.Is(err, actor.ErrNotFound) {
					t.Errorf("after a refused write, GetRecord(k) = %v, want ErrNotFound", err)
				}
			})
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// open returns the store "keys-test" holding the keys item-0000 to
		// item-{n-1} and "other", each with a 1-byte value.
		open func(t *testing.T, n int) *actor.KeyValueStore
		n    int // more than one page of keys
	}{
		{"local", func(t *testing.T, n int) *actor.KeyValueStore {
			// Written as files, as another SDK would: faster than n Sets.
			dir := t.TempDir()
			store := filepath.Join(dir, "key_value_stores", "keys-test")
			if err := os.MkdirAll(store, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				if err := os.WriteFile(filepath.Join(store, fmt.Sprintf("item-%04d.txt", i)), []byte("v"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(store, "other.txt"), []byte("v"), 0o644); err != nil {
				t.Fatal(err)
			}
			kv, err := localActor(t, dir).OpenKeyValueStore(t.Context(), "keys-test")
			if err != nil {
				t.Fatal(err)
			}
			return kv
		}, 1003},
		{"fake platform", func(t *testing.T, n int) *actor.KeyValueStore {
			f := newStorageAPI(t)
			f.keysPage = 10
			return fillKeys(t, actor.New(actor.WithEnviron(f.env()), fastRetries), n)
		}, 23},
		{"apifytest", func(t *testing.T, n int) *actor.KeyValueStore {
			return fillKeys(t, apifytestActor(t, nil, ""), n)
		}, 1003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			kv := tt.open(t, tt.n)
			list := func(o actor.KeysOptions) []string {
				var out []string
				for k, err := range kv.Keys(ctx, o) {
					if err != nil {
						t.Fatal(err)
					}
					if k.Size != 1 {
						t.Errorf("key %s: size %d, want 1", k.Key, k.Size)
					}
					out = append(out, k.Key)
				}
				return out
			}
			var want []string
			for i := range tt.n {
				want = append(want, fmt.Sprintf("item-%04d", i))
			}
			if diff := cmp.Diff(want, list(actor.KeysOptions{Prefix: "item-"})); diff != "" {
				t.Errorf("Keys(prefix item-) (-want +got):\n%s", diff)
			}
			last := fmt.Sprintf("item-%04d", tt.n-1)
			before := fmt.Sprintf("item-%04d", tt.n-2)
			if diff := cmp.Diff([]string{last, "other"}, list(actor.KeysOptions{ExclusiveStartKey: before})); diff != "" {
				t.Errorf("Keys(after %s) (-want +got):\n%s", before, diff)
			}
			n := 0
			for range kv.Keys(ctx, actor.KeysOptions{}) {
				if n++; n == 3 {
					break
				}
			}
		})
	}
}

// fillKeys opens the store "keys-test" of a and sets the keys item-0000 to
// item-{n-1} and "other" in it, each with a 1-byte value.
func fillKeys(t *testing.T, a *actor.Actor, n int) *actor.KeyValueStore {
	t.Helper()
	kv, err := a.OpenKeyValueStore(t.Context(), "keys-test")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := kv.SetRecord(t.Context(), fmt.Sprintf("item-%04d", i), []byte("v"), "text/plain"); err != nil {
			t.Fatal(err)
		}
	}
	if err := kv.SetRecord(t.Context(), "other", []byte("v"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	return kv
}

func TestNamedStorages(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *actor.Actor) {
		ctx := t.Context()
		d, err := a.OpenDataset(ctx, "results-2")
		if err != nil {
			t.Fatal(err)
		}
		if err := d.PushData(ctx, map[string]int{"n": 1}); err != nil {
			t.Fatal(err)
		}
		if err := a.PushData(ctx, map[string]int{"n": 2}); err != nil {
			t.Fatal(err)
		}
		info, err := d.Info(ctx)
		if err != nil || info.Name != "results-2" || info.ItemCount != 1 {
			t.Errorf("Info = %+v, %v; want results-2 with 1 item", info, err)
		}
		again, err := a.OpenDataset(ctx, "results-2")
		if err != nil {
			t.Fatal(err)
		}
		for it, err := range actor.Items[map[string]int](ctx, again, actor.ItemsOptions{}) {
			if err != nil || it["n"] != 1 {
				t.Errorf("item %v, %v; want n=1 (the named dataset holds only its own)", it, err)
			}
		}
		kv, err := a.OpenKeyValueStore(ctx, "cache")
		if err != nil {
			t.Fatal(err)
		}
		if err := kv.SetValue(ctx, "k", "named"); err != nil {
			t.Fatal(err)
		}
		var s string
		if err := a.GetValue(ctx, "k", &s); !errors.Is(err, actor.ErrNotFound) {
			t.Errorf("the default store has the named store's record: %q, %v", s, err)
		}
		if err := d.Drop(ctx); err != nil {
			t.Fatal(err)
		}
		// Opening the name again creates a new, empty dataset.
		d, err = a.OpenDataset(ctx, "results-2")
		if err != nil {
			t.Fatal(err)
		}
		if info, err := d.Info(ctx); err != nil || info.ItemCount != 0 {
			t.Errorf("after Drop and OpenDataset, Info = %+v, %v; want an empty dataset", info, err)
		}
		for _, name := range []string{"bad_name", "-x", strings.Repeat("n", 64)} {
			if _, err := a.OpenDataset(ctx, name); err == nil {
				t.Errorf("OpenDataset(%q) succeeded, want an error", name)
			}
		}
	})
}

func TestPublicURL(t *testing.T) {
	t.Parallel()
	t.Run("local", func(t *testing.T) {
		t.Parallel()
		a := localActor(t, t.TempDir())
		ctx := t.Context()
		if err := a.SetValue(ctx, "report", map[string]int{"n": 1}); err != nil {
			t.Fatal(err)
		}
		kv, err := a.OpenKeyValueStore(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		u, err := kv.PublicURL(ctx, "report")
		if err != nil {
			t.Fatal(err)
		}
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme != "file" || !strings.HasSuffix(pu.Path, "/key_value_stores/default/report.json") {
			t.Fatalf("PublicURL = %s, want a file:// URL of key_value_stores/default/report.json", u)
		}
		path := pu.Path
		if runtime.GOOS == "windows" {
			path = strings.TrimPrefix(path, "/")
		}
		if b, err := os.ReadFile(filepath.FromSlash(path)); err != nil || !bytes.Contains(b, []byte(`"n"`)) {
			t.Errorf("reading %s: %q, %v", path, b, err)
		}
		if _, err := kv.PublicURL(ctx, "missing"); !errors.Is(err, actor.ErrNotFound) {
			t.Errorf("PublicURL(missing) = %v, want ErrNotFound", err)
		}
	})
	t.Run("platform", func(t *testing.T) {
		t.Parallel()
		f := newStorageAPI(t)
		a := actor.New(actor.WithEnviron(f.env()), fastRetries)
		kv, err := a.OpenKeyValueStore(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		u, err := kv.PublicURL(t.Context(), "report")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u, f.srv.URL+"/v2/key-value-stores/kv-default/records/report?signature=") || strings.Contains(u, f.token) {
			t.Errorf("PublicURL = %s, want the record's API URL, signed, without the token", u)
		}
	})
}

func TestRequestQueue(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *actor.Actor) {
		ctx := t.Context()
		q, err := a.OpenRequestQueue(ctx, "crawl")
		if err != nil {
			t.Fatal(err)
		}
		res, err := q.AddRequest(ctx, actor.Request{URL: "http://site.test/", UserData: json.RawMessage(`{"depth":0}`)}, actor.AddOptions{})
		if err != nil || res.WasAlreadyPresent || res.RequestID == "" {
			t.Fatalf("AddRequest = %+v, %v; want a new request", res, err)
		}
		again, err := q.AddRequest(ctx, actor.Request{URL: "http://site.test/"}, actor.AddOptions{})
		if err != nil || !again.WasAlreadyPresent || again.RequestID != res.RequestID {
			t.Errorf("adding the same URL again = %+v, %v; want it already present, ID %s", again, err, res.RequestID)
		}
		batch, err := q.AddRequests(ctx, []actor.Request{
			{URL: "http://site.test/a"}, {URL: "http://site.test/b", Headers: map[string]string{"X-Test": "1"}},
			{URL: "http://site.test/a"}, {URL: "http://site.test/"},
		}, actor.AddOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var present []bool
		for _, r := range batch {
			present = append(present, r.WasAlreadyPresent)
		}
		if diff := cmp.Diff([]bool{false, false, true, true}, present); diff != "" {
			t.Errorf("AddRequests WasAlreadyPresent (-want +got):\n%s", diff)
		}

		if _, err := q.AddRequests(ctx, []actor.Request{{URL: "http://site.test/c"}, {URL: "/relative"}}, actor.AddOptions{}); err == nil ||
			!strings.Contains(err.Error(), "requests[1].URL") {
			t.Errorf("adding a relative URL = %v, want an error naming requests[1].URL", err)
		}

		first, err := q.FetchNext(ctx, 0)
		if err != nil || first == nil || first.URL != "http://site.test/" || string(first.UserData) != `{"depth":0}` {
			t.Fatalf("FetchNext = %+v, %v; want the first request with its user data", first, err)
		}
		if first.LockExpiresAt == nil || time.Until(*first.LockExpiresAt) < time.Minute {
			t.Errorf("the lock expires at %v, want about DefaultLockDuration from now", first.LockExpiresAt)
		}
		second, err := q.FetchNext(ctx, time.Minute)
		if err != nil || second == nil || second.URL != "http://site.test/a" {
			t.Fatalf("FetchNext = %+v, %v; want /a (the first is locked)", second, err)
		}
		first.LoadedURL = "http://site.test/"
		if err := q.MarkHandled(ctx, first); err != nil || first.HandledAt == nil {
			t.Fatalf("MarkHandled: %v (handledAt %v)", err, first.HandledAt)
		}
		if _, err := q.ProlongLock(ctx, second.ID, 2*time.Minute); err != nil {
			t.Errorf("ProlongLock: %v", err)
		}
		second.RetryCount++
		second.ErrorMessages = append(second.ErrorMessages, "timeout")
		if err := q.Reclaim(ctx, second, actor.AddOptions{Forefront: true}); err != nil {
			t.Fatal(err)
		}
		var order []string
		for {
			r, err := q.FetchNext(ctx, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if r == nil {
				break
			}
			order = append(order, strings.TrimPrefix(r.URL, "http://site.test"))
			if r.URL == "http://site.test/a" && (r.RetryCount != 1 || len(r.ErrorMessages) != 1) {
				t.Errorf("the reclaimed request came back as %+v, want retry count 1 and its error", r)
			}
			if r.URL == "http://site.test/b" && r.Headers["X-Test"] != "1" {
				t.Errorf("/b came back without its headers: %+v", r.Headers)
			}
			if err := q.MarkHandled(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff([]string{"/a", "/b"}, order); diff != "" {
			t.Errorf("fetched (-want +got):\n%s", diff)
		}
		info, err := q.Info(ctx)
		if err != nil || info.TotalRequestCount != 3 || info.HandledRequestCount != 3 || info.PendingRequestCount != 0 {
			t.Errorf("Info = %+v, %v; want 3 requests, all handled", info, err)
		}
		got, err := q.GetRequest(ctx, first.ID)
		if err != nil || got.HandledAt == nil || got.LoadedURL != "http://site.test/" {
			t.Errorf("GetRequest = %+v, %v; want it handled with its loaded URL", got, err)
		}
		if _, err := q.GetRequest(ctx, "nosuchrequest00"); !errors.Is(err, actor.ErrNotFound) {
			t.Errorf("GetRequest(missing) = %v, want ErrNotFound", err)
		}
		if err := q.MarkHandled(ctx, &actor.Request{URL: "http://x/"}); err == nil {
			t.Error("MarkHandled of a request without an ID succeeded")
		}
	})
}

// TestRequestQueueSurvivesRestart crawls part of a local queue, stops
// without handling a request it holds (as a killed process), and goes on in
// a new Actor on the same storage: the handled request stays handled, the
// held one is pending again.
func TestRequestQueueSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	a := localActor(t, dir)
	q, err := a.OpenRequestQueue(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.AddRequests(ctx, []actor.Request{{URL: "http://s.test/1"}, {URL: "http://s.test/2"}, {URL: "http://s.test/3"}}, actor.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	r1, err := q.FetchNext(ctx, 0)
	if err != nil || r1 == nil {
		t.Fatal(r1, err)
	}
	if err := q.MarkHandled(ctx, r1); err != nil {
		t.Fatal(err)
	}
	if r2, err := q.FetchNext(ctx, 0); err != nil || r2 == nil {
		t.Fatal(r2, err) // locked, never handled
	}
	a.Exit(ctx, actor.ExitOptions{})
	if _, err := a.OpenRequestQueue(ctx, ""); err == nil {
		t.Error("the storage is still open after Exit")
	}

	b := localActor(t, dir, "APIFY_PURGE_ON_START", "0")
	q, err = b.OpenRequestQueue(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for {
		r, err := q.FetchNext(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			break
		}
		urls = append(urls, r.URL)
		if err := q.MarkHandled(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"http://s.test/2", "http://s.test/3"}, urls); diff != "" {
		t.Errorf("after the restart (-want +got):\n%s", diff)
	}

	// Purging on start (the default) empties the default queue, as the SDKs do.
	c := localActor(t, dir)
	q, err = c.OpenRequestQueue(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := q.Info(ctx); err != nil || info.TotalRequestCount != 0 {
		t.Errorf("after a purge: %+v, %v; want an empty queue", info, err)
	}
}

func TestStorageMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		env   map[string]string
		force actor.StorageMode
		want  actor.StorageMode
	}{
		{"nothing set", nil, actor.StorageAuto, actor.StorageLocal},
		{"at home", map[string]string{"APIFY_IS_AT_HOME": "1"}, actor.StorageAuto, actor.StoragePlatform},
		{"local platform", map[string]string{"APIFY_API_BASE_URL": "http://127.0.0.1:1", "APIFY_TOKEN": "t"}, actor.StorageAuto, actor.StoragePlatform},
		{"a token alone", map[string]string{"APIFY_TOKEN": "t"}, actor.StorageAuto, actor.StorageLocal},
		{"a base URL alone", map[string]string{"APIFY_API_BASE_URL": "http://127.0.0.1:1"}, actor.StorageAuto, actor.StorageLocal},
		{"forced local", map[string]string{"APIFY_IS_AT_HOME": "1"}, actor.StorageLocal, actor.StorageLocal},
		{"forced platform", nil, actor.StoragePlatform, actor.StoragePlatform},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := actor.New(mapLookup(tt.env), actor.WithStorage(tt.force))
			if got := a.StorageMode(); got != tt.want {
				t.Errorf("StorageMode = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDefaultStorageNotNamed checks that on the platform, without the
// default storages' IDs, the default storages are a clear error and nothing
// is sent.
func TestDefaultStorageNotNamed(t *testing.T) {
	t.Parallel()
	f := newStorageAPI(t)
	a := actor.New(actor.WithEnviron([]string{"APIFY_API_BASE_URL=" + f.srv.URL, "APIFY_TOKEN=" + f.token}), fastRetries)
	ctx := t.Context()
	if err := a.PushData(ctx, map[string]int{"n": 1}); !errors.Is(err, actor.ErrNoDefaultStorage) ||
		!strings.Contains(err.Error(), "ACTOR_DEFAULT_DATASET_ID") {
		t.Errorf("PushData = %v, want ErrNoDefaultStorage naming ACTOR_DEFAULT_DATASET_ID", err)
	}
	if err := a.GetInput(ctx, new(any)); !errors.Is(err, actor.ErrNoDefaultStorage) {
		t.Errorf("GetInput = %v, want ErrNoDefaultStorage", err)
	}
	if calls := f.requests(); len(calls) != 0 {
		t.Errorf("requests sent: %v", calls)
	}
	if _, err := a.OpenDataset(ctx, "named-works"); err != nil {
		t.Errorf("a named dataset: %v", err)
	}
}

// TestRequestQueueWorkers runs a crawler loop in several goroutines on one
// queue: every request is handed out once and handled once.
func TestRequestQueueWorkers(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, a *actor.Actor) {
		ctx := t.Context()
		q, err := a.OpenRequestQueue(ctx, "workers")
		if err != nil {
			t.Fatal(err)
		}
		const n = 40
		var rs []actor.Request
		for i := range n {
			rs = append(rs, actor.Request{URL: fmt.Sprintf("http://w.test/%d", i)})
		}
		if _, err := q.AddRequests(ctx, rs, actor.AddOptions{}); err != nil {
			t.Fatal(err)
		}
		var (
			mu   sync.Mutex
			seen = map[string]int{}
			wg   sync.WaitGroup
		)
		errs := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					r, err := q.FetchNext(ctx, time.Minute)
					if err != nil || r == nil {
						errs <- err
						return
					}
					mu.Lock()
					seen[r.URL]++
					mu.Unlock()
					if err := q.MarkHandled(ctx, r); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if len(seen) != n {
			t.Errorf("%d requests handed out, want %d", len(seen), n)
		}
		for u, c := range seen {
			if c != 1 {
				t.Errorf("%s handed out %d times", u, c)
			}
		}
	})
}

// TestRequestQueueRestartOnPlatform is TestRequestQueueSurvivesRestart on
// the local platform: the new process (a new client of the queue) finds the
// handled request handled and does not get the one the dead process had
// locked, which returns when its lock expires.
func TestRequestQueueRestartOnPlatform(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ctx := t.Context()
	run, err := srv.StartRun(ctx, "me~restart-test", nil, client.StartOptions{Timeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	newProcess := func() *actor.RequestQueue {
		a := actor.New(actor.WithEnviron(srv.Env(run.ID)), fastRetries, actor.WithExitFunc(func(int) {}))
		q, err := a.OpenRequestQueue(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	q := newProcess()
	if _, err := q.AddRequests(ctx, []actor.Request{{URL: "http://s.test/1"}, {URL: "http://s.test/2"}, {URL: "http://s.test/3"}}, actor.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	r1, err := q.FetchNext(ctx, 0)
	if err != nil || r1 == nil {
		t.Fatal(r1, err)
	}
	if err := q.MarkHandled(ctx, r1); err != nil {
		t.Fatal(err)
	}
	if r2, err := q.FetchNext(ctx, 0); err != nil || r2 == nil || r2.URL != "http://s.test/2" {
		t.Fatal(r2, err) // locked, never handled: the process dies
	}

	q = newProcess()
	r3, err := q.FetchNext(ctx, 0)
	if err != nil || r3 == nil || r3.URL != "http://s.test/3" {
		t.Fatalf("FetchNext in the new process = %+v, %v; want /3 (/1 is handled, /2 locked by the dead one)", r3, err)
	}
	if err := q.MarkHandled(ctx, r3); err != nil {
		t.Fatal(err)
	}
	if r, err := q.FetchNext(ctx, 0); err != nil || r != nil {
		t.Errorf("FetchNext = %+v, %v; want nothing until the lock of /2 expires", r, err)
	}
	if info, err := q.Info(ctx); err != nil || info.HandledRequestCount != 2 || info.PendingRequestCount != 1 {
		t.Errorf("Info = %+v, %v; want 2 handled and 1 pending", info, err)
	}
}

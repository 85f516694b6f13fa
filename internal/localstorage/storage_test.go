package localstorage

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/go-apify/actor/internal/items"
	"github.com/google/go-cmp/cmp"
)

// openStorage opens a Storage in dir with opts, closed when the test ends.
func openStorage(t *testing.T, dir string, opts *Options) *Storage {
	t.Helper()
	s, err := New(t.Context(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newStorage opens a Storage in a fresh directory that writes metadata on
// every change, so tests see it at once.
func newStorage(t *testing.T) *Storage {
	t.Helper()
	return openStorage(t, t.TempDir(), &Options{MetadataInterval: -1})
}

// reopen closes s and opens its directory again, as a restarted process would.
func reopen(t *testing.T, s *Storage) *Storage {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return openStorage(t, s.Path(), &Options{MetadataInterval: -1})
}

// openDataset, openKVS and openQueue open a storage of s, failing the test
// on an error.
func openDataset(t *testing.T, s *Storage, name string) *Dataset {
	t.Helper()
	d, err := s.Dataset(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func openKVS(t *testing.T, s *Storage, name string) *KeyValueStore {
	t.Helper()
	kv, err := s.KeyValueStore(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func openQueue(t *testing.T, s *Storage, name string) *RequestQueue {
	t.Helper()
	q, err := s.RequestQueue(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// files lists the regular files under dir, relative and sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies the directory tree src to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	for _, f := range files(t, src) {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dst, f), string(b))
	}
}

// jsonKeys returns the top-level keys of a JSON object file, in order.
func jsonKeys(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	o, err := items.Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	keys := make([]string, len(o))
	for i, f := range o {
		keys[i] = f.Key
	}
	return keys
}

func TestDirAndPurgeOnStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		env       map[string]string
		wantDir   string
		wantPurge bool
	}{
		{"nothing set", nil, "./storage", true},
		{"apify dir first", map[string]string{EnvLocalStorageDir: "/a", EnvCrawleeStorageDir: "/c"}, "/a", true},
		{"crawlee dir", map[string]string{EnvCrawleeStorageDir: "/c"}, "/c", true},
		{"empty apify dir skipped", map[string]string{EnvLocalStorageDir: "", EnvCrawleeStorageDir: "/c"}, "/c", true},
		{"purge 0", map[string]string{EnvPurgeOnStart: "0"}, "./storage", false},
		{"purge false any case", map[string]string{EnvCrawleePurgeOnStart: "FALSE"}, "./storage", false},
		{"purge empty", map[string]string{EnvPurgeOnStart: ""}, "./storage", false},
		{"purge 1", map[string]string{EnvPurgeOnStart: "1"}, "./storage", true},
		{"crawlee wins", map[string]string{EnvCrawleePurgeOnStart: "true", EnvPurgeOnStart: "0"}, "./storage", true},
		{"empty crawlee defers to apify", map[string]string{EnvCrawleePurgeOnStart: "", EnvPurgeOnStart: "0"}, "./storage", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			if got := Dir(lookup); got != tt.wantDir {
				t.Errorf("Dir = %q, want %q", got, tt.wantDir)
			}
			if got := PurgeOnStart(lookup); got != tt.wantPurge {
				t.Errorf("PurgeOnStart = %v, want %v", got, tt.wantPurge)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"default", true},
		{"my-store-1", true},
		{"A", true},
		{"a-b", true},
		{"-a", false},
		{"a-", false},
		{"a_b", false},
		{"a.b", false},
		{"../x", false},
		{"", false},
		{string(make([]byte, 64)), false},
		{"x123456789012345678901234567890123456789012345678901234567890ab", true}, // 63
		{"x123456789012345678901234567890123456789012345678901234567890abc", false},
	}
	for _, tt := range tests {
		err := ValidateName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalid", tt.name, err)
		}
	}
	s := newStorage(t)
	if _, err := s.Dataset(t.Context(), "bad_name"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Dataset(bad_name) = %v, want ErrInvalid", err)
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{
		"key_value_stores/default/INPUT.json",
		"key_value_stores/default/INPUT.__metadata__.json",
		"key_value_stores/default/OUTPUT.json",
		"key_value_stores/default/OUTPUT.__metadata__.json",
		"key_value_stores/default/__metadata__.json",
		"key_value_stores/named/STATE.json",
		"key_value_stores/__OLD_DEFAULT_0__/x.json",
		"key_value_stores/__CRAWLEE_TEMPORARY_0__/x.json",
		"datasets/default/000000001.json",
		"datasets/default/__metadata__.json",
		"datasets/results/000000001.json",
		"datasets/__CRAWLEE_TEMPORARY_3__/000000001.json",
		"request_queues/default/Lc4KTFBEGzPqcr0.json",
		"request_queues/crawl/Lc4KTFBEGzPqcr0.json",
	} {
		writeFile(t, filepath.Join(dir, f), "{}")
	}
	tests := []struct {
		name  string
		purge bool
		want  []string
	}{
		{"off", false, files(t, dir)},
		{"on", true, []string{
			"datasets/results/000000001.json",
			"key_value_stores/default/INPUT.__metadata__.json",
			"key_value_stores/default/INPUT.json",
			"key_value_stores/named/STATE.json",
			"request_queues/crawl/Lc4KTFBEGzPqcr0.json",
		}},
	}
	for _, tt := range tests { // in order: "off" must see the files "on" removes
		s, err := New(t.Context(), dir, &Options{Purge: tt.purge})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, files(t, dir)); diff != "" {
			t.Errorf("%s: files after New (-want +got):\n%s", tt.name, diff)
		}
		s.Close()
	}
	// The input survives and reads back.
	s, err := FromEnv(t.Context(), func(k string) (string, bool) {
		return map[string]string{EnvLocalStorageDir: dir}[k], k == EnvLocalStorageDir
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kv := openKVS(t, s, "")
	if _, err := kv.Get(t.Context(), "INPUT"); err != nil {
		t.Errorf("Get(INPUT) after purge: %v", err)
	}
}

// TestPurgeKeepsInputKey checks that the purge keeps the record of the
// configured input key, as the Python SDK does, as well as INPUT.
func TestPurgeKeepsInputKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"INPUT.json", "MY-INPUT.json", "MY-INPUT.__metadata__.json", "OUTPUT.json", ".json"} {
		writeFile(t, filepath.Join(dir, "key_value_stores", "default", f), "{}")
	}
	s, err := New(t.Context(), dir, &Options{Purge: true, InputKey: "MY-INPUT"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := []string{
		"key_value_stores/default/INPUT.json",
		"key_value_stores/default/MY-INPUT.__metadata__.json",
		"key_value_stores/default/MY-INPUT.json",
	}
	if diff := cmp.Diff(want, files(t, dir)); diff != "" {
		t.Errorf("files after the purge (-want +got):\n%s", diff)
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	s := newStorage(t)
	kv := openKVS(t, s, "")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := kv.Set(t.Context(), "a", nil, ""); !errors.Is(err, ErrClosed) {
		t.Errorf("Set after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Dataset(t.Context(), ""); !errors.Is(err, ErrClosed) {
		t.Errorf("Dataset after Close = %v, want ErrClosed", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := New(ctx, t.TempDir(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("New with a canceled context = %v", err)
	}
}

// TestMetadataCoalesced checks that with an interval the metadata file lags
// at most until Close, which writes the last state.
func TestMetadataCoalesced(t *testing.T) {
	t.Parallel()
	s, err := New(t.Context(), t.TempDir(), &Options{MetadataInterval: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	d := openDataset(t, s, "")
	for range 3 {
		if err := d.Push(t.Context(), json.RawMessage(`{"a":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var m datasetMetadata
	if _, err := readMetadata(d.dir, &m, s.log); err != nil {
		t.Fatal(err)
	}
	if m.ItemCount != 3 {
		t.Errorf("itemCount after Close = %d, want 3", m.ItemCount)
	}
}

func TestDrop(t *testing.T) {
	t.Parallel()
	s, err := New(t.Context(), t.TempDir(), &Options{MetadataInterval: 1 << 40}) // a pending metadata write must not bring the directory back
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	d, _ := s.Dataset(ctx, "gone")
	kv, _ := s.KeyValueStore(ctx, "gone")
	q, _ := s.RequestQueue(ctx, "gone")
	if err := d.Push(ctx, json.RawMessage(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := kv.Set(ctx, "k", []byte("v"), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Add(ctx, Request{URL: "https://x.test/", UniqueKey: "u"}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, drop := range []func(context.Context) error{d.Drop, kv.Drop, q.Drop} {
		if err := drop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := files(t, s.Path()); len(got) != 0 {
		t.Errorf("files after Drop: %v", got)
	}
	if err := d.Push(ctx, json.RawMessage(`{}`)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Push after Drop = %v, want ErrNotFound", err)
	}
	if _, err := kv.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Drop = %v, want ErrNotFound", err)
	}
	if _, err := q.FetchNext(ctx, time.Minute); !errors.Is(err, ErrNotFound) {
		t.Errorf("FetchNext after Drop = %v, want ErrNotFound", err)
	}
	d2, err := s.Dataset(ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := d2.Info(ctx); info.ItemCount != 0 {
		t.Errorf("reopened dataset has %d items, want 0", info.ItemCount)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after Drop: %v", err)
	}
}

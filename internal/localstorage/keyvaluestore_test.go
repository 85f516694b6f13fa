package localstorage

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKeyValueStoreRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key, contentType string
		value            string
		wantFile         string
	}{
		{"OUTPUT", "application/json; charset=utf-8", `{"ok":true}`, "OUTPUT.json"},
		{"note", "text/plain", "hello", "note.txt"},
		{"page", "text/html; charset=utf-8", "<html></html>", "page.html"},
		{"blob", "", "\x00\x01\xff", "blob.bin"},
		{"photo.png", "image/png", "PNG", "photo.png.png"},
		{"odd", "application/x-unknown", "?", "odd.bin"},
		{"md", "text/markdown", "# hi", "md.markdown"},
		{"A-b_c.d!'()", "text/csv", "a,b", "A-b_c.d!'().csv"},
	}
	s := newStorage(t)
	kv := openKVS(t, s, "")
	for _, tt := range tests {
		if err := kv.Set(t.Context(), tt.key, []byte(tt.value), tt.contentType); err != nil {
			t.Fatalf("Set(%q): %v", tt.key, err)
		}
		wantCT := tt.contentType
		if wantCT == "" {
			wantCT = "application/octet-stream"
		}
		if _, err := os.Stat(filepath.Join(kv.dir, tt.wantFile)); err != nil {
			t.Errorf("Set(%q): want file %s: %v", tt.key, tt.wantFile, err)
		}
		for _, kv := range []*KeyValueStore{kv} {
			got, err := kv.Get(t.Context(), tt.key)
			if err != nil {
				t.Fatalf("Get(%q): %v", tt.key, err)
			}
			if diff := cmp.Diff(&Record{Key: tt.key, Value: []byte(tt.value), ContentType: wantCT}, got); diff != "" {
				t.Errorf("Get(%q) (-want +got):\n%s", tt.key, diff)
			}
		}
	}
	// After a restart every record reads back the same, content type included.
	s2 := reopen(t, s)
	kv2 := openKVS(t, s2, "")
	for _, tt := range tests {
		got, err := kv2.Get(t.Context(), tt.key)
		if err != nil {
			t.Fatalf("after reopen, Get(%q): %v", tt.key, err)
		}
		if string(got.Value) != tt.value || (tt.contentType != "" && got.ContentType != tt.contentType) {
			t.Errorf("after reopen, Get(%q) = %q %q", tt.key, got.Value, got.ContentType)
		}
	}
}

// TestKeyValueStoreFormat checks the files against those crawlee wrote for
// the same records (testdata/jsstorage, made by apify 3.7.2 with crawlee
// 3.18.1 and metadata writing on).
func TestKeyValueStoreFormat(t *testing.T) {
	t.Parallel()
	s := newStorage(t)
	kv := openKVS(t, s, "")
	golden := "testdata/jsstorage/key_value_stores/default/"
	for _, r := range []struct {
		key, ct, file string
		meta          bool // the extension does not give the content type back
	}{
		{"note", "text/plain", "note.txt", true},
		{"page", "text/html", "page.html", true},
		{"blob", "application/octet-stream", "blob.bin", false},
	} {
		want, err := os.ReadFile(golden + r.file)
		if err != nil {
			t.Fatal(err)
		}
		if err := kv.Set(t.Context(), r.key, want, r.ct); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(kv.dir, r.file))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", r.file, diff)
		}
		if !r.meta {
			if _, err := os.Stat(filepath.Join(kv.dir, r.key+recordMetadataSuffix)); !os.IsNotExist(err) {
				t.Errorf("%s: record metadata written (%v), want none: the extension gives the content type", r.key, err)
			}
			continue
		}
		// Crawlee writes the same fields, as a JSON string of the object.
		gm, err := readRecordMetadata(golden + r.key + recordMetadataSuffix)
		if err != nil {
			t.Fatal(err)
		}
		m, err := readRecordMetadata(filepath.Join(kv.dir, r.key+recordMetadataSuffix))
		if err != nil {
			t.Fatal(err)
		}
		m.Size = nil
		if diff := cmp.Diff(gm, m); diff != "" {
			t.Errorf("%s metadata (-want +got):\n%s", r.key, diff)
		}
	}
	if diff := cmp.Diff(jsonKeys(t, golden+metadataFile), jsonKeys(t, filepath.Join(kv.dir, metadataFile))); diff != "" {
		t.Errorf("store metadata keys (-want +got):\n%s", diff)
	}
}

// TestKeyValueStoreReadsJS opens a store crawlee wrote.
func TestKeyValueStoreReadsJS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyDir(t, "testdata/jsstorage", dir)
	s := openStorage(t, dir, nil)
	kv := openKVS(t, s, "")
	want := map[string]Record{
		"OUTPUT": {Key: "OUTPUT", ContentType: "application/json; charset=utf-8", Value: []byte("{\n  \"ok\": true,\n  \"list\": [\n    1,\n    \"two\"\n  ]\n}")},
		"note":   {Key: "note", ContentType: "text/plain", Value: []byte("hello text")},
		"page":   {Key: "page", ContentType: "text/html", Value: []byte("<html></html>")},
		"blob":   {Key: "blob", ContentType: "application/octet-stream", Value: []byte{0, 1, 2, 255}},
	}
	for key, w := range want {
		got, err := kv.Get(t.Context(), key)
		if err != nil {
			t.Fatalf("Get(%q): %v", key, err)
		}
		if diff := cmp.Diff(w, *got); diff != "" {
			t.Errorf("Get(%q) (-want +got):\n%s", key, diff)
		}
	}
	list, err := kv.ListKeys(t.Context(), ListKeysOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantList := KeyList{Items: []KeyInfo{{"OUTPUT", 50}, {"blob", 4}, {"note", 10}, {"page", 13}}, Count: 4, Limit: 1000}
	if diff := cmp.Diff(wantList, list); diff != "" {
		t.Errorf("ListKeys (-want +got):\n%s", diff)
	}
}

func TestListKeys(t *testing.T) {
	t.Parallel()
	s := newStorage(t)
	kv := openKVS(t, s, "named")
	for _, k := range []string{"b", "a", "c-2", "c-1", "B", "c-3"} {
		if err := kv.Set(t.Context(), k, []byte(k), "text/plain"); err != nil {
			t.Fatal(err)
		}
	}
	keys := func(l KeyList) []string {
		var out []string
		for _, it := range l.Items {
			out = append(out, it.Key)
		}
		return out
	}
	tests := []struct {
		name      string
		opts      ListKeysOptions
		want      []string
		truncated bool
		next      string
	}{
		{"all, byte order", ListKeysOptions{}, []string{"B", "a", "b", "c-1", "c-2", "c-3"}, false, ""},
		{"limit", ListKeysOptions{Limit: 2}, []string{"B", "a"}, true, "a"},
		{"after a", ListKeysOptions{ExclusiveStartKey: "a", Limit: 2}, []string{"b", "c-1"}, true, "c-1"},
		{"after a missing key", ListKeysOptions{ExclusiveStartKey: "bb"}, []string{"c-1", "c-2", "c-3"}, false, ""},
		{"prefix", ListKeysOptions{Prefix: "c-"}, []string{"c-1", "c-2", "c-3"}, false, ""},
		{"prefix, start, limit", ListKeysOptions{Prefix: "c-", ExclusiveStartKey: "c-1", Limit: 1}, []string{"c-2"}, true, "c-2"},
		{"exact limit", ListKeysOptions{Prefix: "c-", Limit: 3}, []string{"c-1", "c-2", "c-3"}, false, ""},
	}
	for _, tt := range tests {
		l, err := kv.ListKeys(t.Context(), tt.opts)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, keys(l)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
		if l.IsTruncated != tt.truncated || l.NextExclusiveStartKey != tt.next || l.Count != len(tt.want) {
			t.Errorf("%s: truncated %v next %q count %d, want %v %q %d", tt.name, l.IsTruncated, l.NextExclusiveStartKey, l.Count, tt.truncated, tt.next, len(tt.want))
		}
	}
	for _, bad := range []ListKeysOptions{{Limit: -1}, {Limit: 1001}, {Prefix: strings.Repeat("a", 257)}} {
		if _, err := kv.ListKeys(t.Context(), bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ListKeys(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestKeyValueStoreDeleteAndReplace(t *testing.T) {
	t.Parallel()
	s := newStorage(t)
	kv := openKVS(t, s, "")
	if err := kv.Set(t.Context(), "STATE", []byte(`{}`), "application/json"); err != nil {
		t.Fatal(err)
	}
	// A new content type moves the record to a new file; the old one goes.
	if err := kv.Set(t.Context(), "STATE", []byte(`plain`), "text/plain"); err != nil {
		t.Fatal(err)
	}
	want := []string{"STATE.__metadata__.json", "STATE.txt", "__metadata__.json"}
	if diff := cmp.Diff(want, files(t, kv.dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if err := kv.Delete(t.Context(), "STATE"); err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(t.Context(), "STATE"); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	if _, err := kv.Get(t.Context(), "STATE"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
	if diff := cmp.Diff([]string{"__metadata__.json"}, files(t, kv.dir)); diff != "" {
		t.Errorf("files after Delete (-want +got):\n%s", diff)
	}
}

func TestKeyValueStoreBadInput(t *testing.T) {
	t.Parallel()
	s := openStorage(t, t.TempDir(), &Options{MaxValueBytes: 10})
	kv := openKVS(t, s, "")
	tests := []struct {
		key   string
		value string
		want  error
		field string
	}{
		{"", "", ErrInvalid, "key"},
		{"a/b", "", ErrInvalid, "key"},
		{"a b", "", ErrInvalid, "key"},
		{"ü", "", ErrInvalid, "key"},
		{strings.Repeat("k", 257), "", ErrInvalid, "key"},
		{strings.Repeat("k", 240), "", ErrInvalid, "key"}, // fits the platform, not a file name
		{"x__metadata__", "", ErrInvalid, "key"},
		{"big", "12345678901", ErrTooLarge, "value of record big"},
	}
	for _, tt := range tests {
		err := kv.Set(t.Context(), tt.key, []byte(tt.value), "text/plain")
		var fe *FieldError
		if !errors.Is(err, tt.want) || !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("Set(%.20q) = %v, want %v on field %q", tt.key, err, tt.want, tt.field)
		}
	}
	if diff := cmp.Diff([]string{"__metadata__.json"}, files(t, kv.dir)); diff != "" {
		t.Errorf("bad input wrote files (-want +got):\n%s", diff)
	}
	// A file on disk over the limit is refused on read, not loaded.
	writeFile(t, filepath.Join(kv.dir, "huge.txt"), "123456789012")
	s2 := reopen(t, s)
	s2.opts.MaxValueBytes = 10
	kv2 := openKVS(t, s2, "")
	if _, err := kv2.Get(t.Context(), "huge"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Get(huge) = %v, want ErrTooLarge", err)
	}
}

// TestLeftoverTempFile checks that a temporary file left by a process killed
// mid-write is neither read as a record nor kept.
func TestLeftoverTempFile(t *testing.T) {
	t.Parallel()
	s := newStorage(t)
	kv := openKVS(t, s, "")
	if err := kv.Set(t.Context(), "A", []byte("old"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	d := openDataset(t, s, "")
	// What a kill between writing and renaming leaves behind.
	writeFile(t, filepath.Join(kv.dir, tempPrefix+"123-1"), "ne")
	writeFile(t, filepath.Join(d.dir, tempPrefix+"123-2"), `{"half":`)
	s2 := reopen(t, s)
	kv2 := openKVS(t, s2, "")
	d2 := openDataset(t, s2, "")
	got, err := kv2.Get(t.Context(), "A")
	if err != nil || string(got.Value) != "old" {
		t.Errorf("Get(A) = %v, %v; want the old value", got, err)
	}
	if diff := cmp.Diff([]string{"A.__metadata__.json", "A.txt", "__metadata__.json"}, files(t, kv2.dir)); diff != "" {
		t.Errorf("key-value store files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"__metadata__.json"}, files(t, d2.dir)); diff != "" {
		t.Errorf("dataset files (-want +got):\n%s", diff)
	}
}

func TestKeyValueStoreStreams(t *testing.T) {
	t.Parallel()
	s := openStorage(t, t.TempDir(), &Options{MaxValueBytes: 1000})
	kv := openKVS(t, s, "")
	big := strings.Repeat("x", 1001)
	if err := kv.SetReader(t.Context(), "big", strings.NewReader(big), "text/plain"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("SetReader over the limit = %v, want ErrTooLarge", err)
	}
	if diff := cmp.Diff([]string{"__metadata__.json"}, files(t, kv.dir)); diff != "" {
		t.Errorf("a refused SetReader left files (-want +got):\n%s", diff)
	}
	if err := kv.SetReader(t.Context(), "ok", strings.NewReader(big[:1000]), "image/png"); err != nil {
		t.Fatal(err)
	}
	rc, info, err := kv.GetReader(t.Context(), "ok")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != big[:1000] || info != (RecordInfo{Key: "ok", ContentType: "image/png", Size: 1000}) {
		t.Errorf("GetReader = %d bytes, %+v", len(b), info)
	}
	if _, _, err := kv.GetReader(t.Context(), "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetReader(missing) = %v, want ErrNotFound", err)
	}
}

// TestKeyValueStoreReadsPython opens records as crawlee-python's file-system
// client writes them: the value under the bare key, snake_case metadata.
func TestKeyValueStoreReadsPython(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	kvDir := filepath.Join(dir, "key_value_stores", "default")
	writeFile(t, filepath.Join(kvDir, "INPUT"), `{"q":1}`)
	writeFile(t, filepath.Join(kvDir, "INPUT.__metadata__.json"), `{"key": "INPUT", "content_type": "application/json; charset=utf-8", "size": 7}`)
	writeFile(t, filepath.Join(kvDir, "data.json"), `[1]`)
	writeFile(t, filepath.Join(kvDir, "data.json.__metadata__.json"), `{"key": "data.json", "content_type": "application/json", "size": 3}`)
	s := openStorage(t, dir, nil)
	kv := openKVS(t, s, "")
	for _, want := range []Record{
		{Key: "INPUT", ContentType: "application/json; charset=utf-8", Value: []byte(`{"q":1}`)},
		{Key: "data.json", ContentType: "application/json", Value: []byte(`[1]`)},
	} {
		got, err := kv.Get(t.Context(), want.Key)
		if err != nil {
			t.Fatalf("Get(%q): %v", want.Key, err)
		}
		if diff := cmp.Diff(want, *got); diff != "" {
			t.Errorf("Get(%q) (-want +got):\n%s", want.Key, diff)
		}
	}
}

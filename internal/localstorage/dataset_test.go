package localstorage

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readItems(t *testing.T, d *Dataset, opts ItemsOptions) []string {
	t.Helper()
	var out []string
	for it, err := range d.Items(t.Context(), opts) {
		if err != nil {
			t.Fatalf("Items(%+v): %v", opts, err)
		}
		out = append(out, string(it))
	}
	return out
}

// TestDatasetFormat checks the files against those crawlee wrote for the
// same items (testdata/jsstorage).
func TestDatasetFormat(t *testing.T) {
	t.Parallel()
	s := newStorage(t)
	d := openDataset(t, s, "")
	err := d.Push(t.Context(),
		json.RawMessage(`{"url":"https://example.com/","title":"Example <&>","n":1,"nested":{"a":[1,2],"e":[],"o":{}}}`),
		json.RawMessage(`{"i":2}`), json.RawMessage(` {"i": 3} `))
	if err != nil {
		t.Fatal(err)
	}
	golden := "testdata/jsstorage/datasets/default/"
	if diff := cmp.Diff(files(t, golden), files(t, d.dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for _, f := range []string{"000000001.json", "000000002.json", "000000003.json"} {
		want, _ := os.ReadFile(golden + f)
		got, _ := os.ReadFile(filepath.Join(d.dir, f))
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", f, diff)
		}
	}
	if diff := cmp.Diff(jsonKeys(t, golden+metadataFile), jsonKeys(t, filepath.Join(d.dir, metadataFile))); diff != "" {
		t.Errorf("metadata keys (-want +got):\n%s", diff)
	}
	var m datasetMetadata
	if _, err := readMetadata(d.dir, &m, s.log); err != nil {
		t.Fatal(err)
	}
	if m.ItemCount != 3 || m.Name != "default" || len(m.ID) != 36 {
		t.Errorf("metadata = %+v", m)
	}
}

func TestDatasetReadsJS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyDir(t, "testdata/jsstorage", dir)
	s := openStorage(t, dir, nil)
	d := openDataset(t, s, "")
	want := []string{`{"url":"https://example.com/","title":"Example <&>","n":1,"nested":{"a":[1,2],"e":[],"o":{}}}`, `{"i":2}`, `{"i":3}`}
	if diff := cmp.Diff(want, readItems(t, d, ItemsOptions{})); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	info, err := d.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != "be319503-92a4-4b85-9f7d-bcf6058a0b06" || info.ItemCount != 3 {
		t.Errorf("Info = %+v", info)
	}
	// Pushing continues the numbering.
	if err := d.Push(t.Context(), json.RawMessage(`{"i":4}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d.dir, "000000004.json")); err != nil {
		t.Error(err)
	}
}

func TestDatasetItems(t *testing.T) {
	t.Parallel()
	s := newStorage(t)
	d := openDataset(t, s, "results")
	for i := 1; i <= 5; i++ {
		if err := d.Push(t.Context(), json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		opts ItemsOptions
		want []string
	}{
		{"all", ItemsOptions{}, []string{`{"i":1}`, `{"i":2}`, `{"i":3}`, `{"i":4}`, `{"i":5}`}},
		{"offset limit", ItemsOptions{Offset: 1, Limit: 2}, []string{`{"i":2}`, `{"i":3}`}},
		{"desc", ItemsOptions{Desc: true, Limit: 2}, []string{`{"i":5}`, `{"i":4}`}},
		{"desc offset", ItemsOptions{Desc: true, Offset: 3}, []string{`{"i":2}`, `{"i":1}`}},
		{"offset past end", ItemsOptions{Offset: 9}, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, readItems(t, d, tt.opts)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	for _, bad := range []ItemsOptions{{Offset: -1}, {Limit: -1}, {Filter: ItemFilter{Fields: []string{""}}}} {
		for _, err := range d.Items(t.Context(), bad) {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Items(%+v) = %v, want ErrInvalid", bad, err)
			}
		}
	}
}

func TestItemFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		item   string
		filter ItemFilter
		want   []string
	}{
		// The shaping itself is internal/items' (tested there): these check
		// that ItemFilter maps onto it and that stored items come out compact.
		{"none", `{ "b": 1, "a": [1, 2] }`, ItemFilter{}, []string{`{"b":1,"a":[1,2]}`}},
		{"indented", "{\n\t\"a\": {\n\t\t\"b\": 1\n\t}\n}", ItemFilter{Omit: []string{"x"}}, []string{`{"a":{"b":1}}`}},
		{"fields in given order", `{"a":1,"b":2,"c":3}`, ItemFilter{Fields: []string{"c", "a", "x"}}, []string{`{"c":3,"a":1}`}},
		{"omit", `{"a":1,"b":2,"c":3}`, ItemFilter{Omit: []string{"b"}}, []string{`{"a":1,"c":3}`}},
		{"skip hidden", `{"#debug":1,"a":2}`, ItemFilter{SkipHidden: true}, []string{`{"a":2}`}},
		{"skip empty", `{}`, ItemFilter{SkipEmpty: true}, []string{}},
		{"clean drops hidden-only", `{"#x":1}`, ItemFilter{Clean: true}, []string{}},
		{"hidden kept without clean", `{"#x":1}`, ItemFilter{SkipEmpty: true}, []string{`{"#x":1}`}},
		{"unwind", `{"id":1,"offers":[{"p":1},{"p":2,"id":9}]}`, ItemFilter{Unwind: []string{"offers"}},
			[]string{`{"id":1,"p":1}`, `{"id":9,"p":2}`}},
		// The platform's order: fields and omit, then unwind, then clean.
		{"fields then unwind", `{"id":1,"x":0,"o":[{"p":1,"q":2}]}`, ItemFilter{Unwind: []string{"o"}, Fields: []string{"id", "o"}},
			[]string{`{"id":1,"p":1,"q":2}`}},
		{"omit then unwind", `{"id":1,"o":{"id":2}}`, ItemFilter{Unwind: []string{"o"}, Omit: []string{"id"}}, []string{`{"id":2}`}},
		{"unwind then clean", `{"o":[{"#h":1},{"a":2}]}`, ItemFilter{Unwind: []string{"o"}, Clean: true}, []string{`{"a":2}`}},
	}
	for _, tt := range tests {
		got, err := tt.filter.apply([]byte(tt.item))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		gs := []string{}
		for _, g := range got {
			gs = append(gs, string(g))
		}
		if diff := cmp.Diff(tt.want, gs); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestDatasetBadItems(t *testing.T) {
	t.Parallel()
	s := openStorage(t, t.TempDir(), &Options{MaxValueBytes: 20})
	d := openDataset(t, s, "")
	tests := []struct {
		bad   string
		want  error
		field string
	}{
		{`[1]`, ErrInvalid, "items[1]"},
		{`"s"`, ErrInvalid, "items[1]"},
		{`{"a":`, ErrInvalid, "items[1]"},
		{``, ErrInvalid, "items[1]"},
		{`{"a":"12345678901234567890"}`, ErrTooLarge, "items[1]"},
	}
	for _, tt := range tests {
		err := d.Push(t.Context(), json.RawMessage(`{"ok":1}`), json.RawMessage(tt.bad))
		var fe *FieldError
		if !errors.Is(err, tt.want) || !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("Push(%q) = %v, want %v on %s", tt.bad, err, tt.want, tt.field)
		}
	}
	if diff := cmp.Diff([]string{"__metadata__.json"}, files(t, d.dir)); diff != "" {
		t.Errorf("a refused push wrote files (-want +got):\n%s", diff)
	}
}

// TestDatasetRestart checks that items on disk count even when the metadata
// lags behind them or is cut short, as after a kill.
func TestDatasetRestart(t *testing.T) {
	t.Parallel()
	s := newStorage(t)
	d := openDataset(t, s, "")
	if err := d.Push(t.Context(), json.RawMessage(`{"i":1}`), json.RawMessage(`{"i":2}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(d.dir, "000000003.json"), "{\n\t\"i\": 3\n}") // written, metadata not yet
	writeFile(t, filepath.Join(d.dir, metadataFile), `{"id":"x","itemCou`)   // and crawlee cut its metadata short
	s2 := reopen(t, s)
	d2 := openDataset(t, s2, "")
	if err := d2.Push(t.Context(), json.RawMessage(`{"i":4}`)); err != nil {
		t.Fatal(err)
	}
	want := []string{`{"i":1}`, `{"i":2}`, `{"i":3}`, `{"i":4}`}
	if diff := cmp.Diff(want, readItems(t, d2, ItemsOptions{})); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
}

// TestDatasetPartialItem checks what reopening does with the last item file
// as a process killed in a Push leaves it (items are written straight to
// their names): one that does not parse held an item whose Push never
// returned and is removed, so the next Push takes its name; a whole one is
// an item; one over the size limit is none of ours and stays.
func TestDatasetPartialItem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, last string
		wantCount  int // after the next Push
		wantFiles  []string
	}{
		{"empty", "", 3, []string{"000000001.json", "000000002.json", "000000003.json", metadataFile}},
		{"cut short", "{\n\t\"i\": ", 3, []string{"000000001.json", "000000002.json", "000000003.json", metadataFile}},
		{"whole", "{\n\t\"i\": 3\n}", 4, []string{"000000001.json", "000000002.json", "000000003.json", "000000004.json", metadataFile}},
		{"over the limit", `{"i": "` + strings.Repeat("x", 40), 4, []string{"000000001.json", "000000002.json", "000000003.json", "000000004.json", metadataFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := &Options{MaxValueBytes: 30, MetadataInterval: -1}
			s := openStorage(t, t.TempDir(), opts)
			d := openDataset(t, s, "")
			if err := d.Push(t.Context(), json.RawMessage(`{"i":1}`), json.RawMessage(`{"i":2}`)); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(d.dir, "000000003.json"), tc.last)
			s2 := openStorage(t, s.Path(), opts)
			d2 := openDataset(t, s2, "")
			if err := d2.Push(t.Context(), json.RawMessage(`{"i":"next"}`)); err != nil {
				t.Fatal(err)
			}
			info, err := d2.Info(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if info.ItemCount != tc.wantCount {
				t.Errorf("ItemCount = %d, want %d", info.ItemCount, tc.wantCount)
			}
			if diff := cmp.Diff(tc.wantFiles, files(t, d2.dir)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			last, err := os.ReadFile(filepath.Join(d2.dir, itemFile(tc.wantCount)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff("{\n\t\"i\": \"next\"\n}", string(last)); diff != "" {
				t.Errorf("the next item's file (-want +got):\n%s", diff)
			}
		})
	}
}

// killDirEnv names the storage directory of TestPushKilledHelper's process.
const killDirEnv = "LOCALSTORAGE_TEST_KILL_DIR"

// TestPushKilledHelper is not a test: run by TestDatasetKilledPush as a
// process of its own, it pushes batches of items numbered from 1 into the
// default dataset of the directory in killDirEnv, printing the count after
// each Push returns, until it is killed.
func TestPushKilledHelper(t *testing.T) {
	dir := os.Getenv(killDirEnv)
	if dir == "" {
		t.Skip("run by TestDatasetKilledPush")
	}
	s, err := New(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Dataset(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]json.RawMessage, 100)
	for n := 0; ; {
		for i := range batch {
			n++
			batch[i] = json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, n, strings.Repeat("x", 2000)))
		}
		if err := d.Push(t.Context(), batch...); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("pushed %d\n", n)
	}
}

// TestDatasetKilledPush kills a process in the middle of its pushes and
// checks that reopening the dataset keeps every item whose Push returned,
// in order, and leaves nothing that does not read.
func TestDatasetKilledPush(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestPushKilledHelper$")
	cmd.Env = append(os.Environ(), killDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	acked := 0
	for acked < 500 && sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "pushed %d", &acked); err != nil {
			t.Fatalf("helper printed %q", sc.Text())
		}
	}
	// The helper is in its next Push, or about to be.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if acked < 500 {
		t.Fatalf("helper stopped after %d items", acked)
	}

	s := openStorage(t, dir, nil)
	d := openDataset(t, s, "")
	info, err := d.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.ItemCount < acked {
		t.Errorf("ItemCount = %d, want at least the %d acknowledged", info.ItemCount, acked)
	}
	n := 0
	for it, err := range d.Items(t.Context(), ItemsOptions{}) {
		if err != nil {
			t.Fatalf("item %d: %v", n+1, err)
		}
		n++
		var v struct{ N int }
		if err := json.Unmarshal(it, &v); err != nil || v.N != n {
			t.Fatalf("item %d = %.40s…, %v; want n = %d", n, it, err, n)
		}
	}
	if n != info.ItemCount {
		t.Errorf("read %d items, want %d", n, info.ItemCount)
	}
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n+1 {
		t.Errorf("%d files for %d items and the metadata", len(entries), n)
	}
}

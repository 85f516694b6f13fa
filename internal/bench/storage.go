package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// The storage child's parameters, passed in the environment (with
// childOutEnv).
const (
	childItemsEnv   = "APIFY_BENCH_ITEMS"
	childRecordsEnv = "APIFY_BENCH_RECORDS"
)

// recordBytes is the size of each record the storage comparison sets.
const recordBytes = 100 << 10

// benchItem is one small dataset item, about 100 bytes as JSON; the JS side
// (js/storage.js) builds the same.
type benchItem struct {
	URL   string `json:"url"`
	Title string `json:"title"`
	N     int    `json:"n"`
}

func makeItem(i int) benchItem {
	return benchItem{URL: "https://example.com/page/" + strconv.Itoa(i), Title: "Page " + strconv.Itoa(i) + " of the bench site, a small item", N: i}
}

// recordBase is the bytes of every record but its first eight, which
// makeRecord stamps with the record's number, as js/storage.js does.
var recordBase = func() []byte {
	b := make([]byte, recordBytes)
	for j := range b {
		b[j] = byte(j % 251)
	}
	return b
}()

// makeRecord returns a new copy of record i's bytes: each side makes its
// record just before setting it, as an Actor producing them would, so that
// neither holds all 100 MB at once.
func makeRecord(i int) []byte {
	b := slices.Clone(recordBase)
	binary.BigEndian.PutUint64(b, uint64(i))
	return b
}

// storageTimes is what each side of the storage comparison reports.
type storageTimes struct {
	PushNs int64 `json:"pushNs"`
	SetNs  int64 `json:"setNs"`
	// HWMBytes is the process's own peak RSS (VmHWM of /proc/self/status),
	// 0 where there is none. The rusage of an ended child is no measure on
	// Linux: its maxrss keeps the peak of the memory it had before exec,
	// which under Go's vfork-style start is the bench's own (hundreds of MB
	// once the local platform holds the other side's storages).
	HWMBytes int64 `json:"hwmBytes"`
	// PushHWMBytes is the peak RSS right after the push, to tell which
	// part sets the peak.
	PushHWMBytes int64 `json:"pushHwmBytes"`
	// PushCPUNs is the CPU time (user and system, all threads) the
	// process spent in the push, 0 where unknown: less disturbed by other
	// jobs on the machine than the push's time.
	PushCPUNs int64 `json:"pushCpuNs"`
}

// selfHWM returns VmHWM of /proc/self/status in bytes, or 0.
func selfHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// selfCPU returns the CPU time the process has used (utime and stime of
// /proc/self/stat, in the kernel's fixed 100 ticks a second), or 0.
func selfCPU() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// The fields after the command's closing parenthesis start with the
	// state (field 3); utime and stime are fields 14 and 15.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// storageChild runs the Go side of the storage comparison as a Go Actor
// would: one PushData call with all the items (the SDK batches them), then
// one SetRecord call per record, one after the other (each made just
// before), to the platform or
// to local files as the environment says.
func storageChild(ctx context.Context) error {
	items, err1 := strconv.Atoi(os.Getenv(childItemsEnv))
	records, err2 := strconv.Atoi(os.Getenv(childRecordsEnv))
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("parameters: %w", err)
	}
	a := actor.New()
	if err := a.Init(ctx); err != nil {
		return err
	}
	data := make([]benchItem, items)
	for i := range data {
		data[i] = makeItem(i)
	}

	var res storageTimes
	cpu := selfCPU()
	start := time.Now()
	if err := a.PushData(ctx, data); err != nil {
		return err
	}
	res.PushNs = time.Since(start).Nanoseconds()
	res.PushHWMBytes = selfHWM()
	if cpu > 0 {
		res.PushCPUNs = (selfCPU() - cpu).Nanoseconds()
	}

	start = time.Now()
	kv, err := a.OpenKeyValueStore(ctx, "")
	if err != nil {
		return err
	}
	for i := range records {
		if err := kv.SetRecord(ctx, "record-"+strconv.Itoa(i), makeRecord(i), "application/octet-stream"); err != nil {
			return err
		}
	}
	res.SetNs = time.Since(start).Nanoseconds()
	res.HWMBytes = selfHWM()
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return os.WriteFile(os.Getenv(childOutEnv), b, 0o644)
}

// storageSide is one side's figures.
type storageSide struct {
	push, set time.Duration
	maxRSS    int64
	pushRSS   int64         // the peak after the push
	pushCPU   time.Duration // the process's CPU time in the push
}

// summary is the side's figures for the log.
func (s storageSide) summary() string {
	return fmt.Sprintf("push %v (CPU %v) set %v RSS %d MB (%d MB after the push)", s.push, s.pushCPU, s.set, s.maxRSS>>20, s.pushRSS>>20)
}

// storage compares pushing items and setting records: the bench binary as
// a Go Actor and node running the JS SDK, each a process of its own, first
// both against one local platform (a run each, for their own default
// storages), then both with local files (a directory each); and, for local
// files, the floor: os.WriteFile of each item's and record's bytes, one
// file each. b.storageHalf may select one half.
func (b *bench) storage(ctx context.Context) ([]row, error) {
	node, err := b.nodeEnv(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "apify-bench-storage-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var rows []row
	if b.storageHalf != "local" {
		rs, err := b.storagePlatform(ctx, node, dir)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rs...)
	}
	if b.storageHalf != "platform" {
		rs, err := b.storageLocal(ctx, node, dir)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rs...)
	}
	return rows, nil
}

// storagePlatform runs both sides against one local platform.
func (b *bench) storagePlatform(ctx context.Context, node *nodeEnv, dir string) ([]row, error) {
	srv, err := apifytest.NewServer()
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	var platform [2]storageSide // JS, Go
	for i, side := range []string{"js", "go"} {
		run, err := srv.StartRun(ctx, "bench~storage-"+side, nil, client.StartOptions{})
		if err != nil {
			return nil, err
		}
		if platform[i], err = b.storageSide(ctx, node, side, srv.Env(run.ID), filepath.Join(dir, "platform-"+side+".json"), ""); err != nil {
			return nil, fmt.Errorf("platform, %s side: %w", side, err)
		}
		if err := checkPlatform(ctx, srv.Client(), run, b.cfg.StorageItems, b.cfg.StorageRecords); err != nil {
			return nil, fmt.Errorf("platform, %s side: %w", side, err)
		}
	}
	b.logf("storage: platform Go %s; JS %s", platform[1].summary(), platform[0].summary())
	return b.storageRows("local platform (vs JS SDK 3.7.2)", platform[0], platform[1]), nil
}

// storageLocal runs both sides with local files, and the floor.
func (b *bench) storageLocal(ctx context.Context, node *nodeEnv, dir string) ([]row, error) {
	n, recs := b.cfg.StorageItems, b.cfg.StorageRecords
	var local [2]storageSide // JS, Go
	for i, side := range []string{"js", "go"} {
		storageDir := filepath.Join(dir, "local-"+side)
		env := []string{"APIFY_LOCAL_STORAGE_DIR=" + storageDir, "CRAWLEE_STORAGE_DIR=" + storageDir}
		var err error
		if local[i], err = b.storageSide(ctx, node, side, env, filepath.Join(dir, "local-"+side+".json"), storageDir); err != nil {
			return nil, fmt.Errorf("local files, %s side: %w", side, err)
		}
		// The files stay until the end (storage removes dir): on ext4,
		// creating files is slower for a while after many were deleted.
		if err := checkLocal(storageDir, n, recs); err != nil {
			return nil, fmt.Errorf("local files, %s side: %w", side, err)
		}
	}
	floorPush, floorSet, err := storageFloor(filepath.Join(dir, "floor"), n, recs)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	b.logf("storage: local Go %s; JS %s; floor push %v set %v", local[1].summary(), local[0].summary(), floorPush, floorSet)

	rows := b.storageRows("local files (vs JS SDK 3.7.2)", local[0], local[1])
	pushFloor := float64(local[1].push) / float64(floorPush)
	setFloor := float64(local[1].set) / float64(floorSet)
	name := "storage, local files (vs os.WriteFile per file)"
	return append(rows,
		row{Comparison: name, Case: b.pushCase(), Ours: rate(n, "items", local[1].push), Theirs: rate(n, "items", floorPush),
			Ratio: fmt.Sprintf("%.2f× the floor's time", pushFloor), Target: "≤ 2×", Met: met(pushFloor <= 2)},
		row{Comparison: name, Case: b.setCase(), Ours: rate(recs, "records", local[1].set), Theirs: rate(recs, "records", floorSet),
			Ratio: fmt.Sprintf("%.2f× the floor's time", setFloor), Target: "≤ 2×", Met: met(setFloor <= 2)},
	), nil
}

func (b *bench) pushCase() string {
	return fmt.Sprintf("push %d items (~100 B), one call", b.cfg.StorageItems)
}

func (b *bench) setCase() string {
	return fmt.Sprintf("set %d records of 100 KB", b.cfg.StorageRecords)
}

// storageRows are the rows of ours against the JS SDK's side, where.
func (b *bench) storageRows(where string, js, ours storageSide) []row {
	n, recs := b.cfg.StorageItems, b.cfg.StorageRecords
	name := "storage, " + where
	push := float64(js.push) / float64(ours.push)
	set := float64(js.set) / float64(ours.set)
	mem := float64(js.maxRSS) / float64(ours.maxRSS)
	return []row{
		{Comparison: name, Case: b.pushCase(), Ours: rate(n, "items", ours.push), Theirs: rate(n, "items", js.push),
			Ratio: faster(push), Target: "≥ 5×", Met: met(push >= 5)},
		{Comparison: name, Case: b.setCase(), Ours: rate(recs, "records", ours.set), Theirs: rate(recs, "records", js.set),
			Ratio: faster(set), Target: "≥ 5×", Met: met(set >= 5)},
		{Comparison: name, Case: "peak RSS of the process", Ours: megabytes(ours.maxRSS), Theirs: megabytes(js.maxRSS),
			Ratio: fmt.Sprintf("%.1f× less", mem), Target: "≤ 1/5", Met: met(mem >= 5)},
	}
}

// storageSide runs one side ("js" or "go") as a process with env added to
// its environment; localDir is the storage directory with local files, ""
// on the platform.
func (b *bench) storageSide(ctx context.Context, node *nodeEnv, side string, env []string, out, localDir string) (storageSide, error) {
	n, recs := strconv.Itoa(b.cfg.StorageItems), strconv.Itoa(b.cfg.StorageRecords)
	var state *os.ProcessState
	if side == "js" {
		args := []string{out, n, recs, strconv.Itoa(recordBytes)}
		if localDir != "" {
			args = append(args, localDir)
		}
		var err error
		if state, err = node.run(ctx, "storage.js", env, args...); err != nil {
			return storageSide{}, err
		}
	} else {
		exe, err := os.Executable()
		if err != nil {
			return storageSide{}, err
		}
		cmd := exec.CommandContext(ctx, exe)
		cmd.Env = append(append(childEnviron(), env...), childEnv+"=storage", childItemsEnv+"="+n, childRecordsEnv+"="+recs, childOutEnv+"="+out)
		var tail tailBuffer
		cmd.Stdout, cmd.Stderr = &tail, &tail
		if err := cmd.Run(); err != nil {
			return storageSide{}, fmt.Errorf("%w\n%s", err, tail.String())
		}
		state = cmd.ProcessState
	}
	var t storageTimes
	if err := readJSON(out, &t); err != nil {
		return storageSide{}, err
	}
	s := storageSide{push: time.Duration(t.PushNs), set: time.Duration(t.SetNs), maxRSS: t.HWMBytes, pushRSS: t.PushHWMBytes,
		pushCPU: time.Duration(t.PushCPUNs)}
	if s.maxRSS <= 0 {
		s.maxRSS = peakRSS(state)
	}
	if s.push <= 0 || s.set <= 0 {
		return s, fmt.Errorf("no timings in %s", out)
	}
	if s.maxRSS <= 0 {
		return s, errors.New("the peak RSS of the process is unknown on this system")
	}
	return s, nil
}

// checkPlatform checks that the run's default storages hold what a side
// stored: nothing was measured that did not happen.
func checkPlatform(ctx context.Context, c *client.Client, run *client.Run, items, records int) error {
	ds, err := c.GetDataset(ctx, run.DefaultDatasetID)
	if err != nil {
		return err
	}
	if ds.ItemCount != items {
		return fmt.Errorf("the run's dataset has %d items, want %d", ds.ItemCount, items)
	}
	got := 0
	for k, err := range c.AllKeys(ctx, run.DefaultKeyValueStoreID, client.KeysOptions{}) {
		if err != nil {
			return err
		}
		if strings.HasPrefix(k.Key, "record-") {
			if k.Size != recordBytes {
				return fmt.Errorf("record %q has %d bytes, want %d", k.Key, k.Size, recordBytes)
			}
			got++
		}
	}
	if got != records {
		return fmt.Errorf("the run's key-value store has %d records, want %d", got, records)
	}
	return nil
}

// checkLocal checks the files a side left in the storage directory.
func checkLocal(dir string, items, records int) error {
	count := func(sub string, keep func(string) bool) (int, error) {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			return 0, err
		}
		n := 0
		for _, e := range entries {
			if keep(e.Name()) {
				n++
			}
		}
		return n, nil
	}
	got, err := count(filepath.Join("datasets", "default"), func(f string) bool {
		return len(f) == len("000000001.json") && strings.HasSuffix(f, ".json")
	})
	if err != nil {
		return err
	}
	if got != items {
		return fmt.Errorf("datasets/default has %d item files, want %d", got, items)
	}
	got, err = count(filepath.Join("key_value_stores", "default"), func(f string) bool {
		return strings.HasPrefix(f, "record-") && !strings.Contains(f, "__metadata__")
	})
	if err != nil {
		return err
	}
	if got != records {
		return fmt.Errorf("key_value_stores/default has %d record files, want %d", got, records)
	}
	return nil
}

// storageFloor writes the same bytes as the sides with os.WriteFile, one
// file per item (its JSON) and per record, and returns how long each part
// took, including encoding the items.
func storageFloor(dir string, items, records int) (push, set time.Duration, err error) {
	data := make([]benchItem, items)
	for i := range data {
		data[i] = makeItem(i)
	}
	ds, kv := filepath.Join(dir, "datasets"), filepath.Join(dir, "records")
	if err := errors.Join(os.MkdirAll(ds, 0o755), os.MkdirAll(kv, 0o755)); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	for i, it := range data {
		b, err := json.Marshal(it)
		if err != nil {
			return 0, 0, err
		}
		if err := os.WriteFile(filepath.Join(ds, fmt.Sprintf("%09d.json", i+1)), b, 0o644); err != nil {
			return 0, 0, err
		}
	}
	push = time.Since(start)
	start = time.Now()
	for i := range records {
		if err := os.WriteFile(filepath.Join(kv, "record-"+strconv.Itoa(i)+".bin"), makeRecord(i), 0o644); err != nil {
			return 0, 0, err
		}
	}
	return push, time.Since(start), nil
}

// rate formats n things in d as a throughput.
func rate(n int, what string, d time.Duration) string {
	return fmt.Sprintf("%s %s/s (%s)", strconv.FormatFloat(float64(n)/d.Seconds(), 'f', 0, 64), what, d.Round(time.Millisecond))
}

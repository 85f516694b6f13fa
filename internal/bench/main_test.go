package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-apify/actor/internal/nodetest"
	"github.com/go-apify/actor/internal/testenv"
)

// TestMain lets the test binary serve as the Go child of the AddWebhook
// comparison, as the bench binary does.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// smokeConfig is smaller still than -quick, so that the smoke test stays
// short under the race detector.
func smokeConfig() config {
	return config{JSBudget: 50 * time.Millisecond, AddWebhookCalls: 20, AddWebhookWarmup: 2,
		DeliveryRuns: 200, FaultCalls: 32, FaultWorkers: 16, StorageItems: 500, StorageRecords: 20}
}

// TestSmoke runs the comparisons on small inputs: the bench program keeps
// compiling and working, and the properties that do not depend on the
// machine hold (no duplicate, failed or missing webhook of ours under
// faults). By default it runs the quick ones (AddWebhook and delivery);
// under ACTOR_LONG_TESTS=1 every one (templates, faults and storage take
// about 15 s).
func TestSmoke(t *testing.T) {
	t.Parallel()
	// testing.Benchmark, which times the Go side of the template cases,
	// reads -test.benchtime: keep it short here.
	if err := flag.Set("test.benchtime", "50ms"); err != nil {
		t.Fatal(err)
	}
	dir := nodetest.Install(t, nodePackages...)
	node, err := newNodeEnv(nodetest.Node(t), filepath.Join(dir, "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	b := &bench{cfg: smokeConfig(), log: &log, node: node}
	defer b.close()

	want := map[string]bool{"addwebhook": true, "delivery": true}
	if testenv.LongEnabled() {
		for _, s := range sections {
			want[s] = true
		}
	}
	rows, failed := b.run(t.Context(), want)
	t.Logf("log:\n%s", log.String())
	if failed {
		t.Fatalf("a comparison failed; rows: %+v", rows)
	}
	var table bytes.Buffer
	printTable(&table, rows)
	t.Logf("\n%s", table.String())

	faults := fmt.Sprintf("%d AddWebhook calls, 30%% faults", b.cfg.FaultCalls)
	wantRows := map[string]int{"AddWebhook, ": 3, "delivery, ": 2}
	if want["templates"] {
		wantRows["template rendering"] = 11
	}
	if want["faults"] {
		wantRows[faults] = 4
	}
	if want["storage"] {
		wantRows["storage, "] = 8
	}
	seen := map[string]int{}
	for _, r := range rows {
		for prefix := range wantRows {
			if strings.HasPrefix(r.Comparison, prefix) {
				seen[prefix]++
			}
		}
		if r.Ours == "" {
			t.Errorf("row %+v has no figure of ours", r)
		}
		if r.Comparison == faults && r.Met == "no" {
			t.Errorf("under faults: %s: ours %s, want %s", r.Case, r.Ours, r.Target)
		}
	}
	for prefix, n := range wantRows {
		if seen[prefix] != n {
			t.Errorf("%d rows of comparison %q, want %d (rows: %+v)", seen[prefix], prefix, n, rows)
		}
	}
}

func TestParseOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "templates", want: []string{"templates"}},
		{in: " delivery , faults,", want: []string{"delivery", "faults"}},
		{in: "templates,bogus", wantErr: `unknown comparison "bogus"`},
		{in: ",", wantErr: "no comparison"},
	}
	for _, tt := range tests {
		got, err := parseOnly(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseOnly(%q) error %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("parseOnly(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !got[w] {
				t.Errorf("parseOnly(%q) = %v, lacks %q", tt.in, got, w)
			}
		}
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	vals := make([]int64, 100)
	for i := range vals {
		vals[i] = int64(i + 1)
	}
	for _, tt := range []struct {
		p    float64
		want int64
	}{{50, 50}, {99, 99}, {100, 100}, {0, 1}} {
		if got := percentile(vals, tt.p); got != tt.want {
			t.Errorf("percentile(1..100, %v) = %d, want %d", tt.p, got, tt.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile(nil) = %d, want 0", got)
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for ns, want := range map[float64]string{
		12: "12.0 ns", 1500: "1.50 µs", 999_400: "999 µs", 2.5e6: "2.50 ms", 172e6: "172 ms", 3.2e9: "3.20 s",
	} {
		if got := duration(ns); got != want {
			t.Errorf("duration(%v) = %q, want %q", ns, got, want)
		}
	}
}

func TestFaster(t *testing.T) {
	t.Parallel()
	for ratio, want := range map[float64]string{4.44: "4.4× faster", 1: "1.0× faster", 0.5: "2.0× slower"} {
		if got := faster(ratio); got != want {
			t.Errorf("faster(%v) = %q, want %q", ratio, got, want)
		}
	}
}

// Command bench measures this module against the platform's reference
// implementations and prints one table of side-by-side ratios:
//
//   - templates: payload template rendering against @apify/utilities'
//     WebhookPayloadTemplate, on the same inputs;
//   - addwebhook: Actor.AddWebhook round trips against the official JS
//     SDK's Actor.addWebhook, both as child processes talking to the same
//     local platform (per-call median and p99, peak memory);
//   - delivery: webhook delivery throughput of the local platform
//     (apifytest) against a bare Go HTTP client posting the same bodies with
//     the same concurrency, and memory per pending dispatch;
//   - faults: 1,000 AddWebhook calls through a proxy that disturbs 30% of
//     the requests, with this module and with the JS SDK: duplicates and
//     losses;
//   - storage: pushing 100,000 small items and setting 1,000 records of
//     100 KB, with this module and with the JS SDK's Actor.pushData and
//     Actor.setValue, to the same local platform and to local files, with
//     peak memory; and local files against os.WriteFile per file.
//
// The JS side needs node and npm; the reference packages are installed on
// first use into the user's cache directory. Everything runs on loopback.
//
// Usage:
//
//	go run ./internal/bench [-quick] [-only=templates,addwebhook,delivery,faults,storage] [-storage=platform|local]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"time"
)

// sections are the comparisons, in the order they run.
var sections = []string{"templates", "addwebhook", "delivery", "faults", "storage"}

// config sizes a bench run.
type config struct {
	// JSBudget is how long the JS side times each template case (after a
	// warm-up of a quarter of it); the Go side uses testing.Benchmark.
	JSBudget time.Duration
	// JSProcesses is how many node processes time the template cases: V8
	// settles on code of different speed from process to process (up to
	// twice as fast or slow here), so the figure is their median.
	JSProcesses int
	// HugeTemplate includes the 5,000-placeholder template.
	HugeTemplate bool
	// AddWebhookCalls is the number of timed calls per side, after
	// AddWebhookWarmup untimed ones.
	AddWebhookCalls, AddWebhookWarmup int
	// DeliveryRuns is the number of runs, each with one ad-hoc webhook;
	// DeliveryRounds how many times both sides deliver them, one after
	// the other.
	DeliveryRuns, DeliveryRounds int
	// FaultCalls is the number of AddWebhook calls per side under faults,
	// FaultWorkers of them at a time.
	FaultCalls, FaultWorkers int
	// StorageItems is the number of items each side pushes, StorageRecords
	// the number of 100 KB records it sets.
	StorageItems, StorageRecords int
}

func fullConfig() config {
	return config{JSBudget: 2 * time.Second, JSProcesses: 5, HugeTemplate: true, AddWebhookCalls: 2000, AddWebhookWarmup: 50,
		DeliveryRuns: 10_000, DeliveryRounds: 3, FaultCalls: 1000, FaultWorkers: 16,
		StorageItems: 100_000, StorageRecords: 1000}
}

func quickConfig() config {
	return config{JSBudget: 200 * time.Millisecond, JSProcesses: 1, AddWebhookCalls: 100, AddWebhookWarmup: 10,
		DeliveryRuns: 500, DeliveryRounds: 1, FaultCalls: 100, FaultWorkers: 16,
		StorageItems: 5000, StorageRecords: 50}
}

// row is one line of the result table.
type row struct {
	Comparison, Case string
	Ours, Theirs     string // this module; the reference (or the loopback limit)
	Ratio            string
	Target, Met      string
}

func main() {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	quick := flag.Bool("quick", false, "small inputs, for a smoke run")
	only := flag.String("only", strings.Join(sections, ","), "comma-separated comparisons to run: "+strings.Join(sections, ", "))
	storageHalf := flag.String("storage", "", "run only one half of the storage comparison: platform or local (local includes the floor)")
	flag.Parse()
	if *storageHalf != "" && *storageHalf != "platform" && *storageHalf != "local" {
		fmt.Fprintf(os.Stderr, "bench: -storage: %q is neither platform nor local\n", *storageHalf)
		os.Exit(2)
	}
	cfg := fullConfig()
	if *quick {
		cfg = quickConfig()
	}
	want, err := parseOnly(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	b := &bench{cfg: cfg, log: os.Stderr, storageHalf: *storageHalf}
	defer b.close()
	rows, failed := b.run(ctx, want)
	fmt.Println(machine())
	fmt.Println()
	printTable(os.Stdout, rows)
	if failed {
		os.Exit(1)
	}
}

func parseOnly(s string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		known := false
		for _, sec := range sections {
			known = known || sec == name
		}
		if !known {
			return nil, fmt.Errorf("-only: unknown comparison %q (want some of %s)", name, strings.Join(sections, ", "))
		}
		want[name] = true
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("-only: no comparison named")
	}
	return want, nil
}

// bench holds what the comparisons share.
type bench struct {
	cfg  config
	log  io.Writer
	node *nodeEnv // installed on first need
	// storageHalf is "platform" or "local" to run only that half of the
	// storage comparison, "" for both.
	storageHalf string
}

func (b *bench) close() {
	if b.node != nil {
		b.node.close()
	}
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

// nodeEnv installs the reference packages on first need.
func (b *bench) nodeEnv(ctx context.Context) (*nodeEnv, error) {
	if b.node == nil {
		n, err := installNode(ctx)
		if err != nil {
			return nil, err
		}
		b.node = n
	}
	return b.node, nil
}

// run runs the wanted comparisons; a failed one is reported on stderr and
// in the table, and the others still run.
func (b *bench) run(ctx context.Context, want map[string]bool) (rows []row, failed bool) {
	funcs := map[string]func(context.Context) ([]row, error){
		"templates":  b.templates,
		"addwebhook": b.addWebhook,
		"delivery":   b.delivery,
		"faults":     b.faults,
		"storage":    b.storage,
	}
	for _, name := range sections {
		if !want[name] {
			continue
		}
		b.logf("running %s", name)
		start := time.Now()
		rs, err := funcs[name](ctx)
		if err != nil {
			b.logf("%s failed: %v", name, err)
			rs = append(rs, row{Comparison: name, Case: "FAILED: " + oneLine(err.Error())})
			failed = true
		}
		b.logf("%s done in %v", name, time.Since(start).Round(time.Millisecond))
		rows = append(rows, rs...)
	}
	return rows, failed
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// printTable writes rows as a Markdown table.
func printTable(w io.Writer, rows []row) {
	header := row{"Comparison", "Case", "This module (Go)", "Reference", "Ratio", "Target", "Met"}
	cells := func(r row) []string {
		return []string{r.Comparison, r.Case, r.Ours, r.Theirs, r.Ratio, r.Target, r.Met}
	}
	widths := make([]int, 7)
	for _, r := range append([]row{header}, rows...) {
		for i, c := range cells(r) {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	line := func(cs []string) {
		var sb strings.Builder
		sb.WriteString("|")
		for i, c := range cs {
			sb.WriteString(" " + c + strings.Repeat(" ", widths[i]-len([]rune(c))) + " |")
		}
		fmt.Fprintln(w, sb.String())
	}
	line(cells(header))
	dashes := make([]string, 7)
	for i := range dashes {
		dashes[i] = strings.Repeat("-", widths[i])
	}
	line(dashes)
	for _, r := range rows {
		line(cells(r))
	}
}

// machine describes the machine and the tool versions.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	nodeVersion := "node not found"
	if out, err := exec.Command("node", "--version").Output(); err == nil {
		nodeVersion = "node " + strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("Machine: %s, %d CPUs (GOMAXPROCS %d), %s/%s; %s; %s",
		model, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), nodeVersion)
}

// met returns "yes" or "no".
func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// faster describes a speed ratio, the reference's time over ours.
func faster(ratio float64) string {
	if ratio >= 1 {
		return fmt.Sprintf("%.1f× faster", ratio)
	}
	return fmt.Sprintf("%.1f× slower", 1/ratio)
}

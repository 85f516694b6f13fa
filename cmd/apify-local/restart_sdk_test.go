//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// sdkDelivery is what the test's receiver saw of one webhook call.
type sdkDelivery struct {
	webhookID string
	body      map[string]any
	webhooks  []string // GET /v2/webhooks while the call was being answered
	listErr   error
}

// TestRunMigratesGoSDKActor runs testdata/goactor, an Actor written with
// the actor package, under apify-local run --migrate-after: it adds its
// webhook, counts items with actor.UseState and is migrated in the middle.
// It checks that:
//   - two processes ran, the first from a count of 0, the second from the
//     count the first had reached: the last item the first finished, so
//     that no item is done twice and none skipped (the SDK saves the state
//     on migrating and at exit, before the process is killed);
//   - each item 1..N was done exactly once, and the final count is N;
//   - both processes got the same webhook from AddWebhook, and while its
//     delivery is answered, GET /v2/webhooks lists exactly that one;
//   - the receiver got exactly one call, ACTOR.RUN.SUCCEEDED of a run
//     whose stats.restartCount is 1, and the run ended once, SUCCEEDED
//     with exit code 0, after the restart line: never from the first
//     process.
func TestRunMigratesGoSDKActor(t *testing.T) {
	t.Parallel()
	// Migrated after 500 ms: the first process is at work by then even on a
	// loaded machine (a migration during Init would leave it nothing done).
	const items = 25
	apiFile := filepath.Join(t.TempDir(), "api")
	var (
		mu  sync.Mutex
		got []sdkDelivery
	)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := sdkDelivery{webhookID: r.Header.Get("X-Apify-Webhook")}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &d.body); err != nil {
			t.Errorf("delivery body %q: %v", b, err)
		}
		d.webhooks, d.listErr = listWebhooks(r, apiFile)
		mu.Lock()
		got = append(got, d)
		mu.Unlock()
	}))
	defer rc.Close()

	code, stdout, stderr := runLocal(t.Context(), "run", "--migrate-after", "500ms", "--migration-grace", "2s", "--system-info-interval", "1h", "--",
		goActor, "-items", strconv.Itoa(items), "-item-time", "40ms", "-webhook", rc.URL+"/hook", "-api-file", apiFile)
	defer func() {
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
		}
	}()
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}

	// The processes, in the order they started, with what they printed.
	type process struct {
		pid       string
		startDone int
		items     []int
		webhook   string
		stopped   string // "done=K: cause"
		finished  int    // -1: did not finish
	}
	var procs []*process
	byPid := map[string]*process{}
	line := regexp.MustCompile(`^goactor: pid (\d+) (start done=(\d+)|webhook (\w+)|item (\d+)|stopped (done=\d+: .*)|finished done=(\d+))$`)
	for _, l := range strings.Split(stdout.String(), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		p := byPid[m[1]]
		switch {
		case m[3] != "":
			if p != nil {
				t.Errorf("pid %s started twice", m[1])
			}
			n, _ := strconv.Atoi(m[3])
			p = &process{pid: m[1], startDone: n, finished: -1}
			procs = append(procs, p)
			byPid[m[1]] = p
			continue
		case p == nil:
			t.Errorf("a line before the start of pid %s: %q", m[1], l)
			continue
		case m[4] != "":
			p.webhook = m[4]
		case m[5] != "":
			n, _ := strconv.Atoi(m[5])
			p.items = append(p.items, n)
		case m[6] != "":
			p.stopped = m[6]
		case m[7] != "":
			p.finished, _ = strconv.Atoi(m[7])
		}
	}
	if len(procs) != 2 {
		t.Fatalf("%d processes started, want 2", len(procs))
	}
	first, second := procs[0], procs[1]
	k := len(first.items)
	if first.startDone != 0 || k == 0 || k >= items {
		t.Errorf("the first process started from %d and did %d items; want 0, and some but not all of %d", first.startDone, k, items)
	}
	if want := fmt.Sprintf("done=%d: actor: the platform is migrating the run to another server", k); first.stopped != want || first.finished != -1 {
		t.Errorf("the first process stopped with %q and finished with %d; want %q, not finished", first.stopped, first.finished, want)
	}
	if second.startDone != k {
		t.Errorf("the second process loaded done=%d, want %d: the last item the first finished", second.startDone, k)
	}
	var all []int
	for _, p := range procs {
		all = append(all, p.items...)
	}
	var want []int
	for i := 1; i <= items; i++ {
		want = append(want, i)
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("items done by the two processes (-want +got):\n%s", diff)
	}
	if second.finished != items || second.stopped != "" {
		t.Errorf("the second process finished with done=%d (stopped %q), want %d", second.finished, second.stopped, items)
	}
	if first.webhook == "" || first.webhook != second.webhook {
		t.Errorf("AddWebhook returned webhook %q, then %q: want the same one", first.webhook, second.webhook)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("the receiver got %d calls, want 1", len(got))
	}
	d := got[0]
	if d.webhookID != first.webhook {
		t.Errorf("delivery of webhook %s, want %s", d.webhookID, first.webhook)
	}
	wantBody := map[string]any{"runId": d.body["runId"], "status": "SUCCEEDED", "restartCount": 1.0, "event": "ACTOR.RUN.SUCCEEDED"}
	if diff := cmp.Diff(wantBody, d.body); diff != "" {
		t.Errorf("payload (-want +got):\n%s", diff)
	}
	if d.listErr != nil {
		t.Errorf("GET /v2/webhooks: %v", d.listErr)
	} else if diff := cmp.Diff([]string{first.webhook}, d.webhooks); diff != "" {
		t.Errorf("webhooks on the platform (-want +got):\n%s", diff)
	}

	runID, _ := d.body["runId"].(string)
	out := stderr.String()
	restart := strings.Index(out, "apify-local: run "+runID+" restarted after a migration (restart 1); starting "+goActor+" again\n")
	end := strings.Index(out, "apify-local: run "+runID+" SUCCEEDED (exit code 0)\n")
	if restart < 0 || end < restart {
		t.Errorf("stderr has the restart line at %d and the SUCCEEDED line at %d: want both, the restart first", restart, end)
	}
	if n := strings.Count(out, "apify-local: run "+runID+" "); n != 2 {
		t.Errorf("%d lines about the run on stderr, want 2 (the restart, the end)", n)
	}
}

// listWebhooks lists the webhooks through the API of the run whose base URL
// and token goactor wrote to apiFile.
func listWebhooks(r *http.Request, apiFile string) ([]string, error) {
	b, err := os.ReadFile(apiFile)
	if err != nil {
		return nil, err
	}
	base, token, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	c, err := client.New(client.WithBaseURL(base), client.WithToken(token))
	if err != nil {
		return nil, err
	}
	page, err := c.ListWebhooks(r.Context(), client.ListOptions{})
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, w := range page.Items {
		ids = append(ids, w.ID)
	}
	return ids, nil
}

// BenchmarkRestartSDK measures the restart of testdata/goactor, an Actor
// written with the actor package, under apify-local run --migrate-after:
// the time from its first process hearing migrating to its second process
// having loaded its state (restart-ms), which covers the SDK's own part
// (saving the state, asking for a reboot), the kill, the restart, Init
// and UseState's read; against the floor: starting the same program bare,
// with a run's environment, to its state loaded (floor-ms).
func BenchmarkRestartSDK(b *testing.B) {
	dir := b.TempDir()
	var restart, floor time.Duration
	for i := range b.N {
		times := filepath.Join(dir, "times"+strconv.Itoa(i))
		code := runMain(b.Context(), []string{"run", "--migrate-after", "100ms", "--system-info-interval", "1h", "--wait", "1s", "--",
			goActor, "-items", "40", "-item-time", "5ms", "-times", times},
			strings.NewReader(""), io.Discard, io.Discard)
		if code != 0 {
			b.Fatalf("apify-local exited with %d", code)
		}
		// A migration during the first process's Init cancels its work
		// before it loads the state: only the second process resumes then.
		t := readSDKTimes(b, times)
		resumed, migrating := t["resumed"], t["migrating"]
		if len(resumed) == 0 || len(migrating) != 1 || resumed[len(resumed)-1] < migrating[0] {
			b.Fatalf("%s: want one migrating, then the state loaded: %v", times, t)
		}
		restart += time.Duration(resumed[len(resumed)-1] - migrating[0])

		floor += sdkFloorOnce(b, filepath.Join(dir, "floor"+strconv.Itoa(i)))
	}
	b.ReportMetric(float64(restart)/float64(time.Millisecond)/float64(b.N), "restart-ms")
	b.ReportMetric(float64(floor)/float64(time.Millisecond)/float64(b.N), "floor-ms")
}

// sdkFloorOnce starts goactor as a run of an in-process server and returns
// the time from its start to its state loaded.
func sdkFloorOnce(b *testing.B, times string) time.Duration {
	srv, err := apifytest.NewServer()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	run, err := srv.StartRun(b.Context(), "a~b", nil, client.StartOptions{})
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.CommandContext(b.Context(), goActor, "-items", "1", "-item-time", "0", "-times", times)
	cmd.Env = mergeEnv(os.Environ(), srv.Env(run.ID))
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("goactor: %v\n%s", err, out)
	}
	t := readSDKTimes(b, times)
	if len(t["resumed"]) != 1 {
		b.Fatalf("%s: want 1 resumed: %v", times, t)
	}
	return time.Duration(t["resumed"][0] - start.UnixNano())
}

// readSDKTimes reads goactor's -times file: the times of each WHAT, in
// order.
func readSDKTimes(b *testing.B, path string) map[string][]int64 {
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	out := map[string][]int64{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			b.Fatalf("%s: %q", path, line)
		}
		n, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			b.Fatalf("%s: %q", path, line)
		}
		out[f[0]] = append(out[f[0]], n)
	}
	return out
}

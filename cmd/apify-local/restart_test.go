//go:build unix

package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// helperCommand returns the command line that runs the test binary as the
// helper Actor in mode, counting its starts in a new file, and that file.
func helperCommand(t *testing.T, mode string) ([]string, string) {
	t.Helper()
	envCmd, err := exec.LookPath("env")
	if err != nil {
		t.Skip("needs env(1)")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	starts := filepath.Join(t.TempDir(), "starts")
	return []string{envCmd, asActorEnv + "=" + mode, startsEnv + "=" + starts, self}, starts
}

// startsIn returns the number of starts recorded in file path.
func startsIn(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// TestRunRestarts runs COMMAND under apify-local through migrations, a
// reboot and a graceful abort, and checks the starts, the run's end and
// the lines on stderr.
func TestRunRestarts(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("needs a POSIX shell")
	}
	tests := []struct {
		name       string
		flags      []string
		mode       string   // the helper Actor's; "" for the shell command
		wantStarts int      // of COMMAND
		wantCode   int      // of apify-local
		wantLines  []string // on stderr (%s: the run's ID)
		wantOut    string   // on stdout
	}{
		{"migrated, killed after the grace", []string{"--migrate-after", "1s", "--migration-grace", "100ms"}, "", 2, 0,
			[]string{"apify-local: run %s restarted after a migration (restart 1); starting " + sh + " again\n", "apify-local: run %s SUCCEEDED (exit code 0)\n"}, ""},
		{"exits non-zero on migrating", []string{"--system-info-interval", "20ms"}, "exit-on-migrating=3", 2, 0,
			[]string{"restarted after a migration (restart 1)", "apify-local: run %s SUCCEEDED (exit code 0)\n"}, "helper: started again"},
		{"exits 0 on migrating", []string{"--system-info-interval", "20ms"}, "exit-on-migrating=0", 1, 0,
			[]string{"apify-local: run %s SUCCEEDED (exit code 0)\n"}, ""},
		{"migrated twice", []string{"--migrate-after", "500ms", "--migrations", "2", "--migration-grace", "0"}, "", 3, 0,
			[]string{"(restart 1)", "(restart 2)", "SUCCEEDED (exit code 0)"}, ""},
		{"reboot", []string{"--system-info-interval", "20ms"}, "reboot", 2, 0,
			[]string{"apify-local: run %s restarted after a reboot (restart 1); starting ", "SUCCEEDED (exit code 0)"}, "helper: started again"},
		{"graceful abort", []string{"--abort-grace", "1m", "--system-info-interval", "20ms"}, "abort-gracefully", 1, 0,
			[]string{"apify-local: run %s ABORTED (exit code none)\n"}, "helper: heard aborting"},
		{"metamorph to another Actor", []string{"--system-info-interval", "20ms"}, "metamorph", 1, 0,
			[]string{"SUCCEEDED (exit code 0)"}, `"type":"metamorph-not-supported"`},
		{"systemInfo of the process", []string{"--system-info-interval", "50ms"}, "system-info", 1, 0,
			[]string{"SUCCEEDED (exit code 0)"}, "helper: systemInfo memCurrentBytes="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var command []string
			var starts string
			if tt.mode == "" {
				starts = filepath.Join(t.TempDir(), "starts")
				// Sleeps until killed on its first starts; exits 0 on the last.
				command = []string{sh, "-c", `echo start >> "$0"; [ "$(wc -l < "$0")" -ge "$1" ] && exit 0; exec sleep 60`,
					starts, string(rune('0' + tt.wantStarts))}
			} else {
				command, starts = helperCommand(t, tt.mode)
			}
			args := append(append([]string{"run"}, tt.flags...), "--")
			code, stdout, stderr := runLocal(t.Context(), append(args, command...)...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			if got := startsIn(t, starts); got != tt.wantStarts {
				t.Errorf("COMMAND started %d times, want %d", got, tt.wantStarts)
			}
			runID := runIDIn(stderr.String())
			for _, line := range tt.wantLines {
				if want := strings.ReplaceAll(line, "%s", runID); !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q", want)
				}
			}
			if n := strings.Count(stderr.String(), "restarted after"); n != tt.wantStarts-1 {
				t.Errorf("%d restart lines on stderr, want %d", n, tt.wantStarts-1)
			}
			if !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("stdout lacks %q", tt.wantOut)
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
		})
	}
}

// runIDIn returns the run ID of the "apify-local: run ID STATUS" line.
func runIDIn(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[0] == "apify-local:" && f[1] == "run" && strings.HasSuffix(line, ")") && strings.Contains(line, "(exit code") {
			return f[2]
		}
	}
	return "(no run line)"
}

// TestRunResurrect resurrects the finished run from its webhook receiver,
// while apify-local waits for the delivery: COMMAND runs again, and the
// ad-hoc webhook does not fire a second time.
func TestRunResurrect(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("needs a POSIX shell")
	}
	starts := filepath.Join(t.TempDir(), "starts")
	var mu sync.Mutex
	var events []string
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			EventType string
			Resource  struct{ ID string }
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &p)
		mu.Lock()
		events = append(events, p.EventType)
		first := len(events) == 1
		mu.Unlock()
		if first {
			base := "http://" + r.Header.Get("X-Test-Api")
			req, _ := http.NewRequestWithContext(r.Context(), "POST", base+"/v2/actor-runs/"+p.Resource.ID+"/resurrect", nil)
			req.Header.Set("Authorization", "Bearer "+r.Header.Get("X-Test-Token"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("resurrect: %v %v", resp, err)
			}
			if resp != nil {
				resp.Body.Close()
			}
		}
	}))
	defer rc.Close()
	// The Actor adds its own webhook, whose headers carry what the
	// receiver needs to call the API (a test shortcut, not a practice).
	addHook := `[ "$(wc -l < "$0")" -ge 2 ] || curl -sf -X POST -H "Authorization: Bearer $APIFY_TOKEN" -H 'Content-Type: application/json' ` +
		`"$APIFY_API_BASE_URL/v2/webhooks" -d "{\"isAdHoc\":true,\"eventTypes\":[\"ACTOR.RUN.SUCCEEDED\"],\"condition\":{\"actorRunId\":\"$ACTOR_RUN_ID\"},` +
		`\"requestUrl\":\"$1\",\"headersTemplate\":\"{\\\"X-Test-Api\\\":\\\"${APIFY_API_BASE_URL#http://}\\\",\\\"X-Test-Token\\\":\\\"$APIFY_TOKEN\\\"}\"}" >/dev/null`
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("needs curl")
	}
	code, _, stderr := runLocal(t.Context(), "run", "--", sh, "-c", `echo start >> "$0"; `+addHook, starts, rc.URL)
	if code != 0 {
		t.Errorf("exit code %d", code)
	}
	if got := startsIn(t, starts); got != 2 {
		t.Errorf("COMMAND started %d times, want 2", got)
	}
	runID := runIDIn(stderr.String())
	for _, want := range []string{
		"apify-local: run " + runID + " resurrected (resurrection 1); starting " + sh + " again\n",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if n := strings.Count(stderr.String(), " SUCCEEDED (exit code 0)\n"); n != 2 {
		t.Errorf("%d run lines, want 2", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 1 || events[0] != "ACTOR.RUN.SUCCEEDED" {
		t.Errorf("deliveries %v, want one ACTOR.RUN.SUCCEEDED", events)
	}
	if t.Failed() {
		t.Logf("stderr:\n%s", stderr)
	}
}

//go:build unix

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startLocal runs apify-local with args in process in its own goroutine;
// stdout signals when it first holds "ready\n".
func startLocal(ctx context.Context, args ...string) (stdout, stderr *syncBuffer, code <-chan int) {
	stdout, stderr = newSyncBuffer("ready\n"), newSyncBuffer("")
	done := make(chan int, 1)
	go func() { done <- runMain(ctx, args, strings.NewReader(""), stdout, stderr) }()
	return stdout, stderr, done
}

// readyLine returns the fields of the line COMMAND ends with " ready",
// waiting for it (or failing the test after a minute).
func readyLine(t *testing.T, stdout, stderr *syncBuffer) []string {
	t.Helper()
	select {
	case <-stdout.seen:
	case <-time.After(time.Minute):
		t.Fatalf("COMMAND never got ready\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[len(f)-1] == "ready" {
			return f[:len(f)-1]
		}
	}
	t.Fatalf("no ready line in stdout:\n%s", stdout)
	return nil
}

// gone reports whether process pid has ended: it no longer exists, or it
// is a zombie that its new parent has not reaped yet.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false // not Linux: the process exists
	}
	// The state follows the command name, which is in parentheses.
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && strings.HasPrefix(string(stat[i+1:]), " Z")
}

// waitGone fails the test unless process pid ends within a few seconds.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d that COMMAND started still runs after the run ended", pid)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition another process changes
	}
}

// TestRunStopsProcessGroup covers a run that times out while COMMAND (a
// shell) has started a process of its own: that process ends with the run,
// with SIGTERM, or with SIGKILL after --grace when it ignores SIGTERM,
// also when the shell itself exits cleanly on SIGTERM.
func TestRunStopsProcessGroup(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("needs a POSIX shell")
	}
	tests := []struct {
		name     string
		script   string
		grace    string
		wantCode int
	}{
		{"ends on SIGTERM", `sleep 100 & echo "$! ready"; wait`, "1m", 143},
		{"ignores SIGTERM", `trap "" TERM; sleep 100 & echo "$! ready"; wait`, "300ms", 137},
		{"outlives a clean exit", `(trap "" TERM; exec sleep 100) & echo "$! ready"; trap "exit 0" TERM; wait`, "300ms", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			code, stdout, stderr := runLocal(t.Context(), "run", "--timeout", "500ms", "--grace", tt.grace, "--", sh, "-c", tt.script)
			fields := strings.Fields(stdout.String())
			if len(fields) != 2 {
				t.Fatalf("stdout %q, want the background process's ID and ready\nstderr:\n%s", stdout, stderr)
			}
			pid, err := strconv.Atoi(fields[0])
			if err != nil {
				t.Fatal(err)
			}
			waitGone(t, pid)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", code, tt.wantCode, stderr)
			}
			if want := fmt.Sprintf(" TIMED-OUT (exit code %d)\n", tt.wantCode); !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("the run took %v", d)
			}
		})
	}
}

// TestRunCleanExitAfterSIGTERM covers COMMAND that exits 0 on SIGTERM,
// after the run's timeout or an abort through the API: the run is TIMED-OUT
// or ABORTED as on the platform, with COMMAND's real exit code 0, which is
// also apify-local's.
func TestRunCleanExitAfterSIGTERM(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("needs a POSIX shell")
	}
	// Ready once the background sleep runs: an abort before it started
	// would leave it out of the SIGTERM, holding stdout for --grace.
	const script = `trap "exit 0" TERM; sleep 100 & echo "$APIFY_API_BASE_URL $ACTOR_RUN_ID $APIFY_TOKEN ready"; wait`
	tests := []struct {
		name       string
		flags      []string
		abort      bool
		wantEvent  string
		wantStatus string
	}{
		{"timeout", []string{"--timeout", "500ms"}, false, "ACTOR.RUN.TIMED_OUT", "TIMED-OUT"},
		{"API abort", nil, true, "ACTOR.RUN.ABORTED", "ABORTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t)
			args := append(append([]string{"run", "--webhook", rc.URL}, tt.flags...), "--", sh, "-c", script)
			stdout, stderr, done := startLocal(t.Context(), args...)
			if tt.abort {
				f := readyLine(t, stdout, stderr)
				if len(f) != 3 {
					t.Fatalf("ready line %q, want the API's URL, the run's ID and the token", f)
				}
				req, err := http.NewRequestWithContext(t.Context(), "POST", f[0]+"/v2/actor-runs/"+f[1]+"/abort", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+f[2])
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("POST .../abort: %s", resp.Status)
				}
			}
			var code int
			select {
			case code = <-done:
			case <-time.After(time.Minute):
				t.Fatalf("apify-local did not return\nstderr:\n%s", stderr)
			}
			if code != 0 {
				t.Errorf("exit code %d, want 0\nstderr:\n%s", code, stderr)
			}
			if want := " " + tt.wantStatus + " (exit code 0)\n"; !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
			if strings.Contains(stderr.String(), "cannot run") {
				t.Errorf("stderr:\n%s", stderr)
			}
			hooks := rc.hooks()
			if len(hooks) != 1 || hooks[0].body["eventType"] != tt.wantEvent {
				t.Fatalf("hooks = %+v, want one %s\nstderr:\n%s", hooks, tt.wantEvent, stderr)
			}
			if res, _ := hooks[0].body["resource"].(map[string]any); res["status"] != tt.wantStatus || res["exitCode"] != 0.0 {
				t.Errorf("resource = %v, want status %s and exit code 0", res, tt.wantStatus)
			}
		})
	}
}

// TestSecondSignalEndsAtOnce runs apify-local as a process (the test
// binary) and interrupts it twice while COMMAND ignores SIGINT and SIGTERM:
// the first signal aborts the run, the second ends apify-local at once and
// kills COMMAND's process group, which the terminal's signals do not reach.
func TestSecondSignalEndsAtOnce(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("needs a POSIX shell")
	}
	cmd := exec.Command(os.Args[0], "run", "--grace", "1m", "--", sh, "-c", `trap "" INT TERM; sleep 100 & echo "$! ready"; wait`)
	cmd.Env = append(os.Environ(), asMainEnv+"=1")
	stdout, stderr := newSyncBuffer("ready\n"), newSyncBuffer("interrupted; aborting run")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = 5 * time.Second // should COMMAND's group outlive apify-local
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	f := readyLine(t, stdout, stderr)
	if len(f) != 1 {
		t.Fatalf("ready line %q, want the background process's ID", f)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stderr.seen:
	case <-time.After(time.Minute):
		t.Fatalf("the first SIGINT did not abort the run\nstderr:\n%s", stderr)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("apify-local: %v, exit code %d, want 130 (SIGINT)\nstderr:\n%s", err, code, stderr)
	}
	waitGone(t, pid)
}

package nodetest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeTB records how Install ends a test: Skipf and Fatalf end the
// goroutine, as the testing package's do.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// callInstall calls Install with a fakeTB in a goroutine of its own.
func callInstall(t *testing.T, pkg string) (dir string, f *fakeTB) {
	f = &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		dir = Install(f, pkg)
	}()
	<-done
	return dir, f
}

// TestInstallDecides runs Install against a fake node and npm (shell
// scripts on PATH): a missing node or a failing npm install skips the
// test, or fails it under ACTOR_REQUIRE_NODE=1; a failure is not retried
// for FailedRetryAfter unless required; a success is not repeated.
func TestInstallDecides(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake npm is a shell script")
	}
	bin, empty := t.TempDir(), t.TempDir()
	calls := filepath.Join(t.TempDir(), "calls")
	for name, script := range map[string]string{
		"node": "#!/bin/sh\nexit 0\n",
		"npm":  "#!/bin/sh\necho \"$*\" >> \"$NPM_CALLS\"\nexit \"$NPM_EXIT\"\n",
	} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Setenv("NPM_CALLS", calls)
	npmCalls := func() int {
		b, _ := os.ReadFile(calls)
		return strings.Count(string(b), "\n")
	}

	tests := []struct {
		name      string
		path      string
		npmExit   string
		require   string
		pkg       string
		wantSkip  string // in the skip message
		wantFail  string // in the failure message
		wantCalls int    // npm calls so far
	}{
		{name: "no node", path: empty, pkg: "a@1", wantSkip: "node not found"},
		{name: "no node, required", path: empty, require: "1", pkg: "a@1", wantFail: "node not found"},
		{name: "npm fails", path: bin, npmExit: "1", pkg: "a@1", wantSkip: "npm install a@1: exit status 1", wantCalls: 1},
		{name: "npm failed lately", path: bin, npmExit: "1", pkg: "a@1", wantSkip: "not retried for 10m0s after it failed", wantCalls: 1},
		{name: "npm fails, required", path: bin, npmExit: "1", require: "1", pkg: "a@1", wantFail: "npm install a@1: exit status 1", wantCalls: 2},
		{name: "npm succeeds", path: bin, npmExit: "0", pkg: "b@1", wantCalls: 3},
		{name: "installed", path: bin, npmExit: "1", pkg: "b@1", wantCalls: 3},
	}
	for _, tt := range tests {
		t.Setenv("PATH", tt.path)
		t.Setenv("NPM_EXIT", tt.npmExit)
		t.Setenv(RequireEnv, tt.require)
		dir, f := callInstall(t, tt.pkg)
		if !strings.Contains(f.skipped, tt.wantSkip) || (tt.wantSkip == "") != (f.skipped == "") {
			t.Errorf("%s: skipped %q, want %q", tt.name, f.skipped, tt.wantSkip)
		}
		if !strings.Contains(f.failed, tt.wantFail) || (tt.wantFail == "") != (f.failed == "") {
			t.Errorf("%s: failed %q, want %q", tt.name, f.failed, tt.wantFail)
		}
		if n := npmCalls(); n != tt.wantCalls {
			t.Errorf("%s: npm ran %d times, want %d", tt.name, n, tt.wantCalls)
		}
		if tt.wantSkip == "" && tt.wantFail == "" {
			if _, err := os.Stat(filepath.Join(dir, ".installed")); err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
		}
	}
}

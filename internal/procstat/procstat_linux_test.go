package procstat

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		line    string
		want    stat
		wantErr bool
	}{
		{"plain", "42 (sh) S 1 40 40 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 1000 2000000 300 18446744073709551615",
			stat{pgrp: 40, utime: 250, stime: 50, rssPages: 300}, false},
		{"name with spaces and parentheses", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 6 9 0",
			stat{pgrp: 7, utime: 1, stime: 2, rssPages: 9}, false},
		{"truncated", "7 (x) R 1 7", stat{}, true},
		{"no name", "7 x R", stat{}, true},
		{"not a number", "7 (x) R 1 x 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 6 9 0", stat{}, true},
	}
	for _, tt := range tests {
		got, err := parseStat([]byte(tt.line))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(stat{})); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tt.name, diff)
		}
	}
}

func TestProcessAndGroup(t *testing.T) {
	t.Parallel()
	// Burn some CPU time, measured in 10 ms ticks.
	for start := time.Now(); time.Since(start) < 30*time.Millisecond; {
	}
	self, err := Process(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if self.MemoryBytes <= 0 || self.CPUTime <= 0 {
		t.Errorf("Process(self) = %+v, want memory and CPU time", self)
	}
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// Right after Start the child may still be between fork and exec, with
	// no memory of its own yet: wait for the exec, with a deadline.
	var g Usage
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if g, err = Group(cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		if g.MemoryBytes > 0 || time.Now().After(deadline) {
			break
		}
	}
	if g.MemoryBytes <= 0 || g.MemoryBytes >= self.MemoryBytes*10 {
		t.Errorf("Group(sleep) = %+v, want the memory of one small process", g)
	}
	if _, err := Group(1 << 30); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Group(no such group): %v, want os.ErrNotExist", err)
	}
}

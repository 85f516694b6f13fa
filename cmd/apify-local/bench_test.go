//go:build unix

package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// BenchmarkRestart measures, under apify-local run, the time from the
// migrating event reaching the Actor's process to the first API call of
// the process started again (restart-ms), against the floor: the time from
// starting the same program to its first API call (floor-ms). The Actor
// (the test binary as helperActor) exits as soon as it hears migrating.
func BenchmarkRestart(b *testing.B) {
	envCmd, err := exec.LookPath("env")
	if err != nil {
		b.Skip("needs env(1)")
	}
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var restart, floor time.Duration
	for i := range b.N {
		times := filepath.Join(dir, "times"+strconv.Itoa(i))
		starts := filepath.Join(dir, "starts"+strconv.Itoa(i))
		code := runMain(b.Context(), []string{"run", "--system-info-interval", "10ms", "--wait", "1s", "--",
			envCmd, asActorEnv + "=restart-latency", startsEnv + "=" + starts, timesEnv + "=" + times, self},
			strings.NewReader(""), io.Discard, io.Discard)
		if code != 0 {
			b.Fatalf("apify-local exited with %d", code)
		}
		t := readTimes(b, times)
		restart += time.Duration(t["call"] - t["migrating"])

		floor += floorOnce(b, self, filepath.Join(dir, "floor"+strconv.Itoa(i)))
	}
	b.ReportMetric(float64(restart)/float64(time.Millisecond)/float64(b.N), "restart-ms")
	b.ReportMetric(float64(floor)/float64(time.Millisecond)/float64(b.N), "floor-ms")
}

// floorOnce starts the helper Actor as a run of an in-process server and
// returns the time from its start to its first API call.
func floorOnce(b *testing.B, self, times string) time.Duration {
	srv := apifytest.NewTestServer(b)
	run, err := srv.StartRun(b.Context(), "a~b", nil, client.StartOptions{})
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.CommandContext(b.Context(), self)
	cmd.Env = append(mergeEnv(os.Environ(), srv.Env(run.ID)), asActorEnv+"=first-call", startsEnv+"="+times+".starts", timesEnv+"="+times)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("helper: %v\n%s", err, out)
	}
	return time.Duration(readTimes(b, times)["call"] - start.UnixNano())
}

// readTimes reads the lines note appended.
func readTimes(b *testing.B, path string) map[string]int64 {
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		what, ns, _ := strings.Cut(line, " ")
		n, err := strconv.ParseInt(ns, 10, 64)
		if err != nil {
			b.Fatalf("%s: %q", path, line)
		}
		out[what] = n
	}
	if _, ok := out["call"]; !ok {
		b.Fatalf("%s has no call: %s", path, raw)
	}
	return out
}

package apifytest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSystemInfoFigures checks the figures of systemInfo events from a
// sequence of measurements: CPU usage from the CPU time consumed between
// two, averages and maxima over the run, and a process that restarts.
func TestSystemInfoFigures(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := newEventHub()
	steps := []struct {
		u    ProcessUsage
		ok   bool
		at   time.Time
		want systemInfo
	}{
		{ProcessUsage{100, 2 * time.Second}, true, t0,
			systemInfo{MemAvgBytes: 100, MemCurrentBytes: 100, MemMaxBytes: 100}},
		{ProcessUsage{300, 2500 * time.Millisecond}, true, t0.Add(time.Second), // half a core
			systemInfo{MemAvgBytes: 200, MemCurrentBytes: 300, MemMaxBytes: 300, CPUAvgUsage: 25, CPUMaxUsage: 50, CPUCurrentUsage: 50, IsCPUOverloaded: true}},
		{ProcessUsage{}, false, t0.Add(2 * time.Second), // no process
			systemInfo{MemAvgBytes: 400.0 / 3, MemCurrentBytes: 0, MemMaxBytes: 300, CPUAvgUsage: 50.0 / 3, CPUMaxUsage: 50}},
		{ProcessUsage{50, 100 * time.Millisecond}, true, t0.Add(3 * time.Second), // a new process
			systemInfo{MemAvgBytes: 450.0 / 4, MemCurrentBytes: 50, MemMaxBytes: 300, CPUAvgUsage: 50.0 / 4, CPUMaxUsage: 50}},
		{ProcessUsage{50, 200 * time.Millisecond}, true, t0.Add(4 * time.Second), // a tenth of a core
			systemInfo{MemAvgBytes: 500.0 / 5, MemCurrentBytes: 50, MemMaxBytes: 300, CPUAvgUsage: 60.0 / 5, CPUMaxUsage: 50, CPUCurrentUsage: 10}},
	}
	for i, st := range steps {
		got := h.sampleLocked(st.u, st.ok, st.at, 1024) // a quarter of a core
		got.CreatedAt = ""
		if diff := cmp.Diff(st.want, got, cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })); diff != "" {
			t.Errorf("step %d (-want +got):\n%s", i, diff)
		}
	}
}

// Package procstat measures what a process, or a process group, uses — its
// resident memory and the CPU time it has consumed — for the systemInfo
// events of the local platform (package apifytest and apify-local). It reads
// /proc, so it measures only on Linux; elsewhere it returns ErrUnsupported.
package procstat

import (
	"errors"
	"time"
)

// ErrUnsupported is returned where /proc cannot be read.
var ErrUnsupported = errors.New("procstat: measuring processes is supported on Linux only")

// Usage is what a process (or a group of them) uses at one moment.
type Usage struct {
	// MemoryBytes is the resident set size: the memory it occupies now.
	MemoryBytes int64
	// CPUTime is the CPU time (user and system) it has consumed since it
	// started.
	CPUTime time.Duration
}

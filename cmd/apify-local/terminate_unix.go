//go:build !windows

package main

import (
	"os"
	"syscall"
)

// terminate asks the process to stop, with SIGTERM as the platform does.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

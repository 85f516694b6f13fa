package main

import (
	"errors"
	"os"
	"os/exec"
)

// startInGroup does nothing: Windows has no process groups to signal.
func startInGroup(*exec.Cmd) {}

// terminate stops the process; Windows has no SIGTERM to send.
func terminate(p *os.Process) error { return kill(p) }

// kill kills the process; one that has already ended is no error.
func kill(p *os.Process) error {
	if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

//go:build unix

package main

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// startInGroup makes the command the leader of a process group of its own,
// so that the signals that stop a run reach every process it starts
// (through go run, sh -c, npm start ...). The group is not the terminal's
// foreground group: a command reading a terminal's stdin is stopped.
func startInGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// terminate asks the process group of p to stop, with SIGTERM as the
// platform does.
func terminate(p *os.Process) error { return signalGroup(p, syscall.SIGTERM) }

// kill kills the process group of p; a group with no process left is no
// error.
func kill(p *os.Process) error { return signalGroup(p, syscall.SIGKILL) }

func signalGroup(p *os.Process, sig syscall.Signal) error {
	err := syscall.Kill(-p.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

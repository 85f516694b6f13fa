package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-apify/actor/apifytest"
)

// startFailedCode is COMMAND's exit code when it cannot be started, as in
// shells.
const startFailedCode = 127

// commandError is COMMAND's failure with the exit code it records.
type commandError struct {
	code int
	err  error
}

func (e *commandError) Error() string { return e.err.Error() }
func (e *commandError) Unwrap() error { return e.err }
func (e *commandError) ExitCode() int { return e.code }

// running holds the processes of the commands running, whose groups
// killRunning kills.
var running sync.Map // *os.Process → the command's name

// killRunning kills the process group of every command running: it is
// apify-local's last act when a second signal ends it at once, since a
// command's own group does not get the terminal's signals.
func killRunning() {
	running.Range(func(p, _ any) bool {
		_ = kill(p.(*os.Process))
		return true
	})
}

// execute runs the command with env in a process group of its own until it
// exits or ctx ends; pid holds its process ID while it runs. When ctx ends,
// the group gets SIGTERM, and SIGKILL if the command is still running after
// grace; when ctx ends for a restart (its cause is apifytest.ErrRestarting:
// a migration's grace is over, a reboot, a metamorph), the group is killed
// at once, as the platform kills the container. When the command exits, whatever
// it left running in its group is killed, as the platform's container stops
// with its main process; output that such leftovers hold open gets at most
// grace (100 ms at least) to drain when stdout or stderr is not a file.
//
// It returns the exit code as a shell reports it (128+N for signal N), and
// the error that ends the run: nil for exit code 0 on its own; one carrying
// the exit code for any other exit, and for any exit after ctx ended (so
// that a clean exit after SIGTERM is recorded as exit code 0 of a run that
// timed out or was aborted); one wrapping apifytest.ErrAborted when a signal
// that apify-local did not send ended it.
func execute(ctx context.Context, command, env []string, grace time.Duration, pid *atomic.Int64, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.WaitDelay = max(grace, 100*time.Millisecond)
	startInGroup(cmd)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "apify-local: cannot run %s: %v\n", command[0], err)
		return startFailedCode, &commandError{startFailedCode, err}
	}
	running.Store(cmd.Process, command[0])
	defer running.Delete(cmd.Process)
	pid.Store(int64(cmd.Process.Pid))
	defer pid.Store(0)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var err error
	stopped := false
	select {
	case err = <-waited:
	case <-ctx.Done():
		stopped = true
		if errors.Is(context.Cause(ctx), apifytest.ErrRestarting) {
			if e := kill(cmd.Process); e != nil {
				fmt.Fprintf(stderr, "apify-local: SIGKILL to %s: %v\n", command[0], e)
			}
			err = <-waited
			break
		}
		if e := terminate(cmd.Process); e != nil {
			fmt.Fprintf(stderr, "apify-local: SIGTERM to %s: %v\n", command[0], e)
		}
		timer := time.NewTimer(grace)
		select {
		case err = <-waited:
		case <-timer.C:
			if e := kill(cmd.Process); e != nil {
				fmt.Fprintf(stderr, "apify-local: SIGKILL to %s: %v\n", command[0], e)
			}
			err = <-waited
		}
		timer.Stop()
	}
	if e := kill(cmd.Process); e != nil {
		fmt.Fprintf(stderr, "apify-local: killing what %s left running: %v\n", command[0], e)
	}

	st := cmd.ProcessState
	if st == nil { // Wait failed before it learnt how the process ended
		return 1, &commandError{1, fmt.Errorf("waiting for %s: %w", command[0], err)}
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code := 128 + int(ws.Signal())
		err := &commandError{code, fmt.Errorf("%s was ended by signal %v", command[0], ws.Signal())}
		if !stopped {
			return code, fmt.Errorf("%w: %w", apifytest.ErrAborted, err)
		}
		return code, err
	}
	code := st.ExitCode()
	if code == 0 && !stopped {
		return 0, nil
	}
	return code, &commandError{code, fmt.Errorf("%s exited with code %d", command[0], code)}
}

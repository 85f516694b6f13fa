package actor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-apify/actor/client"
)

// ErrRestartInProgress is matched by the error of [Actor.Reboot] or
// [Actor.Metamorph] called while one of them is already under way, such as
// a Reboot from a Migrating handler that the first Reboot runs (which
// looped for ever in the JS SDK, apify-sdk-js #345).
var ErrRestartInProgress = errors.New("actor: a reboot or metamorph of this run is already in progress")

// ErrNotStopped is matched by the error of [Actor.Reboot] or
// [Actor.Metamorph] when the platform accepted the restart but the process
// was still running after APIFY_METAMORPH_AFTER_SLEEP_MILLIS.
var ErrNotStopped = errors.New("actor: the platform accepted the restart but did not stop the process")

// DefaultRestartWait is how long the process waits to be stopped after a
// restart when APIFY_METAMORPH_AFTER_SLEEP_MILLIS is not set, as in the
// official SDKs.
const DefaultRestartWait = 5 * time.Minute

// MetamorphOptions configure [Actor.Metamorph]: the target's build and the
// input's content type.
type MetamorphOptions = client.MetamorphOptions

// restarts is an Actor's state of reboots and metamorphs.
type restarts struct {
	mu       sync.Mutex
	active   bool // a Reboot or Metamorph is under way or was accepted
	accepted bool // the platform accepted one: the process is to be stopped
	waited   bool // the process already waited to be stopped
}

// Reboot restarts the run's container, as a migration does: same run ID,
// same storages, a new process. It first runs the [PersistState] (with
// IsMigrating) and [Migrating] handlers directly and waits for them, then
// asks the platform. When the platform accepts, Reboot waits to be stopped
// and returns only when ctx ends (with its cause) or, if the process is
// still alive after APIFY_METAMORPH_AFTER_SLEEP_MILLIS (five minutes by
// default), with an error matching [ErrNotStopped]. When the request fails,
// Reboot returns its error and may be called again.
//
// A call while a Reboot or Metamorph is under way returns at once with an
// error matching [ErrRestartInProgress]. Off the platform Reboot logs a
// warning and returns nil: there is nothing to restart. Once a restart was
// accepted, Exit never ends the process with exit code 0.
func (a *Actor) Reboot(ctx context.Context) error {
	return a.restart(ctx, "reboot", func(ctx context.Context, c *client.Client, runID string) error {
		_, err := c.RebootRun(ctx, runID)
		return err
	})
}

// Metamorph turns the run into a run of the Actor targetActorID (an ID or
// "username/actor-name") with input, keeping the run ID and storages: the
// platform stores input as the record INPUT-METAMORPH-1 of the default
// key-value store and starts the target with ACTOR_INPUT_KEY naming it.
// input is encoded as for [Actor.Start]. The handlers, the waiting and the
// errors are as for [Actor.Reboot].
func (a *Actor) Metamorph(ctx context.Context, targetActorID string, input any, o MetamorphOptions) error {
	if strings.TrimSpace(targetActorID) == "" {
		return errors.New("actor: metamorph: the target Actor ID is empty")
	}
	return a.restart(ctx, "metamorph", func(ctx context.Context, c *client.Client, runID string) error {
		_, err := c.MetamorphRun(ctx, runID, targetActorID, input, o)
		return err
	})
}

func (a *Actor) restart(ctx context.Context, what string, call func(context.Context, *client.Client, string) error) error {
	c, env, err := a.ready(ctx)
	if err != nil {
		return err
	}
	if !env.IsAtHome {
		a.log().WarnContext(ctx, "nothing to restart: "+what+" works only on the Apify platform")
		return nil
	}
	if env.RunID == "" {
		return fmt.Errorf("actor: %s: %w", what, ErrNoRunID)
	}
	a.rs.mu.Lock()
	busy := a.rs.active
	a.rs.active = true
	a.rs.mu.Unlock()
	if busy {
		return fmt.Errorf("actor: %s: %w", what, ErrRestartInProgress)
	}

	hctx, cancel := context.WithTimeout(ctx, DefaultExitTimeout)
	a.ev.callDirectly(hctx, a.log(), PersistState{CreatedAt: time.Now(), IsMigrating: true}, Migrating{CreatedAt: time.Now()})
	cancel()

	done := a.track()
	err = call(ctx, c, env.RunID)
	done()
	a.rs.mu.Lock()
	a.rs.active = err == nil
	a.rs.accepted = a.rs.accepted || err == nil
	a.rs.mu.Unlock()
	if err != nil {
		return fmt.Errorf("actor: %s: %w", what, err)
	}
	wait := a.restartWait(ctx)
	a.log().InfoContext(ctx, "the platform accepted the "+what+"; waiting for it to stop the process", "wait", wait)
	if !sleepCtx(ctx, wait) {
		return fmt.Errorf("actor: %s: waiting to be stopped: %w", what, context.Cause(ctx))
	}
	a.rs.mu.Lock()
	a.rs.waited = true
	a.rs.mu.Unlock()
	return fmt.Errorf("actor: %s: %w within %v", what, ErrNotStopped, wait)
}

func (a *Actor) restartWait(ctx context.Context) time.Duration {
	return a.millisVar(ctx, "APIFY_METAMORPH_AFTER_SLEEP_MILLIS", DefaultRestartWait)
}

// awaitRestart is Exit's part in restarts. When a migration is on or a
// restart was accepted, the run goes on in another process, so this one
// must not end it: it saves nothing more (closeEvents did), on a migration
// asks the platform to reboot at once (as the JS SDK does, to cut the wait
// for the kill), waits to be stopped, and if still alive makes the exit
// code non-zero, since exit code 0 would end the run as SUCCEEDED. It
// reports whether a restart is on, in which case Exit sets no final status
// message.
func (a *Actor) awaitRestart(ctx context.Context, opts *ExitOptions) bool {
	migrating := a.ev.isMigrating()
	a.rs.mu.Lock()
	accepted, waited := a.rs.accepted, a.rs.waited
	busy := a.rs.active
	if migrating && !busy {
		a.rs.active = true
	}
	a.rs.mu.Unlock()
	if !migrating && !accepted {
		return false
	}
	if migrating && !busy {
		// A reboot hastens the migration: the platform restarts the run now
		// instead of when it kills the container.
		c, env, err := a.ready(ctx)
		if err == nil && env.IsAtHome && env.RunID != "" {
			_, err = c.RebootRun(ctx, env.RunID)
		}
		if err != nil {
			a.log().WarnContext(ctx, "cannot reboot to hasten the migration; waiting for the platform to stop the process", "error", err)
		}
	}
	if !waited {
		wait := a.restartWait(ctx)
		a.log().InfoContext(ctx, "the run is restarting; waiting for the platform to stop the process", "wait", wait)
		sleepCtx(context.Background(), wait)
	}
	if opts.ExitCode == 0 {
		opts.ExitCode = 1
	}
	a.log().ErrorContext(ctx, "the run is restarting but the process was not stopped; exiting with a non-zero code so that the run does not end as succeeded",
		"exitCode", opts.ExitCode)
	return true
}

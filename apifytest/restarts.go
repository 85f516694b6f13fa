package apifytest

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/go-apify/actor/client"
)

// Restarts of a run in place: migration, reboot and metamorph start its
// process again with the same run ID and storages while it stays RUNNING;
// a resurrection starts it again after it ended (see the package
// documentation).

// ErrRestarting is the cause (context.Cause) of the cancellation of an
// ActorFunc's context by a migration, a reboot or a metamorph: the function
// is called again once it has returned.
var ErrRestarting = errors.New("apifytest: the run is restarting")

// RestartKind says what restarted a run.
type RestartKind string

// The kinds of restart.
const (
	RestartMigration    RestartKind = "migration"
	RestartReboot       RestartKind = "reboot"
	RestartMetamorph    RestartKind = "metamorph"
	RestartResurrection RestartKind = "resurrection"
)

// Restart is why an ActorFunc is called again for the same run.
type Restart struct {
	Kind RestartKind
	// Count is the run's stats.restartCount after this restart (its
	// stats.resurrectCount for a resurrection).
	Count int
}

type restartCtxKey struct{}

// RestartOf returns the restart an ActorFunc's ctx was called for, and
// false for the first call of a run.
func RestartOf(ctx context.Context) (Restart, bool) {
	r, ok := ctx.Value(restartCtxKey{}).(Restart)
	return r, ok
}

// execution is one call of a run's ActorFunc.
type execution struct {
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when the function has returned
}

// restartRec is a restart under way: from the request until the process
// has been started again, or the run has ended instead.
type restartRec struct {
	kind RestartKind
	// killed: the function's context has been cancelled; whatever it
	// returns, it is called again.
	killed   bool
	actor    *actorRec // what runs next (a metamorph's target); nil: the same
	inputKey string    // the input key with actor
	over     chan struct{}
}

// startExecLocked calls run r's Actor function, if it has one, in a
// goroutine of its own; why is nil for the first call.
func (s *Server) startExecLocked(r *runRec, why *Restart) {
	fn := r.actor.fn
	if fn == nil || s.closed {
		return
	}
	ctx, cancel := context.WithCancelCause(s.ctx)
	if why != nil {
		ctx = context.WithValue(ctx, restartCtxKey{}, *why)
	}
	e := &execution{cancel: cancel, done: make(chan struct{})}
	r.exec = e
	env := r.envLocked(s.URL)
	var input []byte // nil for no (or empty) input
	if kv, ok := s.storages[r.run.DefaultKeyValueStoreID]; ok {
		input = append([]byte(nil), kv.records[r.inputKey].value...)
	}
	s.bg.Add(1)
	go s.execute(r, e, fn, ctx, env, input)
}

// restartAfterLocked restarts run r, whose function has returned err, if a
// restart is under way, and reports whether it did. As on the platform, a
// process that ends with exit code 0 during a migration, before it is
// killed, ends the run as SUCCEEDED instead: its remaining work is lost.
func (s *Server) restartAfterLocked(r *runRec, err error) bool {
	rs := r.restart
	switch {
	case rs == nil:
		return false
	case r.run.Status != client.StatusRunning || s.closed,
		rs.kind == RestartMigration && !rs.killed && err == nil:
		s.endRestartLocked(r)
		return false
	}
	s.restartLocked(r, rs)
	return true
}

// restartLocked starts run r's process again for restart rs.
func (s *Server) restartLocked(r *runRec, rs *restartRec) {
	r.restart = nil
	r.run.Stats.RestartCount++
	if rs.actor != nil {
		r.actor, r.inputKey = rs.actor, rs.inputKey
	}
	s.closeEventsLocked(r, websocket.StatusServiceRestart, "the Actor run is restarting")
	s.startExecLocked(r, &Restart{Kind: rs.kind, Count: r.run.Stats.RestartCount})
	close(rs.over)
	s.log.Info("apifytest: run restarted", "run", r.run.ID, "after", rs.kind, "restartCount", r.run.Stats.RestartCount)
}

// endRestartLocked gives up the restart under way, if any: the run ended.
func (s *Server) endRestartLocked(r *runRec) {
	if rs := r.restart; rs != nil {
		r.restart = nil
		close(rs.over)
	}
}

// killAfter waits grace, and for a notice to be written, and then calls
// kill under the server's lock, unless e returns first.
func (s *Server) killAfter(e *execution, grace time.Duration, written <-chan struct{}, kill func()) {
	defer s.bg.Done()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-e.done:
		return
	case <-s.ctx.Done():
		return
	case <-t.C:
	}
	select {
	case <-e.done:
		return
	case <-s.ctx.Done():
		return
	case <-written:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	kill()
}

// restartableLocked returns why run r cannot be migrated, rebooted or
// metamorphed now, or nil.
func (s *Server) restartableLocked(r *runRec, what string) *Error {
	switch {
	case s.closed:
		return &Error{StatusCode: http.StatusServiceUnavailable, Type: typeServerError, Message: "the server is closed"}
	case r.run.Status.IsTerminal():
		return &Error{StatusCode: http.StatusBadRequest, Type: typeRunFinished,
			Message: "Actor run " + r.run.ID + " has already finished with status " + string(r.run.Status) + ": only a RUNNING run can be " + what}
	case r.run.Status != client.StatusRunning:
		return &Error{StatusCode: http.StatusBadRequest, Type: typeRunNotRunning,
			Message: "Actor run " + r.run.ID + " is " + string(r.run.Status) + ": only a RUNNING run can be " + what}
	case r.restart != nil:
		return &Error{StatusCode: http.StatusConflict, Type: typeRunRestarting,
			Message: "Actor run " + r.run.ID + " is restarting after a " + string(r.restart.kind) + ": wait until its process has started again"}
	}
	return nil
}

// MigrateRun migrates run runID as the platform moves a run to another
// server: it sends the run's events connections a migrating event, waits
// up to the migration grace (see WithMigrationGrace) for the Actor's
// function to return, then cancels its context with ErrRestarting and,
// once it has returned, calls it again: same run ID, storages and
// environment; the run stays RUNNING and its stats.migrationCount and
// stats.restartCount go up. A function that returns nil before its context
// is cancelled ends the run SUCCEEDED instead, as a process exiting with 0
// does on the platform. A run without a function is restarted at once.
//
// MigrateRun returns the run when the migration is over: the function has
// been called again, or the run has ended. A run that is not RUNNING, or is
// restarting already, is an *Error.
func (s *Server) MigrateRun(ctx context.Context, runID string) (*client.Run, error) {
	r, over, e := s.migrate(nil, runID)
	if e != nil {
		return nil, e
	}
	if err := s.waitFor(ctx, over); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	run := copyRun(r.run)
	return &run, nil
}

// migrate starts a migration of run id of u (of any user if u is nil) and
// returns the run and a channel closed when the migration is over.
func (s *Server) migrate(u *user, id string) (*runRec, <-chan struct{}, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok || (u != nil && r.owner != u) {
		return nil, nil, notFound("Actor run")
	}
	if e := s.restartableLocked(r, "migrated"); e != nil {
		return nil, nil, e
	}
	rs := &restartRec{kind: RestartMigration, over: make(chan struct{})}
	r.restart = rs
	r.run.Stats.MigrationCount++
	grace := s.cfg.migrationGrace
	written := s.emitLocked(r, eventMigrating, map[string]float64{"timeRemainingSecs": grace.Seconds()})
	s.log.Info("apifytest: run migrating", "run", r.run.ID, "grace", grace)
	e := r.exec
	if e == nil {
		s.restartLocked(r, rs)
		return r, rs.over, nil
	}
	s.bg.Add(1)
	go s.killAfter(e, grace, written, func() {
		if r.restart == rs && r.exec == e {
			rs.killed = true
			e.cancel(ErrRestarting)
		}
	})
	return r, rs.over, nil
}

// rebootLocked reboots run r: its process is stopped at once and started
// again. During a migration it hastens the migration, as the SDKs do once
// they have saved their state.
func (s *Server) rebootLocked(r *runRec) *Error {
	if rs := r.restart; rs != nil && rs.kind == RestartMigration && !rs.killed && r.run.Status == client.StatusRunning {
		r.run.Stats.RebootCount++
		rs.killed = true
		if r.exec != nil { // a migration without a function is over at once
			r.exec.cancel(ErrRestarting)
		}
		return nil
	}
	if e := s.restartableLocked(r, "rebooted"); e != nil {
		return e
	}
	r.run.Stats.RebootCount++
	s.killForRestartLocked(r, &restartRec{kind: RestartReboot, killed: true, over: make(chan struct{})})
	return nil
}

// killForRestartLocked stops run r's function for restart rs, or restarts
// a run without one at once.
func (s *Server) killForRestartLocked(r *runRec, rs *restartRec) {
	r.restart = rs
	if r.exec == nil {
		s.restartLocked(r, rs)
		return
	}
	s.log.Info("apifytest: run stopping", "run", r.run.ID, "for", rs.kind)
	r.exec.cancel(ErrRestarting)
}

// metamorphLocked turns run r into a run of Actor target with input (of
// content type ct), stored as the next INPUT-METAMORPH-N record.
func (s *Server) metamorphLocked(r *runRec, target *actorRec, build string, input []byte, ct string) *Error {
	if e := s.restartableLocked(r, "metamorphed"); e != nil {
		return e
	}
	if r.exec != nil && target.fn == nil {
		ref := target.id
		if target.name != "" {
			ref = target.name
		}
		return &Error{StatusCode: http.StatusNotImplemented, Type: typeCannotMetamorph,
			Message: "targetActorId: this local platform cannot run Actor " + ref +
				": no Go function is registered for it (apify-local runs only its own COMMAND)"}
	}
	key := "INPUT-METAMORPH-" + strconv.Itoa(len(r.run.Metamorphs)+1)
	if kv, ok := s.storages[r.run.DefaultKeyValueStoreID]; ok && len(input) > 0 {
		if ct == "" {
			ct = "application/json; charset=utf-8"
		}
		kv.records[key] = kvRecord{contentType: ct, value: append([]byte(nil), input...)}
		kv.modified = now()
	}
	if build == "" {
		build = DefaultBuild
	}
	r.run.Metamorphs = append(r.run.Metamorphs, client.RunMetamorph{CreatedAt: now(), ActorID: target.id, BuildID: newID(), InputKey: key})
	r.run.Stats.Metamorph++
	s.log.Info("apifytest: run metamorphing", "run", r.run.ID, "target", target.id, "build", build)
	s.killForRestartLocked(r, &restartRec{kind: RestartMetamorph, killed: true, actor: target, inputKey: key, over: make(chan struct{})})
	return nil
}

// resurrectParams are the options of a resurrection; zero values keep the
// run's.
type resurrectParams struct {
	build   string
	memory  int
	timeout time.Duration // 0: the run's; < 0: none
}

// resurrectLocked makes run r, which has ended, RUNNING again: it fires
// ACTOR.RUN.RESURRECTED, starts its timeout again and calls its function
// again.
func (s *Server) resurrectLocked(r *runRec, p resurrectParams) *Error {
	switch {
	case s.closed:
		return &Error{StatusCode: http.StatusServiceUnavailable, Type: typeServerError, Message: "the server is closed"}
	case !r.run.Status.IsTerminal():
		return &Error{StatusCode: http.StatusBadRequest, Type: typeRunNotFinished,
			Message: "Actor run " + r.run.ID + " is " + string(r.run.Status) + ": only a finished run (SUCCEEDED, FAILED, ABORTED or TIMED-OUT) can be resurrected"}
	}
	if r.retained { // no longer done: the retention must not evict it
		for i, x := range s.done {
			if x.run == r {
				s.done = append(s.done[:i:i], s.done[i+1:]...)
				break
			}
		}
		r.retained = false
	}
	r.done = make(chan struct{})
	s.setStatusLocked(r, client.StatusRunning)
	r.run.FinishedAt, r.run.ExitCode = nil, nil
	r.run.StatusMessage, r.run.IsStatusMessageTerminal = "", false
	if p.build != "" {
		r.run.Options.Build = p.build
	}
	if p.memory > 0 {
		r.run.Options.MemoryMbytes, r.run.Options.DiskMbytes = p.memory, 2*p.memory
	}
	timeout := time.Duration(r.run.Options.TimeoutSecs) * time.Second
	if p.timeout != 0 {
		timeout = p.timeout
		r.run.Options.TimeoutSecs = int((max(timeout, 0) + time.Second - 1) / time.Second)
	}
	if timeout == 0 {
		timeout = -1
	}
	r.run.Stats.ResurrectCount++
	s.chargeStartLocked(r)
	for _, wh := range r.owner.watchers["run:"+r.run.ID] {
		if wh.w.IsAdHoc && s.cfg.refireAfterResurrect {
			wh.fired = false
		}
		s.recountLocked(wh) // counted again while the run is not finished
	}
	s.fireLocked(r, client.EventActorRunResurrected)
	s.armTimerLocked(r, timeout)
	s.startExecLocked(r, &Restart{Kind: RestartResurrection, Count: r.run.Stats.ResurrectCount})
	s.log.Info("apifytest: run resurrected", "run", r.run.ID, "resurrectCount", r.run.Stats.ResurrectCount)
	return nil
}

// abortGracefullyLocked aborts run r as POST /v2/actor-runs/{id}/abort
// with gracefully=true does: the run goes ABORTING and its events
// connections get an aborting event; its function's context is cancelled
// after the graceful abort timeout (see WithGracefulAbortTimeout) unless it
// returns first. A run without a function is ABORTED once the event is
// written (at once without a connection).
func (s *Server) abortGracefullyLocked(r *runRec) {
	if r.run.Status != client.StatusRunning && r.run.Status != client.StatusReady {
		return
	}
	s.setStatusLocked(r, client.StatusAborting)
	s.endRestartLocked(r)
	e := r.exec
	if e == nil && len(r.hub.conns) == 0 || s.closed {
		s.finishLocked(r, client.StatusAborted, nil, "") // no one to tell
		return
	}
	written := s.emitLocked(r, eventAborting, struct{}{})
	s.bg.Add(1)
	if e == nil {
		go func() {
			defer s.bg.Done()
			select {
			case <-written:
			case <-s.ctx.Done():
				return
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if r.run.Status == client.StatusAborting {
				s.finishLocked(r, client.StatusAborted, nil, "")
			}
		}()
		return
	}
	go s.killAfter(e, s.cfg.abortGrace, written, func() {
		if r.exec == e {
			e.cancel(nil)
		}
	})
}

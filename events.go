package actor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// Platform events.
//
// The platform tells a running Actor about its container over a websocket
// (see events_socket.go): [SystemInfo] periodically, [Migrating] before the
// run moves to another server, [Aborting] before a graceful abort stops it,
// and [PersistState] when the state should be saved. The SDK also emits
// PersistState itself every APIFY_PERSIST_STATE_INTERVAL_MILLIS (60 s by
// default), once with IsMigrating set when a migration starts, and once
// more at exit — on or off the platform.
//
// Handlers are registered with [Actor.OnSystemInfo], [Actor.OnMigrating],
// [Actor.OnAborting] and [Actor.OnPersistState]. Each handler has a goroutine
// of its own and a mailbox of one event:
//
//   - A handler sees its events one at a time, in the order they happened;
//     it never runs concurrently with itself (except when Reboot or Metamorph
//     runs it directly, see [Actor.Reboot]).
//   - Different handlers run concurrently, in no set order.
//   - A handler that is still busy when events of its kind arrive gets only
//     the newest of them when it returns (PersistState keeps IsMigrating if
//     any of them had it): events are coalesced, never queued without bound,
//     and a slow handler never holds up the reading of the socket or the
//     other handlers.
//   - The context a handler gets is canceled when the Actor exits (after the
//     final PersistState has been handled or the exit timeout has passed) or
//     when the handler is removed. A handler may call Exit (as the JS SDK
//     does on aborting) with that context; Exit then does not wait for it.
//
// A panic in a handler is recovered and logged.

// SystemInfo is the platform's periodic report on the run's container
// (event systemInfo). Usage figures are fractions of the available CPUs or
// bytes, as the platform sends them.
type SystemInfo struct {
	// CreatedAt is when the platform took the figures.
	CreatedAt time.Time
	// MemAvgBytes, MemCurrentBytes and MemMaxBytes describe the memory used.
	MemAvgBytes, MemCurrentBytes, MemMaxBytes float64
	// CPUAvgUsage, CPUMaxUsage and CPUCurrentUsage describe the CPU used.
	CPUAvgUsage, CPUMaxUsage, CPUCurrentUsage float64
	// IsCPUOverloaded reports that the container uses all the CPU it has.
	IsCPUOverloaded bool
}

// Migrating announces that the platform is about to stop the container and
// start the run again on another server, with the same run ID and storages
// (event migrating). When it arrives, the SDK cancels the context of
// [Actor.Main]'s function and emits [PersistState] with IsMigrating set.
type Migrating struct {
	// CreatedAt is when the platform sent the event.
	CreatedAt time.Time
	// TimeRemaining is how long the container has left, when the platform
	// says (timeRemainingSecs); zero otherwise.
	TimeRemaining time.Duration
}

// Aborting announces a graceful abort: the platform stops the run 30
// seconds later (event aborting). When it arrives, the SDK cancels the
// context of [Actor.Main]'s function.
type Aborting struct {
	// CreatedAt is when the platform sent the event.
	CreatedAt time.Time
}

// PersistState asks every part of the Actor to save its state (event
// persistState), so that a restarted run resumes where this one stopped.
type PersistState struct {
	// CreatedAt is when the event was sent.
	CreatedAt time.Time
	// IsMigrating reports that the run is about to restart: a migration, a
	// reboot or a metamorph.
	IsMigrating bool
}

// ErrMigrating is the cause (see [context.Cause]) of the cancellation of
// Main's context by a [Migrating] event.
var ErrMigrating = errors.New("actor: the platform is migrating the run to another server")

// ErrAborting is the cause (see [context.Cause]) of the cancellation of
// Main's context by an [Aborting] event.
var ErrAborting = errors.New("actor: the run is being aborted")

// DefaultPersistStateInterval is how often the SDK emits [PersistState]
// when APIFY_PERSIST_STATE_INTERVAL_MILLIS is not set.
const DefaultPersistStateInterval = 60 * time.Second

// After an Aborting event, Main waits this long for its function to return
// and bounds Exit so that the process ends before the platform's kill, 30
// seconds after the event.
const (
	abortWorkGrace = 15 * time.Second
	abortExitBound = 25 * time.Second
)

// OnSystemInfo registers h for [SystemInfo] events and returns a function
// that removes it. See the package's notes on events for ordering and
// concurrency.
func (a *Actor) OnSystemInfo(h func(ctx context.Context, e SystemInfo)) (remove func()) {
	return addHandler(a, kindSystemInfo, h)
}

// OnMigrating registers h for [Migrating] events and returns a function
// that removes it. The container is stopped within seconds of the event:
// h should only stop new work; the state is saved on the [PersistState]
// that follows.
func (a *Actor) OnMigrating(h func(ctx context.Context, e Migrating)) (remove func()) {
	return addHandler(a, kindMigrating, h)
}

// OnAborting registers h for [Aborting] events and returns a function that
// removes it.
func (a *Actor) OnAborting(h func(ctx context.Context, e Aborting)) (remove func()) {
	return addHandler(a, kindAborting, h)
}

// OnPersistState registers h for [PersistState] events and returns a
// function that removes it. [UseState] saves its states on these events
// itself.
func (a *Actor) OnPersistState(h func(ctx context.Context, e PersistState)) (remove func()) {
	return addHandler(a, kindPersistState, h)
}

type eventKind uint8

const (
	kindSystemInfo eventKind = iota
	kindMigrating
	kindAborting
	kindPersistState
)

func addHandler[E any](a *Actor, kind eventKind, h func(context.Context, E)) func() {
	if h == nil {
		return func() {}
	}
	return a.ev.add(a, kind, func(ctx context.Context, v any) { h(ctx, v.(E)) })
}

// events is an Actor's event machinery: the handlers, the persistState
// timer, the socket and what the events said about the run.
type events struct {
	mu        sync.Mutex
	ctx       context.Context // of the handlers; canceled by closeEvents
	cancel    context.CancelFunc
	listeners []*listener
	closed    bool

	started     bool
	stopTimer   func()
	stopSocket  func()
	cancelMain  context.CancelCauseFunc // of Main's function, when Main runs
	migrating   bool
	aborting    time.Time     // zero when no abort
	abortedWork chan struct{} // closed abortWorkGrace after an Aborting event
}

// listener is one registered handler with its goroutine and its mailbox of
// one event.
type listener struct {
	kind   eventKind
	call   func(context.Context, any)
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{} // capacity 1
	done   chan struct{} // closed when the goroutine ends

	mu   sync.Mutex
	next any           // the pending event, nil when none
	idle chan struct{} // closed when the mailbox is empty and h returned; nil when idle
}

func (e *events) init() {
	if e.ctx == nil {
		e.ctx, e.cancel = context.WithCancel(context.Background())
		e.abortedWork = make(chan struct{})
	}
}

func (e *events) add(a *Actor, kind eventKind, call func(context.Context, any)) func() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.init()
	if e.closed {
		return func() {}
	}
	l := &listener{kind: kind, call: call, wake: make(chan struct{}, 1), done: make(chan struct{})}
	lctx, cancel := context.WithCancel(e.ctx)
	l.ctx, l.cancel = context.WithValue(lctx, listenerKey{}, l), cancel
	e.listeners = append(e.listeners, l)
	go l.run(a.log())
	return sync.OnceFunc(func() {
		e.mu.Lock()
		for i, x := range e.listeners {
			if x == l {
				e.listeners = append(e.listeners[:i:i], e.listeners[i+1:]...)
				break
			}
		}
		e.mu.Unlock()
		l.cancel()
	})
}

// emit hands v to every handler of its kind without waiting for them.
func (e *events) emit(kind eventKind, v any) {
	for _, l := range e.snapshot(kind) {
		l.enqueue(v)
	}
}

func (e *events) snapshot(kind eventKind) []*listener {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*listener
	for _, l := range e.listeners {
		if l.kind == kind {
			out = append(out, l)
		}
	}
	return out
}

func (l *listener) enqueue(v any) {
	l.mu.Lock()
	if old, ok := l.next.(PersistState); ok {
		p := v.(PersistState)
		p.IsMigrating = p.IsMigrating || old.IsMigrating
		v = p
	}
	l.next = v
	if l.idle == nil {
		l.idle = make(chan struct{})
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *listener) run(log *slog.Logger) {
	defer close(l.done)
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-l.wake:
		}
		for {
			l.mu.Lock()
			v := l.next
			l.next = nil
			if v == nil {
				if l.idle != nil {
					close(l.idle)
					l.idle = nil
				}
				l.mu.Unlock()
				break
			}
			l.mu.Unlock()
			safeCall(l.ctx, log, l.call, v)
		}
	}
}

// listenerKey marks the context a handler gets with its listener, so that
// Exit called from a handler does not wait for that handler to return.
type listenerKey struct{}

// wait waits until the handler has handled what it was given, or ctx ends.
// It does not wait when ctx is the handler's own (Exit from the handler).
func (l *listener) wait(ctx context.Context) {
	if self, _ := ctx.Value(listenerKey{}).(*listener); self == l {
		return
	}
	l.mu.Lock()
	idle := l.idle
	l.mu.Unlock()
	if idle == nil {
		return
	}
	select {
	case <-idle:
	case <-l.done:
	case <-ctx.Done():
	}
}

func safeCall(ctx context.Context, log *slog.Logger, call func(context.Context, any), v any) {
	defer func() {
		if r := recover(); r != nil {
			log.ErrorContext(ctx, "an event handler panicked", "event", fmt.Sprintf("%T", v),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	call(ctx, v)
}

// callDirectly calls the handlers of each event in vs (a PersistState or a
// Migrating) itself, all concurrently, and waits for them or for ctx,
// instead of going through their mailboxes: Reboot and Metamorph use it,
// since emitting and waiting would deadlock when they are called from a
// handler.
func (e *events) callDirectly(ctx context.Context, log *slog.Logger, vs ...any) {
	var wg sync.WaitGroup
	for _, v := range vs {
		kind := kindPersistState
		if _, ok := v.(Migrating); ok {
			kind = kindMigrating
		}
		for _, l := range e.snapshot(kind) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				safeCall(ctx, log, l.call, v)
			}()
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		log.WarnContext(ctx, "event handlers did not return before the restart; going on", "error", context.Cause(ctx))
	}
}

// startEvents begins the persistState timer and, on the platform with an
// events URL, connects the socket. Init calls it with a.mu held.
func (a *Actor) startEvents(ctx context.Context, env Environment) error {
	e := &a.ev
	e.mu.Lock()
	e.init()
	skip := e.started || e.closed
	e.mu.Unlock()
	if skip {
		return nil
	}

	// The timer is in place before the socket is connected, so that a
	// migrating event that comes at once finds it to stop.
	interval := a.persistInterval(ctx)
	stopTimer := make(chan struct{})
	timerDone := make(chan struct{})
	go func() {
		defer close(timerDone)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stopTimer:
				return
			case now := <-t.C:
				e.emit(kindPersistState, PersistState{CreatedAt: now})
			}
		}
	}()
	stop := sync.OnceFunc(func() { close(stopTimer); <-timerDone })
	e.mu.Lock()
	e.stopTimer = stop
	e.mu.Unlock()

	url := a.lookupFirst("ACTOR_EVENTS_WEBSOCKET_URL", "APIFY_ACTOR_EVENTS_WS_URL")
	var stopSocket func()
	if url != "" && env.IsAtHome {
		var err error
		if stopSocket, err = a.connectEvents(ctx, url); err != nil {
			stop()
			e.mu.Lock()
			e.stopTimer = nil
			e.mu.Unlock()
			return err
		}
	} else {
		a.log().DebugContext(ctx, "no platform events: ACTOR_EVENTS_WEBSOCKET_URL is not set or the Actor is not on the platform")
	}
	e.mu.Lock()
	e.started = true
	e.stopSocket = stopSocket
	e.mu.Unlock()
	return nil
}

// lookupFirst returns the first of the variables that is set and not empty.
func (a *Actor) lookupFirst(names ...string) string {
	for _, n := range names {
		if v, ok := a.lookup(n); ok && v != "" {
			return v
		}
	}
	return ""
}

// millisVar reads a duration in milliseconds from the environment; a value
// that is not a non-negative integer is logged and def used.
func (a *Actor) millisVar(ctx context.Context, name string, def time.Duration) time.Duration {
	v := a.lookupFirst(name)
	if v == "" {
		return def
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms < 0 || ms > int64(24*time.Hour/time.Millisecond) {
		a.log().WarnContext(ctx, "ignoring an environment variable that is not a number of milliseconds up to a day",
			"name", name, "value", v, "default", def)
		return def
	}
	return time.Duration(ms) * time.Millisecond
}

func (a *Actor) persistInterval(ctx context.Context) time.Duration {
	d := a.millisVar(ctx, "APIFY_PERSIST_STATE_INTERVAL_MILLIS", DefaultPersistStateInterval)
	if d <= 0 {
		return DefaultPersistStateInterval
	}
	return d
}

// dispatch is the SDK's own reaction to an event from the platform, then
// the handlers'. It never blocks on a handler.
func (a *Actor) dispatch(ctx context.Context, kind eventKind, v any) {
	e := &a.ev
	switch kind {
	case kindMigrating:
		e.mu.Lock()
		first := !e.migrating
		e.migrating = true
		cancelMain, stopTimer := e.cancelMain, e.stopTimer
		e.mu.Unlock()
		a.log().WarnContext(ctx, "the platform is migrating the run; saving the state and stopping the work", "first", first)
		if stopTimer != nil && first {
			go stopTimer() // no persistState of the timer after this one
		}
		if cancelMain != nil {
			cancelMain(ErrMigrating)
		}
		e.emit(kindMigrating, v)
		e.emit(kindPersistState, PersistState{CreatedAt: time.Now(), IsMigrating: true})
	case kindAborting:
		e.mu.Lock()
		first := e.aborting.IsZero()
		if first {
			e.aborting = time.Now()
			time.AfterFunc(abortWorkGrace, func() { close(e.abortedWork) })
		}
		cancelMain := e.cancelMain
		e.mu.Unlock()
		a.log().WarnContext(ctx, "the run is being aborted; stopping the work", "first", first)
		if cancelMain != nil {
			cancelMain(ErrAborting)
		}
		e.emit(kindAborting, v)
	default:
		e.emit(kind, v)
	}
}

// isMigrating reports whether a Migrating event has arrived.
func (e *events) isMigrating() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.migrating
}

// workContext returns the context of Main's function, canceled by
// Migrating and Aborting events with ErrMigrating and ErrAborting as
// causes, and a function releasing it.
func (a *Actor) workContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	e := &a.ev
	e.mu.Lock()
	e.init()
	e.cancelMain = cancel
	switch {
	case e.migrating:
		cancel(ErrMigrating)
	case !e.aborting.IsZero():
		cancel(ErrAborting)
	}
	e.mu.Unlock()
	return ctx, func() {
		e.mu.Lock()
		e.cancelMain = nil
		e.mu.Unlock()
		cancel(nil)
	}
}

// runWork runs Main's function on a goroutine of its own and returns its
// result, or gives up on it abortWorkGrace after an Aborting event, so that
// the run can end before the platform kills it.
func (a *Actor) runWork(ctx context.Context, fn func(context.Context) error) (panicMsg string, err error) {
	type result struct {
		panicMsg string
		err      error
	}
	done := make(chan result, 1)
	go func() {
		m, err := a.call(ctx, fn)
		done <- result{m, err}
	}()
	a.ev.mu.Lock()
	a.ev.init()
	aborted := a.ev.abortedWork
	a.ev.mu.Unlock()
	select {
	case r := <-done:
		return r.panicMsg, r.err
	case <-aborted:
		a.log().ErrorContext(ctx, "the Actor's function did not return after the abort; exiting before the platform kills the run",
			"waited", abortWorkGrace)
		return "", fmt.Errorf("%w: the function did not return within %v", ErrAborting, abortWorkGrace)
	}
}

// explainCancel names the event that canceled Main's context in an error
// that only says "context canceled".
func explainCancel(ctx context.Context, err error) error {
	cause := context.Cause(ctx)
	if (cause == ErrMigrating || cause == ErrAborting) && errors.Is(err, context.Canceled) && !errors.Is(err, cause) {
		return fmt.Errorf("%w: %w", cause, err)
	}
	return err
}

// exitBound shortens ctx so that Exit ends before the platform's kill when
// the run is being aborted.
func (a *Actor) exitBound(ctx context.Context) (context.Context, context.CancelFunc) {
	a.ev.mu.Lock()
	at := a.ev.aborting
	a.ev.mu.Unlock()
	if at.IsZero() {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, at.Add(abortExitBound))
}

// closeEvents ends the event machinery at exit: it stops the timer, emits
// the final PersistState, waits for the handlers (within ctx), saves the
// states, closes the socket and ends the handlers' goroutines.
func (a *Actor) closeEvents(ctx context.Context) {
	e := &a.ev
	e.mu.Lock()
	e.init()
	if e.closed {
		e.mu.Unlock()
		return
	}
	stopTimer, migrating := e.stopTimer, e.migrating
	e.mu.Unlock()
	if stopTimer != nil {
		stopTimer()
	}
	e.emit(kindPersistState, PersistState{CreatedAt: time.Now(), IsMigrating: migrating})
	for _, l := range e.snapshot(kindPersistState) {
		l.wait(ctx)
	}
	a.saveStates(ctx)

	e.mu.Lock()
	e.closed = true
	stopSocket, listeners := e.stopSocket, e.listeners
	e.listeners = nil
	e.mu.Unlock()
	if stopSocket != nil {
		stopSocket()
	}
	for _, l := range listeners {
		l.wait(ctx)
	}
	e.cancel()
}

package actor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-apify/actor/client"
)

// ExitCodePanic is the exit code of a run whose function, given to
// [Actor.Main], panicked (the official SDKs use it for a user function that
// threw).
const ExitCodePanic = 91

// DefaultExitTimeout bounds how long [Actor.Exit] waits for pending requests
// and the final status message when [ExitOptions.Timeout] is zero.
const DefaultExitTimeout = 30 * time.Second

// ErrNoRunID is matched by the error of a call that needs this run's ID on
// the platform when neither ACTOR_RUN_ID nor APIFY_ACTOR_RUN_ID is set.
var ErrNoRunID = errors.New("running on the Apify platform but ACTOR_RUN_ID (or APIFY_ACTOR_RUN_ID) is not set")

// Actor is the SDK's handle on one Actor run: its environment, its API
// client and its lifecycle. The package-level functions use a default Actor;
// [New] makes others, for tests and for more than one instance. Its methods
// are safe for concurrent use.
//
// The zero value is ready to use and behaves like the default Actor: it
// reads the process environment, logs to [slog.Default], exits with
// [os.Exit] and cancels Main's context on SIGINT and SIGTERM.
type Actor struct {
	// Set by New and the options; read-only afterwards. Zero values mean the
	// defaults (see the methods of the same names).
	lookupEnv  func(string) (string, bool)
	exitFunc   func(code int)
	logger     *slog.Logger // nil: slog.Default() at the time of logging
	clientOpts []client.Option
	signals    []os.Signal
	signalsSet bool // WithSignals was given, maybe with no signals

	stor storageState // datasets, key-value stores, request queues (storage.go)

	mu          sync.Mutex
	envLoaded   bool
	env         Environment
	client      *client.Client // given by WithClient or built by Init
	initialized bool
	exited      bool
	lastStatus  string // last message given to SetStatusMessage

	pendingMu sync.Mutex
	pending   int
	idle      chan struct{} // closed when pending drops to zero

	ev events   // platform events (events.go)
	st states   // persisted states (state.go)
	rs restarts // reboots and metamorphs (restart.go)
	cg charging // pay-per-event charging (charging.go)
}

// Option configures an [Actor] made by [New].
type Option func(*Actor)

// WithClient makes the Actor use c instead of building a client from the
// environment; the environment is still read for the run's details.
func WithClient(c *client.Client) Option {
	return func(a *Actor) { a.client = c }
}

// WithClientOptions adds options to those Init builds the client with
// (token, base URL and isAtHome from the environment, the Actor's logger);
// they come last, so they win.
func WithClientOptions(opts ...client.Option) Option {
	return func(a *Actor) { a.clientOpts = append(a.clientOpts, opts...) }
}

// WithLogger makes the Actor log to l. Without it, an Actor made by [New]
// logs nothing, while the default Actor logs to [slog.Default] (stderr at
// Info unless the program configures otherwise) so that the line Init logs
// and the warning of AddWebhook off the platform reach the user.
func WithLogger(l *slog.Logger) Option {
	return func(a *Actor) { a.logger = l }
}

// WithLookupEnv makes the Actor read its environment through lookup instead
// of [os.LookupEnv], which tests use to inject one.
func WithLookupEnv(lookup func(name string) (string, bool)) Option {
	return func(a *Actor) { a.lookupEnv = lookup }
}

// WithEnviron makes the Actor read its environment from env, a list of
// "KEY=value" strings such as [os.Environ], exec.Cmd.Env or the environment
// a local platform gives a run, instead of from the process. When a key
// appears more than once, the last value wins, as in exec.Cmd.
func WithEnviron(env []string) Option {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return WithLookupEnv(func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	})
}

// WithExitFunc makes Exit, Fail and Main call exit instead of [os.Exit], so
// that tests can observe the exit code without the process ending. When
// exit returns, so does Exit.
func WithExitFunc(exit func(code int)) Option {
	return func(a *Actor) { a.exitFunc = exit }
}

// WithSignals sets the signals that cancel the context of Main's function;
// the default is SIGINT and SIGTERM. With no signals Main handles none.
func WithSignals(sigs ...os.Signal) Option {
	return func(a *Actor) { a.signals, a.signalsSet = sigs, true }
}

// New returns an Actor configured by opts. Its zero configuration reads the
// process environment, logs nothing, exits with os.Exit and cancels Main's
// context on SIGINT and SIGTERM.
func New(opts ...Option) *Actor {
	a := &Actor{}
	for _, o := range opts {
		if o != nil {
			o(a)
		}
	}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	return a
}

// lookup reads one environment variable, from the process by default.
func (a *Actor) lookup(name string) (string, bool) {
	if a.lookupEnv == nil {
		return os.LookupEnv(name)
	}
	return a.lookupEnv(name)
}

// exit ends the process, with os.Exit by default.
func (a *Actor) exit(code int) {
	if a.exitFunc == nil {
		os.Exit(code)
	}
	a.exitFunc(code)
}

// defaultSignals are the signals Main handles without WithSignals.
var defaultSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// handledSignals returns the signals that cancel Main's context.
func (a *Actor) handledSignals() []os.Signal {
	if !a.signalsSet {
		return defaultSignals
	}
	return a.signals
}

// Format prints the Actor as actor.Actor{<its Environment>} whatever the
// verb, with the token redacted as [Environment.String] does, so that
// printing or logging an Actor never reveals the token.
func (a *Actor) Format(f fmt.State, _ rune) {
	if a == nil {
		io.WriteString(f, "<nil>")
		return
	}
	a.mu.Lock()
	env := a.env
	a.mu.Unlock()
	fmt.Fprintf(f, "actor.Actor{%s}", env)
}

func (a *Actor) log() *slog.Logger {
	if a.logger == nil {
		return slog.Default()
	}
	return a.logger
}

// Init reads the environment ([Environment]), builds the API client and logs one
// line saying where the Actor runs. A second call logs a warning and does
// nothing. Methods that need the environment or the client call Init
// themselves when it has not been called. Init also starts the platform
// events (see [Actor.OnMigrating]): the SDK's persistState timer, and on the
// platform the events websocket. The error reports a client that cannot be
// built, such as a bad APIFY_API_BASE_URL, or an events websocket that
// cannot be connected to.
func (a *Actor) Init(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.initialized {
		a.log().WarnContext(ctx, "Actor.Init called more than once; ignoring the call")
		return nil
	}
	return a.initLocked(ctx)
}

func (a *Actor) initLocked(ctx context.Context) error {
	env := a.envLocked()
	if a.client == nil {
		opts := []client.Option{
			client.WithToken(env.Token.Reveal()),
			client.WithAtHome(env.IsAtHome),
			client.WithLogger(a.log()),
		}
		if env.APIBaseURL != "" {
			opts = append(opts, client.WithBaseURL(env.APIBaseURL))
		}
		c, err := client.New(append(opts, a.clientOpts...)...)
		if err != nil {
			return fmt.Errorf("actor: init: %w", err)
		}
		a.client = c
	}
	if err := a.startEvents(ctx, env); err != nil {
		return err
	}
	a.initialized = true
	a.log().InfoContext(ctx, "Actor initialized",
		"isAtHome", env.IsAtHome, "actorId", env.ActorID, "runId", env.RunID,
		"apiBaseUrl", a.client.BaseURL(), "goVersion", runtime.Version())
	return nil
}

// ready returns the client and the environment, initializing the Actor
// first when needed.
func (a *Actor) ready(ctx context.Context) (*client.Client, Environment, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.initialized {
		if err := a.initLocked(ctx); err != nil {
			return nil, Environment{}, err
		}
	}
	return a.client, a.env, nil
}

func (a *Actor) envLocked() Environment {
	if !a.envLoaded {
		a.env = readEnv(a.lookup)
		a.envLoaded = true
	}
	return a.env
}

// Env returns the environment of the run, read once, at Init or at the
// first call of Env.
func (a *Actor) Env() Environment {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.envLocked()
}

// IsAtHome reports whether the code runs on the Apify platform.
func (a *Actor) IsAtHome() bool { return a.Env().IsAtHome }

// track counts a request in flight until the returned function is called;
// Exit waits for the count to drop to zero.
func (a *Actor) track() (done func()) {
	a.pendingMu.Lock()
	a.pending++
	a.pendingMu.Unlock()
	return func() {
		a.pendingMu.Lock()
		a.pending--
		if a.pending == 0 && a.idle != nil {
			close(a.idle)
			a.idle = nil
		}
		a.pendingMu.Unlock()
	}
}

// waitIdle waits until no request is in flight or ctx is done, and returns
// how many are still in flight.
func (a *Actor) waitIdle(ctx context.Context) int {
	a.pendingMu.Lock()
	if a.pending == 0 {
		a.pendingMu.Unlock()
		return 0
	}
	if a.idle == nil {
		a.idle = make(chan struct{})
	}
	idle := a.idle
	a.pendingMu.Unlock()
	select {
	case <-idle:
		return 0
	case <-ctx.Done():
		a.pendingMu.Lock()
		defer a.pendingMu.Unlock()
		return a.pending
	}
}

// SetStatusMessage sets the run's status message, shown in the Apify
// Console, and logs it. Off the platform it only logs it. On the platform
// without a run ID it returns an error matching [ErrNoRunID].
func (a *Actor) SetStatusMessage(ctx context.Context, msg string) error {
	return a.setStatusMessage(ctx, client.RunUpdate{StatusMessage: msg})
}

// SetTerminalStatusMessage is [Actor.SetStatusMessage] for the run's final
// status message, which the platform keeps after the run ends. [Actor.Exit]
// sets one itself.
func (a *Actor) SetTerminalStatusMessage(ctx context.Context, msg string) error {
	return a.setStatusMessage(ctx, client.RunUpdate{StatusMessage: msg, IsStatusMessageTerminal: true})
}

func (a *Actor) setStatusMessage(ctx context.Context, u client.RunUpdate) error {
	c, env, err := a.ready(ctx)
	if err != nil {
		return err
	}
	a.log().InfoContext(ctx, "status message", "message", u.StatusMessage, "terminal", u.IsStatusMessageTerminal)
	a.mu.Lock()
	a.lastStatus = u.StatusMessage
	a.mu.Unlock()
	if !env.IsAtHome {
		return nil
	}
	if env.RunID == "" {
		return fmt.Errorf("actor: set status message: %w", ErrNoRunID)
	}
	done := a.track()
	defer done()
	if _, err := c.UpdateRun(ctx, env.RunID, u); err != nil {
		return fmt.Errorf("actor: set status message: %w", err)
	}
	return nil
}

// ExitOptions say how [Actor.Exit] ends the run.
type ExitOptions struct {
	// ExitCode is the process's exit code; 0 is success.
	ExitCode int
	// StatusMessage is the run's final status message. Empty means the last
	// message set with SetStatusMessage, made final, or else
	// "Actor finished with exit code <ExitCode>".
	StatusMessage string
	// Timeout bounds the wait for pending requests and the final status
	// message together; zero means DefaultExitTimeout.
	Timeout time.Duration
}

// Exit ends the run: it emits a last [PersistState] and waits for its
// handlers (which saves the states of [UseState]), waits for the requests
// the Actor has in flight, on the platform sets the final (terminal) status
// message, logs one line and ends the process with opts.ExitCode — through
// the function given to [WithExitFunc], if any, after which Exit returns. opts.Timeout bounds the
// waiting; ctx is not allowed to cut it short (only its values are used),
// because a run whose work was canceled must still end properly. Failures on
// the way are logged and never keep the process alive. Only the first call
// of Exit, Fail or the end of Main does this; later calls log a warning and
// return.
//
// While the run restarts — after a [Migrating] event or an accepted
// [Actor.Reboot] or [Actor.Metamorph] — Exit sets no final status message
// (the run goes on), on a migration asks the platform to reboot at once to
// hasten the restart (as the JS SDK does), and waits to be stopped for up
// to APIFY_METAMORPH_AFTER_SLEEP_MILLIS (five minutes by default); a
// process still alive then exits with opts.ExitCode, or 1 instead of 0.
func (a *Actor) Exit(ctx context.Context, opts ExitOptions) {
	a.mu.Lock()
	already := a.exited
	a.exited = true
	a.mu.Unlock()
	if already {
		a.log().WarnContext(ctx, "Actor.Exit called more than once; ignoring the call", "exitCode", opts.ExitCode)
		return
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultExitTimeout
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	ctx, cancelBound := a.exitBound(ctx)
	defer cancelBound()
	a.closeEvents(ctx)

	if n := a.waitIdle(ctx); n > 0 {
		a.log().WarnContext(ctx, "exiting with requests still pending", "pending", n, "error", ctx.Err())
	}
	restarting := a.awaitRestart(ctx, &opts)
	msg := opts.StatusMessage
	if msg == "" {
		a.mu.Lock()
		msg = a.lastStatus
		a.mu.Unlock()
	}
	if msg == "" {
		msg = fmt.Sprintf("Actor finished with exit code %d", opts.ExitCode)
	}
	if a.Env().IsAtHome && !restarting {
		if err := a.SetTerminalStatusMessage(ctx, msg); err != nil {
			a.log().WarnContext(ctx, "cannot set the final status message", "error", err)
		}
	}
	level := slog.LevelInfo
	if opts.ExitCode != 0 {
		level = slog.LevelError
	}
	a.log().Log(ctx, level, "Exiting Actor", "exitCode", opts.ExitCode, "statusMessage", msg)
	a.closeStorage(ctx)
	a.exit(opts.ExitCode)
}

// Fail ends the run as [Actor.Exit] does, with exit code 1 and err's text as
// the final status message.
func (a *Actor) Fail(ctx context.Context, err error) {
	opts := ExitOptions{ExitCode: 1}
	if err != nil {
		opts.StatusMessage = err.Error()
	}
	a.Exit(ctx, opts)
}

// Main runs fn as the whole Actor: it calls Init, then fn, then Exit with
// exit code 0 when fn returns nil, or Fail with fn's error. A panic in fn
// (on fn's own goroutine) ends the run with [ExitCodePanic] and a status
// message naming the panic. SIGINT and SIGTERM (see [WithSignals]) cancel
// fn's context, with a cause naming the signal; a second signal gets the
// default behaviour and so kills the process.
//
// A [Migrating] event cancels fn's context with [ErrMigrating] as cause,
// and an [Aborting] event with [ErrAborting]. After a migration (or an
// accepted [Actor.Reboot] or [Actor.Metamorph]) the run goes on in another
// process, so whatever fn returns, Exit never ends this one with code 0
// (which would end the run as SUCCEEDED). After an abort, Main waits 15
// seconds at most for fn to return and bounds Exit so that the process
// ends before the platform kills it, 30 seconds after the event.
func (a *Actor) Main(fn func(ctx context.Context) error) {
	ctx, stop := a.signalContext(context.Background())
	defer stop()
	if fn == nil {
		a.Fail(ctx, errors.New("actor: Main: nil function"))
		return
	}
	if err := a.Init(ctx); err != nil {
		a.Fail(ctx, err)
		return
	}
	ctx, release := a.workContext(ctx)
	defer release()
	panicMsg, err := a.runWork(ctx, fn)
	switch {
	case panicMsg != "":
		a.Exit(ctx, ExitOptions{ExitCode: ExitCodePanic, StatusMessage: panicMsg})
	case err != nil:
		var sig *signalError
		if errors.As(context.Cause(ctx), &sig) && errors.Is(err, context.Canceled) && !errors.As(err, &sig) {
			err = fmt.Errorf("%w: %w", sig, err)
		}
		a.Fail(ctx, explainCancel(ctx, err))
	default:
		a.Exit(ctx, ExitOptions{})
	}
}

// call runs fn and returns its error, or the message of its panic.
func (a *Actor) call(ctx context.Context, fn func(context.Context) error) (panicMsg string, err error) {
	defer func() {
		if r := recover(); r != nil {
			panicMsg = fmt.Sprintf("Actor panicked: %v", r)
			a.log().ErrorContext(ctx, panicMsg, "stack", string(debug.Stack()))
		}
	}()
	return "", fn(ctx)
}

// signalError is the cause of the cancellation of Main's context by a signal.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return "received signal " + e.sig.String() }

// signalContext returns a context canceled, with a *signalError cause, on
// the first of the handled signals; stop releases them.
func (a *Actor) signalContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := a.handledSignals()
	if len(sigs) == 0 {
		return ctx, func() { cancel(nil) }
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			signal.Stop(ch)
			a.log().WarnContext(ctx, "received a signal; canceling the Actor's context", "signal", s.String())
			cancel(&signalError{sig: s})
		case <-done:
		}
	}()
	return ctx, sync.OnceFunc(func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	})
}

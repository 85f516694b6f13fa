package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

const runUsage = `Usage: apify-local run [flags] -- COMMAND [ARG...]

Runs COMMAND as a run of an Actor on a local Apify platform: creates the
run, starts COMMAND with the run's environment (APIFY_API_BASE_URL,
APIFY_TOKEN, ACTOR_RUN_ID, APIFY_IS_AT_HOME=1, ...), and ends the run when
COMMAND ends: exit code 0 is SUCCEEDED, any other FAILED, running past
--timeout TIMED-OUT, and a signal (to COMMAND, or to apify-local, which
aborts the run) ABORTED; the exit code recorded is COMMAND's own, 0 for a
clean exit after SIGTERM.

COMMAND runs in a process group of its own: a timeout or an abort sends
the group SIGTERM, then SIGKILL after --grace, and whatever COMMAND leaves
running when it exits is killed, as the platform's container stops with
its main process. A second signal to apify-local ends it at once, and
COMMAND's group with it.

The run's webhooks — those COMMAND adds for its own run, and --webhook
ones — then fire; apify-local waits up to --wait for their deliveries and
prints one line per dispatch to stderr, a URL's password and query values
as xxxxx:

  apify-local: dispatch ACTOR.RUN.SUCCEEDED http://127.0.0.1:8080/hook SUCCEEDED 200 (1 attempt)

COMMAND gets the run's events websocket (ACTOR_EVENTS_WEBSOCKET_URL), as on
the platform: systemInfo every --system-info-interval with the memory and CPU
of COMMAND's process group, migrating on a migration, and aborting on a
graceful abort (POST /v2/actor-runs/{runId}/abort?gracefully=true), after
which COMMAND has --abort-grace to exit before SIGTERM.

--migrate-after migrates the run after that long (again after each restart,
--migrations times in all), and POST /_apifytest/runs/{runId}/migrate (with
the token) does it on demand: migrating is sent, COMMAND has
--migration-grace to exit, its group is then killed, and COMMAND starts
again with the same environment, run ID and storages; the run stays
RUNNING. As on the platform, COMMAND exiting with 0 during the grace ends
the run SUCCEEDED, and it is not started again. POST
/v2/actor-runs/{runId}/reboot restarts COMMAND at once, and resurrecting the
finished run (POST /v2/actor-runs/{runId}/resurrect) while apify-local
still waits for deliveries starts it again; its ad-hoc webhooks that fired
do not fire again unless --refire-after-resurrect. A metamorph to an
Actor bound with --actor runs its command in the same run; to any other it
is answered 501. Each restart is one line on stderr:

  apify-local: run RUN_ID restarted after a migration (restart 1); starting COMMAND again

--actor NAME=COMMAND2 binds another Actor (its ID or username~name) to a
command, for a project of several Actors: each run of it that the API
starts (the SDKs' Actor.call and Actor.start, a client, a webhook's
handler) runs COMMAND2 with that run's own environment, as COMMAND gets
its own, in a process group of its own, ended and restarted as COMMAND
is; it ends when COMMAND2 exits, with the same statuses. After COMMAND's
run ends, apify-local waits for the runs of bound Actors under way (and
those their webhooks start) to end too, printing a line for each, before
it exits. COMMAND2 is one
argument, split into words as a shell would (quotes and backslashes) but
never run by one: for pipes or variables, bind sh -c '...'. --task
NAME=ACTOR[:INPUT_FILE] makes a task's runs runs of a bound Actor, with
INPUT_FILE's JSON object as their input (the fields of an input a run is
started with replace its own). A client that waits for a run of an Actor
that is not bound (nothing would end it) gets a warning on stderr naming
the Actor and the --actor flag to bind it.

Each run's stdout and stderr go to the run's log (GET /v2/logs/{runId},
the last 10 MiB), interleaved in the order apify-local reads them from
the two pipes, and to apify-local's stdout and stderr, the lines of any
run but COMMAND's own after "[NAME] ". Each run gets a free
loopback port for its web server: ACTOR_WEB_SERVER_PORT and
ACTOR_WEB_SERVER_URL (and the legacy APIFY_CONTAINER_PORT and
APIFY_CONTAINER_URL), which is the run's containerUrl: on loopback the URL
reaches the process directly, with no proxy between.

COMMAND's stdin is apify-local's (outside the terminal's foreground
group, COMMAND cannot read a terminal: redirect its stdin); a bound
Actor's is empty. Its stdout and stderr are pipes that apify-local copies
as above; apify-local's own lines go to stderr, prefixed "apify-local:". It
exits with COMMAND's exit code (128+N when a signal N ended it), 1 when the
run ended without one, and 2 for a usage error.

Flags:
`

// runFlags are the flags of apify-local run.
type runFlags struct {
	actorID         string
	input           string
	contentType     string
	timeout         time.Duration
	memory          int
	grace           time.Duration
	wait            time.Duration
	retries         int
	retryBase       time.Duration
	deliveryTimeout time.Duration
	webhooks        stringList
	addr            string
	verbose         bool
	migrateAfter    time.Duration
	migrations      int
	migrationGrace  time.Duration
	abortGrace      time.Duration
	systemInfo      time.Duration
	refire          bool
	pricing         pricingFlag
	actors          bindings
	tasks           taskBindings
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func parseRunFlags(args []string, stderr io.Writer) (runFlags, []string, error) {
	var f runFlags
	fs := flag.NewFlagSet("apify-local run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, runUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.actorID, "actor-id", "local~actor", "the Actor's ID or `username~name`")
	fs.StringVar(&f.input, "input", "", "the run's input: a JSON value, or the path of a file")
	fs.StringVar(&f.contentType, "input-content-type", "", "the input's content type (default application/json, or by the file's extension)")
	fs.DurationVar(&f.timeout, "timeout", apifytest.DefaultRunTimeout, "the run's timeout; 0 means none")
	fs.IntVar(&f.memory, "memory", apifytest.DefaultMemoryMbytes, "the run's memory in megabytes (ACTOR_MEMORY_MBYTES)")
	fs.DurationVar(&f.grace, "grace", 10*time.Second, "how long COMMAND has to exit after SIGTERM before it is killed")
	fs.DurationVar(&f.wait, "wait", 30*time.Second, "how long to wait for webhook deliveries after the run ends")
	fs.IntVar(&f.retries, "retries", apifytest.DefaultDeliveryRetries, "retries of a failed webhook call")
	fs.DurationVar(&f.retryBase, "retry-base", apifytest.DefaultDeliveryBackoff, "delay before the first retry of a webhook call, doubling for each further one")
	fs.DurationVar(&f.deliveryTimeout, "delivery-timeout", apifytest.DefaultDeliveryTimeout, "timeout of one webhook call")
	fs.Var(&f.webhooks, "webhook", "`URL` of an ad-hoc webhook for the run's end (SUCCEEDED, FAILED, TIMED_OUT, ABORTED); repeatable")
	fs.StringVar(&f.addr, "addr", "127.0.0.1:0", "address of the API server")
	fs.BoolVar(&f.verbose, "verbose", false, "log the API server's requests, runs and deliveries to stderr")
	fs.DurationVar(&f.migrateAfter, "migrate-after", 0, "migrate the run after this long, and again after each restart up to --migrations; 0 means never")
	fs.IntVar(&f.migrations, "migrations", 1, "how many times --migrate-after migrates the run")
	fs.DurationVar(&f.migrationGrace, "migration-grace", apifytest.DefaultMigrationGrace, "how long COMMAND has to exit after migrating before its process group is killed")
	fs.DurationVar(&f.abortGrace, "abort-grace", apifytest.DefaultGracefulAbortTimeout, "how long COMMAND has to exit after aborting, on a graceful abort, before SIGTERM")
	fs.BoolVar(&f.refire, "refire-after-resurrect", false, "let the run's ad-hoc webhooks fire again after a resurrection (by default each fires once)")
	fs.DurationVar(&f.systemInfo, "system-info-interval", apifytest.DefaultSystemInfoInterval, "how often COMMAND is sent systemInfo on its events websocket")
	fs.Var(&f.pricing, "pricing", pricingUsage)
	fs.Var(&f.actors, "actor", actorUsage)
	fs.Var(&f.tasks, "task", taskUsage)
	if err := fs.Parse(args); err != nil {
		return f, nil, err
	}
	for _, b := range f.actors {
		if b.name == f.actorID {
			return f, nil, fmt.Errorf("--actor: %s is the Actor of COMMAND (--actor-id): bind another one", b.name)
		}
	}
	for _, w := range f.webhooks {
		if u, err := url.Parse(w); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return f, nil, fmt.Errorf("--webhook: %s is not an absolute http or https URL", redactURL(w))
		}
	}
	switch {
	case f.migrateAfter < 0 || f.migrations < 1:
		return f, nil, fmt.Errorf("--migrate-after must not be negative and --migrations at least 1, not %v and %d", f.migrateAfter, f.migrations)
	case f.migrationGrace < 0 || f.abortGrace < 0 || f.systemInfo <= 0:
		return f, nil, fmt.Errorf("--migration-grace and --abort-grace must not be negative and --system-info-interval must be positive, not %v, %v and %v",
			f.migrationGrace, f.abortGrace, f.systemInfo)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return f, nil, errors.New("no COMMAND given")
	}
	return f, fs.Args(), nil
}

// readInput returns the input that --input gives and its content type: a
// file's contents if a file has that path, else the flag's value, which must
// then be JSON.
func readInput(f runFlags) ([]byte, string, error) {
	if f.input == "" {
		return nil, "", nil
	}
	ct := f.contentType
	if b, err := os.ReadFile(f.input); err == nil {
		if ct == "" {
			ct = contentTypeOf(f.input)
		}
		return b, ct, nil
	}
	if !json.Valid([]byte(f.input)) {
		return nil, "", fmt.Errorf("--input: %q is neither a file nor JSON", f.input)
	}
	if ct == "" {
		ct = "application/json; charset=utf-8"
	}
	return []byte(f.input), ct, nil
}

func contentTypeOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return "application/json; charset=utf-8"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".html", ".htm":
		return "text/html; charset=utf-8"
	case ".xml":
		return "application/xml"
	}
	return "application/octet-stream"
}

// terminalEvents are the events of a --webhook.
var terminalEvents = []client.EventType{
	client.EventActorRunSucceeded, client.EventActorRunFailed, client.EventActorRunTimedOut, client.EventActorRunAborted,
}

func runCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f, command, err := parseRunFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "apify-local: %v\n", err)
		return 2
	}
	input, contentType, err := readInput(f)
	if err != nil {
		fmt.Fprintf(stderr, "apify-local: %v\n", err)
		return 2
	}
	p := newPlatform(f.grace, stdout, stderr)
	p.track = true
	opts := []apifytest.Option{
		apifytest.WithAddr(f.addr),
		apifytest.WithLogger(newLogger(f.verbose, stderr, p)),
		apifytest.WithDeliveryRetries(f.retries),
		apifytest.WithDeliveryBackoff(f.retryBase),
		apifytest.WithDeliveryTimeout(f.deliveryTimeout),
		apifytest.WithMigrationGrace(f.migrationGrace),
		apifytest.WithGracefulAbortTimeout(f.abortGrace),
		apifytest.WithSystemInfoInterval(f.systemInfo),
		apifytest.WithProcessUsage(p.usage),
		apifytest.WithPricing(f.pricing.pricing),
	}
	if f.refire {
		opts = append(opts, apifytest.WithRefireAfterResurrect())
	}
	srv, err := apifytest.NewServer(opts...)
	if err != nil {
		fmt.Fprintf(stderr, "apify-local: %v\n", err)
		return 2
	}
	defer srv.Close()
	p.srv.Store(srv)

	own := &ownRun{stdin: stdin, started: make(chan struct{})}
	if err := p.bind(f.actors, f.tasks); err != nil {
		fmt.Fprintf(stderr, "apify-local: %v\n", err)
		return 2
	}
	srv.RegisterActor(f.actorID, p.actorFunc(f.actorID, command, own))
	var hooks []client.WebhookDefinition
	for _, u := range f.webhooks {
		hooks = append(hooks, client.WebhookDefinition{EventTypes: terminalEvents, RequestURL: u})
	}
	timeout := f.timeout
	if timeout <= 0 {
		timeout = -1
	}
	run, err := srv.StartRun(ctx, f.actorID, input, client.StartOptions{
		ContentType: contentType, Webhooks: hooks, Timeout: timeout, MemoryMbytes: f.memory,
	})
	if err == nil {
		own.id = run.ID
	}
	close(own.started)
	if err != nil {
		fmt.Fprintf(stderr, "apify-local: cannot start the run: %v\n", err)
		return 2
	}
	if f.verbose {
		fmt.Fprintf(stderr, "apify-local: run %s of Actor %s started; API at %s\n", run.ID, run.ActID, srv.URL)
	}

	migrating := migrateEvery(ctx, srv, run.ID, f, stderr)
	defer migrating()

	printed := map[string]bool{} // the dispatches printed
	for {
		end := waitForRun(ctx, srv, run.ID, stderr)
		fmt.Fprintf(stderr, "apify-local: run %s %s (exit code %s)\n", end.ID, end.Status, exitCodeText(end.ExitCode))

		// The runs of bound Actors that COMMAND (or a webhook) started and
		// their deliveries, which may start more, end before apify-local.
		var idleErr error
		for {
			p.waitBound(ctx)
			waitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.wait)
			idleErr = srv.WaitIdle(waitCtx)
			cancel()
			if idleErr != nil || ctx.Err() != nil || !p.pending() {
				break
			}
		}
		for _, d := range srv.Dispatches() { // of COMMAND's run, and of the runs it started
			if d.Status != client.DispatchActive && !printed[d.ID] {
				printed[d.ID] = true
				fmt.Fprintln(stderr, "apify-local: "+dispatchLine(d))
			}
		}
		// A resurrection while the deliveries were awaited (by a webhook
		// receiver, say) runs COMMAND again: wait for that run too (it
		// may have ended already).
		if now, ok := srv.Run(run.ID); ok && now.Stats.ResurrectCount > end.Stats.ResurrectCount && ctx.Err() == nil {
			continue
		}
		if idleErr != nil {
			for _, d := range srv.Dispatches() {
				if !printed[d.ID] {
					fmt.Fprintln(stderr, "apify-local: "+dispatchLine(d))
				}
			}
			fmt.Fprintf(stderr, "apify-local: stopped waiting for deliveries after %v; ACTIVE dispatches will not be retried\n", f.wait)
		}
		code := int(own.exit.Load())
		if len(end.Metamorphs) > 0 { // a bound Actor's command ended the run
			code = 1
			if end.ExitCode != nil {
				code = *end.ExitCode
			}
		}
		if code < 0 {
			code = 1
		}
		return code
	}
}

// migrateEvery migrates run runID after f.migrateAfter, and again after
// each restart, f.migrations times in all, until the run ends or ctx does.
// The function it returns stops it and waits for it.
func migrateEvery(ctx context.Context, srv *apifytest.Server, runID string, f runFlags, stderr io.Writer) (stop func()) {
	if f.migrateAfter <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range f.migrations {
			t := time.NewTimer(f.migrateAfter)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			if _, err := srv.MigrateRun(ctx, runID); err != nil {
				if !errors.Is(err, apifytest.ErrRunFinished) && ctx.Err() == nil {
					fmt.Fprintf(stderr, "apify-local: cannot migrate run %s: %v\n", runID, err)
				}
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

// restartLine describes a restart of the run in one line.
func restartLine(runID string, why apifytest.Restart, command string) string {
	if why.Kind == apifytest.RestartResurrection {
		return fmt.Sprintf("run %s resurrected (resurrection %d); starting %s again", runID, why.Count, command)
	}
	return fmt.Sprintf("run %s restarted after a %s (restart %d); starting %s again", runID, why.Kind, why.Count, command)
}

// envValue returns the value of name in env.
func envValue(env []string, name string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// waitForRun waits for the run to end; on a signal to apify-local (ctx
// done) it aborts the run first.
func waitForRun(ctx context.Context, srv *apifytest.Server, runID string, stderr io.Writer) *client.Run {
	end, err := srv.WaitRun(ctx, runID)
	if err == nil {
		return end
	}
	fmt.Fprintf(stderr, "apify-local: interrupted; aborting run %s\n", runID)
	if _, err := srv.AbortRun(runID); err != nil {
		fmt.Fprintf(stderr, "apify-local: abort: %v\n", err)
	}
	end, err = srv.WaitRun(context.Background(), runID)
	if err != nil { // only if the server closed, which it does not before we return
		run, _ := srv.Run(runID)
		return run
	}
	return end
}

// redacted stands in for a secret part of a printed URL.
const redacted = "xxxxx"

// redactURL returns rawURL fit to print: the password of its userinfo and
// the values of its query, where receivers keep their secrets, are
// replaced by xxxxx (a query parameter without a value entirely).
func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(a URL that cannot be parsed)"
	}
	if u.RawQuery != "" {
		params := strings.Split(u.RawQuery, "&")
		for i, p := range params {
			if key, _, ok := strings.Cut(p, "="); ok {
				params[i] = key + "=" + redacted
			} else if p != "" {
				params[i] = redacted
			}
		}
		u.RawQuery = strings.Join(params, "&")
	}
	return u.Redacted()
}

func exitCodeText(code *int) string {
	if code == nil {
		return "none"
	}
	return fmt.Sprint(*code)
}

// dispatchLine describes a dispatch in one line: event, URL (redacted),
// status, the last response or error, and the number of attempts.
func dispatchLine(d client.WebhookDispatch) string {
	target := ""
	if d.Webhook != nil {
		target = redactURL(d.Webhook.RequestURL)
	}
	last := ""
	if n := len(d.Calls); n > 0 {
		c := d.Calls[n-1]
		if c.ErrorMessage != "" && c.ResponseStatus == 0 {
			last = " " + c.ErrorMessage
		} else {
			last = fmt.Sprintf(" %d", c.ResponseStatus)
		}
	}
	attempts := "attempts"
	if len(d.Calls) == 1 {
		attempts = "attempt"
	}
	return fmt.Sprintf("dispatch %s %s %s%s (%d %s)", d.EventType, target, d.Status, last, len(d.Calls), attempts)
}

// platformEnvPrefixes name the variables the platform sets: inherited ones
// are dropped so that a stale token or run ID of a real run cannot leak in.
var platformEnvPrefixes = []string{"ACTOR_", "APIFY_ACTOR_", "APIFY_API_", "APIFY_DEFAULT_"}

var platformEnvNames = map[string]bool{
	"APIFY_TOKEN": true, "APIFY_IS_AT_HOME": true, "APIFY_USER_ID": true, "APIFY_INPUT_KEY": true,
	"APIFY_MEMORY_MBYTES": true, "APIFY_STARTED_AT": true, "APIFY_TIMEOUT_AT": true,
	"APIFY_CONTAINER_PORT": true, "APIFY_CONTAINER_URL": true,
}

// mergeEnv returns base without the platform's variables, then run.
func mergeEnv(base, run []string) []string {
	out := make([]string, 0, len(base)+len(run))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		drop := platformEnvNames[name]
		for _, p := range platformEnvPrefixes {
			drop = drop || strings.HasPrefix(name, p)
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return append(out, run...)
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

const serveUsage = `Usage: apify-local serve [flags]

Serves the Apify API (webhooks, webhook dispatches, Actor and task runs,
default storages) on a loopback port until interrupted, and prints to stdout
the environment to export, one "export NAME=value" line each:

  export APIFY_API_BASE_URL=http://127.0.0.1:PORT
  export APIFY_API_PUBLIC_BASE_URL=http://127.0.0.1:PORT
  export APIFY_TOKEN=...
  export APIFY_USER_ID=...

Every Actor and task ID is accepted. A run of an Actor bound with --actor
NAME=COMMAND runs COMMAND, as apify-local run runs its bound Actors (see
"apify-local run -h"), and ends when it exits; its output goes to the run's
log and to stderr (stdout is the list above), each line after "[NAME] ". A
run of any other Actor started through the API stays RUNNING for
--finish-after, then ends with --finish-status (and exit code 0
for SUCCEEDED, else 1), firing its webhooks. Tests end runs sooner, or with
another status, through the control endpoints (they need the token too):

  POST /_apifytest/runs/{runId}/finish   body {"status": "FAILED", "exitCode": 3}
                                         (both optional: SUCCEEDED, and 0 or 1)
  POST /_apifytest/runs/{runId}/abort
  POST /_apifytest/wait-idle?timeout=SECONDS
                                         waits until no webhook dispatch is ACTIVE
                                         (200, or 408 when the timeout passes)
  POST /_apifytest/runs/{runId}/migrate  sends migrating on the run's events websocket
                                         and counts a restart (the run has no process here)
  GET  /_apifytest/runs/{runId}/env      the run's environment, to start a process as the
                                         run: {"ACTOR_RUN_ID": ..., "ACTOR_EVENTS_WEBSOCKET_URL": ...}

The run's events websocket (its URL is in the environment) sends systemInfo
every second and aborting on a graceful abort; reboot, metamorph and
resurrect of a run are served as the platform's API.

Finished runs are remembered up to --retain-runs (and --retain-for); older
ones are forgotten with their storages and dispatches, so a long-lived server
does not grow without bound.

Flags:
`

func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("apify-local serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on (a free loopback port by default)")
	token := fs.String("token", "", "the API token (random by default)")
	userID := fs.String("user-id", "", "the user's ID (random by default)")
	finishAfter := fs.Duration("finish-after", time.Second, "how long a run stays RUNNING before it ends by itself; 0 means until told")
	finishStatus := fs.String("finish-status", string(client.StatusSucceeded), "the status such a run ends with: SUCCEEDED, FAILED, TIMED-OUT or ABORTED")
	retries := fs.Int("retries", apifytest.DefaultDeliveryRetries, "retries of a failed webhook call")
	retryBase := fs.Duration("retry-base", apifytest.DefaultDeliveryBackoff, "delay before the first retry of a webhook call, doubling for each further one")
	deliveryTimeout := fs.Duration("delivery-timeout", apifytest.DefaultDeliveryTimeout, "timeout of one webhook call")
	retainRuns := fs.Int("retain-runs", apifytest.DefaultRetainedRuns, "how many finished runs (with their storages, dispatches and ad-hoc webhooks) the server remembers")
	retainFor := fs.Duration("retain-for", 0, "also forget finished runs older than this; 0 means by count only")
	verbose := fs.Bool("verbose", false, "log requests, runs and deliveries to stderr")
	grace := fs.Duration("grace", 10*time.Second, "how long a bound Actor's COMMAND has to exit after SIGTERM before it is killed")
	var pricing pricingFlag
	fs.Var(&pricing, "pricing", pricingUsage)
	var actors bindings
	fs.Var(&actors, "actor", actorUsage)
	var tasks taskBindings
	fs.Var(&tasks, "task", taskUsage)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "apify-local serve: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if (*token == "") != (*userID == "") {
		fmt.Fprintln(stderr, "apify-local serve: give both --token and --user-id, or neither")
		return 2
	}
	p := newPlatform(*grace, stderr, stderr)
	opts := []apifytest.Option{
		apifytest.WithAddr(*addr),
		apifytest.WithLogger(newLogger(*verbose, stderr, p)),
		apifytest.WithProcessUsage(p.usage),
		apifytest.WithDeliveryRetries(*retries),
		apifytest.WithDeliveryBackoff(*retryBase),
		apifytest.WithDeliveryTimeout(*deliveryTimeout),
		apifytest.WithRetention(*retainRuns, *retainFor),
		apifytest.WithPricing(pricing.pricing),
	}
	if *token != "" {
		opts = append(opts, apifytest.WithDefaultUser(*userID, *token))
	}
	if *retainRuns < 1 || *retainFor < 0 {
		fmt.Fprintf(stderr, "apify-local serve: --retain-runs must be at least 1 and --retain-for not negative, not %d and %v\n", *retainRuns, *retainFor)
		return 2
	}
	status := client.RunStatus(strings.ToUpper(*finishStatus))
	if !status.IsTerminal() {
		fmt.Fprintf(stderr, "apify-local serve: --finish-status: %q is not a terminal run status (SUCCEEDED, FAILED, TIMED-OUT or ABORTED)\n", *finishStatus)
		return 2
	}
	if *finishAfter > 0 {
		opts = append(opts, apifytest.WithAutoFinish(*finishAfter, status))
	}
	srv, err := apifytest.NewServer(opts...)
	if err != nil {
		fmt.Fprintf(stderr, "apify-local serve: %v\n", err)
		return 2
	}
	defer srv.Close()
	p.srv.Store(srv)
	if err := p.bind(actors, tasks); err != nil {
		fmt.Fprintf(stderr, "apify-local serve: %v\n", err)
		return 2
	}
	for _, kv := range srv.Env("") {
		name, value, _ := strings.Cut(kv, "=")
		fmt.Fprintf(stdout, "export %s=%s\n", name, shellQuote(value))
	}
	if *verbose {
		fmt.Fprintf(stderr, "apify-local: serving the Apify API at %s; interrupt to stop\n", srv.URL)
	}
	<-ctx.Done()
	return 0
}

// shellQuote quotes v for a POSIX shell unless it needs no quoting.
func shellQuote(v string) string {
	safe := v != ""
	for _, c := range v {
		safe = safe && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_./:@%+=,~", c))
	}
	if safe {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

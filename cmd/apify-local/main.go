// Command apify-local is a local Apify platform for Actors written in any
// language. It runs the platform's API (package apifytest) on a loopback
// port, so that webhooks an Actor adds for its own run — with this module's
// actor package, the official JS SDK's Actor.addWebhook, or plain API calls —
// are really delivered.
//
// Usage:
//
//	apify-local run [flags] -- COMMAND [ARG...]
//	apify-local serve [flags]
//
// run starts COMMAND as an Actor run and reports the run's webhook
// deliveries; it serves the run's events websocket (systemInfo, migrating,
// aborting) and starts COMMAND again, as the platform does, when the run is
// migrated (--migrate-after, or on demand), rebooted or resurrected. With
// --actor NAME=COMMAND2, a project of several Actors runs: each run of
// Actor NAME that the API starts (Actor.call, a client) runs COMMAND2 as a
// run of its own, its output in the run's log and on the terminal. serve
// runs the API until interrupted, for tests in any language. With --pricing
// FILE the runs of either are pay-per-event (or otherwise priced): Actors
// charge with the SDKs' Actor.charge or this module's actor.Charge, and a
// run whose charges pass its maximum is aborted. "apify-local run -h" and
// "apify-local serve -h" list the flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

const usage = `apify-local is a local Apify platform: it runs Actors and delivers their webhooks.

Usage:
  apify-local run [flags] -- COMMAND [ARG...]   run COMMAND as an Actor run
  apify-local serve [flags]                     serve the API until interrupted

Run "apify-local run -h" or "apify-local serve -h" for the flags of each.
`

func main() {
	// The first SIGINT or SIGTERM ends ctx (apify-local then aborts the run
	// and stops COMMAND); a second one ends apify-local at once, and
	// COMMAND's process group with it.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	var forced atomic.Bool // the second signal ends apify-local
	go func() {
		<-sigs
		cancel()
		sig := <-sigs
		forced.Store(true)
		killRunning()
		code := 1
		if s, ok := sig.(syscall.Signal); ok {
			code = 128 + int(s)
		}
		os.Exit(code)
	}()
	code := runMain(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	if forced.Load() {
		select {} // killRunning ended COMMAND: the signal's exit code wins
	}
	cancel()
	os.Exit(code)
}

// runMain runs the command line args and returns the exit code. ctx ends on
// SIGINT or SIGTERM.
func runMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runCommand(ctx, args[1:], stdin, stdout, stderr)
	case "serve":
		return serveCommand(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "apify-local: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

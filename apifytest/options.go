package apifytest

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-apify/actor/client"
)

// Defaults of a Server's options.
const (
	// DefaultDeliveryRetries is the platform's number of retries of a failed
	// webhook call.
	DefaultDeliveryRetries = 11
	// DefaultDeliveryBackoff is the delay before the first retry, doubling
	// for each further one (a minute on the platform; short here, so that the
	// whole schedule of 11 retries takes under four minutes).
	DefaultDeliveryBackoff = 100 * time.Millisecond
	// DefaultDeliveryTimeout bounds one webhook call (two minutes on the
	// platform; shorter here, so that a receiver that hangs holds up a local
	// run less).
	DefaultDeliveryTimeout = 30 * time.Second
	// DefaultDeliveryWorkers is the number of concurrent webhook calls to
	// one receiver host (host:port): calls mostly wait for receivers, so
	// there are more than cores.
	DefaultDeliveryWorkers = 32
	// DefaultWebhookLimit is the number of webhooks a user may have.
	DefaultWebhookLimit = 1000
	// DefaultRetainedRuns is how many finished runs a Server keeps (see
	// WithRetention).
	DefaultRetainedRuns = 10_000
	// DefaultIdleTimeout is how long a keep-alive connection may wait for
	// its next request before the server closes it.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultBodyTimeout is how long a request may take to send its body;
	// waiting for the response (waitForFinish) is not bounded by it.
	DefaultBodyTimeout = time.Minute
	// DefaultMigrationGrace is how long a run's process has after the
	// migrating event before it is killed (the platform's "few seconds").
	DefaultMigrationGrace = 10 * time.Second
	// DefaultGracefulAbortTimeout is how long a run's process has after
	// the aborting event of a graceful abort before it is stopped, as on
	// the platform.
	DefaultGracefulAbortTimeout = 30 * time.Second
)

// Option configures a Server.
type Option func(*config)

type userSpec struct{ id, token string }

type config struct {
	defaultUser          *userSpec
	users                []userSpec
	retries              int
	backoff              time.Duration
	timeout              time.Duration
	workers              int
	logger               *slog.Logger
	addr                 string
	webhookLimit         int
	autoFinishAfter      time.Duration
	autoFinishAs         client.RunStatus
	autoFinishSet        bool
	retainRuns           int
	retainAge            time.Duration
	idleTimeout          time.Duration
	bodyTimeout          time.Duration
	storageLimit         int64
	systemInfoInterval   time.Duration
	processUsage         func(runID string) (ProcessUsage, bool)
	migrationGrace       time.Duration
	abortGrace           time.Duration
	refireAfterResurrect bool
	pricing              *pricing // WithPricing (charging.go)
	errs                 []error
}

func defaultConfig() config {
	return config{
		retries:            DefaultDeliveryRetries,
		backoff:            DefaultDeliveryBackoff,
		timeout:            DefaultDeliveryTimeout,
		workers:            DefaultDeliveryWorkers,
		logger:             slog.New(slog.DiscardHandler),
		addr:               "127.0.0.1:0",
		webhookLimit:       DefaultWebhookLimit,
		retainRuns:         DefaultRetainedRuns,
		idleTimeout:        DefaultIdleTimeout,
		bodyTimeout:        DefaultBodyTimeout,
		storageLimit:       DefaultStorageLimit,
		systemInfoInterval: DefaultSystemInfoInterval,
		migrationGrace:     DefaultMigrationGrace,
		abortGrace:         DefaultGracefulAbortTimeout,
	}
}

func (c *config) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("apifytest: "+format, args...))
}

// WithUser adds a user with the given ID and token besides the default one,
// for tests of isolation between users.
func WithUser(userID, token string) Option {
	return func(c *config) {
		if userID == "" || token == "" {
			c.fail("WithUser: user ID and token must not be empty")
			return
		}
		c.users = append(c.users, userSpec{userID, token})
	}
}

// WithDefaultUser sets the ID and token of the default user (Server.UserID
// and Server.Token), random by default.
func WithDefaultUser(userID, token string) Option {
	return func(c *config) {
		if userID == "" || token == "" {
			c.fail("WithDefaultUser: user ID and token must not be empty")
			return
		}
		c.defaultUser = &userSpec{userID, token}
	}
}

// WithDeliveryRetries sets how many times a failed webhook call is retried
// (DefaultDeliveryRetries, the platform's 11, by default).
func WithDeliveryRetries(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.fail("WithDeliveryRetries: negative retries %d", n)
			return
		}
		c.retries = n
	}
}

// WithDeliveryBackoff sets the delay before the first retry of a failed
// webhook call; each further retry waits twice as long as the one before.
func WithDeliveryBackoff(base time.Duration) Option {
	return func(c *config) {
		if base <= 0 {
			c.fail("WithDeliveryBackoff: backoff must be positive, not %v", base)
			return
		}
		c.backoff = base
	}
}

// WithDeliveryTimeout bounds each webhook call (DefaultDeliveryTimeout by
// default); a call that takes longer fails and is retried.
func WithDeliveryTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("WithDeliveryTimeout: timeout must be positive, not %v", d)
			return
		}
		c.timeout = d
	}
}

// WithDeliveryWorkers sets how many webhook calls to one receiver host
// (host:port) run at once (DefaultDeliveryWorkers). Each host has a queue
// of its own, so a receiver that hangs delays only the calls to its host.
func WithDeliveryWorkers(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.fail("WithDeliveryWorkers: need at least one worker, not %d", n)
			return
		}
		c.workers = n
	}
}

// WithLogger sets the logger of requests, runs and deliveries; nothing is
// logged by default. Tokens are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithAddr sets the address to listen on (127.0.0.1:0, a free loopback port,
// by default).
func WithAddr(addr string) Option {
	return func(c *config) { c.addr = addr }
}

// WithWebhookLimit sets how many webhooks (ad-hoc ones included) each user
// may have at once (DefaultWebhookLimit); creating more is a 400
// too-many-webhooks. An ad-hoc webhook that has fired, or whose run has
// ended, no longer counts.
func WithWebhookLimit(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.fail("WithWebhookLimit: limit must be positive, not %d", n)
			return
		}
		c.webhookLimit = n
	}
}

// WithAutoFinish makes every run of an Actor that has no registered function
// end by itself with the given terminal status after d: such runs otherwise
// stay RUNNING until told to finish. A status of SUCCEEDED records exit code
// 0, any other 1.
func WithAutoFinish(d time.Duration, status client.RunStatus) Option {
	return func(c *config) {
		if d < 0 {
			c.fail("WithAutoFinish: negative duration %v", d)
			return
		}
		if !status.IsTerminal() {
			c.fail("WithAutoFinish: %q is not a terminal run status", status)
			return
		}
		c.autoFinishAfter, c.autoFinishAs, c.autoFinishSet = d, status, true
	}
}

// WithRetention sets how long the server remembers what is done: at most
// runs finished runs (DefaultRetainedRuns), each with its storages,
// dispatches and ad-hoc webhooks, and as many settled test dispatches; and,
// when maxAge is positive, none longer than maxAge after it was done. A run
// is done when it has ended and its dispatches have settled; the oldest go
// first, and an evicted run is a 404 like one that never existed.
func WithRetention(runs int, maxAge time.Duration) Option {
	return func(c *config) {
		if runs <= 0 || maxAge < 0 {
			c.fail("WithRetention: need a positive number of runs and a non-negative age, not %d and %v", runs, maxAge)
			return
		}
		c.retainRuns, c.retainAge = runs, maxAge
	}
}

// DefaultStorageLimit is how many bytes the storages of one user may hold
// (see WithStorageLimit): 1 GiB.
const DefaultStorageLimit = 1 << 30

// WithStorageLimit sets how many bytes the storages of one user may hold:
// dataset items and requests as sent, records with their keys and content
// types. A write past it is refused with 403 limit-reached
// (DefaultStorageLimit).
func WithStorageLimit(bytes int64) Option {
	return func(c *config) {
		if bytes <= 0 {
			c.fail("WithStorageLimit: need a positive number of bytes, not %d", bytes)
			return
		}
		c.storageLimit = bytes
	}
}

// WithConnectionTimeouts sets how long an idle keep-alive connection stays
// open (DefaultIdleTimeout) and how long a request may take to send its body
// (DefaultBodyTimeout); a request past the latter is answered 400 and its
// connection closed.
func WithConnectionTimeouts(idle, body time.Duration) Option {
	return func(c *config) {
		if idle <= 0 || body <= 0 {
			c.fail("WithConnectionTimeouts: timeouts must be positive, not %v and %v", idle, body)
			return
		}
		c.idleTimeout, c.bodyTimeout = idle, body
	}
}

// WithSystemInfoInterval sets how often a run with an open events
// websocket connection is sent a systemInfo event
// (DefaultSystemInfoInterval).
func WithSystemInfoInterval(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("WithSystemInfoInterval: interval must be positive, not %v", d)
			return
		}
		c.systemInfoInterval = d
	}
}

// WithProcessUsage sets how the server measures a run's process for its
// systemInfo events and stats: usage returns what run runID's process uses
// now, and false when the run has no process. By default a run whose Actor
// function is running is measured as the server's own process, where the
// function runs (on Linux; elsewhere, and for a run without a function, the
// figures are zero).
func WithProcessUsage(usage func(runID string) (ProcessUsage, bool)) Option {
	return func(c *config) { c.processUsage = usage }
}

// WithMigrationGrace sets how long a run's process has, after the migrating
// event, to exit on its own before it is killed (DefaultMigrationGrace); the
// event's timeRemainingSecs says it. Zero kills it as soon as the event is
// written.
func WithMigrationGrace(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.fail("WithMigrationGrace: negative grace %v", d)
			return
		}
		c.migrationGrace = d
	}
}

// WithGracefulAbortTimeout sets how long a run's process has, after the
// aborting event of a graceful abort, to exit on its own before its
// context is cancelled (DefaultGracefulAbortTimeout).
func WithGracefulAbortTimeout(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.fail("WithGracefulAbortTimeout: negative timeout %v", d)
			return
		}
		c.abortGrace = d
	}
}

// WithRefireAfterResurrect makes the ad-hoc webhooks of a run fire again
// after it is resurrected. By default an ad-hoc webhook fires at most once,
// the documented "triggers once": one that fired for the run's end does not
// fire when the resurrected run ends again.
func WithRefireAfterResurrect() Option {
	return func(c *config) { c.refireAfterResurrect = true }
}

func (c *config) err() error { return errors.Join(c.errs...) }

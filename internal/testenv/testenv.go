// Package testenv tells tests which of the optional suites to run. The
// default go test ./... is fast and hermetic; the long suites (a 30 s load
// run, the full bench smoke test) run only when ACTOR_LONG_TESTS=1, as in
// .ci/run.
package testenv

import (
	"os"
	"testing"
)

// LongEnv is the environment variable that, set to 1, runs the long tests.
const LongEnv = "ACTOR_LONG_TESTS"

// LongEnabled reports whether the long tests run (LongEnv is 1).
func LongEnabled() bool { return os.Getenv(LongEnv) == "1" }

// Long skips the test, saying how to run it, unless the long tests run.
func Long(tb testing.TB) {
	tb.Helper()
	if !LongEnabled() {
		tb.Skipf("skipping a long test: set %s=1 to run it", LongEnv)
	}
}

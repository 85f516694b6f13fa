// Package nodetest gives tests access to the official Node.js packages that serve
// as reference implementations and interop peers: it finds node and npm, installs
// pinned npm packages once per machine into a cache directory, and skips the test
// when node or npm is missing or the installation fails — or fails it when
// ACTOR_REQUIRE_NODE=1, as in CI.
package nodetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Pinned versions of the reference packages.
const (
	// Apify is the official JS SDK.
	Apify = "apify@3.7.2"
	// ApifyClient is the official JS API client.
	ApifyClient = "apify-client@2.25.0"
	// Utilities holds the platform's WebhookPayloadTemplate. Version 3 needs
	// Node.js 22 and a dependency the registry lacks; the template code is
	// the same in 2.35.
	Utilities = "@apify/utilities@2.35.11"
	// Consts holds the platform's default payload template.
	Consts = "@apify/consts@2.58.1"
)

// RequireEnv is the environment variable that turns a missing node or npm into a
// test failure instead of a skip.
const RequireEnv = "ACTOR_REQUIRE_NODE"

var installMu sync.Mutex

// Node returns the path of the node executable, or skips the test (fails it
// under ACTOR_REQUIRE_NODE=1) when node is not installed.
func Node(tb testing.TB) string {
	tb.Helper()
	return lookPath(tb, "node")
}

// Install installs the npm packages (name@version) into a directory shared by
// every test on this machine and returns that directory: scripts run with it
// as their working directory, or with NODE_PATH set to dir/node_modules, can
// require the packages. The first call downloads them from the npm registry;
// later calls, in any process, reuse them. Without node or npm, or when the
// installation fails (no access to the registry, say), the test is skipped
// with the reason (failed under ACTOR_REQUIRE_NODE=1). A failed installation
// is not tried again for FailedRetryAfter, so that one go test ./... on a
// machine without the registry pays for it once (under ACTOR_REQUIRE_NODE=1
// it is always tried).
func Install(tb testing.TB, pkgs ...string) string {
	tb.Helper()
	lookPath(tb, "node")
	npm := lookPath(tb, "npm")
	sorted := append([]string(nil), pkgs...)
	sort.Strings(sorted)
	sum := sha256.Sum256([]byte(strings.Join(sorted, "\n")))
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "go-apify-actor-node", hex.EncodeToString(sum[:8]))
	if err := install(npm, dir, sorted, os.Getenv(RequireEnv) == "1"); err != nil {
		unavailable(tb, "nodetest: %v", err)
	}
	return dir
}

// FailedRetryAfter is how long a failed installation is not tried again.
const FailedRetryAfter = 10 * time.Minute

// install installs pkgs into dir with npm unless that is done, or failed
// less than FailedRetryAfter ago (unless retry).
func install(npm, dir string, pkgs []string, retry bool) error {
	done := filepath.Join(dir, ".installed")
	failed := dir + ".failed"
	installMu.Lock()
	defer installMu.Unlock()
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	unlock, err := lockDir(dir + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	if fi, err := os.Stat(failed); err == nil && !retry && time.Since(fi.ModTime()) < FailedRetryAfter {
		why, _ := os.ReadFile(failed)
		return fmt.Errorf("not retried for %v after it failed %v ago (remove %s to retry now): %s",
			FailedRetryAfter, time.Since(fi.ModTime()).Round(time.Second), failed, why)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"private":true}`), 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Few, short retries and a bounded wait per request: without the
	// registry, npm's defaults take over a minute to give up (five when
	// the network drops packets).
	args := append([]string{"install", "--no-audit", "--no-fund", "--loglevel=error",
		"--fetch-retries=1", "--fetch-retry-mintimeout=1000", "--fetch-retry-maxtimeout=5000", "--fetch-timeout=30000",
		"--prefix", dir}, pkgs...)
	out, err := exec.CommandContext(ctx, npm, args...).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("npm install %s: %v\n%s", strings.Join(pkgs, " "), err, out)
		_ = os.WriteFile(failed, []byte(err.Error()), 0o644)
		return err
	}
	_ = os.Remove(failed)
	return os.WriteFile(done, nil, 0o644)
}

// unavailable skips the test for want of node or its packages, or fails it
// under ACTOR_REQUIRE_NODE=1.
func unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatalf("%s (node tests are required: %s=1)", msg, RequireEnv)
	}
	tb.Skipf("skipping: %s (set %s=1 to make this a failure)", msg, RequireEnv)
}

func lookPath(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		unavailable(tb, "%s not found (install Node.js to run this test): %v", name, err)
	}
	return p
}

// lockDir takes an inter-process lock by creating a directory, waiting while
// another process holds it; a lock older than ten minutes is taken as stale.
func lockDir(path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		err := os.Mkdir(path, 0o755)
		if err == nil {
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		if fi, serr := os.Stat(path); serr == nil && time.Since(fi.ModTime()) > 10*time.Minute {
			os.Remove(path)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("timed out waiting for lock %s", path)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

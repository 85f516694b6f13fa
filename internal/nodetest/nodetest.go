// Package nodetest gives tests access to the official Node.js packages that serve
// as reference implementations and interop peers: it finds node and npm, installs
// pinned npm packages once per machine into a cache directory, and skips the test
// when node or npm is missing — or fails it when ACTOR_REQUIRE_NODE=1, as in CI.
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
// later calls, in any process, reuse them. Without node or npm the test is
// skipped (failed under ACTOR_REQUIRE_NODE=1).
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
	done := filepath.Join(dir, ".installed")

	installMu.Lock()
	defer installMu.Unlock()
	if _, err := os.Stat(done); err == nil {
		return dir
	}
	unlock, err := lockDir(dir + ".lock")
	if err != nil {
		tb.Fatalf("nodetest: %v", err)
	}
	defer unlock()
	if _, err := os.Stat(done); err == nil {
		return dir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("nodetest: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"private":true}`), 0o644); err != nil {
		tb.Fatalf("nodetest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", dir}, sorted...)
	out, err := exec.CommandContext(ctx, npm, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("nodetest: npm install %s: %v\n%s", strings.Join(sorted, " "), err, out)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		tb.Fatalf("nodetest: %v", err)
	}
	return dir
}

func lookPath(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatalf("%s is required (%s=1) but not found: %v", name, RequireEnv, err)
	}
	tb.Skipf("skipping: %s not found (install Node.js to run this test): %v", name, err)
	return ""
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

package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// nodePackages are the reference packages, pinned: the official JS SDK and
// the platform's utilities (WebhookPayloadTemplate). @apify/utilities 3.0.1
// cannot be installed from the registry (its dependency @apify/log@^3.0.1
// is not published there); its WebhookPayloadTemplate is the same code as
// in 2.35.11, the version apify@3.7.2 itself depends on.
var nodePackages = []string{"apify@3.7.2", "@apify/utilities@2.35.11"}

//go:embed js/*.js
var scripts embed.FS

// nodeEnv is a node executable and a directory whose node_modules holds the
// reference packages, with the bench's scripts written next to it.
type nodeEnv struct {
	node    string
	modules string // node_modules directory
	scripts string // directory of the scripts
}

// installNode finds node and npm and installs the reference packages into a
// cache directory on first use (os.UserCacheDir()/go-apify-actor-node/bench),
// reusing them on later runs.
func installNode(ctx context.Context) (*nodeEnv, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("node is needed for the JS side (install Node.js 20 or later): %w", err)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return nil, fmt.Errorf("npm is needed to install %s: %w", strings.Join(nodePackages, " "), err)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "go-apify-actor-node", "bench")
	marker := filepath.Join(dir, ".installed-"+strings.NewReplacer("/", "_", "@", "_").Replace(strings.Join(nodePackages, "+")))
	if _, err := os.Stat(marker); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "bench: installing %s into %s\n", strings.Join(nodePackages, " "), dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"private":true}`+"\n"), 0o644); err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		args := append([]string{"install", "--no-audit", "--no-fund", "--loglevel=error", "--save-exact", "--prefix", dir}, nodePackages...)
		if out, err := exec.CommandContext(ctx, npm, args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("npm install %s: %w\n%s", strings.Join(nodePackages, " "), err, out)
		}
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			return nil, err
		}
	}
	return newNodeEnv(node, filepath.Join(dir, "node_modules"))
}

// newNodeEnv writes the bench's scripts into a temporary directory.
func newNodeEnv(node, modules string) (*nodeEnv, error) {
	tmp, err := os.MkdirTemp("", "apify-bench-js-")
	if err != nil {
		return nil, err
	}
	entries, err := scripts.ReadDir("js")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := scripts.ReadFile("js/" + e.Name())
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o644); err != nil {
			return nil, err
		}
	}
	return &nodeEnv{node: node, modules: modules, scripts: tmp}, nil
}

// close removes the scripts.
func (n *nodeEnv) close() { os.RemoveAll(n.scripts) }

// run runs script with env added to the environment, able to require the
// reference packages. Its output (the SDK's log lines) is kept only to
// explain a failure; scripts write their results to a file.
func (n *nodeEnv) run(ctx context.Context, script string, env []string, args ...string) (*os.ProcessState, error) {
	cmd := exec.CommandContext(ctx, n.node, append([]string{filepath.Join(n.scripts, script)}, args...)...)
	cmd.Env = append(childEnviron(), append([]string{"NODE_PATH=" + n.modules}, env...)...)
	var out tailBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return cmd.ProcessState, fmt.Errorf("node %s: %w\n%s", script, err, out.String())
	}
	return cmd.ProcessState, nil
}

// childEnviron is this process's environment without the Apify and Crawlee
// variables, which the child gets from the local platform instead.
func childEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "APIFY_") && !strings.HasPrefix(kv, "ACTOR_") && !strings.HasPrefix(kv, "CRAWLEE_") {
			env = append(env, kv)
		}
	}
	return env
}

// tailBuffer keeps the last 8 KiB written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 8<<10 {
		t.b = t.b[len(t.b)-8<<10:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

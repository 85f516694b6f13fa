package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-apify/actor/internal/nodetest"
	"github.com/go-apify/actor/internal/testenv"
)

// TestRunJSSDKActor runs an Actor written with the official JS SDK, apify,
// unmodified: Actor.init reads the run, getInput, addWebhook, setValue,
// pushData, setStatusMessage, and exit or fail end it.
func TestRunJSSDKActor(t *testing.T) {
	t.Parallel()
	dir := nodetest.Install(t, nodetest.Apify)
	node := nodetest.Node(t)
	script, err := filepath.Abs("testdata/sdk_actor.js")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		mode      string
		wantCode  int
		wantEvent string
		wantMsg   string
	}{
		{"exit", "", 0, "ACTOR.RUN.SUCCEEDED", "all done"},
		{"fail", "fail", 1, "ACTOR.RUN.FAILED", "failing on purpose"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t)
			code, stdout, stderr := runLocal(t.Context(), "run", "--input", `{"from":"test"}`, "--",
				node, script, dir, rc.URL+"/sdk", tt.mode)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			if !strings.Contains(stdout.String(), `input: {"from":"test"}`) {
				t.Errorf("stdout lacks the input:\n%s", stdout)
			}
			hooks := rc.hooks()
			if len(hooks) != 1 {
				t.Fatalf("receiver got %d calls\nstderr:\n%s", len(hooks), stderr)
			}
			h := hooks[0]
			res, _ := h.body["resource"].(map[string]any)
			if h.body["eventType"] != tt.wantEvent || res["statusMessage"] != tt.wantMsg || h.header.Get("X-From") != "sdk" {
				t.Errorf("call: event %v, status message %v, X-From %q", h.body["eventType"], res["statusMessage"], h.header.Get("X-From"))
			}
			want := fmt.Sprintf("apify-local: dispatch %s %s/sdk SUCCEEDED 200 (1 attempt)", tt.wantEvent, rc.URL)
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		})
	}
}

// TestRunJSSDKRestarts runs an official JS SDK Actor through a migration
// and a reboot (testdata/sdk_restart.js): it hears migrating (on which the
// SDK itself reboots, to hasten the migration), its Actor.useState survives
// both restarts, Actor.addWebhook with the run ID as its idempotency key
// returns the same webhook in each process, and the webhook is delivered
// once, with the status message of the third process's Actor.exit (which
// sends it and exits 1 ms later, not waiting for the answer).
func TestRunJSSDKRestarts(t *testing.T) {
	testenv.Long(t) // node processes: in the long suite, which .ci/run runs
	t.Parallel()
	dir := nodetest.Install(t, nodetest.Apify)
	node := nodetest.Node(t)
	script, err := filepath.Abs("testdata/sdk_restart.js")
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t)
	code, stdout, stderr := runLocal(t.Context(), "run", "--migration-grace", "2s", "--system-info-interval", "50ms", "--",
		node, script, dir, rc.URL+"/sdk")
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	out := stdout.String()
	var hookID string
	for i, want := range []string{"start 1 webhook ", "heard migrating", "start 2 webhook ", "rebooting", "start 3 webhook "} {
		j := strings.Index(out, want)
		if j < 0 {
			t.Fatalf("stdout lacks %q (step %d):\n%s\nstderr:\n%s", want, i, stdout, stderr)
		}
		if strings.HasPrefix(want, "start") {
			id, _, _ := strings.Cut(out[j+len(want):], "\n")
			if hookID == "" {
				hookID = id
			} else if id != hookID {
				t.Errorf("%s%s, want the same webhook %s", want, id, hookID)
			}
		}
		out = out[j+len(want):]
	}
	for _, want := range []string{"restarted after a migration (restart 1)", "restarted after a reboot (restart 2)", " SUCCEEDED (exit code 0)\n"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	hooks := rc.hooks()
	if len(hooks) != 1 || hooks[0].body["eventType"] != "ACTOR.RUN.SUCCEEDED" {
		t.Errorf("receiver got %d calls, want one ACTOR.RUN.SUCCEEDED\nstderr:\n%s", len(hooks), stderr)
	}
	if len(hooks) == 1 {
		if res, _ := hooks[0].body["resource"].(map[string]any); res["statusMessage"] != "done after 3 starts" {
			t.Errorf("status message %v, want %q\nstderr:\n%s", res["statusMessage"], "done after 3 starts", stderr)
		}
	}
}

package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-apify/actor/internal/nodetest"
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

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/internal/nodetest"
	"github.com/go-apify/actor/internal/testenv"
)

// TestRunTwoActors runs a project of two Actors under apify-local run: a
// Node.js Actor of the official JS SDK (testdata/call_go_actor.js, the
// main COMMAND) calls a Go Actor of this module's actor package
// (testdata/goactor, bound with --actor) with Actor.call and an ad-hoc
// webhook for the callee's end. The callee runs as a run of its own,
// charges an event under --pricing, and ends; its log, read by the caller
// through the API, holds its output; the webhook is delivered once.
func TestRunTwoActors(t *testing.T) {
	testenv.Long(t) // node processes: in the long suite, which .ci/run runs
	t.Parallel()
	dir := nodetest.Install(t, nodetest.Apify)
	node := nodetest.Node(t)
	script, err := filepath.Abs("testdata/call_go_actor.js")
	if err != nil {
		t.Fatal(err)
	}
	pricing := filepath.Join(t.TempDir(), "pricing.json")
	if err := os.WriteFile(pricing, []byte(testPricing), 0o600); err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t)
	code, stdout, stderr := runLocal(t.Context(), "run", "--pricing", pricing,
		"--actor", "tester~go-callee="+quoted([]string{goActor, "-charge", "page"}),
		"--", node, script, dir, "tester~go-callee", rc.URL+"/callee")
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	out := stdout.String()
	m := regexp.MustCompile(`(?m)^callee status (\S+) (\w+)$`).FindStringSubmatch(out)
	if m == nil || m[1] != "SUCCEEDED" {
		t.Fatalf("stdout lacks the callee's SUCCEEDED run:\n%s\nstderr:\n%s", out, stderr)
	}
	calleeID := m[2]

	var log string
	if m := regexp.MustCompile(`(?m)^callee log (.*)$`).FindStringSubmatch(out); m == nil || json.Unmarshal([]byte(m[1]), &log) != nil {
		t.Fatalf("stdout lacks the callee's log:\n%s", out)
	}
	for _, want := range []string{`input: {"from":"node"}`, "charged page: limit reached false", "ready"} {
		if !strings.Contains(log, want) {
			t.Errorf("the callee's log lacks %q:\n%s", want, log)
		}
	}
	if want := `callee charged {"page":1}`; !strings.Contains(out, want) {
		t.Errorf("stdout lacks %q:\n%s", want, out)
	}
	if !regexp.MustCompile(`(?m)^callee containerUrl http://127\.0\.0\.1:\d+$`).MatchString(out) {
		t.Errorf("stdout lacks the callee's containerUrl:\n%s", out)
	}
	if want := "[tester~go-callee] input: {\"from\":\"node\"}\n"; !strings.Contains(out, want) {
		t.Errorf("stdout lacks the callee's prefixed line %q:\n%s", want, out)
	}

	var got []string
	for _, h := range rc.hooks() {
		res, _ := h.body["resource"].(map[string]any)
		got = append(got, fmt.Sprintf("%v %v", h.body["eventType"], res["id"]))
	}
	if diff := cmp.Diff([]string{"ACTOR.RUN.SUCCEEDED " + calleeID}, got); diff != "" {
		t.Errorf("webhook calls (-want +got):\n%s\nstderr:\n%s", diff, stderr)
	}
	if want := fmt.Sprintf("apify-local: dispatch ACTOR.RUN.SUCCEEDED %s/callee SUCCEEDED 200 (1 attempt)", rc.URL); !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
}

// TestRunTwoActorsGoCalls is the other way round: the Go Actor, the main
// COMMAND, calls a Node.js Actor of the official JS SDK
// (testdata/sdk_actor.js, bound with --actor) with actor.Call and an ad-hoc
// webhook, and the callee adds a webhook of its own with Actor.addWebhook:
// each is delivered once, and the callee's log holds its output.
func TestRunTwoActorsGoCalls(t *testing.T) {
	testenv.Long(t) // node processes: in the long suite, which .ci/run runs
	t.Parallel()
	dir := nodetest.Install(t, nodetest.Apify)
	node := nodetest.Node(t)
	script, err := filepath.Abs("testdata/sdk_actor.js")
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t)
	code, stdout, stderr := runLocal(t.Context(), "run",
		"--actor", "tester~js-callee="+quoted([]string{node, script, dir, rc.URL + "/own"}),
		"--", goActor, "-call", "tester~js-callee", "-call-webhook", rc.URL+"/caller")
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	out := stdout.String()
	m := regexp.MustCompile(`(?m)^called SUCCEEDED (\w+)\ncallee log (".*")$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("stdout lacks the called run:\n%s\nstderr:\n%s", out, stderr)
	}
	var log string
	if err := json.Unmarshal([]byte(m[2]), &log); err != nil {
		t.Fatal(err)
	}
	if want := `input: {"from":"go"}`; !strings.Contains(log, want) {
		t.Errorf("the callee's log lacks %q:\n%s", want, log)
	}
	if want := "[tester~js-callee] input: {\"from\":\"go\"}\n"; !strings.Contains(out, want) {
		t.Errorf("stdout lacks %q:\n%s", want, out)
	}
	got := map[string]int{}
	for _, h := range rc.hooks() {
		res, _ := h.body["resource"].(map[string]any)
		got[fmt.Sprintf("%v %v %v", h.header.Get("X-From"), h.body["eventType"], res["id"])]++
	}
	want := map[string]int{" ACTOR.RUN.SUCCEEDED " + m[1]: 1, "sdk ACTOR.RUN.SUCCEEDED " + m[1]: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("webhook calls (-want +got):\n%s\nstderr:\n%s", diff, stderr)
	}
}

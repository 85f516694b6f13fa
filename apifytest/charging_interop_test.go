package apifytest_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/internal/nodetest"
)

// TestJSSDKCharge runs an Actor of the official JS SDK, apify, that charges
// with Actor.charge: it reads the pricing and the maximum from its
// environment, its charges are recorded, and its charge past the maximum
// (the SDK charges one event more than the budget allows) aborts the run.
func TestJSSDKCharge(t *testing.T) {
	t.Parallel()
	dir := nodetest.Install(t, nodetest.Apify)
	node := nodetest.Node(t)
	// 3 pages (1.5) and 4 results (0.4) fit in 2.5; 1 more page fits, and
	// the SDK asks for 2 of the 10 it wants.
	srv := apifytest.NewTestServer(t, apifytest.WithPricing(apifytest.Pricing{Info: json.RawMessage(testPricing), MaxTotalChargeUSD: 2.5}))
	run, err := srv.StartRun(t.Context(), "me~ppe-js", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs("testdata/charging_sdk.js")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // node is slow on a busy machine
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, dir)
	cmd.Env = append(os.Environ(), srv.Env(run.ID)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var out struct {
		Results []struct {
			EventChargeLimitReached bool
			ChargedCount            int
		}
		Charged  int
		Max      float64
		Platform map[string]int // the run's chargedEventCounts, as the SDK read it
	}
	// The SDK logs to stdout too: the output is the last line.
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
		t.Fatalf("script output: %v\n%s", err, stdout)
	}
	type result = struct {
		EventChargeLimitReached bool
		ChargedCount            int
	}
	want := []result{{false, 1}, {false, 1}, {false, 1}, {false, 4}, {true, 2}, {true, 0}}
	if diff := cmp.Diff(want, out.Results); diff != "" {
		t.Errorf("Actor.charge results (-want +got):\n%s", diff)
	}
	if out.Max != 2.5 || out.Charged != 5 {
		t.Errorf("the SDK's max %v and page count %d, want 2.5 and 5", out.Max, out.Charged)
	}
	if diff := cmp.Diff(map[string]int{"page": 5, "result": 4}, out.Platform); diff != "" {
		t.Errorf("chargedEventCounts read by the SDK (-want +got):\n%s", diff)
	}
	got, _ := srv.Run(run.ID)
	if diff := cmp.Diff(map[string]int{"page": 5, "result": 4}, got.ChargedEventCounts); diff != "" {
		t.Errorf("the platform's charged counts (-want +got):\n%s", diff)
	}
	if got.Status != client.StatusAborted {
		t.Errorf("run status = %s, want ABORTED: the charges (2.9 USD) exceed the maximum (2.5)", got.Status)
	}
}

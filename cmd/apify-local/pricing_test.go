package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/internal/nodetest"
	"github.com/go-apify/actor/internal/testenv"
)

const testPricing = `{"pricingInfo": {
	"pricingModel": "PAY_PER_EVENT",
	"pricingPerEvent": {"actorChargeEvents": {
		"page": {"eventTitle": "Page", "eventDescription": "A page", "eventPriceUsd": 0.5},
		"result": {"eventTitle": "Result", "eventDescription": "A result", "eventPriceUsd": 0.1}
	}}
}, "maxTotalChargeUsd": 100}`

// TestRunPricing runs an Actor of the official JS SDK that charges under
// apify-local run --pricing FILE: the SDK sees the pricing and the maximum,
// and the run records its charges.
func TestRunPricing(t *testing.T) {
	testenv.Long(t) // node processes: in the long suite, which .ci/run runs
	t.Parallel()
	dir := nodetest.Install(t, nodetest.Apify)
	node := nodetest.Node(t)
	script, err := filepath.Abs("../../apifytest/testdata/charging_sdk.js")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "pricing.json")
	if err := os.WriteFile(file, []byte(testPricing), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runLocal(t.Context(), "run", "--pricing", file, "--", node, script, dir)
	if code != 0 {
		t.Fatalf("exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var out struct {
		Results []struct{ ChargedCount int }
		// Platform is the run's chargedEventCounts at the end.
		Platform map[string]int
		Max      float64
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
		t.Fatalf("script output: %v\n%s", err, stdout)
	}
	if out.Max != 100 {
		t.Errorf("the SDK's maximum = %v, want 100", out.Max)
	}
	if diff := cmp.Diff(map[string]int{"page": 14, "result": 4}, out.Platform); diff != "" {
		t.Errorf("the run's charged counts (-want +got):\n%s", diff)
	}
}

func TestPricingFlagErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"pricingModel": "CHEAP"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, want string
	}{
		{"missing file", filepath.Join(dir, "none.json"), "no such file"},
		{"bad pricing", bad, `pricingModel: "CHEAP" is not one of`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, cmd := range []string{"run", "serve"} {
				code, _, stderr := runLocal(t.Context(), cmd, "--pricing", tc.file, "--", "true")
				if code != 2 || !strings.Contains(stderr.String(), tc.want) {
					t.Errorf("%s: exit code %d, stderr %q; want 2 and %q", cmd, code, stderr, tc.want)
				}
			}
		})
	}
}

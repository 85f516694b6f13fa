package apifytest_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

const testPricing = `{
	"pricingModel": "PAY_PER_EVENT",
	"pricingPerEvent": {"actorChargeEvents": {
		"page": {"eventTitle": "Page", "eventDescription": "A page", "eventPriceUsd": 0.5},
		"result": {"eventTitle": "Result", "eventDescription": "A result", "eventPriceUsd": 0.1}
	}}
}`

func pricedServer(t *testing.T, maxUSD float64) *apifytest.Server {
	t.Helper()
	return apifytest.NewTestServer(t, apifytest.WithPricing(apifytest.Pricing{Info: json.RawMessage(testPricing), MaxTotalChargeUSD: maxUSD}))
}

func TestChargeIdempotency(t *testing.T) {
	t.Parallel()
	srv := pricedServer(t, 0)
	ctx := t.Context()
	run, err := srv.StartRun(ctx, "me~ppe", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client()
	charges := []struct {
		event string
		count int
		key   string
	}{
		{"page", 1, "k1"},
		{"page", 1, "k1"}, // a retry or a replay: not charged again
		{"page", 2, "k2"},
		{"result", 3, ""},
		{"result", 3, ""}, // no key: every request is a charge
	}
	for _, ch := range charges {
		if err := c.ChargeRun(ctx, run.ID, ch.event, ch.count, client.ChargeOptions{IdempotencyKey: ch.key}); err != nil {
			t.Fatalf("ChargeRun(%s, %d, %q): %v", ch.event, ch.count, ch.key, err)
		}
	}
	got, err := c.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"page": 3, "result": 6}, got.ChargedEventCounts); diff != "" {
		t.Errorf("chargedEventCounts (-want +got):\n%s", diff)
	}
	if got.Status != client.StatusRunning {
		t.Errorf("status = %s, want RUNNING", got.Status)
	}
	// Keys are scoped per run: k1 charges another run.
	other, err := srv.StartRun(ctx, "me~ppe", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ChargeRun(ctx, other.ID, "page", 1, client.ChargeOptions{IdempotencyKey: "k1"}); err != nil {
		t.Fatal(err)
	}
	if r, _ := srv.Run(other.ID); r.ChargedEventCounts["page"] != 1 {
		t.Errorf("other run's page count = %d, want 1", r.ChargedEventCounts["page"])
	}
}

func TestChargeEnvAndRun(t *testing.T) {
	t.Parallel()
	srv := pricedServer(t, 2.5)
	run, err := srv.StartRun(t.Context(), "me~ppe", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Options.MaxTotalChargeUSD == nil || *run.Options.MaxTotalChargeUSD != 2.5 {
		t.Errorf("options.maxTotalChargeUsd = %v, want 2.5", run.Options.MaxTotalChargeUSD)
	}
	var model struct {
		PricingModel string `json:"pricingModel"`
	}
	if err := json.Unmarshal(run.PricingInfo, &model); err != nil || model.PricingModel != "PAY_PER_EVENT" {
		t.Errorf("pricingInfo = %s (%v), want PAY_PER_EVENT", run.PricingInfo, err)
	}
	env := srv.Env(run.ID)
	for _, want := range []string{"ACTOR_MAX_TOTAL_CHARGE_USD=2.5", "APIFY_CHARGED_ACTOR_EVENT_COUNTS={}"} {
		if !slices.Contains(env, want) {
			t.Errorf("env lacks %s", want)
		}
	}
	if !slices.ContainsFunc(env, func(kv string) bool {
		return strings.HasPrefix(kv, `APIFY_ACTOR_PRICING_INFO={"pricingModel":"PAY_PER_EVENT"`)
	}) {
		t.Errorf("env lacks APIFY_ACTOR_PRICING_INFO: %q", env)
	}
}

// Past the maximum total charge the charge is accepted, as on the
// platform, and the run is aborted.
func TestChargePastLimitAborts(t *testing.T) {
	t.Parallel()
	srv := pricedServer(t, 1)
	ctx := t.Context()
	c := srv.Client()
	run, err := c.StartActor(ctx, "me~ppe", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // 2 × 0.5 = the maximum: still running
		if err := c.ChargeRun(ctx, run.ID, "page", 1, client.ChargeOptions{IdempotencyKey: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	if r, _ := srv.Run(run.ID); r.Status != client.StatusRunning {
		t.Fatalf("status at the maximum = %s, want RUNNING", r.Status)
	}
	if err := c.ChargeRun(ctx, run.ID, "result", 1, client.ChargeOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := srv.WaitRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != client.StatusAborted {
		t.Errorf("status past the maximum = %s, want ABORTED", r.Status)
	}
	if diff := cmp.Diff(map[string]int{"page": 2, "result": 1}, r.ChargedEventCounts); diff != "" {
		t.Errorf("chargedEventCounts (-want +got):\n%s", diff)
	}
	// A finished run is charged no more.
	err = c.ChargeRun(ctx, run.ID, "page", 1, client.ChargeOptions{})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict {
		t.Errorf("charging a finished run: %v, want a 409", err)
	}
}

// The maxTotalChargeUsd parameter of a run start wins over the pricing's
// default; a maximum of 0 or less is refused.
func TestChargeMaxParameter(t *testing.T) {
	t.Parallel()
	srv := pricedServer(t, 2.5)
	tests := []struct {
		param      string
		wantStatus int
		wantMax    float64
	}{
		{"0.7", http.StatusCreated, 0.7},
		{"", http.StatusCreated, 2.5},
		{"0", http.StatusBadRequest, 0},
		{"lots", http.StatusBadRequest, 0},
	}
	for _, tc := range tests {
		t.Run(tc.param, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/v2/acts/me~ppe/runs?maxTotalChargeUsd="+tc.param, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+srv.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Data client.Run }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if m := body.Data.Options.MaxTotalChargeUSD; tc.wantMax != 0 && (m == nil || *m != tc.wantMax) {
				t.Errorf("options.maxTotalChargeUsd = %v, want %v", m, tc.wantMax)
			}
		})
	}
}

// The server charges the synthetic events of the pricing itself: the
// start, by memory, and each item of the default dataset, past the maximum
// too (which aborts the run).
func TestChargeSyntheticEvents(t *testing.T) {
	t.Parallel()
	info := `{"pricingModel": "PAY_PER_EVENT", "pricingPerEvent": {"actorChargeEvents": {
		"apify-actor-start": {"eventTitle": "Start", "eventDescription": "A start", "eventPriceUsd": 0.1},
		"apify-default-dataset-item": {"eventTitle": "Item", "eventDescription": "An item", "eventPriceUsd": 0.01}}}}`
	srv := apifytest.NewTestServer(t, apifytest.WithPricing(apifytest.Pricing{Info: json.RawMessage(info), MaxTotalChargeUSD: 0.5}))
	ctx := t.Context()
	c := srv.Client()
	run, err := srv.StartRun(ctx, "me~ppe", nil, client.StartOptions{MemoryMbytes: 2048})
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.GetOrCreateDataset(ctx, "not-the-default")
	if err != nil {
		t.Fatal(err)
	}
	push := func(datasetID string, n int) {
		t.Helper()
		items := make([]map[string]int, n)
		for i := range items {
			items[i] = map[string]int{"i": i}
		}
		if err := c.PushItems(ctx, datasetID, items); err != nil {
			t.Fatal(err)
		}
	}
	push(run.DefaultDatasetID, 5)
	push(other.ID, 7) // not the run's default dataset: not charged
	r, _ := srv.Run(run.ID)
	if diff := cmp.Diff(map[string]int{"apify-actor-start": 2, "apify-default-dataset-item": 5}, r.ChargedEventCounts); diff != "" {
		t.Errorf("chargedEventCounts (-want +got):\n%s", diff)
	}
	if r.Status != client.StatusRunning {
		t.Fatalf("status = %s, want RUNNING (0.25 of 0.5 USD charged)", r.Status)
	}
	push(run.DefaultDatasetID, 26) // 0.2 + 0.31: past the maximum
	if r, _ := srv.WaitRun(ctx, run.ID); r.Status != client.StatusAborted {
		t.Errorf("status past the maximum = %s, want ABORTED", r.Status)
	}
	// A resurrection is a start too.
	res, err := c.ResurrectRun(ctx, run.ID, client.ResurrectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.ChargedEventCounts["apify-actor-start"]; got != 4 || res.Status != client.StatusRunning {
		t.Errorf("after the resurrection: %s with %d start events, want RUNNING with 4", res.Status, got)
	}
}

func TestChargeRefused(t *testing.T) {
	t.Parallel()
	srv := pricedServer(t, 0)
	free := apifytest.NewTestServer(t)
	ctx := t.Context()
	run, err := srv.StartRun(ctx, "me~ppe", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	freeRun, err := free.StartRun(ctx, "me~free", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		srv      *apifytest.Server
		runID    string
		event    string
		wantType string
	}{
		{"not pay-per-event", free, freeRun.ID, "page", "cannot-charge-non-pay-per-event-actor"},
		{"synthetic event", srv, run.ID, "apify-default-dataset-item", "cannot-charge-apify-event"},
		{"unknown event", srv, run.ID, "nope", "invalid-value"},
		{"unknown run", srv, "nosuchrun", "page", "record-not-found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.srv.Client().ChargeRun(t.Context(), tc.runID, tc.event, 1, client.ChargeOptions{})
			var apiErr *client.APIError
			if !errors.As(err, &apiErr) || apiErr.Type != tc.wantType {
				t.Errorf("err = %v, want an API error of type %s", err, tc.wantType)
			}
		})
	}
	if r, _ := srv.Run(run.ID); len(r.ChargedEventCounts) != 0 {
		t.Errorf("chargedEventCounts = %v after refused charges, want none", r.ChargedEventCounts)
	}
}

func TestParsePricing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		wantMax float64
		wantErr string
	}{
		{"bare", testPricing, 0, ""},
		{"wrapped", `{"pricingInfo": ` + testPricing + `, "maxTotalChargeUsd": 3}`, 3, ""},
		{"free", `{"pricingModel": "FREE"}`, 0, ""},
		{"unknown model", `{"pricingModel": "CHEAP"}`, 0, `pricingModel: "CHEAP" is not one of`},
		{"no events", `{"pricingModel": "PAY_PER_EVENT"}`, 0, "needs at least one event"},
		{"tiered", `{"pricingModel": "PAY_PER_EVENT", "pricingPerEvent": {"actorChargeEvents": {"x": {"eventTitle": "X"}}}}`, 0,
			`actorChargeEvents["x"].eventPriceUsd: is required`},
		{"negative price", `{"pricingModel": "PAY_PER_EVENT", "pricingPerEvent": {"actorChargeEvents": {"x": {"eventPriceUsd": -1}}}}`, 0,
			"-1 is not a finite, non-negative price"},
		{"negative max", `{"pricingInfo": {"pricingModel": "FREE"}, "maxTotalChargeUsd": -1}`, 0, "maxTotalChargeUsd: -1"},
		{"not JSON", `pricing`, 0, "not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := apifytest.ParsePricing([]byte(tc.in))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("ParsePricing: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("ParsePricing: %v, want an error containing %q", err, tc.wantErr)
			case tc.wantErr == "" && p.MaxTotalChargeUSD != tc.wantMax:
				t.Errorf("MaxTotalChargeUSD = %v, want %v", p.MaxTotalChargeUSD, tc.wantMax)
			}
		})
	}
	if _, err := apifytest.NewServer(apifytest.WithPricing(apifytest.Pricing{Info: json.RawMessage(`{}`)})); err == nil {
		t.Error("NewServer with invalid pricing: no error")
	}
}

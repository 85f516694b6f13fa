package actor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

const chargingPricing = `{
	"pricingModel": "PAY_PER_EVENT",
	"pricingPerEvent": {"actorChargeEvents": {
		"page": {"eventTitle": "Page", "eventDescription": "A page", "eventPriceUsd": 0.5},
		"result": {"eventTitle": "Result", "eventDescription": "A result", "eventPriceUsd": 0.1}
	}}
}`

func chargingServer(t *testing.T, maxUSD float64) (*apifytest.Server, string) {
	t.Helper()
	srv := apifytest.NewTestServer(t, apifytest.WithPricing(apifytest.Pricing{Info: json.RawMessage(chargingPricing), MaxTotalChargeUSD: maxUSD}))
	run, err := srv.StartRun(t.Context(), "me~ppe", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return srv, run.ID
}

// chargingActor is an Actor of run runID on srv, with the environment the
// platform would give a process of the run started now.
func chargingActor(srv *apifytest.Server, runID string, extra ...string) (*actor.Actor, *exitRecorder) {
	rec := &exitRecorder{}
	a := actor.New(actor.WithEnviron(append(srv.Env(runID), extra...)), actor.WithExitFunc(rec.exit), actor.WithSignals(),
		actor.WithClientOptions(client.WithBackoff(0, 0)))
	return a, rec
}

// work is the Actor's deterministic work: item i is a page, and every third
// item has two results. It fails when a charge fails or is reduced.
func work(ctx context.Context, a *actor.Actor, from, to int) error {
	for i := from; i < to; i++ {
		if res, err := a.Charge(ctx, "page", 1); err != nil || res.ChargedCount != 1 {
			return fmt.Errorf("item %d: Charge(page, 1) = %+v, %v; want 1 charged", i, res, err)
		}
		if i%3 == 0 {
			if res, err := a.Charge(ctx, "result", 2); err != nil || res.ChargedCount != 2 {
				return fmt.Errorf("item %d: Charge(result, 2) = %+v, %v; want 2 charged", i, res, err)
			}
		}
	}
	return nil
}

// A charging Go Actor, run by the local platform, is migrated in the
// middle of its work: the platform sends migrating, stops the process and
// starts it again with the run's environment (the charged counts of the
// moment included). The new process replays the work from the start, and
// the platform charges each charge once; with a maximum the work fits
// exactly, no charge is reduced either.
func TestChargeMigratedRun(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithMigrationGrace(0), apifytest.WithPricing(apifytest.Pricing{
		Info: json.RawMessage(chargingPricing), MaxTotalChargeUSD: 10*0.5 + 8*0.1,
	}))
	halfway := make(chan struct{})
	srv.RegisterActor("me~ppe", func(ctx context.Context, env []string, _ []byte) error {
		// A short wait for the platform's kill once migrated (not 5 min).
		a := actor.New(actor.WithEnviron(append(env, "APIFY_METAMORPH_AFTER_SLEEP_MILLIS=1")),
			actor.WithExitFunc(func(int) {}), actor.WithSignals())
		defer a.Exit(context.Background(), actor.ExitOptions{})
		if _, again := apifytest.RestartOf(ctx); again {
			return work(ctx, a, 0, 10)
		}
		if err := work(ctx, a, 0, 6); err != nil {
			return err
		}
		close(halfway)
		<-ctx.Done() // killed by the migration; Exit saves the states
		return context.Cause(ctx)
	})
	ctx := t.Context()
	run, err := srv.StartRun(ctx, "me~ppe", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-halfway:
	case <-ctx.Done():
		t.Fatal("the Actor never got halfway")
	}
	if _, err := srv.MigrateRun(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	end, err := srv.WaitRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if end.Status != client.StatusSucceeded || end.Stats.RestartCount != 1 {
		t.Errorf("run ended %s after %d restarts (%s), want SUCCEEDED after 1", end.Status, end.Stats.RestartCount, end.StatusMessage)
	}
	want := map[string]int{"page": 10, "result": 2 * 4}
	if diff := cmp.Diff(want, end.ChargedEventCounts); diff != "" {
		t.Errorf("the platform's charged counts (-want +got):\n%s", diff)
	}
}

// A charging Actor restarted in the middle of its work replays its charges
// from the start and then goes on: the platform charges each charge once.
// The first process either saves its state (as on a migration) or is
// killed without saving it: the idempotency keys alone keep the platform
// from charging twice.
func TestChargeExactlyOnceAcrossRestart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		saves  bool
		maxUSD float64
	}{
		{"migrated after saving its state", true, 0},
		// The saved state tells the replays from new charges: they do not
		// count against the maximum twice.
		{"migrated, with a maximum the work fits exactly", true, 10*0.5 + 8*0.1},
		{"killed without saving", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, runID := chargingServer(t, tc.maxUSD)
			ctx := t.Context()
			first, _ := chargingActor(srv, runID)
			if err := work(ctx, first, 0, 6); err != nil {
				t.Fatal(err)
			}
			if tc.saves {
				first.Exit(ctx, actor.ExitOptions{}) // saves every state, as the migration's persistState does
			}
			// The process that the restart starts: it replays items 0-5,
			// charged already, then charges items 6-9.
			second, _ := chargingActor(srv, runID)
			if err := work(ctx, second, 0, 10); err != nil {
				t.Fatal(err)
			}

			run, _ := srv.Run(runID)
			want := map[string]int{"page": 10, "result": 2 * 4} // results for items 0, 3, 6, 9
			if diff := cmp.Diff(want, run.ChargedEventCounts); diff != "" {
				t.Errorf("the platform's charged counts (-want +got):\n%s", diff)
			}
			if run.Status != client.StatusRunning {
				t.Errorf("run status = %s, want RUNNING", run.Status)
			}
		})
	}
}

// The maximum total charge reduces a charge to what it allows and the
// result says so; the platform never has more than the maximum.
func TestChargeRespectsMaximum(t *testing.T) {
	t.Parallel()
	srv, runID := chargingServer(t, 1.2)
	ctx := t.Context()
	a, _ := chargingActor(srv, runID)
	steps := []struct {
		event string
		count int
		want  actor.ChargeResult
	}{
		{"page", 5, actor.ChargeResult{EventChargeLimitReached: true, ChargedCount: 2,
			ChargeableWithinLimit: map[string]int{"page": 0, "result": 2}}},
		{"result", 1, actor.ChargeResult{EventChargeLimitReached: false, ChargedCount: 1,
			ChargeableWithinLimit: map[string]int{"page": 0, "result": 1}}},
		{"page", 1, actor.ChargeResult{EventChargeLimitReached: true, ChargedCount: 0,
			ChargeableWithinLimit: map[string]int{"page": 0, "result": 1}}},
		{"result", 0, actor.ChargeResult{EventChargeLimitReached: false, ChargedCount: 0,
			ChargeableWithinLimit: map[string]int{"page": 0, "result": 1}}},
		{"result", 3, actor.ChargeResult{EventChargeLimitReached: true, ChargedCount: 1,
			ChargeableWithinLimit: map[string]int{"page": 0, "result": 0}}},
	}
	for i, st := range steps {
		got, err := a.Charge(ctx, st.event, st.count)
		if err != nil {
			t.Fatalf("step %d: Charge(%s, %d): %v", i, st.event, st.count, err)
		}
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("step %d: Charge(%s, %d) (-want +got):\n%s", i, st.event, st.count, diff)
		}
	}
	run, _ := srv.Run(runID)
	if diff := cmp.Diff(map[string]int{"page": 2, "result": 2}, run.ChargedEventCounts); diff != "" {
		t.Errorf("the platform's charged counts (-want +got):\n%s", diff)
	}
	if run.Status != client.StatusRunning {
		t.Errorf("run status = %s, want RUNNING: the SDK never charges past the maximum", run.Status)
	}
}

// Synthetic and unknown events are counted but not sent; an event name the
// caller keys itself is charged once per key.
func TestChargeNotSentAndOwnKeys(t *testing.T) {
	t.Parallel()
	srv, runID := chargingServer(t, 0)
	ctx := t.Context()
	a, _ := chargingActor(srv, runID)
	for _, ev := range []string{"apify-default-dataset-item", "not-in-pricing"} {
		if res, err := a.Charge(ctx, ev, 2); err != nil || res.ChargedCount != 2 {
			t.Errorf("Charge(%s, 2) = %+v, %v; want 2 charged locally", ev, res, err)
		}
	}
	for range 2 {
		if _, err := a.ChargeWith(ctx, "page", 1, actor.ChargeOptions{IdempotencyKey: "page-https://example.com/"}); err != nil {
			t.Fatal(err)
		}
	}
	run, _ := srv.Run(runID)
	if diff := cmp.Diff(map[string]int{"page": 1}, run.ChargedEventCounts); diff != "" {
		t.Errorf("the platform's charged counts (-want +got):\n%s", diff)
	}
}

func TestChargeOffPlatform(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		env   []string
		count int
		want  actor.ChargeResult
	}{
		{"not pay-per-event", nil, 5, actor.ChargeResult{ChargeableWithinLimit: map[string]int{}}},
		{"test pay-per-event", []string{"ACTOR_TEST_PAY_PER_EVENT=1", "ACTOR_MAX_TOTAL_CHARGE_USD=3"}, 5,
			actor.ChargeResult{EventChargeLimitReached: true, ChargedCount: 3, ChargeableWithinLimit: map[string]int{}}},
		{"pricing from the environment", []string{"APIFY_ACTOR_PRICING_INFO=" + strings.Join(strings.Fields(chargingPricing), " "),
			`APIFY_CHARGED_ACTOR_EVENT_COUNTS={"page":1}`, "ACTOR_MAX_TOTAL_CHARGE_USD=2"}, 5,
			actor.ChargeResult{EventChargeLimitReached: true, ChargedCount: 3, ChargeableWithinLimit: map[string]int{"page": 0, "result": 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Off the platform the charging state is a local record: in a
			// temporary directory, not ./storage.
			env := append([]string{"APIFY_LOCAL_STORAGE_DIR=" + t.TempDir()}, tc.env...)
			a := actor.New(actor.WithEnviron(env), actor.WithSignals())
			got, err := a.Charge(t.Context(), "page", tc.count)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Charge (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChargeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     []string
		event   string
		count   int
		wantErr string
	}{
		{"empty event", nil, " ", 1, "eventName is empty"},
		{"negative count", nil, "page", -1, "count: -1 is negative"},
		{"bad maximum", []string{"ACTOR_MAX_TOTAL_CHARGE_USD=lots"}, "page", 1, `ACTOR_MAX_TOTAL_CHARGE_USD: "lots"`},
		{"bad counts", []string{"APIFY_ACTOR_PRICING_INFO={}", "APIFY_CHARGED_ACTOR_EVENT_COUNTS=[1]"}, "page", 1, "APIFY_CHARGED_ACTOR_EVENT_COUNTS is not"},
		{"test mode at home", []string{"ACTOR_TEST_PAY_PER_EVENT=1", "APIFY_IS_AT_HOME=1"}, "page", 1, "only for local development"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := actor.New(actor.WithEnviron(tc.env), actor.WithSignals())
			_, err := a.Charge(t.Context(), tc.event, tc.count)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

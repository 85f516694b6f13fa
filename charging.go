package actor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/go-apify/actor/client"
)

// ChargingStateKey is the record of the default key-value store that keeps
// what [Actor.Charge] needs across restarts of the run (see [UseState]).
const ChargingStateKey = "APIFY_CHARGING_STATE"

// Unlimited is the count of [ChargeResult.ChargeableWithinLimit] for an
// event that no maximum total charge limits (no maximum, or a free event).
const Unlimited = math.MaxInt

// PricingPayPerEvent is the pricing model of a pay-per-event Actor, the only
// one in which [Actor.Charge] charges.
const PricingPayPerEvent = "PAY_PER_EVENT"

// ChargeOptions configure [Actor.ChargeWith]: an idempotency key of the
// caller's instead of the one Charge derives.
type ChargeOptions = client.ChargeOptions

// ChargeResult is what [Actor.Charge] charged, as the official SDKs report it.
type ChargeResult struct {
	// EventChargeLimitReached is true when the maximum total charge allows
	// no further event of this name. Other events, cheaper ones, may still
	// be chargeable: see ChargeableWithinLimit.
	EventChargeLimitReached bool
	// ChargedCount is how many events were charged: the count asked for, or
	// fewer when the maximum total charge allows no more.
	ChargedCount int
	// ChargeableWithinLimit maps every event of the pricing to how many more
	// can be charged within the maximum total charge ([Unlimited] without
	// one).
	ChargeableWithinLimit map[string]int
}

// chargingState is the persisted part of the charging: per event, how many
// charges the run has made (over all its processes), so that a replayed
// charge is recognized and not counted against the budget twice.
type chargingState struct {
	Calls map[string]int `json:"calls"`
}

// charging is an Actor's pay-per-event state, loaded on the first charge.
type charging struct {
	mu       sync.Mutex
	loaded   bool
	model    string
	prices   map[string]float64 // events of the pricing, USD
	max      float64            // +Inf: no maximum
	amounts  map[string]float64 // USD charged, by event, the platform's at start included
	ordinals map[string]int     // this process's charges, by event
	state    *State[chargingState]
	warned   bool
}

// Charge charges the run for count events of eventName, as the official
// SDKs' Actor.charge do, except that a restart does not charge twice: see
// [Actor.ChargeWith], which Charge calls with no options.
func (a *Actor) Charge(ctx context.Context, eventName string, count int) (ChargeResult, error) {
	return a.ChargeWith(ctx, eventName, count, ChargeOptions{})
}

// ChargeWith charges the run for count events of eventName (POST
// /v2/actor-runs/{id}/charge) and says what it charged.
//
// The pricing comes from APIFY_ACTOR_PRICING_INFO and
// APIFY_CHARGED_ACTOR_EVENT_COUNTS when both are set, or else, on the
// platform, from the run (its pricingInfo, chargedEventCounts and
// options.maxTotalChargeUsd); the maximum total charge from
// ACTOR_MAX_TOTAL_CHARGE_USD (empty or 0: none). As in the official SDKs:
//   - Without pay-per-event pricing nothing is charged: Charge logs a
//     warning once and returns a result with ChargedCount 0. Off the
//     platform that is the default; ACTOR_TEST_PAY_PER_EVENT=1 makes the
//     Actor pay-per-event there, to test it (an error on the platform).
//   - count is reduced to what the maximum total charge still allows (the
//     Python SDK's rule; the JS SDK charges one event more, to be aborted
//     by the platform), and the result says so.
//   - An event that is not in the pricing costs nothing on the platform
//     (and 1 USD off it, so that the maximum can be reached in tests): it
//     is counted but not sent, with a warning. Synthetic events, whose
//     names start with "apify-" (apify-actor-start,
//     apify-default-dataset-item), are counted but never sent: the platform
//     charges them itself. Off the platform nothing is sent.
//   - A charge counts against the maximum once made, even when its request
//     then fails (as in the Python SDK): the error is returned, and the
//     charge may or may not have reached the platform.
//
// Exactly once across restarts. The official SDKs send an idempotency key
// made of the clock and a random number, so a charge replayed after a
// migration or reboot is charged again. Charge sends the key
// "<runId>-<eventName>-<n>", where n counts this process's charges of
// eventName from 0. The contract: a run makes a deterministic sequence of
// charges of each event, and a restarted process makes again, in the same
// order, the charges the process before it made, then goes on. The
// replayed charges then carry the keys they had and the platform charges
// them once, while each new charge has a new key. The number of charges of
// each event made so far is kept in the state [ChargingStateKey] (saved as
// every [UseState] state), so that a replay is also not counted against
// the maximum a second time. An Actor that resumes from a saved position
// instead of replaying from the start must not rely on the default keys:
// it gives a key of its own, derived from the work charged for (say the
// URL of a page), with o.IdempotencyKey; such a charge is charged once per
// key and run. Charges of one event from several goroutines get their
// ordinals in the order they call: replayed, they must ask for the same
// counts, or be keyed by the caller. A replayed charge is reported with the
// count asked for, or what the maximum allowed before it.
//
// A count of 0 charges nothing; a negative count or an empty eventName is
// an error, as is a pricing or maximum that cannot be read.
func (a *Actor) ChargeWith(ctx context.Context, eventName string, count int, o ChargeOptions) (ChargeResult, error) {
	switch {
	case strings.TrimSpace(eventName) == "":
		return ChargeResult{}, errors.New("actor: charge: eventName is empty")
	case count < 0:
		return ChargeResult{}, fmt.Errorf("actor: charge: count: %d is negative", count)
	}
	c, env, err := a.ready(ctx)
	if err != nil {
		return ChargeResult{}, err
	}
	cg := &a.cg
	if err := a.loadCharging(ctx, c, env); err != nil {
		return ChargeResult{}, err
	}
	cg.mu.Lock()
	if cg.model != PricingPayPerEvent {
		warn := !cg.warned
		cg.warned = true
		res := ChargeResult{ChargeableWithinLimit: cg.chargeableLocked()}
		cg.mu.Unlock()
		if warn {
			a.log().WarnContext(ctx, "ignored an attempt to charge for an event: the Actor does not use pay-per-event pricing", "event", eventName)
		}
		return res, nil
	}
	price, known := cg.prices[eventName]
	if !known && !env.IsAtHome {
		price = 1
	}
	if count == 0 {
		res := cg.resultLocked(price, 0)
		cg.mu.Unlock()
		return res, nil
	}
	key, replay := o.IdempotencyKey, false
	if key == "" {
		n := cg.ordinals[eventName]
		cg.ordinals[eventName] = n + 1
		cg.state.Update(func(s *chargingState) {
			replay = n < s.Calls[eventName]
			if !replay {
				if s.Calls == nil {
					s.Calls = map[string]int{}
				}
				s.Calls[eventName] = n + 1
			}
		})
		key = env.RunID + "-" + eventName + "-" + strconv.Itoa(n)
	}
	charged := count
	if replay {
		// Charged already, by a process before this one: the counts the
		// platform gave at start include it. It is sent again with its key
		// (charging nothing) in case that request failed.
		if within := cg.withinLimitLocked(price, -float64(count)*price); within < count {
			charged = within
		}
	} else {
		charged = min(count, cg.withinLimitLocked(price, 0))
		cg.amounts[eventName] += float64(charged) * price
	}
	res := cg.resultLocked(price, charged)
	cg.mu.Unlock()

	if charged < count && !replay {
		a.log().InfoContext(ctx, "charging this many events would exceed the maximum total charge; charged fewer",
			"event", eventName, "count", count, "charged", charged)
	}
	switch {
	case charged == 0 || !env.IsAtHome:
	case strings.HasPrefix(eventName, "apify-"):
		// Synthetic: the platform charges it from what the run does.
	case !known:
		a.log().WarnContext(ctx, "charging an event that is not in the pricing: not sent to the platform", "event", eventName)
	default:
		if env.RunID == "" {
			return res, fmt.Errorf("actor: charge: %w", ErrNoRunID)
		}
		done := a.track()
		err := c.ChargeRun(ctx, env.RunID, eventName, charged, ChargeOptions{IdempotencyKey: key})
		done()
		if err != nil {
			return res, fmt.Errorf("actor: charge %s: %w", eventName, err)
		}
	}
	return res, nil
}

// loadCharging reads the pricing, once: the error of a failed load is
// returned and the next charge tries again.
func (a *Actor) loadCharging(ctx context.Context, c *client.Client, env Environment) error {
	cg := &a.cg
	cg.mu.Lock()
	loaded := cg.loaded
	cg.mu.Unlock()
	if loaded {
		return nil
	}
	get := func(name string) string { v, _ := a.lookup(name); return strings.TrimSpace(v) }
	testPPE := get("ACTOR_TEST_PAY_PER_EVENT")
	testMode := testPPE != "" && testPPE != "0" && strings.ToLower(testPPE) != "false"
	if testMode && env.IsAtHome {
		return errors.New("actor: charge: ACTOR_TEST_PAY_PER_EVENT is only for local development, not on the platform")
	}
	maxUSD := math.Inf(1)
	if v := get("ACTOR_MAX_TOTAL_CHARGE_USD"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || math.IsNaN(f) {
			return fmt.Errorf("actor: charge: ACTOR_MAX_TOTAL_CHARGE_USD: %q is not a non-negative amount", v)
		}
		if f > 0 {
			maxUSD = f
		}
	}
	var info json.RawMessage
	counts := map[string]int{}
	switch pi, cc := get("APIFY_ACTOR_PRICING_INFO"), get("APIFY_CHARGED_ACTOR_EVENT_COUNTS"); {
	case pi != "" && cc != "":
		info = json.RawMessage(pi)
		if err := json.Unmarshal([]byte(cc), &counts); err != nil {
			return fmt.Errorf("actor: charge: APIFY_CHARGED_ACTOR_EVENT_COUNTS is not a JSON object of counts: %w", err)
		}
	case env.IsAtHome:
		if env.RunID == "" {
			return fmt.Errorf("actor: charge: %w", ErrNoRunID)
		}
		done := a.track()
		run, err := c.GetRun(ctx, env.RunID)
		done()
		if err != nil {
			return fmt.Errorf("actor: charge: reading the run's pricing: %w", err)
		}
		info = run.PricingInfo
		for k, v := range run.ChargedEventCounts {
			counts[k] = v
		}
		maxUSD = math.Inf(1)
		if m := run.Options.MaxTotalChargeUSD; m != nil && *m > 0 {
			maxUSD = *m
		}
	}
	var pricing struct {
		PricingModel    string `json:"pricingModel"`
		PricingPerEvent struct {
			ActorChargeEvents map[string]struct {
				EventPriceUSD float64 `json:"eventPriceUsd"`
			} `json:"actorChargeEvents"`
		} `json:"pricingPerEvent"`
	}
	if len(info) > 0 && string(info) != "null" {
		if err := json.Unmarshal(info, &pricing); err != nil {
			return fmt.Errorf("actor: charge: the run's pricingInfo: %w", err)
		}
	}
	prices := map[string]float64{}
	if pricing.PricingModel == PricingPayPerEvent {
		for name, ev := range pricing.PricingPerEvent.ActorChargeEvents {
			prices[name] = ev.EventPriceUSD
		}
	}
	model := pricing.PricingModel
	if testMode {
		model = PricingPayPerEvent
	}
	var state *State[chargingState]
	if model == PricingPayPerEvent {
		s, err := UseState(ctx, a, ChargingStateKey, chargingState{})
		if err != nil {
			return fmt.Errorf("actor: charge: %w", err)
		}
		state = s
	}

	cg.mu.Lock()
	defer cg.mu.Unlock()
	if cg.loaded { // another charge loaded it meanwhile
		return nil
	}
	cg.model, cg.prices, cg.max, cg.state = model, prices, maxUSD, state
	cg.amounts, cg.ordinals = map[string]float64{}, map[string]int{}
	for name, n := range counts {
		cg.amounts[name] = float64(n) * prices[name]
	}
	cg.loaded = true
	return nil
}

// totalLocked is the USD charged so far, rounded to 6 decimal places as the
// JS SDK does to keep float errors at bay.
func (cg *charging) totalLocked() float64 {
	var sum float64
	for _, v := range cg.amounts {
		sum += v
	}
	return math.Round(sum*1e6) / 1e6
}

// withinLimitLocked is how many more events of price fit in the maximum,
// with extra USD added to what was charged ([Unlimited] for a free event
// or without a maximum).
func (cg *charging) withinLimitLocked(price, extra float64) int {
	if price <= 0 || math.IsInf(cg.max, 1) {
		return Unlimited
	}
	raw := (cg.max - (cg.totalLocked() + extra)) / price
	// Round first, so that 4.9999999 counts as 5, as the JS SDK does.
	n := math.Floor(math.Round(raw*1e4) / 1e4)
	if n <= 0 {
		return 0
	}
	if n >= float64(Unlimited) {
		return Unlimited
	}
	return int(n)
}

// chargeableLocked maps every event of the pricing to how many more fit.
func (cg *charging) chargeableLocked() map[string]int {
	out := make(map[string]int, len(cg.prices))
	for name, p := range cg.prices {
		out[name] = cg.withinLimitLocked(p, 0)
	}
	return out
}

// resultLocked is the result of a charge of events of price.
func (cg *charging) resultLocked(price float64, charged int) ChargeResult {
	return ChargeResult{
		EventChargeLimitReached: cg.withinLimitLocked(price, 0) <= 0,
		ChargedCount:            charged,
		ChargeableWithinLimit:   cg.chargeableLocked(),
	}
}

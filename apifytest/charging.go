package apifytest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// Pay-per-event charging, as on the platform: a run started with pricing
// (WithPricing) has the pricingInfo, an empty chargedEventCounts and, with a
// maximum total charge, options.maxTotalChargeUsd; its process gets them as
// APIFY_ACTOR_PRICING_INFO, APIFY_CHARGED_ACTOR_EVENT_COUNTS and
// ACTOR_MAX_TOTAL_CHARGE_USD. POST /v2/actor-runs/{id}/charge adds to the
// counts, once per idempotency key. As on the platform, a charge past the
// maximum is accepted (the API does not refuse it) and the run is then
// aborted: the official JS SDK charges one event more than the budget
// allows precisely so that the platform ends the run.

// Pricing models of the platform's pricingInfo.
const (
	PricingPayPerEvent         = "PAY_PER_EVENT"
	PricingPerDatasetItem      = "PRICE_PER_DATASET_ITEM"
	PricingFlatPricePerMonth   = "FLAT_PRICE_PER_MONTH"
	PricingFree                = "FREE"
	maxPricingBytes            = 1 << 20
	maxChargeKeysPerRun        = 100_000
	maxChargeCount             = 1_000_000_000 // per request; a run's counts stay far from overflowing
	maxChargeIdempotencyKeyLen = 4096
	// chargePrecision is the precision totals are compared with, as the JS
	// SDK rounds them (to 6 decimal places).
	chargePrecision = 1e-6
)

// Pricing is how the runs a Server starts are priced.
type Pricing struct {
	// Info is the run's pricingInfo, in the platform's shape: a JSON object
	// with pricingModel (PAY_PER_EVENT, PRICE_PER_DATASET_ITEM,
	// FLAT_PRICE_PER_MONTH or FREE) and, for PAY_PER_EVENT,
	// pricingPerEvent.actorChargeEvents: each event's name mapped to an
	// object with eventPriceUsd (and eventTitle, eventDescription, ...).
	Info json.RawMessage
	// MaxTotalChargeUSD is the maximum total charge of a run started
	// without the maxTotalChargeUsd parameter; 0 means no maximum.
	MaxTotalChargeUSD float64
}

// pricing is a validated Pricing.
type pricing struct {
	info   json.RawMessage // compacted
	model  string
	prices map[string]float64 // event name → USD, PAY_PER_EVENT only
	max    float64
}

// ParsePricing reads a pricing file, as apify-local --pricing takes: either
// a pricingInfo object as the platform has it on a run, or an object
// {"pricingInfo": {...}, "maxTotalChargeUsd": 5}.
func ParsePricing(b []byte) (Pricing, error) {
	if len(b) > maxPricingBytes {
		return Pricing{}, fmt.Errorf("apifytest: pricing: larger than %d bytes", maxPricingBytes)
	}
	var wrapped struct {
		PricingInfo       json.RawMessage `json:"pricingInfo"`
		MaxTotalChargeUSD *float64        `json:"maxTotalChargeUsd"`
	}
	if err := json.Unmarshal(b, &wrapped); err != nil {
		return Pricing{}, fmt.Errorf("apifytest: pricing: not a JSON object: %w", err)
	}
	p := Pricing{Info: b}
	if wrapped.PricingInfo != nil {
		p.Info = wrapped.PricingInfo
		if wrapped.MaxTotalChargeUSD != nil {
			p.MaxTotalChargeUSD = *wrapped.MaxTotalChargeUSD
		}
	}
	if _, err := p.compile(); err != nil {
		return Pricing{}, err
	}
	return p, nil
}

// compile validates p.
func (p Pricing) compile() (*pricing, error) {
	if len(p.Info) > maxPricingBytes {
		return nil, fmt.Errorf("apifytest: pricing: pricingInfo: larger than %d bytes", maxPricingBytes)
	}
	if m := p.MaxTotalChargeUSD; m < 0 || math.IsNaN(m) || math.IsInf(m, 0) {
		return nil, fmt.Errorf("apifytest: pricing: maxTotalChargeUsd: %v is not a finite, non-negative amount", m)
	}
	var info struct {
		PricingModel    string `json:"pricingModel"`
		PricingPerEvent *struct {
			ActorChargeEvents map[string]struct {
				EventPriceUSD *float64 `json:"eventPriceUsd"`
			} `json:"actorChargeEvents"`
		} `json:"pricingPerEvent"`
	}
	if err := json.Unmarshal(p.Info, &info); err != nil {
		return nil, fmt.Errorf("apifytest: pricing: pricingInfo: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, p.Info); err != nil {
		return nil, fmt.Errorf("apifytest: pricing: pricingInfo: %w", err)
	}
	c := &pricing{info: buf.Bytes(), model: info.PricingModel, max: p.MaxTotalChargeUSD}
	switch info.PricingModel {
	case PricingPerDatasetItem, PricingFlatPricePerMonth, PricingFree:
		return c, nil
	case PricingPayPerEvent:
	default:
		return nil, fmt.Errorf("apifytest: pricing: pricingInfo.pricingModel: %q is not one of %s, %s, %s, %s",
			info.PricingModel, PricingPayPerEvent, PricingPerDatasetItem, PricingFlatPricePerMonth, PricingFree)
	}
	if info.PricingPerEvent == nil || len(info.PricingPerEvent.ActorChargeEvents) == 0 {
		return nil, fmt.Errorf("apifytest: pricing: pricingInfo.pricingPerEvent.actorChargeEvents: a PAY_PER_EVENT pricing needs at least one event")
	}
	c.prices = make(map[string]float64, len(info.PricingPerEvent.ActorChargeEvents))
	for name, ev := range info.PricingPerEvent.ActorChargeEvents {
		field := "pricingInfo.pricingPerEvent.actorChargeEvents[" + strconv.Quote(name) + "].eventPriceUsd"
		switch {
		case strings.TrimSpace(name) == "":
			return nil, fmt.Errorf("apifytest: pricing: pricingInfo.pricingPerEvent.actorChargeEvents: an event name is empty")
		case ev.EventPriceUSD == nil:
			return nil, fmt.Errorf("apifytest: pricing: %s: is required (tiered prices are not supported locally)", field)
		case *ev.EventPriceUSD < 0 || math.IsNaN(*ev.EventPriceUSD) || math.IsInf(*ev.EventPriceUSD, 0):
			return nil, fmt.Errorf("apifytest: pricing: %s: %v is not a finite, non-negative price", field, *ev.EventPriceUSD)
		}
		c.prices[name] = *ev.EventPriceUSD
	}
	return c, nil
}

// WithPricing prices every run the server starts with p: see [Pricing] and
// the package documentation's section on charging. The zero Pricing prices
// nothing; invalid pricing makes NewServer fail.
func WithPricing(p Pricing) Option {
	return func(c *config) {
		if p.Info == nil && p.MaxTotalChargeUSD == 0 {
			c.pricing = nil
			return
		}
		compiled, err := p.compile()
		if err != nil {
			c.errs = append(c.errs, err)
			return
		}
		c.pricing = compiled
	}
}

// runCharging is the pay-per-event state of a run.
type runCharging struct {
	pricing *pricing
	max     float64           // 0: none
	keys    map[[32]byte]bool // hashes of the idempotency keys charged
	total   float64           // USD charged
	aborted bool              // the run was aborted for passing max
}

// priceLocked gives run r the server's pricing, with maxUSD (or, when 0,
// the pricing's) as its maximum total charge.
func (s *Server) priceLocked(r *runRec, maxUSD float64) {
	p := s.cfg.pricing
	if p == nil {
		return
	}
	if maxUSD == 0 {
		maxUSD = p.max
	}
	r.run.PricingInfo = append(json.RawMessage(nil), p.info...)
	if maxUSD > 0 {
		m := maxUSD
		r.run.Options.MaxTotalChargeUSD = &m
	}
	if p.model != PricingPayPerEvent {
		return
	}
	r.charging = &runCharging{pricing: p, max: maxUSD, keys: map[[32]byte]bool{}}
	r.run.ChargedEventCounts = map[string]int{}
	s.chargeStartLocked(r)
}

// chargingEnvLocked returns the charging variables of r's environment.
func (r *runRec) chargingEnvLocked() []string {
	var env []string
	if m := r.run.Options.MaxTotalChargeUSD; m != nil {
		env = append(env, "ACTOR_MAX_TOTAL_CHARGE_USD="+strconv.FormatFloat(*m, 'f', -1, 64))
	}
	if r.run.PricingInfo != nil {
		counts := r.run.ChargedEventCounts
		if counts == nil {
			counts = map[string]int{}
		}
		b, _ := json.Marshal(counts) // a map[string]int always encodes
		env = append(env, "APIFY_ACTOR_PRICING_INFO="+string(r.run.PricingInfo), "APIFY_CHARGED_ACTOR_EVENT_COUNTS="+string(b))
	}
	return env
}

// parseMaxTotalCharge reads the maxTotalChargeUsd parameter of a run start.
func parseMaxTotalCharge(v string) (float64, *Error) {
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, &Error{StatusCode: http.StatusBadRequest, Type: "max-total-charge-usd-must-be-greater-than-zero",
			Message: "Parameter maxTotalChargeUsd must be a number greater than zero, not " + strconv.Quote(v)}
	}
	return f, nil
}

// handleChargeRun serves POST /v2/actor-runs/{id}/charge.
func (s *Server) handleChargeRun(w http.ResponseWriter, r *http.Request, u *user) {
	var in struct {
		EventName *string `json:"eventName"`
		Count     *int    `json:"count"`
	}
	if e := readJSON(r, &in); e != nil {
		writeError(w, e)
		return
	}
	switch {
	case in.EventName == nil || strings.TrimSpace(*in.EventName) == "":
		writeError(w, badRequest("eventName: is required"))
		return
	case in.Count == nil:
		writeError(w, badRequest("count: is required"))
		return
	case *in.Count < 1 || *in.Count > maxChargeCount:
		writeError(w, badRequest("count: must be an integer from 1 to %d, not %d", maxChargeCount, *in.Count))
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxChargeIdempotencyKeyLen {
		writeError(w, &Error{StatusCode: http.StatusBadRequest, Type: "invalid-idempotency-key",
			Message: fmt.Sprintf("The idempotency key is longer than %d characters", maxChargeIdempotencyKeyLen)})
		return
	}
	var charged *Error
	_, e := s.withRun(u, r.PathValue("id"), func(run *runRec) {
		charged = s.chargeLocked(run, *in.EventName, *in.Count, key)
	})
	if e = cmpErr(e, charged); e != nil {
		writeError(w, e)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte("{}"))
}

func cmpErr(a, b *Error) *Error {
	if a != nil {
		return a
	}
	return b
}

// chargeLocked charges run r for count events, once per idempotency key,
// and aborts it when its total passes its maximum.
func (s *Server) chargeLocked(r *runRec, event string, count int, key string) *Error {
	c := r.charging
	switch {
	case c == nil:
		return &Error{StatusCode: http.StatusBadRequest, Type: "cannot-charge-non-pay-per-event-actor",
			Message: "Actor run " + r.run.ID + " is not a run of a pay-per-event Actor"}
	case strings.HasPrefix(event, "apify-"):
		return &Error{StatusCode: http.StatusBadRequest, Type: "cannot-charge-apify-event",
			Message: "Event " + strconv.Quote(event) + " is system event and cannot be charged."}
	case r.run.Status.IsTerminal():
		return &Error{StatusCode: http.StatusConflict, Type: typeRunFinished,
			Message: "Actor run " + r.run.ID + " has already finished with status " + string(r.run.Status)}
	}
	price, ok := c.pricing.prices[event]
	if !ok {
		return badRequest("eventName: %q is not an event of the Actor's pricing", event)
	}
	var h [32]byte
	if key != "" {
		h = sha256.Sum256([]byte(key))
		if c.keys[h] {
			return nil // charged already: the same result, no second charge
		}
		if len(c.keys) >= maxChargeKeysPerRun {
			return &Error{StatusCode: http.StatusBadRequest, Type: "invalid-idempotency-key",
				Message: fmt.Sprintf("the run has used %d idempotency keys, the local platform's limit", maxChargeKeysPerRun)}
		}
		c.keys[h] = true
	}
	s.addChargeLocked(r, event, count, price, true)
	return nil
}

// addChargeLocked adds count events of price to run r's charges and, when
// abort is set and the total passes the run's maximum, aborts the run.
func (s *Server) addChargeLocked(r *runRec, event string, count int, price float64, abort bool) {
	c := r.charging
	// A new map: a copy of r.run is a snapshot (see runRec).
	counts := maps.Clone(r.run.ChargedEventCounts)
	counts[event] += count
	r.run.ChargedEventCounts = counts
	c.total += float64(count) * price
	s.log.Info("apifytest: run charged", "run", r.run.ID, "event", event, "count", count, "totalUsd", c.total)
	if abort && c.max > 0 && c.total > c.max+chargePrecision && !c.aborted {
		c.aborted = true
		s.log.Warn("apifytest: the run's charges exceed its maximum total charge; aborting it",
			"run", r.run.ID, "totalUsd", c.total, "maxTotalChargeUsd", c.max)
		s.abortLocked(r)
	}
}

// The synthetic events that the platform charges itself, when the pricing
// has them.
const (
	// actorStartEvent is charged when a run starts or is resurrected: one
	// event per GB of memory, at least one.
	actorStartEvent = "apify-actor-start"
	// datasetItemEvent is charged for each item pushed to a run's default
	// dataset.
	datasetItemEvent = "apify-default-dataset-item"
)

// chargeStartLocked charges run r's start or resurrection, if its pricing
// has the event; the maximum is enforced again from there.
func (s *Server) chargeStartLocked(r *runRec) {
	if r.charging == nil {
		return
	}
	r.charging.aborted = false
	if price, ok := r.charging.pricing.prices[actorStartEvent]; ok {
		s.addChargeLocked(r, actorStartEvent, max(1, r.run.Options.MemoryMbytes/1024), price, false)
	}
}

// chargeItemsLocked charges n items pushed to dataset st when it is the
// default dataset of a run whose pricing has the event.
func (s *Server) chargeItemsLocked(st *storage, n int) {
	r, ok := s.runs[st.runID]
	if !ok || r.charging == nil || r.run.DefaultDatasetID != st.id || n == 0 || r.run.Status.IsTerminal() {
		return
	}
	if price, ok := r.charging.pricing.prices[datasetItemEvent]; ok {
		s.addChargeLocked(r, datasetItemEvent, n, price, true)
	}
}

package client

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Bounds of a charge's fields, checked before anything is sent.
const (
	// MaxEventNameBytes bounds the event name of [Client.ChargeRun].
	MaxEventNameBytes = 1024
	// MaxIdempotencyKeyBytes bounds [ChargeOptions.IdempotencyKey].
	MaxIdempotencyKeyBytes = 4096
)

// ChargeOptions configure [Client.ChargeRun].
type ChargeOptions struct {
	// IdempotencyKey identifies the charge: the platform charges a run once
	// for all requests with the same key, so that a repeated request (a
	// retry, a replay after a restart) is not charged again. Empty means a
	// random key made for this call and sent on each of its retries: a
	// retried request is charged once, but a call made again (after a
	// restart) is a new charge — give a key derived from the work to make
	// replays safe, as [actor.Actor.Charge] does.
	IdempotencyKey string
}

// ChargeRun charges a pay-per-event run for count events of eventName
// (POST /v2/actor-runs/{id}/charge, answered with 201). The event must be
// one of the Actor's pricing; the platform refuses the synthetic events
// whose names start with "apify-" (they are charged from dataset writes)
// and runs of Actors that are not pay-per-event. The platform does not check
// the run's maximum total charge: the caller must (the SDK's Charge does).
//
// Every request carries an idempotency key (o.IdempotencyKey, or a random
// one), so it is retried as an idempotent one: the platform charges a key
// once. A count below 1, an empty event name, or a field too long or with control
// characters is an error, and nothing is sent.
func (c *Client) ChargeRun(ctx context.Context, runID, eventName string, count int, o ChargeOptions) error {
	p, err := pathID("run ID", runID)
	if err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(eventName) == "":
		return errors.New("client: ChargeRun: eventName: is empty")
	case len(eventName) > MaxEventNameBytes:
		return fmt.Errorf("client: ChargeRun: eventName: is longer than %d bytes", MaxEventNameBytes)
	case count < 1:
		return fmt.Errorf("client: ChargeRun: count: %d is not a positive number of events", count)
	case len(o.IdempotencyKey) > MaxIdempotencyKeyBytes:
		return fmt.Errorf("client: ChargeRun: ChargeOptions.IdempotencyKey: is longer than %d bytes", MaxIdempotencyKeyBytes)
	case hasCTL(o.IdempotencyKey) || strings.TrimSpace(o.IdempotencyKey) != o.IdempotencyKey:
		return errors.New("client: ChargeRun: ChargeOptions.IdempotencyKey: has control characters or surrounding spaces")
	}
	body, err := json.Marshal(struct {
		EventName string `json:"eventName"`
		Count     int    `json:"count"`
	}{eventName, count})
	if err != nil {
		return fmt.Errorf("client: ChargeRun: %w", err)
	}
	key := o.IdempotencyKey
	if key == "" {
		key = rand.Text()
	}
	_, err = c.do(ctx, &request{
		method: "POST", path: "/v2/actor-runs/" + p + "/charge",
		body: body, contentType: "application/json", policy: retryIdempotent,
		header: http.Header{"Idempotency-Key": {key}},
	})
	return err
}

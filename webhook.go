package actor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"

	"github.com/go-apify/actor/client"
)

// EventType is the type of platform event that triggers a webhook.
type EventType = client.EventType

// The webhook event types of the Apify platform, re-exported from package
// client so that Actor code needs only this package.
const (
	EventActorRunCreated     = client.EventActorRunCreated
	EventActorRunSucceeded   = client.EventActorRunSucceeded
	EventActorRunFailed      = client.EventActorRunFailed
	EventActorRunTimedOut    = client.EventActorRunTimedOut
	EventActorRunAborted     = client.EventActorRunAborted
	EventActorRunResurrected = client.EventActorRunResurrected

	EventActorBuildCreated   = client.EventActorBuildCreated
	EventActorBuildSucceeded = client.EventActorBuildSucceeded
	EventActorBuildFailed    = client.EventActorBuildFailed
	EventActorBuildTimedOut  = client.EventActorBuildTimedOut
	EventActorBuildAborted   = client.EventActorBuildAborted

	EventTest = client.EventTest
)

// Webhook defines a webhook: for [Actor.AddWebhook], an ad-hoc webhook bound
// to this run that fires when one of its events happens to it; in
// [StartOptions.Webhooks], one of the new run's. It is
// [client.WebhookDefinition], whose fields and [client.WebhookDefinition.Validate]
// have the details; [Actor.AddWebhook] derives an IdempotencyKey when it is
// empty, [Actor.Start] sends none.
type Webhook = client.WebhookDefinition

// ErrInvalidWebhook is matched, with errors.Is, by every error that reports
// a webhook definition that fails validation. It is
// [client.ErrInvalidWebhook].
var ErrInvalidWebhook = client.ErrInvalidWebhook

// ValidationError reports a webhook definition that fails validation: which
// field and why. It matches [ErrInvalidWebhook] with errors.Is; a template
// error is reachable with errors.As as a *[TemplateError]. It is
// [client.ValidationError].
type ValidationError = client.ValidationError

// defaultIdempotencyKey returns the key AddWebhook sends when the caller
// gives none: "<runID>-<16 hex digits>", the digits being the start of the
// SHA-256 of a length-prefixed encoding of the definition's behaviour
// (sorted, deduplicated event types; request URL; payload and headers
// templates; the three flags). The description is left out: it is a label
// that changes nothing the platform does.
func defaultIdempotencyKey(runID string, w Webhook) string {
	types := make([]string, 0, len(w.EventTypes))
	for _, e := range w.EventTypes {
		types = append(types, string(e))
	}
	slices.Sort(types)
	types = slices.Compact(types)

	b := make([]byte, 0, 128+len(w.RequestURL)+len(w.PayloadTemplate)+len(w.HeadersTemplate))
	b = appendField(b, strconv.Itoa(len(types)))
	for _, t := range types {
		b = appendField(b, t)
	}
	b = appendField(b, w.RequestURL)
	b = appendField(b, w.PayloadTemplate)
	b = appendField(b, w.HeadersTemplate)
	b = appendField(b, strconv.FormatBool(w.ShouldInterpolateStrings))
	b = appendField(b, strconv.FormatBool(w.IgnoreSSLErrors))
	b = appendField(b, strconv.FormatBool(w.DoNotRetry))
	sum := sha256.Sum256(b)
	return runID + "-" + hex.EncodeToString(sum[:8])
}

// appendField appends s as "<length>:<s>", so that no two lists of fields
// encode alike.
func appendField(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// AddWebhook adds an ad-hoc webhook to the current Actor run: it fires when
// one of w.EventTypes happens to this run.
//
// It first validates w ([client.WebhookDefinition.Validate]); an invalid definition is an
// error matching [ErrInvalidWebhook] and nothing is sent. On the platform it
// then sends POST /v2/webhooks with isAdHoc true, the condition
// {"actorRunId": <this run>} and the definition, and returns the created
// webhook; without a run ID in the environment it returns an error matching
// [ErrNoRunID].
//
// Off the platform ([Environment.IsAtHome] false) it sends nothing, logs a warning
// that the webhook will not be invoked, and returns a nil webhook and a nil
// error, as the official SDKs do. Run the Actor with `apify-local run` to
// have its webhooks delivered locally.
//
// When w.IdempotencyKey is empty, the key sent is "<run ID>-<digest>", the
// digest being 16 hex digits of the SHA-256 of w's event types (sorted,
// deduplicated), request URL, templates and flags; the description is not
// part of it. An Actor that restarts or migrates within the run and adds the
// same webhook again so gets the existing webhook back, while a different
// webhook added in the same run gets a different key and is created — the
// bare run ID would return the first webhook for both. A key given by the
// caller is sent as is.
func (a *Actor) AddWebhook(ctx context.Context, w Webhook) (*client.Webhook, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	c, env, err := a.ready(ctx)
	if err != nil {
		return nil, err
	}
	if !env.IsAtHome {
		a.log().WarnContext(ctx, "the webhook will not be invoked: AddWebhook only creates webhooks when the Actor runs on the Apify platform; "+
			"run it with `apify-local run` to have webhooks delivered locally",
			"requestUrl", w.RequestURL, "eventTypes", w.EventTypes)
		return nil, nil
	}
	if env.RunID == "" {
		return nil, fmt.Errorf("actor: add webhook: %w", ErrNoRunID)
	}
	key := w.IdempotencyKey
	if key == "" {
		key = defaultIdempotencyKey(env.RunID, w)
	}
	done := a.track()
	defer done()
	w.IdempotencyKey = key
	created, err := c.CreateWebhook(ctx, client.WebhookCondition{ActorRunID: env.RunID}, w)
	if err != nil {
		return nil, fmt.Errorf("actor: add webhook: %w", err)
	}
	return created, nil
}

// EncodeWebhooks returns the value of the webhooks URL parameter of a run
// start for ws (base64 of a JSON array, as the official clients send it),
// or "" for none. Each webhook is validated as by [Actor.Start] first. It
// is [client.EncodeWebhooks].
func EncodeWebhooks(ws []Webhook) (string, error) { return client.EncodeWebhooks(ws) }

// DecodeWebhooks parses a webhooks URL parameter, as the official clients
// produce it (standard or URL-safe base64, padded or not). It checks the
// encoding, not the definitions: call [client.WebhookDefinition.Validate]
// or [EncodeWebhooks] for that. An empty string gives no webhooks. It is
// [client.DecodeWebhooks].
func DecodeWebhooks(s string) ([]Webhook, error) { return client.DecodeWebhooks(s) }

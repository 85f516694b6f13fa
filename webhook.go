package actor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"sync"

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

// Webhook defines an ad-hoc webhook: a webhook bound to one Actor run that
// fires when one of its events happens to that run.
type Webhook struct {
	// EventTypes are the events that fire the webhook; at least one.
	EventTypes []EventType
	// RequestURL is where the platform POSTs: an absolute http or https URL.
	RequestURL string
	// PayloadTemplate is the request body's template; empty means the
	// platform's default ([DefaultPayloadTemplate]).
	PayloadTemplate string
	// HeadersTemplate is a template of a JSON object of extra request
	// headers, whose values must be strings; empty means none.
	HeadersTemplate string
	// ShouldInterpolateStrings makes the platform also replace {{variables}}
	// inside the templates' string values.
	ShouldInterpolateStrings bool
	// IdempotencyKey makes creating the webhook idempotent. Left empty,
	// [Actor.AddWebhook] derives one (see there); [Actor.Start] sends none.
	IdempotencyKey string
	// IgnoreSSLErrors makes the platform accept any TLS certificate of the
	// request URL.
	IgnoreSSLErrors bool
	// DoNotRetry makes the platform give up after the first failed request.
	DoNotRetry bool
	// Description is shown in the Apify Console. Only [Actor.AddWebhook]
	// can send it: the webhooks parameter of a run start has no such field.
	Description string
}

// ErrInvalidWebhook is matched, with errors.Is, by every error that reports
// a webhook definition that fails validation.
var ErrInvalidWebhook = errors.New("invalid webhook")

// ValidationError reports a webhook definition that fails validation: which
// field and why. It matches [ErrInvalidWebhook] with errors.Is; a template
// error is reachable with errors.As as a *[TemplateError].
type ValidationError struct {
	// Field is the field's JSON name (requestUrl, eventTypes[1], ...),
	// prefixed with webhooks[i]. when the webhook is one of several.
	Field string
	// Reason says what is wrong with it.
	Reason string
	// Err is the underlying error, if any (a *TemplateError for templates).
	Err error
}

// Error returns "invalid webhook: <field>: <reason>".
func (e *ValidationError) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrInvalidWebhook, e.Field, e.Reason)
}

// Is reports whether target is [ErrInvalidWebhook].
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidWebhook }

// Unwrap returns the underlying error.
func (e *ValidationError) Unwrap() error { return e.Err }

// Validate checks the definition the way [Actor.AddWebhook] does before it
// sends anything: at least one event type, each a run event that can still
// fire for a running Actor (ACTOR.RUN.SUCCEEDED, FAILED, TIMED_OUT, ABORTED
// or RESURRECTED; not ACTOR.RUN.CREATED, which has already happened, nor
// build events, nor TEST); the request URL an absolute http or https URL
// with a host; valid payload and headers templates ([ParsePayloadTemplate],
// [ParseHeadersTemplate]), the headers template being a JSON object whose
// values are strings: each placeholder value must render to a string (or
// null) for the variables of a sample run event. Every failure is a
// *[ValidationError].
func (w Webhook) Validate() error {
	return w.validate(true)
}

// validateAll checks webhooks for a new run: as Validate, except that
// ACTOR.RUN.CREATED is allowed and Description is not (the webhooks
// parameter cannot carry it).
func validateAll(ws []Webhook) error {
	for i, w := range ws {
		if err := w.validate(false); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				ve.Field = "webhooks[" + strconv.Itoa(i) + "]." + ve.Field
			}
			return err
		}
	}
	return nil
}

func (w Webhook) validate(forOwnRun bool) error {
	if len(w.EventTypes) == 0 {
		return &ValidationError{Field: "eventTypes", Reason: "at least one event type is required"}
	}
	for i, e := range w.EventTypes {
		field := "eventTypes[" + strconv.Itoa(i) + "]"
		switch {
		case !e.IsKnown():
			return &ValidationError{Field: field, Reason: fmt.Sprintf("unknown event type %q", e)}
		case !e.IsRunEvent():
			return &ValidationError{Field: field, Reason: fmt.Sprintf("%s is not an Actor run event; an ad-hoc webhook of a run fires only on ACTOR.RUN.* events", e)}
		case forOwnRun && e == EventActorRunCreated:
			return &ValidationError{Field: field, Reason: "ACTOR.RUN.CREATED cannot fire: this run has already been created"}
		}
	}
	if err := validateRequestURL(w.RequestURL); err != nil {
		return err
	}
	if err := w.validateTemplates(); err != nil {
		return err
	}
	if !forOwnRun && w.Description != "" {
		return &ValidationError{Field: "description", Reason: "the webhooks parameter of a run start cannot carry a description; leave it empty"}
	}
	return nil
}

func (w Webhook) validateTemplates() error {
	opts := TemplateOptions{InterpolateStrings: w.ShouldInterpolateStrings}
	if w.PayloadTemplate != "" {
		if _, err := ParsePayloadTemplate(w.PayloadTemplate, opts); err != nil {
			return &ValidationError{Field: "payloadTemplate", Reason: err.Error(), Err: err}
		}
	}
	if w.HeadersTemplate != "" {
		t, err := ParseHeadersTemplate(w.HeadersTemplate, opts)
		if err == nil {
			_, err = t.RenderHeaders(sampleVariables())
		}
		if err != nil {
			return &ValidationError{Field: "headersTemplate", Reason: err.Error(), Err: err}
		}
	}
	return nil
}

// sampleVariables are the template variables of a typical run event, with
// which validation renders headers templates: a placeholder that renders to
// an object, an array, a number or true for them is rejected.
var sampleVariables = sync.OnceValue(func() map[string]any {
	const started, finished = "2025-01-02T03:04:05.000Z", "2025-01-02T03:05:05.000Z"
	return map[string]any{
		"userId":    "sampleUserId",
		"createdAt": finished,
		"eventType": string(EventActorRunSucceeded),
		"eventData": map[string]any{"actorId": "sampleActorId", "actorTaskId": "sampleTaskId", "actorRunId": "sampleRunId"},
		"resource": map[string]any{
			"id": "sampleRunId", "actId": "sampleActorId", "userId": "sampleUserId", "actorTaskId": "sampleTaskId",
			"startedAt": started, "finishedAt": finished, "status": string(client.StatusSucceeded), "statusMessage": "Done",
			"meta":    map[string]any{"origin": "API"},
			"stats":   map[string]any{"restartCount": 0.0, "resurrectCount": 0.0, "durationMillis": 60000.0, "runTimeSecs": 60.0, "computeUnits": 0.1},
			"options": map[string]any{"build": "latest", "timeoutSecs": 3600.0, "memoryMbytes": 1024.0, "diskMbytes": 2048.0},
			"buildId": "sampleBuildId", "buildNumber": "0.0.1", "exitCode": 0.0,
			"defaultKeyValueStoreId": "sampleKeyValueStoreId", "defaultDatasetId": "sampleDatasetId",
			"defaultRequestQueueId": "sampleRequestQueueId", "containerUrl": "https://sample.runs.apify.net",
		},
		"globals": map[string]any{"dateISO": finished, "dateUnix": 1735787105.0},
	}
})

func validateRequestURL(s string) error {
	if s == "" {
		return &ValidationError{Field: "requestUrl", Reason: "is required"}
	}
	u, err := url.Parse(s)
	if err != nil {
		return &ValidationError{Field: "requestUrl", Reason: "not a valid URL", Err: err}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return &ValidationError{Field: "requestUrl", Reason: fmt.Sprintf("must be an absolute http or https URL, not scheme %q", u.Scheme)}
	}
	if u.Hostname() == "" {
		return &ValidationError{Field: "requestUrl", Reason: "has no host"}
	}
	return nil
}

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
// It first validates w ([Webhook.Validate]); an invalid definition is an
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
	created, err := c.CreateWebhook(ctx, client.WebhookCreate{
		IsAdHoc:                  true,
		EventTypes:               w.EventTypes,
		Condition:                client.WebhookCondition{ActorRunID: env.RunID},
		IdempotencyKey:           key,
		IgnoreSSLErrors:          w.IgnoreSSLErrors,
		DoNotRetry:               w.DoNotRetry,
		RequestURL:               w.RequestURL,
		PayloadTemplate:          w.PayloadTemplate,
		HeadersTemplate:          w.HeadersTemplate,
		Description:              w.Description,
		ShouldInterpolateStrings: w.ShouldInterpolateStrings,
	})
	if err != nil {
		return nil, fmt.Errorf("actor: add webhook: %w", err)
	}
	return created, nil
}

func toAdHoc(ws []Webhook) []client.AdHocWebhook {
	if len(ws) == 0 {
		return nil
	}
	out := make([]client.AdHocWebhook, len(ws))
	for i, w := range ws {
		out[i] = client.AdHocWebhook{
			EventTypes:               w.EventTypes,
			RequestURL:               w.RequestURL,
			PayloadTemplate:          w.PayloadTemplate,
			HeadersTemplate:          w.HeadersTemplate,
			ShouldInterpolateStrings: w.ShouldInterpolateStrings,
			IdempotencyKey:           w.IdempotencyKey,
			IgnoreSSLErrors:          w.IgnoreSSLErrors,
			DoNotRetry:               w.DoNotRetry,
		}
	}
	return out
}

// EncodeWebhooks returns the value of the webhooks URL parameter of a run
// start for ws (base64 of a JSON array, as the official clients send it),
// or "" for none. Each webhook is validated as by [Actor.Start] first.
func EncodeWebhooks(ws []Webhook) (string, error) {
	if err := validateAll(ws); err != nil {
		return "", err
	}
	s, err := client.EncodeWebhooks(toAdHoc(ws))
	if err != nil {
		return "", fmt.Errorf("actor: encode webhooks: %w", err)
	}
	return s, nil
}

// DecodeWebhooks parses a webhooks URL parameter, as the official clients
// produce it (standard or URL-safe base64, padded or not). It checks the
// encoding, not the definitions: call [Webhook.Validate] or [EncodeWebhooks]
// for that. An empty string gives no webhooks.
func DecodeWebhooks(s string) ([]Webhook, error) {
	ahs, err := client.DecodeWebhooks(s)
	if err != nil {
		return nil, fmt.Errorf("actor: decode webhooks: %w", err)
	}
	if len(ahs) == 0 {
		return nil, nil
	}
	out := make([]Webhook, len(ahs))
	for i, ah := range ahs {
		out[i] = Webhook{
			EventTypes:               ah.EventTypes,
			RequestURL:               ah.RequestURL,
			PayloadTemplate:          ah.PayloadTemplate,
			HeadersTemplate:          ah.HeadersTemplate,
			ShouldInterpolateStrings: ah.ShouldInterpolateStrings,
			IdempotencyKey:           ah.IdempotencyKey,
			IgnoreSSLErrors:          ah.IgnoreSSLErrors,
			DoNotRetry:               ah.DoNotRetry,
		}
	}
	return out, nil
}

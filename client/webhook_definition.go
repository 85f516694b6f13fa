package client

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"

	"github.com/go-apify/actor/internal/payloadtemplate"
)

// WebhookDefinition is what defines a webhook: the one type for every way to
// create one. It is the body of CreateWebhook (with a condition), an item of
// StartOptions.Webhooks (the webhooks= parameter of a run start) and, in the
// root package, actor.Webhook for AddWebhook. A Webhook as the platform
// returns it embeds it. Empty fields are left out of the JSON.
type WebhookDefinition struct {
	// EventTypes are the events that fire the webhook; at least one.
	EventTypes []EventType `json:"eventTypes"`
	// RequestURL is where the platform POSTs: an absolute http or https URL.
	RequestURL string `json:"requestUrl"`
	// PayloadTemplate is the request body's template; empty means the
	// platform's default (the root package's DefaultPayloadTemplate).
	PayloadTemplate string `json:"payloadTemplate,omitempty"`
	// HeadersTemplate is a template of a JSON object of extra request
	// headers, whose values must be strings; empty means none.
	HeadersTemplate string `json:"headersTemplate,omitempty"`
	// ShouldInterpolateStrings makes the platform also replace {{variables}}
	// inside the templates' string values.
	ShouldInterpolateStrings bool `json:"shouldInterpolateStrings,omitempty"`
	// IdempotencyKey makes creating the webhook idempotent: calls with the
	// same key return the webhook the first one created. At most
	// MaxIdempotencyKeyLen bytes. CreateWebhook generates one when it is
	// empty; the platform does not return it with a stored webhook.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	// IgnoreSSLErrors makes the platform accept any TLS certificate of the
	// request URL.
	IgnoreSSLErrors bool `json:"ignoreSslErrors,omitempty"`
	// DoNotRetry makes the platform give up after the first failed request.
	DoNotRetry bool `json:"doNotRetry,omitempty"`
	// Description is shown in the Apify Console. The webhooks parameter of a
	// run start has no such field, so StartOptions.Webhooks refuse it.
	Description string `json:"description,omitempty"`
}

// MaxIdempotencyKeyLen is the longest idempotency key the platform accepts,
// in bytes; a longer one is refused before anything is sent.
const MaxIdempotencyKeyLen = 256

// ErrInvalidWebhook is matched, with errors.Is, by every error that reports
// a webhook definition that fails validation.
var ErrInvalidWebhook = errors.New("invalid webhook")

// ValidationError reports a webhook definition that fails validation: which
// field and why. Nothing was sent. It matches ErrInvalidWebhook with
// errors.Is; a template error is reachable with errors.As as the root
// package's *actor.TemplateError.
type ValidationError struct {
	// Field is the field's JSON name (requestUrl, eventTypes[1], ...),
	// prefixed with webhooks[i]. when the webhook is one of several.
	Field string
	// Reason says what is wrong with it.
	Reason string
	// Err is the underlying error, if any (a template error for templates).
	Err error
}

// Error returns "invalid webhook: <field>: <reason>".
func (e *ValidationError) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrInvalidWebhook, e.Field, e.Reason)
}

// Is reports whether target is ErrInvalidWebhook.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidWebhook }

// Unwrap returns the underlying error.
func (e *ValidationError) Unwrap() error { return e.Err }

// webhookUse is what a definition is validated for: which events can fire
// and which fields the request can carry.
type webhookUse uint8

const (
	// forRun is an ad-hoc webhook of a run that exists (AddWebhook,
	// CreateWebhook with a run ID): run events other than
	// ACTOR.RUN.CREATED, which has already happened.
	forRun webhookUse = iota
	// forStart is an ad-hoc webhook of a run being started (the webhooks
	// parameter): every run event, and no description.
	forStart
	// forCondition is a webhook of an Actor or task: any known event.
	forCondition
)

// Validate checks the definition of an ad-hoc webhook of a running run, as
// AddWebhook does before it sends anything: at least one event type, each a
// run event that can still fire for a running Actor (ACTOR.RUN.SUCCEEDED,
// FAILED, TIMED_OUT, ABORTED or RESURRECTED; not ACTOR.RUN.CREATED, which
// has already happened, nor build events, nor TEST); the request URL an
// absolute http or https URL with a host; an idempotency key of at most
// MaxIdempotencyKeyLen bytes; valid payload and headers templates (parsed as
// the root package's ParsePayloadTemplate and ParseHeadersTemplate do), the
// headers template being a JSON object whose values are strings: each
// placeholder value must render to a string (or null) for the variables of a
// sample run event. Every failure is a *ValidationError.
func (d WebhookDefinition) Validate() error { return d.validate(forRun) }

func (d WebhookDefinition) validate(use webhookUse) error {
	if len(d.EventTypes) == 0 {
		return &ValidationError{Field: "eventTypes", Reason: "at least one event type is required"}
	}
	for i, e := range d.EventTypes {
		field := "eventTypes[" + strconv.Itoa(i) + "]"
		switch {
		case !e.IsKnown():
			return &ValidationError{Field: field, Reason: fmt.Sprintf("unknown event type %q", e)}
		case use != forCondition && !e.IsRunEvent():
			return &ValidationError{Field: field, Reason: fmt.Sprintf("%s is not an Actor run event; an ad-hoc webhook of a run fires only on ACTOR.RUN.* events", e)}
		case use == forRun && e == EventActorRunCreated:
			return &ValidationError{Field: field, Reason: "ACTOR.RUN.CREATED cannot fire: this run has already been created"}
		}
	}
	if err := validateRequestURL(d.RequestURL); err != nil {
		return err
	}
	if n := len(d.IdempotencyKey); n > MaxIdempotencyKeyLen {
		return &ValidationError{Field: "idempotencyKey", Reason: fmt.Sprintf("is %d bytes long; the platform allows at most %d", n, MaxIdempotencyKeyLen)}
	}
	if err := validateTemplates(d.PayloadTemplate, d.HeadersTemplate, payloadtemplate.Options{InterpolateStrings: d.ShouldInterpolateStrings}); err != nil {
		return err
	}
	if use == forStart && d.Description != "" {
		return &ValidationError{Field: "description", Reason: "the webhooks parameter of a run start cannot carry a description; leave it empty"}
	}
	return nil
}

// validateStart checks the webhooks of a run start: as Validate, except that
// ACTOR.RUN.CREATED is allowed and Description is not.
func validateStart(ws []WebhookDefinition) error {
	for i, w := range ws {
		if err := w.validate(forStart); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				ve.Field = "webhooks[" + strconv.Itoa(i) + "]." + ve.Field
			}
			return err
		}
	}
	return nil
}

// validateTemplates checks the templates that are not empty.
func validateTemplates(payload, headers string, opts payloadtemplate.Options) error {
	if payload != "" {
		if _, err := payloadtemplate.Parse(payload, opts); err != nil {
			return &ValidationError{Field: "payloadTemplate", Reason: err.Error(), Err: err}
		}
	}
	if headers != "" {
		t, err := payloadtemplate.ParseHeaders(headers, opts)
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
			"startedAt": started, "finishedAt": finished, "status": string(StatusSucceeded), "statusMessage": "Done",
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

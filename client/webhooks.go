package client

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strconv"

	"github.com/go-apify/actor/internal/payloadtemplate"
)

// CreateWebhook creates a webhook (POST /v2/webhooks) bound by cond and
// returns it as stored. A condition with a run ID makes it an ad-hoc webhook
// of that run (isAdHoc), validated as WebhookDefinition.Validate does; with
// an Actor or task ID it may fire on any known event. An invalid definition
// or an empty condition is a *ValidationError and nothing is sent.
//
// The request always carries an idempotency key, so that retrying it can never
// create a second webhook: def.IdempotencyKey when given, or else a random key
// generated once for this call and sent on every attempt. Calls with the same
// key return the webhook the first one created.
func (c *Client) CreateWebhook(ctx context.Context, cond WebhookCondition, def WebhookDefinition) (*Webhook, error) {
	use := forCondition
	switch {
	case cond == (WebhookCondition{}):
		return nil, &ValidationError{Field: "condition", Reason: "an Actor, task or run ID is required"}
	case cond.ActorRunID != "":
		use = forRun
	}
	if err := def.validate(use); err != nil {
		return nil, err
	}
	if def.IdempotencyKey == "" {
		def.IdempotencyKey = rand.Text()
	}
	body, err := json.Marshal(struct {
		IsAdHoc   bool             `json:"isAdHoc,omitempty"`
		Condition WebhookCondition `json:"condition"`
		WebhookDefinition
	}{use == forRun, cond, def})
	if err != nil {
		return nil, fmt.Errorf("client: CreateWebhook: %w", err)
	}
	return doData[Webhook](ctx, c, &request{
		method: "POST", path: "/v2/webhooks",
		body: body, contentType: "application/json",
		policy: retryIdempotent,
	})
}

// GetWebhook returns the webhook with the given ID (GET /v2/webhooks/{id}). A
// webhook that does not exist is an *APIError for which IsNotFound is true.
func (c *Client) GetWebhook(ctx context.Context, id string) (*Webhook, error) {
	p, err := pathID("webhook ID", id)
	if err != nil {
		return nil, err
	}
	return doData[Webhook](ctx, c, &request{method: "GET", path: "/v2/webhooks/" + p, policy: retryIdempotent})
}

// UpdateWebhook changes the fields of a webhook that u sets (PUT
// /v2/webhooks/{id}) and returns the webhook as stored. The fields u sets
// are validated as for CreateWebhook (a *ValidationError, nothing sent);
// the templates with u.ShouldInterpolateStrings, false when it is nil.
func (c *Client) UpdateWebhook(ctx context.Context, id string, u WebhookUpdate) (*Webhook, error) {
	p, err := pathID("webhook ID", id)
	if err != nil {
		return nil, err
	}
	if err := u.validate(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(u)
	if err != nil {
		return nil, fmt.Errorf("client: WebhookUpdate: %w", err)
	}
	return doData[Webhook](ctx, c, &request{
		method: "PUT", path: "/v2/webhooks/" + p,
		body: body, contentType: "application/json",
		policy: retryIdempotent,
	})
}

// DeleteWebhook deletes a webhook (DELETE /v2/webhooks/{id}). Deleting a
// webhook that does not exist is an *APIError for which IsNotFound is true,
// except on a retry: an earlier attempt whose response was lost may have
// deleted it, so a 404 after a retry counts as success.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	p, err := pathID("webhook ID", id)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, &request{method: "DELETE", path: "/v2/webhooks/" + p, policy: retryIdempotent})
	var ae *APIError
	if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound && ae.Attempts > 1 {
		return nil
	}
	return err
}

// ListWebhooks returns one page of the user's webhooks (GET /v2/webhooks).
func (c *Client) ListWebhooks(ctx context.Context, o ListOptions) (*Page[Webhook], error) {
	return list[Webhook](ctx, c, "/v2/webhooks", o)
}

// AllWebhooks iterates over all the user's webhooks from o.Offset on, fetching
// pages of o.Limit items (platform default when 0) as it goes. An error ends
// the iteration after being yielded.
func (c *Client) AllWebhooks(ctx context.Context, o ListOptions) iter.Seq2[Webhook, error] {
	return all[Webhook](ctx, c, "/v2/webhooks", o)
}

// TestWebhook makes the platform dispatch a test event through a webhook
// (POST /v2/webhooks/{id}/test) and returns the dispatch. Each successful call
// creates a dispatch, so the request is retried only when the platform cannot
// have received it (the default policy).
func (c *Client) TestWebhook(ctx context.Context, id string) (*WebhookDispatch, error) {
	p, err := pathID("webhook ID", id)
	if err != nil {
		return nil, err
	}
	return doData[WebhookDispatch](ctx, c, &request{
		method: "POST", path: "/v2/webhooks/" + p + "/test",
	})
}

// validate checks the fields u sets.
func (u WebhookUpdate) validate() error {
	if u.EventTypes != nil {
		if len(u.EventTypes) == 0 {
			return &ValidationError{Field: "eventTypes", Reason: "an empty list would leave the webhook without events; use nil to keep them"}
		}
		for i, e := range u.EventTypes {
			if !e.IsKnown() {
				return &ValidationError{Field: "eventTypes[" + strconv.Itoa(i) + "]", Reason: fmt.Sprintf("unknown event type %q", e)}
			}
		}
	}
	if u.RequestURL != nil {
		if err := validateRequestURL(*u.RequestURL); err != nil {
			return err
		}
	}
	var payload, headers string
	if u.PayloadTemplate != nil {
		payload = *u.PayloadTemplate
	}
	if u.HeadersTemplate != nil {
		headers = *u.HeadersTemplate
	}
	opts := payloadtemplate.Options{InterpolateStrings: u.ShouldInterpolateStrings != nil && *u.ShouldInterpolateStrings}
	return validateTemplates(payload, headers, opts)
}

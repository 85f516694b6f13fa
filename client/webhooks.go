package client

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"
)

// CreateWebhook creates a webhook (POST /v2/webhooks) and returns it as
// stored.
//
// The request always carries an idempotency key, so that retrying it can never
// create a second webhook: w.IdempotencyKey when given, or else a random key
// generated once for this call and sent on every attempt. Calls with the same
// key return the webhook the first one created.
func (c *Client) CreateWebhook(ctx context.Context, w WebhookCreate) (*Webhook, error) {
	if len(w.EventTypes) == 0 {
		return nil, fmt.Errorf("client: WebhookCreate.EventTypes: at least one event type is required")
	}
	if strings.TrimSpace(w.RequestURL) == "" {
		return nil, fmt.Errorf("client: WebhookCreate.RequestURL: the request URL is empty")
	}
	if w.Condition == (WebhookCondition{}) {
		return nil, fmt.Errorf("client: WebhookCreate.Condition: an Actor, task or run ID is required")
	}
	if w.IdempotencyKey == "" {
		w.IdempotencyKey = rand.Text()
	}
	body, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("client: WebhookCreate: %w", err)
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
// /v2/webhooks/{id}) and returns the webhook as stored.
func (c *Client) UpdateWebhook(ctx context.Context, id string, u WebhookUpdate) (*Webhook, error) {
	p, err := pathID("webhook ID", id)
	if err != nil {
		return nil, err
	}
	if u.EventTypes != nil && len(u.EventTypes) == 0 {
		return nil, fmt.Errorf("client: WebhookUpdate.EventTypes: an empty list would leave the webhook without events; use nil to keep them")
	}
	if u.RequestURL != nil && strings.TrimSpace(*u.RequestURL) == "" {
		return nil, fmt.Errorf("client: WebhookUpdate.RequestURL: the request URL is empty")
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
// have received it.
func (c *Client) TestWebhook(ctx context.Context, id string) (*WebhookDispatch, error) {
	p, err := pathID("webhook ID", id)
	if err != nil {
		return nil, err
	}
	return doData[WebhookDispatch](ctx, c, &request{
		method: "POST", path: "/v2/webhooks/" + p + "/test",
	})
}

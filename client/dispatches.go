package client

import (
	"context"
	"iter"
)

// ListWebhookDispatchesOf returns one page of the dispatches of one webhook
// (GET /v2/webhooks/{id}/dispatches).
func (c *Client) ListWebhookDispatchesOf(ctx context.Context, webhookID string, o ListOptions) (*Page[WebhookDispatch], error) {
	p, err := pathID("webhook ID", webhookID)
	if err != nil {
		return nil, err
	}
	return list[WebhookDispatch](ctx, c, "/v2/webhooks/"+p+"/dispatches", o)
}

// GetWebhookDispatch returns a webhook dispatch with all its calls (GET
// /v2/webhook-dispatches/{id}).
func (c *Client) GetWebhookDispatch(ctx context.Context, id string) (*WebhookDispatch, error) {
	p, err := pathID("dispatch ID", id)
	if err != nil {
		return nil, err
	}
	return doData[WebhookDispatch](ctx, c, &request{method: "GET", path: "/v2/webhook-dispatches/" + p, policy: retryIdempotent})
}

// ListWebhookDispatches returns one page of the user's webhook dispatches (GET
// /v2/webhook-dispatches).
func (c *Client) ListWebhookDispatches(ctx context.Context, o ListOptions) (*Page[WebhookDispatch], error) {
	return list[WebhookDispatch](ctx, c, "/v2/webhook-dispatches", o)
}

// AllWebhookDispatches iterates over all the user's webhook dispatches from
// o.Offset on, page by page. An error ends the iteration after being yielded.
func (c *Client) AllWebhookDispatches(ctx context.Context, o ListOptions) iter.Seq2[WebhookDispatch, error] {
	return all[WebhookDispatch](ctx, c, "/v2/webhook-dispatches", o)
}

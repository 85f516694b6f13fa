// Package webhookrecv receives Apify webhooks: it parses the platform's default
// payload and serves an [http.Handler] around a function of yours that is safe
// to expose to the internet.
//
// The platform does not sign webhooks. The documented protection is a shared
// secret that travels with every delivery, here in a custom header
// ([SecretHeader]) set through the webhook's headersTemplate, or as a query
// parameter of the request URL. [HeadersTemplate] and [URLWithSecret] produce the
// sender's side from the same secret the [Handler] checks, so the two cannot
// drift apart. Prefer the header: URLs end up in logs.
//
// Deliveries are at least once: the platform retries on any answer that is not
// 2xx, and may deliver a dispatch again after a lost response. The handler
// answers so the platform does the right thing — 2xx when the delivery is
// done, 5xx when your function failed so it is retried, 409 while another
// attempt of the same dispatch is running, other 4xx for requests that are
// wrong — and runs your function once per dispatch
// (X-Apify-Webhook-Dispatch-Id), using a bounded in-memory [Deduper] by
// default or a store of yours.
package webhookrecv

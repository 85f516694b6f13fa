// Package client is a client of the Apify API v2 for what the Actor SDK
// needs: webhooks and their dispatches; Actor and task runs (start, call,
// wait, abort, status message, reboot, metamorph, resurrect, charge) with
// ad-hoc webhooks; and the storages —
// datasets (PushItems, ListItems, AllItems), key-value stores and their
// records, and request queues (Client.RequestQueue).
//
// One type defines a webhook, WebhookDefinition: the body of CreateWebhook
// (with the condition that binds it), an item of StartOptions.Webhooks, and
// the part of a Webhook as the platform returns it. It is validated before
// anything is sent (*ValidationError, ErrInvalidWebhook), templates included.
//
// Create a Client with New or NewFromEnv. The API token travels only in the
// Authorization header, never in a URL, a log line or an error. Responses
// other than 2xx are *APIError values (IsNotFound, IsRateLimited).
//
// Requests go through go-retryablehttp, with exponential backoff, jitter and
// Retry-After, and a retry policy that never duplicates an effect on the
// platform:
//
//   - GET, PUT, DELETE, aborts and webhook creation (which always carries an
//     idempotency key) are retried after network errors and attempt
//     timeouts, 429 and every 5xx status but 501;
//   - every other request, run starts and webhook tests among them, is
//     retried only when the platform cannot have acted on it: a failure to
//     connect, 429 and 503. A failed start is a *StartError that says whether
//     a run may exist anyway.
//
// Every attempt is bounded (DefaultAttemptTimeout, WithAttemptTimeout), a
// long poll by its wait on top of that. Redirects are never followed: the API
// never redirects, and a 3xx answer is an *APIError. IDs that are empty, "."
// or "..", or that have a "/", are refused before anything is sent
// (ErrInvalidID).
package client

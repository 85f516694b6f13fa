package webhookrecv

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// DefaultMaxBodyBytes is the default limit on the size of a delivery's body:
// far above any run object, far below what could exhaust memory.
const DefaultMaxBodyBytes = 4 << 20

// The headers the platform sets on every delivery.
const (
	// HeaderWebhookID carries the ID of the webhook that fired.
	HeaderWebhookID = "X-Apify-Webhook"
	// HeaderDispatchID carries the ID of the dispatch; every retry of a
	// dispatch carries the same one.
	HeaderDispatchID = "X-Apify-Webhook-Dispatch-Id"
)

// ErrBodyTooLarge is matched (with [errors.Is]) by the error for a body over
// the limit; the error also matches [*http.MaxBytesError].
var ErrBodyTooLarge = errors.New("webhookrecv: body too large")

// Delivery is one webhook delivery as the handler passes it to a [Func].
type Delivery struct {
	// WebhookID is the ID of the webhook that fired ([HeaderWebhookID]).
	WebhookID string
	// DispatchID identifies the dispatch across retries ([HeaderDispatchID]);
	// empty when the request did not carry it.
	DispatchID string
	// Payload is the parsed body.
	Payload *Payload
	// Body is the raw body, for the fields of a custom payload template.
	Body []byte
}

// ParseRequest reads a delivery's body, at most maxBytes of it (<= 0 means
// [DefaultMaxBodyBytes]), and parses it with [ParsePayload]. It neither checks
// the method nor the secret: [Handler] does.
func ParseRequest(r *http.Request, maxBytes int64) (*Payload, error) {
	body, err := readBody(nil, r, maxBytes)
	if err != nil {
		return nil, err
	}
	return ParsePayload(body)
}

// readBody reads r's body up to maxBytes; w, when not nil, learns that the
// connection must close after an oversized body.
func readBody(w http.ResponseWriter, r *http.Request, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBodyBytes
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > maxBytes {
		return nil, fmt.Errorf("%w: %d bytes declared, the limit is %d (%w)", ErrBodyTooLarge, r.ContentLength, maxBytes, &http.MaxBytesError{Limit: maxBytes})
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("%w: the limit is %d bytes (%w)", ErrBodyTooLarge, maxBytes, mbe)
		}
		return nil, fmt.Errorf("webhookrecv: read body: %w", err)
	}
	return body, nil
}

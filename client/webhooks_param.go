package client

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// EncodeWebhooks encodes ad-hoc webhooks for the `webhooks` URL parameter of a
// run start: the JSON array of ws with camelCase keys and empty fields left
// out, in standard base64 with padding, as the official clients produce it.
// It returns "" for an empty list, which means no parameter at all.
//
// Each webhook is validated first as WebhookDefinition.Validate does, except
// that ACTOR.RUN.CREATED is allowed and a Description is not (the parameter
// has no such field); the *ValidationError names the webhook and field at
// fault.
func EncodeWebhooks(ws []WebhookDefinition) (string, error) {
	if len(ws) == 0 {
		return "", nil
	}
	if err := validateStart(ws); err != nil {
		return "", err
	}
	// Like JSON.stringify, leave <, > and & unescaped.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ws); err != nil {
		return "", fmt.Errorf("client: encoding webhooks: %w", err)
	}
	return base64.StdEncoding.EncodeToString(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// DecodeWebhooks decodes a `webhooks` URL parameter: base64 (standard or
// URL-safe alphabet, padded or not) of a JSON array of ad-hoc webhooks. It
// returns nil for "". Unknown JSON fields are ignored, and so is a
// description, which the parameter cannot carry. It checks the
// encoding, not the definitions: EncodeWebhooks does that.
func DecodeWebhooks(s string) ([]WebhookDefinition, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	raw, err := decodeBase64(s)
	if err != nil {
		return nil, fmt.Errorf("client: webhooks: not base64: %w", err)
	}
	var ws []WebhookDefinition
	if err := json.Unmarshal(raw, &ws); err != nil {
		return nil, fmt.Errorf("client: webhooks: not a JSON array of webhooks: %w", err)
	}
	for i := range ws {
		ws[i].Description = "" // not a field of the parameter: the platform ignores it
	}
	return ws, nil
}

// decodeBase64 accepts both alphabets, with or without padding.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

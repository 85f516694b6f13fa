package webhookrecv

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// SecretHeader is the request header that carries the shared secret.
const SecretHeader = "X-Webhook-Secret"

// SecretParam is the query parameter that carries the shared secret when it is
// put into the request URL ([URLWithSecret]).
const SecretParam = "webhook_secret"

// ErrNoSecret is returned where a secret is required and none was given.
var ErrNoSecret = errors.New("webhookrecv: no secret configured")

// ErrInvalidSecret is matched (with [errors.Is]) by the errors for a secret
// that cannot travel in a header or a template unchanged.
var ErrInvalidSecret = errors.New("webhookrecv: invalid secret")

// NewSecret returns a random secret of 32 bytes, hex-encoded.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhookrecv: generate secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// ValidateSecret reports whether secret can be used: it must be non-empty
// ([ErrNoSecret]), printable ASCII without spaces (headers trim and mangle
// others) and free of "{{", which the platform would read as a template
// variable ([ErrInvalidSecret]). The error never contains the secret.
func ValidateSecret(secret string) error {
	if secret == "" {
		return ErrNoSecret
	}
	for i := 0; i < len(secret); i++ {
		if c := secret[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("%w: byte %d is not printable ASCII without spaces", ErrInvalidSecret, i)
		}
	}
	if strings.Contains(secret, "{{") {
		return fmt.Errorf("%w: it contains \"{{\", which the platform reads as a template variable", ErrInvalidSecret)
	}
	return nil
}

// HeadersTemplate returns the headersTemplate that makes the platform send
// secret in [SecretHeader] with every delivery, for the HeadersTemplate field
// of a webhook: {"X-Webhook-Secret":"<secret>"}.
func HeadersTemplate(secret string) (string, error) {
	if err := ValidateSecret(secret); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]string{SecretHeader: secret}); err != nil {
		return "", fmt.Errorf("webhookrecv: encode headers template: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// URLWithSecret returns requestURL with secret in the [SecretParam] query
// parameter, for receivers that cannot be reached with custom headers. The
// handler accepts it only with [Options.AllowSecretInURL]. Prefer
// [HeadersTemplate]: URLs are logged by proxies and servers, and the platform
// shows a webhook's URL to everyone who can see the webhook.
func URLWithSecret(requestURL, secret string) (string, error) {
	if err := ValidateSecret(secret); err != nil {
		return "", err
	}
	u, err := url.Parse(requestURL)
	if err != nil {
		return "", fmt.Errorf("webhookrecv: request URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("webhookrecv: request URL must be absolute with scheme http or https")
	}
	q := u.Query()
	q.Set(SecretParam, secret)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// secretChecker compares presented secrets with the configured one in
// constant time. Both sides are hashed first, so not even the length of the
// configured secret leaks through timing.
type secretChecker struct {
	digest   [sha256.Size]byte
	ok       bool // a valid secret is configured
	allowURL bool
}

func newSecretChecker(secret string, allowURL bool) secretChecker {
	if ValidateSecret(secret) != nil {
		return secretChecker{}
	}
	return secretChecker{digest: sha256.Sum256([]byte(secret)), ok: true, allowURL: allowURL}
}

// check reports whether r carries the configured secret; it is false for every
// request when no secret is configured.
func (c secretChecker) check(r *http.Request) bool {
	presented := r.Header.Get(SecretHeader)
	if presented == "" && c.allowURL {
		presented = r.URL.Query().Get(SecretParam)
	}
	if presented == "" {
		return false
	}
	d := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(d[:], c.digest[:]) == 1 && c.ok
}

package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// APIError is a response of the platform with a status other than 2xx. Use
// errors.As to get it from any error the client returns, or the helpers
// IsNotFound and IsRateLimited.
//
// It never contains the token, and Path never contains the query string,
// whose parameters (webhooks=) may carry secrets of the caller. A body that
// echoes the request has the client's token and the request's query
// redacted from Type and Message.
type APIError struct {
	// StatusCode is the HTTP status of the last attempt.
	StatusCode int
	// Type is the platform's machine-readable error type, such as
	// "record-not-found", or "" when the body did not carry one.
	Type string
	// Message is the platform's explanation, or a snippet of a body that was
	// not the platform's JSON error, or the status text.
	Message string
	// Method and Path identify the request, e.g. "GET" "/v2/webhooks/abc".
	Method, Path string
	// Attempts is how many times the request was sent.
	Attempts int
}

// Error returns a one-line description of the failure.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("apify: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	fmt.Fprintf(&b, ": %d", e.StatusCode)
	if e.Type != "" {
		b.WriteByte(' ')
		b.WriteString(e.Type)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// IsNotFound reports whether err is, or wraps, an *APIError with status 404.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsRateLimited reports whether err is, or wraps, an *APIError with status
// 429: the platform still refused the request after every retry.
func IsRateLimited(err error) bool { return hasStatus(err, http.StatusTooManyRequests) }

func hasStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == status
}

// maxSnippet bounds the part of a non-JSON error body kept as a message.
const maxSnippet = 200

// newAPIError builds the error of a non-2xx response from its body:
// {"error":{"type":...,"message":...}}, or any other body, of which a snippet
// becomes the message. The secrets rd knows are redacted from both.
func newAPIError(method, path string, resp *response, rd redactor) *APIError {
	e := &APIError{StatusCode: resp.status, Method: method, Path: path, Attempts: resp.attempts}
	if resp.status >= 300 && resp.status <= 399 {
		e.Message = "the API answered with a redirect, which the client never follows"
		return e
	}
	var body struct {
		Error *struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(resp.body, &body) == nil && body.Error != nil &&
		(body.Error.Type != "" || body.Error.Message != "") {
		e.Type, e.Message = rd.redact(body.Error.Type), rd.redact(body.Error.Message)
		return e
	}
	e.Message = snippet(rd.redact(string(resp.body)))
	if e.Message == "" {
		e.Message = http.StatusText(resp.status)
	}
	return e
}

// snippet returns the start of s as one line of valid UTF-8.
func snippet(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxSnippet {
		return s
	}
	cut := maxSnippet
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// redacted replaces a secret in error texts.
const redacted = "[redacted]"

// minSecretQueryValue is the length from which a query parameter's value is
// redacted on its own: the webhooks= value, not "waitForFinish=60".
const minSecretQueryValue = 16

// redactor lists the texts that must not appear in the errors of one
// request: the client's token and the request's query, in the forms an echo
// of the request shows them.
type redactor []string

// redactorFor returns the redactor of r sent by c.
func (c *Client) redactorFor(r *request) redactor {
	var rd redactor
	add := func(s string) {
		if s != "" {
			rd = append(rd, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
	add(c.token)
	if len(r.query) > 0 {
		rd = append(rd, r.query.Encode())
		for _, vs := range r.query {
			for _, v := range vs {
				if len(v) >= minSecretQueryValue {
					add(v)
				}
			}
		}
	}
	return rd
}

// redact returns s with every secret replaced by [redacted].
func (rd redactor) redact(s string) string {
	for _, secret := range rd {
		if strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, redacted)
		}
	}
	return s
}

// redactErr returns err, or an error of the same chain whose text has the
// secrets redacted when err's text shows one.
func (rd redactor) redactErr(err error) error {
	msg := err.Error()
	if clean := rd.redact(msg); clean != msg {
		return &redactedError{msg: clean, err: err}
	}
	return err
}

// redactedError is an error whose text had secrets in it. It unwraps to the
// original, so that errors.Is and errors.As still see the cause.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

func (e *redactedError) Unwrap() error { return e.err }

// TransportError is a request that got no usable response: the connection
// failed, the attempt timed out, or the body could not be read, on the last
// attempt. Err is the cause (a *net.OpError, for instance) and can be
// inspected with errors.Is and errors.As. The request's URL is left out, as
// its query may carry secrets.
type TransportError struct {
	Method, Path string
	Attempts     int
	Err          error

	reached bool // the last attempt may have reached the platform
}

// Error returns a one-line description of the failure.
func (e *TransportError) Error() string {
	s := "apify: " + e.Method + " " + e.Path + ": " + e.Err.Error()
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	return s
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// sanitize drops the *url.Error layer of a transport error, whose message
// includes the whole URL with its query.
func sanitize(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// StartError is the error of every failed StartActor and StartTask call (and
// of the start step of CallActor and CallTask). It says whether the run may
// exist despite the error, which decides what the caller can safely do:
//
//   - MayHaveStarted false: the platform certainly did not create a run. The
//     input was rejected before sending (invalid options, input that cannot
//     be encoded), the connection could not be made, or the platform answered
//     a 4xx status, 501 or 503. Starting again is safe.
//   - MayHaveStarted true: the request may have reached the platform and a run
//     may exist: any other 5xx status (500, 502, 504, ...), a connection
//     reset, an attempt timeout, a response that was lost or could not be
//     read, or a context that ended while the request was in flight. Starting
//     again could run the Actor twice; look for the run first (for instance,
//     through an ad-hoc webhook's delivery or the list of the Actor's runs).
//
// The client itself never retries a start that may have reached the platform.
type StartError struct {
	MayHaveStarted bool
	Err            error
}

// Error returns a description of the failure that says whether a run may
// have started.
func (e *StartError) Error() string {
	if e.MayHaveStarted {
		return e.Err.Error() + " (the run may have started)"
	}
	return e.Err.Error() + " (no run was started)"
}

// Unwrap returns the cause, such as an *APIError.
func (e *StartError) Unwrap() error { return e.Err }

// ErrInvalidID is matched, with errors.Is, by the error of every call given
// an ID that cannot name a resource (see IDError).
var ErrInvalidID = errors.New("invalid ID")

// IDError is the error of a call given an ID that cannot name a resource: it
// is empty, all spaces, "." or "..", or has a "/" (other than the one of an
// Actor or task name "username/name"). Nothing was sent. It matches
// ErrInvalidID.
type IDError struct {
	// Field names the ID, e.g. "run ID".
	Field string
	// ID is the ID as given.
	ID string
	// Reason says what is wrong with it.
	Reason string
}

// Error returns "client: <field> <quoted ID> <reason>", without the ID
// when it is empty.
func (e *IDError) Error() string {
	if strings.TrimSpace(e.ID) == "" {
		return "client: " + e.Field + " " + e.Reason
	}
	return fmt.Sprintf("client: %s %q %s", e.Field, e.ID, e.Reason)
}

// Is reports whether target is ErrInvalidID.
func (e *IDError) Is(target error) bool { return target == ErrInvalidID }

// canceledError is a request cut short by its context. It unwraps to the
// context's error.
type canceledError struct {
	method, path string
	err          error
	reached      bool // an attempt was in flight and may have reached the platform
}

func (e *canceledError) Error() string {
	return "apify: " + e.method + " " + e.path + ": " + e.err.Error()
}

func (e *canceledError) Unwrap() error { return e.err }

// unsentError is the error of a request that was never sent: the Client or
// the context could not be used.
type unsentError struct{ err error }

func (e *unsentError) Error() string { return e.err.Error() }

func (e *unsentError) Unwrap() error { return e.err }

// mayHaveReached reports whether the request that failed with err may have
// been acted on by the platform. Unknown errors count as reached.
func mayHaveReached(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		s := ae.StatusCode
		return !(s >= 400 && s <= 499 || s == http.StatusNotImplemented || s == http.StatusServiceUnavailable)
	}
	var te *TransportError
	if errors.As(err, &te) {
		return te.reached
	}
	var ce *canceledError
	if errors.As(err, &ce) {
		return ce.reached
	}
	var ue *unsentError
	return !errors.As(err, &ue)
}

package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryPolicy says when a failed request may be sent again.
//
// Retries must never duplicate an effect on the platform. A request that may
// have reached the platform is repeated only when repeating it is harmless,
// and only requests that say so count as harmless: the zero value is the
// safe policy, so that a new call that names no policy cannot duplicate an
// effect.
type retryPolicy uint8

const (
	// retryUnlessReceived, the zero value, is for requests that are not
	// idempotent on the platform, like starting a run or testing a webhook,
	// and for every request that names no policy. They are retried only when
	// the platform cannot have acted on them: the connection could not be
	// made (connection refused, DNS failure, dial timeout: the request never
	// left), 429 Too Many Requests and 503 Service Unavailable.
	retryUnlessReceived retryPolicy = iota
	// retryIdempotent is for requests whose repetition is harmless, each
	// named where it is built: GET, PUT and DELETE; aborting a run (aborting
	// an ended or aborting run does nothing); and webhook creation, which
	// always carries an idempotency key. They are also retried after network
	// errors once connected (including attempt timeouts and lost responses)
	// and every 5xx status but 501.
	retryIdempotent
)

// checkRetry is the retryablehttp.CheckRetry of one call.
func (s *call) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	s.reached = resp != nil || !s.neverSent(err)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, ctxErr
	}
	if err != nil {
		s.lastErr = err
		if !retryableError(err) {
			return false, nil
		}
		if s.r.policy == retryIdempotent {
			return true, nil
		}
		return s.neverSent(err), nil
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests, code == http.StatusServiceUnavailable:
		return true, nil
	case code == http.StatusNotImplemented:
		return false, nil
	case code >= 500 || code < 100:
		return s.r.policy == retryIdempotent, nil
	}
	return false, nil
}

// retryableError reports whether a transport error may go away on its own.
// Certificate problems, invalid headers and oversized responses do not.
func retryableError(err error) bool {
	if errors.Is(err, errResponseTooLarge) {
		return false
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		invalidCert      x509.CertificateInvalidError
		hostname         x509.HostnameError
		verification     *tls.CertificateVerificationError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &invalidCert) ||
		errors.As(err, &hostname) || errors.As(err, &verification) {
		return false
	}
	return !strings.Contains(err.Error(), "invalid header field")
}

// neverSent reports whether a failed attempt certainly did not reach the
// platform: no connection was obtained, or dialing failed (connection
// refused, DNS failure, dial timeout). A reset or a timeout once connected
// may come after the platform received the request.
func (s *call) neverSent(err error) bool {
	if !s.connected.Load() {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// backoff is the retryablehttp.Backoff of one call: exponential growth from
// min with full jitter above min, capped at max. A Retry-After header is
// honoured, but never beyond max and never below min.
func (s *call) backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	s.waiting = true
	wait, fromHeader := retryWait(min, max, attempt, resp, time.Now())
	s.c.log.LogAttrs(context.Background(), slog.LevelDebug, "apify: retrying request",
		slog.String("method", s.r.method), slog.String("path", s.r.path),
		slog.Int("attempt", s.attempts), slog.Int("status", statusOf(resp)),
		s.errAttr(s.lastErr), slog.Duration("wait", wait), slog.Bool("retryAfter", fromHeader))
	return wait
}

// retryWait computes the wait before retry number attempt+1, and whether it
// came from a Retry-After header.
func retryWait(min, max time.Duration, attempt int, resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp != nil {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			return clamp(d, min, max), true
		}
	}
	ceiling := max
	if attempt < 62 {
		if c := min << attempt; c > 0 && c>>attempt == min && c < max {
			ceiling = c
		}
	}
	if ceiling <= min {
		return min, false
	}
	return min + rand.N(ceiling-min), false // ceiling-min+1 could overflow
}

// statusOf returns the status of resp, or 0 without a response.
func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

func clamp(d, min, max time.Duration) time.Duration {
	if d < min {
		return min
	}
	if d > max {
		return max
	}
	return d
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// errAttr is the log attribute of an attempt's error, without the URL and
// with the call's secrets redacted.
func (s *call) errAttr(err error) slog.Attr {
	if err == nil {
		return slog.Attr{}
	}
	return slog.String("error", s.c.redactorFor(s.r).redact(sanitize(err).Error()))
}

package apifytest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-apify/actor/client"
)

// maxResponseBody is how much of a receiver's response a call records.
const maxResponseBody = 16 << 10

// deliverer makes webhook calls: a queue per receiver host (host:port),
// each drained by up to cfg.workers goroutines of its own, so that a host
// that hangs holds up only its own calls. Its queues never block: API
// handlers and run transitions only append to them. Retries wait on
// timers, not in goroutines.
type deliverer struct {
	s *Server
	// Clients that follow no redirects and keep no cookies; like any
	// http.Client, they send a URL's userinfo as Basic auth.
	plain    *http.Client
	insecure *http.Client // for webhooks with ignoreSslErrors

	mu     sync.Mutex
	hosts  map[string]*hostQueue // by host:port; a queue goes when drained
	closed bool
	timers map[*time.Timer]struct{}

	workers sync.WaitGroup
}

// hostQueue is the queue of calls to one host, and how many goroutines
// drain it.
type hostQueue struct {
	key     string
	queue   []*dispatchRec
	workers int
}

func newDeliverer(s *Server) *deliverer {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   s.cfg.workers, // every worker of a host may call it at once
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	insecure := tr.Clone()
	insecure.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the webhook asked for it (ignoreSslErrors)
	noRedirects := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &deliverer{
		s:        s,
		plain:    &http.Client{Transport: tr, CheckRedirect: noRedirects},
		insecure: &http.Client{Transport: insecure, CheckRedirect: noRedirects},
		hosts:    map[string]*hostQueue{},
		timers:   map[*time.Timer]struct{}{},
	}
}

// hostKey returns the host:port that a webhook URL calls, which its
// dispatches are queued by.
func hostKey(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL // never: the URL was validated
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// push queues x for a call now, starting a goroutine for its host if it
// has fewer than cfg.workers.
func (d *deliverer) push(x *dispatchRec) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	hq := d.hosts[x.host]
	if hq == nil {
		hq = &hostQueue{key: x.host}
		d.hosts[x.host] = hq
	}
	hq.queue = append(hq.queue, x)
	if hq.workers < d.s.cfg.workers {
		hq.workers++
		d.workers.Add(1)
		go d.work(hq)
	}
}

// pushAfter queues x for a call after delay.
func (d *deliverer) pushAfter(delay time.Duration, x *dispatchRec) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		d.mu.Lock()
		delete(d.timers, t)
		d.mu.Unlock()
		d.push(x)
	})
	d.timers[t] = struct{}{}
}

// pop returns the next dispatch of hq to call; false, and the calling
// goroutine is done, once hq is empty or the deliverer closed.
func (d *deliverer) pop(hq *hostQueue) (*dispatchRec, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || len(hq.queue) == 0 {
		hq.workers--
		if hq.workers == 0 && !d.closed {
			delete(d.hosts, hq.key)
		}
		return nil, false
	}
	x := hq.queue[0]
	hq.queue[0] = nil
	hq.queue = hq.queue[1:]
	return x, true
}

// close stops the workers (calls in flight are cancelled through the
// server's context) and pending retries, and waits for the workers.
func (d *deliverer) close() {
	d.mu.Lock()
	d.closed = true
	for t := range d.timers {
		t.Stop()
	}
	d.timers = nil
	for _, hq := range d.hosts {
		hq.queue = nil
	}
	d.mu.Unlock()
	d.workers.Wait()
	d.plain.CloseIdleConnections()
	d.insecure.CloseIdleConnections()
}

// work calls the dispatches of hq until it is empty.
func (d *deliverer) work(hq *hostQueue) {
	defer d.workers.Done()
	// A context per goroutine keeps the calls from contending for the
	// server context's lock.
	ctx, cancel := context.WithCancel(d.s.ctx)
	defer cancel()
	w := &worker{d: d, ctx: ctx}
	for {
		x, ok := d.pop(hq)
		if !ok {
			return
		}
		w.attempt(x)
	}
}

// worker is the state of one delivery worker, reused from call to call.
type worker struct {
	d    *deliverer
	ctx  context.Context
	resp bytes.Buffer // the start of a response body
}

// attempt makes one call of dispatch x and records it; a failed call is
// retried after the backoff unless retries are exhausted or not wanted.
func (w *worker) attempt(x *dispatchRec) {
	s := w.d.s
	x.render()
	if x.renderErr != "" {
		// Rendering fails the same way every time: no retries.
		t := now()
		s.mu.Lock()
		defer s.mu.Unlock()
		x.d.Calls = append(x.d.Calls, client.WebhookCall{StartedAt: &t, FinishedAt: &t, ErrorMessage: x.renderErr})
		s.attemptedLocked(x)
		s.settleLocked(x, client.DispatchFailed)
		return
	}
	ctx, cancel := context.WithTimeout(w.ctx, s.cfg.timeout)
	started := now()
	status, body, err := w.call(ctx, x)
	finished := now()
	cancel()

	s.mu.Lock()
	defer s.mu.Unlock()
	call := client.WebhookCall{StartedAt: &started, FinishedAt: &finished, ResponseStatus: status, ResponseBody: body}
	switch {
	case err != nil && s.closed:
		call.ErrorMessage = "the server closed during the request"
	case errors.Is(err, context.DeadlineExceeded):
		call.ErrorMessage = "request timed out after " + s.cfg.timeout.String()
	case err != nil:
		call.ErrorMessage = err.Error() // a transport's errors do not repeat the URL
	case status < 200 || status > 299:
		call.ErrorMessage = strings.TrimSpace("receiver answered " + strconv.Itoa(status) + " " + http.StatusText(status))
	}
	x.d.Calls = append(x.d.Calls, call)
	s.attemptedLocked(x)
	switch {
	case call.ErrorMessage == "":
		s.settleLocked(x, client.DispatchSucceeded)
		if s.log.Enabled(w.ctx, slog.LevelDebug) { // spares the arguments when not
			s.log.Debug("apifytest: delivered", "dispatch", x.d.ID, "status", status, "attempt", x.attempts)
		}
	case s.closed:
		// The dispatch stays ACTIVE: the server stopped delivering.
	case x.doNotRetry || x.attempts > s.cfg.retries:
		s.settleLocked(x, client.DispatchFailed)
		s.log.Info("apifytest: delivery failed", "dispatch", x.d.ID, "attempts", x.attempts, "err", call.ErrorMessage)
	default:
		delay := backoff(s.cfg.backoff, x.attempts)
		s.log.Debug("apifytest: delivery retry", "dispatch", x.d.ID, "attempt", x.attempts, "in", delay, "err", call.ErrorMessage)
		w.d.pushAfter(delay, x)
	}
}

// backoff returns the delay before the retry that follows attempt n (1 for
// the first call): base, doubling with each further attempt.
func backoff(base time.Duration, n int) time.Duration {
	const maxDelay = 1000 * time.Hour
	delay := base
	for i := 1; i < n && delay < maxDelay; i++ {
		delay *= 2
	}
	return min(delay, maxDelay)
}

// call POSTs x's payload to its URL and returns the response's status and
// (the start of its) body.
func (w *worker) call(ctx context.Context, x *dispatchRec) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.url, bytes.NewReader(x.body))
	if err != nil {
		return 0, "", err
	}
	req.Header = x.header // never changed after the dispatch is rendered
	hc := w.d.plain
	if x.ignoreSSL {
		hc = w.d.insecure
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold secrets
		}
		return 0, "", err
	}
	defer resp.Body.Close()
	w.resp.Reset()
	lr := io.LimitedReader{R: resp.Body, N: maxResponseBody}
	if _, err := w.resp.ReadFrom(&lr); err != nil {
		return resp.StatusCode, "", err
	}
	lr.N = 1 << 20
	_, _ = io.Copy(io.Discard, &lr) // lets the connection be reused
	return resp.StatusCode, strings.ToValidUTF8(w.resp.String(), string(utf8.RuneError)), nil
}

// Package faultproxy is an HTTP server on a loopback port that hands requests
// to a handler, usually a local platform's (apifytest.Server.Handler), and at
// a chosen rate injects the faults a client of a remote API meets: error
// statuses, rate limiting with Retry-After, reset connections, responses lost
// after the server acted, and stalls past a client's per-attempt timeout.
//
// The stress tests and the bench program share it, so that both measure the
// same scenario. Faults are drawn from a seeded generator.
package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Fault is a kind of fault the proxy injects into one request.
type Fault int

// The faults. Those that "forward" let the handler act on the request; the
// others never reach it.
const (
	// None passes the request through untouched.
	None Fault = iota
	// Status500 answers 500 Internal Server Error without forwarding.
	Status500
	// Status502 answers 502 Bad Gateway without forwarding.
	Status502
	// Status503 answers 503 Service Unavailable without forwarding.
	Status503
	// RateLimited answers 429 Too Many Requests with a Retry-After header
	// without forwarding.
	RateLimited
	// Reset resets the connection (a TCP RST) without forwarding.
	Reset
	// DropResponse forwards the request, then closes the connection without
	// sending the response: the server acted, the client never learns it.
	DropResponse
	// StallBefore waits for the stall duration, then forwards the request
	// even if the client has given up meanwhile, and answers if it still can.
	StallBefore
	// StallAfter forwards the request, then waits for the stall duration
	// before answering.
	StallAfter

	numFaults
)

var faultNames = [...]string{
	None:         "none",
	Status500:    "500",
	Status502:    "502",
	Status503:    "503",
	RateLimited:  "429+Retry-After",
	Reset:        "connection reset",
	DropResponse: "response lost after acting",
	StallBefore:  "stall, then forward",
	StallAfter:   "forward, then stall",
}

// String returns a short description of f.
func (f Fault) String() string {
	if f >= 0 && f < numFaults {
		return faultNames[f]
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// AllFaults returns every fault but None, the kinds the proxy draws from by
// default.
func AllFaults() []Fault {
	out := make([]Fault, 0, numFaults-1)
	for f := Status500; f < numFaults; f++ {
		out = append(out, f)
	}
	return out
}

// DefaultStall is the default duration of StallBefore and StallAfter.
const DefaultStall = 400 * time.Millisecond

// Options configure a Proxy. The zero value injects no faults.
type Options struct {
	// Rate is the probability, from 0 to 1, that a request gets a fault.
	Rate float64
	// Seed seeds the generator that decides which requests get which fault.
	Seed uint64
	// Faults are the kinds drawn from, each equally likely; nil means
	// AllFaults().
	Faults []Fault
	// Stall is how long StallBefore and StallAfter wait; zero means
	// DefaultStall. Pick it longer than the client's per-attempt timeout.
	Stall time.Duration
	// RetryAfter is the Retry-After header of RateLimited answers; empty
	// means "1" (second).
	RetryAfter string
	// Eligible, when set, limits faults to the requests it returns true for.
	Eligible func(*http.Request) bool
}

// Proxy is a running fault-injecting server. Its methods are safe for
// concurrent use.
type Proxy struct {
	// URL is the proxy's base URL, http://127.0.0.1:port.
	URL string

	next http.Handler
	opts Options
	hs   *http.Server
	ln   net.Listener

	served chan struct{}

	inflight sync.WaitGroup // requests being handled
	once     sync.Once

	mu     sync.Mutex
	closed bool
	rng    *rand.Rand
	counts [numFaults]int
}

// New starts a Proxy on a free loopback port in front of next.
func New(next http.Handler, o Options) (*Proxy, error) {
	if next == nil {
		return nil, errors.New("faultproxy: the handler is nil")
	}
	if o.Rate < 0 || o.Rate > 1 {
		return nil, fmt.Errorf("faultproxy: Options.Rate: %v is not between 0 and 1", o.Rate)
	}
	if o.Stall < 0 {
		return nil, fmt.Errorf("faultproxy: Options.Stall: %v is negative", o.Stall)
	}
	for i, f := range o.Faults {
		if f <= None || f >= numFaults {
			return nil, fmt.Errorf("faultproxy: Options.Faults[%d]: %v is not a fault", i, f)
		}
	}
	if o.Faults == nil {
		o.Faults = AllFaults()
	}
	if o.Stall == 0 {
		o.Stall = DefaultStall
	}
	if o.RetryAfter == "" {
		o.RetryAfter = "1"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	p := &Proxy{
		URL:    "http://" + ln.Addr().String(),
		next:   next,
		opts:   o,
		ln:     ln,
		served: make(chan struct{}),
		rng:    rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
	}
	p.hs = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(p.served)
		_ = p.hs.Serve(ln)
	}()
	return p, nil
}

// Close stops the proxy: it closes the listener and every connection, and
// waits until every request it took has been dealt with (a stalled one is
// still forwarded), so that the server's state is final when it returns. It
// is safe to call more than once.
func (p *Proxy) Close() {
	p.once.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		_ = p.hs.Close()
		<-p.served
		p.inflight.Wait()
	})
}

// Counts returns how many requests got each fault so far, None included.
func (p *Proxy) Counts() map[Fault]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Fault]int, numFaults)
	for f, n := range p.counts {
		if n > 0 {
			out[Fault(f)] = n
		}
	}
	return out
}

// Summary returns the counts as one line, such as
// "1423 requests, 427 faulted: 500×52, 502×61, ...".
func (p *Proxy) Summary() string {
	c := p.Counts()
	total, faulted := 0, 0
	var parts []string
	for f := None; f < numFaults; f++ {
		total += c[f]
		if f != None && c[f] > 0 {
			faulted += c[f]
			parts = append(parts, fmt.Sprintf("%v×%d", f, c[f]))
		}
	}
	return fmt.Sprintf("%d requests, %d faulted: %s", total, faulted, strings.Join(parts, ", "))
}

func (p *Proxy) pick(r *http.Request) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := None
	if p.opts.Rate > 0 && (p.opts.Eligible == nil || p.opts.Eligible(r)) && p.rng.Float64() < p.opts.Rate {
		f = p.opts.Faults[p.rng.IntN(len(p.opts.Faults))]
	}
	p.counts[f]++
	return f
}

// ServeHTTP handles one request, injecting the fault drawn for it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		http.Error(w, "faultproxy: closed", http.StatusServiceUnavailable)
		return
	}
	p.inflight.Add(1)
	p.mu.Unlock()
	defer p.inflight.Done()

	switch f := p.pick(r); f {
	case None:
		p.next.ServeHTTP(w, r)
	case Status500, Status502, Status503:
		status := map[Fault]int{Status500: 500, Status502: 502, Status503: 503}[f]
		drain(r)
		writeError(w, status, "internal-server-error")
	case RateLimited:
		drain(r)
		w.Header().Set("Retry-After", p.opts.RetryAfter)
		writeError(w, http.StatusTooManyRequests, "rate-limit-exceeded")
	case Reset:
		drain(r)
		hangUp(w, true)
	case DropResponse:
		if p.forward(r) != nil {
			hangUp(w, false)
		}
	case StallBefore:
		req, err := detach(r)
		if err != nil {
			return
		}
		time.Sleep(p.opts.Stall)
		if rec := p.serve(req); rec != nil {
			copyResponse(w, rec)
		}
	case StallAfter:
		rec := p.forward(r)
		if rec == nil {
			return
		}
		time.Sleep(p.opts.Stall)
		copyResponse(w, rec)
	}
}

// forward lets the handler act on r, whatever the client does meanwhile, and
// returns its recorded response; nil if the body could not be read.
func (p *Proxy) forward(r *http.Request) *httptest.ResponseRecorder {
	req, err := detach(r)
	if err != nil {
		return nil
	}
	return p.serve(req)
}

func (p *Proxy) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	p.next.ServeHTTP(rec, req)
	return rec
}

// detach returns a copy of r with its body read into memory and a context
// that the client's going away does not cancel.
func detach(r *http.Request) (*http.Request, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	req := r.Clone(context.WithoutCancel(r.Context()))
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	return req, nil
}

func drain(r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 16<<20))
}

func writeError(w http.ResponseWriter, status int, typ string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"type":%q,"message":"fault injected by faultproxy"}}`, typ)
}

// hangUp closes the connection under w without a response; with reset, it
// sends a TCP RST instead of a FIN.
func hangUp(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not HTTP/1: abort the response instead of letting an empty 200 out.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

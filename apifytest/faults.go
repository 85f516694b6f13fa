package apifytest

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault makes the next API requests (under /v2) that match it misbehave,
// for testing how clients cope. A Fault stalls first (Stall), then either
// answers with an error status without acting (Status), or acts and loses
// the response (Drop), or acts normally.
type Fault struct {
	// Method, when set, limits the fault to requests with this method.
	Method string
	// Path, when set, limits the fault to URL paths that start with it.
	Path string
	// Count is how many requests the fault affects (1 when zero).
	Count int
	// Status, when set, answers with this status and an error body instead
	// of acting.
	Status int
	// RetryAfter, with Status, is sent as the Retry-After header (whole
	// seconds, rounded up).
	RetryAfter time.Duration
	// Drop acts on the request, then closes the connection without sending
	// the response.
	Drop bool
	// Stall waits this long before going on, or until the client gives up
	// (then nothing is done).
	Stall time.Duration
}

// faults is the queue of injected faults.
type faults struct {
	mu   sync.Mutex
	list []*Fault
}

// InjectFault queues f; requests consume faults in the order they were
// injected, each from the first fault that matches it.
func (s *Server) InjectFault(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.list = append(s.faults.list, &f)
}

// FailNext answers the next n API requests with status (429, 500, 503,
// ...) and an error body, without acting on them; a positive retryAfter is
// sent as the Retry-After header.
func (s *Server) FailNext(n, status int, retryAfter time.Duration) {
	s.InjectFault(Fault{Count: n, Status: status, RetryAfter: retryAfter})
}

// DropNextResponses acts on the next n API requests, then closes their
// connections without a response, as when a network fails after the server
// did the work.
func (s *Server) DropNextResponses(n int) {
	s.InjectFault(Fault{Count: n, Drop: true})
}

// StallNext delays the next n API requests by d before acting on them; a
// request whose client gives up first is not acted on.
func (s *Server) StallNext(n int, d time.Duration) {
	s.InjectFault(Fault{Count: n, Stall: d})
}

// ClearFaults forgets every fault not yet consumed.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.list = nil
}

// next consumes and returns the fault for r, if any.
func (f *faults) next(r *http.Request) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, ft := range f.list {
		if (ft.Method != "" && !strings.EqualFold(ft.Method, r.Method)) || !strings.HasPrefix(r.URL.Path, ft.Path) {
			continue
		}
		ft.Count--
		if ft.Count == 0 {
			f.list = append(f.list[:i:i], f.list[i+1:]...)
		}
		return *ft, true
	}
	return Fault{}, false
}

// injectFaults applies injected faults to API requests.
func (s *Server) injectFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v2/") {
			next.ServeHTTP(w, r)
			return
		}
		f, ok := s.faults.next(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if f.Stall > 0 {
			t := time.NewTimer(f.Stall)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		switch {
		case f.Status != 0:
			if f.RetryAfter > 0 {
				secs := (f.RetryAfter + time.Second - 1) / time.Second
				w.Header().Set("Retry-After", strconv.Itoa(int(secs)))
			}
			writeError(w, &Error{StatusCode: f.Status, Type: faultType(f.Status), Message: "Injected fault: " + http.StatusText(f.Status)})
		case f.Drop:
			next.ServeHTTP(discardWriter{http.Header{}}, r)
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.Close()
				return
			}
			panic(http.ErrAbortHandler) // the documented way to abort a response the server cannot hijack
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// faultType is the platform's error type for an injected status.
func faultType(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return typeRateLimit
	case status >= 500:
		return typeServerError
	case status == http.StatusNotFound:
		return typeNotFound
	case status == http.StatusUnauthorized:
		return typeTokenInvalid
	default:
		return typeInvalidRequest
	}
}

// discardWriter is a ResponseWriter whose response is never sent.
type discardWriter struct{ header http.Header }

func (d discardWriter) Header() http.Header         { return d.header }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

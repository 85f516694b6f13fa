package apifytest

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-apify/actor/client"
)

// The control endpoints under /_apifytest let tests in any language drive a
// server they reach only over HTTP (see the package documentation).

func (s *Server) handleControlFinish(w http.ResponseWriter, r *http.Request, u *user) {
	var in struct {
		Status   client.RunStatus `json:"status"`
		ExitCode *int             `json:"exitCode"`
	}
	body, e := readBody(r)
	if e != nil {
		writeError(w, e)
		return
	}
	if len(body) > 0 {
		if e := decodeObject(body, &in); e != nil {
			writeError(w, e)
			return
		}
	}
	if in.Status == "" {
		in.Status = client.StatusSucceeded
	}
	code := 1
	if in.Status == client.StatusSucceeded {
		code = 0
	}
	if in.ExitCode != nil {
		code = *in.ExitCode
	}
	id := r.PathValue("id")
	if e := s.checkRunOwner(u, id); e != nil {
		writeError(w, e)
		return
	}
	run, err := s.FinishRun(id, in.Status, code)
	if err != nil {
		writeError(w, err)
		return
	}
	writeData(w, http.StatusOK, viewOf(*run))
}

func (s *Server) handleControlAbort(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("id")
	if e := s.checkRunOwner(u, id); e != nil {
		writeError(w, e)
		return
	}
	run, err := s.AbortRun(id)
	if err != nil {
		writeError(w, err)
		return
	}
	writeData(w, http.StatusOK, viewOf(*run))
}

// checkRunOwner returns a 404 unless run id belongs to u.
func (s *Server) checkRunOwner(u *user, id string) *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e := s.runOfLocked(u, id)
	return e
}

func (s *Server) handleControlWaitIdle(w http.ResponseWriter, r *http.Request, _ *user) {
	timeout := 30 * time.Second
	if v := r.URL.Query().Get("timeout"); v != "" {
		d, e := parseSeconds(v, "timeout")
		if e != nil {
			writeError(w, e)
			return
		}
		timeout = d
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	err := s.WaitIdle(ctx)
	switch {
	case err == nil:
		writeData(w, http.StatusOK, map[string]bool{"idle": true})
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, &Error{StatusCode: http.StatusRequestTimeout, Type: typeTimeout,
			Message: "Dispatches are still active after " + timeout.String()})
	default:
		writeError(w, &Error{StatusCode: http.StatusServiceUnavailable, Type: typeServerError, Message: err.Error()})
	}
}

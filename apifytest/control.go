package apifytest

import (
	"context"
	"errors"
	"net/http"
	"strings"
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
	code := defaultExitCode(in.Status)
	if in.ExitCode != nil {
		code = *in.ExitCode
	}
	run, e := s.finish(u, r.PathValue("id"), in.Status, code)
	respond(w, http.StatusOK, viewOf(run), e)
}

func (s *Server) handleControlAbort(w http.ResponseWriter, r *http.Request, u *user) {
	run, e := s.withRun(u, r.PathValue("id"), s.abortLocked)
	respond(w, http.StatusOK, viewOf(run), e)
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

func (s *Server) handleControlMigrate(w http.ResponseWriter, r *http.Request, u *user) {
	rr, over, e := s.migrate(u, r.PathValue("id"))
	if e != nil {
		writeError(w, e)
		return
	}
	if err := s.waitFor(r.Context(), over); err != nil {
		return // the client has gone, or the server is closing
	}
	s.mu.Lock()
	run := copyRun(rr.run)
	s.mu.Unlock()
	writeData(w, http.StatusOK, viewOf(run))
}

func (s *Server) handleControlEnv(w http.ResponseWriter, r *http.Request, u *user) {
	env := map[string]string{}
	_, e := s.withRun(u, r.PathValue("id"), func(rr *runRec) {
		for _, kv := range rr.envLocked(s.URL) {
			name, value, _ := strings.Cut(kv, "=")
			env[name] = value
		}
	})
	respond(w, http.StatusOK, env, e)
}

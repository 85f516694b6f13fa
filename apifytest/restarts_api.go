package apifytest

import (
	"net/http"
	"strconv"
)

// The API's restarts of a run: POST /v2/actor-runs/{id}/reboot, /metamorph
// and /resurrect (see restarts.go). None is idempotent, as on the platform.

func (s *Server) handleRebootRun(w http.ResponseWriter, r *http.Request, u *user) {
	var e *Error
	run, nf := s.withRun(u, r.PathValue("id"), func(rr *runRec) { e = s.rebootLocked(rr) })
	if nf != nil {
		e = nf
	}
	respond(w, http.StatusOK, viewOf(run), e)
}

func (s *Server) handleMetamorphRun(w http.ResponseWriter, r *http.Request, u *user) {
	q := r.URL.Query()
	targetID := q.Get("targetActorId")
	if targetID == "" {
		writeError(w, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
			Message: "Parameter targetActorId is required"})
		return
	}
	body, e := readBody(r)
	if e != nil {
		writeError(w, e)
		return
	}
	run, nf := s.withRun(u, r.PathValue("id"), func(rr *runRec) {
		e = s.metamorphLocked(rr, s.actorLocked(u, targetID), q.Get("build"), body, r.Header.Get("Content-Type"))
	})
	if nf != nil {
		e = nf
	}
	respond(w, http.StatusOK, viewOf(run), e)
}

func (s *Server) handleResurrectRun(w http.ResponseWriter, r *http.Request, u *user) {
	p, e := parseResurrect(r)
	if e != nil {
		writeError(w, e)
		return
	}
	run, nf := s.withRun(u, r.PathValue("id"), func(rr *runRec) { e = s.resurrectLocked(rr, p) })
	if nf != nil {
		e = nf
	}
	respond(w, http.StatusOK, viewOf(run), e)
}

// parseResurrect reads the build, timeout and memory of a resurrection;
// the other parameters of the platform's (maxItems, maxTotalChargeUsd,
// restartOnError) are accepted and not used.
func parseResurrect(r *http.Request) (resurrectParams, *Error) {
	q := r.URL.Query()
	p := resurrectParams{build: q.Get("build")}
	if v := q.Get("timeout"); v != "" {
		d, e := parseSeconds(v, "timeout")
		if e != nil {
			return p, e
		}
		p.timeout = d
		if d == 0 {
			p.timeout = -1 // zero: no timeout
		}
	}
	if v := q.Get("memory"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 128 || n > 32768 || n&(n-1) != 0 {
			return p, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
				Message: "Parameter memory must be a power of 2 between 128 and 32768 megabytes, not " + strconv.Quote(v)}
		}
		p.memory = n
	}
	return p, nil
}

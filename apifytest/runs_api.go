package apifytest

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-apify/actor/client"
)

func (s *Server) handleStartActor(w http.ResponseWriter, r *http.Request, u *user) {
	s.handleStart(w, r, u, r.PathValue("actorId"), false)
}

func (s *Server) handleStartTask(w http.ResponseWriter, r *http.Request, u *user) {
	s.handleStart(w, r, u, r.PathValue("taskId"), true)
}

// handleStart starts a run of the Actor or task ref: POST
// /v2/acts/{actorId}/runs and /v2/actor-tasks/{taskId}/runs.
func (s *Server) handleStart(w http.ResponseWriter, r *http.Request, u *user, ref string, task bool) {
	p, wait, e := parseStart(r)
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	var a *actorRec
	var t *taskRec
	if task {
		t = s.taskLocked(u, ref)
		a = t.actor
		p.input, p.contentType = t.inputFor(p.input, p.contentType)
	} else {
		a = s.actorLocked(u, ref)
	}
	run, e := s.startLocked(u, a, t, p)
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	if wait > 0 {
		run = s.waitForFinish(r.Context(), run, wait)
	}
	w.Header().Set("Location", s.URL+"/v2/actor-runs/"+run.ID)
	writeData(w, http.StatusCreated, viewOf(run))
}

// parseStart reads the parameters and input of a run start.
func parseStart(r *http.Request) (startParams, time.Duration, *Error) {
	q := r.URL.Query()
	p := startParams{
		origin:    "API",
		build:     q.Get("build"),
		timeout:   DefaultRunTimeout,
		userAgent: r.UserAgent(),
		depth:     chainDepth(r),
	}
	if o := r.Header.Get("X-Apify-Request-Origin"); o != "" {
		p.origin = o
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		p.clientIP = host
	}
	if v := q.Get("timeout"); v != "" {
		secs, e := parseSeconds(v, "timeout")
		if e != nil {
			return p, 0, e
		}
		p.timeout = secs // zero: no timeout
		if p.timeout == 0 {
			p.timeout = -1
		}
	}
	if v := q.Get("memory"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 128 || n > 32768 || n&(n-1) != 0 {
			return p, 0, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
				Message: "Parameter memory must be a power of 2 between 128 and 32768 megabytes, not " + strconv.Quote(v)}
		}
		p.memory = n
	}
	wait, e := parseWait(q.Get("waitForFinish"))
	if e != nil {
		return p, 0, e
	}
	if p.maxCharge, e = parseMaxTotalCharge(q.Get("maxTotalChargeUsd")); e != nil {
		return p, 0, e
	}
	if v := q.Get("webhooks"); v != "" {
		hooks, e := decodeWebhooksParam(v)
		if e != nil {
			return p, 0, e
		}
		p.webhooks = hooks
	}
	body, e := readBody(r)
	if e != nil {
		return p, 0, e
	}
	if len(body) > 0 {
		p.input = body
		p.contentType = r.Header.Get("Content-Type")
	}
	return p, wait, nil
}

// parseSeconds parses a non-negative number of seconds.
func parseSeconds(v, name string) (time.Duration, *Error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > 1e9 {
		return 0, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
			Message: "Parameter " + name + " must be a non-negative number of seconds, not " + strconv.Quote(v)}
	}
	return time.Duration(f * float64(time.Second)), nil
}

// parseWait parses waitForFinish, capped at the platform's 60 seconds.
func parseWait(v string) (time.Duration, *Error) {
	if v == "" {
		return 0, nil
	}
	d, e := parseSeconds(v, "waitForFinish")
	return min(d, maxWaitForFinish), e
}

// decodeWebhooksParam decodes the webhooks parameter of a run start: a
// base64-encoded JSON array of ad-hoc webhooks.
func decodeWebhooksParam(v string) ([]compiled, *Error) {
	// A "+" that a client did not escape arrives as a space.
	v = strings.ReplaceAll(v, " ", "+")
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(v); err == nil {
			break
		}
	}
	if err != nil {
		return nil, badRequest("webhooks: must be base64-encoded JSON (%v)", err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, badRequest("webhooks: must be a base64-encoded JSON array of webhooks (%v)", err)
	}
	out := make([]compiled, 0, len(items))
	for i, item := range items {
		prefix := fmt.Sprintf("webhooks[%d].", i)
		var a client.WebhookDefinition
		if e := decodeObject(item, &a); e != nil {
			e.Message = prefix[:len(prefix)-1] + ": " + e.Message
			return nil, e
		}
		c, e := compile(specOfAdHoc(a, ""), prefix)
		if e != nil {
			return nil, e
		}
		out = append(out, c)
	}
	return out, nil
}

// waitForFinish waits up to d for run to end, then returns it as it is.
func (s *Server) waitForFinish(ctx context.Context, run client.Run, d time.Duration) client.Run {
	s.mu.Lock()
	r, ok := s.runs[run.ID]
	var done chan struct{}
	if ok {
		done = r.done // a resurrection makes a new one
	}
	s.mu.Unlock()
	if !ok {
		return run // ended, and evicted since by the retention
	}
	s.log.Debug("apifytest: waiting for the run to finish", "run", run.ID, "for", d)
	s.warnNeverEnding(run.ID)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	// The server closing ends the wait too: a handler mounted elsewhere
	// does not see Close.
	_ = s.waitFor(ctx, done)
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyRun(r.run)
}

// withRun calls f (if not nil) with run id of u (of any user if u is nil)
// under the server's lock, and returns the run as it is then.
func (s *Server) withRun(u *user, id string, f func(*runRec)) (client.Run, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok || (u != nil && r.owner != u) {
		return client.Run{}, notFound("Actor run")
	}
	if f != nil {
		f(r)
	}
	return copyRun(r.run), nil
}

func (s *Server) handleGetRun(w http.ResponseWriter, r *http.Request, u *user) {
	wait, e := parseWait(r.URL.Query().Get("waitForFinish"))
	if e != nil {
		writeError(w, e)
		return
	}
	run, e := s.withRun(u, r.PathValue("id"), nil)
	if e == nil && wait > 0 && !run.Status.IsTerminal() {
		run = s.waitForFinish(r.Context(), run, wait)
	}
	respond(w, http.StatusOK, viewOf(run), e)
}

// generalAccessValues are the values of a run's generalAccess.
var generalAccessValues = []string{"ANYONE_WITH_ID_CAN_READ", "ANYONE_WITH_NAME_CAN_READ", "FOLLOW_USER_SETTING", "RESTRICTED"}

func (s *Server) handleUpdateRun(w http.ResponseWriter, r *http.Request, u *user) {
	var in struct {
		RunID                   *string `json:"runId"`
		StatusMessage           *string `json:"statusMessage"`
		IsStatusMessageTerminal *bool   `json:"isStatusMessageTerminal"`
		GeneralAccess           *string `json:"generalAccess"`
	}
	if e := readJSON(r, &in); e != nil {
		writeError(w, e)
		return
	}
	id := r.PathValue("id")
	if in.RunID != nil && *in.RunID != id {
		writeError(w, badRequest("runId: %q does not match the run %q in the URL", *in.RunID, id))
		return
	}
	if in.GeneralAccess != nil && !slices.Contains(generalAccessValues, *in.GeneralAccess) {
		writeError(w, badRequest("generalAccess: must be one of %s, not %q", strings.Join(generalAccessValues, ", "), *in.GeneralAccess))
		return
	}
	run, e := s.withRun(u, id, func(rr *runRec) {
		if in.StatusMessage != nil {
			rr.run.StatusMessage = *in.StatusMessage
			rr.run.IsStatusMessageTerminal = false
		}
		if in.IsStatusMessageTerminal != nil {
			rr.run.IsStatusMessageTerminal = *in.IsStatusMessageTerminal
		}
		if in.GeneralAccess != nil {
			rr.run.GeneralAccess = *in.GeneralAccess
		}
	})
	respond(w, http.StatusOK, viewOf(run), e)
}

func (s *Server) handleAbortRun(w http.ResponseWriter, r *http.Request, u *user) {
	graceful, e := parseBool(r.URL.Query().Get("gracefully"), "gracefully")
	if e != nil {
		writeError(w, e)
		return
	}
	abort := s.abortLocked
	if graceful {
		abort = s.abortGracefullyLocked
	}
	run, e := s.withRun(u, r.PathValue("id"), abort)
	respond(w, http.StatusOK, viewOf(run), e)
}

// runStatuses are the statuses a run list can be filtered by.
var runStatuses = []string{"READY", "RUNNING", "SUCCEEDED", "FAILED", "TIMING-OUT", "TIMED-OUT", "ABORTING", "ABORTED"}

func (s *Server) handleListRuns(w http.ResponseWriter, r *http.Request, u *user) {
	p, e := parseList(r)
	if e != nil {
		writeError(w, e)
		return
	}
	var statuses []client.RunStatus
	if v := r.URL.Query().Get("status"); v != "" {
		for _, st := range strings.Split(v, ",") {
			if !slices.Contains(runStatuses, st) {
				writeError(w, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
					Message: "Parameter status must be one or more (comma-separated) of " + strings.Join(runStatuses, ", ") + ", not " + strconv.Quote(st)})
				return
			}
			if !slices.Contains(statuses, client.RunStatus(st)) {
				statuses = append(statuses, client.RunStatus(st))
			}
		}
	}
	s.mu.Lock()
	runs := u.runs
	switch len(statuses) {
	case 0:
	case 1:
		runs = u.byStatus[statuses[0]]
	default:
		// Merged in creation order: the page costs the runs of those
		// statuses, not all the user's.
		runs = nil
		for _, st := range statuses {
			runs = append(runs, u.byStatus[st]...)
		}
		slices.SortFunc(runs, func(a, b *runRec) int { return cmp.Compare(a.seq, b.seq) })
	}
	out := page(runs, p, func(rr *runRec) runView { return listedRun(copyRun(rr.run)) })
	s.mu.Unlock()
	writeData(w, http.StatusOK, out)
}

// listedRun is run as a run list shows it: with usageTotalUsd, which the
// description requires of list items, zero for a local run.
func listedRun(run client.Run) runView {
	if run.UsageTotalUSD == nil {
		zero := 0.0
		run.UsageTotalUSD = &zero
	}
	return viewOf(run)
}

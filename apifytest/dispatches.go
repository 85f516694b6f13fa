package apifytest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	actor "github.com/go-apify/actor"
	"github.com/go-apify/actor/client"
)

// dispatchRec is one delivery of one event through one webhook: the record
// the API shows, and the request to make.
type dispatchRec struct {
	d       client.WebhookDispatch
	owner   *user
	webhook *webhookRec
	run     *runRec // nil for a test dispatch
	settled chan struct{}

	// Fixed when the dispatch is created: the webhook as it was, and the
	// event's variables (shared, read-only).
	url        string
	ignoreSSL  bool
	doNotRetry bool
	payload    *actor.PayloadTemplate
	headers    *actor.PayloadTemplate
	vars       map[string]any

	// Set by the worker that makes the first call (see render), outside
	// the server's lock: workers handle a dispatch one at a time.
	rendered  bool
	body      []byte
	header    http.Header
	renderErr string // why the templates could not be rendered

	attempts int // guarded by the server's lock
}

// userAgent is the User-Agent of webhook calls; a headers template may
// replace it.
const userAgent = "apifytest-webhooks/" + client.Version

// fireLocked creates a dispatch of event ev of run r for every webhook that
// listens to it, queues them, and returns them.
func (s *Server) fireLocked(r *runRec, ev client.EventType) []*dispatchRec {
	var vars map[string]any
	var out []*dispatchRec
	for _, wh := range r.owner.watching(r.run) {
		if !wh.listens(ev, r) {
			continue
		}
		if vars == nil {
			vars = s.eventVarsLocked(r.owner, ev, eventDataOf(r.run), viewOf(r.run)) // encoded at once: no copy needed
		}
		if wh.w.IsAdHoc {
			wh.fired = true
		}
		d := s.newDispatchLocked(wh, ev, r, vars)
		out = append(out, d)
	}
	for _, d := range out {
		s.enqueueLocked(d)
	}
	return out
}

// testDispatchLocked creates and queues a TEST dispatch of wh with a dummy
// run as its resource (the run its condition names, when there is one).
func (s *Server) testDispatchLocked(wh *webhookRec) *dispatchRec {
	var run client.Run
	if r, ok := s.runs[wh.w.Condition.ActorRunID]; ok && r.owner == wh.owner {
		run = copyRun(r.run)
	} else {
		t := now()
		code := 0
		run = client.Run{
			ID: newID(), ActID: wh.w.Condition.ActorID, ActorTaskID: wh.w.Condition.ActorTaskID,
			UserID: wh.owner.id, StartedAt: t, FinishedAt: &t, Status: client.StatusSucceeded,
			StatusMessage: "This is a test run", IsStatusMessageTerminal: true,
			Meta:    client.RunMeta{Origin: "TEST"},
			Options: client.RunOptions{Build: DefaultBuild, TimeoutSecs: int(DefaultRunTimeout / time.Second), MemoryMbytes: DefaultMemoryMbytes, DiskMbytes: 2 * DefaultMemoryMbytes},
			BuildID: newID(), BuildNumber: "0.0.1", ExitCode: &code, GeneralAccess: "FOLLOW_USER_SETTING",
			DefaultKeyValueStoreID: newID(), DefaultDatasetID: newID(), DefaultRequestQueueID: newID(),
		}
		if run.ActID == "" {
			run.ActID = newID()
		}
	}
	vars := s.eventVarsLocked(wh.owner, client.EventTest, eventDataOf(run), viewOf(run))
	d := s.newDispatchLocked(wh, client.EventTest, nil, vars)
	s.enqueueLocked(d)
	return d
}

func eventDataOf(r client.Run) map[string]any {
	ed := map[string]any{"actorId": r.ActID, "actorRunId": r.ID}
	if r.ActorTaskID != "" {
		ed["actorTaskId"] = r.ActorTaskID
	}
	return ed
}

// eventVarsLocked returns the template variables of an event, as the
// platform passes them: userId, createdAt, eventType, eventData, resource
// (the run as the API returns it) and globals.
func (s *Server) eventVarsLocked(u *user, ev client.EventType, eventData map[string]any, resource runView) map[string]any {
	t := time.Now().UTC()
	// The run goes in as its JSON: rendered as is, decoded by the template
	// only where a placeholder looks inside it.
	res, err := json.Marshal(resource)
	if err != nil {
		s.log.Error("apifytest: encode run", "err", err)
		res = []byte("null")
	}
	return map[string]any{
		"userId":    u.id,
		"createdAt": isoTime(t),
		"eventType": string(ev),
		"eventData": eventData,
		"resource":  json.RawMessage(res),
		"globals":   map[string]any{"dateISO": isoTime(t), "dateUnix": t.UnixMilli()},
	}
}

// newDispatchLocked creates a dispatch of event ev through wh, to be
// rendered from vars.
func (s *Server) newDispatchLocked(wh *webhookRec, ev client.EventType, r *runRec, vars map[string]any) *dispatchRec {
	ed := vars["eventData"].(map[string]any)
	str := func(k string) string { v, _ := ed[k].(string); return v }
	d := &dispatchRec{
		owner:      wh.owner,
		webhook:    wh,
		run:        r,
		settled:    make(chan struct{}),
		url:        wh.w.RequestURL,
		ignoreSSL:  wh.w.IgnoreSSLErrors,
		doNotRetry: wh.w.DoNotRetry,
		payload:    wh.payload,
		headers:    wh.headers,
		vars:       vars,
		d: client.WebhookDispatch{
			ID:        newID(),
			UserID:    wh.owner.id,
			WebhookID: wh.w.ID,
			CreatedAt: now(),
			Status:    client.DispatchActive,
			EventType: ev,
			EventData: &client.EventData{ActorID: str("actorId"), ActorTaskID: str("actorTaskId"), ActorRunID: str("actorRunId")},
			Webhook: &client.WebhookDispatchSummary{
				ActionType: "HTTP_REQUEST", Condition: wh.w.Condition, RequestURL: wh.w.RequestURL, IsAdHoc: wh.w.IsAdHoc,
			},
			Calls: []client.WebhookCall{},
		},
	}
	s.dispatches[d.d.ID] = d
	s.allDisp = append(s.allDisp, d)
	wh.owner.dispatches = append(wh.owner.dispatches, d)
	wh.w.Stats.TotalDispatches++
	wh.w.LastDispatch = &client.WebhookLastDispatch{Status: client.DispatchActive}
	wh.last = d
	s.active++
	if s.active == 1 {
		s.idle = make(chan struct{})
	}
	return d
}

// render renders d's payload and headers, once. Rendering happens in the
// workers, in parallel and outside the server's lock, so that an event
// with many webhooks does not hold up the API.
func (d *dispatchRec) render() {
	if d.rendered {
		return
	}
	d.rendered = true
	defer func() { d.vars = nil }()
	body, err := d.payload.Render(d.vars)
	if err != nil {
		d.renderErr = "payloadTemplate: " + err.Error()
		return
	}
	d.body = body
	d.header = http.Header{"User-Agent": {userAgent}}
	if d.headers != nil {
		hs, err := d.headers.RenderHeaders(d.vars)
		if err != nil {
			d.renderErr = "headersTemplate: " + err.Error()
			return
		}
		for k, v := range hs {
			if !strings.EqualFold(k, "Host") {
				d.header.Set(k, v)
			}
		}
	}
	d.header.Set("Content-Type", "application/json")
	d.header.Set("X-Apify-Webhook", d.d.WebhookID)
	d.header.Set("X-Apify-Webhook-Dispatch-Id", d.d.ID)
	d.header.Set("X-Apify-Request-Origin", "WEBHOOK")
}

// enqueueLocked hands d to the delivery workers, unless its run's
// ACTOR.RUN.CREATED dispatches have not been attempted yet: it then waits
// for them, so that a receiver hears of a run's creation before its end.
func (s *Server) enqueueLocked(d *dispatchRec) {
	if r := d.run; r != nil && d.d.EventType != client.EventActorRunCreated && r.createdPending > 0 {
		r.held = append(r.held, d)
		return
	}
	s.deliverer.push(d)
}

// attemptedLocked notes that d has been attempted; after the last of its
// run's ACTOR.RUN.CREATED dispatches, the held ones go out.
func (s *Server) attemptedLocked(d *dispatchRec) {
	d.attempts++
	r := d.run
	if d.attempts != 1 || r == nil || d.d.EventType != client.EventActorRunCreated {
		return
	}
	r.createdPending--
	if r.createdPending == 0 {
		held := r.held
		r.held = nil
		for _, h := range held {
			s.enqueueLocked(h)
		}
	}
}

// settleLocked gives d its final status.
func (s *Server) settleLocked(d *dispatchRec, status client.DispatchStatus) {
	d.d.Status = status
	d.body, d.header, d.vars = nil, nil, nil // the request is not needed any more
	close(d.settled)
	if wh := d.webhook; wh.last == d {
		t := now()
		wh.w.LastDispatch = &client.WebhookLastDispatch{Status: status, FinishedAt: &t}
	}
	s.active--
	if s.active == 0 {
		close(s.idle)
	}
}

// Dispatches returns every dispatch of every user, oldest first.
func (s *Server) Dispatches() []client.WebhookDispatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]client.WebhookDispatch, len(s.allDisp))
	for i, d := range s.allDisp {
		out[i] = copyDispatch(d.d)
	}
	return out
}

// Dispatch returns dispatch id, and whether it exists.
func (s *Server) Dispatch(id string) (*client.WebhookDispatch, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dispatches[id]
	if !ok {
		return nil, false
	}
	out := copyDispatch(d.d)
	return &out, true
}

// WaitIdle waits until no dispatch is ACTIVE: every one has succeeded or
// failed for good. It returns ErrClosed if the server closes first.
func (s *Server) WaitIdle(ctx context.Context) error {
	s.mu.Lock()
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ctx.Done():
		return ErrClosed
	}
}

// WaitDispatch waits until dispatch id has succeeded or failed for good and
// returns it.
func (s *Server) WaitDispatch(ctx context.Context, id string) (*client.WebhookDispatch, error) {
	s.mu.Lock()
	d, ok := s.dispatches[id]
	s.mu.Unlock()
	if !ok {
		return nil, notFound("Webhook dispatch")
	}
	select {
	case <-d.settled:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.ctx.Done():
		return nil, ErrClosed
	}
	out, _ := s.Dispatch(id)
	return out, nil
}

func (s *Server) handleListDispatches(w http.ResponseWriter, r *http.Request, u *user) {
	s.listDispatches(w, r, u, nil)
}

func (s *Server) handleListWebhookDispatches(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	wh, e := s.webhookOfLocked(u, r.PathValue("id"))
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	s.listDispatches(w, r, u, wh)
}

// listDispatches answers with a page of u's dispatches (of wh, if not nil).
func (s *Server) listDispatches(w http.ResponseWriter, r *http.Request, u *user, wh *webhookRec) {
	p, e := parseList(r)
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	var all []client.WebhookDispatch
	for _, d := range u.dispatches {
		if wh == nil || d.webhook == wh {
			all = append(all, copyDispatch(d.d))
		}
	}
	s.mu.Unlock()
	writeData(w, http.StatusOK, paginate(all, p))
}

func (s *Server) handleGetDispatch(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	d, ok := s.dispatches[r.PathValue("id")]
	var out client.WebhookDispatch
	if ok && d.owner == u {
		out = copyDispatch(d.d)
	}
	s.mu.Unlock()
	if !ok || d.owner != u {
		writeError(w, notFound("Webhook dispatch"))
		return
	}
	writeData(w, http.StatusOK, out)
}

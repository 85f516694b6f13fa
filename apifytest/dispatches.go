package apifytest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/internal/payloadtemplate"
)

// dispatchRec is one delivery of one event through one webhook: the record
// the API shows, and the request to make.
type dispatchRec struct {
	d       client.WebhookDispatch
	owner   *user
	webhook *webhookRec
	run     *runRec // nil for a test dispatch
	// settled is closed when the dispatch settles; made by the first
	// WaitDispatch that needs it (most dispatches are never waited for).
	settled chan struct{}

	// Fixed when the dispatch is created: the webhook as it was.
	url        string
	host       string // host:port, the delivery queue
	ignoreSSL  bool
	doNotRetry bool
	payload    *payloadtemplate.Template
	headers    *payloadtemplate.Template
	// The event (shared, read-only), until render drops it.
	ev *event

	// Set by the worker that makes the first call (see render), outside
	// the server's lock: workers handle a dispatch one at a time.
	rendered  bool
	body      []byte
	header    http.Header
	renderErr string // why the templates could not be rendered

	attempts int    // guarded by the server's lock
	seq      uint64 // creation order among all records
	depth    int    // the webhook calls that led to this one, this one included
}

// event is one event of a run: what its dispatches' template variables are
// made of. It is captured under the server's lock, as a copy of the run,
// and turned into variables once, by the first worker that renders one of
// its dispatches, so that encoding the run happens outside the lock.
type event struct {
	typ      client.EventType
	at       time.Time
	userID   string
	resource runView // a snapshot of the run (see newEvent)

	once sync.Once
	vars map[string]any
	err  error
}

// newEvent captures event typ of run for u. A copy of the run struct is a
// snapshot: what its pointers point to is replaced, never changed in place
// (see runRec).
func newEvent(u *user, typ client.EventType, run client.Run) *event {
	return &event{typ: typ, at: time.Now().UTC(), userID: u.id, resource: viewOf(run)}
}

// data returns the event's eventData, as dispatches show it.
func (e *event) data() *client.EventData {
	r := &e.resource.Run
	return &client.EventData{ActorID: r.ActID, ActorTaskID: r.ActorTaskID, ActorRunID: r.ID}
}

// variables returns the event's template variables, as the platform passes
// them: userId, createdAt, eventType, eventData, resource (the run as the
// API returns it) and globals. Safe for concurrent use.
func (e *event) variables() (map[string]any, error) {
	e.once.Do(func() {
		// The run goes in as its JSON, written as JSON.stringify writes
		// it and indexed once for all the event's dispatches: rendered
		// as it is, and looked into by placeholders through the index.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if e.err = enc.Encode(&e.resource); e.err != nil {
			return
		}
		var res *payloadtemplate.JSON
		if res, e.err = payloadtemplate.IndexJSON(buf.Bytes()); e.err != nil {
			return
		}
		ed := e.data()
		data := map[string]any{"actorId": ed.ActorID, "actorRunId": ed.ActorRunID}
		if ed.ActorTaskID != "" {
			data["actorTaskId"] = ed.ActorTaskID
		}
		at := isoTime(e.at)
		e.vars = map[string]any{
			"userId":    e.userID,
			"createdAt": at,
			"eventType": string(e.typ),
			"eventData": data,
			"resource":  res,
			"globals":   map[string]any{"dateISO": at, "dateUnix": e.at.UnixMilli()},
		}
	})
	return e.vars, e.err
}

// userAgent is the User-Agent of webhook calls; a headers template may
// replace it.
const userAgent = "apifytest-webhooks/" + client.Version

// Header values that every webhook call shares; never changed.
var (
	userAgentHeader   = []string{userAgent}
	contentTypeHeader = []string{"application/json"}
	originHeader      = []string{"WEBHOOK"}
)

// fireLocked creates a dispatch of event typ of run r for every webhook that
// listens to it, queues them, and returns them.
func (s *Server) fireLocked(r *runRec, typ client.EventType) []*dispatchRec {
	var ev *event
	var out []*dispatchRec
	for _, wh := range r.owner.watching(r.run) {
		if !wh.listens(typ, r) {
			continue
		}
		if ev == nil {
			ev = newEvent(r.owner, typ, r.run)
		}
		if wh.w.IsAdHoc {
			wh.fired = true
			s.recountLocked(wh)
		}
		out = append(out, s.newDispatchLocked(wh, ev, r, r.depth+1))
	}
	for _, d := range out {
		s.enqueueLocked(d)
	}
	return out
}

// testDispatchLocked creates and queues a TEST dispatch of wh with a dummy
// run as its resource (the run its condition names, when there is one).
func (s *Server) testDispatchLocked(wh *webhookRec, depth int) *dispatchRec {
	var run client.Run
	if r, ok := s.runs[wh.w.Condition.ActorRunID]; ok && r.owner == wh.owner {
		run = r.run
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
	d := s.newDispatchLocked(wh, newEvent(wh.owner, client.EventTest, run), nil, depth+1)
	s.enqueueLocked(d)
	return d
}

// newDispatchLocked creates a dispatch of event ev through wh, depth webhook
// calls deep (see MaxChainDepth).
func (s *Server) newDispatchLocked(wh *webhookRec, ev *event, r *runRec, depth int) *dispatchRec {
	d := &dispatchRec{
		owner:      wh.owner,
		webhook:    wh,
		run:        r,
		url:        wh.w.RequestURL,
		host:       hostKey(wh.w.RequestURL),
		ignoreSSL:  wh.w.IgnoreSSLErrors,
		doNotRetry: wh.w.DoNotRetry,
		payload:    wh.payload,
		headers:    wh.headers,
		ev:         ev,
		depth:      depth,
		d: client.WebhookDispatch{
			ID:        newID(),
			UserID:    wh.owner.id,
			WebhookID: wh.w.ID,
			CreatedAt: now(),
			Status:    client.DispatchActive,
			EventType: ev.typ,
			EventData: ev.data(),
			Webhook: &client.WebhookDispatchSummary{
				ActionType: "HTTP_REQUEST", Condition: wh.w.Condition, RequestURL: wh.w.RequestURL, IsAdHoc: wh.w.IsAdHoc,
			},
			Calls: []client.WebhookCall{},
		},
	}
	if msg := chainError(depth); msg != "" {
		// Fails at its first attempt, without a call.
		d.rendered, d.renderErr, d.ev = true, msg, nil
	}
	s.seq++
	d.seq = s.seq
	if r != nil {
		r.dispatches = append(r.dispatches, d)
		r.pending++
	}
	s.dispatches[d.d.ID] = d
	s.allDisp = append(s.allDisp, d)
	wh.owner.dispatches = append(wh.owner.dispatches, d)
	wh.dispatches = append(wh.dispatches, d)
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
	vars, err := d.ev.variables()
	d.ev = nil // the body is all that later calls need
	if err != nil {
		d.renderErr = "cannot encode the run: " + err.Error()
		return
	}
	body, err := d.payload.Render(vars)
	if err != nil {
		d.renderErr = "payloadTemplate: " + err.Error()
		return
	}
	d.body = body
	d.header = make(http.Header, 5)
	d.header["User-Agent"] = userAgentHeader
	if d.headers != nil {
		hs, err := d.headers.RenderHeaders(vars)
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
	// The platform's own headers win over the template's (which Set
	// stored under the same canonical names).
	d.header["Content-Type"] = contentTypeHeader
	d.header["X-Apify-Webhook"] = []string{d.d.WebhookID}
	d.header["X-Apify-Webhook-Dispatch-Id"] = []string{d.d.ID}
	d.header["X-Apify-Request-Origin"] = originHeader
	d.header[ChainDepthHeader] = []string{strconv.Itoa(d.depth)}
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
	d.body, d.header = nil, nil // the request is not needed any more
	if d.settled != nil {
		close(d.settled)
	}
	if wh := d.webhook; wh.last == d {
		t := now()
		wh.w.LastDispatch = &client.WebhookLastDispatch{Status: status, FinishedAt: &t}
	}
	s.active--
	if s.active == 0 {
		close(s.idle)
	}
	if r := d.run; r != nil {
		r.pending--
		s.runSettledLocked(r)
	} else {
		s.retainLocked(doneRec{test: d, at: time.Now()})
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
	return s.waitFor(ctx, idle)
}

// waitFor waits until done is closed. It returns ctx's error if ctx ends
// first, and ErrClosed if the server closes first.
func (s *Server) waitFor(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
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
	if !ok {
		s.mu.Unlock()
		return nil, notFound("Webhook dispatch")
	}
	if d.d.Status != client.DispatchActive {
		out := copyDispatch(d.d)
		s.mu.Unlock()
		return &out, nil
	}
	if d.settled == nil {
		d.settled = make(chan struct{})
	}
	settled := d.settled
	s.mu.Unlock()
	if err := s.waitFor(ctx, settled); err != nil {
		return nil, err
	}
	// From d, which the retention may have evicted meanwhile.
	s.mu.Lock()
	defer s.mu.Unlock()
	out := copyDispatch(d.d)
	return &out, nil
}

func (s *Server) handleListDispatches(w http.ResponseWriter, r *http.Request, u *user) {
	s.listDispatches(w, r, u, nil)
}

func (s *Server) handleListWebhookDispatches(w http.ResponseWriter, r *http.Request, u *user) {
	var wh *webhookRec
	if e := s.withWebhook(u, r.PathValue("id"), func(found *webhookRec) { wh = found }); e != nil {
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
	list := u.dispatches
	if wh != nil {
		list = wh.dispatches
	}
	out := page(list, p, func(d *dispatchRec) client.WebhookDispatch { return copyDispatch(d.d) })
	s.mu.Unlock()
	writeData(w, http.StatusOK, out)
}

func (s *Server) handleGetDispatch(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	d, ok := s.dispatches[r.PathValue("id")]
	var out client.WebhookDispatch
	var e *Error
	if ok && d.owner == u {
		out = copyDispatch(d.d)
	} else {
		e = notFound("Webhook dispatch")
	}
	s.mu.Unlock()
	respond(w, http.StatusOK, out, e)
}

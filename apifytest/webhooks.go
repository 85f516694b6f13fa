package apifytest

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"

	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/internal/payloadtemplate"
)

// webhookRec is a webhook with its parsed templates.
type webhookRec struct {
	w          client.Webhook
	owner      *user
	idemKey    string
	payload    *payloadtemplate.Template
	headers    *payloadtemplate.Template // nil without a headers template
	fired      bool                      // an ad-hoc webhook that has dispatched
	last       *dispatchRec              // the latest dispatch
	dispatches []*dispatchRec            // oldest first
	seq        uint64                    // creation order among all records
	counted    bool                      // counts toward its owner's limit
	deleted    bool                      // removed by DELETE or by eviction
}

// watchKey says what w's condition watches, as its condition is matched
// (see listens): a run, else a task, else an Actor.
func (w *webhookRec) watchKey() string {
	c := w.w.Condition
	switch {
	case c.ActorRunID != "":
		return "run:" + c.ActorRunID
	case c.ActorTaskID != "":
		return "task:" + c.ActorTaskID
	default:
		return "actor:" + c.ActorID
	}
}

// webhookSpec is what defines a webhook, from any of the ways to create one.
type webhookSpec struct {
	isAdHoc         bool
	eventTypes      []client.EventType
	condition       client.WebhookCondition
	requestURL      string
	payloadTemplate string
	headersTemplate string
	description     string
	interpolate     bool
	ignoreSSL       bool
	doNotRetry      bool
	idemKey         string
}

// webhookCreate is the body of POST /v2/webhooks: the definition and the
// condition, decoded one after the other (see handleCreateWebhook) so that
// errors name the definition's fields as the platform does.
type webhookCreate struct {
	client.WebhookDefinition
	IsAdHoc   bool
	Condition client.WebhookCondition
}

func specOfCreate(c webhookCreate) webhookSpec {
	return webhookSpec{
		isAdHoc: c.IsAdHoc, eventTypes: c.EventTypes, condition: c.Condition, requestURL: c.RequestURL,
		payloadTemplate: c.PayloadTemplate, headersTemplate: c.HeadersTemplate, description: c.Description,
		interpolate: c.ShouldInterpolateStrings, ignoreSSL: c.IgnoreSSLErrors, doNotRetry: c.DoNotRetry,
		idemKey: c.IdempotencyKey,
	}
}

func specOfAdHoc(a client.WebhookDefinition, runID string) webhookSpec {
	return webhookSpec{
		isAdHoc: true, eventTypes: a.EventTypes, condition: client.WebhookCondition{ActorRunID: runID},
		requestURL: a.RequestURL, payloadTemplate: a.PayloadTemplate, headersTemplate: a.HeadersTemplate,
		interpolate: a.ShouldInterpolateStrings, ignoreSSL: a.IgnoreSSLErrors, doNotRetry: a.DoNotRetry,
		idemKey: a.IdempotencyKey,
	}
}

func specOf(w client.Webhook) webhookSpec {
	return webhookSpec{
		isAdHoc: w.IsAdHoc, eventTypes: w.EventTypes, condition: w.Condition, requestURL: w.RequestURL,
		payloadTemplate: w.PayloadTemplate, headersTemplate: w.HeadersTemplate, description: w.Description,
		interpolate: w.ShouldInterpolateStrings, ignoreSSL: w.IgnoreSSLErrors, doNotRetry: w.DoNotRetry,
	}
}

// compiled is a validated webhookSpec with its parsed templates.
type compiled struct {
	spec    webhookSpec
	payload *payloadtemplate.Template
	headers *payloadtemplate.Template
}

// compile validates everything in spec that does not depend on the server's
// state; field names in errors start with prefix.
func compile(spec webhookSpec, prefix string) (compiled, *Error) {
	if len(spec.eventTypes) == 0 {
		return compiled{}, badRequest("%seventTypes: at least one event type is required", prefix)
	}
	for i, e := range spec.eventTypes {
		if !e.IsKnown() {
			return compiled{}, badRequest("%seventTypes[%d]: unknown event type %q", prefix, i, e)
		}
	}
	if e := validateRequestURL(spec.requestURL); e != "" {
		return compiled{}, badRequest("%srequestUrl: %s", prefix, e)
	}
	opts := payloadtemplate.Options{InterpolateStrings: spec.interpolate}
	payload, err := defaultTemplate(spec.interpolate)
	if spec.payloadTemplate != "" {
		payload, err = payloadtemplate.Parse(spec.payloadTemplate, opts)
	}
	if err != nil {
		return compiled{}, badRequest("%spayloadTemplate: %s", prefix, templateMessage(err))
	}
	c := compiled{spec: spec, payload: payload}
	if spec.headersTemplate != "" {
		c.headers, err = payloadtemplate.ParseHeaders(spec.headersTemplate, opts)
		if err != nil {
			return compiled{}, badRequest("%sheadersTemplate: %s", prefix, templateMessage(err))
		}
	}
	if len(spec.idemKey) > 256 {
		return compiled{}, badRequest("%sidempotencyKey: longer than 256 characters", prefix)
	}
	return c, nil
}

// defaultTemplates are the platform's default payload template, parsed once
// (without and with shouldInterpolateStrings) and shared: a parsed template
// is immutable.
var defaultTemplates = [2]func() (*payloadtemplate.Template, error){
	sync.OnceValues(func() (*payloadtemplate.Template, error) {
		return payloadtemplate.Parse(payloadtemplate.Default, payloadtemplate.Options{})
	}),
	sync.OnceValues(func() (*payloadtemplate.Template, error) {
		return payloadtemplate.Parse(payloadtemplate.Default, payloadtemplate.Options{InterpolateStrings: true})
	}),
}

func defaultTemplate(interpolate bool) (*payloadtemplate.Template, error) {
	if interpolate {
		return defaultTemplates[1]()
	}
	return defaultTemplates[0]()
}

// templateMessage describes a template error without repeating which
// template it is about.
func templateMessage(err error) string {
	var te *payloadtemplate.Error
	if !errors.As(err, &te) {
		return err.Error()
	}
	msg := fmt.Sprintf("%s at line %d, column %d", te.Reason, te.Line, te.Column)
	if te.Hint != "" {
		msg += "; " + te.Hint
	}
	return msg
}

// validateRequestURL returns why s is not a URL a webhook can call, or "".
func validateRequestURL(s string) string {
	if s == "" {
		return "is required"
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Sprintf("%q is not a valid URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Sprintf("must be an absolute http or https URL, not %q", s)
	}
	if u.Host == "" {
		return fmt.Sprintf("%q has no host", s)
	}
	return ""
}

// resolveConditionLocked checks that the condition names something u may
// watch, resolving Actor and task names to IDs.
func (s *Server) resolveConditionLocked(u *user, c *client.WebhookCondition) *Error {
	if c.ActorID == "" && c.ActorTaskID == "" && c.ActorRunID == "" {
		return badRequest("condition: must name an actorId, an actorTaskId or an actorRunId")
	}
	if c.ActorRunID != "" {
		if r, ok := s.runs[c.ActorRunID]; !ok || r.owner != u {
			return badRequest("condition.actorRunId: there is no run %q", c.ActorRunID)
		}
	}
	if c.ActorID != "" {
		c.ActorID = s.actorLocked(u, c.ActorID).id
	}
	if c.ActorTaskID != "" {
		c.ActorTaskID = s.taskLocked(u, c.ActorTaskID).id
	}
	return nil
}

// createWebhookLocked creates a webhook of u from c, or returns the one u
// created earlier with the same idempotency key (created is then false).
func (s *Server) createWebhookLocked(u *user, c compiled) (w *webhookRec, created bool, err *Error) {
	if c.spec.idemKey != "" {
		if w, ok := u.idemKeys[c.spec.idemKey]; ok {
			return w, false, nil
		}
	}
	if e := s.resolveConditionLocked(u, &c.spec.condition); e != nil {
		return nil, false, e
	}
	if u.counted >= s.cfg.webhookLimit {
		return nil, false, &Error{StatusCode: http.StatusBadRequest, Type: typeTooManyWebhooks,
			Message: "You have reached the limit of " + strconv.Itoa(s.cfg.webhookLimit) + " webhooks; delete some first"}
	}
	t := now()
	w = &webhookRec{
		owner:   u,
		idemKey: c.spec.idemKey,
		payload: c.payload,
		headers: c.headers,
		w: client.Webhook{
			ID: newID(), CreatedAt: t, ModifiedAt: t, UserID: u.id,
			Stats: &client.WebhookStats{},
		},
	}
	w.apply(c)
	s.seq++
	w.seq = s.seq
	s.webhooks[w.w.ID] = w
	u.webhooks = append(u.webhooks, w)
	u.watch(w)
	if c.spec.idemKey != "" {
		u.idemKeys[c.spec.idemKey] = w
	}
	s.recountLocked(w)
	return w, true, nil
}

// apply sets w's definition from c.
func (w *webhookRec) apply(c compiled) {
	sp := c.spec
	w.w.IsAdHoc = sp.isAdHoc
	w.w.EventTypes = append([]client.EventType(nil), sp.eventTypes...)
	w.w.Condition = sp.condition
	w.w.RequestURL = sp.requestURL
	w.w.PayloadTemplate = sp.payloadTemplate
	w.w.HeadersTemplate = sp.headersTemplate
	w.w.Description = sp.description
	w.w.ShouldInterpolateStrings = sp.interpolate
	w.w.IgnoreSSLErrors = sp.ignoreSSL
	w.w.DoNotRetry = sp.doNotRetry
	w.payload, w.headers = c.payload, c.headers
}

// listens reports whether w fires on event ev of run r.
func (w *webhookRec) listens(ev client.EventType, r *runRec) bool {
	if !slices.Contains(w.w.EventTypes, ev) || (w.w.IsAdHoc && w.fired) {
		return false
	}
	c := w.w.Condition
	switch {
	case c.ActorRunID != "":
		return c.ActorRunID == r.run.ID
	case c.ActorTaskID != "":
		return c.ActorTaskID == r.run.ActorTaskID
	default:
		return c.ActorID == r.run.ActID
	}
}

// withWebhook calls f with u's webhook id under the server's lock.
func (s *Server) withWebhook(u *user, id string, f func(*webhookRec)) *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.webhooks[id]
	if !ok || w.owner != u {
		return notFound("Webhook")
	}
	f(w)
	return nil
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request, u *user) {
	body, e := readBody(r)
	var in webhookCreate
	if e == nil {
		e = decodeObject(body, &in.WebhookDefinition)
	}
	if e == nil {
		e = decodeObject(body, &struct {
			IsAdHoc   *bool                    `json:"isAdHoc"`
			Condition *client.WebhookCondition `json:"condition"`
		}{&in.IsAdHoc, &in.Condition})
	}
	if e != nil {
		writeError(w, e)
		return
	}
	c, e := compile(specOfCreate(in), "")
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	wh, _, e := s.createWebhookLocked(u, c)
	var out client.Webhook
	if e == nil {
		out = copyWebhook(wh.w)
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	w.Header().Set("Location", s.URL+"/v2/webhooks/"+out.ID)
	writeData(w, http.StatusCreated, viewOfWebhook(out))
}

// listedWebhook is a webhook as the API shows it, in a list or alone (GET,
// POST and PUT of /v2/webhooks/{id}): with doNotRetry and ignoreSslErrors
// even when false, as the description requires of a Webhook
// (ignoreSslErrors) and of list items (both).
type listedWebhook struct {
	client.Webhook
	DoNotRetry      bool `json:"doNotRetry"`
	IgnoreSSLErrors bool `json:"ignoreSslErrors"`
}

// viewOfWebhook returns w as the API shows it.
func viewOfWebhook(w client.Webhook) listedWebhook {
	return listedWebhook{w, w.DoNotRetry, w.IgnoreSSLErrors}
}

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request, u *user) {
	p, e := parseList(r)
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	out := page(u.webhooks, p, func(wh *webhookRec) listedWebhook {
		return viewOfWebhook(copyWebhook(wh.w))
	})
	s.mu.Unlock()
	writeData(w, http.StatusOK, out)
}

func (s *Server) handleGetWebhook(w http.ResponseWriter, r *http.Request, u *user) {
	var out client.Webhook
	e := s.withWebhook(u, r.PathValue("id"), func(wh *webhookRec) { out = copyWebhook(wh.w) })
	respond(w, http.StatusOK, viewOfWebhook(out), e)
}

func (s *Server) handleUpdateWebhook(w http.ResponseWriter, r *http.Request, u *user) {
	var in client.WebhookUpdate
	if e := readJSON(r, &in); e != nil {
		writeError(w, e)
		return
	}
	var out client.Webhook
	var invalid *Error
	e := s.withWebhook(u, r.PathValue("id"), func(wh *webhookRec) { out, invalid = s.updateWebhookLocked(wh, in) })
	respond(w, http.StatusOK, viewOfWebhook(out), cmp.Or(e, invalid))
}

// updateWebhookLocked changes the fields of wh that in sets.
func (s *Server) updateWebhookLocked(wh *webhookRec, in client.WebhookUpdate) (client.Webhook, *Error) {
	u := wh.owner
	sp := specOf(wh.w)
	setIfGiven(&sp.isAdHoc, in.IsAdHoc)
	setIfGiven(&sp.ignoreSSL, in.IgnoreSSLErrors)
	setIfGiven(&sp.doNotRetry, in.DoNotRetry)
	setIfGiven(&sp.interpolate, in.ShouldInterpolateStrings)
	setIfGiven(&sp.requestURL, in.RequestURL)
	setIfGiven(&sp.payloadTemplate, in.PayloadTemplate)
	setIfGiven(&sp.headersTemplate, in.HeadersTemplate)
	setIfGiven(&sp.description, in.Description)
	setIfGiven(&sp.condition, in.Condition)
	if in.EventTypes != nil {
		sp.eventTypes = in.EventTypes
	}
	c, e := compile(sp, "")
	if e != nil {
		return client.Webhook{}, e
	}
	if in.Condition != nil {
		if e := s.resolveConditionLocked(u, &c.spec.condition); e != nil {
			return client.Webhook{}, e
		}
	}
	u.unwatch(wh)
	wh.apply(c)
	u.watch(wh)
	s.recountLocked(wh)
	wh.w.ModifiedAt = now()
	return copyWebhook(wh.w), nil
}

// setIfGiven sets *dst to *src when an update gives src.
func setIfGiven[T any](dst, src *T) {
	if src != nil {
		*dst = *src
	}
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request, u *user) {
	if e := s.withWebhook(u, r.PathValue("id"), s.deleteWebhookLocked); e != nil {
		writeError(w, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteWebhookLocked removes wh; its dispatches stay and finish.
func (s *Server) deleteWebhookLocked(wh *webhookRec) {
	delete(s.webhooks, wh.w.ID)
	u := wh.owner
	u.unwatch(wh)
	u.webhooks = removeSeq(u.webhooks, wh)
	wh.deleted = true
	s.recountLocked(wh)
	if wh.idemKey != "" && u.idemKeys[wh.idemKey] == wh {
		delete(u.idemKeys, wh.idemKey)
	}
}

func (s *Server) handleTestWebhook(w http.ResponseWriter, r *http.Request, u *user) {
	var out client.WebhookDispatch
	e := s.withWebhook(u, r.PathValue("id"), func(wh *webhookRec) { out = copyDispatch(s.testDispatchLocked(wh, chainDepth(r)).d) })
	respond(w, http.StatusCreated, out, e)
}

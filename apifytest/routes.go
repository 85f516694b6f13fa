package apifytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-apify/actor/client"
)

// maxBody is the largest request body accepted, as on the platform.
const maxBody = 9 << 20

// apiHandler serves an authenticated request of user u.
type apiHandler func(w http.ResponseWriter, r *http.Request, u *user)

// route is an endpoint: a ServeMux pattern and its handler per method.
type route struct {
	pattern string
	methods map[string]apiHandler
}

// routeTable lists the server's endpoints, as the package documentation
// does (a test checks that they agree).
func (s *Server) routeTable() []route {
	routes := []route{
		{"/v2/webhooks", map[string]apiHandler{"GET": s.handleListWebhooks, "POST": s.handleCreateWebhook}},
		{"/v2/webhooks/{id}", map[string]apiHandler{"GET": s.handleGetWebhook, "PUT": s.handleUpdateWebhook, "DELETE": s.handleDeleteWebhook}},
		{"/v2/webhooks/{id}/test", map[string]apiHandler{"POST": s.handleTestWebhook}},
		{"/v2/webhooks/{id}/dispatches", map[string]apiHandler{"GET": s.handleListWebhookDispatches}},
		{"/v2/webhook-dispatches", map[string]apiHandler{"GET": s.handleListDispatches}},
		{"/v2/webhook-dispatches/{id}", map[string]apiHandler{"GET": s.handleGetDispatch}},

		{"/v2/acts/{actorId}/runs", map[string]apiHandler{"GET": s.handleListJobRuns, "POST": s.handleStartActor}},
		{"/v2/actors/{actorId}/runs", map[string]apiHandler{"GET": s.handleListJobRuns, "POST": s.handleStartActor}},
		{"/v2/actor-tasks/{taskId}/runs", map[string]apiHandler{"GET": s.handleListJobRuns, "POST": s.handleStartTask}},
		{"/v2/actor-runs", map[string]apiHandler{"GET": s.handleListRuns}},
		{"/v2/actor-runs/{id}", map[string]apiHandler{"GET": s.handleGetRun, "PUT": s.handleUpdateRun, "DELETE": s.handleDeleteRun}},
		{"/v2/actor-runs/{id}/abort", map[string]apiHandler{"POST": s.handleAbortRun}},
		{"/v2/actor-runs/{id}/reboot", map[string]apiHandler{"POST": s.handleRebootRun}},
		{"/v2/actor-runs/{id}/metamorph", map[string]apiHandler{"POST": s.handleMetamorphRun}},
		{"/v2/actor-runs/{id}/resurrect", map[string]apiHandler{"POST": s.handleResurrectRun}},
		{"/v2/actor-runs/{id}/charge", map[string]apiHandler{"POST": s.handleChargeRun}},

		{"/v2/datasets", map[string]apiHandler{"GET": s.handleListStorages(kindDataset), "POST": s.handleGetOrCreateStorage(kindDataset)}},
		{"/v2/key-value-stores", map[string]apiHandler{"GET": s.handleListStorages(kindKeyValueStore), "POST": s.handleGetOrCreateStorage(kindKeyValueStore)}},
		{"/v2/request-queues", map[string]apiHandler{"GET": s.handleListStorages(kindRequestQueue), "POST": s.handleGetOrCreateStorage(kindRequestQueue)}},

		{"/v2/logs/{id}", map[string]apiHandler{"GET": s.handleGetLog}},
		{"/v2/actor-runs/{runId}/log", map[string]apiHandler{"GET": s.handleGetLog}},
		{"/v2/users/{userId}", map[string]apiHandler{"GET": s.handleGetUser}},
		{"/v2/users/me/limits", map[string]apiHandler{"GET": s.handleGetLimits}},
		{"/v2/users/me/usage/monthly", map[string]apiHandler{"GET": s.handleGetMonthlyUsage}},

		{"/_apifytest/runs/{id}/finish", map[string]apiHandler{"POST": s.handleControlFinish}},
		{"/_apifytest/runs/{id}/abort", map[string]apiHandler{"POST": s.handleControlAbort}},
		{"/_apifytest/runs/{id}/migrate", map[string]apiHandler{"POST": s.handleControlMigrate}},
		{"/_apifytest/runs/{id}/env", map[string]apiHandler{"GET": s.handleControlEnv}},
		{eventsPattern, map[string]apiHandler{"GET": s.handleEvents}},
		{"/_apifytest/wait-idle", map[string]apiHandler{"POST": s.handleControlWaitIdle}},
	}
	// A storage's own endpoints, under its ID (or name) and as a run's
	// default storage.
	for _, base := range []struct{ dataset, store, queue string }{
		{"/v2/datasets/{id}", "/v2/key-value-stores/{id}", "/v2/request-queues/{id}"},
		{"/v2/actor-runs/{runId}/dataset", "/v2/actor-runs/{runId}/key-value-store", "/v2/actor-runs/{runId}/request-queue"},
	} {
		routes = append(routes,
			route{base.dataset, s.storageMethods(kindDataset)},
			route{base.dataset + "/items", map[string]apiHandler{"GET": s.handleGetItems, "HEAD": s.handleGetItems, "POST": s.handlePushItems}},
			route{base.dataset + "/statistics", map[string]apiHandler{"GET": s.handleDatasetStatistics}},
			route{base.store, s.storageMethods(kindKeyValueStore)},
			route{base.store + "/keys", map[string]apiHandler{"GET": s.handleListKeys}},
			route{base.store + "/records", map[string]apiHandler{"GET": s.handleDownloadRecords}},
			route{base.store + "/records/{key}", map[string]apiHandler{
				"GET": s.handleGetRecord, "HEAD": s.handleGetRecord, "PUT": s.handlePutRecord,
				"POST": s.handlePutRecord, "DELETE": s.handleDeleteRecord,
			}},
			route{base.queue, s.storageMethods(kindRequestQueue)},
			route{base.queue + "/requests", map[string]apiHandler{"GET": queueEndpoint(s.listRequests), "POST": queueEndpoint(s.addRequest)}},
			route{base.queue + "/requests/batch", map[string]apiHandler{
				"POST": queueEndpoint(s.batchAddRequests), "DELETE": queueEndpoint(s.batchDeleteRequests),
			}},
			route{base.queue + "/requests/unlock", map[string]apiHandler{"POST": queueEndpoint(s.unlock)}},
			route{base.queue + "/requests/{requestId}", map[string]apiHandler{
				"GET": s.handleGetRequest, "PUT": queueEndpoint(s.updateRequest), "DELETE": queueEndpoint(s.deleteRequest),
			}},
			route{base.queue + "/requests/{requestId}/lock", map[string]apiHandler{
				"PUT": queueEndpoint(s.prolongLock), "DELETE": queueEndpoint(s.deleteLock),
			}},
			route{base.queue + "/head", map[string]apiHandler{"GET": queueEndpoint(s.head)}},
			route{base.queue + "/head/lock", map[string]apiHandler{"POST": queueEndpoint(s.lockHead)}},
		)
	}
	return append(routes, s.actorRoutes()...)
}

// storageMethods are the methods of a storage object.
func (s *Server) storageMethods(kind string) map[string]apiHandler {
	return map[string]apiHandler{
		"GET": s.handleGetStorage(kind), "PUT": s.handleUpdateStorage(kind), "DELETE": s.handleDeleteStorage(kind),
	}
}

// routes returns the server's handler: the API under /v2, the control
// endpoints under /_apifytest, behind fault injection and authentication.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routeTable() {
		// The events websocket authenticates by the key in its URL.
		mux.Handle(rt.pattern, s.methods(rt.methods, rt.pattern != eventsPattern))
	}
	mux.HandleFunc(proxyStatusPath+"/", s.handleProxyStatus)
	s.mux = mux
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &Error{StatusCode: http.StatusNotFound, Type: typePageNotFound,
			Message: "There is no API endpoint at " + r.Method + " " + r.URL.Path})
	})
	return s.bodyDeadline(s.injectFaults(s.logRequests(s.refuseProxying(mux))))
}

// bodyDeadline gives a request with a body cfg.bodyTimeout to send it: the
// connection's read deadline, lifted once the body has been read, so that a
// long poll that follows is not cut short.
func (s *Server) bodyDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			// Not supported when the handler is mounted elsewhere: that
			// server's own timeouts apply.
			if rc.SetReadDeadline(time.Now().Add(s.cfg.bodyTimeout)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the connection's read deadline when its body ends.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// methods authenticates a request (if auth) and serves it with the handler
// of its method, or answers 405 with the allowed methods.
func (s *Server) methods(byMethod map[string]apiHandler, auth bool) http.Handler {
	allowed := make([]string, 0, len(byMethod))
	for m := range byMethod {
		allowed = append(allowed, m)
	}
	sort.Strings(allowed)
	allow := strings.Join(allowed, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := byMethod[r.Method]
		if !ok {
			w.Header().Set("Allow", allow)
			if r.Body != nil && r.Body != http.NoBody {
				w.Header().Set("Connection", "close")
			}
			writeError(w, &Error{StatusCode: http.StatusMethodNotAllowed, Type: typeMethod,
				Message: "This API endpoint can only be accessed using the following HTTP methods: " + allow})
			return
		}
		if e := checkQuery(r.URL.RawQuery); e != nil {
			writeError(w, e)
			return
		}
		var u *user
		var err *Error
		if auth {
			u, err = s.authenticate(r)
		}
		if err != nil {
			// Without reading the body: a client that sends a slow one
			// with a wrong token is answered at once, and the
			// connection closed.
			if r.Body != nil && r.Body != http.NoBody {
				w.Header().Set("Connection", "close")
			}
			writeError(w, err)
			return
		}
		h(w, r, u)
	})
}

// checkQuery returns a 400 naming the first parameter of a query string that
// cannot be read (a bad percent-escape, a semicolon), which r.URL.Query
// would silently drop.
func checkQuery(raw string) *Error {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		key, value, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(key)
		if err != nil {
			name = key
		} else if strings.Contains(pair, ";") {
			err = errors.New("a semicolon is not a separator")
		} else {
			_, err = url.QueryUnescape(value)
		}
		if err != nil {
			return &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
				Message: "Parameter " + strconv.Quote(name) + " cannot be read: " + err.Error()}
		}
	}
	return nil
}

// logRequests logs each request at debug level, without its query (which
// may hold a token).
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		s.log.Debug("apifytest: request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "duration", time.Since(start))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// readBody reads a request body of at most maxBody bytes and undoes its
// Content-Encoding.
func readBody(r *http.Request) ([]byte, *Error) {
	body, err := readLimited(r.Body, maxBody)
	switch {
	case errors.Is(err, errTooLarge):
		actual := ""
		if r.ContentLength > 0 {
			actual = ", actual length: " + strconv.FormatInt(r.ContentLength, 10) + " bytes"
		}
		return nil, &Error{StatusCode: http.StatusRequestEntityTooLarge, Type: typeTooLarge,
			Message: "The POST payload is too large (limit: " + strconv.Itoa(maxBody) + " bytes" + actual + ")."}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, &Error{StatusCode: http.StatusRequestTimeout, Type: typeTimeout,
			Message: "The request body was not sent within the body timeout"}
	case err != nil:
		return nil, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidRequest, Message: "cannot read the request body: " + err.Error()}
	}
	return decodeBody(r.Header.Get("Content-Encoding"), body)
}

// readJSON decodes a request body holding a JSON object into v.
func readJSON(r *http.Request, v any) *Error {
	body, e := readBody(r)
	if e != nil {
		return e
	}
	return decodeObject(body, v)
}

// decodeObject decodes a JSON object into v, with errors that name the
// offending field.
func decodeObject(body []byte, v any) *Error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidRequest, Message: "Request body must be a JSON object"}
	}
	if err := json.Unmarshal(trimmed, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return badRequest("%s: must be %s, not JSON %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		return &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidRequest, Message: "Request body is not valid JSON: " + err.Error()}
	}
	return nil
}

// jsonKind names a Go kind the way a JSON user thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	default:
		return "a number"
	}
}

// listParams are a list request's offset, limit and desc.
type listParams struct {
	offset, limit int
	desc          bool
}

// maxListLimit is the largest page the platform returns.
const maxListLimit = 1000

func parseList(r *http.Request) (listParams, *Error) {
	return parseListValues(r.URL.Query(), maxListLimit)
}

// parseListValues reads offset, limit (at most maxLimit, which 0 or none
// means) and desc from q.
func parseListValues(q url.Values, maxLimit int) (listParams, *Error) {
	p := listParams{limit: maxLimit}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"offset", &p.offset}, {"limit", &p.limit}} {
		v := q.Get(f.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n < 0 || n != float64(int(n)) {
			return p, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
				Message: "Parameter " + f.name + " must be a non-negative integer, not " + strconv.Quote(v)}
		}
		*f.dst = int(n)
	}
	if p.limit == 0 || p.limit > maxLimit {
		p.limit = maxLimit
	}
	desc, e := parseBool(q.Get("desc"), "desc")
	if e != nil {
		return p, e
	}
	p.desc = desc
	return p, nil
}

// parseBool parses a boolean query parameter as the platform does.
func parseBool(v, name string) (bool, *Error) {
	switch strings.ToLower(v) {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
		Message: "Parameter " + name + " must be true, false, 1 or 0, not " + strconv.Quote(v)}
}

// page returns the page of items (oldest first) that p selects, each
// turned into what the API shows by view: a list costs what it returns,
// whatever the number of items.
func page[R, T any](items []R, p listParams, view func(R) T) client.Page[T] {
	total := len(items)
	start := min(p.offset, total)
	end := min(start+p.limit, total)
	out := make([]T, 0, end-start)
	for i := start; i < end; i++ {
		j := i
		if p.desc {
			j = total - 1 - i
		}
		out = append(out, view(items[j]))
	}
	return client.Page[T]{Total: total, Offset: p.offset, Limit: p.limit, Count: len(out), Desc: p.desc, Items: out}
}

package apifytest

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The requests of request queues: adding them (one or a batch), reading,
// updating and deleting them, the head of pending requests, and locks.
//
// A queue keeps its requests in the order they were added (for listing) and
// its pending ones, those not handled, in the order they will be given out:
// a request added or returned to the forefront comes before every other.
// A lock belongs to the client key that took it: until it expires, the
// request is not in the head for anyone, and only that client may prolong
// it, delete it, or update or delete the request.

// Limits of request queues, as on the platform where it has them.
const (
	maxBatchRequests = 25    // requests per batch call
	maxHeadLimit     = 1000  // requests per head
	defaultHeadLimit = 100   // requests per head without a limit
	maxLockedHead    = 25    // requests per head-and-lock
	maxRequestsLimit = 10000 // requests per page of a listing
	defaultListLimit = 1000  // requests per page without a limit
	maxClientKeyLen  = 32
	maxLockSecs      = 24 * 60 * 60 // ours: a day
	requestIDLen     = 15
)

// httpMethods are the methods a request may have.
var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}

// queue is what a request queue holds.
type queue struct {
	byID            map[string]*queuedRequest
	all             []*queuedRequest // in the order they were added
	pending         []*queuedRequest // not handled, by order
	handled         int
	seq             uint64 // the last request's number
	back            int64  // the order of the last request at the end
	front           int64  // the order of the last request at the forefront
	clientKey       string // the first client key that used the queue
	multipleClients bool
}

func newQueue() *queue { return &queue{byID: map[string]*queuedRequest{}} }

// queuedRequest is a request of a queue.
type queuedRequest struct {
	id, uniqueKey, url, method string
	retryCount                 int
	handled                    bool
	fields                     map[string]json.RawMessage // as sent, without the ID
	size                       int64                      // of fields as JSON
	seq                        uint64
	order                      int64
	lockedBy                   string
	lockExpires                time.Time
}

func (q *queuedRequest) seqNo() uint64 { return q.seq }

// lockedAt reports whether q is locked at t.
func (q *queuedRequest) lockedAt(t time.Time) bool {
	return q.lockedBy != "" && q.lockExpires.After(t)
}

// requestID is the ID of the request with uniqueKey, as the platform and
// Crawlee derive it: the SHA-256 of the key in base64 without '+', '/' and
// '=', its first 15 characters.
func requestID(uniqueKey string) string {
	sum := sha256.Sum256([]byte(uniqueKey))
	id := strings.NewReplacer("+", "", "/", "", "=", "").Replace(base64.StdEncoding.EncodeToString(sum[:]))
	return id[:requestIDLen]
}

// requestIn is a request body as far as the server reads it.
type requestIn struct {
	ID            *string         `json:"id"`
	UniqueKey     *string         `json:"uniqueKey"`
	URL           *string         `json:"url"`
	Method        *string         `json:"method"`
	RetryCount    *int            `json:"retryCount"`
	HandledAt     json.RawMessage `json:"handledAt"`
	Headers       json.RawMessage `json:"headers"`
	UserData      json.RawMessage `json:"userData"`
	NoRetry       *bool           `json:"noRetry"`
	ErrorMessages []string        `json:"errorMessages"`
	LoadedURL     *string         `json:"loadedUrl"`
}

// decodeRequest reads a request from its JSON; prefix names it in errors
// ("requests[3]." in a batch).
func decodeRequest(raw []byte, prefix string) (*queuedRequest, *Error) {
	var in requestIn
	if e := decodeObject(raw, &in); e != nil {
		if prefix != "" {
			e.Message = strings.TrimSuffix(prefix, ".") + ": " + e.Message
		}
		return nil, e
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(raw, &fields) // an object: decoded above
	for _, f := range []struct {
		name string
		v    json.RawMessage
	}{{"headers", in.Headers}, {"userData", in.UserData}} {
		if t := strings.TrimSpace(string(f.v)); t != "" && t != "null" && t[0] != '{' {
			return nil, badRequest("%s%s: must be an object", prefix, f.name)
		}
	}
	switch {
	case in.URL == nil || *in.URL == "":
		return nil, badRequest("%surl: is required", prefix)
	case in.UniqueKey == nil || *in.UniqueKey == "":
		return nil, badRequest("%suniqueKey: is required", prefix)
	}
	if u, err := url.Parse(*in.URL); err != nil || u.Scheme == "" {
		return nil, badRequest("%surl: %q is not an absolute URL", prefix, *in.URL)
	}
	handled := false
	if t := strings.TrimSpace(string(in.HandledAt)); t != "" && t != "null" {
		var at time.Time
		if err := json.Unmarshal(in.HandledAt, &at); err != nil {
			return nil, badRequest("%shandledAt: %s is not a date and time (ISO 8601)", prefix, t)
		}
		handled = true
	}
	q := &queuedRequest{uniqueKey: *in.UniqueKey, url: *in.URL, method: "GET", handled: handled}
	q.id = requestID(q.uniqueKey)
	if in.ID != nil && *in.ID != q.id {
		return nil, &Error{StatusCode: http.StatusBadRequest, Type: typeRequestID,
			Message: prefix + "id: " + strconv.Quote(*in.ID) + " is not the ID of the uniqueKey, " + strconv.Quote(q.id)}
	}
	if in.Method != nil {
		q.method = strings.ToUpper(*in.Method)
		if !slices.Contains(httpMethods, q.method) {
			return nil, badRequest("%smethod: %q is not one of %s", prefix, *in.Method, strings.Join(httpMethods, ", "))
		}
		fields["method"], _ = json.Marshal(q.method)
	}
	if in.RetryCount != nil {
		if *in.RetryCount < 0 {
			return nil, badRequest("%sretryCount: must not be negative", prefix)
		}
		q.retryCount = *in.RetryCount
	}
	delete(fields, "id")
	delete(fields, "lockExpiresAt")
	q.fields = fields
	q.size = int64(len(raw))
	return q, nil
}

// view returns q as the API shows it whole.
func (q *queuedRequest) view() map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(q.fields)+1)
	for k, v := range q.fields {
		out[k] = v
	}
	out["id"], _ = json.Marshal(q.id)
	return out
}

// headItem is a request in a queue's head.
type headItem struct {
	ID            string     `json:"id"`
	UniqueKey     string     `json:"uniqueKey"`
	URL           string     `json:"url"`
	Method        string     `json:"method"`
	RetryCount    int        `json:"retryCount"`
	LockExpiresAt *time.Time `json:"lockExpiresAt,omitempty"`
}

func (q *queuedRequest) headItem() headItem {
	return headItem{ID: q.id, UniqueKey: q.uniqueKey, URL: q.url, Method: q.method, RetryCount: q.retryCount}
}

// registration is the outcome of adding or updating a request.
type registration struct {
	RequestID         string `json:"requestId"`
	UniqueKey         string `json:"uniqueKey,omitempty"`
	WasAlreadyPresent bool   `json:"wasAlreadyPresent"`
	WasAlreadyHandled bool   `json:"wasAlreadyHandled"`
}

// place puts pending request r at the forefront or the end of the order.
func (q *queue) place(r *queuedRequest, forefront bool) {
	if forefront {
		q.front--
		r.order = q.front
	} else {
		q.back++
		r.order = q.back
	}
	i, _ := slices.BinarySearchFunc(q.pending, r.order, func(e *queuedRequest, o int64) int { return cmp.Compare(e.order, o) })
	q.pending = slices.Insert(q.pending, i, r)
}

// unplace removes pending request r from the order.
func (q *queue) unplace(r *queuedRequest) {
	i, found := slices.BinarySearchFunc(q.pending, r.order, func(e *queuedRequest, o int64) int { return cmp.Compare(e.order, o) })
	if found {
		q.pending = slices.Delete(q.pending, i, i+1)
	}
}

// touch notes that the client with key used the queue.
func (q *queue) touch(key string) {
	switch {
	case q.clientKey == "":
		q.clientKey = key
	case q.clientKey != key:
		q.multipleClients = true
	}
}

// clientKeyOf returns the clientKey parameter of r: as on the platform, a
// call without one comes from a new client.
func clientKeyOf(r *http.Request) (string, *Error) {
	k := r.URL.Query().Get("clientKey")
	if len(k) > maxClientKeyLen {
		return "", &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidClientKey,
			Message: "Parameter clientKey must be 1 to " + strconv.Itoa(maxClientKeyLen) + " characters long"}
	}
	if k == "" {
		k = "anonymous-" + randomString(16)
	}
	return k, nil
}

// queueCall is what most request queue calls read from the query.
type queueCall struct {
	clientKey string
	forefront bool
}

func parseQueueCall(r *http.Request) (queueCall, *Error) {
	k, e := clientKeyOf(r)
	if e != nil {
		return queueCall{}, e
	}
	f, e := parseBool(r.URL.Query().Get("forefront"), "forefront")
	return queueCall{clientKey: k, forefront: f}, e
}

// withQueue calls f with the queue r names and its storage, under the
// server's lock; the client of c used it.
func (s *Server) withQueue(u *user, r *http.Request, c queueCall, f func(st *storage, q *queue) *Error) *Error {
	return s.withStorageOf(u, kindRequestQueue, r, func(st *storage) *Error {
		st.queue.touch(c.clientKey)
		return f(st, st.queue)
	})
}

// queueHandler serves a call of client c on a request queue: it returns the
// status and data of the answer (nil data for none).
type queueHandler func(r *http.Request, u *user, c queueCall) (int, any, *Error)

// queueEndpoint serves h with the call's clientKey and forefront.
func queueEndpoint(h queueHandler) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, u *user) {
		c, e := parseQueueCall(r)
		if e != nil {
			writeError(w, e)
			return
		}
		status, out, e := h(r, u, c)
		if e == nil && out == nil {
			w.WriteHeader(status)
			return
		}
		respond(w, status, out, e)
	}
}

// readRequest reads the request that r's body holds.
func readRequest(r *http.Request) (*queuedRequest, *Error) {
	body, e := readBody(r)
	if e != nil {
		return nil, e
	}
	return decodeRequest(body, "")
}

// addLocked adds r to queue st unless a request with its unique key is
// there.
func (s *Server) addLocked(st *storage, r *queuedRequest, forefront bool) (registration, *Error) {
	q := st.queue
	if old, ok := q.byID[r.id]; ok {
		return registration{RequestID: old.id, UniqueKey: old.uniqueKey, WasAlreadyPresent: true, WasAlreadyHandled: old.handled}, nil
	}
	if e := s.addBytesLocked(st, r.size); e != nil {
		return registration{}, e
	}
	q.seq++
	r.seq = q.seq
	q.byID[r.id] = r
	q.all = append(q.all, r)
	if r.handled {
		q.handled++
	} else {
		q.place(r, forefront)
	}
	st.modified = now()
	return registration{RequestID: r.id, UniqueKey: r.uniqueKey}, nil
}

// removeLocked deletes r from queue st.
func (s *Server) removeLocked(st *storage, r *queuedRequest) {
	q := st.queue
	delete(q.byID, r.id)
	q.all = removeSeq(q.all, r)
	if r.handled {
		q.handled--
	} else {
		q.unplace(r)
	}
	_ = s.addBytesLocked(st, -r.size)
	st.modified = now()
}

// lockedByOther is the error of a call on a request locked by another
// client.
func lockedByOther(id string) *Error {
	return &Error{StatusCode: http.StatusForbidden, Type: typeRequestLocked,
		Message: "Request " + id + " is locked by another client"}
}

// addRequest serves POST .../requests.
func (s *Server) addRequest(r *http.Request, u *user, c queueCall) (int, any, *Error) {
	req, e := readRequest(r)
	if e != nil {
		return 0, nil, e
	}
	var reg registration
	e = s.withQueue(u, r, c, func(st *storage, _ *queue) *Error {
		var e *Error
		reg, e = s.addLocked(st, req, c.forefront)
		reg.UniqueKey = ""
		return e
	})
	return http.StatusCreated, reg, e
}

// readBatch reads a JSON array of at most maxBatchRequests objects.
func readBatch(r *http.Request) ([]json.RawMessage, *Error) {
	body, e := readBody(r)
	if e != nil {
		return nil, e
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidRequest, Message: "Request body must be a JSON array of requests: " + err.Error()}
	}
	if len(raws) == 0 || len(raws) > maxBatchRequests {
		return nil, badRequest("requests: a batch holds 1 to %d requests, not %d", maxBatchRequests, len(raws))
	}
	return raws, nil
}

// batchAddRequests serves POST .../requests/batch: past the storage limit,
// requests are left unprocessed.
func (s *Server) batchAddRequests(r *http.Request, u *user, c queueCall) (int, any, *Error) {
	raws, e := readBatch(r)
	if e != nil {
		return 0, nil, e
	}
	reqs := make([]*queuedRequest, len(raws))
	for i, raw := range raws {
		if reqs[i], e = decodeRequest(raw, "requests["+strconv.Itoa(i)+"]."); e != nil {
			return 0, nil, e
		}
	}
	type draft struct {
		UniqueKey string `json:"uniqueKey"`
		URL       string `json:"url"`
		Method    string `json:"method"`
	}
	out := struct {
		ProcessedRequests   []registration `json:"processedRequests"`
		UnprocessedRequests []draft        `json:"unprocessedRequests"`
	}{[]registration{}, []draft{}}
	e = s.withQueue(u, r, c, func(st *storage, _ *queue) *Error {
		for _, req := range reqs {
			// Past the storage limit, the rest are left unprocessed,
			// as the platform leaves those it cannot add now.
			if reg, e := s.addLocked(st, req, c.forefront); e != nil {
				out.UnprocessedRequests = append(out.UnprocessedRequests, draft{req.uniqueKey, req.url, req.method})
			} else {
				out.ProcessedRequests = append(out.ProcessedRequests, reg)
			}
		}
		return nil
	})
	return http.StatusCreated, out, e
}

// batchDeleteRequests serves DELETE .../requests/batch: a request locked by
// another client is left unprocessed.
func (s *Server) batchDeleteRequests(r *http.Request, u *user, c queueCall) (int, any, *Error) {
	raws, e := readBatch(r)
	if e != nil {
		return 0, nil, e
	}
	type deleted struct {
		ID        string `json:"id"`
		UniqueKey string `json:"uniqueKey"`
	}
	ids := make([]string, len(raws))
	for i, raw := range raws {
		var in struct {
			ID        *string `json:"id"`
			UniqueKey *string `json:"uniqueKey"`
		}
		if e := decodeObject(raw, &in); e != nil {
			e.Message = "requests[" + strconv.Itoa(i) + "]: " + e.Message
			return 0, nil, e
		}
		switch {
		case in.ID != nil && *in.ID != "":
			ids[i] = *in.ID
		case in.UniqueKey != nil && *in.UniqueKey != "":
			ids[i] = requestID(*in.UniqueKey)
		default:
			return 0, nil, badRequest("requests[%d]: needs an id or a uniqueKey", i)
		}
	}
	out := struct {
		ProcessedRequests   []deleted `json:"processedRequests"`
		UnprocessedRequests []deleted `json:"unprocessedRequests"`
	}{[]deleted{}, []deleted{}}
	e = s.withQueue(u, r, c, func(st *storage, q *queue) *Error {
		t := time.Now()
		for _, id := range ids {
			req, ok := q.byID[id]
			switch {
			case !ok:
				out.ProcessedRequests = append(out.ProcessedRequests, deleted{ID: id})
			case req.lockedAt(t) && req.lockedBy != c.clientKey:
				out.UnprocessedRequests = append(out.UnprocessedRequests, deleted{ID: id, UniqueKey: req.uniqueKey})
			default:
				s.removeLocked(st, req)
				out.ProcessedRequests = append(out.ProcessedRequests, deleted{ID: id, UniqueKey: req.uniqueKey})
			}
		}
		return nil
	})
	return http.StatusOK, out, e
}

// requestLocked returns the request {requestId} of q.
func requestLocked(q *queue, r *http.Request) (*queuedRequest, *Error) {
	req, ok := q.byID[r.PathValue("requestId")]
	if !ok {
		return nil, notFound("Request")
	}
	return req, nil
}

func (s *Server) handleGetRequest(w http.ResponseWriter, r *http.Request, u *user) {
	var out map[string]json.RawMessage
	e := s.withStorageOf(u, kindRequestQueue, r, func(st *storage) *Error {
		req, e := requestLocked(st.queue, r)
		if e == nil {
			out = req.view()
		}
		return e
	})
	respond(w, http.StatusOK, out, e)
}

// updateRequest serves PUT .../requests/{requestId}: the request is
// replaced; a handledAt marks it handled (and releases its lock), none
// makes it pending again, at the end (or with forefront at the
// forefront). A pending request stays in its place unless forefront.
func (s *Server) updateRequest(r *http.Request, u *user, c queueCall) (int, any, *Error) {
	nr, e := readRequest(r)
	if e != nil {
		return 0, nil, e
	}
	var reg registration
	e = s.withQueue(u, r, c, func(st *storage, q *queue) *Error {
		old, e := requestLocked(q, r)
		if e != nil {
			return e
		}
		if nr.id != old.id {
			return &Error{StatusCode: http.StatusBadRequest, Type: typeRequestID,
				Message: "uniqueKey: " + strconv.Quote(nr.uniqueKey) + " is not the unique key of request " + old.id}
		}
		if old.lockedAt(time.Now()) && old.lockedBy != c.clientKey {
			return lockedByOther(old.id)
		}
		if e := s.addBytesLocked(st, nr.size-old.size); e != nil {
			return e
		}
		reg = registration{RequestID: old.id, WasAlreadyPresent: true, WasAlreadyHandled: old.handled}
		switch {
		case nr.handled && !old.handled:
			q.unplace(old)
			q.handled++
			old.lockedBy = ""
		case !nr.handled && old.handled:
			q.handled--
			q.place(old, c.forefront)
		case !nr.handled && c.forefront:
			q.unplace(old)
			q.place(old, true)
		}
		old.fields, old.size, old.url, old.method, old.retryCount, old.handled = nr.fields, nr.size, nr.url, nr.method, nr.retryCount, nr.handled
		st.modified = now()
		return nil
	})
	return http.StatusOK, reg, e
}

// deleteRequest serves DELETE .../requests/{requestId}.
func (s *Server) deleteRequest(r *http.Request, u *user, c queueCall) (int, any, *Error) {
	return http.StatusNoContent, nil, s.withQueue(u, r, c, func(st *storage, q *queue) *Error {
		req, e := requestLocked(q, r)
		if e != nil {
			return e
		}
		if req.lockedAt(time.Now()) && req.lockedBy != c.clientKey {
			return lockedByOther(req.id)
		}
		s.removeLocked(st, req)
		return nil
	})
}

// parseCount reads a positive integer parameter of at most maxN (def when
// absent).
func parseCount(r *http.Request, name string, def, maxN int) (int, *Error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 1 || f != float64(int(f)) {
		return 0, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
			Message: "Parameter " + name + " must be a positive integer, not " + strconv.Quote(v)}
	}
	return min(int(f), maxN), nil
}

// headView is the head of a queue.
type headView struct {
	Limit                  int        `json:"limit"`
	QueueModifiedAt        time.Time  `json:"queueModifiedAt"`
	QueueHasLockedRequests *bool      `json:"queueHasLockedRequests,omitempty"`
	ClientKey              string     `json:"clientKey,omitempty"`
	HadMultipleClients     bool       `json:"hadMultipleClients"`
	LockSecs               int        `json:"lockSecs,omitempty"`
	Items                  []headItem `json:"items"`
}

// headLocked returns up to limit of the first pending requests of q that
// are not locked, and whether it passed locked ones.
func headLocked(q *queue, limit int, t time.Time) ([]*queuedRequest, bool) {
	var out []*queuedRequest
	sawLocked := false
	for _, req := range q.pending {
		if len(out) == limit {
			break
		}
		if req.lockedAt(t) {
			sawLocked = true
			continue
		}
		out = append(out, req)
	}
	return out, sawLocked
}

// head serves GET .../head?limit= (default 100, at most 1000).
func (s *Server) head(r *http.Request, u *user, c queueCall) (int, any, *Error) {
	limit, e := parseCount(r, "limit", defaultHeadLimit, maxHeadLimit)
	if e != nil {
		return 0, nil, e
	}
	out := headView{Limit: limit, Items: []headItem{}}
	e = s.withQueue(u, r, c, func(st *storage, q *queue) *Error {
		reqs, _ := headLocked(q, limit, time.Now())
		for _, req := range reqs {
			out.Items = append(out.Items, req.headItem())
		}
		out.QueueModifiedAt, out.HadMultipleClients = st.modified, q.multipleClients
		return nil
	})
	return http.StatusOK, out, e
}

// parseLockSecs reads the lockSecs parameter: a number of seconds (a
// fraction rounds up) from 1 to maxLockSecs.
func parseLockSecs(r *http.Request) (int, *Error) {
	v := r.URL.Query().Get("lockSecs")
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0 && f <= maxLockSecs) {
		return 0, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
			Message: "Parameter lockSecs must be a number of seconds above 0 and at most " + strconv.Itoa(maxLockSecs) + ", not " + strconv.Quote(v)}
	}
	return int(math.Ceil(f)), nil
}

// lockHead serves POST .../head/lock?lockSecs=&limit= (default and at most
// 25): the first pending requests that are not locked, locked for the
// client.
func (s *Server) lockHead(r *http.Request, u *user, c queueCall) (int, any, *Error) {
	secs, e := parseLockSecs(r)
	if e != nil {
		return 0, nil, e
	}
	limit, e := parseCount(r, "limit", maxLockedHead, maxLockedHead)
	if e != nil {
		return 0, nil, e
	}
	out := headView{Limit: limit, LockSecs: secs, ClientKey: r.URL.Query().Get("clientKey"), Items: []headItem{}}
	e = s.withQueue(u, r, c, func(st *storage, q *queue) *Error {
		t := time.Now()
		reqs, sawLocked := headLocked(q, limit, t)
		expires := t.Add(time.Duration(secs) * time.Second).UTC().Truncate(time.Millisecond)
		for _, req := range reqs {
			req.lockedBy, req.lockExpires = c.clientKey, expires
			it := req.headItem()
			it.LockExpiresAt = &expires
			out.Items = append(out.Items, it)
		}
		hasLocked := sawLocked || len(reqs) > 0
		out.QueueHasLockedRequests = &hasLocked
		out.QueueModifiedAt, out.HadMultipleClients = st.modified, q.multipleClients
		return nil
	})
	return http.StatusCreated, out, e
}

// ownLockLocked returns the request {requestId} of q, pending and locked by
// the client (a lock that expired and nobody took since counts).
func ownLockLocked(q *queue, r *http.Request, c queueCall) (*queuedRequest, *Error) {
	req, e := requestLocked(q, r)
	switch {
	case e != nil:
		return nil, e
	case req.handled:
		return nil, &Error{StatusCode: http.StatusForbidden, Type: typeRequestLocked, Message: "Request " + req.id + " is already handled"}
	case req.lockedBy == "":
		return nil, &Error{StatusCode: http.StatusForbidden, Type: typeRequestLocked, Message: "Request " + req.id + " is not locked"}
	case req.lockedBy != c.clientKey:
		return nil, lockedByOther(req.id)
	}
	return req, nil
}

// prolongLock serves PUT .../requests/{requestId}/lock?lockSecs=: the
// client's lock now expires lockSecs from now; with forefront the request
// moves to the forefront, else it keeps its place.
func (s *Server) prolongLock(r *http.Request, u *user, c queueCall) (int, any, *Error) {
	secs, e := parseLockSecs(r)
	if e != nil {
		return 0, nil, e
	}
	var out struct {
		LockExpiresAt time.Time `json:"lockExpiresAt"`
	}
	e = s.withQueue(u, r, c, func(_ *storage, q *queue) *Error {
		req, e := ownLockLocked(q, r, c)
		if e != nil {
			return e
		}
		req.lockExpires = time.Now().Add(time.Duration(secs) * time.Second).UTC().Truncate(time.Millisecond)
		if c.forefront {
			q.unplace(req)
			q.place(req, true)
		}
		out.LockExpiresAt = req.lockExpires
		return nil
	})
	return http.StatusOK, out, e
}

// deleteLock serves DELETE .../requests/{requestId}/lock: the request is
// pending again, at the end of the queue or with forefront at its
// forefront.
func (s *Server) deleteLock(r *http.Request, u *user, c queueCall) (int, any, *Error) {
	return http.StatusNoContent, nil, s.withQueue(u, r, c, func(_ *storage, q *queue) *Error {
		req, e := ownLockLocked(q, r, c)
		if e != nil {
			return e
		}
		req.lockedBy = ""
		q.unplace(req)
		q.place(req, c.forefront)
		return nil
	})
}

// unlock serves POST .../requests/unlock: every lock of the client is
// released, the requests keeping their places.
func (s *Server) unlock(r *http.Request, u *user, c queueCall) (int, any, *Error) {
	var out struct {
		UnlockedCount int `json:"unlockedCount"`
	}
	e := s.withQueue(u, r, c, func(_ *storage, q *queue) *Error {
		t := time.Now()
		for _, req := range q.pending {
			if req.lockedBy == c.clientKey {
				if req.lockedAt(t) {
					out.UnlockedCount++
				}
				req.lockedBy = ""
			}
		}
		return nil
	})
	return http.StatusOK, out, e
}

// listRequests serves GET .../requests: the requests in the order they were
// added, from cursor (or after exclusiveStartId), up to limit (default
// 1000, at most 10000), with filter=locked,pending only those locked or
// those pending and not locked.
func (s *Server) listRequests(r *http.Request, u *user, c queueCall) (int, any, *Error) {
	limit, e := parseCount(r, "limit", defaultListLimit, maxRequestsLimit)
	if e != nil {
		return 0, nil, e
	}
	v := r.URL.Query()
	var after uint64
	cursor, startID := v.Get("cursor"), v.Get("exclusiveStartId")
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		n, err2 := strconv.ParseUint(string(b), 10, 64)
		if err != nil || err2 != nil {
			return 0, nil, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
				Message: "Parameter cursor is not a cursor this server returned"}
		}
		after = n
	}
	var wantLocked, wantPending bool
	if f := v.Get("filter"); f != "" {
		for _, state := range strings.Split(f, ",") {
			switch strings.TrimSpace(state) {
			case "locked":
				wantLocked = true
			case "pending":
				wantPending = true
			default:
				return 0, nil, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
					Message: "Parameter filter lists locked and pending, not " + strconv.Quote(state)}
			}
		}
	}
	out := struct {
		Items            []map[string]json.RawMessage `json:"items"`
		Limit            int                          `json:"limit"`
		ExclusiveStartID string                       `json:"exclusiveStartId,omitempty"`
		Cursor           string                       `json:"cursor,omitempty"`
		NextCursor       string                       `json:"nextCursor,omitempty"`
	}{Items: []map[string]json.RawMessage{}, Limit: limit, ExclusiveStartID: startID, Cursor: cursor}
	e = s.withQueue(u, r, c, func(_ *storage, q *queue) *Error {
		if startID != "" {
			req, ok := q.byID[startID]
			if !ok {
				return &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
					Message: "Parameter exclusiveStartId: no request has the ID " + strconv.Quote(startID)}
			}
			after = max(after, req.seq)
		}
		i, _ := slices.BinarySearchFunc(q.all, after+1, func(e *queuedRequest, n uint64) int {
			return cmp.Compare(e.seq, n)
		})
		t := time.Now()
		var last uint64
		for ; i < len(q.all); i++ {
			req := q.all[i]
			locked := req.lockedAt(t)
			if (wantLocked || wantPending) && !(wantLocked && locked || wantPending && !locked && !req.handled) {
				continue
			}
			if len(out.Items) == limit {
				out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(last, 10)))
				break
			}
			out.Items = append(out.Items, req.view())
			last = req.seq
		}
		return nil
	})
	return http.StatusOK, out, e
}

package client

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"iter"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Limits of the request queue API.
const (
	// MaxRequestsPerBatch is the most requests one batch call may carry.
	MaxRequestsPerBatch = 25
	// maxLockedHead is the most requests one head-and-lock call returns.
	maxLockedHead = 25
	// maxHead is the most requests one head call returns.
	maxHead = 1000
	// maxClientKeyLen is the longest client key the platform accepts.
	maxClientKeyLen = 32
	// batchAddRounds is how many times AddRequests sends the requests the
	// platform left unprocessed (rate limits, internal failures), the
	// first time included.
	batchAddRounds = 4
)

// RequestQueue is a request queue as the platform returns it, alone or in a
// list.
type RequestQueue struct {
	ID                  string             `json:"id"`
	Name                string             `json:"name,omitempty"`
	Title               string             `json:"title,omitempty"`
	UserID              string             `json:"userId"`
	Username            string             `json:"username,omitempty"`
	CreatedAt           time.Time          `json:"createdAt"`
	ModifiedAt          time.Time          `json:"modifiedAt"`
	AccessedAt          time.Time          `json:"accessedAt"`
	ExpireAt            *time.Time         `json:"expireAt,omitempty"`
	TotalRequestCount   int                `json:"totalRequestCount"`
	HandledRequestCount int                `json:"handledRequestCount"`
	PendingRequestCount int                `json:"pendingRequestCount"`
	ActID               string             `json:"actId,omitempty"`
	ActRunID            string             `json:"actRunId,omitempty"`
	HadMultipleClients  bool               `json:"hadMultipleClients"`
	ConsoleURL          string             `json:"consoleUrl,omitempty"`
	GeneralAccess       GeneralAccess      `json:"generalAccess,omitempty"`
	Stats               *RequestQueueStats `json:"stats,omitempty"`
}

// RequestQueueStats are a request queue's usage counters.
type RequestQueueStats struct {
	DeleteCount       int64 `json:"deleteCount"`
	HeadItemReadCount int64 `json:"headItemReadCount"`
	ReadCount         int64 `json:"readCount"`
	StorageBytes      int64 `json:"storageBytes"`
	WriteCount        int64 `json:"writeCount"`
}

// Request is a request of a request queue: a URL to process and what the
// crawler records about it.
type Request struct {
	// ID is the platform's ID of the request; empty when adding one.
	ID string `json:"id,omitempty"`
	// UniqueKey identifies the request for deduplication: adding a request
	// whose unique key is in the queue adds nothing. AddRequest and
	// AddRequests use the URL as is when it is empty (Crawlee normalizes the
	// URL first: set it to share a queue with a Crawlee crawler).
	UniqueKey string `json:"uniqueKey"`
	URL       string `json:"url"`
	// Method is the HTTP method, GET when empty.
	Method        string            `json:"method,omitempty"`
	Payload       string            `json:"payload,omitempty"`
	Headers       map[string]string `json:"headers,omitempty"`
	UserData      json.RawMessage   `json:"userData,omitempty"`
	RetryCount    int               `json:"retryCount,omitempty"`
	NoRetry       bool              `json:"noRetry,omitempty"`
	ErrorMessages []string          `json:"errorMessages,omitempty"`
	LoadedURL     string            `json:"loadedUrl,omitempty"`
	// HandledAt is when the request was handled; nil while it is pending.
	HandledAt *time.Time `json:"handledAt,omitempty"`
	// LockExpiresAt is set in the results of LockHead.
	LockExpiresAt *time.Time `json:"lockExpiresAt,omitempty"`
}

// RequestRegistration is the outcome of adding or updating a request.
type RequestRegistration struct {
	RequestID string `json:"requestId"`
	// UniqueKey is set in the results of AddRequests.
	UniqueKey         string `json:"uniqueKey,omitempty"`
	WasAlreadyPresent bool   `json:"wasAlreadyPresent"`
	WasAlreadyHandled bool   `json:"wasAlreadyHandled"`
}

// BatchAddResult is the outcome of AddRequests: the requests the platform
// registered, and those it did not (their ID is empty) and that may be sent
// again.
type BatchAddResult struct {
	ProcessedRequests   []RequestRegistration `json:"processedRequests"`
	UnprocessedRequests []Request             `json:"unprocessedRequests"`
}

// QueueHead is the first pending requests of a queue.
type QueueHead struct {
	Limit           int       `json:"limit"`
	QueueModifiedAt time.Time `json:"queueModifiedAt"`
	// HadMultipleClients says that clients with other client keys used the
	// queue.
	HadMultipleClients bool `json:"hadMultipleClients"`
	// QueueHasLockedRequests (LockHead only) says that some requests of the
	// queue are locked, by this client or another.
	QueueHasLockedRequests bool `json:"queueHasLockedRequests,omitempty"`
	// LockSecs (LockHead only) is how long the returned requests are locked.
	LockSecs int       `json:"lockSecs,omitempty"`
	Items    []Request `json:"items"`
}

// RequestOptions place a request in the queue.
type RequestOptions struct {
	// Forefront puts the request at the head of the queue instead of its end.
	Forefront bool
}

func (o RequestOptions) query(q url.Values) url.Values {
	if o.Forefront {
		q.Set("forefront", "true")
	}
	return q
}

// GetOrCreateRequestQueue returns the caller's request queue called name,
// creating it if there is none (POST /v2/request-queues?name=). An empty
// name creates a new unnamed queue on every call; such a creation is
// retried only when the platform cannot have received it.
func (c *Client) GetOrCreateRequestQueue(ctx context.Context, name string) (*RequestQueue, error) {
	return getOrCreate[RequestQueue](ctx, c, requestQueueKind, name)
}

// GetRequestQueue returns a request queue (GET /v2/request-queues/{id}). id
// is a queue ID or "username~name". A queue that does not exist is an
// *APIError for which IsNotFound is true.
func (c *Client) GetRequestQueue(ctx context.Context, id string) (*RequestQueue, error) {
	return getStorage[RequestQueue](ctx, c, requestQueueKind, id)
}

// UpdateRequestQueue renames a request queue or changes its general access
// (PUT /v2/request-queues/{id}) and returns it as stored.
func (c *Client) UpdateRequestQueue(ctx context.Context, id string, u StorageUpdate) (*RequestQueue, error) {
	return updateStorage[RequestQueue](ctx, c, requestQueueKind, id, u)
}

// DeleteRequestQueue deletes a request queue and its requests (DELETE
// /v2/request-queues/{id}). A 404 after a retry counts as success.
func (c *Client) DeleteRequestQueue(ctx context.Context, id string) error {
	return deleteStorage(ctx, c, requestQueueKind, id)
}

// ListRequestQueues returns one page of the caller's request queues (GET
// /v2/request-queues).
func (c *Client) ListRequestQueues(ctx context.Context, o StorageListOptions) (*Page[RequestQueue], error) {
	return list[RequestQueue](ctx, c, requestQueueKind.path, o)
}

// AllRequestQueues iterates over the caller's request queues from o.Offset
// on, page by page. An error ends the iteration after being yielded.
func (c *Client) AllRequestQueues(ctx context.Context, o StorageListOptions) iter.Seq2[RequestQueue, error] {
	return allStorages[RequestQueue](ctx, c, requestQueueKind, o)
}

// RequestQueueClient works with the requests of one request queue as one
// client of it: every call carries the same client key, so that the
// requests it locks are its own, and the platform can tell whether the
// queue had other clients (QueueHead.HadMultipleClients). It is safe for
// concurrent use.
type RequestQueueClient struct {
	c         *Client
	id        string
	clientKey string
}

// RequestQueue returns a client of the queue with the given ID (or
// "username~name") with a new random client key. The ID is checked by each
// call.
func (c *Client) RequestQueue(queueID string) *RequestQueueClient {
	return &RequestQueueClient{c: c, id: queueID, clientKey: crand.Text()}
}

// WithClientKey returns a copy of q that uses key as its client key, for
// instance to keep the locks of a process that restarts: 1 to 32
// characters, letters, digits, hyphens and underscores.
func (q *RequestQueueClient) WithClientKey(key string) (*RequestQueueClient, error) {
	if key == "" || len(key) > maxClientKeyLen {
		return nil, fmt.Errorf("client: WithClientKey: the client key must have 1 to %d characters, not %d", maxClientKeyLen, len(key))
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return nil, fmt.Errorf("client: WithClientKey: the client key may contain only letters, digits, hyphens and underscores")
		}
	}
	cp := *q
	cp.clientKey = key
	return &cp, nil
}

// ID returns the queue's ID as given to RequestQueue.
func (q *RequestQueueClient) ID() string { return q.id }

// ClientKey returns the client key sent with every call.
func (q *RequestQueueClient) ClientKey() string { return q.clientKey }

// path returns the escaped path of the queue followed by sub.
func (q *RequestQueueClient) path(sub string) (string, error) {
	p, err := requestQueueKind.storagePath(q.id)
	if err != nil {
		return "", err
	}
	return p + sub, nil
}

func (q *RequestQueueClient) query() url.Values {
	return url.Values{"clientKey": {q.clientKey}}
}

// newRequest checks a request to add and fills in its unique key.
func newRequest(field string, r Request) (Request, error) {
	if r.ID != "" {
		return r, fmt.Errorf("client: %s.ID: a new request must not have an ID (got %q)", field, r.ID)
	}
	if r.URL == "" {
		return r, fmt.Errorf("client: %s.URL is empty", field)
	}
	if u, err := url.Parse(r.URL); err != nil || (u.Scheme == "" && u.Host == "") {
		return r, fmt.Errorf("client: %s.URL: %q is not an absolute URL", field, r.URL)
	}
	if r.UniqueKey == "" {
		r.UniqueKey = r.URL
	}
	if hasCTL(r.Method) {
		return r, fmt.Errorf("client: %s.Method: %q contains control characters", field, r.Method)
	}
	return r, nil
}

// AddRequest adds a request to the queue (POST /v2/request-queues/{id}/requests)
// unless one with the same unique key is there, and says which happened.
//
// The platform deduplicates by unique key, so adding is idempotent and is
// retried like a GET: a retry whose first attempt did add the request
// reports WasAlreadyPresent.
func (q *RequestQueueClient) AddRequest(ctx context.Context, r Request, o RequestOptions) (*RequestRegistration, error) {
	path, err := q.path("/requests")
	if err != nil {
		return nil, err
	}
	if r, err = newRequest("Request", r); err != nil {
		return nil, err
	}
	body, err := jsonBody("Request", r)
	if err != nil {
		return nil, err
	}
	return doData[RequestRegistration](ctx, q.c, &request{
		method: "POST", path: path, query: o.query(q.query()),
		body: body, contentType: "application/json", policy: retryIdempotent,
	})
}

// AddRequests adds requests to the queue in batches (POST
// /v2/request-queues/{id}/requests/batch) of at most MaxRequestsPerBatch
// requests and MaxPayloadBytes, in order. Requests are checked and encoded
// before anything is sent; an invalid one is an error naming its index.
//
// Like AddRequest, a batch is idempotent thanks to the unique keys and is
// retried like a GET. Requests the platform leaves unprocessed (under rate
// limiting) are sent again a few times with backoff; those still
// unprocessed are in the result's UnprocessedRequests. When a batch fails,
// AddRequests returns the result of the batches before it with the error;
// the failed batch and the later ones may be sent again.
func (q *RequestQueueClient) AddRequests(ctx context.Context, rs []Request, o RequestOptions) (*BatchAddResult, error) {
	path, err := q.path("/requests/batch")
	if err != nil {
		return nil, err
	}
	enc := &encodedItems{}
	for i, r := range rs {
		field := "requests[" + strconv.Itoa(i) + "]"
		if rs[i], err = newRequest(field, r); err != nil {
			return nil, err
		}
		b, err := jsonBody(field, rs[i])
		if err != nil {
			return nil, err
		}
		if len(b)+2 > MaxPayloadBytes {
			return nil, fmt.Errorf("client: %s: %d bytes of JSON exceed the platform's request limit of %d bytes", field, len(b)+2, MaxPayloadBytes)
		}
		if len(enc.buf) > 0 {
			enc.buf = append(enc.buf, ',')
		}
		enc.buf = append(enc.buf, b...)
		enc.ends = append(enc.ends, len(enc.buf))
	}
	res := &BatchAddResult{ProcessedRequests: []RequestRegistration{}, UnprocessedRequests: []Request{}}
	for _, b := range enc.batches(MaxPayloadBytes, MaxRequestsPerBatch) {
		pending, body := rs[b.from:b.from+b.n], enc.body(b)
		for round := 1; ; round++ {
			r, err := doData[BatchAddResult](ctx, q.c, &request{
				method: "POST", path: path, query: o.query(q.query()),
				body: body, contentType: "application/json", policy: retryIdempotent,
			})
			if err != nil {
				return res, err
			}
			res.ProcessedRequests = append(res.ProcessedRequests, r.ProcessedRequests...)
			if len(r.UnprocessedRequests) == 0 {
				break
			}
			if pending = unprocessed(pending, r.UnprocessedRequests); len(pending) == 0 {
				// The platform named requests that were not in the batch.
				break
			}
			if round == batchAddRounds {
				res.UnprocessedRequests = append(res.UnprocessedRequests, pending...)
				break
			}
			if body, err = jsonBody("requests", pending); err != nil {
				return res, err
			}
			// As the official client: (1 + random) × 2^round × a base
			// delay, here the client's minimum backoff.
			wait := time.Duration((1 + rand.Float64()) * float64(q.c.minBackoff<<round))
			if err := waitOrDone(ctx, wait); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// unprocessed returns the requests of sent whose unique keys are among
// those of left.
func unprocessed(sent, left []Request) []Request {
	keys := make(map[string]bool, len(left))
	for _, r := range left {
		keys[r.UniqueKey] = true
	}
	var out []Request
	for _, r := range sent {
		if keys[r.UniqueKey] {
			out = append(out, r)
		}
	}
	return out
}

// GetRequest returns a request of the queue (GET
// /v2/request-queues/{id}/requests/{requestId}). A request that does not
// exist is an *APIError for which IsNotFound is true.
func (q *RequestQueueClient) GetRequest(ctx context.Context, requestID string) (*Request, error) {
	path, err := q.requestPath(requestID, "")
	if err != nil {
		return nil, err
	}
	return doData[Request](ctx, q.c, &request{method: "GET", path: path, policy: retryIdempotent})
}

func (q *RequestQueueClient) requestPath(requestID, sub string) (string, error) {
	id, err := pathID("request ID", requestID)
	if err != nil {
		return "", err
	}
	return q.path("/requests/" + id + sub)
}

// UpdateRequest replaces a request of the queue with r, found by r.ID (PUT
// /v2/request-queues/{id}/requests/{requestId}). Setting r.HandledAt marks
// it handled: it leaves the head of the queue and its lock, if any, is
// released. The platform replaces the request whole, so send it with every
// field as GetRequest returns it: the items of Head and LockHead carry only
// the ID, unique key, URL, method and retry count, and updating one of them
// would drop the request's user data and headers. r.LockExpiresAt is not
// sent.
func (q *RequestQueueClient) UpdateRequest(ctx context.Context, r Request, o RequestOptions) (*RequestRegistration, error) {
	path, err := q.requestPath(r.ID, "")
	if err != nil {
		return nil, fmt.Errorf("client: Request.ID: %w", err)
	}
	if r.URL == "" || r.UniqueKey == "" {
		return nil, fmt.Errorf("client: Request: the URL and the unique key are required to update a request")
	}
	r.LockExpiresAt = nil
	body, err := jsonBody("Request", r)
	if err != nil {
		return nil, err
	}
	return doData[RequestRegistration](ctx, q.c, &request{
		method: "PUT", path: path, query: o.query(q.query()),
		body: body, contentType: "application/json", policy: retryIdempotent,
	})
}

// MarkHandled marks a request handled now, unless r.HandledAt is already
// set, with UpdateRequest, and sets r.HandledAt. r must be the whole request,
// as GetRequest returns it (see UpdateRequest).
func (q *RequestQueueClient) MarkHandled(ctx context.Context, r *Request) error {
	if r == nil {
		return fmt.Errorf("client: MarkHandled: the request is nil")
	}
	u := *r
	if u.HandledAt == nil {
		now := time.Now().UTC()
		u.HandledAt = &now
	}
	if _, err := q.UpdateRequest(ctx, u, RequestOptions{}); err != nil {
		return err
	}
	r.HandledAt = u.HandledAt
	return nil
}

// DeleteRequest deletes a request from the queue (DELETE
// /v2/request-queues/{id}/requests/{requestId}). A 404 after a retry counts
// as success.
func (q *RequestQueueClient) DeleteRequest(ctx context.Context, requestID string) error {
	path, err := q.requestPath(requestID, "")
	if err != nil {
		return err
	}
	return deleteResource(ctx, q.c, path, q.query())
}

// Head returns up to limit of the first pending requests of the queue
// without locking them (GET /v2/request-queues/{id}/head); 0 leaves the
// platform's default, the maximum is 1000.
func (q *RequestQueueClient) Head(ctx context.Context, limit int) (*QueueHead, error) {
	path, err := q.path("/head")
	if err != nil {
		return nil, err
	}
	if limit < 0 || limit > maxHead {
		return nil, fmt.Errorf("client: Head: the limit %d is not between 0 and %d", limit, maxHead)
	}
	query := q.query()
	if limit > 0 {
		query.Set("limit", strconv.Itoa(limit))
	}
	return doData[QueueHead](ctx, q.c, &request{method: "GET", path: path, query: query, policy: retryIdempotent})
}

// LockHead returns up to limit (1 to 25) of the first pending requests of
// the queue and locks them for lockFor, rounded up to whole seconds (POST
// /v2/request-queues/{id}/head/lock): until the lock expires or is deleted,
// no other client gets them from the head. Handle each, then mark it handled
// (which releases its lock), prolong its lock, or delete the lock to give
// it back.
//
// Locking is not idempotent: a repeated call locks the next requests, and
// those locked by an attempt whose response was lost would stay hidden from
// every client until their locks expire. So the call is retried only when
// the platform cannot have received it.
func (q *RequestQueueClient) LockHead(ctx context.Context, lockFor time.Duration, limit int) (*QueueHead, error) {
	path, err := q.path("/head/lock")
	if err != nil {
		return nil, err
	}
	secs, err := lockSecs("LockHead", lockFor)
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > maxLockedHead {
		return nil, fmt.Errorf("client: LockHead: the limit %d is not between 1 and %d", limit, maxLockedHead)
	}
	query := q.query()
	query.Set("lockSecs", secs)
	query.Set("limit", strconv.Itoa(limit))
	return doData[QueueHead](ctx, q.c, &request{method: "POST", path: path, query: query, policy: retryUnlessReceived})
}

func lockSecs(what string, d time.Duration) (string, error) {
	if d <= 0 {
		return "", fmt.Errorf("client: %s: the lock duration %v is not positive", what, d)
	}
	return strconv.FormatInt(ceilSeconds(d), 10), nil
}

// ProlongLock extends this client's lock of a request to lockFor from now,
// rounded up to whole seconds (PUT
// /v2/request-queues/{id}/requests/{requestId}/lock), and returns when it
// now expires. With o.Forefront the request returns to the head of the
// queue when the lock expires. Setting the same expiry again is harmless, so
// it is retried like a GET.
func (q *RequestQueueClient) ProlongLock(ctx context.Context, requestID string, lockFor time.Duration, o RequestOptions) (time.Time, error) {
	path, err := q.requestPath(requestID, "/lock")
	if err != nil {
		return time.Time{}, err
	}
	secs, err := lockSecs("ProlongLock", lockFor)
	if err != nil {
		return time.Time{}, err
	}
	query := o.query(q.query())
	query.Set("lockSecs", secs)
	info, err := doData[struct {
		LockExpiresAt time.Time `json:"lockExpiresAt"`
	}](ctx, q.c, &request{method: "PUT", path: path, query: query, policy: retryIdempotent})
	if err != nil {
		return time.Time{}, err
	}
	return info.LockExpiresAt, nil
}

// DeleteLock releases this client's lock of a request (DELETE
// /v2/request-queues/{id}/requests/{requestId}/lock), so that the request is
// pending again, at the head of the queue with o.Forefront.
func (q *RequestQueueClient) DeleteLock(ctx context.Context, requestID string, o RequestOptions) error {
	path, err := q.requestPath(requestID, "/lock")
	if err != nil {
		return err
	}
	return deleteResource(ctx, q.c, path, o.query(q.query()))
}

// UnlockRequests releases every lock this client holds in the queue (and,
// inside an Actor run, those of the run) (POST
// /v2/request-queues/{id}/requests/unlock) and returns how many there were.
// Unlocking twice leaves the queue as unlocking once, so the call is retried
// like a GET; after a retry the count may leave out the locks an earlier
// attempt released.
func (q *RequestQueueClient) UnlockRequests(ctx context.Context) (int, error) {
	path, err := q.path("/requests/unlock")
	if err != nil {
		return 0, err
	}
	res, err := doData[struct {
		UnlockedCount int `json:"unlockedCount"`
	}](ctx, q.c, &request{method: "POST", path: path, query: q.query(), policy: retryIdempotent})
	if err != nil {
		return 0, err
	}
	return res.UnlockedCount, nil
}

// RequestState selects requests by state in ListRequests.
type RequestState string

// The states ListRequests can select.
const (
	RequestLocked  RequestState = "locked"
	RequestPending RequestState = "pending"
)

// maxRequestsPage is the largest page of ListRequests.
const maxRequestsPage = 10000

// RequestsOptions select a page of a queue's requests. The zero value lists
// every request from the first, in pages of the platform's default size.
type RequestsOptions struct {
	// Cursor continues from the page that returned it as NextCursor.
	Cursor string
	// Limit is the number of requests per page, at most 10000.
	Limit int
	// States keeps only the requests in any of these states.
	States []RequestState
}

// RequestsPage is one page of a queue's requests.
type RequestsPage struct {
	Items      []Request `json:"items"`
	Limit      int       `json:"limit"`
	Cursor     string    `json:"cursor,omitempty"`
	NextCursor string    `json:"nextCursor,omitempty"`
}

// ListRequests returns one page of the queue's requests, handled or not
// (GET /v2/request-queues/{id}/requests).
func (q *RequestQueueClient) ListRequests(ctx context.Context, o RequestsOptions) (*RequestsPage, error) {
	path, err := q.path("/requests")
	if err != nil {
		return nil, err
	}
	query := q.query()
	if o.Limit < 0 || o.Limit > maxRequestsPage {
		return nil, fmt.Errorf("client: RequestsOptions.Limit: %d is not between 0 and %d", o.Limit, maxRequestsPage)
	}
	if o.Limit > 0 {
		query.Set("limit", strconv.Itoa(o.Limit))
	}
	if hasCTL(o.Cursor) {
		return nil, fmt.Errorf("client: RequestsOptions.Cursor contains control characters")
	}
	if o.Cursor != "" {
		query.Set("cursor", o.Cursor)
	}
	var states []string
	for i, s := range o.States {
		if s != RequestLocked && s != RequestPending {
			return nil, fmt.Errorf("client: RequestsOptions.States[%d]: %q is neither %q nor %q", i, s, RequestLocked, RequestPending)
		}
		states = append(states, string(s))
	}
	if len(states) > 0 {
		query.Set("filter", strings.Join(states, ","))
	}
	return doData[RequestsPage](ctx, q.c, &request{method: "GET", path: path, query: query, policy: retryIdempotent})
}

// AllRequests iterates over the queue's requests from o.Cursor on, page by
// page. An error ends the iteration after being yielded.
func (q *RequestQueueClient) AllRequests(ctx context.Context, o RequestsOptions) iter.Seq2[Request, error] {
	return pages("requests of "+q.id, o.Cursor, func(cursor string) ([]Request, string, bool, error) {
		o.Cursor = cursor
		p, err := q.ListRequests(ctx, o)
		if err != nil {
			return nil, "", false, err
		}
		return p.Items, p.NextCursor, p.NextCursor == "" || len(p.Items) == 0, nil
	})
}

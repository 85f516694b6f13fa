package actor

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/go-apify/actor/client"
)

// DefaultLockDuration is how long [RequestQueue.FetchNext] locks a request
// when given no duration: three minutes, as crawlee's request queue.
const DefaultLockDuration = 3 * time.Minute

// maxBatchRequests caps the requests of one AddRequests call, so that the
// check and the encoding of a batch stay bounded.
const maxBatchRequests = 100_000

// RequestQueue is a request queue: the URLs a crawler has to visit, each
// once, by unique key. It lives on the platform or in local files, as the
// Actor's [StorageMode] says; its methods behave the same in both. Open one
// with [Actor.OpenRequestQueue]. It is safe for concurrent use.
//
// A crawler loop takes a request with FetchNext, which locks it, handles it
// and calls MarkHandled, or Reclaim to try it again later. Such a loop
// survives a restart: the handled requests stay handled, and those a dead
// process had locked become pending again, locally at once (locks are held
// in memory) and on the platform when their lock expires.
type RequestQueue struct {
	name string // "" for the default queue
	b    queueBackend
}

// Request is a request of a request queue. UniqueKey identifies it: adding
// a request whose unique key is in the queue adds nothing. When UniqueKey is
// empty the URL is used as it is (Crawlee normalizes the URL first: set
// UniqueKey yourself to share a queue with a Crawlee crawler). UserData, when
// set, must be a JSON object.
type Request = client.Request

// AddResult is the outcome of adding one request: its ID, and whether it
// was already in the queue and already handled.
type AddResult = client.RequestRegistration

// AddOptions place added or reclaimed requests in the queue.
type AddOptions struct {
	// Forefront puts the requests at the head of the queue instead of its
	// tail.
	Forefront bool
}

// RequestQueueInfo describes a request queue. On the platform the counts lag
// a few seconds behind changes.
type RequestQueueInfo struct {
	ID                  string
	Name                string // empty for an unnamed queue on the platform; "default" locally
	TotalRequestCount   int
	HandledRequestCount int
	// PendingRequestCount counts the requests not handled, locked ones
	// included.
	PendingRequestCount int
	CreatedAt           time.Time
	ModifiedAt          time.Time
	AccessedAt          time.Time
}

// OpenRequestQueue opens the request queue called name, creating it when
// there is none; the empty name is the run's default queue. Names follow
// the rule of [Actor.OpenDataset].
func (a *Actor) OpenRequestQueue(ctx context.Context, name string) (*RequestQueue, error) {
	b, err := a.storage(ctx)
	if err != nil {
		return nil, err
	}
	q, err := b.requestQueue(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("actor: open %s: %w", storageLabel("request queue", name), err)
	}
	return &RequestQueue{name: name, b: q}, nil
}

func (q *RequestQueue) label() string { return storageLabel("request queue", q.name) }

// Name returns the name the queue was opened with ("" for the default
// queue).
func (q *RequestQueue) Name() string { return q.name }

// Info returns the queue's counts and timestamps.
func (q *RequestQueue) Info(ctx context.Context) (RequestQueueInfo, error) {
	info, err := q.b.info(ctx)
	if err != nil {
		return RequestQueueInfo{}, fmt.Errorf("actor: %s: %w", q.label(), err)
	}
	return info, nil
}

// Drop deletes the queue and its requests.
func (q *RequestQueue) Drop(ctx context.Context) error {
	if err := q.b.drop(ctx); err != nil {
		return fmt.Errorf("actor: drop %s: %w", q.label(), err)
	}
	return nil
}

// AddRequest adds r unless a request with its unique key is in the queue,
// and says which happened. r.ID is ignored: the queue gives the ID.
func (q *RequestQueue) AddRequest(ctx context.Context, r Request, o AddOptions) (AddResult, error) {
	res, err := q.addRequests(ctx, true, []Request{r}, o)
	if err != nil {
		return AddResult{}, err
	}
	return res[0], nil
}

// AddRequests adds the requests in order, as AddRequest does, and returns
// one result per request. Every request is checked before any is added; an
// invalid one is an error naming its index. On the platform they go in
// batches of 25; a failure part way returns the results of the batches
// before it with the error.
func (q *RequestQueue) AddRequests(ctx context.Context, rs []Request, o AddOptions) ([]AddResult, error) {
	if len(rs) > maxBatchRequests {
		return nil, fmt.Errorf("actor: %s: %d requests in one call, more than %d", q.label(), len(rs), maxBatchRequests)
	}
	return q.addRequests(ctx, false, rs, o)
}

// addRequests checks and adds rs; single names the request "request" in
// errors instead of "requests[i]".
func (q *RequestQueue) addRequests(ctx context.Context, single bool, rs []Request, o AddOptions) ([]AddResult, error) {
	checked := make([]Request, len(rs))
	for i, r := range rs {
		f := "request"
		if !single {
			f = fmt.Sprintf("requests[%d]", i)
		}
		var err error
		if checked[i], err = checkNewRequest(f, r); err != nil {
			return nil, fmt.Errorf("actor: %s: %w", q.label(), err)
		}
	}
	if len(checked) == 0 {
		return []AddResult{}, nil
	}
	res, err := q.b.add(ctx, checked, o)
	if err != nil {
		return res, fmt.Errorf("actor: %s: adding requests: %w", q.label(), err)
	}
	return res, nil
}

// checkNewRequest checks a request to add, the same way in both modes, and
// fills in its unique key. Its ID is not sent: the queue derives it.
func checkNewRequest(field string, r Request) (Request, error) {
	r.ID, r.LockExpiresAt = "", nil
	for _, c := range r.Method {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return r, fmt.Errorf("%s.Method: %q is not an HTTP method", field, r.Method)
		}
	}
	if r.URL == "" {
		return r, fmt.Errorf("%s.URL is empty", field)
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return r, fmt.Errorf("%s.URL: %.100q is not an absolute http or https URL", field, r.URL)
	}
	if r.UniqueKey == "" {
		r.UniqueKey = r.URL
	}
	if len(r.UserData) > 0 {
		var obj map[string]any
		if decodeJSON(field+".UserData", r.UserData, &obj) != nil || obj == nil {
			return r, fmt.Errorf("%s.UserData is not a JSON object", field)
		}
	}
	return r, nil
}

// GetRequest returns the request with the given ID. A request not in the
// queue is an error matching [ErrNotFound].
func (q *RequestQueue) GetRequest(ctx context.Context, id string) (*Request, error) {
	if id == "" {
		return nil, fmt.Errorf("actor: %s: the request ID is empty", q.label())
	}
	r, err := q.b.get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("actor: %s: get request %q: %w", q.label(), id, err)
	}
	return r, nil
}

// FetchNext returns the request at the head of the queue, locked for lockFor
// ([DefaultLockDuration] when zero) so that no other client gets it, or nil
// when no request is pending and unlocked (some may be locked, by this
// process or another). Handle the request, then call MarkHandled or
// Reclaim; a lock that expires makes the request pending again. The request
// comes whole, user data included.
func (q *RequestQueue) FetchNext(ctx context.Context, lockFor time.Duration) (*Request, error) {
	if lockFor < 0 {
		return nil, fmt.Errorf("actor: %s: FetchNext: the lock duration %v is negative", q.label(), lockFor)
	}
	if lockFor == 0 {
		lockFor = DefaultLockDuration
	}
	r, err := q.b.fetchNext(ctx, lockFor)
	if err != nil {
		return nil, fmt.Errorf("actor: %s: fetch next: %w", q.label(), err)
	}
	return r, nil
}

// ProlongLock extends this client's lock of the request id to lockFor from
// now and returns when it expires, for a request that takes longer to
// handle than its lock.
func (q *RequestQueue) ProlongLock(ctx context.Context, id string, lockFor time.Duration) (time.Time, error) {
	if lockFor <= 0 {
		return time.Time{}, fmt.Errorf("actor: %s: ProlongLock: the lock duration %v is not positive", q.label(), lockFor)
	}
	t, err := q.b.prolongLock(ctx, id, lockFor)
	if err != nil {
		return time.Time{}, fmt.Errorf("actor: %s: prolong lock of %q: %w", q.label(), id, err)
	}
	return t, nil
}

// MarkHandled marks r handled (setting r.HandledAt to now when unset) and
// releases its lock. r is a request as FetchNext or GetRequest returned it;
// the changes made to it (LoadedURL, UserData...) are stored.
func (q *RequestQueue) MarkHandled(ctx context.Context, r *Request) error {
	if err := checkStored(r); err != nil {
		return fmt.Errorf("actor: %s: MarkHandled: %w", q.label(), err)
	}
	if err := q.b.markHandled(ctx, r); err != nil {
		return fmt.Errorf("actor: %s: mark %q handled: %w", q.label(), r.ID, err)
	}
	return nil
}

// Reclaim returns r to the queue, at its tail or with o.Forefront its head,
// storing the changes made to it (a raised RetryCount, ErrorMessages), and
// releases its lock: FetchNext returns it again.
func (q *RequestQueue) Reclaim(ctx context.Context, r *Request, o AddOptions) error {
	if err := checkStored(r); err != nil {
		return fmt.Errorf("actor: %s: Reclaim: %w", q.label(), err)
	}
	if err := q.b.reclaim(ctx, r, o); err != nil {
		return fmt.Errorf("actor: %s: reclaim %q: %w", q.label(), r.ID, err)
	}
	return nil
}

func checkStored(r *Request) error {
	switch {
	case r == nil:
		return fmt.Errorf("the request is nil")
	case r.ID == "" || r.UniqueKey == "" || r.URL == "":
		return fmt.Errorf("the request needs its ID, unique key and URL, as FetchNext returns it")
	}
	return nil
}

package localstorage

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// RequestQueue is a request queue: request_queues/{name}/ holding one file
// per request, {id}.json, in crawlee's shape. A request's orderNo in its file
// says its state: null when handled, otherwise a millisecond timestamp that
// orders the pending requests, negative for requests added to the forefront.
// Locks are held in memory: after a restart every request not handled is
// pending again.
type RequestQueue struct {
	s    *Storage
	dir  string
	name string

	mu        sync.Mutex
	meta      rqMetadata
	entries   map[string]*rqEntry
	pending   rqHeap              // pending requests that are not locked
	locked    map[string]*rqEntry // locked requests
	handled   int
	lastOrder int64 // the largest |orderNo| given, so new ones are unique and increasing
	w         *metadataWriter
}

type rqEntry struct {
	id          string
	orderNo     int64 // 0 when handled
	lockedUntil time.Time
	heapIdx     int // index in pending, -1 when not in it
}

// rqFile is a request's file, as crawlee writes it.
type rqFile struct {
	ID         string `json:"id"`
	JSON       string `json:"json"`
	Method     string `json:"method"`
	OrderNo    *int64 `json:"orderNo"`
	RetryCount int    `json:"retryCount"`
	UniqueKey  string `json:"uniqueKey"`
	URL        string `json:"url"`
}

// rqMetadata is a request queue's __metadata__.json, as crawlee writes it.
type rqMetadata struct {
	AccessedAt          jsTime   `json:"accessedAt"`
	CreatedAt           jsTime   `json:"createdAt"`
	HadMultipleClients  bool     `json:"hadMultipleClients"`
	HandledRequestCount int      `json:"handledRequestCount"`
	ID                  string   `json:"id"`
	ModifiedAt          jsTime   `json:"modifiedAt"`
	Name                string   `json:"name"`
	PendingRequestCount int      `json:"pendingRequestCount"`
	Stats               struct{} `json:"stats"`
	TotalRequestCount   int      `json:"totalRequestCount"`
	UserID              string   `json:"userId"`
	ForefrontRequestIDs []string `json:"forefrontRequestIds"`
}

// RequestQueueInfo describes a request queue.
type RequestQueueInfo struct {
	ID                  string
	Name                string
	PendingRequestCount int // including locked requests
	HandledRequestCount int
	TotalRequestCount   int
	CreatedAt           time.Time
	ModifiedAt          time.Time
	AccessedAt          time.Time
}

// AddResult reports what adding or updating one request did.
type AddResult struct {
	RequestID         string
	UniqueKey         string
	WasAlreadyPresent bool
	WasAlreadyHandled bool
}

// RequestQueue opens (creating when missing) the request queue name; the
// empty name is the default queue.
func (s *Storage) RequestQueue(ctx context.Context, name string) (*RequestQueue, error) {
	return open(ctx, s, s.queues, requestQueuesDir, name, func(dir, name string) (*RequestQueue, *metadataWriter, error) {
		q := &RequestQueue{s: s, dir: dir, name: name, entries: map[string]*rqEntry{}, locked: map[string]*rqEntry{}}
		if err := q.load(ctx); err != nil {
			return nil, nil, err
		}
		q.w = s.newMetadataWriter(dir, &q.mu, q.metadata)
		return q, q.w, nil
	})
}

// load reads every request file; the counts are rebuilt from them, not
// taken from the metadata. Unreadable files are skipped, as crawlee skips them.
func (q *RequestQueue) load(ctx context.Context) error {
	now := jsTime(time.Now())
	q.meta = rqMetadata{ID: newID(), Name: q.name, AccessedAt: now, CreatedAt: now, ModifiedAt: now, UserID: "1"}
	if _, err := readMetadata(q.dir, &q.meta, q.s.log); err != nil {
		return err
	}
	q.meta.Name, q.meta.AccessedAt = q.name, now
	dirEntries, err := os.ReadDir(q.dir)
	if err != nil {
		return fmt.Errorf("localstorage: %w", err)
	}
	for _, de := range dirEntries {
		name := de.Name()
		if name == metadataFile || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := q.readFile(strings.TrimSuffix(name, ".json"))
		if err != nil {
			q.s.log.Warn("localstorage: skipping unreadable request", "file", filepath.Join(q.dir, name), "err", err)
			continue
		}
		e := &rqEntry{id: f.ID, heapIdx: -1}
		if f.OrderNo != nil {
			e.orderNo = *f.OrderNo
		}
		q.entries[e.id] = e
		if e.orderNo == 0 {
			q.handled++
		} else {
			heap.Push(&q.pending, e)
			q.lastOrder = max(q.lastOrder, abs(e.orderNo))
		}
	}
	return nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func (q *RequestQueue) readFile(id string) (rqFile, error) {
	var f rqFile
	b, err := readFileLimit(filepath.Join(q.dir, id+".json"), "request "+id, q.s.opts.MaxValueBytes+64<<10)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, err
	}
	if f.ID != id {
		return f, fmt.Errorf("file %s.json holds request %q", id, f.ID)
	}
	return f, nil
}

func (q *RequestQueue) metadata() any {
	m := q.meta
	m.HandledRequestCount = q.handled
	m.TotalRequestCount = len(q.entries)
	m.PendingRequestCount = m.TotalRequestCount - q.handled
	// Crawlee serves forefront ids last to first.
	var ff []*rqEntry
	for _, e := range q.entries {
		if e.orderNo < 0 {
			ff = append(ff, e)
		}
	}
	sort.Slice(ff, func(i, j int) bool { return ff[i].orderNo > ff[j].orderNo })
	m.ForefrontRequestIDs = make([]string, len(ff))
	for i, e := range ff {
		m.ForefrontRequestIDs[i] = e.id
	}
	return m
}

// nextOrder returns a new orderNo: the time in milliseconds, made larger than
// any given before so that order survives a restart, negated for the forefront.
func (q *RequestQueue) nextOrder(forefront bool) int64 {
	n := max(q.s.now().UnixMilli(), q.lastOrder+1)
	q.lastOrder = n
	if forefront {
		return -n
	}
	return n
}

// write stores r with orderNo (0 for handled); q.mu must be held.
func (q *RequestQueue) write(r *Request, orderNo int64) error {
	j, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if len(j) > q.s.opts.MaxValueBytes {
		return tooLarge("request "+r.UniqueKey, len(j), q.s.opts.MaxValueBytes)
	}
	f := rqFile{ID: r.ID, JSON: string(j), Method: r.Method, RetryCount: r.RetryCount, UniqueKey: r.UniqueKey, URL: r.URL}
	if f.Method == "" {
		f.Method = "GET"
	}
	if orderNo != 0 {
		f.OrderNo = &orderNo
	}
	b, err := json.MarshalIndent(f, "", "\t")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(q.dir, r.ID+".json", b, q.s.opts.Durable); err != nil {
		return fmt.Errorf("localstorage: %w", err)
	}
	return nil
}

func (q *RequestQueue) check(ctx context.Context) error {
	return q.s.checkUsable(ctx, &q.mu, q.w, "request queue", q.name)
}

// Drop deletes the request queue and everything in it. Later calls on it fail
// with ErrNotFound; opening the name again creates an empty one.
func (q *RequestQueue) Drop(ctx context.Context) error {
	return drop(ctx, q.s, q.s.queues, requestQueuesDir, q.name, &q.mu, q.w)
}

// Name returns the queue's name ("default" for the default queue).
func (q *RequestQueue) Name() string { return q.name }

// Info returns the queue's counts and timestamps.
func (q *RequestQueue) Info(ctx context.Context) (RequestQueueInfo, error) {
	if err := q.check(ctx); err != nil {
		return RequestQueueInfo{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.metadata().(rqMetadata)
	return RequestQueueInfo{
		ID: m.ID, Name: m.Name, PendingRequestCount: m.PendingRequestCount, HandledRequestCount: m.HandledRequestCount,
		TotalRequestCount: m.TotalRequestCount, CreatedAt: time.Time(m.CreatedAt), ModifiedAt: time.Time(m.ModifiedAt), AccessedAt: time.Time(m.AccessedAt),
	}, nil
}

// AddOptions configure Add, AddBatch and Update.
type AddOptions struct {
	// Forefront puts the request at the head of the queue instead of its tail.
	Forefront bool
}

// Add adds r unless a request with the same unique key is present; r needs a
// UniqueKey and an absolute http(s) URL, and its ID, when set, must be the
// one RequestID derives. A request with HandledAt set is added as handled.
func (q *RequestQueue) Add(ctx context.Context, r Request, opts AddOptions) (AddResult, error) {
	res, err := q.AddBatch(ctx, []Request{r}, opts)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.Field = strings.TrimPrefix(fe.Field, "requests[0].")
		}
		return AddResult{}, err
	}
	return res[0], nil
}

// AddBatch adds the requests in order, as Add does; every request is checked
// before any is added.
func (q *RequestQueue) AddBatch(ctx context.Context, rs []Request, opts AddOptions) ([]AddResult, error) {
	if err := q.check(ctx); err != nil {
		return nil, err
	}
	rs = append([]Request(nil), rs...)
	for i := range rs {
		if err := rs[i].validate(fmt.Sprintf("requests[%d]", i)); err != nil {
			return nil, err
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]AddResult, 0, len(rs))
	var err error
	for i := range rs {
		r := &rs[i]
		if e, ok := q.entries[r.ID]; ok {
			out = append(out, AddResult{RequestID: r.ID, UniqueKey: r.UniqueKey, WasAlreadyPresent: true, WasAlreadyHandled: e.orderNo == 0})
			continue
		}
		var order int64
		if r.HandledAt == nil {
			order = q.nextOrder(opts.Forefront)
		}
		if err = q.write(r, order); err != nil {
			break
		}
		e := &rqEntry{id: r.ID, orderNo: order, heapIdx: -1}
		q.entries[r.ID] = e
		if order == 0 {
			q.handled++
		} else {
			heap.Push(&q.pending, e)
		}
		out = append(out, AddResult{RequestID: r.ID, UniqueKey: r.UniqueKey})
	}
	if len(out) > 0 {
		q.touch()
		if werr := q.w.changed(); err == nil {
			err = werr
		}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (q *RequestQueue) touch() {
	q.meta.ModifiedAt = jsTime(time.Now())
	q.meta.AccessedAt = q.meta.ModifiedAt
}

// Get returns the request id, or an error matching ErrNotFound.
func (q *RequestQueue) Get(ctx context.Context, id string) (*Request, error) {
	if err := q.check(ctx); err != nil {
		return nil, err
	}
	if len(id) != requestIDLength {
		return nil, invalid("id", "%q is not a request id (%d characters)", truncate(id, 20), requestIDLength)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.entries[id]; !ok {
		return nil, fmt.Errorf("request %q in request queue %q: %w", id, q.name, ErrNotFound)
	}
	return q.readRequest(id)
}

// readRequest reads and decodes request id; q.mu must be held.
func (q *RequestQueue) readRequest(id string) (*Request, error) {
	f, err := q.readFile(id)
	if err != nil {
		return nil, fmt.Errorf("localstorage: request queue %q: %w", q.name, err)
	}
	var r Request
	if err := json.Unmarshal([]byte(f.JSON), &r); err != nil {
		return nil, fmt.Errorf("localstorage: request queue %q, request %s: %w", q.name, id, err)
	}
	r.ID = f.ID
	return &r, nil
}

// MaxLockHeadLimit is the most requests LockHead locks at once, as in crawlee.
const MaxLockHeadLimit = 25

// FetchNext locks the request at the head of the queue for lockFor and
// returns it, or returns nil when no request is pending and unlocked. A lock
// expires after lockFor: the request is pending again.
func (q *RequestQueue) FetchNext(ctx context.Context, lockFor time.Duration) (*Request, error) {
	rs, err := q.LockHead(ctx, 1, lockFor)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return rs[0], nil
}

// LockHead locks up to limit requests from the head of the queue for lockFor
// and returns them in queue order: forefront requests first, newest first,
// then the others, oldest first.
func (q *RequestQueue) LockHead(ctx context.Context, limit int, lockFor time.Duration) ([]*Request, error) {
	if err := q.check(ctx); err != nil {
		return nil, err
	}
	if lockFor <= 0 {
		return nil, invalid("lockFor", "is %v, must be positive", lockFor)
	}
	if limit <= 0 || limit > MaxLockHeadLimit {
		return nil, invalid("limit", "is %d, must be 1 to %d", limit, MaxLockHeadLimit)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.s.now()
	for id, e := range q.locked {
		if now.After(e.lockedUntil) {
			delete(q.locked, id)
			e.lockedUntil = time.Time{}
			heap.Push(&q.pending, e)
		}
	}
	var out []*Request
	for len(out) < limit && q.pending.Len() > 0 {
		e := q.pending[0]
		r, err := q.readRequest(e.id)
		if err != nil {
			return out, err
		}
		heap.Pop(&q.pending)
		e.lockedUntil = now.Add(lockFor)
		q.locked[e.id] = e
		out = append(out, r)
	}
	return out, nil
}

// ProlongLock extends the lock on request id by lockFor (locking it from now
// when its lock has expired) and returns when the lock now ends. A handled
// request, or one not locked by this process, fails with ErrNotLocked.
func (q *RequestQueue) ProlongLock(ctx context.Context, id string, lockFor time.Duration) (time.Time, error) {
	if err := q.check(ctx); err != nil {
		return time.Time{}, err
	}
	if lockFor <= 0 {
		return time.Time{}, invalid("lockFor", "is %v, must be positive", lockFor)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	e, err := q.lockedEntry(id)
	if err != nil {
		return time.Time{}, err
	}
	base := e.lockedUntil
	if now := q.s.now(); now.After(base) {
		base = now
	}
	e.lockedUntil = base.Add(lockFor)
	return e.lockedUntil, nil
}

// Unlock releases the lock on request id, putting it back at the tail of the
// queue (its head with forefront), as crawlee does; a request that is not
// locked fails with ErrNotLocked.
func (q *RequestQueue) Unlock(ctx context.Context, id string, opts AddOptions) error {
	if err := q.check(ctx); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	e, err := q.lockedEntry(id)
	if err != nil {
		return err
	}
	r, err := q.readRequest(id)
	if err != nil {
		return err
	}
	order := q.nextOrder(opts.Forefront)
	if err := q.write(r, order); err != nil {
		return err
	}
	delete(q.locked, id)
	e.lockedUntil, e.orderNo = time.Time{}, order
	heap.Push(&q.pending, e)
	q.touch()
	return q.w.changed()
}

// lockedEntry returns the entry of a request locked by this process; q.mu
// must be held.
func (q *RequestQueue) lockedEntry(id string) (*rqEntry, error) {
	e, ok := q.entries[id]
	if !ok {
		return nil, fmt.Errorf("request %q in request queue %q: %w", id, q.name, ErrNotFound)
	}
	if _, ok := q.locked[id]; !ok {
		return nil, fmt.Errorf("request %q in request queue %q: %w", id, q.name, ErrNotLocked)
	}
	return e, nil
}

// MarkHandled marks r handled, setting its HandledAt to now when unset, and
// releases its lock.
func (q *RequestQueue) MarkHandled(ctx context.Context, r *Request) error {
	if r.HandledAt == nil {
		now := q.s.now()
		r.HandledAt = &now
	}
	_, err := q.Update(ctx, *r, AddOptions{})
	return err
}

// Reclaim returns r to the queue (at its tail, or its head with forefront),
// stores its changes (a raised RetryCount, ErrorMessages) and releases its lock.
func (q *RequestQueue) Reclaim(ctx context.Context, r *Request, opts AddOptions) error {
	r.HandledAt = nil
	_, err := q.Update(ctx, *r, opts)
	return err
}

// Update stores r over the request with its id: handled when r.HandledAt is
// set, otherwise pending with a new place in the queue. Any lock is released.
// A request not in the queue is added, as on the platform.
func (q *RequestQueue) Update(ctx context.Context, r Request, opts AddOptions) (AddResult, error) {
	if err := q.check(ctx); err != nil {
		return AddResult{}, err
	}
	if err := r.validate("request"); err != nil {
		return AddResult{}, err
	}
	q.mu.Lock()
	e, ok := q.entries[r.ID]
	if !ok {
		q.mu.Unlock()
		return q.Add(ctx, r, opts)
	}
	defer q.mu.Unlock()
	wasHandled := e.orderNo == 0
	var order int64
	if r.HandledAt == nil {
		order = q.nextOrder(opts.Forefront)
	}
	if err := q.write(&r, order); err != nil {
		return AddResult{}, err
	}
	if e.heapIdx >= 0 {
		heap.Remove(&q.pending, e.heapIdx)
	}
	delete(q.locked, e.id)
	e.lockedUntil = time.Time{}
	e.orderNo = order
	switch {
	case wasHandled && order != 0:
		q.handled--
	case !wasHandled && order == 0:
		q.handled++
	}
	if order != 0 {
		heap.Push(&q.pending, e)
	}
	q.touch()
	return AddResult{RequestID: r.ID, UniqueKey: r.UniqueKey, WasAlreadyPresent: true, WasAlreadyHandled: wasHandled}, q.w.changed()
}

// Delete removes request id; deleting a missing request is not an error.
func (q *RequestQueue) Delete(ctx context.Context, id string) error {
	if err := q.check(ctx); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.entries[id]
	if !ok {
		return nil
	}
	if err := os.Remove(filepath.Join(q.dir, id+".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("localstorage: %w", err)
	}
	if e.heapIdx >= 0 {
		heap.Remove(&q.pending, e.heapIdx)
	}
	delete(q.locked, id)
	delete(q.entries, id)
	if e.orderNo == 0 {
		q.handled--
	}
	q.touch()
	return q.w.changed()
}

// rqHeap orders pending requests by orderNo, then id.
type rqHeap []*rqEntry

func (h rqHeap) Len() int { return len(h) }
func (h rqHeap) Less(i, j int) bool {
	if h[i].orderNo != h[j].orderNo {
		return h[i].orderNo < h[j].orderNo
	}
	return h[i].id < h[j].id
}
func (h rqHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}
func (h *rqHeap) Push(x any) {
	e := x.(*rqEntry)
	e.heapIdx = len(*h)
	*h = append(*h, e)
}
func (h *rqHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.heapIdx = -1
	return e
}

package actor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
	"time"

	"github.com/go-apify/actor/client"
)

// platformBackend keeps storages on the platform, through the Actor's
// client. Named storages are looked up (get-or-create) once and kept.
type platformBackend struct {
	c   *client.Client
	env Environment

	mu     sync.Mutex
	sets   map[string]*platformDataset
	stores map[string]*platformKV
	queues map[string]*platformQueue
}

func (p *platformBackend) mode() StorageMode { return StoragePlatform }
func (p *platformBackend) close() error      { return nil }

// notFound makes an error for which client.IsNotFound holds match
// ErrNotFound too.
func notFound(err error) error {
	if client.IsNotFound(err) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// openPlatform returns the cached storage called name, or makes it: for
// the empty name from the default storage ID, otherwise from the ID of the
// storage get-or-create returns. newT gets the ID and the function that
// drops the storage from the cache, for when it is deleted.
func openPlatform[T any](ctx context.Context, p *platformBackend, cache *map[string]*T, name, defaultID, envVar string,
	getOrCreate func(context.Context, string) (string, error), newT func(id string, forget func()) *T) (*T, error) {
	p.mu.Lock()
	if v, ok := (*cache)[name]; ok {
		p.mu.Unlock()
		return v, nil
	}
	p.mu.Unlock()
	id := defaultID
	if name == "" && id == "" {
		return nil, fmt.Errorf("%s is not set: %w", envVar, ErrNoDefaultStorage)
	}
	if name != "" {
		var err error
		if id, err = getOrCreate(ctx, name); err != nil {
			return nil, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := (*cache)[name]; ok {
		return v, nil
	}
	if *cache == nil {
		*cache = map[string]*T{}
	}
	var v *T
	v = newT(id, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if (*cache)[name] == v {
			delete(*cache, name)
		}
	})
	(*cache)[name] = v
	return v, nil
}

func (p *platformBackend) dataset(ctx context.Context, name string) (datasetBackend, error) {
	return openPlatform(ctx, p, &p.sets, name, p.env.DefaultDatasetID, "ACTOR_DEFAULT_DATASET_ID",
		func(ctx context.Context, name string) (string, error) {
			d, err := p.c.GetOrCreateDataset(ctx, name)
			if err != nil {
				return "", err
			}
			return d.ID, nil
		},
		func(id string, forget func()) *platformDataset {
			return &platformDataset{c: p.c, id: id, forget: forget}
		})
}

func (p *platformBackend) keyValueStore(ctx context.Context, name string) (kvBackend, error) {
	return openPlatform(ctx, p, &p.stores, name, p.env.DefaultKeyValueStoreID, "ACTOR_DEFAULT_KEY_VALUE_STORE_ID",
		func(ctx context.Context, name string) (string, error) {
			s, err := p.c.GetOrCreateKeyValueStore(ctx, name)
			if err != nil {
				return "", err
			}
			return s.ID, nil
		},
		func(id string, forget func()) *platformKV { return &platformKV{c: p.c, id: id, forget: forget} })
}

func (p *platformBackend) requestQueue(ctx context.Context, name string) (queueBackend, error) {
	return openPlatform(ctx, p, &p.queues, name, p.env.DefaultRequestQueueID, "ACTOR_DEFAULT_REQUEST_QUEUE_ID",
		func(ctx context.Context, name string) (string, error) {
			q, err := p.c.GetOrCreateRequestQueue(ctx, name)
			if err != nil {
				return "", err
			}
			return q.ID, nil
		},
		func(id string, forget func()) *platformQueue {
			return &platformQueue{c: p.c, q: p.c.RequestQueue(id), forget: forget}
		})
}

// platformDataset is a dataset on the platform; forget drops it from the
// backend's cache once deleted, so that opening its name creates a new one.
type platformDataset struct {
	c      *client.Client
	id     string
	forget func()
}

func (d *platformDataset) info(ctx context.Context) (DatasetInfo, error) {
	ds, err := d.c.GetDataset(ctx, d.id)
	if err != nil {
		return DatasetInfo{}, err
	}
	return DatasetInfo{ID: ds.ID, Name: ds.Name, ItemCount: ds.ItemCount, CreatedAt: ds.CreatedAt, ModifiedAt: ds.ModifiedAt, AccessedAt: ds.AccessedAt}, nil
}

func (d *platformDataset) drop(ctx context.Context) error {
	if err := d.c.DeleteDataset(ctx, d.id); err != nil {
		return err
	}
	d.forget()
	return nil
}

// push hands the caller's items to the client, which checks them all, then
// encodes them request by request.
func (d *platformDataset) push(ctx context.Context, items any) error {
	return d.c.PushItems(ctx, d.id, items)
}

// itemsPage is the most items fetched in one request.
const itemsPage = 1000

// items pages through the items itself, so that o.Limit bounds the stored
// items read in all, as locally, and not the size of a page.
func (d *platformDataset) items(ctx context.Context, o ItemsOptions) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		co := client.ItemsOptions{
			Offset: o.Offset, Desc: o.Desc, Fields: o.Fields, Omit: o.Omit, Unwind: o.Unwind,
			Clean: o.Clean, SkipHidden: o.SkipHidden, SkipEmpty: o.SkipEmpty,
		}
		remaining := o.Limit
		for {
			co.Limit = itemsPage
			if o.Limit > 0 {
				co.Limit = min(remaining, itemsPage)
			}
			p, err := client.ListItems[json.RawMessage](ctx, d.c, d.id, co)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, it := range p.Items {
				if !yield(it, nil) {
					return
				}
			}
			// The platform pages over stored items, whatever the filters
			// kept or unwound.
			co.Offset += co.Limit
			if o.Limit > 0 {
				if remaining -= co.Limit; remaining <= 0 {
					return
				}
			}
			if p.Total >= 0 && co.Offset >= p.Total || p.Total < 0 && len(p.Items) == 0 {
				return
			}
		}
	}
}

// platformKV is a key-value store on the platform; forget is as in
// platformDataset.
type platformKV struct {
	c      *client.Client
	id     string
	forget func()
}

func (kv *platformKV) info(ctx context.Context) (KeyValueStoreInfo, error) {
	s, err := kv.c.GetKeyValueStore(ctx, kv.id)
	if err != nil {
		return KeyValueStoreInfo{}, err
	}
	return KeyValueStoreInfo{ID: s.ID, Name: s.Name, CreatedAt: s.CreatedAt, ModifiedAt: s.ModifiedAt, AccessedAt: s.AccessedAt}, nil
}

func (kv *platformKV) drop(ctx context.Context) error {
	if err := kv.c.DeleteKeyValueStore(ctx, kv.id); err != nil {
		return err
	}
	kv.forget()
	return nil
}

func (kv *platformKV) get(ctx context.Context, key string) (*Record, error) {
	rec, err := kv.c.GetRecord(ctx, kv.id, key)
	return rec, notFound(err)
}

func (kv *platformKV) open(ctx context.Context, key string) (*RecordReader, error) {
	rr, err := kv.c.OpenRecord(ctx, kv.id, key)
	return rr, notFound(err)
}

func (kv *platformKV) set(ctx context.Context, key string, value []byte, contentType string) error {
	return kv.c.SetRecord(ctx, kv.id, key, value, contentType)
}

// setFrom reads the value whole, up to the request limit, since the API
// takes a record in one request.
func (kv *platformKV) setFrom(ctx context.Context, key string, r io.Reader, contentType string) error {
	b, err := io.ReadAll(io.LimitReader(r, client.MaxPayloadBytes+1))
	if err != nil {
		return fmt.Errorf("reading the value: %w", err)
	}
	if len(b) > client.MaxPayloadBytes {
		return fmt.Errorf("the value exceeds the platform's limit of %d bytes", client.MaxPayloadBytes)
	}
	return kv.set(ctx, key, b, contentType)
}

func (kv *platformKV) delete(ctx context.Context, key string) error {
	if err := kv.c.DeleteRecord(ctx, kv.id, key); err != nil && !client.IsNotFound(err) {
		return err
	}
	return nil
}

func (kv *platformKV) keys(ctx context.Context, o KeysOptions) iter.Seq2[KeyInfo, error] {
	return kv.c.AllKeys(ctx, kv.id, client.KeysOptions{Prefix: o.Prefix, ExclusiveStartKey: o.ExclusiveStartKey})
}

func (kv *platformKV) publicURL(ctx context.Context, key string) (string, error) {
	return kv.c.RecordPublicURL(ctx, kv.id, key)
}

// platformQueue is a request queue on the platform, used as one client of
// it (one client key), so that the locks it takes are its own; forget is as
// in platformDataset.
type platformQueue struct {
	c      *client.Client
	q      *client.RequestQueueClient
	forget func()
}

func (q *platformQueue) info(ctx context.Context) (RequestQueueInfo, error) {
	rq, err := q.c.GetRequestQueue(ctx, q.q.ID())
	if err != nil {
		return RequestQueueInfo{}, err
	}
	return RequestQueueInfo{
		ID: rq.ID, Name: rq.Name, TotalRequestCount: rq.TotalRequestCount, HandledRequestCount: rq.HandledRequestCount,
		PendingRequestCount: rq.PendingRequestCount, CreatedAt: rq.CreatedAt, ModifiedAt: rq.ModifiedAt, AccessedAt: rq.AccessedAt,
	}, nil
}

func (q *platformQueue) drop(ctx context.Context) error {
	if err := q.c.DeleteRequestQueue(ctx, q.q.ID()); err != nil {
		return err
	}
	q.forget()
	return nil
}

// add adds one request with one call, more in batches. The results come in
// the order of rs; a unique key repeated in rs is sent once, and its later
// copies are reported as already present, as locally.
func (q *platformQueue) add(ctx context.Context, rs []Request, o AddOptions) ([]AddResult, error) {
	ro := client.RequestOptions{Forefront: o.Forefront}
	if len(rs) == 1 {
		reg, err := q.q.AddRequest(ctx, rs[0], ro)
		if err != nil {
			return nil, err
		}
		if reg.UniqueKey == "" {
			reg.UniqueKey = rs[0].UniqueKey
		}
		return []AddResult{*reg}, nil
	}
	seen := make(map[string]bool, len(rs))
	var unique []Request
	for _, r := range rs {
		if !seen[r.UniqueKey] {
			seen[r.UniqueKey] = true
			unique = append(unique, r)
		}
	}
	res, err := q.q.AddRequests(ctx, unique, ro)
	byKey := make(map[string]AddResult, len(rs))
	if res != nil {
		for _, reg := range res.ProcessedRequests {
			byKey[reg.UniqueKey] = reg
		}
	}
	out := make([]AddResult, 0, len(rs))
	reported := make(map[string]bool, len(rs))
	for _, r := range rs {
		reg, ok := byKey[r.UniqueKey]
		if !ok {
			break // the results stop at the first request not processed
		}
		if reported[r.UniqueKey] {
			reg.WasAlreadyPresent = true
		}
		reported[r.UniqueKey] = true
		out = append(out, reg)
	}
	if err != nil {
		return out, err
	}
	if n := len(res.UnprocessedRequests); n > 0 {
		return out, fmt.Errorf("the platform left %d of %d requests unprocessed after retries (the first: %q); add them again", n, len(unique), res.UnprocessedRequests[0].UniqueKey)
	}
	return out, nil
}

func (q *platformQueue) get(ctx context.Context, id string) (*Request, error) {
	r, err := q.q.GetRequest(ctx, id)
	return r, notFound(err)
}

// fetchNext locks the head request, then reads it whole: the items of the
// locked head lack the user data and headers. The lock is given back when
// the request cannot be read.
func (q *platformQueue) fetchNext(ctx context.Context, lockFor time.Duration) (*Request, error) {
	head, err := q.q.LockHead(ctx, lockFor, 1)
	if err != nil {
		return nil, err
	}
	if len(head.Items) == 0 {
		return nil, nil
	}
	h := head.Items[0]
	r, err := q.q.GetRequest(ctx, h.ID)
	if err != nil {
		_ = q.q.DeleteLock(context.WithoutCancel(ctx), h.ID, client.RequestOptions{})
		return nil, notFound(err)
	}
	r.LockExpiresAt = h.LockExpiresAt
	return r, nil
}

func (q *platformQueue) prolongLock(ctx context.Context, id string, lockFor time.Duration) (time.Time, error) {
	return q.q.ProlongLock(ctx, id, lockFor, client.RequestOptions{})
}

func (q *platformQueue) markHandled(ctx context.Context, r *Request) error {
	return q.q.MarkHandled(ctx, r)
}

// reclaim stores the request as pending, then releases its lock, as
// crawlee does; a lock already gone (expired, or released by the update)
// is not an error.
func (q *platformQueue) reclaim(ctx context.Context, r *Request, o AddOptions) error {
	u := *r
	u.HandledAt = nil
	ro := client.RequestOptions{Forefront: o.Forefront}
	if _, err := q.q.UpdateRequest(ctx, u, ro); err != nil {
		return err
	}
	r.HandledAt, r.LockExpiresAt = nil, nil
	var ae *client.APIError
	if err := q.q.DeleteLock(ctx, r.ID, ro); err != nil && !(errors.As(err, &ae) && ae.StatusCode < 500) {
		return err
	}
	return nil
}

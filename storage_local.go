package actor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/internal/localstorage"
)

// localBackend keeps storages as local files (package localstorage).
type localBackend struct {
	s *localstorage.Storage
}

func (l *localBackend) mode() StorageMode { return StorageLocal }
func (l *localBackend) close() error      { return l.s.Close() }

// localErr makes an error matching localstorage.ErrNotFound match
// ErrNotFound too.
func localErr(err error) error {
	if errors.Is(err, localstorage.ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

func (l *localBackend) dataset(ctx context.Context, name string) (datasetBackend, error) {
	d, err := l.s.Dataset(ctx, name)
	if err != nil {
		return nil, err
	}
	return &localDataset{d: d}, nil
}

func (l *localBackend) keyValueStore(ctx context.Context, name string) (kvBackend, error) {
	kv, err := l.s.KeyValueStore(ctx, name)
	if err != nil {
		return nil, err
	}
	return &localKV{kv: kv}, nil
}

func (l *localBackend) requestQueue(ctx context.Context, name string) (queueBackend, error) {
	q, err := l.s.RequestQueue(ctx, name)
	if err != nil {
		return nil, err
	}
	return &localQueue{q: q}, nil
}

// localDataset is a dataset in local files.
type localDataset struct{ d *localstorage.Dataset }

func (d *localDataset) info(ctx context.Context) (DatasetInfo, error) {
	i, err := d.d.Info(ctx)
	return DatasetInfo{ID: i.ID, Name: i.Name, ItemCount: i.ItemCount, CreatedAt: i.CreatedAt, ModifiedAt: i.ModifiedAt, AccessedAt: i.AccessedAt}, err
}

func (d *localDataset) drop(ctx context.Context) error { return d.d.Drop(ctx) }

// push checks every item, then encodes them again and stores them a chunk
// at a time, so that they are never all held encoded. A failure part way
// (the disk, or an item that changed between the passes) is a
// *client.PushError saying how many items were stored.
func (d *localDataset) push(ctx context.Context, items any) error {
	if err := eachItem(items, func([]byte) error { return nil }); err != nil {
		return err
	}
	const chunkBytes = 1 << 20
	var chunk []json.RawMessage
	var buf []byte
	stored, storing := 0, false
	flush := func() error {
		storing = true
		if err := d.d.Push(ctx, chunk...); err != nil {
			return err
		}
		stored, storing = stored+len(chunk), false
		chunk, buf = chunk[:0], buf[:0]
		return nil
	}
	err := eachItem(items, func(item []byte) error {
		if len(buf)+len(item) > cap(buf) && len(chunk) > 0 { // chunk's items point into buf
			if err := flush(); err != nil {
				return err
			}
		}
		if cap(buf) < len(item) {
			buf = make([]byte, 0, max(chunkBytes, len(item)))
		}
		buf = append(buf, item...)
		chunk = append(chunk, buf[len(buf)-len(item):len(buf):len(buf)])
		return nil
	})
	if err == nil && len(chunk) > 0 {
		err = flush()
	}
	if err != nil {
		return &client.PushError{Stored: stored, Failed: len(chunk), MayHaveStored: storing, Err: err}
	}
	return nil
}

func (d *localDataset) items(ctx context.Context, o ItemsOptions) iter.Seq2[json.RawMessage, error] {
	return d.d.Items(ctx, localstorage.ItemsOptions{
		Offset: o.Offset, Limit: o.Limit, Desc: o.Desc,
		Filter: localstorage.ItemFilter{
			Unwind: o.Unwind, Fields: o.Fields, Omit: o.Omit,
			SkipHidden: o.SkipHidden, SkipEmpty: o.SkipEmpty, Clean: o.Clean,
		},
	})
}

// localKV is a key-value store in local files.
type localKV struct{ kv *localstorage.KeyValueStore }

func (kv *localKV) info(ctx context.Context) (KeyValueStoreInfo, error) {
	i, err := kv.kv.Info(ctx)
	return KeyValueStoreInfo{ID: i.ID, Name: i.Name, CreatedAt: i.CreatedAt, ModifiedAt: i.ModifiedAt, AccessedAt: i.AccessedAt}, err
}

func (kv *localKV) drop(ctx context.Context) error { return kv.kv.Drop(ctx) }

func (kv *localKV) get(ctx context.Context, key string) (*Record, error) {
	r, err := kv.kv.Get(ctx, key)
	if err != nil {
		return nil, localErr(err)
	}
	return &Record{Key: r.Key, Value: r.Value, ContentType: r.ContentType}, nil
}

func (kv *localKV) open(ctx context.Context, key string) (*RecordReader, error) {
	rc, info, err := kv.kv.GetReader(ctx, key)
	if err != nil {
		return nil, localErr(err)
	}
	return &RecordReader{Key: key, ContentType: info.ContentType, Size: info.Size, ReadCloser: rc}, nil
}

func (kv *localKV) set(ctx context.Context, key string, value []byte, contentType string) error {
	return kv.kv.Set(ctx, key, value, contentType)
}

func (kv *localKV) setFrom(ctx context.Context, key string, r io.Reader, contentType string) error {
	return kv.kv.SetReader(ctx, key, r, contentType)
}

func (kv *localKV) delete(ctx context.Context, key string) error { return kv.kv.Delete(ctx, key) }

func (kv *localKV) keys(ctx context.Context, o KeysOptions) iter.Seq2[KeyInfo, error] {
	return func(yield func(KeyInfo, error) bool) {
		start := o.ExclusiveStartKey
		for {
			l, err := kv.kv.ListKeys(ctx, localstorage.ListKeysOptions{ExclusiveStartKey: start, Prefix: o.Prefix})
			if err != nil {
				yield(KeyInfo{}, err)
				return
			}
			for _, k := range l.Items {
				if !yield(KeyInfo{Key: k.Key, Size: k.Size}, nil) {
					return
				}
			}
			if !l.IsTruncated || l.NextExclusiveStartKey == "" {
				return
			}
			start = l.NextExclusiveStartKey
		}
	}
}

// publicURL returns the file:// URL of the record's file, which the store
// opens to read the record.
func (kv *localKV) publicURL(ctx context.Context, key string) (string, error) {
	rc, _, err := kv.kv.GetReader(ctx, key)
	if err != nil {
		return "", localErr(err)
	}
	defer rc.Close()
	f, ok := rc.(*os.File)
	if !ok {
		return "", fmt.Errorf("record %q is not read from a file", key)
	}
	abs, err := filepath.Abs(f.Name())
	if err != nil {
		return "", err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/... on Windows
	}
	return (&url.URL{Scheme: "file", Path: p}).String(), nil
}

// localQueue is a request queue in local files.
type localQueue struct{ q *localstorage.RequestQueue }

func (q *localQueue) info(ctx context.Context) (RequestQueueInfo, error) {
	i, err := q.q.Info(ctx)
	return RequestQueueInfo{
		ID: i.ID, Name: i.Name, TotalRequestCount: i.TotalRequestCount, HandledRequestCount: i.HandledRequestCount,
		PendingRequestCount: i.PendingRequestCount, CreatedAt: i.CreatedAt, ModifiedAt: i.ModifiedAt, AccessedAt: i.AccessedAt,
	}, err
}

func (q *localQueue) drop(ctx context.Context) error { return q.q.Drop(ctx) }

func toLocal(r Request) localstorage.Request {
	return localstorage.Request{
		ID: r.ID, UniqueKey: r.UniqueKey, URL: r.URL, Method: r.Method, Payload: r.Payload, Headers: r.Headers,
		UserData: r.UserData, NoRetry: r.NoRetry, RetryCount: r.RetryCount, ErrorMessages: r.ErrorMessages,
		LoadedURL: r.LoadedURL, HandledAt: r.HandledAt,
	}
}

func fromLocal(r *localstorage.Request) *Request {
	return &Request{
		ID: r.ID, UniqueKey: r.UniqueKey, URL: r.URL, Method: r.Method, Payload: r.Payload, Headers: r.Headers,
		UserData: r.UserData, NoRetry: r.NoRetry, RetryCount: r.RetryCount, ErrorMessages: r.ErrorMessages,
		LoadedURL: r.LoadedURL, HandledAt: r.HandledAt,
	}
}

func (q *localQueue) add(ctx context.Context, rs []Request, o AddOptions) ([]AddResult, error) {
	lrs := make([]localstorage.Request, len(rs))
	for i, r := range rs {
		lrs[i] = toLocal(r)
	}
	res, err := q.q.AddBatch(ctx, lrs, localstorage.AddOptions{Forefront: o.Forefront})
	if err != nil {
		return nil, err
	}
	out := make([]AddResult, len(res))
	for i, r := range res {
		out[i] = AddResult{RequestID: r.RequestID, UniqueKey: r.UniqueKey, WasAlreadyPresent: r.WasAlreadyPresent, WasAlreadyHandled: r.WasAlreadyHandled}
	}
	return out, nil
}

func (q *localQueue) get(ctx context.Context, id string) (*Request, error) {
	r, err := q.q.Get(ctx, id)
	if err != nil {
		return nil, localErr(err)
	}
	return fromLocal(r), nil
}

func (q *localQueue) fetchNext(ctx context.Context, lockFor time.Duration) (*Request, error) {
	r, err := q.q.FetchNext(ctx, lockFor)
	if err != nil || r == nil {
		return nil, err
	}
	out := fromLocal(r)
	expires := time.Now().Add(lockFor)
	out.LockExpiresAt = &expires
	return out, nil
}

func (q *localQueue) prolongLock(ctx context.Context, id string, lockFor time.Duration) (time.Time, error) {
	t, err := q.q.ProlongLock(ctx, id, lockFor)
	return t, localErr(err)
}

// stored returns r as local storage keeps it, with the fields other SDKs
// wrote that Request has no field for, so that updating it keeps them.
func (q *localQueue) stored(ctx context.Context, r *Request) localstorage.Request {
	lr := toLocal(*r)
	if old, err := q.q.Get(ctx, r.ID); err == nil {
		lr.Extra = old.Extra
	}
	return lr
}

func (q *localQueue) markHandled(ctx context.Context, r *Request) error {
	lr := q.stored(ctx, r)
	if err := q.q.MarkHandled(ctx, &lr); err != nil {
		return localErr(err)
	}
	r.HandledAt, r.LockExpiresAt = lr.HandledAt, nil
	return nil
}

func (q *localQueue) reclaim(ctx context.Context, r *Request, o AddOptions) error {
	lr := q.stored(ctx, r)
	if err := q.q.Reclaim(ctx, &lr, localstorage.AddOptions{Forefront: o.Forefront}); err != nil {
		return localErr(err)
	}
	r.HandledAt, r.LockExpiresAt = nil, nil
	return nil
}

// Compile-time checks that both backends implement every call.
var (
	_ backend = (*platformBackend)(nil)
	_ backend = (*localBackend)(nil)
)

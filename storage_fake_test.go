package actor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-apify/actor/internal/localstorage"
)

// storageAPI is a fake of the platform's storage API (the paths, envelopes
// and parameters of datasets, key-value stores and request queues) kept in
// a localstorage.Storage. Beside apifytest it records every call, caps key
// pages (keysPage) and checks that the token comes in the Authorization
// header only. A storage's ID is its kind's prefix and its name:
// "ds-default" is the default dataset.
type storageAPI struct {
	t     testing.TB
	srv   *httptest.Server
	s     *localstorage.Storage
	token string
	// keysPage, when set, caps a page of keys below the limit asked for,
	// as the platform may.
	keysPage int

	mu      sync.Mutex
	calls   []string        // "METHOD path?query" of every request
	deleted map[string]bool // IDs of storages deleted and not created again
}

func newStorageAPI(t testing.TB) *storageAPI {
	t.Helper()
	s, err := localstorage.New(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &storageAPI{t: t, s: s, token: "fake-storage-token"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.srv.Close()
		s.Close()
	})
	return f
}

// env is the environment of a run on the fake platform.
func (f *storageAPI) env() []string {
	return []string{
		"APIFY_IS_AT_HOME=1", "APIFY_API_BASE_URL=" + f.srv.URL, "APIFY_TOKEN=" + f.token, "ACTOR_RUN_ID=run1",
		"ACTOR_DEFAULT_DATASET_ID=ds-default", "ACTOR_DEFAULT_KEY_VALUE_STORE_ID=kv-default",
		"ACTOR_DEFAULT_REQUEST_QUEUE_ID=rq-default",
	}
}

func (f *storageAPI) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

type apiErr struct {
	status int
	msg    string
}

func (f *storageAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	f.mu.Unlock()
	if strings.Contains(r.URL.RawQuery, f.token) {
		f.t.Errorf("the token travels in the URL: %s", r.URL)
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		writeAPIError(w, apiErr{401, "no or wrong token"})
		return
	}
	data, status, e := f.route(r)
	if e != nil {
		writeAPIError(w, *e)
		return
	}
	switch d := data.(type) {
	case nil:
		w.WriteHeader(status)
	case rawBody:
		w.Header().Set("Content-Type", d.contentType)
		for k, v := range d.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		w.Write(d.body)
	default:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"data": data})
	}
}

func writeAPIError(w http.ResponseWriter, e apiErr) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"type": "fake-error", "message": e.msg}})
}

// rawBody is a response that is not a {"data": ...} envelope.
type rawBody struct {
	body        []byte
	contentType string
	header      map[string]string
}

// storageName returns the local name of the storage with the given ID.
func storageName(id, prefix string) (string, *apiErr) {
	name, ok := strings.CutPrefix(id, prefix+"-")
	if !ok {
		return "", &apiErr{404, "no storage " + id}
	}
	if name == "default" {
		return "", nil
	}
	return name, nil
}

func (f *storageAPI) route(r *http.Request) (any, int, *apiErr) {
	ctx := r.Context()
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v2/"), "/")
	q := r.URL.Query()
	kind := map[string]string{"datasets": "ds", "key-value-stores": "kv", "request-queues": "rq"}[parts[0]]
	if kind == "" {
		return nil, 0, &apiErr{404, "no such endpoint"}
	}
	if len(parts) == 1 && r.Method == "POST" {
		name := q.Get("name")
		if name == "" {
			return nil, 0, &apiErr{400, "the fake needs a name"}
		}
		f.mu.Lock()
		delete(f.deleted, kind+"-"+name)
		f.mu.Unlock()
		return map[string]any{"id": kind + "-" + name, "name": name}, 201, nil
	}
	name, e := storageName(parts[1], kind)
	if e != nil {
		return nil, 0, e
	}
	f.mu.Lock()
	gone := f.deleted[parts[1]]
	if len(parts) == 2 && r.Method == "DELETE" {
		if f.deleted == nil {
			f.deleted = map[string]bool{}
		}
		f.deleted[parts[1]] = true
	}
	f.mu.Unlock()
	if gone {
		return nil, 0, &apiErr{404, "storage " + parts[1] + " was deleted"}
	}
	switch kind {
	case "ds":
		return f.dataset(ctx, r, name, parts[1], parts[2:])
	case "kv":
		return f.keyValueStore(ctx, r, name, parts[1], parts[2:])
	}
	return f.requestQueue(ctx, r, name, parts[1], parts[2:])
}

func asAPIErr(err error) *apiErr {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, localstorage.ErrNotFound), errors.Is(err, localstorage.ErrNotLocked):
		return &apiErr{404, err.Error()}
	case errors.Is(err, localstorage.ErrInvalid), errors.Is(err, localstorage.ErrTooLarge):
		return &apiErr{400, err.Error()}
	}
	return &apiErr{500, err.Error()}
}

func list(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func (f *storageAPI) dataset(ctx context.Context, r *http.Request, name, id string, rest []string) (any, int, *apiErr) {
	d, err := f.s.Dataset(ctx, name)
	if err != nil {
		return nil, 0, asAPIErr(err)
	}
	q := r.URL.Query()
	switch {
	case len(rest) == 0 && r.Method == "GET":
		info, err := d.Info(ctx)
		return map[string]any{"id": id, "name": name, "itemCount": info.ItemCount, "createdAt": info.CreatedAt}, 200, asAPIErr(err)
	case len(rest) == 0 && r.Method == "DELETE":
		return nil, 204, asAPIErr(d.Drop(ctx))
	case len(rest) == 1 && rest[0] == "items" && r.Method == "POST":
		var items []json.RawMessage
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, 0, &apiErr{400, err.Error()}
		}
		return map[string]any{}, 201, asAPIErr(d.Push(ctx, items...))
	case len(rest) == 1 && rest[0] == "items" && r.Method == "GET":
		offset, _ := strconv.Atoi(q.Get("offset"))
		limit, _ := strconv.Atoi(q.Get("limit"))
		o := localstorage.ItemsOptions{Offset: offset, Limit: limit, Desc: q.Get("desc") == "1", Filter: localstorage.ItemFilter{
			Fields: list(q.Get("fields")), Omit: list(q.Get("omit")), Unwind: list(q.Get("unwind")),
			Clean: q.Get("clean") == "1", SkipHidden: q.Get("skipHidden") == "1", SkipEmpty: q.Get("skipEmpty") == "1",
		}}
		items := []json.RawMessage{}
		for it, err := range d.Items(ctx, o) {
			if err != nil {
				return nil, 0, asAPIErr(err)
			}
			items = append(items, it)
		}
		info, _ := d.Info(ctx)
		b, _ := json.Marshal(items)
		return rawBody{body: b, contentType: "application/json", header: map[string]string{
			"X-Apify-Pagination-Total": strconv.Itoa(info.ItemCount), "X-Apify-Pagination-Offset": strconv.Itoa(offset),
			"X-Apify-Pagination-Limit": strconv.Itoa(limit),
		}}, 200, nil
	}
	return nil, 0, &apiErr{404, "no such dataset endpoint"}
}

func (f *storageAPI) keyValueStore(ctx context.Context, r *http.Request, name, id string, rest []string) (any, int, *apiErr) {
	kv, err := f.s.KeyValueStore(ctx, name)
	if err != nil {
		return nil, 0, asAPIErr(err)
	}
	q := r.URL.Query()
	switch {
	case len(rest) == 0 && r.Method == "GET":
		return map[string]any{"id": id, "name": name, "urlSigningSecretKey": "fake-secret"}, 200, nil
	case len(rest) == 0 && r.Method == "DELETE":
		return nil, 204, asAPIErr(kv.Drop(ctx))
	case len(rest) == 1 && rest[0] == "keys" && r.Method == "GET":
		limit, _ := strconv.Atoi(q.Get("limit"))
		if f.keysPage > 0 && (limit == 0 || limit > f.keysPage) {
			limit = f.keysPage
		}
		l, err := kv.ListKeys(ctx, localstorage.ListKeysOptions{ExclusiveStartKey: q.Get("exclusiveStartKey"), Limit: limit, Prefix: q.Get("prefix")})
		if err != nil {
			return nil, 0, asAPIErr(err)
		}
		items := []map[string]any{}
		for _, k := range l.Items {
			items = append(items, map[string]any{"key": k.Key, "size": k.Size})
		}
		return map[string]any{"items": items, "count": l.Count, "limit": l.Limit, "isTruncated": l.IsTruncated,
			"nextExclusiveStartKey": l.NextExclusiveStartKey}, 200, nil
	case len(rest) == 2 && rest[0] == "records":
		key := rest[1]
		switch r.Method {
		case "GET":
			rec, err := kv.Get(ctx, key)
			if err != nil {
				return nil, 0, asAPIErr(err)
			}
			return rawBody{body: rec.Value, contentType: rec.ContentType}, 200, nil
		case "PUT":
			body, _ := io.ReadAll(r.Body)
			return nil, 201, asAPIErr(kv.Set(ctx, key, body, r.Header.Get("Content-Type")))
		case "DELETE":
			if _, err := kv.Get(ctx, key); err != nil {
				return nil, 0, asAPIErr(err)
			}
			return nil, 204, asAPIErr(kv.Delete(ctx, key))
		}
	}
	return nil, 0, &apiErr{404, "no such key-value store endpoint"}
}

func registration(r localstorage.AddResult) map[string]any {
	return map[string]any{"requestId": r.RequestID, "uniqueKey": r.UniqueKey,
		"wasAlreadyPresent": r.WasAlreadyPresent, "wasAlreadyHandled": r.WasAlreadyHandled}
}

func (f *storageAPI) requestQueue(ctx context.Context, r *http.Request, name, id string, rest []string) (any, int, *apiErr) {
	rq, err := f.s.RequestQueue(ctx, name)
	if err != nil {
		return nil, 0, asAPIErr(err)
	}
	q := r.URL.Query()
	forefront := localstorage.AddOptions{Forefront: q.Get("forefront") == "true"}
	lockFor := func() time.Duration {
		n, _ := strconv.Atoi(q.Get("lockSecs"))
		return time.Duration(n) * time.Second
	}
	path := strings.Join(rest, "/")
	switch {
	case path == "" && r.Method == "GET":
		i, err := rq.Info(ctx)
		return map[string]any{"id": id, "name": name, "totalRequestCount": i.TotalRequestCount,
			"handledRequestCount": i.HandledRequestCount, "pendingRequestCount": i.PendingRequestCount}, 200, asAPIErr(err)
	case path == "" && r.Method == "DELETE":
		return nil, 204, asAPIErr(rq.Drop(ctx))
	case path == "requests" && r.Method == "POST":
		var req localstorage.Request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			return nil, 0, &apiErr{400, err.Error()}
		}
		res, err := rq.Add(ctx, req, forefront)
		return registration(res), 201, asAPIErr(err)
	case path == "requests/batch" && r.Method == "POST":
		var reqs []localstorage.Request
		if err := json.NewDecoder(r.Body).Decode(&reqs); err != nil {
			return nil, 0, &apiErr{400, err.Error()}
		}
		res, err := rq.AddBatch(ctx, reqs, forefront)
		processed := []map[string]any{}
		for _, x := range res {
			processed = append(processed, registration(x))
		}
		return map[string]any{"processedRequests": processed, "unprocessedRequests": []any{}}, 201, asAPIErr(err)
	case path == "head/lock" && r.Method == "POST":
		limit, _ := strconv.Atoi(q.Get("limit"))
		rs, err := rq.LockHead(ctx, limit, lockFor())
		items := []map[string]any{}
		for _, x := range rs {
			// As the platform: the head's items lack user data and headers.
			items = append(items, map[string]any{"id": x.ID, "uniqueKey": x.UniqueKey, "url": x.URL, "method": x.Method,
				"lockExpiresAt": time.Now().Add(lockFor()).UTC()})
		}
		return map[string]any{"limit": limit, "lockSecs": int(lockFor() / time.Second), "items": items}, 201, asAPIErr(err)
	case len(rest) == 2 && rest[0] == "requests" && r.Method == "GET":
		req, err := rq.Get(ctx, rest[1])
		if err != nil {
			return nil, 0, asAPIErr(err)
		}
		return req, 200, nil
	case len(rest) == 2 && rest[0] == "requests" && r.Method == "PUT":
		var req localstorage.Request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			return nil, 0, &apiErr{400, err.Error()}
		}
		if req.ID != rest[1] {
			return nil, 0, &apiErr{400, fmt.Sprintf("the body's id %q is not the path's %q", req.ID, rest[1])}
		}
		res, err := rq.Update(ctx, req, forefront)
		return registration(res), 200, asAPIErr(err)
	case len(rest) == 3 && rest[0] == "requests" && rest[2] == "lock" && r.Method == "PUT":
		t, err := rq.ProlongLock(ctx, rest[1], lockFor())
		return map[string]any{"lockExpiresAt": t}, 200, asAPIErr(err)
	case len(rest) == 3 && rest[0] == "requests" && rest[2] == "lock" && r.Method == "DELETE":
		return nil, 204, asAPIErr(rq.Unlock(ctx, rest[1], forefront))
	}
	return nil, 0, &apiErr{404, "no such request queue endpoint"}
}

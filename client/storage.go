package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// MaxPayloadBytes is the platform's limit on the body of a request, 9 MiB
// (MAX_PAYLOAD_SIZE_BYTES of @apify/consts). A larger body is refused with
// 413 Payload Too Large. PushItems and AddRequests split their input to stay
// under it.
const MaxPayloadBytes = 9 << 20

// maxStorageNameLen is the longest storage name the platform accepts.
const maxStorageNameLen = 63

// StorageOwnership filters storage lists by who owns the storages.
type StorageOwnership string

// The ownership filters of storage lists.
const (
	OwnedByMe    StorageOwnership = "ownedByMe"
	SharedWithMe StorageOwnership = "sharedWithMe"
)

// GeneralAccess is who may read a storage without a token.
type GeneralAccess string

// The general access levels of a storage.
const (
	AccessAnyoneWithIDCanRead   GeneralAccess = "ANYONE_WITH_ID_CAN_READ"
	AccessAnyoneWithNameCanRead GeneralAccess = "ANYONE_WITH_NAME_CAN_READ"
	AccessFollowUserSetting     GeneralAccess = "FOLLOW_USER_SETTING"
	AccessRestricted            GeneralAccess = "RESTRICTED"
)

// StorageListOptions select a page of a list of datasets, key-value stores
// or request queues. The zero value lists the named storages of every owner
// the caller can access, oldest first, up to 1000 per page.
type StorageListOptions struct {
	ListOptions
	// Unnamed includes unnamed storages (those of runs) in the list.
	Unnamed bool
	// Ownership keeps only the storages owned by the caller or only those
	// shared with the caller; empty keeps both.
	Ownership StorageOwnership
}

func (o StorageListOptions) query() (url.Values, error) {
	q, err := o.ListOptions.query()
	if err != nil {
		return nil, err
	}
	if o.Unnamed {
		q.Set("unnamed", "1")
	}
	switch o.Ownership {
	case "":
	case OwnedByMe, SharedWithMe:
		q.Set("ownership", string(o.Ownership))
	default:
		return nil, fmt.Errorf("client: StorageListOptions.Ownership: %q is neither %q nor %q", o.Ownership, OwnedByMe, SharedWithMe)
	}
	return q, nil
}

// StorageUpdate changes a storage's name or general access. Nil fields are
// left as they are.
type StorageUpdate struct {
	// Name is the new name.
	Name *string `json:"name,omitempty"`
	// GeneralAccess is the new access level.
	GeneralAccess GeneralAccess `json:"generalAccess,omitempty"`
}

func (u StorageUpdate) validate() error {
	if u.Name != nil {
		if err := validateStorageName("StorageUpdate.Name", *u.Name); err != nil {
			return err
		}
	}
	switch u.GeneralAccess {
	case "", AccessAnyoneWithIDCanRead, AccessAnyoneWithNameCanRead, AccessFollowUserSetting, AccessRestricted:
		return nil
	}
	return fmt.Errorf("client: StorageUpdate.GeneralAccess: %q is not a known access level", u.GeneralAccess)
}

// validateStorageName checks a storage name: 1 to 63 characters (the
// platform's limit), letters, digits and hyphens, not starting or ending
// with a hyphen (what the platform accepts in names, which also travel in
// paths as "username~name").
func validateStorageName(field, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("client: %s is empty", field)
	case len(name) > maxStorageNameLen:
		return fmt.Errorf("client: %s: %d characters exceed the platform's maximum of %d", field, len(name), maxStorageNameLen)
	case name[0] == '-' || name[len(name)-1] == '-':
		return fmt.Errorf("client: %s: %q must not start or end with a hyphen", field, name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("client: %s: %q may contain only letters, digits and hyphens", field, name)
		}
	}
	return nil
}

// storageID checks the ID (or "username~name") of a storage and escapes it
// for a path. A "username/name" is accepted as well.
func storageID(field, id string) (string, error) {
	if hasCTL(id) {
		return "", fmt.Errorf("client: %s contains control characters", field)
	}
	return actorPathID(field, id)
}

// getOrCreate is the POST of a storage collection with an optional name.
// With a name it is idempotent (the platform returns the existing storage of
// that name), so it is retried like a GET. Without one, every request creates
// a new storage, so it is retried only when the platform cannot have
// received it.
func getOrCreate[T any](ctx context.Context, c *Client, path, field, name string) (*T, error) {
	if name == "" {
		return doData[T](ctx, c, &request{method: "POST", path: path, policy: retryUnlessReceived})
	}
	if err := validateStorageName(field, name); err != nil {
		return nil, err
	}
	return doData[T](ctx, c, &request{
		method: "POST", path: path, query: url.Values{"name": {name}}, policy: retryIdempotent,
	})
}

// updateStorage is the PUT of a storage.
func updateStorage[T any](ctx context.Context, c *Client, path string, u StorageUpdate) (*T, error) {
	if err := u.validate(); err != nil {
		return nil, err
	}
	body, err := jsonBody("StorageUpdate", u)
	if err != nil {
		return nil, err
	}
	return doData[T](ctx, c, &request{
		method: "PUT", path: path, body: body, contentType: "application/json", policy: retryIdempotent,
	})
}

// deleteResource is the DELETE of a storage, a record, a request or a lock. A 404 after a retry
// counts as success: an earlier attempt whose response was lost may have
// deleted it.
func deleteResource(ctx context.Context, c *Client, path string, q url.Values) error {
	_, err := c.do(ctx, &request{method: "DELETE", path: path, query: q, policy: retryIdempotent})
	var ae *APIError
	if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound && ae.Attempts > 1 {
		return nil
	}
	return err
}

// listStorages fetches one page of a storage collection.
func listStorages[T any](ctx context.Context, c *Client, path string, o StorageListOptions) (*Page[T], error) {
	q, err := o.query()
	if err != nil {
		return nil, err
	}
	return doData[Page[T]](ctx, c, &request{method: "GET", path: path, query: q, policy: retryIdempotent})
}

// allStorages iterates over a storage collection page by page.
func allStorages[T any](ctx context.Context, c *Client, path string, o StorageListOptions) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			p, err := listStorages[T](ctx, c, path, o)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range p.Items {
				if !yield(it, nil) {
					return
				}
			}
			o.Offset += len(p.Items)
			if len(p.Items) == 0 || o.Offset >= p.Total {
				return
			}
		}
	}
}

// rawResponse is a 2xx response whose headers matter: a record, a page of
// dataset items.
type rawResponse struct {
	header http.Header
	body   []byte        // the whole body, unless streamed
	stream io.ReadCloser // the body, when the request asked for a stream
}

// doRaw sends r like do, but keeps the response's headers and, with stream,
// hands the body of a 2xx response to the caller unread (the caller closes
// it). Error bodies are read and bounded as in do. HEAD responses have no
// body.
//
// It repeats what do does around retryablehttp because do keeps neither the
// headers nor the body's stream.
func (c *Client) doRaw(ctx context.Context, r *request, stream bool) (*rawResponse, error) {
	if c == nil || c.http == nil {
		return nil, &unsentError{errors.New("client: the Client was not made by New or NewFromEnv")}
	}
	if ctx == nil {
		return nil, &unsentError{errors.New("client: nil context")}
	}
	u := c.baseURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	st := &call{c: c, r: r}
	if r.policy == retryUnlessReceived {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GotConn: func(httptrace.GotConnInfo) { st.connected.Store(true) },
		})
	}
	var body any
	if r.body != nil {
		body = r.body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, &unsentError{fmt.Errorf("client: %s %s: %w", r.method, r.path, sanitize(err))}
	}
	req.Header["User-Agent"] = c.uaHeader
	req.Header["Accept"] = []string{"*/*"}
	if c.auth != nil {
		req.Header["Authorization"] = c.auth
	}
	if r.body != nil {
		req.Header["Content-Type"] = []string{r.contentType}
	}
	out := &rawResponse{}
	handle := func(resp *http.Response) error {
		out.header = resp.Header
		switch {
		case r.method == http.MethodHead:
			resp.Body.Close()
			st.body, st.read = nil, true
			return nil
		case stream && resp.StatusCode >= 200 && resp.StatusCode <= 299:
			out.stream = resp.Body
			st.read = true
			return nil
		}
		return st.readBody(resp)
	}
	req.SetResponseHandler(handle)
	hc := c.http
	if r.longPoll > 0 && c.attemptTO > 0 {
		cp := *c.http
		cp.Timeout = c.attemptTO + r.longPoll
		hc = &cp
	}
	rc := &retryablehttp.Client{
		HTTPClient:     hc,
		RetryWaitMin:   c.minBackoff,
		RetryWaitMax:   c.maxBackoff,
		RetryMax:       c.maxRetries,
		RequestLogHook: st.beforeAttempt,
		CheckRetry:     st.checkRetry,
		Backoff:        st.backoff,
		ErrorHandler:   st.giveUp,
	}
	resp, err := rc.Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, &canceledError{method: r.method, path: r.path, err: ctxErr, reached: !st.waiting && st.reached}
		}
		return nil, &TransportError{Method: r.method, Path: r.path, Attempts: st.attempts, Err: sanitize(err), reached: st.reached}
	}
	if !st.read {
		// The retries ran out on a retryable status: the body is still unread.
		if err := handle(resp); err != nil {
			return nil, &TransportError{Method: r.method, Path: r.path, Attempts: st.attempts, Err: sanitize(err), reached: true}
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, newAPIError(r.method, r.path, &response{status: resp.StatusCode, body: st.body, attempts: st.attempts})
	}
	out.body = st.body
	return out, nil
}

// jsonBody encodes v as the JSON body of a request; what names v in errors.
func jsonBody(what string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("client: %s: encoding as JSON: %w", what, err)
	}
	return b, nil
}

// waitOrDone waits for d or until ctx ends, whichever comes first.
func waitOrDone(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

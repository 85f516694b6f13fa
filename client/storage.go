package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"time"
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

// storageKind is a kind of storage: the path of its collection and its
// name in errors.
type storageKind struct{ path, noun string }

// The kinds of storage.
var (
	datasetKind       = storageKind{"/v2/datasets", "dataset"}
	keyValueStoreKind = storageKind{"/v2/key-value-stores", "key-value store"}
	requestQueueKind  = storageKind{"/v2/request-queues", "request queue"}
)

// storagePath checks the ID (or "username~name") of a storage of kind k and
// returns its path. A "username/name" is accepted as well.
func (k storageKind) storagePath(id string) (string, error) {
	field := k.noun + " ID"
	if hasCTL(id) {
		return "", fmt.Errorf("client: %s contains control characters", field)
	}
	p, err := actorPathID(field, id)
	if err != nil {
		return "", err
	}
	return k.path + "/" + p, nil
}

// getOrCreate is the POST of a storage collection with an optional name.
// With a name it is idempotent (the platform returns the existing storage of
// that name), so it is retried like a GET. Without one, every request creates
// a new storage, so it is retried only when the platform cannot have
// received it.
func getOrCreate[T any](ctx context.Context, c *Client, k storageKind, name string) (*T, error) {
	if name == "" {
		return doData[T](ctx, c, &request{method: "POST", path: k.path, policy: retryUnlessReceived})
	}
	if err := validateStorageName(k.noun+" name", name); err != nil {
		return nil, err
	}
	return doData[T](ctx, c, &request{
		method: "POST", path: k.path, query: url.Values{"name": {name}}, policy: retryIdempotent,
	})
}

// getStorage is the GET of a storage.
func getStorage[T any](ctx context.Context, c *Client, k storageKind, id string) (*T, error) {
	path, err := k.storagePath(id)
	if err != nil {
		return nil, err
	}
	return doData[T](ctx, c, &request{method: "GET", path: path, policy: retryIdempotent})
}

// updateStorage is the PUT of a storage.
func updateStorage[T any](ctx context.Context, c *Client, k storageKind, id string, u StorageUpdate) (*T, error) {
	path, err := k.storagePath(id)
	if err != nil {
		return nil, err
	}
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

// deleteStorage is the DELETE of a storage.
func deleteStorage(ctx context.Context, c *Client, k storageKind, id string) error {
	path, err := k.storagePath(id)
	if err != nil {
		return err
	}
	return deleteResource(ctx, c, path, nil)
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

// allStorages iterates over a storage collection page by page.
func allStorages[T any](ctx context.Context, c *Client, k storageKind, o StorageListOptions) iter.Seq2[T, error] {
	return paged(k.path, o.Offset, func(offset int) (*Page[T], error) {
		o.Offset = offset
		return list[T](ctx, c, k.path, o)
	})
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

package actor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
	"time"

	"github.com/go-apify/actor/internal/localstorage"
)

// StorageMode says where an Actor's datasets, key-value stores and request
// queues live.
type StorageMode int

// The storage modes.
const (
	// StorageAuto, the zero value, picks the platform when the run is on the
	// Apify platform (APIFY_IS_AT_HOME) or when both APIFY_API_BASE_URL and
	// APIFY_TOKEN are set (a local platform such as apify-local or
	// apifytest), and local files otherwise.
	StorageAuto StorageMode = iota
	// StoragePlatform sends every storage call to the API, with the Actor's
	// client.
	StoragePlatform
	// StorageLocal keeps storages as files in the layout of the official
	// SDKs and the Apify CLI: under APIFY_LOCAL_STORAGE_DIR, then
	// CRAWLEE_STORAGE_DIR, then ./storage. The default storages are purged
	// when they are first used, keeping the input, unless
	// APIFY_PURGE_ON_START (or CRAWLEE_PURGE_ON_START) is "0" or "false".
	StorageLocal
)

// String returns "auto", "platform" or "local".
func (m StorageMode) String() string {
	switch m {
	case StorageAuto:
		return "auto"
	case StoragePlatform:
		return "platform"
	case StorageLocal:
		return "local"
	}
	return fmt.Sprintf("StorageMode(%d)", int(m))
}

// WithStorage forces the storage mode instead of choosing it from the
// environment (see [StorageAuto]).
func WithStorage(m StorageMode) Option {
	return func(a *Actor) { a.stor.mode = m }
}

// Storage errors, matched with errors.Is.
var (
	// ErrNotFound is matched by the error of reading a record or a request
	// that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrNoInput is matched by the error of GetInput when the run has no
	// input record.
	ErrNoInput = errors.New("the run has no input")
	// ErrNoDefaultStorage is matched by the error of using a default storage
	// on the platform when the environment does not name it
	// (ACTOR_DEFAULT_DATASET_ID and the like).
	ErrNoDefaultStorage = errors.New("the environment names no default storage of this kind")
)

// storageState is the Actor's storage backend, chosen and opened on first
// use and closed by Exit.
type storageState struct {
	mode StorageMode // set by WithStorage

	mu      sync.Mutex
	backend backend // nil until first use
	closed  bool
}

// backend is where storages live: the platform's API or local files. Both
// implement the same calls, so that Dataset, KeyValueStore and RequestQueue
// behave alike in both modes.
type backend interface {
	mode() StorageMode
	// The empty name opens the run's default storage.
	dataset(ctx context.Context, name string) (datasetBackend, error)
	keyValueStore(ctx context.Context, name string) (kvBackend, error)
	requestQueue(ctx context.Context, name string) (queueBackend, error)
	close() error
}

type datasetBackend interface {
	info(ctx context.Context) (DatasetInfo, error)
	drop(ctx context.Context) error
	// push checks and stores one item or a slice or array of items, in
	// order: a bad item is a *client.ItemError, and then nothing is stored.
	push(ctx context.Context, items any) error
	items(ctx context.Context, o ItemsOptions) iter.Seq2[json.RawMessage, error]
}

type kvBackend interface {
	info(ctx context.Context) (KeyValueStoreInfo, error)
	drop(ctx context.Context) error
	// get and open return an error matching ErrNotFound for a missing record.
	get(ctx context.Context, key string) (*Record, error)
	open(ctx context.Context, key string) (*RecordReader, error)
	set(ctx context.Context, key string, value []byte, contentType string) error
	setFrom(ctx context.Context, key string, r io.Reader, contentType string) error
	delete(ctx context.Context, key string) error
	keys(ctx context.Context, o KeysOptions) iter.Seq2[KeyInfo, error]
	publicURL(ctx context.Context, key string) (string, error)
}

type queueBackend interface {
	info(ctx context.Context) (RequestQueueInfo, error)
	drop(ctx context.Context) error
	add(ctx context.Context, rs []Request, o AddOptions) ([]AddResult, error)
	get(ctx context.Context, id string) (*Request, error)
	fetchNext(ctx context.Context, lockFor time.Duration) (*Request, error)
	prolongLock(ctx context.Context, id string, lockFor time.Duration) (time.Time, error)
	markHandled(ctx context.Context, r *Request) error
	reclaim(ctx context.Context, r *Request, o AddOptions) error
}

// StorageMode returns the storage mode the Actor uses: the one given to
// [WithStorage], or else the one the environment selects (see
// [StorageAuto]).
func (a *Actor) StorageMode() StorageMode {
	a.stor.mu.Lock()
	b := a.stor.backend
	a.stor.mu.Unlock()
	if b != nil {
		return b.mode()
	}
	return a.resolveMode(a.Env())
}

func (a *Actor) resolveMode(env Environment) StorageMode {
	if a.stor.mode != StorageAuto {
		return a.stor.mode
	}
	if env.IsAtHome || env.APIBaseURL != "" && env.Token.IsSet() {
		return StoragePlatform
	}
	return StorageLocal
}

// storage returns the storage backend, choosing and opening it on first
// use: the local storage is opened (and purged) then, not at Init, so that
// a program that never uses storage leaves no ./storage behind.
func (a *Actor) storage(ctx context.Context) (backend, error) {
	c, env, err := a.ready(ctx)
	if err != nil {
		return nil, err
	}
	a.stor.mu.Lock()
	defer a.stor.mu.Unlock()
	if a.stor.closed {
		return nil, errors.New("actor: the Actor has exited; its storage is closed")
	}
	if a.stor.backend != nil {
		return a.stor.backend, nil
	}
	switch m := a.resolveMode(env); m {
	case StoragePlatform:
		a.stor.backend = &platformBackend{c: c, env: env}
	case StorageLocal:
		s, err := localstorage.FromEnv(ctx, a.lookup, &localstorage.Options{Logger: a.log(), InputKey: env.InputKey})
		if err != nil {
			return nil, fmt.Errorf("actor: opening the local storage: %w", err)
		}
		a.log().DebugContext(ctx, "using local storage", "dir", s.Path())
		a.stor.backend = &localBackend{s: s}
	default:
		return nil, fmt.Errorf("actor: unknown storage mode %v", m)
	}
	return a.stor.backend, nil
}

// closeStorage closes the storage backend, writing the local storage's
// pending metadata; later storage calls fail.
func (a *Actor) closeStorage(ctx context.Context) {
	a.stor.mu.Lock()
	defer a.stor.mu.Unlock()
	a.stor.closed = true
	if a.stor.backend == nil {
		return
	}
	if err := a.stor.backend.close(); err != nil {
		a.log().WarnContext(ctx, "cannot close the storage", "error", err)
	}
}

// storageLabel names a storage in errors: `dataset "results"`, or "the
// default dataset".
func storageLabel(kind, name string) string {
	if name == "" {
		return "the default " + kind
	}
	return fmt.Sprintf("%s %q", kind, name)
}

// decodeJSON decodes one JSON value from b into v; what names the value in
// errors, which name the field for a value of the wrong type.
func decodeJSON(what string, b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("data after the JSON value")
		}
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te) && te.Field != "":
		return fmt.Errorf("actor: %s: field %q: JSON %s cannot be decoded into %s: %w", what, te.Field, te.Value, te.Type, err)
	case errors.As(err, &se):
		return fmt.Errorf("actor: %s: not valid JSON at byte %d: %w", what, se.Offset, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("actor: %s: incomplete JSON: %w", what, err)
	}
	return fmt.Errorf("actor: %s: %w", what, err)
}

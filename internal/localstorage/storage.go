package localstorage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Environment variables read by FromEnv.
const (
	EnvLocalStorageDir     = "APIFY_LOCAL_STORAGE_DIR"
	EnvCrawleeStorageDir   = "CRAWLEE_STORAGE_DIR"
	EnvPurgeOnStart        = "APIFY_PURGE_ON_START"
	EnvCrawleePurgeOnStart = "CRAWLEE_PURGE_ON_START"
)

// DefaultDir is the storage directory when no variable names one.
const DefaultDir = "./storage"

// DefaultName is the name of the default dataset, key-value store and request queue.
const DefaultName = "default"

// DefaultMaxValueBytes is the default cap on a record value, a dataset item and
// an encoded request: the platform's 9 MB request body limit.
const DefaultMaxValueBytes = 9 * 1024 * 1024

// Subdirectories of the storage directory, as crawlee names them.
const (
	datasetsDir       = "datasets"
	keyValueStoresDir = "key_value_stores"
	requestQueuesDir  = "request_queues"
)

// Options configure a Storage. The zero value works.
type Options struct {
	// Purge removes the default storages' contents when the Storage is
	// created, keeping the input record, as the SDKs do on start (see Purge).
	Purge bool
	// InputKey is the key of the input record, which Purge keeps besides
	// INPUT (ACTOR_INPUT_KEY). Empty means INPUT alone.
	InputKey string
	// Durable syncs every file and its directory, so writes also survive a
	// power loss. Without it a write survives the process being killed at
	// any point (temporary file and rename), which is what local runs need.
	Durable bool
	// MaxValueBytes caps a record value, a dataset item and an encoded
	// request, written or read. Zero means DefaultMaxValueBytes.
	MaxValueBytes int
	// MetadataInterval is the longest a __metadata__.json lags behind the
	// data files while the process runs (Close writes the last state). Zero
	// means one second; a negative value writes metadata on every change.
	MetadataInterval time.Duration
	// Logger receives warnings about files that cannot be read (skipped,
	// as crawlee skips them). Nil means no logging.
	Logger *slog.Logger
}

// Storage is one storage directory and the datasets, key-value stores and
// request queues in it. Its methods are safe for concurrent use; each
// storage has its own mutex.
type Storage struct {
	dir  string
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	closed  bool
	kvs     map[string]*KeyValueStore
	sets    map[string]*Dataset
	queues  map[string]*RequestQueue
	writers []*metadataWriter // of the storages opened

	now func() time.Time // the clock of request locks and order numbers; tests replace it
}

// New opens the storage directory dir, creating it when missing; with
// opts.Purge it first purges the default storages. A nil opts is the zero Options.
func New(ctx context.Context, dir string, opts *Options) (*Storage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, invalid("dir", "is empty")
	}
	s := &Storage{dir: dir, kvs: map[string]*KeyValueStore{}, sets: map[string]*Dataset{}, queues: map[string]*RequestQueue{}, now: time.Now}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.MaxValueBytes <= 0 {
		s.opts.MaxValueBytes = DefaultMaxValueBytes
	}
	if s.opts.MetadataInterval == 0 {
		s.opts.MetadataInterval = time.Second
	}
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("localstorage: %w", err)
	}
	if s.opts.Purge {
		if err := purge(dir, s.opts.InputKey); err != nil {
			return nil, fmt.Errorf("localstorage: purge: %w", err)
		}
	}
	return s, nil
}

// FromEnv opens the storage directory the environment names, as the SDKs and
// the CLI choose it: APIFY_LOCAL_STORAGE_DIR, then CRAWLEE_STORAGE_DIR, then
// ./storage; and purges on start unless CRAWLEE_PURGE_ON_START (or, when that
// is unset or empty, APIFY_PURGE_ON_START) is "0", "false" or "" in any case
// (the SDKs' reading; unset means purge). lookup is os.LookupEnv or a test
// double; opts.Purge is overridden by the environment.
func FromEnv(ctx context.Context, lookup func(string) (string, bool), opts *Options) (*Storage, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.Purge = PurgeOnStart(lookup)
	return New(ctx, Dir(lookup), &o)
}

// Dir returns the storage directory the environment names (see FromEnv).
func Dir(lookup func(string) (string, bool)) string {
	for _, k := range []string{EnvLocalStorageDir, EnvCrawleeStorageDir} {
		if v, ok := lookup(k); ok && v != "" {
			return v
		}
	}
	return DefaultDir
}

// PurgeOnStart reports whether the environment asks for purging on start
// (see FromEnv). Crawlee reads its own variable first, then Apify's.
func PurgeOnStart(lookup func(string) (string, bool)) bool {
	v, set := "", false
	for _, k := range []string{EnvCrawleePurgeOnStart, EnvPurgeOnStart} {
		if s, ok := lookup(k); ok {
			v, set = s, true
			if s != "" {
				break
			}
		}
	}
	if !set {
		return true
	}
	switch strings.ToLower(v) {
	case "0", "false", "":
		return false
	}
	return true
}

// Path returns the storage directory.
func (s *Storage) Path() string { return s.dir }

// Close writes every open storage's pending metadata; later calls fail with
// ErrClosed. Close is idempotent.
func (s *Storage) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for _, w := range s.writers {
		w.mu.Lock()
		errs = append(errs, w.flush())
		w.mu.Unlock()
	}
	return errors.Join(errs...)
}

// ValidateName checks a storage name against the platform's rule: 1 to 63
// characters, letters, digits and hyphens, a hyphen never first or last.
// The empty name means the default storage and is not checked here.
func ValidateName(name string) error {
	if len(name) > 63 {
		return invalid("name", "%q is %d characters, over the limit of 63", name[:20]+"...", len(name))
	}
	if name == "" {
		return invalid("name", "is empty")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(name)-1:
		default:
			return invalid("name", "%q may only contain letters, digits and hyphens, a hyphen not first or last", name)
		}
	}
	return nil
}

// open is the shared part of opening a storage of any kind: it validates the
// name, returns the cached instance when there is one, and otherwise creates
// the directory, removes leftover temporary files, calls create and writes
// the metadata with the writer create returns.
func open[T any](ctx context.Context, s *Storage, cache map[string]*T, sub, name string, create func(dir, name string) (*T, *metadataWriter, error)) (*T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if name == "" {
		name = DefaultName
	} else if err := ValidateName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if v, ok := cache[name]; ok {
		return v, nil
	}
	dir := filepath.Join(s.dir, sub, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("localstorage: %w", err)
	}
	if err := removeTemps(dir); err != nil {
		return nil, fmt.Errorf("localstorage: %w", err)
	}
	v, w, err := create(dir, name)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	err = w.changed()
	w.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("localstorage: %w", err)
	}
	cache[name] = v
	s.writers = append(s.writers, w)
	return v, nil
}

// checkUsable returns ctx's error, ErrClosed after Close, or an error
// matching ErrNotFound once the storage was dropped.
func (s *Storage) checkUsable(ctx context.Context, mu *sync.Mutex, w *metadataWriter, kind, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.isClosed() {
		return ErrClosed
	}
	mu.Lock()
	dropped := w.dropped
	mu.Unlock()
	if dropped {
		return fmt.Errorf("%s %q was dropped: %w", kind, name, ErrNotFound)
	}
	return nil
}

// drop deletes a storage's directory and forgets its open instance; opening
// the name again creates an empty storage.
func drop[T any](ctx context.Context, s *Storage, cache map[string]*T, sub, name string, mu *sync.Mutex, w *metadataWriter) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	delete(cache, name)
	mu.Lock()
	w.dropped = true
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	mu.Unlock()
	if err := removeDir(filepath.Join(s.dir, sub), name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("localstorage: %w", err)
	}
	return nil
}

func (s *Storage) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Storage) newMetadataWriter(dir string, mu *sync.Mutex, encode func() any) *metadataWriter {
	return &metadataWriter{
		dir: dir, interval: s.opts.MetadataInterval, durable: s.opts.Durable, mu: mu, encode: encode,
		onError: func(err error) { s.log.Warn("localstorage: writing metadata", "dir", dir, "err", err) },
	}
}

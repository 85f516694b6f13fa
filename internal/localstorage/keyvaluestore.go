package localstorage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// MaxKeyLength is the platform's limit on a record key.
const MaxKeyLength = 256

// DefaultListKeysLimit and MaxListKeysLimit bound a key listing, as the platform does.
const (
	DefaultListKeysLimit = 1000
	MaxListKeysLimit     = 1000
)

const recordMetadataSuffix = ".__metadata__.json"

// KeyValueStore is a key-value store: key_value_stores/{name}/ holding one
// file per record.
type KeyValueStore struct {
	s    *Storage
	dir  string
	name string

	mu      sync.Mutex
	meta    kvMetadata
	records map[string]kvEntry
	w       *metadataWriter
}

// kvEntry is where a record lives and what it is.
type kvEntry struct {
	file        string // file name in the store directory
	metaFile    string // record metadata file name, "" when there is none
	contentType string
	size        int64
}

// kvMetadata is a key-value store's __metadata__.json, as crawlee writes it.
type kvMetadata struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	AccessedAt jsTime `json:"accessedAt"`
	CreatedAt  jsTime `json:"createdAt"`
	ModifiedAt jsTime `json:"modifiedAt"`
	UserID     string `json:"userId"`
}

// recordMetadata is a record's {key}.__metadata__.json. Crawlee (when it
// writes one at all) stores it as a JSON string holding the object, and the
// Python SDK uses content_type: both are read.
type recordMetadata struct {
	Key         string `json:"key"`
	ContentType string `json:"contentType"`
	Extension   string `json:"extension,omitempty"`
	Size        *int64 `json:"size,omitempty"`
	// PyContentType is the Python SDK's spelling; read, never written.
	PyContentType string `json:"content_type,omitempty"`
}

// Record is a key-value store record.
type Record struct {
	Key         string
	Value       []byte
	ContentType string
}

// KeyValueStoreInfo describes a key-value store.
type KeyValueStoreInfo struct {
	ID         string
	Name       string
	CreatedAt  time.Time
	ModifiedAt time.Time
	AccessedAt time.Time
}

// KeyValueStore opens (creating when missing) the key-value store name; the
// empty name is the default store.
func (s *Storage) KeyValueStore(ctx context.Context, name string) (*KeyValueStore, error) {
	return open(ctx, s, s.kvs, keyValueStoresDir, name, func(dir, name string) (*KeyValueStore, *metadataWriter, error) {
		kv := &KeyValueStore{s: s, dir: dir, name: name}
		if err := kv.load(); err != nil {
			return nil, nil, err
		}
		kv.w = s.newMetadataWriter(dir, &kv.mu, func() any { return kv.meta })
		return kv, kv.w, nil
	})
}

// load reads the store directory as crawlee does: a file is a record whose
// key is its name without the extension and whose content type comes from
// the extension, unless a record metadata file says otherwise.
func (kv *KeyValueStore) load() error {
	now := jsTime(time.Now())
	kv.meta = kvMetadata{ID: newID(), Name: kv.name, AccessedAt: now, CreatedAt: now, ModifiedAt: now, UserID: "1"}
	if _, err := readMetadata(kv.dir, &kv.meta, kv.s.log); err != nil {
		return err
	}
	kv.meta.Name, kv.meta.AccessedAt = kv.name, now
	entries, err := os.ReadDir(kv.dir)
	if err != nil {
		return fmt.Errorf("localstorage: %w", err)
	}
	files := map[string]int64{}
	metas := map[string]recordMetadata{}
	metaFiles := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || name == metadataFile || isTemp(name) {
			continue
		}
		if strings.Contains(name, ".__metadata__.") {
			m, err := readRecordMetadata(filepath.Join(kv.dir, name))
			if err != nil || m.Key == "" {
				kv.s.log.Warn("localstorage: skipping unreadable record metadata", "file", filepath.Join(kv.dir, name), "err", err)
				continue
			}
			metas[m.Key], metaFiles[m.Key] = m, name
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		files[name] = fi.Size()
	}
	kv.records = make(map[string]kvEntry, len(files))
	for key, m := range metas {
		for _, f := range []string{key + "." + m.Extension, key} {
			if size, ok := files[f]; ok && (f == key || m.Extension != "") {
				kv.records[key] = kvEntry{file: f, metaFile: metaFiles[key], contentType: m.ContentType, size: size}
				delete(files, f)
				break
			}
		}
	}
	for f, size := range files {
		key, ext := f, ""
		if i := strings.LastIndexByte(f, '.'); i > 0 {
			key, ext = f[:i], f[i+1:]
		}
		if _, ok := kv.records[key]; ok {
			continue
		}
		kv.records[key] = kvEntry{file: f, metaFile: metaFiles[key], contentType: contentTypeFor(ext), size: size}
	}
	return nil
}

func readRecordMetadata(path string) (recordMetadata, error) {
	var m recordMetadata
	b, err := readFileLimit(path, "record metadata", 64<<10)
	if err != nil {
		return m, err
	}
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var inner string
		if err := json.Unmarshal(b, &inner); err != nil {
			return m, err
		}
		b = []byte(inner)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, err
	}
	if m.ContentType == "" {
		m.ContentType = m.PyContentType
	}
	if m.ContentType == "" {
		m.ContentType = contentTypeFor(m.Extension)
	}
	return m, nil
}

// ValidateKey checks a record key against the platform's rule: 1 to 256 of
// the characters a-z A-Z 0-9 ! - _ . ' ( ). Keys containing "__metadata__"
// are refused too, as they would be read back as metadata files.
func ValidateKey(key string) error {
	if key == "" {
		return invalid("key", "is empty")
	}
	if len(key) > MaxKeyLength {
		return invalid("key", "is %d characters, over the limit of %d", len(key), MaxKeyLength)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!-_.'()", c) >= 0) {
			return invalid("key", "%q may only contain a-z A-Z 0-9 ! - _ . ' ( ); %q is not allowed", key, c)
		}
	}
	if strings.Contains(key, "__metadata__") {
		return invalid("key", "%q contains __metadata__, which local storage reserves for metadata files", key)
	}
	return nil
}

// Name returns the store's name ("default" for the default store).
func (kv *KeyValueStore) Name() string { return kv.name }

// Info returns the store's id, name and timestamps.
func (kv *KeyValueStore) Info(ctx context.Context) (KeyValueStoreInfo, error) {
	if err := kv.check(ctx); err != nil {
		return KeyValueStoreInfo{}, err
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	m := kv.meta
	return KeyValueStoreInfo{ID: m.ID, Name: m.Name, CreatedAt: time.Time(m.CreatedAt), ModifiedAt: time.Time(m.ModifiedAt), AccessedAt: time.Time(m.AccessedAt)}, nil
}

func (kv *KeyValueStore) check(ctx context.Context) error {
	return kv.s.checkUsable(ctx, &kv.mu, kv.w, "key-value store", kv.name)
}

// Drop deletes the key-value store and everything in it. Later calls on it fail
// with ErrNotFound; opening the name again creates an empty one.
func (kv *KeyValueStore) Drop(ctx context.Context) error {
	return drop(ctx, kv.s, kv.s.kvs, keyValueStoresDir, kv.name, &kv.mu, kv.w)
}

// Get returns the record key, or an error matching ErrNotFound.
func (kv *KeyValueStore) Get(ctx context.Context, key string) (*Record, error) {
	rc, info, err := kv.GetReader(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if info.Size > int64(kv.s.opts.MaxValueBytes) {
		return nil, tooLarge("record "+key, int(min(info.Size, 1<<62)), kv.s.opts.MaxValueBytes)
	}
	b := make([]byte, 0, info.Size+1)
	for {
		n, err := rc.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if len(b) > kv.s.opts.MaxValueBytes {
			return nil, tooLarge("record "+key, len(b), kv.s.opts.MaxValueBytes)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("localstorage: %w", err)
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
	return &Record{Key: key, Value: b, ContentType: info.ContentType}, nil
}

// RecordInfo describes a record without its value.
type RecordInfo struct {
	Key         string
	ContentType string
	Size        int64
}

// GetReader returns the record key's value as a stream, which the caller
// closes, or an error matching ErrNotFound. Values of any size are served:
// the limit applies to Get, which holds the value in memory.
func (kv *KeyValueStore) GetReader(ctx context.Context, key string) (io.ReadCloser, RecordInfo, error) {
	if err := kv.check(ctx); err != nil {
		return nil, RecordInfo{}, err
	}
	if err := ValidateKey(key); err != nil {
		return nil, RecordInfo{}, err
	}
	// Files are replaced by rename, never rewritten in place, so an open
	// file reads a whole old or a whole new value. A Set that changes the
	// extension removes the old file; the second try opens the new one.
	for try := 0; ; try++ {
		kv.mu.Lock()
		e, ok := kv.records[key]
		kv.mu.Unlock()
		if !ok {
			return nil, RecordInfo{}, fmt.Errorf("record %q in key-value store %q: %w", key, kv.name, ErrNotFound)
		}
		f, err := os.Open(filepath.Join(kv.dir, e.file))
		if errors.Is(err, os.ErrNotExist) && try == 0 {
			continue
		}
		if errors.Is(err, os.ErrNotExist) {
			return nil, RecordInfo{}, fmt.Errorf("record %q in key-value store %q: %w", key, kv.name, ErrNotFound)
		}
		if err != nil {
			return nil, RecordInfo{}, fmt.Errorf("localstorage: %w", err)
		}
		info := RecordInfo{Key: key, ContentType: e.contentType, Size: e.size}
		if fi, err := f.Stat(); err == nil {
			info.Size = fi.Size()
		}
		return f, info, nil
	}
}

// Set writes the record key with the value and content type; an empty content
// type is application/octet-stream. The file is {key}.{ext} with the
// extension crawlee gives the content type; {key}.__metadata__.json is
// written next to it only when the extension does not give the content type
// back (crawlee writes none, and reads the type from the extension).
func (kv *KeyValueStore) Set(ctx context.Context, key string, value []byte, contentType string) error {
	if len(value) > kv.s.opts.MaxValueBytes {
		return tooLarge("value of record "+key, len(value), kv.s.opts.MaxValueBytes)
	}
	return kv.SetReader(ctx, key, bytes.NewReader(value), contentType)
}

// SetReader is Set with the value streamed from r, which is read to its end
// before the store is locked; more than the size limit fails with
// ErrTooLarge and stores nothing.
func (kv *KeyValueStore) SetReader(ctx context.Context, key string, r io.Reader, contentType string) error {
	if err := kv.check(ctx); err != nil {
		return err
	}
	if err := ValidateKey(key); err != nil {
		return err
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	if len(contentType) > 255 {
		return invalid("contentType", "is %d characters, over the limit of 255", len(contentType))
	}
	ext := extensionFor(contentType)
	file, metaFile := key+"."+ext, key+recordMetadataSuffix
	if len(metaFile) > maxFileName || len(file) > maxFileName {
		return invalid("key", "is %d characters; local files allow at most %d, as %q must fit a 255-byte file name", len(key), maxFileName-len(recordMetadataSuffix), metaFile)
	}
	tmp, size, err := writeTemp(kv.dir, r, int64(kv.s.opts.MaxValueBytes), "value of record "+key, kv.s.opts.Durable)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return err
		}
		return fmt.Errorf("localstorage: %w", err)
	}
	// Like crawlee, write no record metadata when the extension gives the
	// content type back; otherwise it keeps the exact type (a charset, an
	// unknown type stored as .bin).
	needMeta := contentTypeFor(ext) != contentType
	kv.mu.Lock()
	defer kv.mu.Unlock()
	old, hadOld := kv.records[key]
	// The metadata goes first: a kill between the two renames can leave the
	// old value described by the new metadata, which the next Set repairs;
	// it never leaves a value without its content type.
	if needMeta {
		meta, err := json.Marshal(recordMetadata{Key: key, ContentType: contentType, Extension: ext, Size: &size})
		if err == nil {
			err = writeFileAtomic(kv.dir, metaFile, meta, kv.s.opts.Durable)
		}
		if err != nil {
			os.Remove(tmp)
			return fmt.Errorf("localstorage: %w", err)
		}
	}
	if err := commitTemp(tmp, kv.dir, file, kv.s.opts.Durable); err != nil {
		return fmt.Errorf("localstorage: %w", err)
	}
	if hadOld && old.file != file {
		if err := os.Remove(filepath.Join(kv.dir, old.file)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("localstorage: %w", err)
		}
	}
	if !needMeta {
		if hadOld && old.metaFile != "" {
			if err := os.Remove(filepath.Join(kv.dir, old.metaFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("localstorage: %w", err)
			}
		}
		metaFile = ""
	}
	kv.records[key] = kvEntry{file: file, metaFile: metaFile, contentType: contentType, size: size}
	kv.meta.ModifiedAt = jsTime(time.Now())
	kv.meta.AccessedAt = kv.meta.ModifiedAt
	return kv.w.changed()
}

// Delete removes the record key; deleting a missing record is not an error.
func (kv *KeyValueStore) Delete(ctx context.Context, key string) error {
	if err := kv.check(ctx); err != nil {
		return err
	}
	if err := ValidateKey(key); err != nil {
		return err
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	e, ok := kv.records[key]
	if !ok {
		return nil
	}
	for _, f := range []string{e.file, e.metaFile} {
		if f == "" {
			continue
		}
		if err := os.Remove(filepath.Join(kv.dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("localstorage: %w", err)
		}
	}
	delete(kv.records, key)
	kv.meta.ModifiedAt = jsTime(time.Now())
	kv.meta.AccessedAt = kv.meta.ModifiedAt
	return kv.w.changed()
}

// ListKeysOptions select a page of keys. The zero value lists the first
// DefaultListKeysLimit keys.
type ListKeysOptions struct {
	// ExclusiveStartKey lists the keys after this one.
	ExclusiveStartKey string
	// Limit is the most keys returned: 0 means DefaultListKeysLimit; at most MaxListKeysLimit.
	Limit int
	// Prefix lists only keys starting with it.
	Prefix string
}

// KeyInfo is one key of a listing.
type KeyInfo struct {
	Key  string
	Size int64
}

// KeyList is a page of keys, in the platform's shape.
type KeyList struct {
	Items                 []KeyInfo
	Count                 int
	Limit                 int
	ExclusiveStartKey     string
	IsTruncated           bool
	NextExclusiveStartKey string
}

// ListKeys returns a page of keys in byte order (the platform's and the
// Python SDK's order; crawlee's JS sorts with localeCompare, which differs
// only in how letter case and punctuation interleave).
func (kv *KeyValueStore) ListKeys(ctx context.Context, opts ListKeysOptions) (KeyList, error) {
	if err := kv.check(ctx); err != nil {
		return KeyList{}, err
	}
	limit := opts.Limit
	switch {
	case limit < 0:
		return KeyList{}, invalid("limit", "is %d, must not be negative", limit)
	case limit == 0:
		limit = DefaultListKeysLimit
	case limit > MaxListKeysLimit:
		return KeyList{}, invalid("limit", "is %d, over the limit of %d", limit, MaxListKeysLimit)
	}
	if len(opts.ExclusiveStartKey) > MaxKeyLength {
		return KeyList{}, invalid("exclusiveStartKey", "is %d characters, over the limit of %d", len(opts.ExclusiveStartKey), MaxKeyLength)
	}
	if len(opts.Prefix) > MaxKeyLength {
		return KeyList{}, invalid("prefix", "is %d characters, over the limit of %d", len(opts.Prefix), MaxKeyLength)
	}
	kv.mu.Lock()
	keys := make([]KeyInfo, 0, len(kv.records))
	for k, e := range kv.records {
		if strings.HasPrefix(k, opts.Prefix) && (opts.ExclusiveStartKey == "" || k > opts.ExclusiveStartKey) {
			keys = append(keys, KeyInfo{Key: k, Size: e.size})
		}
	}
	kv.mu.Unlock()
	sort.Slice(keys, func(i, j int) bool { return keys[i].Key < keys[j].Key })
	l := KeyList{Limit: limit, ExclusiveStartKey: opts.ExclusiveStartKey}
	if len(keys) > limit {
		keys, l.IsTruncated = keys[:limit], true
		l.NextExclusiveStartKey = keys[limit-1].Key
	}
	l.Items, l.Count = keys, len(keys)
	return l, nil
}

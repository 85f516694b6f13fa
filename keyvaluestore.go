package actor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"time"

	"github.com/go-apify/actor/client"
)

// KeyValueStore is a key-value store: records of any content type under
// keys of 1 to 256 letters, digits and ! - _ . ' ( ). It lives on the
// platform or in local files, as the Actor's [StorageMode] says; its methods
// behave the same in both. Open one with [Actor.OpenKeyValueStore]. It is
// safe for concurrent use.
type KeyValueStore struct {
	name string // "" for the default store
	b    kvBackend
}

// Record is a record of a key-value store: its key, value and content type.
type Record = client.Record

// RecordReader is a record whose value is read as a stream; close it. Size
// is -1 when unknown.
type RecordReader = client.RecordReader

// KeyInfo describes one key of a key-value store: the key and the size of
// its value. RecordPublicURL is set only on the platform.
type KeyInfo = client.KeyInfo

// KeyValueStoreInfo describes a key-value store.
type KeyValueStoreInfo struct {
	ID         string
	Name       string // empty for an unnamed store on the platform; "default" locally
	CreatedAt  time.Time
	ModifiedAt time.Time
	AccessedAt time.Time
}

// KeysOptions select the keys [KeyValueStore.Keys] lists. The zero value
// lists every key.
type KeysOptions struct {
	// Prefix keeps only the keys that start with it.
	Prefix string
	// ExclusiveStartKey lists the keys after this one.
	ExclusiveStartKey string
}

// jsonContentType is the content type of the records SetValue writes.
const jsonContentType = "application/json; charset=utf-8"

// OpenKeyValueStore opens the key-value store called name, creating it when
// there is none; the empty name is the run's default store. Names follow
// the rule of [Actor.OpenDataset].
func (a *Actor) OpenKeyValueStore(ctx context.Context, name string) (*KeyValueStore, error) {
	b, err := a.storage(ctx)
	if err != nil {
		return nil, err
	}
	kv, err := b.keyValueStore(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("actor: open %s: %w", storageLabel("key-value store", name), err)
	}
	return &KeyValueStore{name: name, b: kv}, nil
}

// GetValue decodes the JSON record key of the run's default key-value store
// into v; see [KeyValueStore.GetValue].
func (a *Actor) GetValue(ctx context.Context, key string, v any) error {
	kv, err := a.OpenKeyValueStore(ctx, "")
	if err != nil {
		return err
	}
	return kv.GetValue(ctx, key, v)
}

// SetValue stores v as JSON under key in the run's default key-value store;
// see [KeyValueStore.SetValue].
func (a *Actor) SetValue(ctx context.Context, key string, v any) error {
	kv, err := a.OpenKeyValueStore(ctx, "")
	if err != nil {
		return err
	}
	return kv.SetValue(ctx, key, v)
}

func (kv *KeyValueStore) label() string { return storageLabel("key-value store", kv.name) }

// Name returns the name the store was opened with ("" for the default
// store).
func (kv *KeyValueStore) Name() string { return kv.name }

// Info returns the store's ID, name and timestamps.
func (kv *KeyValueStore) Info(ctx context.Context) (KeyValueStoreInfo, error) {
	info, err := kv.b.info(ctx)
	if err != nil {
		return KeyValueStoreInfo{}, fmt.Errorf("actor: %s: %w", kv.label(), err)
	}
	return info, nil
}

// Drop deletes the store and its records.
func (kv *KeyValueStore) Drop(ctx context.Context) error {
	if err := kv.b.drop(ctx); err != nil {
		return fmt.Errorf("actor: drop %s: %w", kv.label(), err)
	}
	return nil
}

func (kv *KeyValueStore) checkKey(key string) error {
	if err := client.ValidateRecordKey(key); err != nil {
		return fmt.Errorf("actor: %s: %w", kv.label(), err)
	}
	return nil
}

// GetValue decodes the record key, which must hold JSON, into v. A missing
// record is an error matching [ErrNotFound], and v is left alone; a value
// that does not decode into v is an error naming the field.
func (kv *KeyValueStore) GetValue(ctx context.Context, key string, v any) error {
	rec, err := kv.GetRecord(ctx, key)
	if err != nil {
		return err
	}
	return decodeJSON(fmt.Sprintf("record %q", key), rec.Value, v)
}

// GetRecord returns the record key as stored: its value, whole in memory,
// and its content type. A missing record is an error matching
// [ErrNotFound]. Use OpenRecord for large values.
func (kv *KeyValueStore) GetRecord(ctx context.Context, key string) (*Record, error) {
	if err := kv.checkKey(key); err != nil {
		return nil, err
	}
	rec, err := kv.b.get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("actor: %s: get record %q: %w", kv.label(), key, err)
	}
	return rec, nil
}

// OpenRecord returns the record key with its value as a stream, for values
// of any size; the caller closes it. A missing record is an error matching
// [ErrNotFound].
func (kv *KeyValueStore) OpenRecord(ctx context.Context, key string) (*RecordReader, error) {
	if err := kv.checkKey(key); err != nil {
		return nil, err
	}
	rr, err := kv.b.open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("actor: %s: open record %q: %w", kv.label(), key, err)
	}
	return rr, nil
}

// SetValue stores v encoded as JSON under key, with the content type
// application/json; charset=utf-8, replacing any record of that key. A
// json.RawMessage is stored as it is, once checked.
func (kv *KeyValueStore) SetValue(ctx context.Context, key string, v any) error {
	var b []byte
	var err error
	if raw, ok := v.(json.RawMessage); ok {
		if !json.Valid(raw) {
			return fmt.Errorf("actor: %s: record %q: the json.RawMessage is not valid JSON", kv.label(), key)
		}
		b = raw
	} else if b, err = json.Marshal(v); err != nil {
		return fmt.Errorf("actor: %s: record %q: encoding as JSON: %w", kv.label(), key, err)
	}
	return kv.SetRecord(ctx, key, b, jsonContentType)
}

// SetRecord stores value under key with the given content type (any:
// text/html, image/png...), replacing any record of that key; an empty
// content type is application/octet-stream. A value over the platform's
// request limit (9 MiB) is refused in both modes.
func (kv *KeyValueStore) SetRecord(ctx context.Context, key string, value []byte, contentType string) error {
	if err := kv.checkSet(key, contentType); err != nil {
		return err
	}
	if len(value) > client.MaxPayloadBytes {
		return fmt.Errorf("actor: %s: record %q: the value's %d bytes exceed the platform's limit of %d", kv.label(), key, len(value), client.MaxPayloadBytes)
	}
	if err := kv.b.set(ctx, key, value, orOctetStream(contentType)); err != nil {
		return fmt.Errorf("actor: %s: set record %q: %w", kv.label(), key, err)
	}
	return nil
}

// SetRecordFrom is SetRecord with the value read from r, to its end. More
// than the platform's request limit (9 MiB) fails and stores nothing.
func (kv *KeyValueStore) SetRecordFrom(ctx context.Context, key string, r io.Reader, contentType string) error {
	if err := kv.checkSet(key, contentType); err != nil {
		return err
	}
	if r == nil {
		return fmt.Errorf("actor: %s: record %q: the reader is nil", kv.label(), key)
	}
	if err := kv.b.setFrom(ctx, key, r, orOctetStream(contentType)); err != nil {
		return fmt.Errorf("actor: %s: set record %q: %w", kv.label(), key, err)
	}
	return nil
}

func (kv *KeyValueStore) checkSet(key, contentType string) error {
	if err := kv.checkKey(key); err != nil {
		return err
	}
	if len(contentType) > 255 {
		return fmt.Errorf("actor: %s: record %q: the content type has %d characters, more than 255", kv.label(), key, len(contentType))
	}
	for _, c := range contentType {
		if c < ' ' || c == 0x7f {
			return fmt.Errorf("actor: %s: record %q: the content type %q contains control characters", kv.label(), key, contentType)
		}
	}
	return nil
}

func orOctetStream(contentType string) string {
	if contentType == "" {
		return "application/octet-stream"
	}
	return contentType
}

// Delete deletes the record key; deleting a missing record is not an error.
func (kv *KeyValueStore) Delete(ctx context.Context, key string) error {
	if err := kv.checkKey(key); err != nil {
		return err
	}
	if err := kv.b.delete(ctx, key); err != nil {
		return fmt.Errorf("actor: %s: delete record %q: %w", kv.label(), key, err)
	}
	return nil
}

// Keys lists the store's keys in byte order, page by page as it goes. An
// error ends the sequence after being yielded.
func (kv *KeyValueStore) Keys(ctx context.Context, o KeysOptions) iter.Seq2[KeyInfo, error] {
	return func(yield func(KeyInfo, error) bool) {
		for k, err := range kv.b.keys(ctx, o) {
			if err != nil {
				yield(KeyInfo{}, fmt.Errorf("actor: %s: listing keys: %w", kv.label(), err))
				return
			}
			if !yield(k, nil) {
				return
			}
		}
	}
}

// PublicURL returns a URL at which the record key can be read. On the
// platform it is the API's record URL, without a token and signed when the
// store requires it (see [client.Client.RecordPublicURL]); locally it is the
// file:// URL of the record's file. A missing record is an error matching
// [ErrNotFound] locally; on the platform the URL of a record not yet written
// is returned.
func (kv *KeyValueStore) PublicURL(ctx context.Context, key string) (string, error) {
	if err := kv.checkKey(key); err != nil {
		return "", err
	}
	u, err := kv.b.publicURL(ctx, key)
	if err != nil {
		return "", fmt.Errorf("actor: %s: public URL of %q: %w", kv.label(), key, err)
	}
	return u, nil
}

package client

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"math/big"
	"net/url"
	"strconv"
	"time"
)

// MaxRecordKeyLen is the longest record key the platform accepts.
const MaxRecordKeyLen = 256

// KeyValueStore is a key-value store as the platform returns it, alone or in
// a list.
type KeyValueStore struct {
	ID                  string              `json:"id"`
	Name                string              `json:"name,omitempty"`
	Title               string              `json:"title,omitempty"`
	UserID              string              `json:"userId,omitempty"`
	Username            string              `json:"username,omitempty"`
	CreatedAt           time.Time           `json:"createdAt"`
	ModifiedAt          time.Time           `json:"modifiedAt"`
	AccessedAt          time.Time           `json:"accessedAt"`
	ActID               string              `json:"actId,omitempty"`
	ActRunID            string              `json:"actRunId,omitempty"`
	ConsoleURL          string              `json:"consoleUrl,omitempty"`
	KeysPublicURL       string              `json:"keysPublicUrl,omitempty"`
	RecordsPublicURL    string              `json:"recordsPublicUrl,omitempty"`
	Schema              json.RawMessage     `json:"schema,omitempty"`
	URLSigningSecretKey string              `json:"urlSigningSecretKey,omitempty"`
	GeneralAccess       GeneralAccess       `json:"generalAccess,omitempty"`
	Stats               *KeyValueStoreStats `json:"stats,omitempty"`
}

// KeyValueStoreStats are a key-value store's usage counters.
type KeyValueStoreStats struct {
	ReadCount      int64 `json:"readCount"`
	WriteCount     int64 `json:"writeCount"`
	DeleteCount    int64 `json:"deleteCount"`
	ListCount      int64 `json:"listCount"`
	S3StorageBytes int64 `json:"s3StorageBytes,omitempty"`
	StorageBytes   int64 `json:"storageBytes,omitempty"`
}

// Record is a record of a key-value store: its value and its media type.
type Record struct {
	Key         string
	Value       []byte
	ContentType string
}

// RecordReader is a record whose value is read as a stream. Close it.
type RecordReader struct {
	Key         string
	ContentType string
	// Size is the length of the value in bytes, or -1 when unknown.
	Size int64
	io.ReadCloser
}

// KeyInfo describes one key of a key-value store.
type KeyInfo struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
	// RecordPublicURL is the record's URL, signed when the store requires
	// it.
	RecordPublicURL string `json:"recordPublicUrl,omitempty"`
}

// KeysPage is one page of a key-value store's keys.
type KeysPage struct {
	Items                 []KeyInfo `json:"items"`
	Count                 int       `json:"count"`
	Limit                 int       `json:"limit"`
	ExclusiveStartKey     string    `json:"exclusiveStartKey,omitempty"`
	IsTruncated           bool      `json:"isTruncated"`
	NextExclusiveStartKey string    `json:"nextExclusiveStartKey,omitempty"`
}

// KeysOptions select a page of keys. The zero value lists from the first key
// in pages of up to 1000, the platform's maximum.
type KeysOptions struct {
	// ExclusiveStartKey lists the keys after this one.
	ExclusiveStartKey string
	// Limit is the number of keys per page, at most 1000.
	Limit int
	// Prefix keeps only the keys that start with it.
	Prefix string
	// Collection keeps only the keys of this collection of the store's
	// schema.
	Collection string
}

// maxKeysLimit is the largest page of keys the platform returns.
const maxKeysLimit = 1000

func (o KeysOptions) query() (url.Values, error) {
	q := url.Values{}
	if o.Limit < 0 || o.Limit > maxKeysLimit {
		return nil, fmt.Errorf("client: KeysOptions.Limit: %d is not between 0 and %d", o.Limit, maxKeysLimit)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.ExclusiveStartKey != "" {
		if err := ValidateRecordKey(o.ExclusiveStartKey); err != nil {
			return nil, fmt.Errorf("client: KeysOptions.ExclusiveStartKey: %w", err)
		}
		q.Set("exclusiveStartKey", o.ExclusiveStartKey)
	}
	if o.Prefix != "" {
		if len(o.Prefix) > MaxRecordKeyLen || !validKeyChars(o.Prefix) {
			return nil, fmt.Errorf("client: KeysOptions.Prefix: %q cannot start a valid key", o.Prefix)
		}
		q.Set("prefix", o.Prefix)
	}
	if o.Collection != "" {
		if hasCTL(o.Collection) {
			return nil, fmt.Errorf("client: KeysOptions.Collection: %q contains control characters", o.Collection)
		}
		q.Set("collection", o.Collection)
	}
	return q, nil
}

// ValidateRecordKey checks a record key as the platform does: 1 to 256
// characters, each a letter, a digit or one of ! - _ . ' ( ).
func ValidateRecordKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("the record key is empty")
	case len(key) > MaxRecordKeyLen:
		return fmt.Errorf("the record key has %d characters, more than the platform's maximum of %d", len(key), MaxRecordKeyLen)
	case !validKeyChars(key):
		return fmt.Errorf("the record key %q may contain only letters, digits and ! - _ . ' ( )", key)
	}
	return nil
}

func validKeyChars(s string) bool {
	for i := range len(s) {
		switch b := s[i]; {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		case b == '!', b == '-', b == '_', b == '.', b == '\'', b == '(', b == ')':
		default:
			return false
		}
	}
	return true
}

// recordPath checks a store ID and a record key and returns the record's
// path.
func recordPath(storeID, key string) (string, error) {
	p, err := keyValueStoreKind.storagePath(storeID)
	if err != nil {
		return "", err
	}
	if err := ValidateRecordKey(key); err != nil {
		return "", fmt.Errorf("client: record key: %w", err)
	}
	return p + "/records/" + url.PathEscape(key), nil
}

// GetOrCreateKeyValueStore returns the caller's key-value store called name,
// creating it if there is none (POST /v2/key-value-stores?name=). An empty
// name creates a new unnamed store on every call; such a creation is
// retried only when the platform cannot have received it.
func (c *Client) GetOrCreateKeyValueStore(ctx context.Context, name string) (*KeyValueStore, error) {
	return getOrCreate[KeyValueStore](ctx, c, keyValueStoreKind, name)
}

// GetKeyValueStore returns a key-value store (GET /v2/key-value-stores/{id}).
// id is a store ID or "username~name". A store that does not exist is an
// *APIError for which IsNotFound is true.
func (c *Client) GetKeyValueStore(ctx context.Context, id string) (*KeyValueStore, error) {
	return getStorage[KeyValueStore](ctx, c, keyValueStoreKind, id)
}

// UpdateKeyValueStore renames a key-value store or changes its general
// access (PUT /v2/key-value-stores/{id}) and returns it as stored.
func (c *Client) UpdateKeyValueStore(ctx context.Context, id string, u StorageUpdate) (*KeyValueStore, error) {
	return updateStorage[KeyValueStore](ctx, c, keyValueStoreKind, id, u)
}

// DeleteKeyValueStore deletes a key-value store and its records (DELETE
// /v2/key-value-stores/{id}). A 404 after a retry counts as success.
func (c *Client) DeleteKeyValueStore(ctx context.Context, id string) error {
	return deleteStorage(ctx, c, keyValueStoreKind, id)
}

// ListKeyValueStores returns one page of the caller's key-value stores (GET
// /v2/key-value-stores).
func (c *Client) ListKeyValueStores(ctx context.Context, o StorageListOptions) (*Page[KeyValueStore], error) {
	return list[KeyValueStore](ctx, c, keyValueStoreKind.path, o)
}

// AllKeyValueStores iterates over the caller's key-value stores from
// o.Offset on, page by page. An error ends the iteration after being yielded.
func (c *Client) AllKeyValueStores(ctx context.Context, o StorageListOptions) iter.Seq2[KeyValueStore, error] {
	return allStorages[KeyValueStore](ctx, c, keyValueStoreKind, o)
}

// recordQuery asks for the record as stored: attachment=1 keeps the platform
// from rewriting HTML records.
var recordQuery = url.Values{"attachment": {"1"}}

// GetRecord returns a record (GET /v2/key-value-stores/{id}/records/{key})
// with its value as stored and its content type. A record that does not
// exist is an *APIError for which IsNotFound is true. The value is read
// whole, up to 64 MiB; use OpenRecord for larger values.
func (c *Client) GetRecord(ctx context.Context, storeID, key string) (*Record, error) {
	path, err := recordPath(storeID, key)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, &request{method: "GET", path: path, query: recordQuery, policy: retryIdempotent, anyType: true})
	if err != nil {
		return nil, err
	}
	return &Record{Key: key, Value: resp.body, ContentType: resp.header.Get("Content-Type")}, nil
}

// GetRecordJSON decodes the JSON value of a record into v. A record that
// does not exist is an *APIError for which IsNotFound is true; a value that
// is not JSON of v's shape is an error that says where it differs.
func (c *Client) GetRecordJSON(ctx context.Context, storeID, key string, v any) error {
	rec, err := c.GetRecord(ctx, storeID, key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(rec.Value, v); err != nil {
		return fmt.Errorf("client: record %s: decoding JSON: %w", key, err)
	}
	return nil
}

// OpenRecord returns a record whose value is read as it arrives, for
// values of any size; the caller must close it. Failed attempts are retried
// before the value starts; an error while reading it is returned by Read.
// The client's attempt timeout, if any, bounds the whole read.
func (c *Client) OpenRecord(ctx context.Context, storeID, key string) (*RecordReader, error) {
	path, err := recordPath(storeID, key)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, &request{method: "GET", path: path, query: recordQuery, policy: retryIdempotent, anyType: true, stream: true})
	if err != nil {
		return nil, err
	}
	size := int64(-1)
	if n, err := strconv.ParseInt(resp.header.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		size = n
	}
	return &RecordReader{Key: key, ContentType: resp.header.Get("Content-Type"), Size: size, ReadCloser: resp.stream}, nil
}

// RecordExists reports whether a record exists (HEAD
// /v2/key-value-stores/{id}/records/{key}), without reading its value.
func (c *Client) RecordExists(ctx context.Context, storeID, key string) (bool, error) {
	path, err := recordPath(storeID, key)
	if err != nil {
		return false, err
	}
	_, err = c.do(ctx, &request{method: "HEAD", path: path, policy: retryIdempotent, anyType: true})
	switch {
	case err == nil:
		return true, nil
	case IsNotFound(err):
		return false, nil
	}
	return false, err
}

// SetRecord stores value under key with the given content type (PUT
// /v2/key-value-stores/{id}/records/{key}), replacing any record of that
// key. An empty contentType is application/octet-stream. Storing the same
// value again is harmless, so the request is retried like a GET. The
// platform refuses a value over its request limit (MaxPayloadBytes) with
// 413.
func (c *Client) SetRecord(ctx context.Context, storeID, key string, value []byte, contentType string) error {
	path, err := recordPath(storeID, key)
	if err != nil {
		return err
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	if hasCTL(contentType) {
		return fmt.Errorf("client: SetRecord: the content type %q contains control characters", contentType)
	}
	if value == nil {
		value = []byte{}
	}
	_, err = c.do(ctx, &request{method: "PUT", path: path, body: value, contentType: contentType, policy: retryIdempotent})
	return err
}

// SetRecordJSON stores v encoded as JSON under key, with the content type
// application/json; charset=utf-8.
func (c *Client) SetRecordJSON(ctx context.Context, storeID, key string, v any) error {
	b, err := jsonBody("record "+key, v)
	if err != nil {
		return err
	}
	return c.SetRecord(ctx, storeID, key, b, "application/json; charset=utf-8")
}

// DeleteRecord deletes a record (DELETE
// /v2/key-value-stores/{id}/records/{key}). A 404 after a retry counts as
// success.
func (c *Client) DeleteRecord(ctx context.Context, storeID, key string) error {
	path, err := recordPath(storeID, key)
	if err != nil {
		return err
	}
	return deleteResource(ctx, c, path, nil)
}

// ListKeys returns one page of a key-value store's keys, in key order (GET
// /v2/key-value-stores/{id}/keys).
func (c *Client) ListKeys(ctx context.Context, storeID string, o KeysOptions) (*KeysPage, error) {
	p, err := keyValueStoreKind.storagePath(storeID)
	if err != nil {
		return nil, err
	}
	q, err := o.query()
	if err != nil {
		return nil, err
	}
	return doData[KeysPage](ctx, c, &request{method: "GET", path: p + "/keys", query: q, policy: retryIdempotent})
}

// AllKeys iterates over a key-value store's keys after o.ExclusiveStartKey,
// fetching pages of o.Limit keys (1000 when 0) as it goes. An error ends the
// iteration after being yielded.
func (c *Client) AllKeys(ctx context.Context, storeID string, o KeysOptions) iter.Seq2[KeyInfo, error] {
	return pages("keys of "+storeID, o.ExclusiveStartKey, func(start string) ([]KeyInfo, string, bool, error) {
		o.ExclusiveStartKey = start
		p, err := c.ListKeys(ctx, storeID, o)
		if err != nil {
			return nil, "", false, err
		}
		next := p.NextExclusiveStartKey
		return p.Items, next, !p.IsTruncated || len(p.Items) == 0 || next == "", nil
	})
}

// RecordPublicURL returns the URL at which a record can be read without a
// token: the API's record URL with no token in it. When the store has a URL
// signing key (the platform gives it to callers who may write to the
// store), the URL carries the signature the platform requires to read a
// record of a store that is not public; without it, the URL works only for
// stores whose general access lets anyone with the ID read. It reads the
// store's details (GET /v2/key-value-stores/{id}) to know.
func (c *Client) RecordPublicURL(ctx context.Context, storeID, key string) (string, error) {
	if _, err := recordPath(storeID, key); err != nil {
		return "", err
	}
	store, err := c.GetKeyValueStore(ctx, storeID)
	if err != nil {
		return "", err
	}
	u := c.baseURL + keyValueStoreKind.path + "/" + url.PathEscape(store.ID) + "/records/" + url.PathEscape(key)
	if store.URLSigningSecretKey != "" {
		u += "?signature=" + url.QueryEscape(recordSignature(store.URLSigningSecretKey, key))
	}
	return u, nil
}

// recordSignature is the platform's signature of a record key: the first
// 30 hex digits of HMAC-SHA256(secret, key) as a number in base 62
// (createHmacSignature of @apify/utilities).
func recordSignature(secret, key string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(key))
	hexSum := hex.EncodeToString(m.Sum(nil))[:30]
	n, _ := new(big.Int).SetString(hexSum, 16)
	const digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	if n.Sign() == 0 {
		return "0"
	}
	var out []byte
	base, mod := big.NewInt(62), new(big.Int)
	for n.Sign() > 0 {
		n.DivMod(n, base, mod)
		out = append(out, digits[mod.Int64()])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Dataset is a dataset as the platform returns it, alone or in a list.
type Dataset struct {
	ID                  string          `json:"id"`
	Name                string          `json:"name,omitempty"`
	Title               string          `json:"title,omitempty"`
	UserID              string          `json:"userId"`
	Username            string          `json:"username,omitempty"`
	CreatedAt           time.Time       `json:"createdAt"`
	ModifiedAt          time.Time       `json:"modifiedAt"`
	AccessedAt          time.Time       `json:"accessedAt"`
	ItemCount           int             `json:"itemCount"`
	CleanItemCount      int             `json:"cleanItemCount"`
	ActID               string          `json:"actId,omitempty"`
	ActRunID            string          `json:"actRunId,omitempty"`
	Fields              []string        `json:"fields,omitempty"`
	Schema              json.RawMessage `json:"schema,omitempty"`
	ConsoleURL          string          `json:"consoleUrl,omitempty"`
	ItemsPublicURL      string          `json:"itemsPublicUrl,omitempty"`
	URLSigningSecretKey string          `json:"urlSigningSecretKey,omitempty"`
	GeneralAccess       GeneralAccess   `json:"generalAccess,omitempty"`
	Stats               *DatasetStats   `json:"stats,omitempty"`
}

// DatasetStats are a dataset's usage counters.
type DatasetStats struct {
	ReadCount     int64 `json:"readCount"`
	WriteCount    int64 `json:"writeCount"`
	StorageBytes  int64 `json:"storageBytes,omitempty"`
	InflatedBytes int64 `json:"inflatedBytes,omitempty"`
}

// GetOrCreateDataset returns the caller's dataset called name, creating it
// if there is none (POST /v2/datasets?name=). An empty name creates a new
// unnamed dataset on every call; such a creation is retried only when the
// platform cannot have received it.
func (c *Client) GetOrCreateDataset(ctx context.Context, name string) (*Dataset, error) {
	return getOrCreate[Dataset](ctx, c, datasetKind, name)
}

// GetDataset returns a dataset (GET /v2/datasets/{id}). id is a dataset ID or
// "username~name". A dataset that does not exist is an *APIError for which
// IsNotFound is true. The item counts lag a few seconds behind pushes.
func (c *Client) GetDataset(ctx context.Context, id string) (*Dataset, error) {
	return getStorage[Dataset](ctx, c, datasetKind, id)
}

// UpdateDataset renames a dataset or changes its general access (PUT
// /v2/datasets/{id}) and returns it as stored.
func (c *Client) UpdateDataset(ctx context.Context, id string, u StorageUpdate) (*Dataset, error) {
	return updateStorage[Dataset](ctx, c, datasetKind, id, u)
}

// DeleteDataset deletes a dataset and its items (DELETE /v2/datasets/{id}).
// A 404 after a retry counts as success, as in DeleteWebhook.
func (c *Client) DeleteDataset(ctx context.Context, id string) error {
	return deleteStorage(ctx, c, datasetKind, id)
}

// ListDatasets returns one page of the caller's datasets (GET /v2/datasets).
func (c *Client) ListDatasets(ctx context.Context, o StorageListOptions) (*Page[Dataset], error) {
	return list[Dataset](ctx, c, datasetKind.path, o)
}

// AllDatasets iterates over the caller's datasets from o.Offset on, page by
// page. An error ends the iteration after being yielded.
func (c *Client) AllDatasets(ctx context.Context, o StorageListOptions) iter.Seq2[Dataset, error] {
	return allStorages[Dataset](ctx, c, datasetKind, o)
}

// PushError is the error of a PushItems call that failed after sending part
// of the items. The items were sent in order, in batches:
//
//   - items[:Stored] were stored by the platform;
//   - items[Stored:Stored+Failed] were in the batch that failed: when
//     MayHaveStored is true the platform may have stored them all (a batch is
//     stored whole or not at all), otherwise it certainly did not;
//   - the items after them were not sent.
//
// Pushing the items from Stored on again is safe when MayHaveStored is false;
// when it is true it may store the failed batch twice.
type PushError struct {
	Stored        int
	Failed        int
	MayHaveStored bool
	Err           error
}

// Error describes what was stored and why the push stopped.
func (e *PushError) Error() string {
	maybe := "were not stored"
	if e.MayHaveStored {
		maybe = "may have been stored"
	}
	return fmt.Sprintf("%v (items before %d were stored; the %d items from %d on %s; later items were not sent)",
		e.Err, e.Stored, e.Failed, e.Stored, maybe)
}

// Unwrap returns the cause, such as an *APIError.
func (e *PushError) Unwrap() error { return e.Err }

// PushItems appends items to a dataset (POST /v2/datasets/{id}/items).
//
// items is one item or a slice or array of items. Each item must encode as
// a JSON object; a json.RawMessage or []byte is taken as one item already
// encoded (compacted, and so checked). Every item is encoded and checked
// before anything is sent: an item that cannot be encoded, is not an
// object, or is alone larger than the request limit (MaxPayloadBytes, with
// the brackets of the array) is an *ItemError naming its index, and nothing
// is sent. The items then go in order, in requests of up to
// PushBatchBytes (an item larger than that alone in its request).
//
// The items are never all held encoded: the check keeps the first
// request's body only, and each later request's body is encoded when the
// one before it is stored, in the same buffer. Items after the first
// request's are thus encoded twice; should a later encoding fail (an item
// changed meanwhile, or a MarshalJSON that fails at random), the
// *PushError says what was stored.
//
// An empty slice sends nothing. Storing items is not idempotent, so a batch
// is retried only when the platform cannot have received it. A failed
// request is a *PushError saying which items were stored.
func (c *Client) PushItems(ctx context.Context, datasetID string, items any) error {
	path, err := datasetKind.storagePath(datasetID)
	if err != nil {
		return err
	}
	list, err := newItemList(items)
	if err != nil {
		return err
	}
	path += "/items"
	b := &itemBatcher{items: list, limit: PushBatchBytes}
	n, err := b.fill(true)
	if err != nil {
		return err
	}
	for n > 0 {
		_, err := c.do(ctx, &request{
			method: "POST", path: path, readBody: b.body.reader, contentType: "application/json",
			policy: retryUnlessReceived,
		})
		if err != nil {
			return &PushError{Stored: b.next, Failed: n, MayHaveStored: mayHaveReached(err), Err: err}
		}
		b.next += n
		if n, err = b.fill(false); err != nil {
			return &PushError{Stored: b.next, Err: err}
		}
	}
	return nil
}

// PushBatchBytes is the most bytes of items PushItems sends in one request,
// unless one item alone is larger (up to MaxPayloadBytes). A push raises the
// process's peak memory by about twice its body (the garbage collector's
// headroom included): bodies of the full MaxPayloadBytes cost some 20 MB
// for no measurable gain in speed.
const PushBatchBytes = 2 << 20

// ItemError is the error of PushItems for an item it cannot push: one that
// cannot be encoded, is not a JSON object or is alone over the request
// limit. Index is its index in the items (0 for a single item).
type ItemError struct {
	Index int
	Err   error
}

// Error names the item and says what is wrong with it.
func (e *ItemError) Error() string { return fmt.Sprintf("client: items[%d]: %v", e.Index, e.Err) }

// Unwrap returns the cause, such as the error of encoding/json.
func (e *ItemError) Unwrap() error { return e.Err }

// maxItemBytes is the largest item PushItems takes: alone in a request,
// within the brackets of its array.
const maxItemBytes = MaxPayloadBytes - 2

// itemList is the items of a push: one item, or the elements of a slice or
// array.
type itemList struct {
	one  any           // the single item, when list is not valid
	list reflect.Value // the slice or array
	n    int
	// byAddr hands over the elements by address, which puts no copy of
	// each on the heap; json encodes them as within the slice (with the
	// methods of *T). Not for interfaces, nor for the raw JSON of
	// json.RawMessage and []byte elements.
	byAddr bool
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	bytesType      = reflect.TypeFor[[]byte]()
)

func newItemList(items any) (itemList, error) {
	switch items.(type) {
	case nil:
		return itemList{}, errors.New("client: items is nil")
	case json.RawMessage, []byte:
		return itemList{one: items, n: 1}, nil
	}
	v := reflect.ValueOf(items)
	if k := v.Kind(); k != reflect.Slice && k != reflect.Array {
		return itemList{one: items, n: 1}, nil
	}
	elem := v.Type().Elem()
	return itemList{list: v, n: v.Len(),
		byAddr: v.Kind() == reflect.Slice && elem.Kind() != reflect.Interface && elem != rawMessageType && elem != bytesType}, nil
}

func (l itemList) at(i int) any {
	switch {
	case !l.list.IsValid():
		return l.one
	case l.byAddr:
		return l.list.Index(i).Addr().Interface()
	}
	return l.list.Index(i).Interface()
}

// itemEncoder encodes items one at a time into a buffer it reuses.
type itemEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder // writes to buf
}

// encode returns the JSON of v, item i of a push, checked to be an object
// of at most maxItemBytes; it is valid until the next call.
func (e *itemEncoder) encode(i int, v any) ([]byte, error) {
	e.buf.Reset()
	var err error
	switch raw := v.(type) {
	case json.RawMessage:
		err = json.Compact(&e.buf, raw)
	case []byte:
		err = json.Compact(&e.buf, raw)
	default:
		if e.enc == nil {
			e.enc = json.NewEncoder(&e.buf)
			e.enc.SetEscapeHTML(false)
		}
		if err = e.enc.Encode(v); err == nil {
			e.buf.Truncate(e.buf.Len() - 1) // the newline Encode adds
		}
	}
	if err != nil {
		return nil, &ItemError{Index: i, Err: fmt.Errorf("encoding as JSON: %w", err)}
	}
	item := e.buf.Bytes()
	if len(item) == 0 || item[0] != '{' {
		return nil, &ItemError{Index: i, Err: fmt.Errorf("a dataset item must be a JSON object, not %s", jsonKind(item))}
	}
	if len(item) > maxItemBytes {
		return nil, &ItemError{Index: i, Err: fmt.Errorf("%d bytes of JSON exceed the platform's limit of %d bytes per item", len(item), maxItemBytes)}
	}
	return item, nil
}

// itemBatcher builds the request bodies of a push one at a time, in the
// same chunks.
type itemBatcher struct {
	items itemList
	limit int // of a body's bytes; an item alone may exceed it
	next  int // the first item not yet stored
	enc   itemEncoder
	body  chunkedBody
}

// fill makes body the JSON array of the items from next on that fit in
// limit bytes ("[" + items joined by "," + "]"), and returns how many it
// holds: 0 when none is left. With checkAll it then encodes and checks the
// items after those, keeping nothing of them.
func (b *itemBatcher) fill(checkAll bool) (int, error) {
	b.body.reset()
	b.body.write([]byte{'['})
	n := 0
	i := b.next
	for ; i < b.items.n; i++ {
		item, err := b.enc.encode(i, b.items.at(i))
		if err != nil {
			return 0, err
		}
		if n > 0 {
			if b.body.size+1+len(item)+1 > b.limit {
				i++ // checked, and first in the next body
				break
			}
			b.body.write([]byte{','})
		}
		b.body.write(item)
		n++
	}
	b.body.write([]byte{']'})
	for ; checkAll && i < b.items.n; i++ {
		if _, err := b.enc.encode(i, b.items.at(i)); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// chunkBytes is the size of the chunks of a chunkedBody.
const chunkBytes = 64 << 10

// chunkedBody is a request body written in chunks, so that it grows without
// copying what it holds (a push's body is up to MaxPayloadBytes), and is
// reset to build the next body in the same chunks.
type chunkedBody struct {
	chunks [][]byte // of capacity chunkBytes; chunks[cur+1:] are empty
	cur    int      // the chunk being written
	size   int
	open   atomic.Int32 // readers not closed yet
}

// reset empties the body. Its chunks are reused only when no reader is
// open: a RoundTripper may read a body after it returns the response.
func (c *chunkedBody) reset() {
	if c.open.Load() != 0 {
		c.chunks = nil
	}
	for i := range c.chunks[:min(c.cur+1, len(c.chunks))] {
		c.chunks[i] = c.chunks[i][:0]
	}
	c.cur, c.size = 0, 0
}

func (c *chunkedBody) write(p []byte) {
	c.size += len(p)
	for len(p) > 0 {
		if c.cur == len(c.chunks) {
			c.chunks = append(c.chunks, make([]byte, 0, chunkBytes))
		}
		ch := c.chunks[c.cur]
		n := min(len(p), cap(ch)-len(ch))
		c.chunks[c.cur] = append(ch, p[:n]...)
		if p = p[n:]; len(p) > 0 {
			c.cur++
		}
	}
}

// reader returns a new reader of the body, for one attempt of its request.
func (c *chunkedBody) reader() (io.Reader, error) {
	c.open.Add(1)
	return &chunkReader{chunks: c.chunks[:min(c.cur+1, len(c.chunks))], left: c.size, open: &c.open}, nil
}

// chunkReader reads a chunkedBody, counted in open until closed.
type chunkReader struct {
	chunks [][]byte // shared with the body: read only
	i, off int      // the next byte is chunks[i][off]
	left   int
	open   *atomic.Int32
	closed atomic.Bool
}

// Len is the number of bytes left, which gives the request its
// Content-Length.
func (r *chunkReader) Len() int { return r.left }

// next returns the unread part of the current chunk.
func (r *chunkReader) next() []byte {
	for r.off == len(r.chunks[r.i]) {
		r.i, r.off = r.i+1, 0
	}
	return r.chunks[r.i][r.off:]
}

// Read reads the next bytes of the body.
func (r *chunkReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.next())
	r.off += n
	r.left -= n
	return n, nil
}

// WriteTo writes the chunks as they are, without a copy.
func (r *chunkReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.left > 0 {
		n, err := w.Write(r.next())
		total += int64(n)
		r.off += n
		r.left -= n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Close counts the reader out of its body's open readers, once.
func (r *chunkReader) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.open.Add(-1)
	}
	return nil
}

// encodedItems are items encoded as JSON, back to back and separated by
// commas: buf[ends[i-1]+1 : ends[i]] is item i (with ends[-1] = -1).
// AddRequests sends them in batches.
type encodedItems struct {
	buf  []byte
	ends []int
}

// batch is a run of items, [from, from+n), sent in one request.
type batch struct{ from, n int }

// jsonKind names the kind of JSON value that starts b, for errors.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// start returns where item i begins in buf.
func (e *encodedItems) start(i int) int {
	if i == 0 {
		return 0
	}
	return e.ends[i-1] + 1
}

// batches splits the items into runs whose JSON array, "[" + items joined
// by "," + "]", is at most limit bytes, and of at most maxN items unless
// maxN is 0.
func (e *encodedItems) batches(limit, maxN int) []batch {
	var out []batch
	for from := 0; from < len(e.ends); {
		n := 1
		for from+n < len(e.ends) && (maxN == 0 || n < maxN) && e.ends[from+n]-e.start(from)+2 <= limit {
			n++
		}
		out = append(out, batch{from, n})
		from += n
	}
	return out
}

// body returns the JSON array of the items of b.
func (e *encodedItems) body(b batch) []byte {
	items := e.buf[e.start(b.from):e.ends[b.from+b.n-1]]
	out := make([]byte, 0, len(items)+2)
	out = append(out, '[')
	out = append(out, items...)
	return append(out, ']')
}

// ItemsOptions select and shape the items of a dataset. The zero value
// returns every item as stored, oldest first.
type ItemsOptions struct {
	// Offset is the number of items to skip.
	Offset int
	// Limit is the maximum number of items to return; 0 means no limit for
	// ListItems and pages of 1000 items for AllItems.
	Limit int
	// Desc returns the newest items first.
	Desc bool
	// Fields keeps only these fields of each item, in this order.
	Fields []string
	// Omit removes these fields from each item.
	Omit []string
	// Unwind expands these fields in order: an array field becomes one item
	// per element merged with its parent, an object field is merged with its
	// parent.
	Unwind []string
	// Flatten turns these nested object fields into "parent.child" fields.
	Flatten []string
	// Clean skips empty items and hidden fields (those starting with "#");
	// it is SkipHidden and SkipEmpty together.
	Clean bool
	// SkipHidden removes the hidden fields, those starting with "#".
	SkipHidden bool
	// SkipEmpty skips empty items. With Clean or SkipEmpty a page may hold
	// fewer items than Limit.
	SkipEmpty bool
}

func (o ItemsOptions) query() (url.Values, error) {
	q, err := pageQuery("ItemsOptions", o.Offset, o.Limit, o.Desc)
	if err != nil {
		return nil, err
	}
	q.Set("format", "json")
	for _, f := range []struct {
		name   string
		fields []string
	}{{"fields", o.Fields}, {"omit", o.Omit}, {"unwind", o.Unwind}, {"flatten", o.Flatten}} {
		if len(f.fields) == 0 {
			continue
		}
		for i, name := range f.fields {
			if name == "" || strings.ContainsAny(name, ",") || hasCTL(name) {
				return nil, fmt.Errorf("client: ItemsOptions.%s%s[%d]: %q is empty or has a comma or control characters",
					strings.ToUpper(f.name[:1]), f.name[1:], i, name)
			}
		}
		q.Set(f.name, strings.Join(f.fields, ","))
	}
	for _, f := range []struct {
		name string
		on   bool
	}{{"clean", o.Clean}, {"skipHidden", o.SkipHidden}, {"skipEmpty", o.SkipEmpty}} {
		if f.on {
			q.Set(f.name, "1")
		}
	}
	return q, nil
}

// ListItems returns one page of a dataset's items (GET
// /v2/datasets/{id}/items?format=json), each decoded into a T (a struct,
// map[string]any, json.RawMessage...). Page.Total is the number of items in
// the dataset (-1 if the platform did not say), Page.Count the number
// returned, which filters and unwinding make differ from Limit.
//
// The response is read whole, up to 64 MiB; use a Limit, or AllItems, for
// large datasets.
func ListItems[T any](ctx context.Context, c *Client, datasetID string, o ItemsOptions) (*Page[T], error) {
	path, err := datasetKind.storagePath(datasetID)
	if err != nil {
		return nil, err
	}
	q, err := o.query()
	if err != nil {
		return nil, err
	}
	r := &request{method: "GET", path: path + "/items", query: q, policy: retryIdempotent}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	page := &Page[T]{Offset: o.Offset, Limit: o.Limit, Desc: o.Desc}
	if err := json.Unmarshal(resp.body, &page.Items); err != nil {
		return nil, fmt.Errorf("client: %s %s: decoding the items: %w", r.method, r.path, err)
	}
	page.Count = len(page.Items)
	page.Total = -1
	for name, dst := range map[string]*int{
		"X-Apify-Pagination-Total": &page.Total, "X-Apify-Pagination-Offset": &page.Offset,
		"X-Apify-Pagination-Limit": &page.Limit,
	} {
		if n, err := strconv.Atoi(resp.header.Get(name)); err == nil && n >= 0 {
			*dst = n
		}
	}
	if d, err := strconv.ParseBool(resp.header.Get("X-Apify-Pagination-Desc")); err == nil {
		page.Desc = d
	}
	return page, nil
}

// defaultItemsPage is the page size of AllItems when o.Limit is 0.
const defaultItemsPage = 1000

// AllItems iterates over a dataset's items from o.Offset on, fetching pages
// of o.Limit items (1000 when 0) as it goes, each decoded into a T. Filters
// apply to each page; paging counts stored items, so skipped and unwound
// items do not shift it. An error ends the iteration after being yielded.
func AllItems[T any](ctx context.Context, c *Client, datasetID string, o ItemsOptions) iter.Seq2[T, error] {
	if o.Limit == 0 {
		o.Limit = defaultItemsPage
	}
	return pages("items of "+datasetID, o.Offset, func(offset int) ([]T, int, bool, error) {
		o.Offset = offset
		p, err := ListItems[T](ctx, c, datasetID, o)
		if err != nil {
			return nil, 0, false, err
		}
		// The platform pages over stored items: the next page starts
		// o.Limit stored items further, however many survived the filters
		// or came out of an unwind.
		next := offset + o.Limit
		return p.Items, next, p.Total >= 0 && next >= p.Total || p.Total < 0 && len(p.Items) == 0, nil
	})
}

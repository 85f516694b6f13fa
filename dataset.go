package actor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"time"

	"github.com/go-apify/actor/client"
)

// Dataset is a dataset: an append-only list of JSON objects, the run's
// results. It lives on the platform or in local files, as the Actor's
// [StorageMode] says; its methods behave the same in both. Open one with
// [Actor.OpenDataset]. It is safe for concurrent use.
type Dataset struct {
	name string // "" for the default dataset
	b    datasetBackend
}

// DatasetInfo describes a dataset. On the platform the item count lags a few
// seconds behind pushes.
type DatasetInfo struct {
	ID         string
	Name       string // empty for an unnamed dataset on the platform; "default" locally
	ItemCount  int
	CreatedAt  time.Time
	ModifiedAt time.Time
	AccessedAt time.Time
}

// ItemsOptions select and shape the items [Items] reads, as the same-named
// parameters of the platform's dataset items endpoint do. The zero value
// reads every item as stored, oldest first. The filters act on top-level
// fields.
type ItemsOptions struct {
	// Offset skips this many stored items (from the newest with Desc).
	Offset int
	// Limit is the most stored items read; 0 reads them all. SkipEmpty and
	// Clean may yield fewer items, Unwind more.
	Limit int
	// Desc reads the newest items first.
	Desc bool
	// Fields keeps only these fields of each item, in this order.
	Fields []string
	// Omit removes these fields from each item.
	Omit []string
	// Unwind expands these fields in order: an array field becomes one item
	// per element merged into its parent, an object field is merged into its
	// parent.
	Unwind []string
	// SkipHidden removes the hidden fields, those whose name starts with '#'.
	SkipHidden bool
	// SkipEmpty skips items left with no fields.
	SkipEmpty bool
	// Clean is SkipHidden and SkipEmpty together.
	Clean bool
}

// OpenDataset opens the dataset called name, creating it when there is none;
// the empty name is the run's default dataset. A name has 1 to 63 letters,
// digits and hyphens, a hyphen never first or last.
func (a *Actor) OpenDataset(ctx context.Context, name string) (*Dataset, error) {
	b, err := a.storage(ctx)
	if err != nil {
		return nil, err
	}
	d, err := b.dataset(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("actor: open %s: %w", storageLabel("dataset", name), err)
	}
	return &Dataset{name: name, b: d}, nil
}

// PushData appends items to the run's default dataset; see
// [Dataset.PushData].
func (a *Actor) PushData(ctx context.Context, items any) error {
	d, err := a.OpenDataset(ctx, "")
	if err != nil {
		return err
	}
	return d.PushData(ctx, items)
}

func (d *Dataset) label() string { return storageLabel("dataset", d.name) }

// Name returns the name the dataset was opened with ("" for the default
// dataset).
func (d *Dataset) Name() string { return d.name }

// Info returns the dataset's ID, name, item count and timestamps.
func (d *Dataset) Info(ctx context.Context) (DatasetInfo, error) {
	info, err := d.b.info(ctx)
	if err != nil {
		return DatasetInfo{}, fmt.Errorf("actor: %s: %w", d.label(), err)
	}
	return info, nil
}

// Drop deletes the dataset and its items.
func (d *Dataset) Drop(ctx context.Context) error {
	if err := d.b.drop(ctx); err != nil {
		return fmt.Errorf("actor: drop %s: %w", d.label(), err)
	}
	return nil
}

// PushData appends items to the dataset, in order. items is one item or a
// slice or array of items; each must encode as a JSON object (a struct, a
// map, a json.RawMessage or []byte holding one). Every item is encoded and
// checked before anything is stored: an item that cannot be encoded, is not
// an object or is over the platform's request limit (9 MiB) is an error
// naming its index, and nothing is stored. On the platform the items go in
// requests of up to 2 MiB (client.PushBatchBytes; a larger item alone),
// each request's items encoded as it is built, so that they are never all
// held encoded (the check keeps only the first request's); a failure part
// way is a *client.PushError saying which items were stored.
func (d *Dataset) PushData(ctx context.Context, items any) error {
	if items == nil {
		return fmt.Errorf("actor: push data: items is nil")
	}
	err := d.b.push(ctx, items)
	var ie *client.ItemError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie) && !errors.As(err, new(*client.PushError)): // nothing stored
		return fmt.Errorf("actor: push data: items[%d]: %w", ie.Index, ie.Err)
	}
	return fmt.Errorf("actor: push data to %s: %w", d.label(), err)
}

// maxItemBytes is the largest item: alone in a request, within the brackets
// of its array.
const maxItemBytes = client.MaxPayloadBytes - 2

// eachItem encodes one item or a slice or array of items (not nil), each
// as a JSON object into one reused buffer, and calls f with each in turn
// (the bytes are f's until it returns); a bad item is a *client.ItemError.
func eachItem(items any, f func(item []byte) error) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	one := func(i int, v any) error {
		buf.Reset()
		var err error
		switch raw := v.(type) {
		case json.RawMessage:
			err = json.Compact(&buf, raw)
		case []byte:
			err = json.Compact(&buf, raw)
		default:
			if err = enc.Encode(v); err == nil {
				buf.Truncate(buf.Len() - 1) // Encode's newline
			}
		}
		item := buf.Bytes()
		switch {
		case err != nil:
			return &client.ItemError{Index: i, Err: fmt.Errorf("encoding as JSON: %w", err)}
		case len(item) == 0 || item[0] != '{':
			return &client.ItemError{Index: i, Err: fmt.Errorf("a dataset item must be a JSON object, not %s", jsonKind(item))}
		case len(item) > maxItemBytes:
			return &client.ItemError{Index: i, Err: fmt.Errorf("%d bytes of JSON exceed the platform's limit of %d bytes per item", len(item), maxItemBytes)}
		}
		return f(item)
	}
	switch v := items.(type) {
	case json.RawMessage, []byte:
		return one(0, v)
	}
	rv := reflect.ValueOf(items)
	if k := rv.Kind(); k != reflect.Slice && k != reflect.Array {
		return one(0, items)
	}
	for i := range rv.Len() {
		if err := one(i, rv.Index(i).Interface()); err != nil {
			return err
		}
	}
	return nil
}

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

// Items reads the items of d that o selects, each decoded into a T (a
// struct, map[string]any, json.RawMessage...), fetching them page by page
// on the platform and file by file locally. An item that does not decode
// into a T is an error naming the field; an error ends the sequence after
// being yielded.
func Items[T any](ctx context.Context, d *Dataset, o ItemsOptions) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		if o.Offset < 0 || o.Limit < 0 {
			yield(zero, fmt.Errorf("actor: ItemsOptions: the offset (%d) and the limit (%d) must not be negative", o.Offset, o.Limit))
			return
		}
		i := 0
		for raw, err := range d.b.items(ctx, o) {
			if err != nil {
				yield(zero, fmt.Errorf("actor: %s: %w", d.label(), err))
				return
			}
			var v T
			if err := decodeJSON(fmt.Sprintf("%s: item %d of this read", d.label(), i), raw, &v); err != nil {
				yield(zero, err)
				return
			}
			if !yield(v, nil) {
				return
			}
			i++
		}
	}
}

package localstorage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// itemDigits is the width of a dataset item's file name: 000000001.json.
const itemDigits = 9

// maxItems is the most items a local dataset holds: nine digits.
const maxItems = 999_999_999

// Dataset is a dataset: datasets/{name}/ holding one pretty-printed JSON file
// per item, numbered from 000000001.json.
type Dataset struct {
	s    *Storage
	dir  string
	name string

	mu   sync.Mutex
	meta datasetMetadata
	w    *metadataWriter
	buf  bytes.Buffer
}

// datasetMetadata is a dataset's __metadata__.json, as crawlee writes it.
type datasetMetadata struct {
	ID         string `json:"id"`
	AccessedAt jsTime `json:"accessedAt"`
	CreatedAt  jsTime `json:"createdAt"`
	ItemCount  int    `json:"itemCount"`
	ModifiedAt jsTime `json:"modifiedAt"`
	Name       string `json:"name"`
}

// DatasetInfo describes a dataset.
type DatasetInfo struct {
	ID         string
	Name       string
	ItemCount  int
	CreatedAt  time.Time
	ModifiedAt time.Time
	AccessedAt time.Time
}

// Dataset opens (creating when missing) the dataset name; the empty name is
// the default dataset.
func (s *Storage) Dataset(ctx context.Context, name string) (*Dataset, error) {
	return open(ctx, s, s.sets, datasetsDir, name, func(dir, name string) (*Dataset, *metadataWriter, error) {
		d := &Dataset{s: s, dir: dir, name: name}
		if err := d.load(); err != nil {
			return nil, nil, err
		}
		d.w = s.newMetadataWriter(dir, &d.mu, func() any { return d.meta })
		return d, d.w, nil
	})
}

// load reads the metadata and counts the item files: the count is the
// highest item number on disk, so items written just before a kill that the
// metadata had not caught up with are kept.
func (d *Dataset) load() error {
	now := jsTime(time.Now())
	d.meta = datasetMetadata{ID: newID(), Name: d.name, AccessedAt: now, CreatedAt: now, ModifiedAt: now}
	if _, err := readMetadata(d.dir, &d.meta, d.s.log); err != nil {
		return err
	}
	d.meta.Name, d.meta.AccessedAt = d.name, now
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return fmt.Errorf("localstorage: %w", err)
	}
	highest := 0
	for _, e := range entries {
		name := e.Name()
		if len(name) != itemDigits+len(".json") || name[itemDigits:] != ".json" {
			continue
		}
		n, err := strconv.Atoi(name[:itemDigits])
		if err == nil && n > highest {
			highest = n
		}
	}
	if highest > 0 {
		if highest, err = d.removePartial(highest); err != nil {
			return err
		}
	}
	d.meta.ItemCount = highest
	return nil
}

// removePartial removes the last item file, number last, when it does not
// parse, and returns the count of items left. Items are written one after
// the other straight to their own names, so a process killed in a Push can
// leave only its last file partial (even empty), and that item's Push never
// returned: nothing acknowledged is lost. Removing it keeps the dataset
// readable (crawlee fails on a file that does not parse) and frees the name
// for the next Push.
func (d *Dataset) removePartial(last int) (int, error) {
	path := filepath.Join(d.dir, itemFile(last))
	b, err := readFileLimit(path, "item "+itemFile(last), d.s.opts.MaxValueBytes)
	if errors.Is(err, ErrTooLarge) || (err == nil && json.Valid(b)) {
		// A large file is none of ours cut short (those are smaller than the
		// limit): it stays, and Items reports it.
		return last, nil
	}
	if err != nil {
		return 0, fmt.Errorf("localstorage: %w", err)
	}
	d.s.log.Warn("localstorage: removing a dataset item cut short by a killed write", "file", path)
	if err := os.Remove(path); err != nil {
		return 0, fmt.Errorf("localstorage: %w", err)
	}
	return last - 1, nil
}

func itemFile(n int) string { return fmt.Sprintf("%0*d.json", itemDigits, n) }

// Name returns the dataset's name ("default" for the default dataset).
func (d *Dataset) Name() string { return d.name }

// Info returns the dataset's id, name, item count and timestamps.
func (d *Dataset) Info(ctx context.Context) (DatasetInfo, error) {
	if err := d.check(ctx); err != nil {
		return DatasetInfo{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.meta
	return DatasetInfo{ID: m.ID, Name: m.Name, ItemCount: m.ItemCount, CreatedAt: time.Time(m.CreatedAt), ModifiedAt: time.Time(m.ModifiedAt), AccessedAt: time.Time(m.AccessedAt)}, nil
}

func (d *Dataset) check(ctx context.Context) error {
	return d.s.checkUsable(ctx, &d.mu, d.w, "dataset", d.name)
}

// Drop deletes the dataset and everything in it. Later calls on it fail
// with ErrNotFound; opening the name again creates an empty one.
func (d *Dataset) Drop(ctx context.Context) error {
	return drop(ctx, d.s, d.s.sets, datasetsDir, d.name, &d.mu, d.w)
}

// Push appends items, each a JSON object (as the platform and crawlee
// require), in order. Every item is checked before any is written: one that
// is not a JSON object or is over the size limit fails the push with a
// *FieldError naming it ("items[3]"), and nothing is written.
func (d *Dataset) Push(ctx context.Context, items ...json.RawMessage) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	for i, it := range items {
		if err := checkItem(it, d.s.opts.MaxValueBytes); err != nil {
			err.Field = fmt.Sprintf("items[%d]", i)
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.meta.ItemCount+len(items) > maxItems {
		return invalid("items", "would make %d items, over the local limit of %d", d.meta.ItemCount+len(items), maxItems)
	}
	var err error
	for _, it := range items {
		if err = ctx.Err(); err != nil {
			break
		}
		d.buf.Reset()
		// Tab indentation, as crawlee writes items (JSON.stringify(item, null, '\t')).
		if err = json.Indent(&d.buf, bytes.TrimSpace(it), "", "\t"); err != nil {
			break
		}
		// Straight to its own name: an item file is only ever created (see
		// writeFileNew and load for a kill mid-write).
		if err = writeFileNew(d.dir, itemFile(d.meta.ItemCount+1), d.buf.Bytes(), d.s.opts.Durable); err != nil {
			err = fmt.Errorf("localstorage: %w", err)
			break
		}
		d.meta.ItemCount++
	}
	if len(items) > 0 {
		d.meta.ModifiedAt = jsTime(time.Now())
		d.meta.AccessedAt = d.meta.ModifiedAt
		if werr := d.w.changed(); err == nil {
			err = werr
		}
	}
	return err
}

func checkItem(it json.RawMessage, limit int) *FieldError {
	if len(it) > limit {
		return tooLarge("", len(it), limit).(*FieldError)
	}
	b := bytes.TrimLeft(it, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return invalid("", "is not a JSON object; each dataset item must be one").(*FieldError)
	}
	if !json.Valid(b) {
		return invalid("", "is not valid JSON").(*FieldError)
	}
	return nil
}

// ItemsOptions select and shape the items Items returns. The zero value
// returns every item as stored, oldest first.
type ItemsOptions struct {
	// Offset skips this many items (from the newest with Desc).
	Offset int
	// Limit is the most stored items read; 0 means no limit. Filters
	// (SkipEmpty, Clean) may return fewer and Unwind more, as on the platform.
	Limit int
	// Desc returns the newest items first.
	Desc bool
	// Filter shapes each item; see ItemFilter.
	Filter ItemFilter
}

// Items returns the items selected by opts, read from disk one at a time.
// The dataset is read as it was when Items was called. An error ends the
// sequence.
func (d *Dataset) Items(ctx context.Context, opts ItemsOptions) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		if err := d.check(ctx); err != nil {
			yield(nil, err)
			return
		}
		if opts.Offset < 0 {
			yield(nil, invalid("offset", "is %d, must not be negative", opts.Offset))
			return
		}
		if opts.Limit < 0 {
			yield(nil, invalid("limit", "is %d, must not be negative", opts.Limit))
			return
		}
		if err := opts.Filter.validate(); err != nil {
			yield(nil, err)
			return
		}
		d.mu.Lock()
		total := d.meta.ItemCount
		d.mu.Unlock()
		n := max(total-opts.Offset, 0)
		if opts.Limit > 0 {
			n = min(n, opts.Limit)
		}
		for i := range n {
			idx := opts.Offset + i + 1
			if opts.Desc {
				idx = total - opts.Offset - i
			}
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			b, err := readFileLimit(filepath.Join(d.dir, itemFile(idx)), "item "+itemFile(idx), d.s.opts.MaxValueBytes)
			if err != nil {
				yield(nil, fmt.Errorf("localstorage: dataset %q: %w", d.name, err))
				return
			}
			out, err := opts.Filter.apply(b)
			if err != nil {
				yield(nil, fmt.Errorf("localstorage: dataset %q, %s: %w", d.name, itemFile(idx), err))
				return
			}
			for _, it := range out {
				if !yield(it, nil) {
					return
				}
			}
		}
	}
}

package localstorage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-apify/actor/internal/items"
)

// maxUnwound caps the items one stored item may unwind into, and
// maxShapedBytes what they may hold.
const (
	maxUnwound     = 100_000
	maxShapedBytes = 256 << 20
)

// ItemFilter shapes dataset items as the platform's dataset items endpoint
// does with the same-named parameters, in the platform's order: Fields,
// then Omit, then Unwind, then SkipHidden, then SkipEmpty; all act on
// top-level fields only. The zero value returns items unchanged.
type ItemFilter struct {
	// Unwind lists fields to unwind, in order. An array field makes one item
	// per element: an object element is merged into the item as
	// JavaScript's {...item, ...element} merges, any other element replaces
	// the field. An object field is merged into the item. A missing field,
	// an empty array or any other value leaves the item as it is.
	Unwind []string
	// Fields keeps only these fields, in this order.
	Fields []string
	// Omit removes these fields.
	Omit []string
	// SkipHidden removes fields whose name starts with '#'.
	SkipHidden bool
	// SkipEmpty drops items left with no fields.
	SkipEmpty bool
	// Clean is SkipHidden and SkipEmpty together.
	Clean bool
}

func (f ItemFilter) filter() items.Filter {
	return items.Filter{Fields: f.Fields, Omit: f.Omit, Unwind: f.Unwind,
		SkipHidden: f.SkipHidden || f.Clean, SkipEmpty: f.SkipEmpty || f.Clean}
}

func (f ItemFilter) validate() error {
	for name, list := range map[string][]string{"unwind": f.Unwind, "fields": f.Fields, "omit": f.Omit} {
		if len(list) > items.MaxNames {
			return invalid(name, "lists %d fields, over the limit of %d", len(list), items.MaxNames)
		}
		for _, s := range list {
			if s == "" {
				return invalid(name, "lists an empty field name")
			}
		}
	}
	return nil
}

// apply shapes one stored item into zero or more compact JSON objects.
func (f ItemFilter) apply(item []byte) ([]json.RawMessage, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, item); err != nil {
		return nil, err
	}
	filter := f.filter()
	if filter.IsZero() {
		return []json.RawMessage{b.Bytes()}, nil
	}
	objs, err := filter.Shape(b.Bytes(), nil, &items.Budget{Bytes: maxShapedBytes, Items: maxUnwound})
	if errors.Is(err, items.ErrBudget) {
		return nil, fmt.Errorf("shaping makes over %d items or %d bytes", maxUnwound, maxShapedBytes)
	} else if err != nil {
		return nil, fmt.Errorf("item: %w", err)
	}
	out := make([]json.RawMessage, len(objs))
	for i, o := range objs {
		out[i] = o.AppendJSON(nil)
	}
	return out, nil
}

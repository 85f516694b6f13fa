package localstorage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// maxFilterFields caps the field names an ItemFilter lists, and maxUnwound
// the items one stored item may unwind into.
const (
	maxFilterFields = 1000
	maxUnwound      = 100_000
)

// ItemFilter shapes dataset items as the platform's dataset items endpoint
// does with the same-named parameters. The steps run in this order on each
// item: Unwind, then Fields, then Omit, then SkipHidden, then SkipEmpty; all
// act on top-level fields only. The zero value returns items unchanged.
type ItemFilter struct {
	// Unwind lists fields to unwind, in order. An array field makes one item
	// per element: an object element is merged into the item as
	// JavaScript's {...item, ...element} merges, any other element replaces the field. An object field is merged
	// into the item. A missing field, an empty array or any other value
	// leaves the item as it is.
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

func (f ItemFilter) zero() bool {
	return len(f.Unwind) == 0 && len(f.Fields) == 0 && len(f.Omit) == 0 && !f.SkipHidden && !f.SkipEmpty && !f.Clean
}

func (f ItemFilter) validate() error {
	for name, list := range map[string][]string{"unwind": f.Unwind, "fields": f.Fields, "omit": f.Omit} {
		if len(list) > maxFilterFields {
			return invalid(name, "lists %d fields, over the limit of %d", len(list), maxFilterFields)
		}
		for _, s := range list {
			if s == "" {
				return invalid(name, "lists an empty field name")
			}
		}
	}
	return nil
}

type field struct {
	key string
	val json.RawMessage
}

// apply shapes one stored item into zero or more compact JSON objects.
func (f ItemFilter) apply(item []byte) ([]json.RawMessage, error) {
	if f.zero() {
		var b bytes.Buffer
		if err := json.Compact(&b, item); err != nil {
			return nil, err
		}
		return []json.RawMessage{b.Bytes()}, nil
	}
	obj, err := parseObject(item)
	if err != nil {
		return nil, err
	}
	objs := [][]field{obj}
	for _, name := range f.Unwind {
		var next [][]field
		for _, o := range objs {
			next = append(next, unwind(o, name)...)
			if len(next) > maxUnwound {
				return nil, fmt.Errorf("unwinding %q makes over %d items", name, maxUnwound)
			}
		}
		objs = next
	}
	out := make([]json.RawMessage, 0, len(objs))
	for _, o := range objs {
		if len(f.Fields) > 0 {
			picked := make([]field, 0, len(f.Fields))
			for _, name := range f.Fields {
				if i := index(o, name); i >= 0 {
					picked = append(picked, o[i])
				}
			}
			o = picked
		}
		o = remove(o, func(fl field) bool {
			return contains(f.Omit, fl.key) || (f.SkipHidden || f.Clean) && strings.HasPrefix(fl.key, "#")
		})
		if len(o) == 0 && (f.SkipEmpty || f.Clean) {
			continue
		}
		b, err := encodeObject(o)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func unwind(o []field, name string) [][]field {
	i := index(o, name)
	if i < 0 {
		return [][]field{o}
	}
	rest := remove(o, func(fl field) bool { return fl.key == name })
	v := bytes.TrimSpace(o[i].val)
	switch {
	case len(v) > 0 && v[0] == '{':
		child, err := parseObject(v)
		if err != nil {
			return [][]field{o}
		}
		return [][]field{merge(rest, child)}
	case len(v) > 0 && v[0] == '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(v, &elems); err != nil || len(elems) == 0 {
			return [][]field{o}
		}
		res := make([][]field, 0, len(elems))
		for _, e := range elems {
			e = bytes.TrimSpace(e)
			if len(e) > 0 && e[0] == '{' {
				if child, err := parseObject(e); err == nil {
					res = append(res, merge(rest, child))
					continue
				}
			}
			c := append([]field(nil), o...)
			c[i].val = e
			res = append(res, c)
		}
		return res
	}
	return [][]field{o}
}

// merge returns parent with child's fields merged in, as JavaScript's
// {...parent, ...child} does: a child field replaces the parent's field of
// the same name in its place, the others follow.
func merge(parent, child []field) []field {
	out := append([]field(nil), parent...)
	for _, fl := range child {
		if i := index(out, fl.key); i >= 0 {
			out[i].val = fl.val
		} else {
			out = append(out, fl)
		}
	}
	return out
}

func index(o []field, key string) int {
	for i, fl := range o {
		if fl.key == key {
			return i
		}
	}
	return -1
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func remove(o []field, drop func(field) bool) []field {
	out := make([]field, 0, len(o))
	for _, fl := range o {
		if !drop(fl) {
			out = append(out, fl)
		}
	}
	return out
}

// parseObject splits a JSON object into its top-level fields, in order.
func parseObject(b []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("item is not a JSON object")
	}
	var o []field
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		o = append(o, field{key: t.(string), val: v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return o, nil
}

func encodeObject(o []field) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i, fl := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := enc.Encode(fl.key); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1) // Encode's newline
		b.WriteByte(':')
		if err := json.Compact(&b, fl.val); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Package items shapes dataset items as the platform's dataset items
// endpoint does with its skipFailedPages, fields, outputFields, omit,
// unwind, flatten, skipHidden and skipEmpty parameters. The local platform
// (apifytest) and the local file storage (internal/localstorage) both shape
// items with it, so that the two agree. Split checks and compacts the
// items of a push in one pass, for the local platform to store them as
// they are and parse them only when a read shapes them.
package items

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Limits of shaping, as the local platform sets them.
const (
	// MaxNames is the most names the local platform and the local storage
	// accept in each list of a Filter.
	MaxNames = 1000
	// MaxFlattenDepth is how deep Flatten goes; deeper values stay JSON.
	MaxFlattenDepth = 32
)

// ErrBudget is the error of shaping that would exceed its Budget.
var ErrBudget = errors.New("items: the shaped items exceed the budget")

// Field is a member of a JSON object, its value as JSON.
type Field struct {
	Key string
	Val json.RawMessage
}

// Object is a JSON object with the order of its members.
type Object []Field

// Parse decodes one JSON object, keeping the order of its members. Values
// are kept as they stand in b: a compact b makes compact values. It scans b
// once, as Split does.
func Parse(b []byte) (Object, error) {
	s := scanner{b: b}
	s.space()
	if s.peek() != '{' {
		return nil, errors.New("not a JSON object")
	}
	s.i = s.skip(s.i + 1)
	var o Object
	for more := s.peek() != '}'; more; {
		if s.peek() != '"' {
			return nil, s.unexpected("looking for beginning of object key string")
		}
		start := s.i
		end, err := s.str(start)
		if err != nil {
			return nil, err
		}
		s.i = s.skip(end)
		if s.peek() != ':' {
			return nil, s.unexpected("after object key")
		}
		s.i = s.skip(s.i + 1)
		v := s.i
		if err := s.value(); err != nil {
			return nil, err
		}
		if o == nil {
			o = make(Object, 0, 8) // most items have a few fields: one allocation
		}
		o = append(o, Field{keyOf(b[start:end]), b[v:s.i:s.i]})
		s.space()
		switch s.peek() {
		case ',':
			s.i = s.skip(s.i + 1)
		case '}':
			more = false
		default:
			return nil, s.unexpected("after object key:value pair")
		}
	}
	s.i = s.skip(s.i + 1)
	if s.i < len(b) {
		return nil, errors.New("more than one JSON value")
	}
	return o, nil
}

// keyOf decodes the JSON string k, valid, as encoding/json does.
func keyOf(k []byte) string {
	inner := k[1 : len(k)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	var name string
	_ = json.Unmarshal(k, &name)
	return name
}

// index returns the position of key in o, or -1.
func (o Object) index(key string) int {
	for i, f := range o {
		if f.Key == key {
			return i
		}
	}
	return -1
}

// set returns o with key set to v: in its place if o has it, else last.
func (o Object) set(key string, v json.RawMessage) Object {
	if i := o.index(key); i >= 0 {
		o[i].Val = v
		return o
	}
	return append(o, Field{key, v})
}

// without returns a copy of o without key.
func (o Object) without(key string) Object {
	out := make(Object, 0, len(o))
	for _, f := range o {
		if f.Key != key {
			out = append(out, f)
		}
	}
	return out
}

// AppendJSON appends o as a JSON object to buf: its keys escaped as
// JavaScript's JSON.stringify does (no HTML escaping), its values as they
// are.
func (o Object) AppendJSON(buf []byte) []byte {
	buf = append(buf, '{')
	for i, f := range o {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendKey(buf, f.Key)
		buf = append(buf, ':')
		buf = append(buf, f.Val...)
	}
	return append(buf, '}')
}

func appendKey(buf []byte, k string) []byte {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(k) // a string always encodes
			return append(buf, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, k...)
	return append(buf, '"')
}

// Filter is how items are shaped. The steps run on each item in the
// platform's order: SkipFailed, Fields (renamed by OutputFields), Omit,
// Unwind, Flatten, SkipHidden, SkipEmpty; all act on top-level fields. The
// zero Filter leaves items as they are.
type Filter struct {
	// SkipFailed drops items with an errorInfo field (skipFailedPages).
	SkipFailed bool
	// Fields keeps only these fields, in this order.
	Fields []string
	// OutputFields, when set, renames Fields positionally: it must be as
	// long as Fields.
	OutputFields []string
	// Omit removes these fields.
	Omit []string
	// Unwind lists fields to unwind, in order. An array field makes one
	// item per element: an object element is merged into the item as
	// JavaScript's {...item, ...element} merges, any other element
	// replaces the field. An object field is merged into the item. A
	// missing field, an empty array or any other value leaves the item as
	// it is.
	Unwind []string
	// Flatten replaces these object fields with their members as
	// "field.member" fields, nested objects flattened too.
	Flatten []string
	// SkipHidden removes fields whose name starts with '#'.
	SkipHidden bool
	// SkipEmpty drops items left with no fields.
	SkipEmpty bool
}

// IsZero reports whether f leaves items as they are.
func (f Filter) IsZero() bool {
	return !f.SkipFailed && len(f.Fields) == 0 && len(f.Omit) == 0 && len(f.Unwind) == 0 &&
		len(f.Flatten) == 0 && !f.SkipHidden && !f.SkipEmpty
}

// Budget is what shaping may still produce: Bytes of output and Items.
// Shaping charges it as it goes, so that unwinding a long array of a large
// item stops at the limit instead of exhausting memory.
type Budget struct{ Bytes, Items int }

// charge takes o, to be written out, from the budget.
func (b *Budget) charge(o Object) error {
	b.Items--
	for _, f := range o {
		b.Bytes -= len(f.Key) + len(f.Val) + 4
	}
	return b.check()
}

// chargeMade takes o, made by unwinding, from the budget: what it holds in
// memory, its fields (their keys and values are shared with the item).
func (b *Budget) chargeMade(o Object) error {
	b.Items--
	b.Bytes -= len(o) * int(unsafe.Sizeof(Field{}))
	return b.check()
}

func (b *Budget) check() error {
	if b.Bytes < 0 || b.Items < 0 {
		return ErrBudget
	}
	return nil
}

// Shape appends to out the items that f makes of item, a JSON object,
// charging each to b; past b it returns ErrBudget.
func (f Filter) Shape(item []byte, out []Object, b *Budget) ([]Object, error) {
	o, err := Parse(item)
	if err != nil {
		return out, err
	}
	if f.SkipFailed && o.index("errorInfo") >= 0 {
		return out, nil
	}
	if len(f.Fields) > 0 {
		picked := make(Object, 0, len(f.Fields))
		for j, name := range f.Fields {
			if i := o.index(name); i >= 0 {
				picked = append(picked, o[i])
				if len(f.OutputFields) > 0 {
					picked[len(picked)-1].Key = f.OutputFields[j]
				}
			}
		}
		o = picked
	}
	for _, name := range f.Omit {
		o = o.without(name)
	}
	objs := []Object{o}
	// Unwinding is charged to bound what it makes, then given back: the
	// items are charged once, as they come out.
	before := *b
	for _, name := range f.Unwind {
		var next []Object
		for _, o := range objs {
			if next, err = unwind(o, name, next, b); err != nil {
				return out, err
			}
		}
		objs = next
	}
	*b = before
	for _, o := range objs {
		for _, name := range f.Flatten {
			o = flattenField(o, name)
		}
		if f.SkipHidden {
			kept := o[:0:0]
			for _, fl := range o {
				if !strings.HasPrefix(fl.Key, "#") {
					kept = append(kept, fl)
				}
			}
			o = kept
		}
		if f.SkipEmpty && len(o) == 0 {
			continue
		}
		if err := b.charge(o); err != nil {
			return out, err
		}
		out = append(out, o)
	}
	return out, nil
}

// unwind appends to out the items that unwinding field name of o makes,
// each charged to b (see Filter.Unwind).
func unwind(o Object, name string, out []Object, b *Budget) ([]Object, error) {
	i := o.index(name)
	if i < 0 {
		return append(out, o), nil
	}
	v := bytes.TrimSpace(o[i].Val)
	switch {
	case len(v) > 0 && v[0] == '{':
		inner, err := Parse(v)
		if err != nil {
			return append(out, o), nil
		}
		return append(out, merge(o.without(name), inner)), nil
	case len(v) > 0 && v[0] == '[':
		var elems []json.RawMessage
		if json.Unmarshal(v, &elems) != nil || len(elems) == 0 {
			return append(out, o), nil
		}
		for _, e := range elems {
			e = bytes.TrimSpace(e)
			var made Object
			if len(e) > 0 && e[0] == '{' {
				if inner, err := Parse(e); err == nil {
					made = merge(o.without(name), inner)
				}
			}
			if made == nil {
				made = append(Object(nil), o...).set(name, e)
			}
			if err := b.chargeMade(made); err != nil {
				return out, err
			}
			out = append(out, made)
		}
		return out, nil
	}
	return append(out, o), nil
}

// merge returns o with the fields of inner set over its own: in their
// place if o has them, else after.
func merge(o, inner Object) Object {
	at := make(map[string]int, len(o))
	for i, f := range o {
		at[f.Key] = i
	}
	for _, f := range inner {
		if i, ok := at[f.Key]; ok {
			o[i].Val = f.Val
		} else {
			at[f.Key] = len(o)
			o = append(o, f)
		}
	}
	return o
}

// flattenField replaces the object field name of o with its members as
// "name.member" fields, nested objects flattened too.
func flattenField(o Object, name string) Object {
	i := o.index(name)
	if i < 0 {
		return o
	}
	v := bytes.TrimSpace(o[i].Val)
	if len(v) == 0 || v[0] != '{' {
		return o
	}
	out := make(Object, 0, len(o))
	out = append(out, o[:i]...)
	out = flattenInto(out, name, v, 0)
	return append(out, o[i+1:]...)
}

func flattenInto(out Object, prefix string, v json.RawMessage, depth int) Object {
	v = bytes.TrimSpace(v)
	if depth >= MaxFlattenDepth || len(v) == 0 || v[0] != '{' {
		return append(out, Field{prefix, v})
	}
	inner, err := Parse(v)
	if err != nil {
		return append(out, Field{prefix, v})
	}
	for _, m := range inner {
		out = flattenInto(out, prefix+"."+m.Key, m.Val, depth+1)
	}
	return out
}

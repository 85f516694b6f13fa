package payloadtemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Rendering: the literal text and the JSON of values appended into one
// buffer, written as JSON.stringify writes them.

// state is the scratch space of one render, pooled so that a render
// allocates only its body.
type state struct {
	buf    []byte
	values []value // per path, its value once resolved in this render
	roots  []value // per variable, the same
	flags  []bool
	pairs  []pair  // the members of the maps being written
	order  []int32 // ... their indexes, sorted by key
	limit  int     // the most bytes the body may have
}

type pair struct {
	key string
	v   any
}

// value is the value of a path: a Go value, or one inside a JSON (raw.j
// set); ok is false when it is undefined in JavaScript terms.
type value struct {
	v        any
	raw      rawRef
	ok, done bool
}

var statePool = sync.Pool{New: func() any { return new(state) }}

// maxPooled is the most bytes of body a pooled state keeps, and 1/64 of the
// most elements of its other scratch space.
const maxPooled = 256 << 10

func (st *state) release() {
	if cap(st.buf) > maxPooled || max(cap(st.values), cap(st.pairs)) > maxPooled/64 {
		return // a large render's scratch space is left to the collector
	}
	clear(st.values)
	clear(st.roots)
	clear(st.pairs) // those of a failed render; appendMap clears its own
	st.values, st.pairs, st.order = st.values[:0], st.pairs[:0], st.order[:0]
	statePool.Put(st)
}

// maxDepth is how deeply nested a Go value may be; deeper is taken for a
// cycle.
const maxDepth = 10000

var (
	errTooDeep  = errors.New("value nested more than 10000 levels deep (a cycle?)")
	errTooLarge = errors.New("rendered body too large")
)

func (t *Template) appendRender(b []byte, vars map[string]any, st *state) ([]byte, error) {
	if cap(st.values) < len(t.paths) {
		st.values = make([]value, len(t.paths))
	}
	st.values = st.values[:len(t.paths)] // all zero: release clears them
	if cap(st.roots) < len(t.roots) {
		st.roots = make([]value, len(t.roots))
	}
	st.roots = st.roots[:len(t.roots)]
	if cap(st.flags) < t.nFlags {
		st.flags = make([]bool, t.nFlags)
	}
	flags := st.flags[:t.nFlags]
	clear(flags)
	st.limit = len(b) + t.maxBody
	var err error
	for i := range t.ops {
		o := &t.ops[i]
		b = append(b, t.str(o.lit)...)
		var v *value
		switch o.kind {
		case opRaw: // missing or falsy values (null, false, "", 0) become null
			if v, err = t.value(st, o.slot, vars); err == nil {
				start := len(b)
				if b, err = t.appendValue(b, v, o.slot, st); err == nil && falsyJSON(b[start:]) {
					b = append(b[:start], "null"...)
				}
			}
		case opExact:
			if v, err = t.value(st, o.slot, vars); err == nil {
				b, err = t.appendValue(b, v, o.slot, st)
			}
		case opMember:
			if v, err = t.value(st, o.slot, vars); err == nil && v.ok {
				if flags[o.flag] {
					b = append(b, ',')
				}
				flags[o.flag] = true
				b = append(b, t.str(o.aux)...)
				b, err = t.appendValue(b, v, o.slot, st)
			}
		case opNull:
			b = append(b, "null"...)
		case opSep:
			if flags[o.flag] {
				b = append(b, ',')
			}
			flags[o.flag] = true
		case opCoerce:
			if v, err = t.value(st, o.slot, vars); err == nil {
				b, err = st.appendCoerced(b, v)
			}
		}
		if err == nil && len(b) > st.limit {
			err = errTooLarge
		}
		if err != nil {
			return nil, t.valueError(o.slot, err)
		}
	}
	b = append(b, t.tail...)
	if len(b) > st.limit {
		return nil, t.valueError(slot{at: int32(len(t.text) - len(t.tail)), path: -1}, errTooLarge)
	}
	return b, nil
}

// appendValue writes a value as JSON; undefined as null.
func (t *Template) appendValue(b []byte, v *value, sl slot, st *state) ([]byte, error) {
	if v.raw.j != nil {
		return append(b, v.raw.text()...), nil
	}
	if !v.ok {
		return append(b, "null"...), nil
	}
	return st.appendJSON(b, v.v, 0)
}

// valueError turns err into an *Error about the placeholder at sl.
func (t *Template) valueError(sl slot, err error) error {
	var te *Error
	if errors.As(err, &te) {
		return te
	}
	name := ""
	if sl.path >= 0 {
		name = t.paths[sl.path].name
	}
	kind, reason := err, fmt.Sprintf("cannot encode the value of {{%s}}: %v", shorten(name), err)
	if err == errTooLarge {
		kind, reason = ErrBodyTooLarge, fmt.Sprintf("the rendered body is over the limit of %d bytes (MaxBodyBytes)", t.maxBody)
		if name != "" {
			reason += fmt.Sprintf(" at {{%s}}", shorten(name))
		}
	}
	e := t.newError(kind, int(sl.at), reason, "")
	e.Variable = name
	return e
}

// value returns the value of the path of sl, resolved once per render: a
// template may use a path many times. It follows the path's segments in a
// loop: a step from undefined, or into anything that is not an object or
// array, gives null.
func (t *Template) value(st *state, sl slot, vars map[string]any) (*value, error) {
	r := &st.values[sl.path]
	if r.done {
		return r, nil
	}
	p := t.paths[sl.path]
	root := &st.roots[p.root]
	if !root.done { // each variable is looked up, and indexed if raw, once
		v, ok := vars[t.roots[p.root]]
		raw, err := asRaw(v)
		if err != nil {
			return nil, err
		}
		if raw.j != nil {
			v = nil
		}
		*root = value{v: v, raw: raw, ok: ok, done: true}
	}
	v, raw, ok := root.v, root.raw, root.ok
	for i := p.from + 1; i < p.to; i++ {
		if !ok {
			v, ok = nil, true
			continue
		}
		var err error
		if v, raw, ok, err = t.step(v, raw, p.name, i); err != nil {
			return nil, err
		}
	}
	if raw.j == nil { // a value that is raw JSON itself
		r, err := asRaw(v)
		if err != nil {
			return nil, err
		}
		if r.j != nil {
			v, raw = nil, r
		}
	}
	*r = value{v: v, raw: raw, ok: ok, done: true}
	return r, nil
}

// step is one step of a path from v (or raw, if set) to the member named
// by segment i, the element at its index, or an array's length.
func (t *Template) step(v any, raw rawRef, name string, i int32) (any, rawRef, bool, error) {
	sg := t.segs[i]
	key := name[sg.from:sg.to]
	if raw.j == nil {
		switch x := v.(type) {
		case map[string]any: // a nil map or slice is null, as encoding/json writes it
			v, ok := x[key]
			return v, rawRef{}, ok || x == nil, nil
		case []any:
			switch {
			case x == nil:
				return nil, rawRef{}, true, nil
			case sg.index >= 0 && int(sg.index) < len(x):
				return x[sg.index], rawRef{}, true, nil
			case key == "length":
				return float64(len(x)), rawRef{}, true, nil
			}
			return nil, rawRef{}, false, nil
		}
		var err error
		if raw, err = asRaw(v); raw.j == nil || err != nil { // a scalar or null
			return nil, rawRef{}, true, err
		}
	}
	v, raw, ok := raw.step(key, sg.index, t.hash(i))
	return v, raw, ok, nil
}

// asRaw returns v as a value inside a JSON if it is not one of the values
// encoding/json decodes to: a *JSON, a json.RawMessage (indexed), or any
// other Go value by its encoding/json encoding. It returns an empty rawRef
// for those, and for null.
func asRaw(v any) (rawRef, error) {
	switch x := v.(type) {
	case nil, string, bool, float64, map[string]any, []any:
		return rawRef{}, nil
	case *JSON:
		if x == nil {
			return rawRef{}, nil
		}
		return x.root(), nil
	case json.RawMessage:
		if x == nil {
			return rawRef{}, nil
		}
		j, err := IndexJSON(x)
		if err != nil {
			return rawRef{}, err
		}
		return j.root(), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return rawRef{}, err
	}
	j, err := IndexJSON(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}))
	if err != nil {
		return rawRef{}, err
	}
	return j.root(), nil
}

// falsyJSON tells whether JavaScript would take the value encoded in b as
// false: null, false, "" or a number equal to zero.
func falsyJSON(b []byte) bool {
	switch {
	case b[0] == 'n', b[0] == 'f':
		return true
	case b[0] == '"':
		return len(b) == 2
	case b[0] == '-' || '0' <= b[0] && b[0] <= '9':
		f, err := strconv.ParseFloat(string(b), 64)
		return err == nil && f == 0
	}
	return false
}

// appendJSON appends v as JSON.stringify would write it.
func (st *state) appendJSON(b []byte, v any, depth int) ([]byte, error) {
	if len(b) > st.limit {
		return nil, errTooLarge
	}
	switch x := v.(type) {
	case string:
		return appendString(b, x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...), nil
		}
		return appendNumber(b, x), nil
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case json.Number:
		if numberEnd(string(x), 0) != len(x) {
			return nil, fmt.Errorf("json.Number %q is not a JSON number", string(x))
		}
		return append(b, x...), nil
	case map[string]any:
		if x == nil {
			return append(b, "null"...), nil
		}
		return st.appendMap(b, x, depth)
	case []any:
		if x == nil {
			return append(b, "null"...), nil
		}
		if depth > maxDepth {
			return nil, errTooDeep
		}
		b = append(b, '[')
		var err error
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = st.appendJSON(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	r, err := asRaw(v)
	if err != nil {
		return nil, err
	}
	if r.j == nil {
		return append(b, "null"...), nil
	}
	return append(b, r.text()...), nil
}

// appendMap appends m as an object with its keys sorted: Go maps have no
// order, and a body must not change from one delivery to the next. The
// members are sorted by their indexes in st.pairs: moving an index costs
// no write barrier, moving a pair three (2.5× the time of a render of the
// default template from a Go map when the collector runs).
func (st *state) appendMap(b []byte, m map[string]any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	if len(m) <= 16 { // sorted on the stack, where moving a pair costs no write barrier
		var local [16]pair
		pairs := local[:0]
		for k, v := range m {
			pairs = append(pairs, pair{k, v})
		}
		slices.SortFunc(pairs, func(a, b pair) int { return strings.Compare(a.key, b.key) })
		return st.appendPairs(b, pairs, nil, depth)
	}
	base, order := len(st.pairs), len(st.order)
	for k, v := range m {
		st.order = append(st.order, int32(len(st.pairs)-base))
		st.pairs = append(st.pairs, pair{k, v})
	}
	pairs, idx := st.pairs[base:], st.order[order:] // stay valid if a map inside grows them
	slices.SortFunc(idx, func(i, j int32) int { return strings.Compare(pairs[i].key, pairs[j].key) })
	b, err := st.appendPairs(b, pairs, idx, depth)
	clear(st.pairs[base:]) // the pooled state keeps no values
	st.pairs, st.order = st.pairs[:base], st.order[:order]
	return b, err
}

// appendPairs writes an object of pairs, in the order of idx if not nil.
func (st *state) appendPairs(b []byte, pairs []pair, idx []int32, depth int) ([]byte, error) {
	b = append(b, '{')
	var err error
	for n := range pairs {
		if n > 0 {
			b = append(b, ',')
		}
		p := &pairs[n]
		if idx != nil {
			p = &pairs[idx[n]]
		}
		b = append(appendString(b, p.key), ':')
		if b, err = st.appendJSON(b, p.v, depth+1); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendCoerced appends String(v) as JavaScript computes it, escaped as
// JSON string content.
func (st *state) appendCoerced(b []byte, v *value) ([]byte, error) {
	switch {
	case v.raw.j != nil:
		return appendRawCoerced(b, v.raw, 0)
	case !v.ok:
		return append(b, "undefined"...), nil
	case v.v == nil:
		return append(b, "null"...), nil
	}
	return appendGoCoerced(b, v.v, 0)
}

// appendGoCoerced is appendCoerced for a value as encoding/json decodes
// it. An array is joined as Array.prototype.join does: elements with
// commas, null as nothing, arrays inside joined too.
func appendGoCoerced(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	switch x := v.(type) {
	case string:
		return appendStringContent(b, x), nil
	case float64:
		return appendNumber(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case map[string]any:
		return append(b, "[object Object]"...), nil
	case []any:
		var err error
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if r, _ := asRaw(e); r.j != nil || e == nil {
				b, err = appendRawCoerced(b, r, depth+1)
			} else {
				b, err = appendGoCoerced(b, e, depth+1)
			}
			if err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	r, err := asRaw(v)
	if err != nil {
		return nil, err
	}
	return appendRawCoerced(b, r, depth)
}

// appendRawCoerced is appendCoerced for a value inside a JSON, or null;
// in an array, null is nothing.
func appendRawCoerced(b []byte, r rawRef, depth int) ([]byte, error) {
	if r.j == nil {
		if depth > 0 {
			return b, nil
		}
		return append(b, "null"...), nil
	}
	if depth > maxDepth {
		return nil, errTooDeep
	}
	switch text := r.text(); text[0] {
	case '"':
		if s := text[1 : len(text)-1]; strings.IndexByte(s, '\\') < 0 && utf8.ValidString(s) {
			return append(b, s...), nil // holds nothing that needs escaping
		}
		return appendStringContent(b, unquote(text)), nil
	case '{':
		return append(b, "[object Object]"...), nil
	case 't', 'f':
		return append(b, text...), nil
	case '[':
		n := r.j.nodes[r.node]
		var err error
		for k := n.from; k < n.to; k++ {
			if k > n.from {
				b = append(b, ',')
			}
			if b, err = appendRawCoerced(b, r.j.ref(&r.j.items[k]), depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	default:
		f, _ := strconv.ParseFloat(text, 64) // out of range gives ±Inf, as in JavaScript
		return appendNumber(b, f), nil
	}
}

// appendNumber appends f as JavaScript's Number.prototype.toString writes
// it: the shortest digits that read back as f, in fixed notation from 1e-6
// up to 1e21, else as d.ddde±x.
func appendNumber(b []byte, f float64) []byte {
	switch a := math.Abs(f); {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 0):
		if f < 0 {
			b = append(b, '-')
		}
		return append(b, "Infinity"...)
	case f == 0:
		return append(b, '0') // -0 too
	case a < 1<<53 && a == math.Trunc(a):
		return strconv.AppendInt(b, int64(f), 10)
	case a >= 1e-6 && a < 1e21:
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	b = strconv.AppendFloat(b, f, 'e', -1, 64)
	// Go writes two exponent digits at least, JavaScript no leading zero.
	if n := len(b); b[n-2] == '0' && (b[n-3] == '-' || b[n-3] == '+') {
		b = append(b[:n-2], b[n-1])
	}
	return b
}

// stringSafe marks the bytes a JSON string holds as they are: printable
// ASCII but '"' and '\\'.
var stringSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func appendString(b []byte, s string) []byte {
	return append(appendStringContent(append(b, '"'), s), '"')
}

// appendStringContent escapes s as JSON.stringify does; invalid UTF-8
// becomes U+FFFD.
func appendStringContent(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && !hasSpecial(s[i:i+8]) {
			i += 8
			continue
		}
		c := s[i]
		if stringSafe[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			if r, size := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		b = append(b, s[start:i]...)
		switch {
		case c >= utf8.RuneSelf:
			b = append(b, `\ufffd`...)
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case strings.IndexByte("\b\f\n\r\t", c) >= 0:
			b = append(b, '\\', "bfnrt"[strings.IndexByte("\b\f\n\r\t", c)])
		default:
			b = append(b, '\\', 'u', '0', '0', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		}
		i++
		start = i
	}
	return append(b, s[start:]...)
}

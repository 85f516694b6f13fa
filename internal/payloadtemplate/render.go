package payloadtemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Rendering of a parsed template: literal chunks and JSON-encoded values
// appended into one buffer, written as JSON.stringify writes them.

// tmplState is per-render scratch space, pooled so that rendering allocates
// only its output.
type tmplState struct {
	buf       []byte      // the body being written
	values    []tmplValue // per path, its value once resolved in this render
	pairs     []tmplPair  // stack of the members of large maps being written
	pairsUsed int         // most pairs held at once in this render
	packed    []uint64    // ... and of their keys, packed to be sorted (see tmplPackKey)
	flags     []bool
	shapes    tmplShapes // of the maps written in renders with this state

	rawIndexes []tmplRawIndex // raw objects and arrays a path looked into
	rawItems   []tmplRawItem  // ... and their members or elements
}

// tmplValue is the value of a path, as resolve returns it.
type tmplValue struct {
	v any
	// raw is the value as raw JSON when it lies inside a json.RawMessage
	// variable (v is then nil): found without decoding, and written as it
	// is.
	raw      tmplRaw
	ok, done bool
}

var tmplStatePool = sync.Pool{New: func() any { return new(tmplState) }}

// tmplMaxPooledBuf is the largest body buffer a tmplState keeps in the pool.
const tmplMaxPooledBuf = 256 << 10

func (st *tmplState) release() {
	if cap(st.buf) > tmplMaxPooledBuf || max(cap(st.values), cap(st.pairs), cap(st.flags), cap(st.rawIndexes), cap(st.rawItems)) > tmplScratchMax {
		return // leave a large render's scratch space to the collector
	}
	clear(st.values) // let the values go
	clear(st.pairs[:st.pairsUsed])
	clear(st.rawIndexes)
	st.values, st.pairs, st.pairsUsed, st.packed = st.values[:0], st.pairs[:0], 0, st.packed[:0]
	st.rawIndexes, st.rawItems = st.rawIndexes[:0], st.rawItems[:0]
	tmplStatePool.Put(st)
}

// value returns the value of the path of slot, resolved once per render
// (resolveAll resolves them all, unless a step fails): a template may use a
// path many times, and the variables do not change while it renders.
func (t *Template) value(st *tmplState, slot tmplSlot, vars map[string]any) (*tmplValue, error) {
	return t.pathValue(st, slot.path, slot, vars)
}

// pathValue resolves path id, and the paths it steps from, once per render;
// errors name the placeholder at slot.
func (t *Template) pathValue(st *tmplState, id int32, slot tmplSlot, vars map[string]any) (*tmplValue, error) {
	r := &st.values[id]
	if !r.done {
		if err := t.resolve(st, id, slot, vars, r); err != nil {
			return nil, err
		}
		r.done = true
	}
	return r, nil
}

// resolveAll resolves the paths before a render writes anything, parents
// before the paths that step from them. A step into a map, the common case,
// is a lookup here. At the first path whose value cannot be found (a value
// that encoding/json cannot encode, raw JSON that is not valid) it stops
// and leaves that path and the ones after it to be resolved as the render
// meets them, so that the error names the placeholder being written.
func (t *Template) resolveAll(st *tmplState, vars map[string]any) {
	vals := st.values[:len(t.paths)]
	for i := range t.paths {
		p, r := &t.paths[i], &vals[i]
		switch {
		case p.parent < 0:
			r.v, r.ok = vars[p.key]
		case !vals[p.parent].ok:
			r.ok = true // a step from undefined: null
		default:
			if m, isMap := vals[p.parent].v.(map[string]any); isMap && m != nil {
				r.v, r.ok = m[p.key]
			} else if err := t.resolve(st, int32(i), tmplSlot{path: int32(i)}, vars, r); err != nil {
				clear(vals[i:])
				return
			}
		}
		r.done = true
	}
}

func (t *Template) appendRender(b []byte, vars map[string]any, st *tmplState) ([]byte, error) {
	if cap(st.values) < len(t.paths) {
		st.values = make([]tmplValue, len(t.paths))
	}
	st.values = st.values[:len(t.paths)] // all zero: release clears them
	if cap(st.flags) < t.nFlags {
		st.flags = make([]bool, t.nFlags)
	}
	flags := st.flags[:t.nFlags]
	clear(flags)
	t.resolveAll(st, vars)
	var err error
	for i := range t.ops {
		op := &t.ops[i]
		b = append(b, t.str(op.lit)...)
		switch op.kind {
		case tmplOpRaw:
			b, err = t.appendRaw(b, op, vars, st)
		case tmplOpExact:
			var v *tmplValue
			if v, err = t.value(st, op.tmplSlot, vars); err == nil {
				if !v.ok {
					b = append(b, "null"...)
				} else {
					b, err = t.appendValue(b, v, op.tmplSlot, st)
				}
			}
		case tmplOpMember:
			var v *tmplValue
			if v, err = t.value(st, op.tmplSlot, vars); err == nil && v.ok {
				if flags[op.flag] {
					b = append(b, ',')
				}
				flags[op.flag] = true
				b = append(b, t.str(op.aux)...)
				b, err = t.appendValue(b, v, op.tmplSlot, st)
			}
		case tmplOpNull:
			b = append(b, "null"...)
		case tmplOpSep:
			if flags[op.flag] {
				b = append(b, ',')
			}
			flags[op.flag] = true
		case tmplOpPartial:
			b = append(b, '"')
			for k := op.aux.from; k < op.aux.to; k++ {
				p := &t.parts[k]
				b = append(b, t.str(p.lit)...)
				if p.path < 0 {
					continue
				}
				var v *tmplValue
				if v, err = t.value(st, p.tmplSlot, vars); err != nil {
					break
				}
				if b, err = st.appendCoercedValue(b, v); err != nil {
					err = t.valueError(p.tmplSlot, err)
					break
				}
			}
			b = append(b, '"')
		}
		if err != nil {
			return nil, err
		}
	}
	return append(b, t.tail...), nil
}

func (t *Template) appendRaw(b []byte, op *tmplOp, vars map[string]any, st *tmplState) ([]byte, error) {
	v, err := t.value(st, op.tmplSlot, vars)
	if err != nil {
		return nil, err
	}
	if !v.ok {
		return append(b, "null"...), nil
	}
	truthy := -1 // raw JSON: decided by its text
	if v.raw.b == nil {
		truthy = tmplTruthy(v.v)
	}
	switch truthy {
	case 0:
		return append(b, "null"...), nil
	case 1:
		return t.appendValue(b, v, op.tmplSlot, st)
	}
	// Decide by the encoding: falsy values encode as null, false, "" or 0.
	start := len(b)
	b, err = t.appendValue(b, v, op.tmplSlot, st)
	if err != nil {
		return nil, err
	}
	if tmplFalsyJSON(b[start:]) {
		b = append(b[:start], "null"...)
	}
	return b, nil
}

func (t *Template) appendValue(b []byte, v *tmplValue, slot tmplSlot, st *tmplState) ([]byte, error) {
	var err error
	if v.raw.b != nil {
		b, err = v.raw.appendJSON(b)
	} else {
		b, err = st.appendJSON(b, v.v)
	}
	if err != nil {
		return nil, t.valueError(slot, err)
	}
	return b, nil
}

func (t *Template) valueError(slot tmplSlot, err error) error {
	var te *Error
	if errors.As(err, &te) {
		return te
	}
	name := t.paths[slot.path].name
	e := t.newError(err, int(slot.at), fmt.Sprintf("cannot encode the value of {{%s}}: %v", name, err), "")
	e.Variable = name
	return e
}

// resolve follows a dot path as the platform does, into r: the value of path
// id is its variable's, or one step from the value of its parent. r.ok is
// false when the value is undefined in JavaScript terms; a step into
// anything that is not an object or array gives null. (r is filled in place:
// a tmplValue is too large to return cheaply.)
func (t *Template) resolve(st *tmplState, id int32, slot tmplSlot, vars map[string]any, r *tmplValue) error {
	p := &t.paths[id]
	if p.parent < 0 {
		r.v, r.ok = vars[p.key]
		return nil
	}
	from, err := t.pathValue(st, p.parent, slot, vars)
	if err != nil {
		return err
	}
	r.ok = true // null, unless a step below finds more
	if !from.ok {
		return nil
	}
	key := p.key
	v, raw := from.v, from.raw
	for {
		if raw.b != nil {
			rv, next, ok, handled := st.rawStep(raw.b, p.index, key)
			if handled {
				r.v, r.raw, r.ok = rv, next, ok
				return nil
			}
			// Not JSON the scanner takes: decoding says why, or copes
			// with what the scanner does not.
			if v, err = t.normalize(slot, raw.b); err != nil {
				return err
			}
			raw = tmplRaw{}
		}
		var ok bool
		switch x := v.(type) {
		case map[string]any:
			v, ok = tmplKey(x, key)
		case []any:
			v, ok = tmplIndex(x, p.index, key)
		case map[string]string:
			v, ok = tmplKey(x, key)
		case []string:
			v, ok = tmplIndex(x, p.index, key)
		case json.RawMessage:
			if len(x) > 0 {
				raw = tmplRaw{b: x}
				continue // step into the raw JSON
			}
			if v, err = t.normalize(slot, x); err != nil {
				return err
			}
			continue // step into the decoded value
		case nil, string, bool, float64, float32, int, int8, int16, int32, int64,
			uint, uint8, uint16, uint32, uint64, uintptr, json.Number:
			return nil
		default:
			if v, err = t.normalize(slot, v); err != nil {
				return err
			}
			continue // step into the decoded value
		}
		r.v, r.ok = v, ok
		return nil
	}
}

// normalize decodes v with tmplNormalize; an error names the placeholder.
func (t *Template) normalize(slot tmplSlot, v any) (any, error) {
	n, err := tmplNormalize(v)
	if err != nil {
		return nil, t.valueError(slot, err)
	}
	return n, nil
}

// tmplKey is a step into a map: its member named key. A nil map is null,
// as encoding/json writes it.
func tmplKey[V any](m map[string]V, key string) (any, bool) {
	if m == nil {
		return nil, true
	}
	v, ok := m[key]
	return v, ok
}

// tmplIndex is a step into an array: its element at index (a canonical array
// index or -1), or its length. A nil slice is null, as encoding/json writes
// it.
func tmplIndex[E any](a []E, index int, key string) (any, bool) {
	if a == nil {
		return nil, true
	}
	if index >= 0 && index < len(a) {
		return a[index], true
	}
	if key == "length" {
		return float64(len(a)), true
	}
	return nil, false
}

// tmplNormalize turns a Go value that is not one of the types encoding/json
// decodes into by itself into one, by encoding and decoding it.
func tmplNormalize(v any) (any, error) {
	raw, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = tmplMarshal(v); err != nil {
			return nil, err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: more after the value")
	}
	return out, nil
}

func tmplMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// tmplTruthy tells whether JavaScript would take v as true (1) or false (0),
// or -1 when it can only tell from v's encoding.
func tmplTruthy(v any) int {
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	switch x := v.(type) {
	case nil:
		return 0
	case bool:
		return b2i(x)
	case string:
		return b2i(x != "")
	case float64:
		return b2i(x != 0 && !math.IsNaN(x))
	case float32:
		return b2i(x != 0 && !math.IsNaN(float64(x)))
	case int:
		return b2i(x != 0)
	case int64:
		return b2i(x != 0)
	case int32:
		return b2i(x != 0)
	case uint64:
		return b2i(x != 0)
	case uint:
		return b2i(x != 0)
	case map[string]any:
		return b2i(x != nil)
	case []any:
		return b2i(x != nil)
	case map[string]string:
		return b2i(x != nil)
	case []string:
		return b2i(x != nil)
	}
	return -1
}

// tmplFalsyJSON tells whether JavaScript would take the value encoded in b as
// false: null, false, "" or a number equal to zero.
func tmplFalsyJSON(b []byte) bool {
	switch {
	case len(b) == 0:
		return true
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
func (st *tmplState) appendJSON(b []byte, v any) ([]byte, error) {
	// Most values in a run are numbers and strings: test for them first.
	if f, ok := v.(float64); ok {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...), nil
		}
		return tmplAppendNumber(b, f, 64), nil
	}
	if s, ok := v.(string); ok {
		return tmplAppendString(b, s), nil
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return append(b, "null"...), nil
		}
		return tmplAppendNumber(b, float64(x), 32), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case json.Number:
		if !tmplValidNumber(string(x)) {
			return nil, fmt.Errorf("json.Number %q is not a JSON number", string(x))
		}
		return append(b, x...), nil
	case map[string]any:
		if x == nil {
			return append(b, "null"...), nil
		}
		return st.appendMap(b, x, nil)
	case []any:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		var err error
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = st.appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case []string:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = tmplAppendString(b, e)
		}
		return append(b, ']'), nil
	case json.RawMessage:
		if x == nil {
			return append(b, "null"...), nil
		}
		return tmplAppendRawJSON(b, x)
	}
	enc, err := tmplMarshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}

// tmplValidNumber reports whether s is a JSON number.
func tmplValidNumber(s string) bool {
	return tmplNumberEnd(s, 0) == len(s)
}

// appendCoerced appends String(v) as JavaScript computes it, escaped as JSON
// string content; defined is false for undefined.
func (st *tmplState) appendCoerced(b []byte, v any, defined bool) ([]byte, error) {
	if s, ok := v.(string); ok { // the most common value, first
		return tmplAppendStringContent(b, s), nil
	}
	if !defined {
		return append(b, "undefined"...), nil
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		return tmplAppendNumber(b, x, 64), nil
	case float32:
		return tmplAppendNumber(b, float64(x), 32), nil
	case json.Number:
		if !tmplValidNumber(string(x)) {
			return nil, fmt.Errorf("json.Number %q is not a JSON number", string(x))
		}
		f, _ := strconv.ParseFloat(string(x), 64) // out of range gives ±Inf, as in JavaScript
		return tmplAppendNumber(b, f, 64), nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return st.appendJSON(b, x)
	case map[string]any, map[string]string:
		return append(b, "[object Object]"...), nil
	case []any:
		var err error
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if e == nil {
				continue // join writes null and undefined as nothing
			}
			if b, err = st.appendCoerced(b, e, true); err != nil {
				return nil, err
			}
		}
		return b, nil
	case []string:
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = tmplAppendStringContent(b, e)
		}
		return b, nil
	}
	n, err := tmplNormalize(v)
	if err != nil {
		return nil, err
	}
	return st.appendCoerced(b, n, true)
}

// tmplPlain marks the ASCII bytes a JSON string holds as they are.
var tmplPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// tmplPlainLen returns the length of the longest start of s made of bytes
// that a JSON string holds as they are (see tmplPlain). It tests eight bytes
// at a time, the last word overlapping the one before.
func tmplPlainLen(s string) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for len(s) >= 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		// The high bits of x mark the bytes of non-ASCII characters;
		// subtracting ones from x^(ones*c) sets the high bit of a byte
		// where x has c (whose byte there is zero), and subtracting
		// ones*0x20 from x that of a byte below 0x20. A borrow may set
		// high bits above such a byte, but none below the first: the
		// lowest bit set marks the first byte that needs a look.
		if m := (x | (x - ones*0x20) | (x ^ (ones * '"') - ones) | (x ^ (ones * '\\') - ones)) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		if i+8 == len(s) {
			return len(s)
		}
		i = min(i+8, len(s)-8)
	}
	for i < len(s) && tmplPlain[s[i]] {
		i++
	}
	return i
}

func tmplAppendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = tmplAppendStringContent(b, s)
	return append(b, '"')
}

// tmplAppendStringContent escapes s as JSON.stringify does; invalid UTF-8
// becomes U+FFFD.
func tmplAppendStringContent(b []byte, s string) []byte {
	if n := tmplPlainLen(s); n < len(s) {
		return tmplAppendEscaped(b, s, n)
	}
	return append(b, s...)
}

// tmplAppendEscaped is tmplAppendStringContent for a string whose first
// byte to escape, or to check for UTF-8, is at i.
func tmplAppendEscaped(b []byte, s string, i int) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i < len(s) {
		if i += tmplPlainLen(s[i:]); i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

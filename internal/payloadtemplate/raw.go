package payloadtemplate

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// Raw JSON values (json.RawMessage) among a template's variables: checked and
// copied as they are, and looked into by dot paths without being decoded. The
// local platform hands each run to the renderer this way, so a delivery
// neither decodes the run nor encodes it again.

// tmplJSONDepth is how deep tmplJSONEnd follows nested arrays and objects;
// deeper values take encoding/json's path.
const tmplJSONDepth = 64

// tmplJSONEnd returns the end of the JSON value that starts at b[i], or -1 if
// there is none there or it is nested deeper than depth (at most 64).
// compact reports that the value holds no whitespace outside strings, so
// that json.Compact would copy it unchanged. Like json.Compact, it does not
// check UTF-8. It keeps the containers it is in as bits of one word, rather
// than recursing: most values are a string or a number, and most whitespace
// checks find none.
func tmplJSONEnd(b []byte, i, depth int) (end int, compact bool) {
	depth = min(depth, 64)
	var objects uint64 // bit d is set when the container at depth d+1 is an object
	open := 0          // how many containers i is in
	compact = true
value:
	for {
		if i >= len(b) {
			return -1, false
		}
		switch c := b[i]; c {
		case '"':
			i = tmplJSONStringEnd(b, i)
		case '{', '[':
			if open == depth {
				return -1, false
			}
			objects &^= 1 << open
			if c == '{' {
				objects |= 1 << open
			}
			open++
			if i++; i < len(b) && b[i] <= ' ' {
				i, compact = tmplSkipSpace(b, i), false
			}
			if i < len(b) && b[i] == c+2 { // '}' follows '{' by two, as ']' follows '['
				open--
				i++
				break
			}
			if c == '{' {
				if i = tmplJSONMemberName(b, i, &compact); i < 0 {
					return -1, false
				}
			}
			continue value
		case 't':
			i = tmplLiteralEnd(b, i, "true")
		case 'f':
			i = tmplLiteralEnd(b, i, "false")
		case 'n':
			i = tmplLiteralEnd(b, i, "null")
		default:
			i = tmplNumberEnd(b, i)
		}
		// After a value: close containers until a ',' needs another.
		for {
			if i < 0 {
				return -1, false
			}
			if open == 0 {
				return i, compact
			}
			if i < len(b) && b[i] <= ' ' {
				i, compact = tmplSkipSpace(b, i), false
			}
			if i >= len(b) {
				return -1, false
			}
			obj := objects&(1<<(open-1)) != 0
			switch c := b[i]; {
			case c == ',':
				if i++; i < len(b) && b[i] <= ' ' {
					i, compact = tmplSkipSpace(b, i), false
				}
				if obj {
					if i = tmplJSONMemberName(b, i, &compact); i < 0 {
						return -1, false
					}
				}
				continue value
			case obj && c == '}', !obj && c == ']':
				open--
				i++
			default:
				return -1, false
			}
		}
	}
}

// tmplJSONMemberName checks the member name and colon at b[i] and returns
// where the member's value starts, or -1; it clears compact on whitespace.
func tmplJSONMemberName(b []byte, i int, compact *bool) int {
	if i = tmplJSONStringEnd(b, i); i < 0 {
		return -1
	}
	if i < len(b) && b[i] <= ' ' {
		i, *compact = tmplSkipSpace(b, i), false
	}
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	if i++; i < len(b) && b[i] <= ' ' {
		i, *compact = tmplSkipSpace(b, i), false
	}
	return i
}

func tmplLiteralEnd(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// tmplSkipSpace returns the index of the first byte at or after i that is
// not JSON whitespace.
func tmplSkipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// tmplJSONStringEnd returns the end of the JSON string at b[i], or -1.
func tmplJSONStringEnd(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for i++; ; {
		i += tmplStringRun(b[i:])
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := tmplHex4(b, i+2); !ok {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
}

// tmplStringByte marks the bytes a JSON string holds as they are: all but '"',
// '\\' and the control characters.
var tmplStringByte = func() (t [256]bool) {
	for c := 0x20; c < len(t); c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// tmplStringRun returns the length of the start of b made of bytes that a JSON
// string holds as they are (see tmplStringByte), eight bytes at a time.
func tmplStringRun(b []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// (v-ones)&^v sets the high bit of each zero byte of v, and
		// (x-ones*0x20)&^x that of each byte of x below 0x20: here, a
		// quote, a backslash or a control. A borrow may set high bits
		// above the first such byte too, but never below it, so the
		// lowest bit set marks it.
		q, s := x^(ones*'"'), x^(ones*'\\')
		if m := ((q-ones)&^q | (s-ones)&^s | (x-ones*0x20)&^x) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(b) && tmplStringByte[b[i]] {
		i++
	}
	return i
}

// tmplRawIndex lists the members of a raw JSON object, or the elements of a
// raw array, that a path stepped into during a render: each raw value is
// scanned once however many paths look into it.
type tmplRawIndex struct {
	at    *byte // the first byte of the raw value, which identifies it
	n     int   // and its length
	items tmplSpan
	array bool
}

// tmplRawItem is a member of a raw object (its name, quotes included, and its
// value) or an element of a raw array (its value), as offsets into the raw
// value.
type tmplRawItem struct {
	key, value tmplSpan
	hash       uint32 // tmplKeyHash of the name, if it has no escapes
	escaped    bool   // the name has escapes
	compact    bool   // the value holds no whitespace outside strings
}

// tmplKeyHash is a fingerprint of a name, from its length and two of its
// bytes: addPath and rawStep compare names only where fingerprints agree.
func tmplKeyHash[T string | []byte](name T) uint32 {
	if len(name) == 0 {
		return 0
	}
	return uint32(len(name))<<16 | uint32(name[len(name)/2])<<8 | uint32(name[len(name)-1])
}

// tmplRaw is a value that a path found inside a raw JSON variable. Once a
// scan has found it, it is known to be valid JSON, without whitespace around
// it, and compact or not.
type tmplRaw struct {
	b       json.RawMessage
	compact bool
}

// rawStep follows one step of a path into the raw JSON value raw: the member
// named key, or the element at index (a canonical array index or -1), or an
// array's length. It returns what a step into the decoded value would:
// ok is false for undefined; a value other than null and a length comes as
// raw JSON (next), without being decoded. handled is false when raw is not
// valid JSON, or too deep or large for the scanner: the caller then decodes
// it, and reports the error if there is one.
func (st *tmplState) rawStep(raw json.RawMessage, index int, key string) (v any, next tmplRaw, ok, handled bool) {
	i := tmplSkipSpace(raw, 0)
	if i >= len(raw) || len(raw) > tmplMaxText {
		return nil, tmplRaw{}, false, false
	}
	if c := raw[i]; c != '{' && c != '[' {
		// A step into a string, number, boolean or null gives null.
		end, _ := tmplJSONEnd(raw, i, tmplJSONDepth)
		if end < 0 || tmplSkipSpace(raw, end) != len(raw) {
			return nil, tmplRaw{}, false, false
		}
		return nil, tmplRaw{}, true, true
	}
	x, found := st.rawIndexOf(raw, i)
	if !found {
		return nil, tmplRaw{}, false, false
	}
	items := st.rawItems[x.items.from:x.items.to]
	switch {
	case x.array && index >= 0 && index < len(items):
		return nil, tmplRawValue(raw, &items[index]), true, true
	case x.array && key == "length":
		return float64(len(items)), tmplRaw{}, true, true
	case x.array:
		return nil, tmplRaw{}, false, true
	}
	h := tmplKeyHash(key)
	for k := len(items) - 1; k >= 0; k-- { // of members with one name, JSON.parse keeps the last
		it := &items[k]
		if it.hash == h && !it.escaped && string(raw[it.key.from+1:it.key.to-1]) == key ||
			it.escaped && tmplUnquote(string(raw[it.key.from:it.key.to])) == key {
			return nil, tmplRawValue(raw, it), true, true
		}
	}
	return nil, tmplRaw{}, false, true
}

// tmplRawValue returns the value of item it of raw; a null goes on as a
// decoded null (an empty tmplRaw).
func tmplRawValue(raw json.RawMessage, it *tmplRawItem) tmplRaw {
	v := raw[it.value.from:it.value.to:it.value.to]
	if v[0] == 'n' {
		return tmplRaw{}
	}
	return tmplRaw{b: v, compact: it.compact}
}

// tmplAppendRawJSON appends the JSON value raw, compacted.
func tmplAppendRawJSON(b []byte, raw json.RawMessage) ([]byte, error) {
	if end, compact := tmplJSONEnd(raw, 0, tmplJSONDepth); end == len(raw) && compact {
		// Already compact, as json.Marshal writes it: json.Compact
		// would return it unchanged, at several times the cost.
		return append(b, raw...), nil
	}
	return tmplAppendCompact(b, raw)
}

// tmplAppendCompact appends raw with json.Compact.
func tmplAppendCompact(b []byte, raw json.RawMessage) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// appendJSON appends r, compacted: as it is when it is compact already.
func (r tmplRaw) appendJSON(b []byte) ([]byte, error) {
	if r.compact {
		return append(b, r.b...), nil
	}
	return tmplAppendCompact(b, r.b)
}

// rawIndexOf returns the index of the object or array starting at raw[i],
// scanning it on first use in this render; found is false if raw is not
// valid JSON.
func (st *tmplState) rawIndexOf(raw json.RawMessage, i int) (_ tmplRawIndex, found bool) {
	for _, x := range st.rawIndexes {
		if x.at == &raw[0] && x.n == len(raw) {
			return x, true
		}
	}
	from := len(st.rawItems)
	x := tmplRawIndex{at: &raw[0], n: len(raw), array: raw[i] == '['}
	end := st.rawScan(raw, i)
	if end < 0 || tmplSkipSpace(raw, end) != len(raw) {
		st.rawItems = st.rawItems[:from]
		return tmplRawIndex{}, false
	}
	x.items = tmplSpanOf(from, len(st.rawItems))
	st.rawIndexes = append(st.rawIndexes, x)
	return x, true
}

// rawScan appends the members or elements of the object or array at raw[i]
// to st.rawItems and returns its end, or -1 if it is not valid JSON.
func (st *tmplState) rawScan(raw json.RawMessage, i int) int {
	closing := raw[i] + 2
	obj := raw[i] == '{'
	i = tmplSkipSpace(raw, i+1)
	if i < len(raw) && raw[i] == closing {
		return i + 1
	}
	for {
		var it tmplRawItem
		if obj {
			k := tmplJSONStringEnd(raw, i)
			if k < 0 {
				return -1
			}
			name := []byte(raw[i+1 : k-1])
			it.key, it.escaped = tmplSpanOf(i, k), bytes.IndexByte(name, '\\') >= 0
			if !it.escaped {
				it.hash = tmplKeyHash(name)
			}
			if i = tmplSkipSpace(raw, k); i >= len(raw) || raw[i] != ':' {
				return -1
			}
			i = tmplSkipSpace(raw, i+1)
		}
		end, compact := tmplJSONEnd(raw, i, tmplJSONDepth-1)
		if end < 0 {
			return -1
		}
		it.value, it.compact = tmplSpanOf(i, end), compact
		st.rawItems = append(st.rawItems, it)
		if i = tmplSkipSpace(raw, end); i >= len(raw) {
			return -1
		}
		switch raw[i] {
		case ',':
			i = tmplSkipSpace(raw, i+1)
		case closing:
			return i + 1
		default:
			return -1
		}
	}
}

// appendRawCoerced appends String(v) for the value r, escaped as JSON string
// content, as appendCoerced does for decoded values.
func (st *tmplState) appendRawCoerced(b []byte, r tmplRaw) []byte {
	v := r.b
	switch v[0] {
	case '"':
		if s := v[1 : len(v)-1]; bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
			return append(b, s...) // holds nothing that needs escaping
		}
		return tmplAppendStringContent(b, tmplUnquote(string(v)))
	case '{':
		return append(b, "[object Object]"...)
	case '[':
		// Array.prototype.join: elements with commas, null as nothing.
		x, _ := st.rawIndexOf(v, 0) // found: the scan that found v checked it
		for k := x.items.from; k < x.items.to; k++ {
			if k > x.items.from {
				b = append(b, ',')
			}
			if e := tmplRawValue(v, &st.rawItems[k]); e.b != nil {
				b = st.appendRawCoerced(b, e)
			}
		}
		return b
	case 't', 'f':
		return append(b, v...)
	}
	f, _ := strconv.ParseFloat(string(v), 64) // out of range gives ±Inf, as in JavaScript
	return tmplAppendNumber(b, f, 64)
}

// appendCoercedValue appends String(v) as appendCoerced does, for a value
// that resolve may have left as raw JSON.
func (st *tmplState) appendCoercedValue(b []byte, v *tmplValue) ([]byte, error) {
	if v.raw.b == nil {
		return st.appendCoerced(b, v.v, v.ok)
	}
	return st.appendRawCoerced(b, v.raw), nil
}

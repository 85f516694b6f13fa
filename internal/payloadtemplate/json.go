package payloadtemplate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"strings"
)

// JSON is a JSON value checked, compacted and indexed once so that many
// renders can look into it: put it among a render's variables (the local
// platform passes each run this way, indexed once per event and shared by
// all the event's webhooks). Writing it is a copy of its text; a dot path
// into it finds each member in the index, without scanning the text again.
// It is immutable and safe for concurrent use.
type JSON struct {
	text    string // compact
	nodes   []jsonNode
	items   []jsonItem
	escaped map[int32]string // decoded names that have escapes, by jsonItem.name
	slots   []int32          // the objects' hash tables of member names (see hashNames)
}

// jsonNode is an object or array of a JSON value: its members or elements,
// items[from:to].
type jsonNode struct {
	from, to int32
	slots    int32 // of an object: where its hash table starts in JSON.slots
	array    bool
}

// jsonItem is a member of an object or an element of an array: its name
// is text[name:nameEnd], or escaped[name] if nameEnd < 0;
// its value is text[from:to], node the index of its own node if it is an
// object or array, else -1. Without pointers, items cost the collector
// nothing.
type jsonItem struct {
	name, nameEnd int32
	from, to      int32
	node          int32
}

// rawRef is a value inside a JSON: text[from:to], node as in jsonItem.
type rawRef struct {
	j        *JSON
	from, to int32
	node     int32
}

func (r rawRef) text() string { return r.j.text[r.from:r.to] }

// IndexJSON checks raw as one JSON value (with the template scanner,
// without placeholders; UTF-8 is not checked, as encoding/json does not),
// compacts it if it has whitespace outside strings, and indexes it.
func IndexJSON(raw []byte) (*JSON, error) {
	if len(raw) > math.MaxInt32 {
		return nil, fmt.Errorf("JSON value of %d bytes is over the limit of %d", len(raw), math.MaxInt32)
	}
	j, spaced, err := scanJSON(string(raw))
	if err != nil {
		return nil, fmt.Errorf("invalid JSON at byte %d: %s", err.Offset, strings.ReplaceAll(err.Reason, "the template", "the value"))
	}
	if spaced { // index the compact text: writing a value is then a copy
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, err
		}
		j, _, _ = scanJSON(buf.String())
	}
	j.hashNames()
	return j, nil
}

// scanJSON checks and indexes text, and tells whether it has whitespace
// outside strings.
func scanJSON(text string) (*JSON, bool, *Error) {
	nodes := strings.Count(text, "{") + strings.Count(text, "[") + 1 // at least
	items := strings.Count(text, ",") + nodes
	j := &JSON{text: text, items: make([]jsonItem, 0, items), nodes: make([]jsonNode, 0, nodes)}
	s := scanner{src: text, raw: true, j: j, pending: make([]jsonItem, 0, items), stack: make([]frame, 0, 8)}
	err := s.scan()
	return j, s.spaced, err
}

// root is the whole value as a rawRef; null as an empty one.
func (j *JSON) root() rawRef {
	if j.text == "null" {
		return rawRef{}
	}
	node := int32(-1)
	if len(j.nodes) > 0 {
		node = 0
	}
	return rawRef{j: j, from: 0, to: int32(len(j.text)), node: node}
}

// step returns the member of r named key (whose hash is hash), the
// element at index, or an array's length (as a float64 in v); ok is false
// for undefined. A step into anything else gives null.
func (r rawRef) step(key string, index int32, hash uint32) (v any, next rawRef, ok bool) {
	if r.node < 0 {
		return nil, rawRef{}, true
	}
	n := r.j.nodes[r.node]
	items := r.j.items[n.from:n.to]
	switch {
	case n.array && index >= 0 && int(index) < len(items):
		return nil, r.j.ref(&items[index]), true
	case n.array && key == "length":
		return float64(len(items)), rawRef{}, true
	case n.array || n.to == n.from:
		return nil, rawRef{}, false
	}
	// The member's slot in the object's hash table, by linear probing.
	slots := r.j.slots[n.slots : n.slots+2*nextPow2(n.to-n.from)]
	for p := hash; ; p++ {
		e := slots[p&uint32(len(slots)-1)]
		if e == 0 {
			return nil, rawRef{}, false
		}
		if it := &r.j.items[e-1]; r.j.name(it) == key {
			return nil, r.j.ref(it), true
		}
	}
}

// name returns the decoded name of member it.
func (j *JSON) name(it *jsonItem) string {
	if it.nameEnd < 0 {
		return j.escaped[it.name]
	}
	return j.text[it.name:it.nameEnd]
}

// hashSeed seeds the hashes of member names, in templates' paths and in
// the tables of JSON objects.
var hashSeed = maphash.MakeSeed()

func nextPow2(n int32) int32 {
	p := int32(1)
	for p < n {
		p <<= 1
	}
	return p
}

// hashNames gives each object its hash table of member names, twice as
// many slots as members (a power of two), each holding an item's index
// plus one; of members with one name, the last, as JSON.parse keeps.
func (j *JSON) hashNames() {
	size := int32(0)
	for _, n := range j.nodes {
		if !n.array && n.to > n.from {
			size += 2 * nextPow2(n.to-n.from)
		}
	}
	j.slots = make([]int32, size)
	size = 0
	for i := range j.nodes {
		n := &j.nodes[i]
		if n.array || n.to == n.from {
			continue
		}
		n.slots, size = size, size+2*nextPow2(n.to-n.from)
		slots := j.slots[n.slots:size]
		for k := n.from; k < n.to; k++ {
			name := j.name(&j.items[k])
			for p := uint32(maphash.String(hashSeed, name)); ; p++ {
				e := &slots[p&uint32(len(slots)-1)]
				if *e == 0 || j.name(&j.items[*e-1]) == name {
					*e = k + 1
					break
				}
			}
		}
	}
}

// ref returns item it as a value; a null goes on as a Go nil (r.j nil).
func (j *JSON) ref(it *jsonItem) rawRef {
	if j.text[it.from] == 'n' {
		return rawRef{}
	}
	return rawRef{j: j, from: it.from, to: it.to, node: it.node}
}

// hex4 reads the four hexadecimal digits of a \u escape at s[i].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(s[i:i+4], 16, 16)
	return rune(v), err == nil
}

// numberEnd returns the end of the JSON number at s[i], or -1.
func numberEnd(s string, i int) int {
	digits := func() bool { // at least one
		j := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if !digits() {
		return -1
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return -1
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		if i++; i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return -1
		}
	}
	return i
}

// unquote decodes a JSON string literal that has been checked.
func unquote(lit string) string {
	var s string
	_ = json.Unmarshal([]byte(lit), &s)
	return s
}

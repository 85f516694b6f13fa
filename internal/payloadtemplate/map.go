package payloadtemplate

import (
	"math/bits"
	"slices"
	"strings"
)

// Maps written as JSON objects, with their keys sorted: Go maps have no
// order, and a body must not change from one delivery to the next.

// tmplPair is a member of a map being written.
type tmplPair struct {
	key   string
	value any
}

// tmplStackPairs is the most members of a map that appendMap sorts on the
// stack rather than in the pooled scratch space.
const tmplStackPairs = 16

// tmplSortable is the most members of a map that appendMap sorts by packed
// keys (see tmplPackKey): the index of a member takes a byte.
const tmplSortable = 256

// tmplPackKey packs the first seven bytes of key, big-endian and padded with
// zeros, above i, the member's index in its pairs. Sorting the packed numbers
// sorts the members by those bytes, as strings sort, with no string compared;
// members whose seven bytes agree end up next to each other (see
// tmplSortPacked).
func tmplPackKey(key string, i int) uint64 {
	var p uint64
	if len(key) >= 7 {
		w := key[:7]
		p = uint64(w[0])<<56 | uint64(w[1])<<48 | uint64(w[2])<<40 | uint64(w[3])<<32 |
			uint64(w[4])<<24 | uint64(w[5])<<16 | uint64(w[6])<<8
	} else {
		for k := 0; k < len(key); k++ {
			p |= uint64(key[k]) << (56 - 8*k)
		}
	}
	return p | uint64(i)
}

// tmplSortPacked sorts packed, keys of pairs packed by tmplPackKey, by the
// pairs' keys.
func tmplSortPacked(packed []uint64, pairs []tmplPair) {
	slices.Sort(packed)
	// Order the runs of keys whose first seven bytes agree by whole keys.
	for i := 1; i < len(packed); i++ {
		p := packed[i]
		j := i
		for ; j > 0 && packed[j-1]>>8 == p>>8 && pairs[p&0xff].key < pairs[packed[j-1]&0xff].key; j-- {
			packed[j] = packed[j-1]
		}
		packed[j] = p
	}
}

// appendMap appends x as an object with its keys sorted. hint, if not nil,
// is where the shape of the map last written at this place is kept (see
// tmplShape.child).
func (st *tmplState) appendMap(b []byte, x map[string]any, hint *int8) ([]byte, error) {
	shaped := len(x) >= tmplShapeMin && len(x) <= tmplShapeMax
	if shaped {
		if b, ok, err := st.writeShaped(b, x, hint); ok || err != nil {
			return b, err
		}
	}
	if len(x) > tmplSortable {
		return st.appendLargeMap(b, x)
	}
	var small [tmplStackPairs]tmplPair
	var smallPacked [tmplStackPairs]uint64
	var pairs []tmplPair
	var packed []uint64
	base, packedBase := len(st.pairs), len(st.packed)
	if len(x) <= len(small) {
		pairs, packed = small[:0], smallPacked[:0]
		for k, v := range x {
			packed = append(packed, tmplPackKey(k, len(pairs)))
			pairs = append(pairs, tmplPair{k, v})
		}
	} else {
		for k, v := range x {
			st.packed = append(st.packed, tmplPackKey(k, len(st.pairs)-base))
			st.pairs = append(st.pairs, tmplPair{k, v})
		}
		pairs, packed = st.pairs[base:], st.packed[packedBase:]
		st.pairsUsed = max(st.pairsUsed, len(st.pairs))
	}
	tmplSortPacked(packed, pairs)
	if shaped {
		if i := st.noteShape(pairs, packed); i >= 0 && hint != nil {
			*hint = int8(i)
		}
	}
	b = append(b, '{')
	var err error
	for i, k := range packed {
		if i > 0 {
			b = append(b, ',')
		}
		p := &pairs[k&0xff]
		b = tmplAppendString(b, p.key)
		b = append(b, ':')
		if b, err = st.appendJSON(b, p.value); err != nil {
			return nil, err
		}
	}
	st.pairs, st.packed = st.pairs[:base], st.packed[:packedBase]
	return append(b, '}'), nil
}

// appendLargeMap is appendMap for maps of more than tmplSortable members.
func (st *tmplState) appendLargeMap(b []byte, x map[string]any) ([]byte, error) {
	base := len(st.pairs)
	for k, v := range x {
		st.pairs = append(st.pairs, tmplPair{k, v})
	}
	pairs := st.pairs[base:]
	st.pairsUsed = max(st.pairsUsed, len(st.pairs))
	slices.SortFunc(pairs, func(p, q tmplPair) int { return strings.Compare(p.key, q.key) })
	b = append(b, '{')
	var err error
	for i := range pairs {
		if i > 0 {
			b = append(b, ',')
		}
		b = tmplAppendString(b, pairs[i].key)
		b = append(b, ':')
		if b, err = st.appendJSON(b, pairs[i].value); err != nil {
			return nil, err
		}
	}
	st.pairs = st.pairs[:base]
	return append(b, '}'), nil
}

// Shapes. A render meets maps of the same keys again and again: every run has
// the same members, and so have its stats, usage and options. tmplState keeps
// the shapes of maps, their keys sorted and their names encoded, and writes a
// map of a known shape by looking its keys up in that order: no iteration
// (which costs a random start), no sort, no escaping of names. A map whose
// key set differs is written the plain way; its shape is kept when it comes
// again.
//
// A kept shape also remembers, for each member, the shape of the map that was
// its value last time: a run's stats are found as the stats' shape at once,
// without trying the kept shapes of that size.

const (
	tmplShapeMin   = 1     // a map of one member is still cheaper looked up than iterated
	tmplShapeMax   = 64    // more are seldom the same from render to render
	tmplShapeCap   = 32    // shapes a state keeps (at most 32: tmplShapes.bySize has a bit for each)
	tmplShapeTries = 2     // kept shapes of its size a map without a hint is tried against
	tmplShapeBytes = 16384 // the longest keys, all shapes told, a state keeps
)

// tmplShape is the key set of a map.
type tmplShape struct {
	keys  []string // sorted
	names []byte   // each key as a JSON string and a colon, one after another
	ends  []int32  // where each key's name ends in names
	child []int8   // per member: the kept shape of its value when that was a map, or -1
	bytes int      // the length of the keys
}

// tmplShapes are the shapes a tmplState keeps, and the fingerprints of the
// key sets seen lately, which earn a shape on their second sighting.
type tmplShapes struct {
	kept     [tmplShapeCap]tmplShape
	sizes    [tmplShapeCap]uint8      // len(kept[i].keys), 0 for none
	bySize   [tmplShapeMax + 1]uint32 // by size, a bit for each kept shape of that size
	nextKept int                      // the slot a new shape takes
	bytes    int                      // of the keys of the kept shapes
	seen     [tmplShapeSeen]uint64    // fingerprints, each in the slot it selects
}

// tmplShapeSeen is how many fingerprints of key sets tmplShapes remembers:
// one for each value of a fingerprint's top six bits.
const tmplShapeSeen = 1 << 6

// writeShaped appends x if its key set is a kept shape: the one hint names
// first, then up to tmplShapeTries others of its size. ok is false, with
// nothing appended, if x has none of those shapes. (A shape that x does not
// have may cost writing part of x before the key that tells; bounding the
// tries bounds that waste.)
func (st *tmplState) writeShaped(b []byte, x map[string]any, hint *int8) (_ []byte, ok bool, err error) {
	ss := &st.shapes
	first := -1
	if hint != nil && *hint >= 0 && int(ss.sizes[*hint]) == len(x) {
		first = int(*hint)
		if b, ok, err = st.writeShape(b, x, first); ok || err != nil {
			return b, ok, err
		}
	}
	others := ss.bySize[len(x)]
	if first >= 0 {
		others &^= 1 << first
	}
	tries := 0
	for m := others; m != 0; m &= m - 1 {
		i := bits.TrailingZeros32(m)
		if b, ok, err = st.writeShape(b, x, i); ok || err != nil {
			if ok && hint != nil {
				*hint = int8(i)
			}
			return b, ok, err
		}
		if tries++; tries == tmplShapeTries {
			break
		}
	}
	return b, false, nil
}

// writeShape appends x if its key set is kept shape i; ok is false, with
// nothing appended, if it is not. It writes while it looks the keys up: a
// map whose key set differs is found out at its first key that the shape
// does not have, and what was written for it is taken back.
func (st *tmplState) writeShape(b []byte, x map[string]any, i int) (_ []byte, ok bool, err error) {
	// The slices, not the shape: a map inside may replace the shape.
	sh := st.shapes.kept[i]
	if len(sh.keys) != len(x) {
		return b, false, nil // i was a shape of x's size until a map written meanwhile replaced it
	}
	start := len(b)
	b = append(b, '{')
	from := int32(0)
	for j, k := range sh.keys {
		v, found := x[k]
		if !found {
			return b[:start], false, nil
		}
		if j > 0 {
			b = append(b, ',')
		}
		b = append(b, sh.names[from:sh.ends[j]]...)
		from = sh.ends[j]
		if m, isMap := v.(map[string]any); isMap && m != nil {
			b, err = st.appendMap(b, m, &sh.child[j])
		} else {
			b, err = st.appendJSON(b, v)
		}
		if err != nil {
			return nil, false, err
		}
	}
	// The map has len(sh.keys) keys, all of them sh's: its key set is sh.
	return append(b, '}'), true, nil
}

// noteShape records the key set of a map written the plain way, its members
// pairs in the order of packed: kept if its fingerprint was seen lately. It
// returns the index of the shape kept, or -1.
func (st *tmplState) noteShape(pairs []tmplPair, packed []uint64) int {
	var sig uint64 = uint64(len(packed))
	for _, p := range packed {
		sig = (sig ^ p>>8) * 0x100000001b3 // FNV-style mixing of the sorted prefixes
	}
	ss := &st.shapes
	if slot := &ss.seen[sig>>58]; *slot != sig { // the top bits, the best mixed
		*slot = sig
		return -1
	}
	i := ss.nextKept
	size := 0
	for _, p := range pairs {
		size += len(p.key)
	}
	if ss.bytes-ss.kept[i].bytes+size > tmplShapeBytes {
		return -1 // keys this long would stay in the pool with the state
	}
	// New slices: a shape being written (by a map that holds this one)
	// may be the one replaced.
	n := len(packed)
	sh := tmplShape{keys: make([]string, n), ends: make([]int32, n), child: make([]int8, n), bytes: size}
	for j, p := range packed {
		k := pairs[p&0xff].key
		sh.keys[j] = k
		sh.names = append(tmplAppendString(sh.names, k), ':')
		sh.ends[j] = int32(len(sh.names))
		sh.child[j] = -1
	}
	ss.bytes += size - ss.kept[i].bytes
	ss.bySize[ss.sizes[i]] &^= 1 << i
	ss.bySize[n] |= 1 << i
	ss.kept[i], ss.sizes[i] = sh, uint8(n)
	ss.nextKept = (i + 1) % tmplShapeCap
	return i
}

package payloadtemplate

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Parsing of payload and headers templates: one pass over the template that
// checks it as JSON with every placeholder read as a value and records the
// slots that Render fills (see payload_template.go).

type tmplFrame struct {
	obj  bool
	open int // offset of the '{' or '['
	// With interpolation, an object's members may be left out at render
	// time: id is its index in tmplScanner.objects, sep the index in
	// tmplScanner.ops of its latest separator op, and seps how many it has.
	id, sep, seps int
}

// tmplScanner parses a template. Its slices are scratch space, pooled and
// reused from parse to parse; tmplParse copies out what the template keeps,
// so that a parse allocates little beyond the template itself.
type tmplScanner struct {
	src      string
	what     string
	interp   bool
	allowed  []string
	ops      []tmplOp // in order; separators hold their object's id as flag
	pos      int      // where the text after the last op starts
	paths    []tmplPath
	pathHash []uint32    // per path: tmplKeyHash of its name
	parts    []tmplPart  // of all tmplOpPartial ops
	matches  []tmplMatch // interpolate: the placeholders of one string
	units    []tmplUnit  // interpolate: a string with escapes, decoded
	objects  []bool      // interpolate: per object id, it has a member whose value may be left out
	dead     int         // interpolate: separator ops of objects without such a member
	stack    []tmplFrame
	members  []tmplMemberMark // of a top-level object
	seen     map[string]bool  // finishMembers, for many members
	flags    []int32          // finishOps: per object id, its flag or -1
	pathIDs  map[string]int   // index of each path name in paths, once there are many
	// pathSlots holds, while there are few paths, the index plus one of
	// each in a slot that depends on its tmplKeyHash; 0 marks a free slot.
	pathSlots [tmplPathSlots]uint8
	okRoot    string // checkName: the allowed variable it found last
	strErr    *Error // first unknown variable inside a string
	resumeAt  int    // where the lexical scan resumes after a syntax error
	resumeIn  bool   // ... and whether that is inside a string
}

var tmplScannerPool = sync.Pool{New: func() any { return new(tmplScanner) }}

// tmplScratchMax is the most elements a scratch slice of a scanner or of a
// render's state may have room for when it goes back to its pool: the
// scratch space of a huge template is left to the collector.
const tmplScratchMax = 1 << 14

// release empties the scratch space and returns s to the pool. What is left
// in it keeps the last template's text alive until the scanner is used
// again or the pool is dropped at a collection; clearing it would add a
// sixth to the parse of a small template.
func (s *tmplScanner) release() {
	if max(cap(s.ops), cap(s.stack), cap(s.objects), cap(s.members), cap(s.paths), cap(s.parts), cap(s.units)) > tmplScratchMax {
		return
	}
	if len(s.paths) > 0 {
		clear(s.pathSlots[:])
	}
	s.ops, s.paths, s.pathHash, s.parts = s.ops[:0], s.paths[:0], s.pathHash[:0], s.parts[:0]
	s.objects, s.stack, s.members = s.objects[:0], s.stack[:0], s.members[:0]
	s.pos, s.dead, s.pathIDs, s.okRoot, s.strErr, s.resumeAt, s.resumeIn = 0, 0, nil, "", nil, 0, false
	tmplScannerPool.Put(s)
}

func tmplParse(text string, opts Options, what string) (*Template, error) {
	if len(text) > tmplMaxText {
		return nil, tmplNewError(text, what, ErrInvalidJSON, 0, fmt.Sprintf("the template is %d bytes long, more than the limit of %d", len(text), tmplMaxText), "")
	}
	s := tmplScannerPool.Get().(*tmplScanner)
	defer s.release()
	s.src, s.what, s.interp, s.allowed = text, what, opts.InterpolateStrings, opts.AllowedVariables
	if s.allowed == nil {
		s.allowed = templateDefaultVariables
	}
	if err := s.run(); err != nil {
		return nil, err
	}
	t := &Template{text: text, what: what, paths: tmplClone(s.paths), parts: tmplClone(s.parts), members: s.finishMembers()}
	i := tmplSkipWS(text, 0)
	t.topObject = i < len(text) && text[i] == '{' && !strings.HasPrefix(text[i:], "{{")
	t.ops, t.tail, t.nFlags = s.finishOps()
	return t, nil
}

// tmplClone copies scratch space into a slice of its own; nil when empty.
func tmplClone[E any](s []E) []E {
	if len(s) == 0 {
		return nil
	}
	return append(make([]E, 0, len(s)), s...)
}

// finishMembers returns the top-level members with their names decoded,
// marking those that a later member of the same name overrides (JSON keeps
// the last).
func (s *tmplScanner) finishMembers() []tmplMember {
	if len(s.members) == 0 {
		return nil
	}
	members := make([]tmplMember, len(s.members))
	for i, mm := range s.members {
		key := s.src[mm.keyAt+1 : mm.keyEnd-1]
		if mm.escaped {
			key = tmplUnquote(s.src[mm.keyAt:mm.keyEnd])
		}
		members[i] = tmplMember{key: key, keyAt: mm.keyAt, valueAt: mm.valueAt, value: mm.value}
	}
	if len(members) <= 32 { // a map costs more than going through so few
		// Names are seldom repeated: a filter of the lengths and last bytes
		// of the names after i spares comparing most pairs.
		var filter uint64
		for i := len(members) - 1; i >= 0; i-- {
			key := members[i].key
			h := uint(len(key))
			if key != "" {
				h += uint(key[len(key)-1])
			}
			bit := uint64(1) << (h % 64)
			for j := i + 1; filter&bit != 0 && j < len(members); j++ {
				if members[j].key == key {
					members[i].shadowed = true
					break
				}
			}
			filter |= bit
		}
		return members
	}
	if s.seen == nil {
		s.seen = make(map[string]bool, len(members))
	}
	for i := len(members) - 1; i >= 0; i-- {
		n := len(s.seen)
		s.seen[members[i].key] = true
		members[i].shadowed = len(s.seen) == n // the name was there
	}
	clear(s.seen)
	return members
}

func (s *tmplScanner) run() *Error {
	err := s.scan()
	if err == nil {
		return s.strErr
	}
	if err.Err == ErrInvalidJSON {
		// The platform replaces every placeholder outside strings before it
		// learns the JSON is broken, so an unknown variable anywhere outside
		// strings is reported first.
		if verr := s.lexical(s.resumeAt, s.resumeIn); verr != nil {
			return verr
		}
	}
	return err
}

func (s *tmplScanner) syntaxError(at int, inString bool, reason, hint string) *Error {
	s.resumeAt, s.resumeIn = at, inString
	return tmplNewError(s.src, s.what, ErrInvalidJSON, at, reason, hint)
}

// tmplSkipWS returns the offset of the first byte from src[i] on that is
// not JSON whitespace.
func tmplSkipWS(src string, i int) int {
	for i < len(src) && tmplWS[src[i]] {
		i++
	}
	return i
}

// tmplWS marks the bytes of JSON whitespace.
var tmplWS = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func (s *tmplScanner) found(i int) string {
	if i >= len(s.src) {
		return "the end of the template"
	}
	if strings.HasPrefix(s.src[i:], "{{") {
		return "a placeholder"
	}
	r, _ := utf8.DecodeRuneInString(s.src[i:])
	return strconv.QuoteRune(r)
}

func (s *tmplScanner) container(f *tmplFrame) string {
	line, col := tmplLineCol(s.src, f.open)
	if f.obj {
		return fmt.Sprintf("the object opened at %d:%d", line, col)
	}
	return fmt.Sprintf("the array opened at %d:%d", line, col)
}

// scan parses the template as JSON in which {{...}} outside strings stands for
// a value, recording the ops that fill its slots.
func (s *tmplScanner) scan() *Error {
	const (
		stValue        = iota // a value is expected
		stValueOrClose        // after '['
		stKeyOrClose          // after '{'
		stKey                 // after ',' in an object
		stAfter               // after a value
	)
	src := s.src
	st := stValue
	i := 0
	for {
		i = tmplSkipWS(src, i)
		switch st {
		case stKeyOrClose, stKey:
			top := &s.stack[len(s.stack)-1]
			if i >= len(src) {
				return s.syntaxError(i, false, "unexpected end of the template: "+s.container(top)+" is not closed", "")
			}
			c := src[i]
			if c == '}' {
				if st == stKey {
					return s.syntaxError(i, false, "trailing comma before '}'", "remove the comma after the last member")
				}
				s.pop()
				i++
				st = stAfter
				continue
			}
			if c != '"' {
				if strings.HasPrefix(src[i:], "{{") {
					return s.syntaxError(i, false, "a placeholder cannot be a member name", `member names must be literal strings; put "{{...}}" in a value`)
				}
				return s.syntaxError(i, false, "expected a member name in double quotes, found "+s.found(i), "")
			}
			keyAt := i
			end, _, escaped, err := s.scanString(i, false)
			if err != nil {
				return err
			}
			i = tmplSkipWS(src, end)
			if i >= len(src) || src[i] != ':' {
				return s.syntaxError(i, false, "expected ':' after a member name, found "+s.found(i), "")
			}
			i++
			if len(s.stack) == 1 {
				s.members = append(s.members, tmplMemberMark{keyAt: keyAt, keyEnd: end, escaped: escaped})
			}
			st = stValue

		case stValue, stValueOrClose:
			if i >= len(src) {
				if len(s.stack) == 0 {
					return s.syntaxError(i, false, "the template has no JSON value", "")
				}
				return s.syntaxError(i, false, "unexpected end of the template: "+s.container(&s.stack[len(s.stack)-1])+" is not closed", "")
			}
			c := src[i]
			if c == ']' && len(s.stack) > 0 && !s.stack[len(s.stack)-1].obj {
				if st == stValue {
					return s.syntaxError(i, false, "trailing comma before ']'", "remove the comma after the last element")
				}
				s.stack = s.stack[:len(s.stack)-1]
				i++
				st = stAfter
				continue
			}
			start := i
			memberValue := len(s.stack) == 1 && s.stack[0].obj
			kind, next := byte('o'), stAfter
			switch {
			case c == '{' && strings.HasPrefix(src[i:], "{{"):
				end, err := s.placeholder(i)
				if err != nil {
					return err
				}
				i, kind = end, 'p'
			case c == '{':
				s.stack = append(s.stack, tmplFrame{obj: true, open: i})
				if s.interp {
					top := &s.stack[len(s.stack)-1]
					top.id = len(s.objects)
					s.objects = append(s.objects, false)
					s.separator(top, i+1, i+1)
				}
				i, next = i+1, stKeyOrClose
			case c == '[':
				s.stack = append(s.stack, tmplFrame{open: i})
				i, next = i+1, stValueOrClose
			case c == '"':
				s.matches = s.matches[:0]
				end, brace, escaped, err := s.scanString(i, s.interp)
				if err != nil {
					return err
				}
				kind = 's'
				if s.interp && brace && s.interpolate(i, end, escaped) {
					kind = 'p'
				}
				i = end
			case c == '-' || ('0' <= c && c <= '9'):
				end, err := s.scanNumber(i)
				if err != nil {
					return err
				}
				if tmplMayOverflow(src[i:end]) {
					if f, _ := strconv.ParseFloat(src[i:end], 64); math.IsInf(f, 0) {
						s.emit(tmplOp{kind: tmplOpNull, tmplSlot: tmplSlot{at: int32(i)}}, i, end)
					}
				}
				i = end
			case strings.HasPrefix(src[i:], "true"):
				i += 4
			case strings.HasPrefix(src[i:], "false"):
				i += 5
			case strings.HasPrefix(src[i:], "null"):
				i, kind = i+4, 'n'
			default:
				return s.syntaxError(i, false, "expected a value, found "+s.found(i), "")
			}
			if memberValue {
				m := &s.members[len(s.members)-1]
				m.valueAt, m.value = start, kind
			}
			st = next

		case stAfter:
			if len(s.stack) == 0 {
				if i == len(src) {
					return nil
				}
				return s.syntaxError(i, false, "unexpected "+s.found(i)+" after the template's JSON value", "")
			}
			top := &s.stack[len(s.stack)-1]
			if i >= len(src) {
				return s.syntaxError(i, false, "unexpected end of the template: "+s.container(top)+" is not closed", "")
			}
			switch c := src[i]; {
			case c == ',' && top.obj:
				if s.interp {
					s.separator(top, i, i+1)
				}
				st = stKey
			case c == ',':
				st = stValue
			case c == '}' && top.obj, c == ']' && !top.obj:
				s.pop()
			case top.obj:
				return s.syntaxError(i, false, "expected ',' or '}' after an object member, found "+s.found(i), "")
			default:
				return s.syntaxError(i, false, "expected ',' or ']' after an array element, found "+s.found(i), "")
			}
			i++
		}
	}
}

// emit appends op, whose literal text runs from the end of the last op's
// slot to at; its own slot ends at next.
func (s *tmplScanner) emit(op tmplOp, at, next int) {
	op.lit = tmplSpanOf(s.pos, at)
	s.ops = append(s.ops, op)
	s.pos = next
}

// separator appends the op for the '{' or ',' of object f that comes before
// a member, with interpolation: if the object has a member whose value may
// be left out, Render writes its commas. The text up to at is literal, and
// next is where the member starts. The op's flag is the object's id until
// finishOps.
func (s *tmplScanner) separator(f *tmplFrame, at, next int) {
	f.sep, f.seps = len(s.ops), f.seps+1
	s.emit(tmplOp{kind: tmplOpSep, flag: int32(f.id)}, at, next)
}

// pop closes the innermost object or array. The separators of an object
// without a member that may be left out are dropped in finishOps.
func (s *tmplScanner) pop() {
	if f := &s.stack[len(s.stack)-1]; s.interp && f.obj && !s.objects[f.id] {
		s.dead += f.seps
	}
	s.stack = s.stack[:len(s.stack)-1]
}

// tmplMayOverflow reports whether the JSON number lit may be beyond float64,
// sparing strconv.ParseFloat the others: only one with an exponent or with
// 309 digits or more can be, as the largest float64 is below 1e309.
func tmplMayOverflow(lit string) bool {
	return len(lit) > 308 || strings.ContainsAny(lit, "eE")
}

// tmplCloseAt returns the index of the first "}}" in s, or -1.
func tmplCloseAt(s string) int {
	for i := 0; ; {
		k := strings.IndexByte(s[i:], '}')
		if k < 0 {
			return -1
		}
		if i += k; i+1 < len(s) && s[i+1] == '}' {
			return i
		}
		i++
	}
}

// tmplUnquote decodes a JSON string literal that scanString has checked. It
// keeps json.Unmarshal's pointer away from the scanner's common path, where
// it would move every member name to the heap.
func tmplUnquote(lit string) string {
	var s string
	_ = json.Unmarshal([]byte(lit), &s)
	return s
}

// placeholder handles {{...}} outside strings at i: everything up to the first
// "}}" is the name, as on the platform.
func (s *tmplScanner) placeholder(i int) (int, *Error) {
	rest := s.src[i+2:]
	// Most names are made of name characters, which "}}" is not: the first
	// byte after them starts the first "}}", or the name goes on.
	n, root := tmplNameLen(rest)
	if !strings.HasPrefix(rest[n:], "}}") {
		if n = tmplCloseAt(rest); n < 0 {
			return 0, s.syntaxError(i, false, `unclosed placeholder: "{{" without a closing "}}"`, "")
		}
		root = tmplRootLen(rest[:n])
	}
	name := rest[:n]
	if err := s.checkName(name, root, i); err != nil {
		return 0, err
	}
	s.emit(tmplOp{kind: tmplOpRaw, tmplSlot: tmplSlotOf(i, s.addPath(name, root))}, i, i+n+4)
	return i + n + 4, nil
}

// checkName checks that the variable of name, name[:root], is allowed.
func (s *tmplScanner) checkName(name string, root int, at int) *Error {
	if root > 0 && tmplSameName(name[:root], s.okRoot) {
		return nil // most placeholders start as the one before
	}
	for _, a := range s.allowed {
		if tmplSameName(name[:root], a) {
			s.okRoot = a
			return nil
		}
	}
	return s.nameError(name, name[:root], at)
}

// tmplSameName reports whether a == b, comparing their last bytes before
// all of them: variables often have the same length (the platform's
// createdAt, eventType and eventData), seldom the same last byte.
func tmplSameName(a, b string) bool {
	return len(a) == len(b) && (a == "" || a[len(a)-1] == b[len(b)-1]) && a == b
}

func (s *tmplScanner) nameError(name, root string, at int) *Error {
	shown := name
	if utf8.RuneCountInString(shown) > 40 {
		shown = string([]rune(shown)[:40]) + "…"
	}
	reason := fmt.Sprintf("unknown variable %q", root)
	switch {
	case root == "":
		reason = fmt.Sprintf("placeholder {{%s}} does not start with a variable name", shown)
	case root != name:
		reason += fmt.Sprintf(" in {{%s}}", shown)
	}
	hint := "allowed: " + strings.Join(s.allowed, ", ")
	if len(s.allowed) == 0 {
		hint = "this template allows no variables"
	}
	if r := strings.TrimSpace(root); r != root && slices.Contains(s.allowed, r) {
		hint = "remove the spaces inside the braces"
	}
	e := tmplNewError(s.src, s.what, ErrInvalidVariable, at, reason, hint)
	e.Variable = name
	return e
}

// tmplPathMapMin is how many paths a template has before addPath looks names
// up in a map rather than in s.pathSlots.
const tmplPathMapMin = 32

// tmplPathSlots is the size of s.pathSlots: twice tmplPathMapMin, so that
// it is never more than half full.
const tmplPathSlots = 2 * tmplPathMapMin

// addPath returns the index of the path name, whose variable is name[:root],
// in s.paths, adding it if new.
func (s *tmplScanner) addPath(name string, root int) int {
	h := tmplKeyHash(name)
	slot := 0
	if s.pathIDs != nil {
		if id, ok := s.pathIDs[name]; ok {
			return id
		}
	} else {
		// Open addressing with linear probing, from a slot that
		// scrambles the fingerprint.
		for slot = int(h * 0x9e3779b1 >> 26); s.pathSlots[slot] != 0; slot = (slot + 1) % tmplPathSlots {
			if id := int(s.pathSlots[slot]) - 1; s.pathHash[id] == h && s.paths[id].name == name {
				return id
			}
		}
	}
	p := tmplPath{name: name, key: name[:root], rootLen: int32(root), parent: -1, index: -1}
	if dot := strings.LastIndexByte(name, '.'); dot >= root {
		// A step from the path before the last dot, added first.
		p.parent = int32(s.addPath(name[:dot], root))
		p.key, p.index = name[dot+1:], tmplArrayIndex(name[dot+1:])
		if s.pathIDs == nil {
			// Adding the parent may have taken the slot found above.
			for ; s.pathSlots[slot] != 0; slot = (slot + 1) % tmplPathSlots {
			}
		}
	}
	id := len(s.paths)
	s.paths = append(s.paths, p)
	s.pathHash = append(s.pathHash, h)
	switch {
	case s.pathIDs != nil:
		s.pathIDs[name] = id
	case len(s.paths) < tmplPathMapMin:
		s.pathSlots[slot] = uint8(id + 1)
	default:
		s.pathIDs = make(map[string]int, 2*tmplPathMapMin)
		for id := range s.paths {
			s.pathIDs[s.paths[id].name] = id
		}
	}
	return id
}

// tmplArrayIndex returns k as a JavaScript array index (canonical decimal
// below 2^32-1), or -1.
func tmplArrayIndex(k string) int {
	if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return -1
	}
	n := 0
	for i := 0; i < len(k); i++ {
		if k[i] < '0' || k[i] > '9' {
			return -1
		}
		n = n*10 + int(k[i]-'0')
	}
	if n >= math.MaxUint32 {
		return -1
	}
	return n
}

// tmplScanPlain marks the bytes scanString passes over without a second
// look: the ASCII that a JSON string holds as it is, except '{'.
var tmplScanPlain = func() [256]bool {
	t := tmplPlain
	t['{'] = false
	return t
}()

// tmplWord returns the first eight bytes of s as a little-endian word; the
// compiler makes it one load.
func tmplWord(s string) uint64 {
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// tmplScanPlainLen returns the length of the longest start of s made of
// bytes that scanString passes over (see tmplScanPlain), eight at a time
// as tmplPlainLen does. The high bit of each byte of the test word is
// exact up to the first byte that needs a look: above it a borrow may set
// more, so that byte is the lowest set.
func tmplScanPlainLen(s string) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; len(s)-i >= 8; i += 8 {
		x := tmplWord(s[i:])
		if m := (x | (x - ones*0x20) | (x ^ (ones * '"') - ones) | (x ^ (ones * '\\') - ones) | (x ^ (ones * '{') - ones)) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(s) && tmplScanPlain[s[i]] {
		i++
	}
	return i
}

// tmplNameLen returns the length n of the longest start of s made of the
// bytes of names inside strings (see tmplNameChars), and the length of its
// variable: up to its first '.', or n. It tests eight bytes at a time;
// each test adds at most 0x80 to a byte below 0x80, so that no carry
// crosses into the next byte before the first byte that is not ASCII.
func tmplNameLen(s string) (n, root int) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// in has the high bit of each byte of x (below 0x80) set if the byte
	// lies in [lo, hi].
	in := func(x uint64, lo, hi byte) uint64 {
		return (x + ones*uint64(0x80-lo)) &^ (x + ones*uint64(0x7f-hi))
	}
	root = -1
	i := 0
	for ; len(s)-i >= 8; i += 8 {
		x := tmplWord(s[i:])
		dots := ^(x ^ (ones * '.') + ones*0x7f) & highs
		stop := (^(in(x|ones*0x20, 'a', 'z') | in(x, '0', '9') | dots) | x) & highs
		if d := dots & (stop&-stop - 1); root < 0 && d != 0 { // the dots before the first stop
			root = i + bits.TrailingZeros64(d)/8
		}
		if stop != 0 {
			n = i + bits.TrailingZeros64(stop)/8
			if root < 0 {
				root = n
			}
			return n, root
		}
	}
	for ; i < len(s) && tmplNameChars[s[i]]; i++ {
		if root < 0 && s[i] == '.' {
			root = i
		}
	}
	if root < 0 {
		root = i
	}
	return i, root
}

// tmplRootLen returns the length of the variable of name: up to its first
// '.', or all of it.
func tmplRootLen(name string) int {
	if k := strings.IndexByte(name, '.'); k >= 0 {
		return k
	}
	return len(name)
}

// scanString checks the JSON string starting at i and returns its end; brace
// reports whether it holds a '{', written or escaped, and escaped whether it
// holds an escape. With match, it appends the placeholders in its bytes to
// s.matches; they are the string's placeholders unless it is escaped.
func (s *tmplScanner) scanString(i int, match bool) (end int, brace, escaped bool, err *Error) {
	src := s.src
	start := i
	i++
	for {
		if i += tmplScanPlainLen(src[i:]); i >= len(src) {
			return 0, false, false, s.unterminated(start)
		}
		c := src[i]
		switch {
		case c == '"':
			return i + 1, brace, escaped, nil
		case c == '\\':
			if i+1 >= len(src) {
				return 0, false, false, s.unterminated(start)
			}
			escaped = true
			switch src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				v, ok := tmplHex4(src, i+2)
				if !ok {
					return 0, false, false, s.syntaxError(i, true, `invalid \u escape in a string`, `write \u and four hexadecimal digits`)
				}
				brace = brace || v == '{'
				i += 6
			default:
				return 0, false, false, s.syntaxError(i, true, fmt.Sprintf("invalid escape %q in a string", src[i:i+2]), `escape only " \ / b f n r t u`)
			}
		case c < 0x20:
			return 0, false, false, s.syntaxError(i, true, fmt.Sprintf("control character %U in a string", rune(c)), `escape it, as \n for a new line`)
		case c < utf8.RuneSelf: // '{'
			brace = true
			if match {
				if m, ok := s.placeholderAt(i); ok {
					s.matches = append(s.matches, m)
					i = m.end
					continue
				}
			}
			i++
		default:
			r, size := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, false, false, s.syntaxError(i, true, "invalid UTF-8 in a string", "")
			}
			i += size
		}
	}
}

// placeholderAt matches {{name}} at the '{' at i inside a string, in the
// template's bytes: the name is a substring of the template. The closing
// "}}" cannot be the string's closing quote, so it lies inside the string.
func (s *tmplScanner) placeholderAt(i int) (tmplMatch, bool) {
	src := s.src
	if i+1 >= len(src) || src[i+1] != '{' {
		return tmplMatch{}, false
	}
	n, root := tmplNameLen(src[i+2:])
	v := i + 2 + n
	if n == 0 || v+1 >= len(src) || src[v] != '}' || src[v+1] != '}' {
		return tmplMatch{}, false
	}
	return tmplMatch{at: i, end: v + 2, name: src[i+2 : v], root: root}, true
}

func (s *tmplScanner) unterminated(start int) *Error {
	err := s.syntaxError(start, true, "unterminated string", `close it with '"'`)
	s.resumeAt = len(s.src) // nothing follows the string
	return err
}

// tmplStringEnd returns the end of the valid JSON string starting at i.
func tmplStringEnd(src string, i int) (int, error) {
	s := tmplScanner{src: src}
	end, _, _, err := s.scanString(i, false)
	if err != nil {
		return 0, err
	}
	return end, nil
}

func tmplHex4[T string | []byte](src T, i int) (rune, bool) {
	if i+4 > len(src) {
		return 0, false
	}
	var v rune
	for k := i; k < i+4; k++ {
		c := src[k]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	return v, true
}

func (s *tmplScanner) scanNumber(i int) (int, *Error) {
	end := tmplNumberEnd(s.src, i)
	if end < 0 {
		return 0, s.syntaxError(i, false, "invalid number", "JSON numbers look like -12, 3.5 or 1e-7")
	}
	return end, nil
}

// tmplNumberEnd returns the end of the JSON number at src[i], or -1.
func tmplNumberEnd[T string | []byte](src T, i int) int {
	digits := func() bool {
		j := i
		for i < len(src) && '0' <= src[i] && src[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(src) && src[i] == '-' {
		i++
	}
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case !digits():
		return -1
	}
	if i < len(src) && src[i] == '.' {
		i++
		if !digits() {
			return -1
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if !digits() {
			return -1
		}
	}
	return i
}

// lexical continues after a syntax error as the platform does: it finds the
// remaining placeholders outside strings and checks their variables.
func (s *tmplScanner) lexical(i int, inString bool) *Error {
	src := s.src
	for i < len(src) {
		c := src[i]
		switch {
		case inString && c == '\\':
			i += 2
		case inString:
			inString = c != '"'
			i++
		case c == '"':
			inString = true
			i++
		case c == '{' && strings.HasPrefix(src[i:], "{{"):
			n := strings.Index(src[i+2:], "}}")
			if n < 0 {
				return nil
			}
			name := src[i+2 : i+2+n]
			if err := s.checkName(name, tmplRootLen(name), i); err != nil {
				return err
			}
			i += n + 4
		default:
			i++
		}
	}
	return nil
}

type tmplUnit struct {
	c  byte // the decoded character if ASCII, else 0
	at int  // template offset of its first byte
}

func tmplNameChar(c byte) bool { return tmplNameChars[c] }

// tmplNameChars marks the bytes of names inside strings: letters, digits and
// dots.
var tmplNameChars = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.'
	}
	return t
}()

// tmplMatch is a placeholder inside a string: the template offsets of its
// "{{" and of the end of its "}}", and its name.
type tmplMatch struct {
	at, end int
	name    string
	root    int // the length of its variable, name[:root]
}

// interpolate records a slot for the placeholders {{name}} of the decoded
// string [start, end) (quotes included); it reports whether there are any.
// In a string without escapes, each character is its byte, and s.matches
// holds the placeholders scanString found; a string with escapes is
// matched again, decoded.
func (s *tmplScanner) interpolate(start, end int, escaped bool) bool {
	if escaped {
		s.matches = s.matches[:0]
		s.matchEscaped(start+1, end-1)
	}
	matches := s.matches
	if len(matches) == 0 {
		return false
	}
	for _, m := range matches {
		if err := s.checkName(m.name, m.root, m.at); err != nil && s.strErr == nil {
			s.strErr = err
		}
	}
	if len(matches) == 1 && matches[0].at == start+1 && matches[0].end == end-1 {
		slot := tmplSlotOf(start, s.addPath(matches[0].name, matches[0].root))
		if len(s.stack) == 0 || !s.stack[len(s.stack)-1].obj {
			s.emit(tmplOp{kind: tmplOpExact, tmplSlot: slot}, start, end)
			return true
		}
		// A member's value: the member is left out when it is undefined.
		// Its separator is the last op: a member name makes none.
		top := &s.stack[len(s.stack)-1]
		s.objects[top.id] = true
		op := &s.ops[top.sep]
		op.kind, op.tmplSlot, op.aux = tmplOpMember, slot, tmplSpanOf(s.pos, start)
		s.pos = end
		return true
	}
	from, prev := len(s.parts), start+1
	for _, m := range matches {
		s.parts = append(s.parts, tmplPart{lit: tmplSpanOf(prev, m.at), tmplSlot: tmplSlotOf(m.at, s.addPath(m.name, m.root))})
		prev = m.end
	}
	s.parts = append(s.parts, tmplPart{lit: tmplSpanOf(prev, end-1), tmplSlot: tmplSlot{path: -1}})
	s.emit(tmplOp{kind: tmplOpPartial, tmplSlot: tmplSlot{at: int32(start)}, aux: tmplSpanOf(from, len(s.parts))}, start, end)
	return true
}

// matchEscaped finds the placeholders in src[i:j], the content of a string
// with escapes, in its decoded characters: "\u007b{x}}" is {{x}}.
func (s *tmplScanner) matchEscaped(i, j int) {
	src := s.src
	units := s.units[:0]
	for i < j {
		c := src[i]
		switch {
		case c == '\\' && src[i+1] == 'u':
			v, _ := tmplHex4(src, i+2)
			u := tmplUnit{at: i}
			if v < utf8.RuneSelf {
				u.c = byte(v)
			}
			units = append(units, u)
			i += 6
		case c == '\\':
			units = append(units, tmplUnit{c: tmplUnescape(src[i+1]), at: i})
			i += 2
		case c < utf8.RuneSelf:
			units = append(units, tmplUnit{c: c, at: i})
			i++
		default:
			_, size := utf8.DecodeRuneInString(src[i:])
			units = append(units, tmplUnit{at: i})
			i += size
		}
	}
	units = append(units, tmplUnit{at: j}) // the closing quote
	s.units = units
	n := len(units) - 1
	for u := 0; u+1 < n; {
		if units[u].c == '{' && units[u+1].c == '{' {
			v := u + 2
			for v < n && tmplNameChar(units[v].c) {
				v++
			}
			if v > u+2 && v+1 < n && units[v].c == '}' && units[v+1].c == '}' {
				b := make([]byte, 0, v-u-2)
				for _, x := range units[u+2 : v] {
					b = append(b, x.c)
				}
				name := string(b)
				s.matches = append(s.matches, tmplMatch{at: units[u].at, end: units[v+2].at, name: name, root: tmplRootLen(name)})
				u = v + 2
				continue
			}
		}
		u++
	}
}

func tmplUnescape(e byte) byte {
	switch e {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return e // " \ /
}

// finishOps returns the ops, exactly sized, with the flags of the objects
// that have a member whose value may be left out, and without the
// separators of the others: their text goes to the next op.
func (s *tmplScanner) finishOps() (_ []tmplOp, tail string, nFlags int) {
	if len(s.objects) == 0 { // no separators: always without interpolation
		return tmplClone(s.ops), s.src[s.pos:], 0
	}
	flags := s.flags[:0]
	for _, dynamic := range s.objects {
		f := int32(-1)
		if dynamic {
			f = int32(nFlags)
			nFlags++
		}
		flags = append(flags, f)
	}
	s.flags = flags
	ops := make([]tmplOp, 0, len(s.ops)-s.dead)
	carry := int32(-1) // where the text of the separators dropped since the last op starts
	for _, op := range s.ops {
		if op.kind == tmplOpSep || op.kind == tmplOpMember {
			if op.flag = flags[op.flag]; op.flag < 0 {
				if carry < 0 {
					carry = op.lit.from
				}
				continue
			}
		}
		if carry >= 0 {
			op.lit.from, carry = carry, -1
		}
		ops = append(ops, op)
	}
	pos := s.pos
	if carry >= 0 {
		pos = int(carry)
	}
	return ops, s.src[pos:], nFlags
}

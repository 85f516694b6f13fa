package payloadtemplate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Parsing: one pass over the template that checks it as JSON with every
// placeholder read as a value and records the ops that Render follows.

type frame struct {
	obj     bool
	open    int   // offset of the '{' or '['
	id, sep int   // interpolation: the object's flag, the index of its latest opSep
	node    int32 // index: the container's node, and where its items start in pending
	pending int
}

// scanner parses one template.
type scanner struct {
	src     string
	what    string
	interp  bool
	raw     bool       // IndexJSON: plain JSON, no placeholders, any bytes in strings
	j       *JSON      // IndexJSON: the index being built
	pending []jsonItem // ... the items of the open containers
	spaced  bool       // whitespace was skipped
	allowed []string
	ops     []op // in order
	pos     int  // where the text after the last op starts
	roots   []string
	paths   []path
	segs    []seg
	pathIDs map[string]int32 // index of each path name in paths, once there are many
	objects int              // interpolate: objects so far; each has a flag at render time
	stack   []frame
	okRoot  string // the allowed variable checkName found last
	strErr  *Error // first unknown variable inside a string
}

func parse(text string, o Options, what string) (*Template, error) {
	t := new(Template)
	if err := (&scanner{}).parse(t, text, o, what); err != nil {
		return nil, err
	}
	return t, nil
}

// parse parses text into t, with the scratch space that s may hold from
// an earlier template.
func (s *scanner) parse(t *Template, text string, o Options, what string) error {
	if len(text) > MaxTemplateBytes {
		return newError("", what, ErrInvalidJSON, 0, fmt.Sprintf("the template is %d bytes long, over the limit of %d bytes (MaxTemplateBytes)", len(text), MaxTemplateBytes), "")
	}
	n, nOps := 0, 0
	if cap(s.ops) == 0 { // a new scanner: its slices made at their size
		n = strings.Count(text, "{{") + 1
		nOps = n
		if o.InterpolateStrings { // and a separator before each member
			nOps += strings.Count(text, ",") + strings.Count(text, "{") - 2*n + 2
		}
	}
	*s = scanner{src: text, what: what, interp: o.InterpolateStrings, allowed: o.AllowedVariables,
		ops: reuse(s.ops, nOps), paths: reuse(s.paths, n), segs: reuse(s.segs, 2*n+4), roots: reuse(s.roots, 4), stack: reuse(s.stack, 8)}
	if s.allowed == nil {
		s.allowed = defaultVariables
	}
	if what == "headers template" { // index its members
		s.j, s.pending = &JSON{text: text}, make([]jsonItem, 0, 8)
	}
	if err := s.run(); err != nil {
		return err
	}
	*t = Template{text: text, what: what, roots: s.roots, paths: s.paths, segs: s.segs, maxBody: o.MaxBodyBytes}
	if t.maxBody <= 0 {
		t.maxBody = DefaultMaxBodyBytes
	}
	i := skipWS(text, 0)
	t.topObject = i < len(text) && text[i] == '{' && !strings.HasPrefix(text[i:], "{{")
	t.headers = s.j
	t.ops, t.tail, t.nFlags = s.ops, text[s.pos:], s.objects
	return nil
}

// reuse returns s emptied if it holds n elements, else a new slice that does.
func reuse[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n)
	}
	return s[:0]
}

// oneShot is the scratch space of RenderText: a template that never
// leaves the call, and its scanner's slices.
type oneShot struct {
	s scanner
	t Template
}

var oneShotPool = sync.Pool{New: func() any { return new(oneShot) }}

// RenderText parses text and renders it with vars in one step, as Parse
// and Render do, in scratch space reused from earlier calls.
func RenderText(text string, vars map[string]any, o Options) ([]byte, error) {
	sc := oneShotPool.Get().(*oneShot)
	defer func() {
		if cap(sc.s.ops) > maxPooled/32 || cap(sc.s.paths) > maxPooled/32 {
			return // a large template's scratch space is left to the collector
		}
		clear(sc.s.paths) // the pool keeps no strings (past len, earlier calls cleared them)
		clear(sc.s.roots)
		sc.s, sc.t = scanner{ops: sc.s.ops, paths: sc.s.paths, segs: sc.s.segs, roots: sc.s.roots, stack: sc.s.stack}, Template{}
		oneShotPool.Put(sc)
	}()
	if err := sc.s.parse(&sc.t, text, o, "payload template"); err != nil {
		return nil, err
	}
	return sc.t.Render(vars)
}

func (s *scanner) run() *Error {
	err := s.scan()
	if err == nil {
		return s.strErr
	}
	if err.Err == ErrInvalidJSON { // the platform checks variables first
		if verr := s.lexical(); verr != nil {
			return verr
		}
	}
	return err
}

func (s *scanner) syntaxError(at int, reason, hint string) *Error {
	return newError(s.src, s.what, ErrInvalidJSON, at, reason, hint)
}

// skipWS returns the offset of the first byte from src[i] on that is not
// JSON whitespace.
func skipWS(src string, i int) int {
	for i < len(src) && (src[i] == ' ' || src[i] == '\n' || src[i] == '\t' || src[i] == '\r') {
		i++
	}
	return i
}

func (s *scanner) found(i int) string {
	if i >= len(s.src) {
		return "the end of the template"
	}
	if strings.HasPrefix(s.src[i:], "{{") {
		return "a placeholder"
	}
	r, _ := utf8.DecodeRuneInString(s.src[i:])
	return strconv.QuoteRune(r)
}

func (s *scanner) unclosed() *Error {
	if len(s.stack) == 0 {
		return s.syntaxError(len(s.src), "the template has no JSON value", "")
	}
	f := s.stack[len(s.stack)-1]
	line, col := lineCol(s.src, f.open)
	what := "array"
	if f.obj {
		what = "object"
	}
	return s.syntaxError(len(s.src), fmt.Sprintf("unexpected end of the template: the %s opened at %d:%d is not closed", what, line, col), "")
}

// scan parses the template as JSON in which {{...}} outside strings stands
// for a value, recording the ops that fill its slots.
func (s *scanner) scan() *Error {
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
		if j := skipWS(src, i); j > i {
			i, s.spaced = j, true
		}
		if i >= len(src) && (st != stAfter || len(s.stack) > 0) {
			return s.unclosed()
		}
		switch st {
		case stKeyOrClose, stKey:
			c := src[i]
			if c == '}' {
				if st == stKey {
					return s.syntaxError(i, "trailing comma before '}'", "remove the comma after the last member")
				}
				s.pop(i)
				i++
				st = stAfter
				continue
			}
			if c != '"' {
				if strings.HasPrefix(src[i:], "{{") {
					return s.syntaxError(i, "a placeholder cannot be a member name", `member names must be literal strings; put "{{...}}" in a value`)
				}
				return s.syntaxError(i, "expected a member name in double quotes, found "+s.found(i), "")
			}
			keyAt := i
			end, escaped, err := s.scanString(i)
			if err != nil {
				return err
			}
			if i = skipWS(src, end); i > end {
				s.spaced = true
			}
			if i >= len(src) || src[i] != ':' {
				return s.syntaxError(i, "expected ':' after a member name, found "+s.found(i), "")
			}
			i++
			if s.j != nil {
				it := jsonItem{name: int32(keyAt + 1), nameEnd: int32(end - 1), node: -1}
				if escaped {
					if s.j.escaped == nil {
						s.j.escaped = map[int32]string{}
					}
					it.nameEnd = -1
					s.j.escaped[it.name] = unquote(src[keyAt:end])
				}
				s.pending = append(s.pending, it)
			}
			st = stValue

		case stValue, stValueOrClose:
			c := src[i]
			if c == ']' && len(s.stack) > 0 && !s.stack[len(s.stack)-1].obj {
				if st == stValue {
					return s.syntaxError(i, "trailing comma before ']'", "remove the comma after the last element")
				}
				s.pop(i)
				i++
				st = stAfter
				continue
			}
			if s.j != nil && len(s.stack) > 0 {
				if !s.stack[len(s.stack)-1].obj {
					s.pending = append(s.pending, jsonItem{node: -1})
				}
				s.pending[len(s.pending)-1].from = int32(i)
			}
			next := stAfter
			switch {
			case c == '{' && !s.raw && strings.HasPrefix(src[i:], "{{"):
				end, err := s.placeholder(i)
				if err != nil {
					return err
				}
				i = end
			case c == '{':
				s.push(true, i)
				if s.interp {
					top := &s.stack[len(s.stack)-1]
					top.id = s.objects
					s.objects++
					s.separator(top, i+1, i+1)
				}
				i, next = i+1, stKeyOrClose
			case c == '[':
				s.push(false, i)
				i, next = i+1, stValueOrClose
			case c == '"':
				end, escaped, err := s.scanString(i)
				if err != nil {
					return err
				}
				if s.interp {
					s.interpolate(i, end, escaped)
				}
				i = end
			case c == '-' || ('0' <= c && c <= '9'):
				end := numberEnd(src, i)
				if end < 0 {
					return s.syntaxError(i, "invalid number", "JSON numbers look like -12, 3.5 or 1e-7")
				}
				// Only a number with an exponent or 309 digits can be
				// beyond float64: the largest is below 1e309.
				if lit := src[i:end]; len(lit) > 308 || strings.ContainsAny(lit, "eE") {
					if f, _ := strconv.ParseFloat(lit, 64); math.IsInf(f, 0) {
						s.emit(op{kind: opNull, slot: slot{at: int32(i)}}, i, end)
					}
				}
				i = end
			case strings.HasPrefix(src[i:], "true"):
				i += 4
			case strings.HasPrefix(src[i:], "false"):
				i += 5
			case strings.HasPrefix(src[i:], "null"):
				i += 4
			default:
				return s.syntaxError(i, "expected a value, found "+s.found(i), "")
			}
			if s.j != nil && next == stAfter && len(s.stack) > 0 {
				s.pending[len(s.pending)-1].to = int32(i)
			}
			st = next

		case stAfter:
			if len(s.stack) == 0 {
				if i == len(src) {
					return nil
				}
				return s.syntaxError(i, "unexpected "+s.found(i)+" after the template's JSON value", "")
			}
			top := &s.stack[len(s.stack)-1]
			switch c := src[i]; {
			case c == ',' && top.obj:
				if s.interp {
					s.separator(top, i, i+1)
				}
				st = stKey
			case c == ',':
				st = stValue
			case c == '}' && top.obj, c == ']' && !top.obj:
				s.pop(i)
			case top.obj:
				return s.syntaxError(i, "expected ',' or '}' after an object member, found "+s.found(i), "")
			default:
				return s.syntaxError(i, "expected ',' or ']' after an array element, found "+s.found(i), "")
			}
			i++
		}
	}
}

// emit appends o, whose literal text runs from s.pos to at; its slot ends
// at next.
func (s *scanner) emit(o op, at, next int) {
	o.lit = span{int32(s.pos), int32(at)}
	s.ops = append(s.ops, o)
	s.pos = next
}

// separator appends the opSep of object f before a member, with
// interpolation: a member may be left out, so Render writes the commas.
func (s *scanner) separator(f *frame, at, next int) {
	f.sep = len(s.ops)
	s.emit(op{kind: opSep, flag: int32(f.id)}, at, next)
}

// push opens an object or array at i; for IndexJSON, its node.
func (s *scanner) push(obj bool, i int) {
	f := frame{obj: obj, open: i}
	if s.j != nil {
		f.node, f.pending = int32(len(s.j.nodes)), len(s.pending)
		if len(s.stack) > 0 {
			s.pending[len(s.pending)-1].node = f.node
		}
		s.j.nodes = append(s.j.nodes, jsonNode{array: !obj})
	}
	s.stack = append(s.stack, f)
}

// pop closes the innermost object or array, whose closing bracket is at i.
// For IndexJSON, its items move from pending to the index side by side.
func (s *scanner) pop(i int) {
	f := s.stack[len(s.stack)-1]
	s.stack = s.stack[:len(s.stack)-1]
	if s.j == nil {
		return
	}
	n := &s.j.nodes[f.node]
	n.from = int32(len(s.j.items))
	s.j.items = append(s.j.items, s.pending[f.pending:]...)
	n.to = int32(len(s.j.items))
	if s.pending = s.pending[:f.pending]; len(s.stack) > 0 {
		s.pending[len(s.pending)-1].to = int32(i + 1)
	}
}

// placeholder handles {{...}} outside strings at i: everything up to the
// first "}}" is the name, as on the platform.
func (s *scanner) placeholder(i int) (int, *Error) {
	n := strings.Index(s.src[i+2:], "}}")
	if n < 0 {
		return 0, s.syntaxError(i, `unclosed placeholder: "{{" without a closing "}}"`, "")
	}
	name := s.src[i+2 : i+2+n]
	if err := s.checkName(name, i); err != nil {
		return 0, err
	}
	s.emit(op{kind: opRaw, slot: slot{int32(i), s.addPath(name)}}, i, i+n+4)
	return i + n + 4, nil
}

// rootOf returns the variable of a placeholder's name: up to its first
// '.', or all of it.
func rootOf(name string) string {
	if k := strings.IndexByte(name, '.'); k >= 0 {
		return name[:k]
	}
	return name
}

// checkName checks the length of the placeholder name at offset at and that
// its variable is allowed.
func (s *scanner) checkName(name string, at int) *Error {
	if len(name) > MaxPlaceholderBytes {
		e := newError(s.src, s.what, ErrInvalidVariable, at, fmt.Sprintf("placeholder {{%s}} is %d bytes long, over the limit of %d bytes (MaxPlaceholderBytes)", shorten(name), len(name), MaxPlaceholderBytes), "")
		e.Variable = shorten(name)
		return e
	}
	root := rootOf(name)
	if root == s.okRoot && root != "" || slices.Contains(s.allowed, root) {
		s.okRoot = root // most placeholders start as the one before
		return nil
	}
	reason := fmt.Sprintf("unknown variable %q", root)
	switch {
	case root == "":
		reason = fmt.Sprintf("placeholder {{%s}} does not start with a variable name", shorten(name))
	case root != name:
		reason += fmt.Sprintf(" in {{%s}}", shorten(name))
	}
	hint := "allowed: " + strings.Join(s.allowed, ", ")
	if len(s.allowed) == 0 {
		hint = "this template allows no variables"
	}
	if r := strings.TrimSpace(root); r != root && slices.Contains(s.allowed, r) {
		hint = "remove the spaces inside the braces"
	}
	e := newError(s.src, s.what, ErrInvalidVariable, at, reason, hint)
	e.Variable = name
	return e
}

// shorten returns name cut to 40 characters for a message.
func shorten(name string) string {
	if r := []rune(name); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return name
}

// addPath returns the index of the path name in s.paths, adding it if new.
// A path is split into its segments once, here, without recursion.
func (s *scanner) addPath(name string) int32 {
	if s.pathIDs != nil {
		if id, ok := s.pathIDs[name]; ok {
			return id
		}
	} else {
		for i := range s.paths {
			if s.paths[i].name == name {
				return int32(i)
			}
		}
	}
	from := len(s.segs)
	for k, e := 0, 0; e <= len(name); e++ {
		if e == len(name) || name[e] == '.' {
			key := name[k:e]
			s.segs = append(s.segs, seg{from: int32(k), to: int32(e), index: int32(arrayIndex(key))})
			k = e + 1
		}
	}
	id := int32(len(s.paths))
	root := slices.Index(s.roots, name[:s.segs[from].to])
	if root < 0 {
		root, s.roots = len(s.roots), append(s.roots, name[:s.segs[from].to])
	}
	s.paths = append(s.paths, path{name: name, root: int32(root), from: int32(from), to: int32(len(s.segs))})
	switch {
	case s.pathIDs != nil:
		s.pathIDs[name] = id
	case len(s.paths) > 64: // past a few dozen, a map finds names sooner
		s.pathIDs = make(map[string]int32, 2*len(s.paths))
		for i := range s.paths {
			s.pathIDs[s.paths[i].name] = int32(i)
		}
	}
	return id
}

// arrayIndex returns k as a JavaScript array index (canonical decimal below
// 2^32-1), or -1.
func arrayIndex(k string) int {
	if k == "" || k[0] < '0' || k[0] > '9' { // and spare ParseUint's error value
		return -1
	}
	n, err := strconv.ParseUint(k, 10, 32)
	if err != nil || n == math.MaxUint32 || strconv.FormatUint(n, 10) != k {
		return -1
	}
	return int(n)
}

// nameChars marks the bytes of names inside strings: letters, digits and
// dots.
var nameChars = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.'
	}
	return t
}()

// scanString checks the JSON string starting at i and returns its end, and
// whether it holds an escape.
func (s *scanner) scanString(i int) (end int, escaped bool, err *Error) {
	src := s.src
	start := i
	for i++; ; {
		for i+8 <= len(src) && !hasSpecial(src[i:i+8]) {
			i += 8
		}
		for i < len(src) && stringSafe[src[i]] {
			i++
		}
		if i >= len(src) {
			return 0, false, s.syntaxError(start, "unterminated string", `close it with '"'`)
		}
		c := src[i]
		switch {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			if i+1 >= len(src) {
				return 0, false, s.syntaxError(start, "unterminated string", `close it with '"'`)
			}
			escaped = true
			switch src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, ok := hex4(src, i+2); !ok {
					return 0, false, s.syntaxError(i, `invalid \u escape in a string`, `write \u and four hexadecimal digits`)
				}
				i += 6
			default:
				return 0, false, s.syntaxError(i, fmt.Sprintf("invalid escape %q in a string", src[i:i+2]), `escape only " \ / b f n r t u`)
			}
		case c < 0x20:
			return 0, false, s.syntaxError(i, fmt.Sprintf("control character %U in a string", rune(c)), `escape it, as \n for a new line`)
		default:
			r, size := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && size == 1 && !s.raw {
				return 0, false, s.syntaxError(i, "invalid UTF-8 in a string", "")
			}
			i += size
		}
	}
}

// hasSpecial tells whether one of the 8 bytes of b ends a run of bytes a
// string holds as they are (see stringSafe): a control character, '"',
// '\\' or a byte of a multi-byte character. Eight at a time, indexing a
// 2.9 KB run takes 30% less time.
func hasSpecial(b string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	q, bs := w^('"'*ones), w^('\\'*ones)
	return (w|(w-0x20*ones)|(q-ones)&^q|(bs-ones)&^bs)&highs != 0
}

// charAt decodes the character of a JSON string at s.src[i]: its byte if
// it is ASCII (0 if not, or if it is a bad escape), and where the next
// character starts.
func (s *scanner) charAt(i int) (byte, int) {
	src := s.src
	switch c := src[i]; {
	case c >= utf8.RuneSelf:
		_, size := utf8.DecodeRuneInString(src[i:])
		return 0, i + size
	case c != '\\':
		return c, i + 1
	case i+1 >= len(src):
	case src[i+1] == 'u':
		if v, ok := hex4(src, i+2); ok && v < utf8.RuneSelf {
			return byte(v), i + 6
		}
	case strings.IndexByte(`"\/`, src[i+1]) >= 0:
		return src[i+1], i + 2
	case strings.IndexByte("bfnrt", src[i+1]) >= 0:
		return "\b\f\n\r\t"[strings.IndexByte("bfnrt", src[i+1])], i + 2
	}
	return 0, i + 1
}

// lexical runs after a syntax error as the platform does: it finds the
// placeholders outside strings and checks their variables.
func (s *scanner) lexical() *Error {
	src, inString := s.src, false
	for i := 0; i < len(src); {
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
			if err := s.checkName(src[i+2:i+2+n], i); err != nil {
				return err
			}
			i += n + 4
		default:
			i++
		}
	}
	return nil
}

// interpolate emits an opCoerce for each {{name}} in the decoded
// characters of the string [start, end) (quotes included), as the platform
// matches the decoded string ("\u007b{x}}" is {{x}}). A string that is
// exactly one placeholder takes the value with its own type instead, and as
// a member's value the member is left out when the value is undefined.
func (s *scanner) interpolate(start, end int, escaped bool) {
	text, first := s.src[start+1:end-1], len(s.ops)
	var at []int // with escapes: the template offset of each decoded byte
	if escaped {
		var b []byte
		for k := start + 1; k < end-1; {
			var c byte
			at = append(at, k)
			c, k = s.charAt(k)
			b = append(b, c)
		}
		text, at = string(b), append(at, end-1)
	}
	for k := 0; ; {
		p := strings.IndexByte(text[k:], '{')
		if p < 0 {
			break
		}
		p += k
		q := p + 2
		for q < len(text) && nameChars[text[q]] {
			q++
		}
		if q == p+2 || text[p+1] != '{' || !strings.HasPrefix(text[q:], "}}") {
			k = p + 1
			continue
		}
		from, to := start+1+p, start+3+q
		if escaped {
			from, to = at[p], at[q+2]
		}
		if err := s.checkName(text[p+2:q], from); err != nil && s.strErr == nil {
			s.strErr = err
		}
		s.emit(op{kind: opCoerce, slot: slot{int32(from), s.addPath(text[p+2 : q])}}, from, to)
		k = q + 2
	}
	if len(s.ops) == first {
		return
	}
	o := &s.ops[first]
	if len(s.ops) > first+1 || o.at != int32(start+1) || s.pos != end-1 {
		return
	}
	o.at, s.pos = int32(start), end
	if len(s.stack) == 0 || !s.stack[len(s.stack)-1].obj {
		o.kind, o.lit.to = opExact, int32(start)
		return
	}
	// Its separator is the op before: a member name makes none.
	sep := &s.ops[first-1]
	sep.kind, sep.slot, sep.aux = opMember, o.slot, span{o.lit.from, int32(start)}
	s.ops = s.ops[:first]
}

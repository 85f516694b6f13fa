package actor

import (
	"bytes"
	"cmp"
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

// This file implements webhook payload and headers templates as the Apify
// platform renders them (WebhookPayloadTemplate in @apify/utilities). The
// template is parsed once into literal chunks and placeholder slots; Render
// then appends chunks and JSON-encoded values into one buffer.
//
// Deliberate differences from the reference, each pinned by a case in
// testdata/templates/cases.json:
//   - An unclosed "{{" is an ErrInvalidJSON error. The reference reports a
//     nonsense variable named after the start of the template, or loops
//     forever when the template starts with an allowed variable and a dot.
//   - JSON strings are tokenised correctly. After a string that ends in a
//     backslash the reference takes a later placeholder inside a string for
//     one outside it and the other way round.
//   - A placeholder must stand for a whole JSON value: Parse checks the
//     template with every placeholder read as null, as the platform does when
//     a webhook is saved. The reference, rendering with values, also accepts
//     a placeholder as an object key when its value is a string, or two
//     placeholders side by side when their values are numbers.
//   - Text that a placeholder brings in is data: with InterpolateStrings, the
//     reference interpolates "{{...}}" inside string values that a raw
//     placeholder inserted as well (and fails the webhook on an unknown name
//     there); here they are left alone.
//   - A dot path sees only the data: an array's length, but no inherited
//     JavaScript property (constructor, __proto__, toString, ...); those
//     resolve as missing.
//   - An interpolated string that is exactly a missing variable is dropped
//     from its object (as JSON.stringify does); at the top level, where the
//     reference has no JSON at all, Render writes null.

// DefaultPayloadTemplate is the payload template the platform uses when a
// webhook has none, byte for byte.
const DefaultPayloadTemplate = `{
    "userId": {{userId}},
    "createdAt": {{createdAt}},
    "eventType": {{eventType}},
    "eventData": {{eventData}},
    "resource": {{resource}}
}`

// templateDefaultVariables are the variables the platform offers to templates.
var templateDefaultVariables = []string{"userId", "createdAt", "eventType", "eventData", "resource", "globals"}

// ErrInvalidJSON reports a template that is not JSON once every placeholder is
// read as a value.
var ErrInvalidJSON = errors.New("invalid template JSON")

// ErrInvalidVariable reports a placeholder whose variable is not allowed.
var ErrInvalidVariable = errors.New("invalid template variable")

// ErrInvalidHeaders reports a headers template that is not a JSON object of
// header names to string values, or that renders to something else.
var ErrInvalidHeaders = errors.New("invalid headers template")

// TemplateOptions configures how a payload or headers template is parsed.
// The zero value is the platform's default: placeholders inside strings are
// left alone and the platform's variables are allowed.
type TemplateOptions struct {
	// InterpolateStrings replaces {{name}} placeholders inside JSON string
	// values too (shouldInterpolateStrings on the platform). A string that
	// is exactly one placeholder takes the variable's value with its own
	// type; a placeholder among other text is replaced by the value
	// converted to a string as JavaScript does.
	InterpolateStrings bool
	// AllowedVariables lists the variable names a placeholder may start
	// with. Nil means the platform's list: userId, createdAt, eventType,
	// eventData, resource and globals.
	AllowedVariables []string
}

// TemplateError reports a problem in a payload or headers template, or with a
// value while rendering one. It wraps ErrInvalidJSON, ErrInvalidVariable,
// ErrInvalidHeaders, or the error that encoding a value returned.
type TemplateError struct {
	// Offset is the byte offset in the template where the problem is.
	Offset int
	// Line and Column give the same place, both counted from 1; Column
	// counts characters.
	Line, Column int
	// Variable is the placeholder's name, as in {{resource.id}}, when the
	// problem concerns one.
	Variable string
	// Header is the header name when the problem concerns one.
	Header string
	// Reason says what is wrong.
	Reason string
	// Hint says how to put it right, when there is more to say.
	Hint string
	// Err is the kind of problem (ErrInvalidJSON, ErrInvalidVariable,
	// ErrInvalidHeaders) or the underlying error.
	Err error

	what string // "payload template" or "headers template"
}

// Error describes the problem and where it is.
func (e *TemplateError) Error() string {
	what := e.what
	if what == "" {
		what = "template"
	}
	msg := fmt.Sprintf("%s: %s at %d:%d", what, e.Reason, e.Line, e.Column)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Unwrap returns the kind of problem or the underlying error.
func (e *TemplateError) Unwrap() error { return e.Err }

// PayloadTemplate is a parsed payload or headers template. It is immutable and
// safe for concurrent use.
type PayloadTemplate struct {
	text      string
	what      string
	ops       []tmplOp
	parts     []tmplPart // of the ops' interpolated strings
	tail      string
	paths     []tmplPath // in order of first use
	props     []tmplProp // of the paths
	nFlags    int
	topObject bool         // the top level is an object literal
	members   []tmplMember // members of a top-level object
}

type tmplOpKind uint8

const (
	tmplOpRaw     tmplOpKind = iota + 1 // {{path}} outside strings
	tmplOpExact                         // "{{path}}" in an array or at the top level
	tmplOpMember                        // object member whose value is "{{path}}"
	tmplOpSep                           // the comma before a member, in an object with tmplOpMember
	tmplOpPartial                       // a string with placeholders among text
	tmplOpNull                          // a number literal beyond float64: JavaScript reads Infinity, JSON.stringify writes null
)

// tmplSpan is a piece of the template's text, text[from:to]. Ops and parts
// hold spans rather than strings: without pointers, the garbage collector
// has nothing to scan in them. tmplMaxText keeps the offsets in range.
type tmplSpan struct{ from, to int32 }

// tmplMaxText is the longest template the parser takes, in bytes.
const tmplMaxText = math.MaxInt32

func tmplSpanOf(from, to int) tmplSpan { return tmplSpan{int32(from), int32(to)} }

func tmplSlotOf(at, path int) tmplSlot { return tmplSlot{int32(at), int32(path)} }

func (t *PayloadTemplate) str(s tmplSpan) string { return t.text[s.from:s.to] }

// tmplOp writes lit, then its slot.
type tmplOp struct {
	lit tmplSpan
	// aux is, for tmplOpMember, the member's text up to its value; for
	// tmplOpPartial, its parts, indexes into PayloadTemplate.parts.
	aux tmplSpan
	tmplSlot
	flag int32 // tmplOpMember, tmplOpSep: per-render flag of the op's object: a member was written
	kind tmplOpKind
}

// tmplSlot is where a placeholder is and the path it names.
type tmplSlot struct {
	at   int32 // template offset
	path int32 // index into PayloadTemplate.paths
}

// tmplPart is a piece of an interpolated string: raw JSON string content, then
// the coerced value of a path (path < 0 for the closing piece).
type tmplPart struct {
	lit tmplSpan
	tmplSlot
}

type tmplPath struct {
	name    string   // as written between the braces
	rootLen int32    // the variable is name[:rootLen]
	props   tmplSpan // the steps after it, indexes into PayloadTemplate.props
}

func (p *tmplPath) root() string { return p.name[:p.rootLen] }

// tmplProp is a step of a path: a property name, name[key.from:key.to] of
// the path's name.
type tmplProp struct {
	key   tmplSpan
	index int // the name as a canonical array index, or -1
}

type tmplMember struct {
	key      string // decoded member name
	keyAt    int
	valueAt  int
	value    byte // 's' string, 'n' null, 'p' placeholder or interpolated string, 'o' anything else
	shadowed bool // a later member has the same name (JSON keeps the last)
}

// tmplMemberMark is a member while the scanner runs: where its name and
// value are. Without a pointer, appending it costs no write barrier.
type tmplMemberMark struct {
	keyAt, keyEnd, valueAt int
	value                  byte
	escaped                bool // the name has escapes
}

// tmplValueKind describes the object, array, boolean or number literal at
// the start of text (those a member's value 'o' stands for).
func tmplValueKind(text string) string {
	switch text[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// ParsePayloadTemplate parses and validates a payload template: its JSON syntax
// with every placeholder read as a value, and the variable each placeholder
// starts with. Errors are *TemplateError values wrapping ErrInvalidJSON or
// ErrInvalidVariable. As on the platform, variable errors of placeholders
// outside strings come first, then syntax errors, then variable errors of
// placeholders inside strings.
func ParsePayloadTemplate(text string, opts TemplateOptions) (*PayloadTemplate, error) {
	return tmplParse(text, opts, "payload template")
}

// ParseHeadersTemplate parses a headers template as ParsePayloadTemplate does
// and also checks that its top level is a JSON object whose member names are
// valid header names and whose values are strings, null or placeholders.
// Errors about the shape wrap ErrInvalidHeaders.
func ParseHeadersTemplate(text string, opts TemplateOptions) (*PayloadTemplate, error) {
	t, err := tmplParse(text, opts, "headers template")
	if err != nil {
		return nil, err
	}
	if err := t.checkHeadersShape(); err != nil {
		return nil, err
	}
	return t, nil
}

// RenderPayloadTemplate parses text and renders it with vars in one step.
func RenderPayloadTemplate(text string, vars map[string]any, opts TemplateOptions) ([]byte, error) {
	t, err := ParsePayloadTemplate(text, opts)
	if err != nil {
		return nil, err
	}
	return t.Render(vars)
}

// Variables returns the variables the template's placeholders start with, each
// once, in order of first use.
func (t *PayloadTemplate) Variables() []string {
	var roots []string
	for i := range t.paths {
		if r := t.paths[i].root(); !slices.Contains(roots, r) {
			roots = append(roots, r)
		}
	}
	return roots
}

// Render returns the JSON body the platform would send for these variables:
// the template's literal text with each placeholder replaced. A placeholder
// outside strings whose value is missing or falsy (0, false, "", null)
// becomes null; a missing path below a variable is null, not an error.
// Values are JSON as decoded by encoding/json (map[string]any, []any, string,
// float64, bool, nil, json.Number, json.RawMessage); other Go values are
// encoded with encoding/json.
func (t *PayloadTemplate) Render(vars map[string]any) ([]byte, error) {
	st := tmplStatePool.Get().(*tmplState)
	defer st.release()
	// Render into the pooled buffer, then copy: the body is allocated
	// once, at its size, however large it grows and however often the
	// template is parsed.
	buf, err := t.appendRender(st.buf[:0], vars, st)
	if err != nil {
		return nil, err
	}
	st.buf = buf
	return bytes.Clone(buf), nil
}

// RenderHeaders renders a headers template and returns its headers. The
// template's top level must be an object; a member whose value renders to
// null, or to nothing, is left out; any other value that is not a string is
// an error naming the header, and so is a name that is not a valid header
// name or a value with a control character. Which headers the platform
// overrides (host, Content-Type, X-Apify-Webhook,
// X-Apify-Webhook-Dispatch-Id, X-Apify-Request-Origin) is up to the sender.
func (t *PayloadTemplate) RenderHeaders(vars map[string]any) (map[string]string, error) {
	if !t.topObject {
		return nil, t.headersTopError()
	}
	out, err := t.Render(vars)
	if err != nil {
		return nil, err
	}
	var rendered map[string]any
	if err := json.Unmarshal(out, &rendered); err != nil {
		// Render writes valid JSON; a failure here is a bug worth reporting.
		return nil, t.newError(ErrInvalidHeaders, 0, fmt.Sprintf("rendered headers are not a JSON object: %v", err), "")
	}
	headers := make(map[string]string, len(rendered))
	for i := range t.members {
		m := &t.members[i]
		if m.shadowed {
			continue
		}
		v, ok := rendered[m.key]
		if !ok || v == nil {
			continue
		}
		if err := t.checkHeaderName(m); err != nil {
			return nil, err
		}
		s, ok := v.(string)
		if !ok {
			return nil, t.headerError(m, m.valueAt, fmt.Sprintf("header %q renders to %s", m.key, tmplJSONKind(v)), "header values must be strings")
		}
		if i := tmplBadHeaderValueAt(s); i >= 0 {
			return nil, t.headerError(m, m.valueAt, fmt.Sprintf("header %q renders to a value with control character %U", m.key, rune(s[i])), "")
		}
		headers[m.key] = s
	}
	return headers, nil
}

func (t *PayloadTemplate) headersTopError() *TemplateError {
	i := tmplSkipWS(t.text, 0)
	found := "nothing"
	if i < len(t.text) {
		switch c := t.text[i]; {
		case strings.HasPrefix(t.text[i:], "{{"):
			found = "a placeholder"
		case c == '"':
			found = "a string"
		case c == 'n':
			found = "null"
		default:
			found = tmplValueKind(t.text[i:])
		}
	}
	return t.newError(ErrInvalidHeaders, i, "the top level must be a JSON object of header names to values, found "+found, "")
}

func (t *PayloadTemplate) checkHeadersShape() error {
	if !t.topObject {
		return t.headersTopError()
	}
	for i := range t.members {
		m := &t.members[i]
		if err := t.checkHeaderName(m); err != nil {
			return err
		}
		switch m.value {
		case 'o':
			return t.headerError(m, m.valueAt, fmt.Sprintf("header %q has %s value", m.key, tmplValueKind(t.text[m.valueAt:])), "header values must be strings")
		case 's':
			var s string
			if err := json.Unmarshal([]byte(t.literalAt(m.valueAt)), &s); err == nil {
				if j := tmplBadHeaderValueAt(s); j >= 0 {
					return t.headerError(m, m.valueAt, fmt.Sprintf("header %q has a value with control character %U", m.key, rune(s[j])), "")
				}
			}
		}
	}
	return nil
}

// literalAt returns the JSON string literal starting at offset i.
func (t *PayloadTemplate) literalAt(i int) string {
	end, err := tmplStringEnd(t.text, i)
	if err != nil {
		return ""
	}
	return t.text[i:end]
}

func (t *PayloadTemplate) checkHeaderName(m *tmplMember) *TemplateError {
	if m.key == "" {
		return t.newError(ErrInvalidHeaders, m.keyAt, "empty header name", "")
	}
	for i := 0; i < len(m.key); i++ {
		if !tmplTokenChar(m.key[i]) {
			return t.headerError(m, m.keyAt, fmt.Sprintf("header name %q has %q, which header names cannot contain", m.key, m.key[i]), "header names are letters, digits and !#$%&'*+-.^_`|~")
		}
	}
	return nil
}

// headerError is newError for a problem with the header of member m: it
// wraps ErrInvalidHeaders and names the header.
func (t *PayloadTemplate) headerError(m *tmplMember, offset int, reason, hint string) *TemplateError {
	e := t.newError(ErrInvalidHeaders, offset, reason, hint)
	e.Header = m.key
	return e
}

func tmplTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// tmplBadHeaderValueAt returns the index of the first byte an HTTP header
// value cannot hold (a control character other than tab), or -1.
func tmplBadHeaderValueAt(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return i
		}
	}
	return -1
}

func tmplJSONKind(v any) string {
	switch v.(type) {
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

func (t *PayloadTemplate) newError(kind error, offset int, reason, hint string) *TemplateError {
	return tmplNewError(t.text, t.what, kind, offset, reason, hint)
}

func tmplNewError(src, what string, kind error, offset int, reason, hint string) *TemplateError {
	line, col := tmplLineCol(src, offset)
	return &TemplateError{Offset: offset, Line: line, Column: col, Reason: reason, Hint: hint, Err: kind, what: what}
}

// tmplLineCol turns a byte offset into a line and a column of characters.
func tmplLineCol(src string, offset int) (line, col int) {
	offset = min(max(offset, 0), len(src))
	before := src[:offset]
	line = strings.Count(before, "\n") + 1
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCountInString(before[lineStart:]) + 1
}

// --- parsing ---

type tmplMarkKind uint8

const (
	tmplMarkRaw tmplMarkKind = iota + 1
	tmplMarkExact
	tmplMarkPartial
	tmplMarkBoundary // where an object member starts: just after '{' or at a ','
	tmplMarkNull     // a number literal that overflows float64
)

type tmplMark struct {
	kind       tmplMarkKind
	start, end int
	path       int
	parts      tmplSpan // partial: its parts, indexes into tmplScanner.parts
	obj        int      // boundary: the object's id
	comma      bool     // boundary at a ',' (else just after '{')
	value      int      // boundary: index of the member's exact mark, or -1
}

type tmplFrame struct {
	obj      bool
	id       int
	open     int
	boundary int // index of the object's latest boundary mark
}

// tmplScanner parses a template. Its slices are scratch space, pooled and
// reused from parse to parse; tmplParse copies out what the template keeps,
// so that a parse allocates little beyond the template itself.
type tmplScanner struct {
	src      string
	what     string
	interp   bool
	allowed  []string
	marks    []tmplMark
	paths    []tmplPath
	pathHash []uint32    // per path: tmplNameHash of its name
	props    []tmplProp  // of all paths, one after another
	parts    []tmplPart  // of all tmplMarkPartial marks
	matches  []tmplMatch // interpolate: the placeholders of one string
	units    []tmplUnit  // interpolate: a string with escapes, decoded
	objects  []bool      // per object id: it has a member whose value may be left out
	stack    []tmplFrame
	members  []tmplMemberMark // of a top-level object
	seen     map[string]bool  // finishMembers, for many members
	flags    []int            // build: per object id, its flag or -1
	pathIDs  map[string]int   // index of each path name in paths, once there are many
	okRoot   string           // checkName: the allowed variable it found last
	strErr   *TemplateError   // first unknown variable inside a string
	resumeAt int              // where the lexical scan resumes after a syntax error
	resumeIn bool             // ... and whether that is inside a string
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
	if max(cap(s.marks), cap(s.stack), cap(s.objects), cap(s.members), cap(s.paths), cap(s.props), cap(s.parts), cap(s.units)) > tmplScratchMax {
		return
	}
	s.marks, s.paths, s.pathHash, s.props, s.parts = s.marks[:0], s.paths[:0], s.pathHash[:0], s.props[:0], s.parts[:0]
	s.objects, s.stack, s.members = s.objects[:0], s.stack[:0], s.members[:0]
	s.pathIDs, s.okRoot, s.strErr, s.resumeAt, s.resumeIn = nil, "", nil, 0, false
	tmplScannerPool.Put(s)
}

func tmplParse(text string, opts TemplateOptions, what string) (*PayloadTemplate, error) {
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
	t := &PayloadTemplate{text: text, what: what, paths: tmplClone(s.paths), props: tmplClone(s.props), parts: tmplClone(s.parts), members: s.finishMembers()}
	i := tmplSkipWS(text, 0)
	t.topObject = i < len(text) && text[i] == '{' && !strings.HasPrefix(text[i:], "{{")
	t.ops, t.tail, t.nFlags = s.build()
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

func (s *tmplScanner) run() *TemplateError {
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

func (s *tmplScanner) syntaxError(at int, inString bool, reason, hint string) *TemplateError {
	s.resumeAt, s.resumeIn = at, inString
	return tmplNewError(s.src, s.what, ErrInvalidJSON, at, reason, hint)
}

func tmplSkipWS(src string, i int) int {
	for i < len(src) {
		if src[i] > ' ' {
			return i
		}
		switch src[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

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
// a value, recording marks for the slots.
func (s *tmplScanner) scan() *TemplateError {
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
				s.stack = s.stack[:len(s.stack)-1]
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
				id := len(s.objects)
				s.objects = append(s.objects, false)
				s.marks = append(s.marks, tmplMark{kind: tmplMarkBoundary, start: i, obj: id, value: -1})
				s.stack = append(s.stack, tmplFrame{obj: true, id: id, open: i, boundary: len(s.marks) - 1})
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
				if f, _ := strconv.ParseFloat(src[i:end], 64); math.IsInf(f, 0) {
					s.marks = append(s.marks, tmplMark{kind: tmplMarkNull, start: i, end: end})
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
				s.marks = append(s.marks, tmplMark{kind: tmplMarkBoundary, start: i, obj: top.id, comma: true, value: -1})
				top.boundary = len(s.marks) - 1
				st = stKey
			case c == ',':
				st = stValue
			case c == '}' && top.obj, c == ']' && !top.obj:
				s.stack = s.stack[:len(s.stack)-1]
			case top.obj:
				return s.syntaxError(i, false, "expected ',' or '}' after an object member, found "+s.found(i), "")
			default:
				return s.syntaxError(i, false, "expected ',' or ']' after an array element, found "+s.found(i), "")
			}
			i++
		}
	}
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
func (s *tmplScanner) placeholder(i int) (int, *TemplateError) {
	n := tmplCloseAt(s.src[i+2:])
	if n < 0 {
		return 0, s.syntaxError(i, false, `unclosed placeholder: "{{" without a closing "}}"`, "")
	}
	name := s.src[i+2 : i+2+n]
	if err := s.checkName(name, i); err != nil {
		return 0, err
	}
	s.marks = append(s.marks, tmplMark{kind: tmplMarkRaw, start: i, end: i + n + 4, path: s.addPath(name)})
	return i + n + 4, nil
}

func (s *tmplScanner) checkName(name string, at int) *TemplateError {
	if r := s.okRoot; r != "" && strings.HasPrefix(name, r) && (len(name) == len(r) || name[len(r)] == '.') {
		return nil // most placeholders start as the one before
	}
	root := name
	if k := strings.IndexByte(name, '.'); k >= 0 {
		root = name[:k]
	}
	if slices.Contains(s.allowed, root) {
		s.okRoot = root
		return nil
	}
	return s.nameError(name, root, at)
}

func (s *tmplScanner) nameError(name, root string, at int) *TemplateError {
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
// up in a map rather than going through the paths.
const tmplPathMapMin = 32

// addPath returns the index of the path name in s.paths, adding it if new.
func (s *tmplScanner) addPath(name string) int {
	h := tmplNameHash(name)
	if s.pathIDs != nil {
		if id, ok := s.pathIDs[name]; ok {
			return id
		}
	} else {
		for id, ph := range s.pathHash {
			if ph == h && s.paths[id].name == name {
				return id
			}
		}
	}
	id := len(s.paths)
	p := tmplPath{name: name, rootLen: int32(len(name)), props: tmplSpanOf(len(s.props), len(s.props))}
	if k := strings.IndexByte(name, '.'); k >= 0 {
		p.rootLen = int32(k)
		for from := k + 1; ; {
			to := strings.IndexByte(name[from:], '.')
			if to < 0 {
				to = len(name)
			} else {
				to += from
			}
			s.props = append(s.props, tmplProp{key: tmplSpanOf(from, to), index: tmplArrayIndex(name[from:to])})
			if to == len(name) {
				break
			}
			from = to + 1
		}
		p.props.to = int32(len(s.props))
	}
	s.paths = append(s.paths, p)
	s.pathHash = append(s.pathHash, h)
	switch {
	case s.pathIDs != nil:
		s.pathIDs[name] = id
	case len(s.paths) == tmplPathMapMin:
		s.pathIDs = make(map[string]int, 2*tmplPathMapMin)
		for id := range s.paths {
			s.pathIDs[s.paths[id].name] = id
		}
	}
	return id
}

// tmplNameHash is a fingerprint of a name, from its length and two of its
// bytes: addPath compares the names of paths only where their fingerprints
// agree.
func tmplNameHash(name string) uint32 {
	if name == "" { // {{}}, when "" is an allowed variable
		return 0
	}
	return uint32(len(name))<<16 | uint32(name[len(name)/2])<<8 | uint32(name[len(name)-1])
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

// scanString checks the JSON string starting at i and returns its end; brace
// reports whether it holds a '{', written or escaped, and escaped whether it
// holds an escape. With match, it appends the placeholders in its bytes to
// s.matches; they are the string's placeholders unless it is escaped.
func (s *tmplScanner) scanString(i int, match bool) (end int, brace, escaped bool, err *TemplateError) {
	src := s.src
	start := i
	i++
	for {
		for i < len(src) && tmplScanPlain[src[i]] {
			i++
		}
		if i >= len(src) {
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
	v := i + 2
	for v < len(src) && tmplNameChars[src[v]] {
		v++
	}
	if v == i+2 || v+1 >= len(src) || src[v] != '}' || src[v+1] != '}' {
		return tmplMatch{}, false
	}
	return tmplMatch{at: i, end: v + 2, name: src[i+2 : v]}, true
}

func (s *tmplScanner) unterminated(start int) *TemplateError {
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

func (s *tmplScanner) scanNumber(i int) (int, *TemplateError) {
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
func (s *tmplScanner) lexical(i int, inString bool) *TemplateError {
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
		if err := s.checkName(m.name, m.at); err != nil && s.strErr == nil {
			s.strErr = err
		}
	}
	if len(matches) == 1 && matches[0].at == start+1 && matches[0].end == end-1 {
		mark := tmplMark{kind: tmplMarkExact, start: start, end: end, path: s.addPath(matches[0].name)}
		if len(s.stack) > 0 && s.stack[len(s.stack)-1].obj {
			// A member's value: the member is left out when it is undefined.
			top := &s.stack[len(s.stack)-1]
			s.objects[top.id] = true
			s.marks[top.boundary].value = len(s.marks)
		}
		s.marks = append(s.marks, mark)
		return true
	}
	from, prev := len(s.parts), start+1
	for _, m := range matches {
		s.parts = append(s.parts, tmplPart{lit: tmplSpanOf(prev, m.at), tmplSlot: tmplSlotOf(m.at, s.addPath(m.name))})
		prev = m.end
	}
	s.parts = append(s.parts, tmplPart{lit: tmplSpanOf(prev, end-1), tmplSlot: tmplSlot{path: -1}})
	s.marks = append(s.marks, tmplMark{kind: tmplMarkPartial, start: start, end: end, parts: tmplSpanOf(from, len(s.parts))})
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
				name := make([]byte, 0, v-u-2)
				for _, x := range units[u+2 : v] {
					name = append(name, x.c)
				}
				s.matches = append(s.matches, tmplMatch{at: units[u].at, end: units[v+2].at, name: string(name)})
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

// build turns the marks into ops. Objects holding a member that may be left
// out get their commas written at render time.
func (s *tmplScanner) build() (_ []tmplOp, tail string, nFlags int) {
	flags := s.flags[:0]
	for _, dynamic := range s.objects {
		f := -1
		if dynamic {
			f = nFlags
			nFlags++
		}
		flags = append(flags, f)
	}
	s.flags = flags
	n := len(s.marks) // one op per mark, except ...
	for i := range s.marks {
		if m := &s.marks[i]; m.kind == tmplMarkBoundary && (flags[m.obj] < 0 || m.value >= 0) {
			n-- // ... boundaries of objects without flags, and members, one op for two marks
		}
	}
	ops := make([]tmplOp, 0, n)
	pos := 0
	for i := 0; i < len(s.marks); i++ {
		m := &s.marks[i]
		switch m.kind {
		case tmplMarkBoundary:
			f := flags[m.obj]
			if f < 0 {
				continue
			}
			cut, next := m.start, m.start+1
			if !m.comma {
				cut = next
			}
			if m.value >= 0 {
				v := &s.marks[m.value]
				ops = append(ops, tmplOp{lit: tmplSpanOf(pos, cut), kind: tmplOpMember, tmplSlot: tmplSlotOf(v.start, v.path), flag: int32(f), aux: tmplSpanOf(next, v.start)})
				pos = v.end
				i = m.value
				continue
			}
			ops = append(ops, tmplOp{lit: tmplSpanOf(pos, cut), kind: tmplOpSep, flag: int32(f)})
			pos = next
		case tmplMarkRaw:
			ops = append(ops, tmplOp{lit: tmplSpanOf(pos, m.start), kind: tmplOpRaw, tmplSlot: tmplSlotOf(m.start, m.path)})
			pos = m.end
		case tmplMarkExact:
			ops = append(ops, tmplOp{lit: tmplSpanOf(pos, m.start), kind: tmplOpExact, tmplSlot: tmplSlotOf(m.start, m.path)})
			pos = m.end
		case tmplMarkPartial:
			ops = append(ops, tmplOp{lit: tmplSpanOf(pos, m.start), kind: tmplOpPartial, tmplSlot: tmplSlot{at: int32(m.start)}, aux: m.parts})
			pos = m.end
		case tmplMarkNull:
			ops = append(ops, tmplOp{lit: tmplSpanOf(pos, m.start), kind: tmplOpNull, tmplSlot: tmplSlot{at: int32(m.start)}})
			pos = m.end
		}
	}
	return ops, s.src[pos:], nFlags
}

// --- rendering ---

// tmplState is per-render scratch space, pooled so that rendering allocates
// only its output.
type tmplState struct {
	buf       []byte      // the body being written
	values    []tmplValue // per path, its value once resolved in this render
	pairs     []tmplPair  // stack of the members of large maps being written
	pairsUsed int         // most pairs held at once in this render
	order     []int32     // ... and of their order, indexes into their pairs
	flags     []bool
}

// tmplValue is the value of a path, as resolve returns it.
type tmplValue struct {
	v        any
	ok, done bool
}

var tmplStatePool = sync.Pool{New: func() any { return new(tmplState) }}

// tmplMaxPooledBuf is the largest body buffer a tmplState keeps in the pool.
const tmplMaxPooledBuf = 256 << 10

func (st *tmplState) release() {
	if cap(st.buf) > tmplMaxPooledBuf || max(cap(st.values), cap(st.pairs), cap(st.flags)) > tmplScratchMax {
		return // leave a large render's scratch space to the collector
	}
	clear(st.values) // let the values go
	clear(st.pairs[:st.pairsUsed])
	st.values, st.pairs, st.pairsUsed, st.order = st.values[:0], st.pairs[:0], 0, st.order[:0]
	tmplStatePool.Put(st)
}

// value resolves a path once per render: a template may use a path many
// times, and the variables do not change while it renders.
func (t *PayloadTemplate) value(st *tmplState, slot tmplSlot, vars map[string]any) (any, bool, error) {
	r := &st.values[slot.path]
	if !r.done {
		v, ok, err := t.resolve(slot, vars)
		if err != nil {
			return nil, false, err
		}
		*r = tmplValue{v, ok, true}
	}
	return r.v, r.ok, nil
}

func (t *PayloadTemplate) appendRender(b []byte, vars map[string]any, st *tmplState) ([]byte, error) {
	if cap(st.values) < len(t.paths) {
		st.values = make([]tmplValue, len(t.paths))
	}
	st.values = st.values[:len(t.paths)]
	clear(st.values)
	if cap(st.flags) < t.nFlags {
		st.flags = make([]bool, t.nFlags)
	}
	flags := st.flags[:t.nFlags]
	clear(flags)
	var err error
	for i := range t.ops {
		op := &t.ops[i]
		b = append(b, t.str(op.lit)...)
		switch op.kind {
		case tmplOpRaw:
			b, err = t.appendRaw(b, op, vars, st)
		case tmplOpExact:
			var v any
			var ok bool
			if v, ok, err = t.value(st, op.tmplSlot, vars); err == nil {
				if !ok {
					b = append(b, "null"...)
				} else {
					b, err = t.appendValue(b, v, op.tmplSlot, st)
				}
			}
		case tmplOpMember:
			var v any
			var ok bool
			if v, ok, err = t.value(st, op.tmplSlot, vars); err == nil && ok {
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
				var v any
				var ok bool
				if v, ok, err = t.value(st, p.tmplSlot, vars); err != nil {
					break
				}
				if b, err = st.appendCoerced(b, v, ok); err != nil {
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

func (t *PayloadTemplate) appendRaw(b []byte, op *tmplOp, vars map[string]any, st *tmplState) ([]byte, error) {
	v, ok, err := t.value(st, op.tmplSlot, vars)
	if err != nil {
		return nil, err
	}
	if !ok {
		return append(b, "null"...), nil
	}
	switch truthy := tmplTruthy(v); truthy {
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

func (t *PayloadTemplate) appendValue(b []byte, v any, slot tmplSlot, st *tmplState) ([]byte, error) {
	b, err := st.appendJSON(b, v)
	if err != nil {
		return nil, t.valueError(slot, err)
	}
	return b, nil
}

func (t *PayloadTemplate) valueError(slot tmplSlot, err error) error {
	var te *TemplateError
	if errors.As(err, &te) {
		return te
	}
	name := t.paths[slot.path].name
	e := t.newError(err, int(slot.at), fmt.Sprintf("cannot encode the value of {{%s}}: %v", name, err), "")
	e.Variable = name
	return e
}

// resolve follows a dot path as the platform does. ok is false when the value
// is undefined in JavaScript terms; a step into anything that is not an object
// or array gives null.
func (t *PayloadTemplate) resolve(slot tmplSlot, vars map[string]any) (v any, ok bool, err error) {
	p := &t.paths[slot.path]
	v, ok = vars[p.root()]
	for i := p.props.from; i < p.props.to; i++ {
		if !ok {
			return nil, true, nil
		}
		pr := &t.props[i]
		key := p.name[pr.key.from:pr.key.to]
		switch x := v.(type) {
		case map[string]any:
			if x == nil {
				return nil, true, nil
			}
			v, ok = x[key]
		case []any:
			if x == nil {
				return nil, true, nil
			}
			v, ok = tmplIndex(x, pr.index, key)
		case map[string]string:
			if x == nil {
				return nil, true, nil
			}
			v, ok = x[key]
		case []string:
			if x == nil {
				return nil, true, nil
			}
			v, ok = tmplIndex(x, pr.index, key)
		case nil, string, bool, float64, float32, int, int8, int16, int32, int64,
			uint, uint8, uint16, uint32, uint64, uintptr, json.Number:
			return nil, true, nil
		default:
			n, err := tmplNormalize(v)
			if err != nil {
				return nil, false, t.valueError(slot, err)
			}
			v = n
			i-- // step again, into the decoded value
		}
	}
	return v, ok, nil
}

func tmplIndex[E any](a []E, index int, key string) (any, bool) {
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
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return tmplAppendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...), nil
		}
		return tmplAppendNumber(b, x, 64), nil
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
		return st.appendMap(b, x)
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
		if tmplCompactEnd(x, 0, tmplCompactDepth) == len(x) {
			// Already compact, as json.Marshal writes it: json.Compact
			// would return it unchanged, at several times the cost.
			return append(b, x...), nil
		}
		buf := bytes.NewBuffer(b)
		if err := json.Compact(buf, x); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	enc, err := tmplMarshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}

// tmplPair is a member of a map being written.
type tmplPair struct {
	prefix uint64 // tmplKeyPrefix(key)
	key    string
	value  any
}

// tmplKeyPrefix returns the first eight bytes of key as a big-endian number,
// padded with zeros. Keys whose prefixes differ are in the order of their
// prefixes, so that most comparisons of keys compare two numbers.
func tmplKeyPrefix(key string) uint64 {
	if len(key) >= 8 {
		w := key[:8]
		return uint64(w[0])<<56 | uint64(w[1])<<48 | uint64(w[2])<<40 | uint64(w[3])<<32 |
			uint64(w[4])<<24 | uint64(w[5])<<16 | uint64(w[6])<<8 | uint64(w[7])
	}
	var p uint64
	for i := 0; i < len(key); i++ {
		p |= uint64(key[i]) << (56 - 8*i)
	}
	return p
}

// tmplBefore reports whether p's key sorts before q's.
func tmplBefore(p, q *tmplPair) bool {
	if p.prefix != q.prefix {
		return p.prefix < q.prefix
	}
	return p.key < q.key
}

// tmplStackPairs is the most members of a map that appendMap sorts on the
// stack rather than in the pooled scratch space.
const tmplStackPairs = 16

// appendMap appends x as an object with its keys sorted: Go maps have no
// order, and a body must not change from one delivery to the next.
func (st *tmplState) appendMap(b []byte, x map[string]any) ([]byte, error) {
	var small [tmplStackPairs]tmplPair
	var smallOrder [tmplStackPairs]int32
	var pairs []tmplPair
	var order []int32
	base, orderBase := len(st.pairs), len(st.order)
	if len(x) <= len(small) {
		pairs, order = small[:0], smallOrder[:0]
		for k, v := range x {
			order = append(order, int32(len(pairs)))
			pairs = append(pairs, tmplPair{tmplKeyPrefix(k), k, v})
		}
	} else {
		for k, v := range x {
			st.order = append(st.order, int32(len(st.pairs)-base))
			st.pairs = append(st.pairs, tmplPair{tmplKeyPrefix(k), k, v})
		}
		pairs, order = st.pairs[base:], st.order[orderBase:]
		st.pairsUsed = max(st.pairsUsed, len(st.pairs))
	}
	tmplSortOrder(pairs, order)
	b = append(b, '{')
	var err error
	for i, k := range order {
		if i > 0 {
			b = append(b, ',')
		}
		p := &pairs[k]
		b = tmplAppendString(b, p.key)
		b = append(b, ':')
		if b, err = st.appendJSON(b, p.value); err != nil {
			return nil, err
		}
	}
	st.pairs, st.order = st.pairs[:base], st.order[:orderBase]
	return append(b, '}'), nil
}

// tmplSortOrder sorts order, indexes into pairs, by the pairs' keys: by
// insertion when there are few, moving indexes rather than pairs.
func tmplSortOrder(pairs []tmplPair, order []int32) {
	if len(order) > 48 {
		slices.SortFunc(order, func(i, j int32) int {
			p, q := &pairs[i], &pairs[j]
			if p.prefix != q.prefix {
				return cmp.Compare(p.prefix, q.prefix)
			}
			return strings.Compare(p.key, q.key)
		})
		return
	}
	for i := 1; i < len(order); i++ {
		k := order[i]
		p := &pairs[k]
		j := i
		for ; j > 0 && tmplBefore(p, &pairs[order[j-1]]); j-- {
			order[j] = order[j-1]
		}
		order[j] = k
	}
}

// tmplCompactDepth is how deep tmplCompactEnd follows nested arrays and
// objects; deeper values take the slow path.
const tmplCompactDepth = 64

// tmplCompactEnd returns the end of the JSON value that starts at b[i] if
// that value holds no whitespace outside strings, or -1. It checks what
// json.Compact checks (neither validates UTF-8), so a value it accepts is
// one that json.Compact would copy unchanged; it gives up (-1) on values
// nested deeper than depth.
func tmplCompactEnd(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; c {
	case '"':
		return tmplCompactStringEnd(b, i)
	case '{', '[':
		if depth == 0 {
			return -1
		}
		end := c + 2 // '}' follows '{' by two, as ']' follows '['
		i++
		if i < len(b) && b[i] == end {
			return i + 1
		}
		for {
			if c == '{' {
				if i = tmplCompactStringEnd(b, i); i < 0 || i >= len(b) || b[i] != ':' {
					return -1
				}
				i++
			}
			if i = tmplCompactEnd(b, i, depth-1); i < 0 || i >= len(b) {
				return -1
			}
			switch b[i] {
			case ',':
				i++
			case end:
				return i + 1
			default:
				return -1
			}
		}
	case 't':
		return tmplLiteralEnd(b, i, "true")
	case 'f':
		return tmplLiteralEnd(b, i, "false")
	case 'n':
		return tmplLiteralEnd(b, i, "null")
	}
	return tmplNumberEnd(b, i)
}

func tmplLiteralEnd(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// tmplCompactStringEnd returns the end of the JSON string at b[i], or -1.
func tmplCompactStringEnd(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			i++
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if _, ok := tmplHex4(b, i+1); !ok {
					return -1
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

// tmplValidNumber reports whether s is a JSON number.
func tmplValidNumber(s string) bool {
	return tmplNumberEnd(s, 0) == len(s)
}

// appendCoerced appends String(v) as JavaScript computes it, escaped as JSON
// string content; defined is false for undefined.
func (st *tmplState) appendCoerced(b []byte, v any, defined bool) ([]byte, error) {
	if !defined {
		return append(b, "undefined"...), nil
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return tmplAppendStringContent(b, x), nil
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

// tmplAppendNumber appends f as JavaScript's Number.prototype.toString writes
// it (and so JSON.stringify, for finite numbers).
func tmplAppendNumber(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	case f == 0:
		return append(b, '0') // -0 too
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.AppendInt(b, int64(f), 10) // integers print exactly below 2^53
	}
	if a := math.Abs(f); bits == 64 && 1e-6 <= a && a < 1e21 {
		// JavaScript writes these without an exponent, in the shortest
		// digits that read back as f, as strconv does. (The bounds are
		// exact: 1e21 is a float64, and no float64 below the one nearest
		// to 1e-6 has shortest digits of 1e-6 or more.)
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return tmplAppendNumberExp(b, f, bits)
}

// tmplAppendNumberExp appends a finite, non-zero f as Number.prototype.toString
// writes it, from its shortest digits and their exponent: the general case of
// tmplAppendNumber.
func tmplAppendNumberExp(b []byte, f float64, bits int) []byte {
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	// Shortest digits that round-trip, as d.ddde±x.
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, bits)
	ep := bytes.IndexByte(e, 'e')
	var digitsBuf [24]byte
	digits := append(digitsBuf[:0], e[0])
	if ep > 1 {
		digits = append(digits, e[2:ep]...)
	}
	exp := 0
	for _, c := range e[ep+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[ep+1] == '-' {
		exp = -exp
	}
	k, n := len(digits), exp+1
	switch {
	case k <= n && n <= 21:
		b = append(b, digits...)
		for range n - k {
			b = append(b, '0')
		}
	case 0 < n && n <= 21:
		b = append(b, digits[:n]...)
		b = append(b, '.')
		b = append(b, digits[n:]...)
	case -6 < n && n <= 0:
		b = append(b, '0', '.')
		for range -n {
			b = append(b, '0')
		}
		b = append(b, digits...)
	default:
		b = append(b, digits[0])
		if k > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if n-1 >= 0 {
			b = append(b, '+')
		}
		b = strconv.AppendInt(b, int64(n-1), 10)
	}
	return b
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
// at a time, the last word overlapping the one before; the byte loop decides
// from the first word that may need a look.
func tmplPlainLen(s string) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for len(s) >= 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		// The high bits of x mark the bytes of non-ASCII characters. If
		// there are none, subtracting ones from x^(ones*c) sets the high
		// bit of the first byte where x has c (whose byte there is zero),
		// and subtracting ones*0x20 from x that of the first byte below
		// 0x20; a high bit above it may be set by the borrow, but none is
		// set by a byte that needs no look before it. So the test never
		// passes a byte that needs one.
		if (x|(x-ones*0x20)|(x^(ones*'"')-ones)|(x^(ones*'\\')-ones))&highs != 0 {
			break
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
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
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

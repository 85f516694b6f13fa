package actor

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
	"sync/atomic"
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
	tail      string
	paths     []tmplPath
	variables []string
	nFlags    int
	topObject bool         // the top level is an object literal
	members   []tmplMember // members of a top-level object
	sizeHint  atomic.Int64 // length of the last render
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

// tmplOp writes lit, then its slot.
type tmplOp struct {
	lit   string
	kind  tmplOpKind
	at    int        // template offset of the slot
	path  int        // index into paths
	flag  int        // per-render flag of the op's object: a member was written
	key   string     // tmplOpMember: the member's text up to its value
	parts []tmplPart // tmplOpPartial
}

// tmplPart is a piece of an interpolated string: raw JSON string content, then
// the coerced value of a path (path < 0 for the closing piece).
type tmplPart struct {
	lit  string
	path int
	at   int
}

type tmplPath struct {
	name  string // as written between the braces
	root  string
	props []tmplProp
}

type tmplProp struct {
	key   string
	index int // canonical array index, or -1
}

type tmplMember struct {
	key      string // decoded member name
	keyAt    int
	valueAt  int
	value    byte // 's' string, 'n' null, 'p' placeholder or interpolated string, 'o' anything else
	kind     string
	shadowed bool // a later member has the same name (JSON keeps the last)
}

// ParsePayloadTemplate parses and validates a payload template: its JSON syntax
// with every placeholder read as a value, and the variable each placeholder
// starts with. Errors are *TemplateError values wrapping ErrInvalidJSON or
// ErrInvalidVariable. As on the platform, variable errors of placeholders
// outside strings come first, then syntax errors, then variable errors of
// placeholders inside strings.
func ParsePayloadTemplate(text string, opts TemplateOptions) (*PayloadTemplate, error) {
	t, err := tmplParse(text, opts, "payload template")
	if err != nil {
		return nil, err
	}
	return t, nil
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
	return slices.Clone(t.variables)
}

// Render returns the JSON body the platform would send for these variables:
// the template's literal text with each placeholder replaced. A placeholder
// outside strings whose value is missing or falsy (0, false, "", null)
// becomes null; a missing path below a variable is null, not an error.
// Values are JSON as decoded by encoding/json (map[string]any, []any, string,
// float64, bool, nil, json.Number, json.RawMessage); other Go values are
// encoded with encoding/json.
func (t *PayloadTemplate) Render(vars map[string]any) ([]byte, error) {
	size := t.sizeHint.Load()
	if size == 0 {
		size = int64(len(t.text)) + 512
	}
	st := tmplStatePool.Get().(*tmplState)
	defer st.release()
	out, err := t.appendRender(make([]byte, 0, size), vars, st)
	if err != nil {
		return nil, err
	}
	t.sizeHint.Store(int64(len(out)))
	return out, nil
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
			e := t.newError(ErrInvalidHeaders, m.valueAt, fmt.Sprintf("header %q renders to %s", m.key, tmplJSONKind(v)), "header values must be strings")
			e.Header = m.key
			return nil, e
		}
		if i := tmplBadHeaderValueAt(s); i >= 0 {
			e := t.newError(ErrInvalidHeaders, m.valueAt, fmt.Sprintf("header %q renders to a value with control character %U", m.key, rune(s[i])), "")
			e.Header = m.key
			return nil, e
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
		case c == '{' && strings.HasPrefix(t.text[i:], "{{"):
			found = "a placeholder"
		case c == '[':
			found = "an array"
		case c == '"':
			found = "a string"
		case c == 't' || c == 'f':
			found = "a boolean"
		case c == 'n':
			found = "null"
		default:
			found = "a number"
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
			e := t.newError(ErrInvalidHeaders, m.valueAt, fmt.Sprintf("header %q has %s value", m.key, m.kind), "header values must be strings")
			e.Header = m.key
			return e
		case 's':
			var s string
			if err := json.Unmarshal([]byte(t.literalAt(m.valueAt)), &s); err == nil {
				if j := tmplBadHeaderValueAt(s); j >= 0 {
					e := t.newError(ErrInvalidHeaders, m.valueAt, fmt.Sprintf("header %q has a value with control character %U", m.key, rune(s[j])), "")
					e.Header = m.key
					return e
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
		e := t.newError(ErrInvalidHeaders, m.keyAt, "empty header name", "")
		return e
	}
	for i := 0; i < len(m.key); i++ {
		if !tmplTokenChar(m.key[i]) {
			e := t.newError(ErrInvalidHeaders, m.keyAt, fmt.Sprintf("header name %q has %q, which header names cannot contain", m.key, m.key[i]), "header names are letters, digits and !#$%&'*+-.^_`|~")
			e.Header = m.key
			return e
		}
	}
	return nil
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
	parts      []tmplPart
	obj        int  // boundary: the object's id
	comma      bool // boundary at a ',' (else just after '{')
	value      int  // boundary: index of the member's exact mark, or -1
}

type tmplFrame struct {
	obj      bool
	id       int
	open     int
	boundary int // index of the object's latest boundary mark
}

type tmplScanner struct {
	src      string
	what     string
	interp   bool
	allowed  []string
	marks    []tmplMark
	paths    []tmplPath
	objects  []bool // per object id: it has a member whose value may be left out
	stack    []tmplFrame
	roots    []string
	members  []tmplMember
	pathIDs  map[string]int // index of each path name in paths
	strErr   *TemplateError // first unknown variable inside a string
	resumeAt int            // where the lexical scan resumes after a syntax error
	resumeIn bool           // ... and whether that is inside a string
}

func tmplParse(text string, opts TemplateOptions, what string) (*PayloadTemplate, error) {
	s := &tmplScanner{src: text, what: what, interp: opts.InterpolateStrings, allowed: opts.AllowedVariables}
	if s.allowed == nil {
		s.allowed = templateDefaultVariables
	}
	if err := s.run(); err != nil {
		return nil, err
	}
	t := &PayloadTemplate{text: text, what: what, paths: s.paths, variables: s.roots, members: s.members}
	i := tmplSkipWS(text, 0)
	t.topObject = i < len(text) && text[i] == '{' && !strings.HasPrefix(text[i:], "{{")
	t.ops, t.tail, t.nFlags = s.build()
	seen := make(map[string]bool, len(t.members))
	for i := len(t.members) - 1; i >= 0; i-- {
		m := &t.members[i]
		m.shadowed = seen[m.key]
		seen[m.key] = true
	}
	return t, nil
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
			end, _, err := s.scanString(i)
			if err != nil {
				return err
			}
			i = tmplSkipWS(src, end)
			if i >= len(src) || src[i] != ':' {
				return s.syntaxError(i, false, "expected ':' after a member name, found "+s.found(i), "")
			}
			i++
			if len(s.stack) == 1 {
				key := src[keyAt+1 : end-1]
				if strings.IndexByte(key, '\\') >= 0 {
					_ = json.Unmarshal([]byte(src[keyAt:end]), &key) // valid: scanString checked it
				}
				s.members = append(s.members, tmplMember{key: key, keyAt: keyAt})
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
			kind, what, next := byte('o'), "", stAfter
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
				i, what, next = i+1, "an object", stKeyOrClose
			case c == '[':
				s.stack = append(s.stack, tmplFrame{open: i})
				i, what, next = i+1, "an array", stValueOrClose
			case c == '"':
				end, brace, err := s.scanString(i)
				if err != nil {
					return err
				}
				kind = 's'
				if s.interp && brace && s.interpolate(i, end) {
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
				i, what = end, "a number"
			case strings.HasPrefix(src[i:], "true"):
				i, what = i+4, "a boolean"
			case strings.HasPrefix(src[i:], "false"):
				i, what = i+5, "a boolean"
			case strings.HasPrefix(src[i:], "null"):
				i, kind = i+4, 'n'
			default:
				return s.syntaxError(i, false, "expected a value, found "+s.found(i), "")
			}
			if memberValue {
				m := &s.members[len(s.members)-1]
				m.valueAt, m.value, m.kind = start, kind, what
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

// placeholder handles {{...}} outside strings at i: everything up to the first
// "}}" is the name, as on the platform.
func (s *tmplScanner) placeholder(i int) (int, *TemplateError) {
	n := strings.Index(s.src[i+2:], "}}")
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
	root, _, _ := strings.Cut(name, ".")
	if slices.Contains(s.allowed, root) {
		return nil
	}
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

func (s *tmplScanner) addPath(name string) int {
	if id, ok := s.pathIDs[name]; ok {
		return id
	}
	if s.pathIDs == nil {
		s.pathIDs = map[string]int{}
	}
	s.pathIDs[name] = len(s.paths)
	parts := strings.Split(name, ".")
	p := tmplPath{name: name, root: parts[0]}
	for _, k := range parts[1:] {
		p.props = append(p.props, tmplProp{key: k, index: tmplArrayIndex(k)})
	}
	if !slices.Contains(s.roots, p.root) {
		s.roots = append(s.roots, p.root)
	}
	s.paths = append(s.paths, p)
	return len(s.paths) - 1
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

// scanString checks the JSON string starting at i and returns its end; brace
// reports whether it holds a '{', written or escaped.
func (s *tmplScanner) scanString(i int) (end int, brace bool, err *TemplateError) {
	src := s.src
	start := i
	i++
	for {
		if i >= len(src) {
			return 0, false, s.unterminated(start)
		}
		c := src[i]
		switch {
		case c == '"':
			return i + 1, brace, nil
		case c == '\\':
			if i+1 >= len(src) {
				return 0, false, s.unterminated(start)
			}
			switch src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				v, ok := tmplHex4(src, i+2)
				if !ok {
					return 0, false, s.syntaxError(i, true, `invalid \u escape in a string`, `write \u and four hexadecimal digits`)
				}
				brace = brace || v == '{'
				i += 6
			default:
				return 0, false, s.syntaxError(i, true, fmt.Sprintf("invalid escape %q in a string", src[i:i+2]), `escape only " \ / b f n r t u`)
			}
		case c < 0x20:
			return 0, false, s.syntaxError(i, true, fmt.Sprintf("control character %U in a string", rune(c)), `escape it, as \n for a new line`)
		case c < utf8.RuneSelf:
			brace = brace || c == '{'
			i++
		default:
			r, size := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, false, s.syntaxError(i, true, "invalid UTF-8 in a string", "")
			}
			i += size
		}
	}
}

func (s *tmplScanner) unterminated(start int) *TemplateError {
	err := s.syntaxError(start, true, "unterminated string", `close it with '"'`)
	s.resumeAt = len(s.src) // nothing follows the string
	return err
}

// tmplStringEnd returns the end of the valid JSON string starting at i.
func tmplStringEnd(src string, i int) (int, error) {
	s := tmplScanner{src: src}
	end, _, err := s.scanString(i)
	if err != nil {
		return 0, err
	}
	return end, nil
}

func tmplHex4(src string, i int) (rune, bool) {
	if i+4 > len(src) {
		return 0, false
	}
	var v rune
	for _, c := range []byte(src[i : i+4]) {
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
	src := s.src
	start := i
	digits := func() bool {
		j := i
		for i < len(src) && '0' <= src[i] && src[i] <= '9' {
			i++
		}
		return i > j
	}
	bad := func() (int, *TemplateError) {
		return 0, s.syntaxError(start, false, "invalid number", "JSON numbers look like -12, 3.5 or 1e-7")
	}
	if src[i] == '-' {
		i++
	}
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case !digits():
		return bad()
	}
	if i < len(src) && src[i] == '.' {
		i++
		if !digits() {
			return bad()
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if !digits() {
			return bad()
		}
	}
	return i, nil
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

func tmplNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.'
}

// interpolate looks for {{name}} in the decoded string [start, end) (quotes
// included) and records a slot; it reports whether it found any.
func (s *tmplScanner) interpolate(start, end int) bool {
	units := make([]tmplUnit, 0, end-start)
	for j := start + 1; j < end-1; {
		c := s.src[j]
		switch {
		case c == '\\' && s.src[j+1] == 'u':
			v, _ := tmplHex4(s.src, j+2)
			u := tmplUnit{at: j}
			if v < utf8.RuneSelf {
				u.c = byte(v)
			}
			units = append(units, u)
			j += 6
		case c == '\\':
			units = append(units, tmplUnit{c: tmplUnescape(s.src[j+1]), at: j})
			j += 2
		case c < utf8.RuneSelf:
			units = append(units, tmplUnit{c: c, at: j})
			j++
		default:
			_, size := utf8.DecodeRuneInString(s.src[j:])
			units = append(units, tmplUnit{at: j})
			j += size
		}
	}
	units = append(units, tmplUnit{at: end - 1}) // the closing quote
	n := len(units) - 1

	type match struct{ from, to int }
	var matches []match
	var names []string
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
				matches = append(matches, match{u, v + 2})
				names = append(names, string(name))
				u = v + 2
				continue
			}
		}
		u++
	}
	if len(matches) == 0 {
		return false
	}
	for k, m := range matches {
		if err := s.checkName(names[k], units[m.from].at); err != nil && s.strErr == nil {
			s.strErr = err
		}
	}
	if len(matches) == 1 && matches[0].from == 0 && matches[0].to == n {
		mark := tmplMark{kind: tmplMarkExact, start: start, end: end, path: s.addPath(names[0])}
		if len(s.stack) > 0 && s.stack[len(s.stack)-1].obj {
			// A member's value: the member is left out when it is undefined.
			top := &s.stack[len(s.stack)-1]
			s.objects[top.id] = true
			s.marks[top.boundary].value = len(s.marks)
		}
		s.marks = append(s.marks, mark)
		return true
	}
	parts := make([]tmplPart, 0, len(matches)+1)
	prev := 0
	for k, m := range matches {
		parts = append(parts, tmplPart{lit: s.src[units[prev].at:units[m.from].at], path: s.addPath(names[k]), at: units[m.from].at})
		prev = m.to
	}
	parts = append(parts, tmplPart{lit: s.src[units[prev].at : end-1], path: -1})
	s.marks = append(s.marks, tmplMark{kind: tmplMarkPartial, start: start, end: end, parts: parts})
	return true
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
func (s *tmplScanner) build() (ops []tmplOp, tail string, nFlags int) {
	flags := make([]int, len(s.objects))
	for id, dynamic := range s.objects {
		flags[id] = -1
		if dynamic {
			flags[id] = nFlags
			nFlags++
		}
	}
	src := s.src
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
				ops = append(ops, tmplOp{lit: src[pos:cut], kind: tmplOpMember, at: v.start, path: v.path, flag: f, key: src[next:v.start]})
				pos = v.end
				i = m.value
				continue
			}
			ops = append(ops, tmplOp{lit: src[pos:cut], kind: tmplOpSep, flag: f})
			pos = next
		case tmplMarkRaw:
			ops = append(ops, tmplOp{lit: src[pos:m.start], kind: tmplOpRaw, at: m.start, path: m.path})
			pos = m.end
		case tmplMarkExact:
			ops = append(ops, tmplOp{lit: src[pos:m.start], kind: tmplOpExact, at: m.start, path: m.path})
			pos = m.end
		case tmplMarkPartial:
			ops = append(ops, tmplOp{lit: src[pos:m.start], kind: tmplOpPartial, at: m.start, parts: m.parts})
			pos = m.end
		case tmplMarkNull:
			ops = append(ops, tmplOp{lit: src[pos:m.start], kind: tmplOpNull, at: m.start})
			pos = m.end
		}
	}
	return ops, src[pos:], nFlags
}

// --- rendering ---

// tmplState is per-render scratch space, pooled so that rendering allocates
// only its output.
type tmplState struct {
	keys     []string // stack of sorted map keys
	keysUsed int      // most keys held at once in this render
	flags    []bool
}

var tmplStatePool = sync.Pool{New: func() any { return new(tmplState) }}

func (st *tmplState) release() {
	clear(st.keys[:st.keysUsed]) // let the keys go
	st.keys, st.keysUsed = st.keys[:0], 0
	tmplStatePool.Put(st)
}

func (t *PayloadTemplate) appendRender(b []byte, vars map[string]any, st *tmplState) ([]byte, error) {
	if cap(st.flags) < t.nFlags {
		st.flags = make([]bool, t.nFlags)
	}
	flags := st.flags[:t.nFlags]
	clear(flags)
	var err error
	for i := range t.ops {
		op := &t.ops[i]
		b = append(b, op.lit...)
		switch op.kind {
		case tmplOpRaw:
			b, err = t.appendRaw(b, op, vars, st)
		case tmplOpExact:
			var v any
			var ok bool
			if v, ok, err = t.resolve(op.path, op.at, vars); err == nil {
				if !ok {
					b = append(b, "null"...)
				} else {
					b, err = t.appendValue(b, v, op.path, op.at, st)
				}
			}
		case tmplOpMember:
			var v any
			var ok bool
			if v, ok, err = t.resolve(op.path, op.at, vars); err == nil && ok {
				if flags[op.flag] {
					b = append(b, ',')
				}
				flags[op.flag] = true
				b = append(b, op.key...)
				b, err = t.appendValue(b, v, op.path, op.at, st)
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
			for k := range op.parts {
				p := &op.parts[k]
				b = append(b, p.lit...)
				if p.path < 0 {
					continue
				}
				var v any
				var ok bool
				if v, ok, err = t.resolve(p.path, p.at, vars); err != nil {
					break
				}
				if b, err = st.appendCoerced(b, v, ok); err != nil {
					err = t.valueError(p.path, p.at, err)
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
	v, ok, err := t.resolve(op.path, op.at, vars)
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
		return t.appendValue(b, v, op.path, op.at, st)
	}
	// Decide by the encoding: falsy values encode as null, false, "" or 0.
	start := len(b)
	b, err = t.appendValue(b, v, op.path, op.at, st)
	if err != nil {
		return nil, err
	}
	if tmplFalsyJSON(b[start:]) {
		b = append(b[:start], "null"...)
	}
	return b, nil
}

func (t *PayloadTemplate) appendValue(b []byte, v any, path, at int, st *tmplState) ([]byte, error) {
	b, err := st.appendJSON(b, v)
	if err != nil {
		return nil, t.valueError(path, at, err)
	}
	return b, nil
}

func (t *PayloadTemplate) valueError(path, at int, err error) error {
	var te *TemplateError
	if errors.As(err, &te) {
		return te
	}
	name := t.paths[path].name
	e := t.newError(err, at, fmt.Sprintf("cannot encode the value of {{%s}}: %v", name, err), "")
	e.Variable = name
	return e
}

// resolve follows a dot path as the platform does. ok is false when the value
// is undefined in JavaScript terms; a step into anything that is not an object
// or array gives null.
func (t *PayloadTemplate) resolve(path, at int, vars map[string]any) (v any, ok bool, err error) {
	p := &t.paths[path]
	v, ok = vars[p.root]
	for i := 0; i < len(p.props); i++ {
		if !ok {
			return nil, true, nil
		}
		pr := &p.props[i]
		switch x := v.(type) {
		case map[string]any:
			if x == nil {
				return nil, true, nil
			}
			v, ok = x[pr.key]
		case []any:
			if x == nil {
				return nil, true, nil
			}
			v, ok = tmplIndex(x, pr)
		case map[string]string:
			if x == nil {
				return nil, true, nil
			}
			v, ok = x[pr.key]
		case []string:
			if x == nil {
				return nil, true, nil
			}
			v, ok = tmplIndex(x, pr)
		case nil, string, bool, float64, float32, int, int8, int16, int32, int64,
			uint, uint8, uint16, uint32, uint64, uintptr, json.Number:
			return nil, true, nil
		default:
			n, err := tmplNormalize(v)
			if err != nil {
				return nil, false, t.valueError(path, at, err)
			}
			v = n
			i-- // step again, into the decoded value
		}
	}
	return v, ok, nil
}

func tmplIndex[E any](a []E, pr *tmplProp) (any, bool) {
	if pr.index >= 0 && pr.index < len(a) {
		return a[pr.index], true
	}
	if pr.key == "length" {
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
		base := len(st.keys)
		for k := range x {
			st.keys = append(st.keys, k)
		}
		keys := st.keys[base:]
		st.keysUsed = max(st.keysUsed, len(st.keys))
		slices.Sort(keys)
		b = append(b, '{')
		var err error
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = tmplAppendString(b, k)
			b = append(b, ':')
			if b, err = st.appendJSON(b, x[k]); err != nil {
				return nil, err
			}
		}
		st.keys = st.keys[:base]
		return append(b, '}'), nil
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

// tmplValidNumber reports whether s is a JSON number.
func tmplValidNumber(s string) bool {
	if s == "" {
		return false
	}
	sc := tmplScanner{src: s}
	end, err := sc.scanNumber(0)
	return err == nil && end == len(s)
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
		c := s[i]
		if tmplPlain[c] {
			i++
			continue
		}
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

// Package payloadtemplate parses and renders webhook payload and headers
// templates as the Apify platform does (WebhookPayloadTemplate of
// @apify/utilities): a template is parsed once into literal text and
// placeholder slots, and each render appends the text and the JSON of the
// values into one buffer. The root package actor exposes it as
// ParsePayloadTemplate; the local platform (apifytest) uses it directly.
package payloadtemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

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

// Default is the payload template the platform uses when a
// webhook has none, byte for byte.
const Default = `{
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

// Options configures how a payload or headers template is parsed.
// The zero value is the platform's default: placeholders inside strings are
// left alone and the platform's variables are allowed.
type Options struct {
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

// Error reports a problem in a payload or headers template, or with a
// value while rendering one. It wraps ErrInvalidJSON, ErrInvalidVariable,
// ErrInvalidHeaders, or the error that encoding a value returned.
type Error struct {
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
func (e *Error) Error() string {
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
func (e *Error) Unwrap() error { return e.Err }

// Template is a parsed payload or headers template. It is immutable and
// safe for concurrent use.
type Template struct {
	text      string
	what      string
	ops       []tmplOp
	parts     []tmplPart // of the ops' interpolated strings
	tail      string
	paths     []tmplPath // in order of first use
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

func (t *Template) str(s tmplSpan) string { return t.text[s.from:s.to] }

// tmplOp writes lit, then its slot.
type tmplOp struct {
	lit tmplSpan
	// aux is, for tmplOpMember, the member's text up to its value; for
	// tmplOpPartial, its parts, indexes into Template.parts.
	aux tmplSpan
	tmplSlot
	flag int32 // tmplOpMember, tmplOpSep: per-render flag of the op's object: a member was written
	kind tmplOpKind
}

// tmplSlot is where a placeholder is and the path it names.
type tmplSlot struct {
	at   int32 // template offset
	path int32 // index into Template.paths
}

// tmplPart is a piece of an interpolated string: raw JSON string content, then
// the coerced value of a path (path < 0 for the closing piece).
type tmplPart struct {
	lit tmplSpan
	tmplSlot
}

// tmplPath is the path of a placeholder, or the start that several paths
// share: a variable, or one step from another path. Paths that start alike
// share their start, and a render resolves each path once, so that
// {{resource.id}} and {{resource.stats.x}} look resource up once.
type tmplPath struct {
	name    string // as written between the braces
	key     string // the variable, or the property of parent this path steps to
	rootLen int32  // the variable is name[:rootLen]
	parent  int32  // the path this one steps from, or -1 for a variable
	index   int    // key as a canonical array index, or -1
}

func (p *tmplPath) root() string { return p.name[:p.rootLen] }

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

// Parse parses and validates a payload template: its JSON syntax
// with every placeholder read as a value, and the variable each placeholder
// starts with. Errors are *Error values wrapping ErrInvalidJSON or
// ErrInvalidVariable. As on the platform, variable errors of placeholders
// outside strings come first, then syntax errors, then variable errors of
// placeholders inside strings.
func Parse(text string, opts Options) (*Template, error) {
	return tmplParse(text, opts, "payload template")
}

// ParseHeaders parses a headers template as Parse does
// and also checks that its top level is a JSON object whose member names are
// valid header names and whose values are strings, null or placeholders.
// Errors about the shape wrap ErrInvalidHeaders.
func ParseHeaders(text string, opts Options) (*Template, error) {
	t, err := tmplParse(text, opts, "headers template")
	if err != nil {
		return nil, err
	}
	if err := t.checkHeadersShape(); err != nil {
		return nil, err
	}
	return t, nil
}

// Variables returns the variables the template's placeholders start with, each
// once, in order of first use.
func (t *Template) Variables() []string {
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
// encoded with encoding/json. Maps are written with their keys sorted, so
// that a body does not change from one render to the next. A
// json.RawMessage is written as it is, compacted, and a path looks into one
// without decoding it: passing a large value that comes as JSON (a run from
// the API) this way spares decoding and encoding it again.
func (t *Template) Render(vars map[string]any) ([]byte, error) {
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
func (t *Template) RenderHeaders(vars map[string]any) (map[string]string, error) {
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

func (t *Template) headersTopError() *Error {
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

func (t *Template) checkHeadersShape() error {
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
func (t *Template) literalAt(i int) string {
	end, err := tmplStringEnd(t.text, i)
	if err != nil {
		return ""
	}
	return t.text[i:end]
}

func (t *Template) checkHeaderName(m *tmplMember) *Error {
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
func (t *Template) headerError(m *tmplMember, offset int, reason, hint string) *Error {
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

func (t *Template) newError(kind error, offset int, reason, hint string) *Error {
	return tmplNewError(t.text, t.what, kind, offset, reason, hint)
}

func tmplNewError(src, what string, kind error, offset int, reason, hint string) *Error {
	line, col := tmplLineCol(src, offset)
	return &Error{Offset: offset, Line: line, Column: col, Reason: reason, Hint: hint, Err: kind, what: what}
}

// tmplLineCol turns a byte offset into a line and a column of characters.
func tmplLineCol(src string, offset int) (line, col int) {
	offset = min(max(offset, 0), len(src))
	before := src[:offset]
	line = strings.Count(before, "\n") + 1
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCountInString(before[lineStart:]) + 1
}

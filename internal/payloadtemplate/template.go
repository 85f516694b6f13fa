// Package payloadtemplate parses and renders webhook payload and headers
// templates as the Apify platform does (WebhookPayloadTemplate of
// @apify/utilities): a template is parsed once into literal text and
// placeholder slots, and each render appends the text and the JSON of the
// values into one buffer. The root package actor exposes it as
// ParsePayloadTemplate; the local platform (apifytest) uses it directly.
package payloadtemplate

import (
	"bytes"
	"errors"
	"fmt"
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

// defaultVariables are the variables the platform offers to templates.
var defaultVariables = []string{"userId", "createdAt", "eventType", "eventData", "resource", "globals"}

// ErrInvalidJSON reports a template that is not JSON once every placeholder is
// read as a value.
var ErrInvalidJSON = errors.New("invalid template JSON")

// ErrInvalidVariable reports a placeholder whose variable is not allowed.
var ErrInvalidVariable = errors.New("invalid template variable")

// ErrInvalidHeaders reports a headers template that is not a JSON object of
// header names to string values, or that renders to something else.
var ErrInvalidHeaders = errors.New("invalid headers template")

// ErrBodyTooLarge reports a render that would write more than its limit
// (Options.MaxBodyBytes).
var ErrBodyTooLarge = errors.New("rendered template too large")

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
	// MaxBodyBytes is the most bytes a render may write; a render that
	// would write more stops with an *Error wrapping ErrBodyTooLarge.
	// Zero (or less) means DefaultMaxBodyBytes.
	MaxBodyBytes int
}

// Limits that no real template comes near; they keep a hostile one from
// taking a process's memory or time.
const (
	MaxTemplateBytes    = 1 << 20  // the longest template Parse takes
	MaxPlaceholderBytes = 4 << 10  // the longest name between a placeholder's braces (so at most 2,048 segments)
	DefaultMaxBodyBytes = 10 << 20 // the most bytes a render writes unless Options.MaxBodyBytes says otherwise
)

// Error reports a problem in a payload or headers template, or with a
// value while rendering one. It wraps ErrInvalidJSON, ErrInvalidVariable,
// ErrInvalidHeaders, ErrBodyTooLarge, or the error that encoding a value
// returned.
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
	// ErrInvalidHeaders, ErrBodyTooLarge) or the underlying error.
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
	what      string // "payload template" or "headers template"
	ops       []op
	tail      string // the text after the last op
	paths     []path // in order of first use
	segs      []seg  // of all paths
	nFlags    int
	maxBody   int
	topObject bool     // the top level is an object
	members   []member // of a headers template's top-level object
}

type opKind uint8

const (
	opRaw     opKind = iota + 1 // {{path}} outside strings
	opExact                     // "{{path}}" in an array or at the top level
	opMember                    // object member whose value is "{{path}}": left out when undefined
	opSep                       // with interpolation, the '{' or ',' before a member of an object
	opCoerce                    // {{path}} among text in a string: String(value), escaped
	opNull                      // a number literal beyond float64: JavaScript reads Infinity, JSON.stringify writes null
)

// span is text[from:to] of the template: without pointers, the garbage
// collector has nothing to scan in ops.
type span struct{ from, to int32 }

func (t *Template) str(s span) string { return t.text[s.from:s.to] }

// op writes lit, then its slot.
type op struct {
	lit span
	aux span // opMember: the member's text up to its value
	slot
	flag int32 // opMember, opSep: index of the object's flag "a member was written"
	kind opKind
}

// slot is where a placeholder is and the path it names.
type slot struct {
	at   int32 // template offset
	path int32 // index into Template.paths
}

// path is the name of a placeholder, as written between the braces, and
// its segments, segs[from:to]: the variable, then one step per dot.
type path struct {
	name     string
	from, to int32
}

// seg is a segment of a path: a member name, and the same as a canonical
// array index (or -1).
type seg struct {
	from, to int32  // the key is the path's name[from:to]
	index    int32  // the key as an array index, or -1
	hash     uint32 // of the key, for the hash tables of JSON objects
}

// Parse parses and validates a payload template: its JSON syntax with
// every placeholder read as a value, and the variable each placeholder
// starts with. Errors are *Error values wrapping ErrInvalidJSON or
// ErrInvalidVariable. As on the platform, variable errors of placeholders
// outside strings come first, then syntax errors, then variable errors of
// placeholders inside strings.
func Parse(text string, o Options) (*Template, error) {
	return parse(text, o, "payload template")
}

// ParseHeaders parses a headers template as Parse does and also checks
// that its top level is a JSON object whose member names are valid header
// names and whose values are strings, null or placeholders. Errors about the
// shape wrap ErrInvalidHeaders.
func ParseHeaders(text string, o Options) (*Template, error) {
	t, err := parse(text, o, "headers template")
	if err != nil {
		return nil, err
	}
	if err := t.checkHeadersShape(); err != nil {
		return nil, err
	}
	return t, nil
}

// Variables returns the variables the template's placeholders start with,
// each once, in order of first use.
func (t *Template) Variables() []string {
	var roots []string
	for _, p := range t.paths {
		if r := rootOf(p.name); !slices.Contains(roots, r) {
			roots = append(roots, r)
		}
	}
	return roots
}

// Render returns the JSON body the platform would send for these
// variables: the template's literal text with each placeholder replaced. A
// placeholder outside strings whose value is missing or falsy (0, false,
// "", null) becomes null; a missing path below a variable is null, not an
// error. Values are JSON as decoded by encoding/json (map[string]any,
// []any, string, float64, bool, nil, json.Number, json.RawMessage), or a
// *JSON; other Go values are encoded with encoding/json. Maps are written
// with their keys sorted, so that a body does not change from one render to
// the next. Raw JSON is written as it is, compacted, and a path looks into
// it without decoding it.
func (t *Template) Render(vars map[string]any) ([]byte, error) {
	st := statePool.Get().(*state)
	defer st.release()
	buf, err := t.appendRender(st.buf[:0], vars, st)
	if err != nil {
		return nil, err
	}
	st.buf = buf
	return bytes.Clone(buf), nil // the body is allocated once, at its size
}

func (t *Template) newError(kind error, offset int, reason, hint string) *Error {
	return newError(t.text, t.what, kind, offset, reason, hint)
}

func newError(src, what string, kind error, offset int, reason, hint string) *Error {
	line, col := lineCol(src, offset)
	return &Error{Offset: offset, Line: line, Column: col, Reason: reason, Hint: hint, Err: kind, what: what}
}

// lineCol turns a byte offset into a line and a column of characters.
func lineCol(src string, offset int) (line, col int) {
	offset = min(max(offset, 0), len(src))
	before := src[:offset]
	line = strings.Count(before, "\n") + 1
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCountInString(before[lineStart:]) + 1
}

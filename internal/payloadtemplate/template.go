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
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Deliberate differences from the reference, each pinned by a case in
// testdata/templates/cases.json: an unclosed "{{" is an ErrInvalidJSON error
// (the reference may loop forever); JSON strings are tokenised correctly,
// also after a string ending in a backslash; a placeholder must stand for a
// whole JSON value, as the platform checks when a webhook is saved; text a
// placeholder brings in is data, never interpolated again; a dot path sees
// only the data (an array's length, no inherited JavaScript property); an
// interpolated string that is exactly a missing variable is dropped from its
// object, and written as null at the top level.

// Default is the platform's payload template for a webhook without one.
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

// Options configures how a payload or headers template is parsed and
// rendered. The zero value is the platform's default.
type Options struct {
	// InterpolateStrings replaces placeholders inside JSON strings too
	// (shouldInterpolateStrings): a string that is exactly one placeholder
	// takes the value with its own type, else String(value) is spliced in.
	InterpolateStrings bool
	// AllowedVariables lists the variables a placeholder may start with;
	// nil means userId, createdAt, eventType, eventData, resource, globals.
	AllowedVariables []string
	// MaxBodyBytes is the most bytes a render may write (ErrBodyTooLarge
	// beyond); zero or less means DefaultMaxBodyBytes.
	MaxBodyBytes int
}

// Limits that no real template comes near.
const (
	MaxTemplateBytes    = 1 << 20  // the longest template Parse takes
	MaxPlaceholderBytes = 4 << 10  // the longest name between a placeholder's braces (so at most 2,048 segments)
	DefaultMaxBodyBytes = 10 << 20 // the most bytes a render writes unless Options.MaxBodyBytes says otherwise
)

// Error reports a problem in a payload or headers template, or with a
// value while rendering one.
type Error struct {
	Offset       int    // byte offset in the template
	Line, Column int    // the same place, from 1; Column counts characters
	Variable     string // the placeholder's name, as in {{resource.id}}, if any
	Header       string // the header's name, if any
	Reason       string // what is wrong
	Hint         string // how to put it right, if there is more to say
	// Err is the kind (ErrInvalidJSON, ErrInvalidVariable,
	// ErrInvalidHeaders, ErrBodyTooLarge) or the error of encoding a value.
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

// Template is a parsed payload or headers template, immutable and safe for
// concurrent use.
type Template struct {
	text      string
	what      string // "payload template" or "headers template"
	ops       []op
	tail      string   // the text after the last op
	roots     []string // the variables, in order of first use
	paths     []path   // in order of first use
	segs      []seg    // of all paths
	hashOnce  sync.Once
	hashes    []uint32 // of each segment's key, made on the first step into a JSON
	nFlags    int
	maxBody   int
	topObject bool  // the top level is an object
	headers   *JSON // a headers template's index: its members
}

type opKind uint8

const (
	opRaw    opKind = iota + 1 // {{path}} outside strings
	opExact                    // "{{path}}" in an array or at the top level
	opMember                   // object member whose value is "{{path}}": left out when undefined
	opSep                      // with interpolation, the '{' or ',' before a member of an object
	opCoerce                   // {{path}} among text in a string: String(value), escaped
	opNull                     // a number literal beyond float64: JavaScript reads Infinity, JSON.stringify writes null
)

// span is text[from:to] of the template: without pointers, the garbage
// collector has nothing to scan in ops.
type span struct{ from, to int32 }

func (t *Template) str(s span) string { return t.text[s.from:s.to] }

type op struct { // writes lit, then its slot
	lit span
	aux span // opMember: the member's text up to its value
	slot
	flag int32 // opMember, opSep: index of the object's flag "a member was written"
	kind opKind
}

type slot struct { // where a placeholder is and the path it names
	at   int32 // template offset
	path int32 // index into Template.paths
}

// path is a placeholder's name, its variable (an index into
// Template.roots) and its segments, segs[from:to]: the variable, then one
// per dot.
type path struct {
	name           string
	root, from, to int32
}

type seg struct { // a member name, name[from:to] of its path
	from, to int32
	index    int32 // the key as an array index, or -1
}

// hash returns the hash of segment i's key, for the hash tables of JSON
// objects. The hashes are made once, when a render first needs one.
func (t *Template) hash(i int32) uint32 {
	t.hashOnce.Do(func() {
		t.hashes = make([]uint32, len(t.segs))
		for _, p := range t.paths {
			for k := p.from; k < p.to; k++ {
				t.hashes[k] = uint32(maphash.String(hashSeed, p.name[t.segs[k].from:t.segs[k].to]))
			}
		}
	})
	return t.hashes[i]
}

// Parse parses and validates a payload template: its JSON with every
// placeholder read as a value, and the variable each starts with. Errors are
// *Error values wrapping ErrInvalidJSON or ErrInvalidVariable; as on the
// platform, variable errors outside strings come first, then syntax errors,
// then variable errors inside strings.
func Parse(text string, o Options) (*Template, error) {
	return parse(text, o, "payload template")
}

// ParseHeaders parses a headers template as Parse does and checks that it
// is an object of header names to strings, null or placeholders (else
// ErrInvalidHeaders).
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
	return slices.Clone(t.roots)
}

// Render returns the JSON body the platform would send for vars. A
// placeholder outside strings whose value is missing or falsy becomes null.
// Values are as encoding/json decodes them, json.RawMessage or *JSON (written
// compacted, in their order); other Go values go by their encoding/json
// encoding. Maps are written with their keys sorted.
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

func lineCol(src string, offset int) (line, col int) {
	offset = min(max(offset, 0), len(src))
	before := src[:offset]
	line = strings.Count(before, "\n") + 1
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCountInString(before[lineStart:]) + 1
}

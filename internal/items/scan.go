package items

import (
	"encoding/json"
	"strconv"
)

// Checking pushed items: one pass over a body that validates its JSON,
// finds its items and copies them without their insignificant space, as
// json.Valid and json.Compact would, without a pass of each.

// MaxDepth is the deepest nesting of objects and arrays an item may have:
// encoding/json's, so that every item Split accepts also decodes.
const MaxDepth = 10000

// SyntaxError is a body that is not valid JSON.
type SyntaxError struct {
	Msg    string // what is wrong
	Offset int    // the byte of the body where it went wrong
}

func (e *SyntaxError) Error() string { return e.Msg + " (at byte " + strconv.Itoa(e.Offset) + ")" }

// NotObjectError is an item that is valid JSON but not an object.
type NotObjectError struct {
	Index int    // of the item in the body
	Kind  string // what it is: "an array", "a string", "a number", "a boolean" or "null"
}

func (e *NotObjectError) Error() string {
	return "item " + strconv.Itoa(e.Index) + " is " + e.Kind + ", not a JSON object"
}

// Pushed is the items Split finds in a body.
type Pushed struct {
	// Data holds the items' compact JSON, one after the other.
	Data []byte
	// Ends has where each item ends in Data; each starts where the one
	// before it ends, the first at 0.
	Ends []int
	// Clean is how many items have a field whose name does not start
	// with '#'.
	Clean int
}

// Item returns item i.
func (p Pushed) Item(i int) []byte {
	start := 0
	if i > 0 {
		start = p.Ends[i-1]
	}
	return p.Data[start:p.Ends[i]:p.Ends[i]]
}

// Split checks body, a JSON array of objects or one JSON object, in one
// pass, and returns its items compact. Its errors are a *SyntaxError or a
// *NotObjectError.
func Split(body []byte) (Pushed, error) {
	s := scanner{b: body, out: make([]byte, 0, len(body))}
	var p Pushed
	item := func() error {
		s.space()
		kind := s.peek()
		s.compact, s.mark, s.clean = true, s.i, false
		if err := s.value(); err != nil {
			return err
		}
		s.out = append(s.out, s.b[s.mark:s.i]...)
		s.compact = false
		if kind != '{' {
			return &NotObjectError{Index: len(p.Ends), Kind: kindOf(kind)}
		}
		p.Ends = append(p.Ends, len(s.out))
		if s.clean {
			p.Clean++
		}
		return nil
	}
	s.space()
	if s.peek() == '[' {
		s.i++
		s.space()
		if s.peek() == ']' {
			s.i++
		} else {
			for {
				if err := item(); err != nil {
					return Pushed{}, err
				}
				s.space()
				if c := s.peek(); c == ']' {
					s.i++
					break
				} else if c != ',' {
					return Pushed{}, s.unexpected("after array element")
				}
				s.i++
			}
		}
	} else if err := item(); err != nil {
		return Pushed{}, err
	}
	s.space()
	if s.i < len(s.b) {
		return Pushed{}, s.unexpected("after top-level value")
	}
	p.Data = s.out
	if len(p.Data) < cap(p.Data)/2 { // a body with much space: no need to keep it
		p.Data = append([]byte(nil), p.Data...)
	}
	return p, nil
}

func kindOf(first byte) string {
	switch first {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// scanner walks JSON values in b without recursion.
type scanner struct {
	b     []byte
	i     int    // the next byte to read
	stack []bool // the objects and arrays open: whether each is an object

	// compact makes space drop b[mark:i] into out before skipping space.
	compact bool
	mark    int
	out     []byte

	// clean is set on a key of the outermost object that does not start
	// with '#'.
	clean bool
}

// peek returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// space skips insignificant space.
func (s *scanner) space() {
	j := s.i
	for j < len(s.b) && isSpace(s.b[j]) {
		j++
	}
	if j > s.i && s.compact {
		s.out = append(s.out, s.b[s.mark:s.i]...)
		s.mark = j
	}
	s.i = j
}

// unexpected is the error of the next byte, looking for what context says.
func (s *scanner) unexpected(context string) error {
	if s.i >= len(s.b) {
		return &SyntaxError{"unexpected end of JSON input", s.i}
	}
	return &SyntaxError{"invalid character " + quoteChar(s.b[s.i]) + " " + context, s.i}
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	q := strconv.Quote(string(rune(c)))
	return "'" + q[1:len(q)-1] + "'"
}

// value scans the value at s.i, with what it holds.
func (s *scanner) value() error {
	for {
		// A value starts here.
		switch c := s.peek(); {
		case c == '{' || c == '[':
			if len(s.stack) == MaxDepth {
				return &SyntaxError{"more than " + strconv.Itoa(MaxDepth) + " nested objects and arrays", s.i}
			}
			s.stack = append(s.stack, c == '{')
			s.i++
			s.space()
			if s.peek() == c+2 { // '}' or ']'
				s.i++
				s.stack = s.stack[:len(s.stack)-1]
				break
			}
			if c == '{' {
				if err := s.key(); err != nil {
					return err
				}
			}
			continue
		case c == '"':
			if err := s.str(); err != nil {
				return err
			}
		case c == 't':
			if err := s.literal("true"); err != nil {
				return err
			}
		case c == 'f':
			if err := s.literal("false"); err != nil {
				return err
			}
		case c == 'n':
			if err := s.literal("null"); err != nil {
				return err
			}
		case c == '-' || '0' <= c && c <= '9':
			if err := s.number(); err != nil {
				return err
			}
		default:
			return s.unexpected("looking for beginning of value")
		}
		// A value ended: close what it ends, up to the next value.
		for {
			if len(s.stack) == 0 {
				return nil
			}
			object := s.stack[len(s.stack)-1]
			s.space()
			c := s.peek()
			if c == ',' {
				s.i++
				if object {
					if err := s.key(); err != nil {
						return err
					}
				}
				s.space()
				break
			}
			if object && c == '}' || !object && c == ']' {
				s.i++
				s.stack = s.stack[:len(s.stack)-1]
				continue
			}
			if object {
				return s.unexpected("after object key:value pair")
			}
			return s.unexpected("after array element")
		}
	}
}

// key scans an object's key and its colon, up to its value.
func (s *scanner) key() error {
	s.space()
	if s.peek() != '"' {
		return s.unexpected("looking for beginning of object key string")
	}
	start := s.i
	if err := s.str(); err != nil {
		return err
	}
	if len(s.stack) == 1 && !s.clean {
		s.clean = !hidden(s.b[start:s.i])
	}
	s.space()
	if s.peek() != ':' {
		return s.unexpected("after object key")
	}
	s.i++
	s.space()
	return nil
}

// hidden reports whether the JSON string k, valid, starts with '#'.
func hidden(k []byte) bool {
	if len(k) > 1 && k[1] == '\\' { // escaped: decode it
		var name string
		_ = json.Unmarshal(k, &name)
		return len(name) > 0 && name[0] == '#'
	}
	return len(k) > 1 && k[1] == '#'
}

// str scans a string.
func (s *scanner) str() error {
	b := s.b
	i := s.i + 1
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			s.i = i + 1
			return nil
		case c == '\\':
			i++
			if i >= len(b) {
				break
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				for range 4 {
					if i >= len(b) {
						break
					}
					if !isHex(b[i]) {
						s.i = i
						return s.unexpected("in \\u hexadecimal character escape")
					}
					i++
				}
			default:
				s.i = i
				return s.unexpected("in string escape code")
			}
		case c < 0x20:
			s.i = i
			return s.unexpected("in string literal")
		default:
			i++
		}
	}
	s.i = len(b)
	return s.unexpected("")
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// literal scans true, false or null.
func (s *scanner) literal(word string) error {
	for j := range len(word) {
		if s.i >= len(s.b) || s.b[s.i] != word[j] {
			return s.unexpected("in literal " + word)
		}
		s.i++
	}
	return nil
}

// number scans a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return s.unexpected("in numeric literal")
	}
	if s.peek() == '.' {
		s.i++
		if c := s.peek(); c < '0' || c > '9' {
			return s.unexpected("after decimal point in numeric literal")
		}
		s.digits()
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if c := s.peek(); c < '0' || c > '9' {
			return s.unexpected("in exponent of numeric literal")
		}
		s.digits()
	}
	return nil
}

func (s *scanner) digits() {
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
}

package items

import "strconv"

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

// Error says what is wrong and at which byte.
func (e *SyntaxError) Error() string { return e.Msg + " (at byte " + strconv.Itoa(e.Offset) + ")" }

// NotObjectError is an item that is valid JSON but not an object.
type NotObjectError struct {
	Index int    // of the item in the body
	Kind  string // what it is: "an array", "a string", "a number", "a boolean" or "null"
}

// Error names the item and what it is.
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

// scanner walks JSON values in b without recursion. peek, space and value
// work at s.i; the others take and return the index of the next byte to
// read.
type scanner struct {
	b     []byte
	i     int    // the next byte to read, between calls
	stack []bool // the objects and arrays open: whether each is an object

	// compact makes skip drop b[mark:i] into out before skipping space.
	compact bool
	mark    int
	out     []byte

	// clean is set on a key of the outermost object that does not start
	// with '#'.
	clean bool
}

// plain has the bytes that stand for themselves in a string.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// peek returns the byte at s.i, or 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// space skips insignificant space at s.i.
func (s *scanner) space() { s.i = s.skip(s.i) }

// skip skips insignificant space at i.
func (s *scanner) skip(i int) int {
	j := i
	for j < len(s.b) && isSpace(s.b[j]) {
		j++
	}
	if j > i && s.compact {
		s.out = append(s.out, s.b[s.mark:i]...)
		s.mark = j
	}
	return j
}

// fail is the error of the byte at i, looking for what context says; it
// leaves s.i there.
func (s *scanner) fail(i int, context string) error {
	s.i = i
	return s.unexpected(context)
}

// unexpected is the error of the byte at s.i, looking for what context
// says.
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

// value scans the value at s.i, with what it holds, and leaves s.i after
// it.
func (s *scanner) value() error {
	b, i := s.b, s.i
	var err error
	for {
		// A value starts at i.
		if i >= len(b) {
			return s.fail(i, "")
		}
		switch c := b[i]; c {
		case '{', '[':
			if len(s.stack) == MaxDepth {
				s.i = i
				return &SyntaxError{"more than " + strconv.Itoa(MaxDepth) + " nested objects and arrays", i}
			}
			s.stack = append(s.stack, c == '{')
			i = s.skip(i + 1)
			if i < len(b) && b[i] == c+2 { // '}' or ']'
				i++
				s.stack = s.stack[:len(s.stack)-1]
				break
			}
			if c == '{' {
				if i, err = s.key(i); err != nil {
					return err
				}
			}
			continue
		case '"':
			i, err = s.str(i)
		case 't':
			i, err = s.literal(i, "true")
		case 'f':
			i, err = s.literal(i, "false")
		case 'n':
			i, err = s.literal(i, "null")
		default:
			if c != '-' && (c < '0' || c > '9') {
				return s.fail(i, "looking for beginning of value")
			}
			i, err = s.number(i)
		}
		if err != nil {
			return err
		}
		// A value ended: close what it ends, up to the next value.
		for {
			n := len(s.stack)
			if n == 0 {
				s.i = i
				return nil
			}
			object := s.stack[n-1]
			if i < len(b) && b[i] <= ' ' {
				i = s.skip(i)
			}
			if i >= len(b) {
				return s.fail(i, "")
			}
			c := b[i]
			if c == ',' {
				i++
				if object {
					if i, err = s.key(i); err != nil {
						return err
					}
				} else if i < len(b) && b[i] <= ' ' {
					i = s.skip(i)
				}
				break
			}
			if object && c == '}' || !object && c == ']' {
				i++
				s.stack = s.stack[:n-1]
				continue
			}
			if object {
				return s.fail(i, "after object key:value pair")
			}
			return s.fail(i, "after array element")
		}
	}
}

// key scans an object's key and its colon at i, up to its value.
func (s *scanner) key(i int) (int, error) {
	b := s.b
	if i < len(b) && b[i] <= ' ' {
		i = s.skip(i)
	}
	if i >= len(b) || b[i] != '"' {
		return i, s.fail(i, "looking for beginning of object key string")
	}
	start := i
	i, err := s.str(i)
	if err != nil {
		return i, err
	}
	if len(s.stack) == 1 && !s.clean {
		s.clean = !hidden(b[start:i])
	}
	if i < len(b) && b[i] <= ' ' {
		i = s.skip(i)
	}
	if i >= len(b) || b[i] != ':' {
		return i, s.fail(i, "after object key")
	}
	i++
	if i < len(b) && b[i] <= ' ' {
		i = s.skip(i)
	}
	return i, nil
}

// hidden reports whether the JSON string k, valid, starts with '#'.
func hidden(k []byte) bool {
	if len(k) > 1 && k[1] == '\\' { // escaped: decode it
		name := keyOf(k)
		return name != "" && name[0] == '#'
	}
	return len(k) > 1 && k[1] == '#'
}

// str scans the string at i.
func (s *scanner) str(i int) (int, error) {
	b := s.b
	i++
	for {
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, s.fail(i, "")
		}
		switch b[i] {
		case '"':
			return i + 1, nil
		case '\\':
			i++
			if i >= len(b) {
				return i, s.fail(i, "")
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				for range 4 {
					if i >= len(b) || !isHex(b[i]) {
						return i, s.fail(i, "in \\u hexadecimal character escape")
					}
					i++
				}
			default:
				return i, s.fail(i, "in string escape code")
			}
		default:
			return i, s.fail(i, "in string literal")
		}
	}
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// literal scans true, false or null at i.
func (s *scanner) literal(i int, word string) (int, error) {
	for j := range len(word) {
		if i+j >= len(s.b) || s.b[i+j] != word[j] {
			return i + j, s.fail(i+j, "in literal "+word)
		}
	}
	return i + len(word), nil
}

// number scans the number at i: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number(i int) (int, error) {
	b := s.b
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return i, s.fail(i, "in numeric literal")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, s.fail(i, "after decimal point in numeric literal")
		}
		i = digits(b, i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, s.fail(i, "in exponent of numeric literal")
		}
		i = digits(b, i)
	}
	return i, nil
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

package payloadtemplate

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Headers templates: a JSON object of header names to string values.

// RenderHeaders renders a headers template and returns its headers. The
// template's top level must be an object; a member whose value renders to
// null, or to nothing, is left out; any other value that is not a string
// is an error naming the header, and so is a name that is not a valid
// header name or a value with a control character. Which headers the
// platform overrides (host, Content-Type, X-Apify-Webhook,
// X-Apify-Webhook-Dispatch-Id, X-Apify-Request-Origin) is up to the
// sender.
func (t *Template) RenderHeaders(vars map[string]any) (map[string]string, error) {
	if !t.topObject || t.headers == nil {
		return nil, t.headersTopError()
	}
	out, err := t.Render(vars)
	if err != nil {
		return nil, err
	}
	var rendered map[string]json.RawMessage
	if err := json.Unmarshal(out, &rendered); err != nil { // a bug if it happens
		return nil, t.newError(ErrInvalidHeaders, 0, fmt.Sprintf("rendered headers are not a JSON object: %v", err), "")
	}
	headers := make(map[string]string, len(rendered))
	members := t.members()
	for k := len(members) - 1; k >= 0; k-- { // JSON keeps the last of one name
		key := t.headers.name(&members[k])
		if _, seen := rendered[key]; !seen {
			continue
		}
		v := string(rendered[key])
		delete(rendered, key)
		if v == "null" {
			continue
		}
		if err := t.checkHeader(&members[k], v, "renders to"); err != nil {
			return nil, err
		}
		headers[key] = unquote(v)
	}
	return headers, nil
}

// members returns the members of a headers template's top-level object.
func (t *Template) members() []jsonItem {
	n := t.headers.nodes[0]
	return t.headers.items[n.from:n.to]
}

// checkHeadersShape checks a parsed headers template: an object whose
// member names are header names and whose values are strings, null or
// placeholders.
func (t *Template) checkHeadersShape() error {
	if !t.topObject {
		return t.headersTopError()
	}
	for _, m := range t.members() {
		v := t.text[m.from:m.to]
		if v == "null" || strings.HasPrefix(v, "{{") {
			v = `""`
		}
		if err := t.checkHeader(&m, v, "has"); err != nil {
			return err
		}
	}
	return nil
}

// tokenChars are the bytes of header names.
const tokenChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~"

// checkHeader checks the name of member m and its value v, JSON text:
// a string without control characters.
func (t *Template) checkHeader(m *jsonItem, v, verb string) *Error {
	key, keyAt := t.headers.name(m), int(m.name-1)
	if key == "" {
		return t.newError(ErrInvalidHeaders, keyAt, "empty header name", "")
	}
	e := func(offset int, reason, hint string) *Error {
		e := t.newError(ErrInvalidHeaders, offset, reason, hint)
		e.Header = key
		return e
	}
	for i := 0; i < len(key); i++ {
		if strings.IndexByte(tokenChars, key[i]) < 0 {
			r, _ := utf8.DecodeRuneInString(key[i:]) // the character, not its first byte
			return e(keyAt, fmt.Sprintf("header name %q has %q, which header names cannot contain", key, r), "header names are letters, digits and !#$%&'*+-.^_`|~")
		}
	}
	if v[0] != '"' {
		kind := valueKind(v)
		if verb == "has" {
			kind += " value"
		}
		return e(int(m.from), fmt.Sprintf("header %q %s %s", key, verb, kind), "header values must be strings")
	}
	s := unquote(v)
	if i := strings.IndexFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }); i >= 0 {
		return e(int(m.from), fmt.Sprintf("header %q %s a value with control character %U", key, verb, rune(s[i])), "")
	}
	return nil
}

func (t *Template) headersTopError() *Error {
	i := skipWS(t.text, 0)
	found := "nothing"
	switch {
	case i == len(t.text):
	case strings.HasPrefix(t.text[i:], "{{"):
		found = "a placeholder"
	case t.text[i] == '"':
		found = "a string"
	case t.text[i] == 'n':
		found = "null"
	default:
		found = valueKind(t.text[i:])
	}
	return t.newError(ErrInvalidHeaders, i, "the top level must be a JSON object of header names to values, found "+found, "")
}

// valueKind describes the object, array, boolean or number at the start
// of text.
func valueKind(text string) string {
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

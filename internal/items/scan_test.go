package items

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		want      []string
		wantClean int
	}{
		{"one object", ` {"a" : 1} `, []string{`{"a":1}`}, 1},
		{"array", "[{\"a\":\t[1, 2.5e-3, -0]},\n{ },{\"#h\":\"x y\"}]", []string{`{"a":[1,2.5e-3,-0]}`, `{}`, `{"#h":"x y"}`}, 1},
		{"empty array", ` [ ] `, nil, 0},
		{"space in strings kept", `{"a b":" \" ] } "}`, []string{`{"a b":" \" ] } "}`}, 1},
		{"escaped hidden key", `{"\u0023x":1}`, []string{`{"\u0023x":1}`}, 0},
		{"nested hidden key", `{"#a":{"b":1}}`, []string{`{"#a":{"b":1}}`}, 0},
		{"hidden then visible", `{"#a":1,"b":2}`, []string{`{"#a":1,"b":2}`}, 1},
		{"literals, escapes, utf-8", `[{"t":true,"f":false,"n":null,"s":"\n\u00e9\/é"}]`, []string{`{"t":true,"f":false,"n":null,"s":"\n\u00e9\/é"}`}, 1},
		{"deepest", strings.Repeat(`{"a":`, MaxDepth-1) + `{}` + strings.Repeat(`}`, MaxDepth-1),
			[]string{strings.Repeat(`{"a":`, MaxDepth-1) + `{}` + strings.Repeat(`}`, MaxDepth-1)}, 1},
	}
	for _, tt := range tests {
		p, err := Split([]byte(tt.body))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var strs []string
		for i := range p.Ends {
			it := p.Item(i)
			strs = append(strs, string(it))
			if _, err := Parse(it); err != nil {
				t.Errorf("%s: Parse(%.40s): %v", tt.name, it, err)
			}
		}
		if diff := cmp.Diff(tt.want, strs); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
		if p.Clean != tt.wantClean {
			t.Errorf("%s: clean %d, want %d", tt.name, p.Clean, tt.wantClean)
		}
	}
}

func TestSplitErrors(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`[`, MaxDepth) + strings.Repeat(`]`, MaxDepth)
	tests := []struct {
		name, body string
		want       error
	}{
		{"empty", ``, &SyntaxError{"unexpected end of JSON input", 0}},
		{"number", `[{}, 2]`, &NotObjectError{1, "a number"}},
		{"string", `"x"`, &NotObjectError{0, "a string"}},
		{"array item", `[[]]`, &NotObjectError{0, "an array"}},
		{"null", `null`, &NotObjectError{0, "null"}},
		{"bool", `[false]`, &NotObjectError{0, "a boolean"}},
		{"unclosed", `[{"a":1}`, &SyntaxError{"unexpected end of JSON input", 8}},
		{"two objects", `{} {}`, &SyntaxError{"invalid character '{' after top-level value", 3}},
		{"trailing comma", `[{},]`, &SyntaxError{"invalid character ']' looking for beginning of value", 4}},
		{"missing colon", `{"a" 1}`, &SyntaxError{"invalid character '1' after object key", 5}},
		{"unquoted key", `{a:1}`, &SyntaxError{"invalid character 'a' looking for beginning of object key string", 1}},
		{"leading zero", `{"a":01}`, &SyntaxError{"invalid character '1' after object key:value pair", 6}},
		{"bad escape", `{"a":"\x"}`, &SyntaxError{`invalid character 'x' in string escape code`, 7}},
		{"bad unicode escape", `{"a":"\u12g4"}`, &SyntaxError{`invalid character 'g' in \u hexadecimal character escape`, 10}},
		{"control character", "{\"a\":\"\t\"}", &SyntaxError{`invalid character '\t' in string literal`, 6}},
		{"bad literal", `{"a":nul}`, &SyntaxError{"invalid character '}' in literal null", 8}},
		{"bad number", `{"a":1.}`, &SyntaxError{"invalid character '}' after decimal point in numeric literal", 7}},
		{"bad exponent", `{"a":1e}`, &SyntaxError{"invalid character '}' in exponent of numeric literal", 7}},
		{"lone minus", `{"a":-}`, &SyntaxError{"invalid character '}' in numeric literal", 6}},
		{"too deep", `[{"a":` + deep + `}]`, &SyntaxError{"more than 10000 nested objects and arrays", 6 + MaxDepth - 1}},
		{"unclosed string", `{"a`, &SyntaxError{"unexpected end of JSON input", 3}},
		{"mismatched", `{"a":[}`, &SyntaxError{"invalid character '}' looking for beginning of value", 6}},
	}
	for _, tt := range tests {
		_, err := Split([]byte(tt.body))
		if diff := cmp.Diff(tt.want, err); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// FuzzSplit checks Split against encoding/json: the same bodies accepted,
// items compacted as json.Compact does, clean items counted as Parse sees
// them.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{`[{"a":1},{"#b":[true,null]}]`, ` {"a" : "\u00e9"} `, `[{}, 2]`, `[{"a":1.5e+3}`, `{"\u0023":{}}`, `[]`, `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if bytes.Count(body, []byte("["))+bytes.Count(body, []byte("{")) >= MaxDepth {
			return // encoding/json counts the body's array too
		}
		p, err := Split(body)
		var got [][]byte
		for i := range p.Ends {
			got = append(got, p.Item(i))
		}
		want, wantClean, ok := splitWithJSON(body)
		var se *SyntaxError
		switch {
		case !ok && err == nil:
			t.Fatalf("Split(%q) accepted %q, encoding/json refuses it", body, got)
		case ok && err != nil:
			t.Fatalf("Split(%q): %v, encoding/json accepts it", body, err)
		case json.Valid(body) && errors.As(err, &se):
			t.Fatalf("Split(%q): %v, but it is valid JSON", body, err)
		case !json.Valid(body) && err == nil:
			t.Fatalf("Split(%q) accepted invalid JSON", body)
		case !ok:
			return
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Split(%q) (-want +got):\n%s", body, diff)
		}
		if p.Clean != wantClean {
			t.Fatalf("Split(%q): clean %d, want %d", body, p.Clean, wantClean)
		}
	})
}

// splitWithJSON is what Split does, by encoding/json.
func splitWithJSON(body []byte) ([][]byte, int, bool) {
	trimmed := bytes.Trim(body, " \t\r\n") // JSON space only
	raws := []json.RawMessage{trimmed}
	if len(trimmed) > 0 && trimmed[0] == '[' {
		raws = nil
		if json.Unmarshal(trimmed, &raws) != nil {
			return nil, 0, false
		}
	}
	var out [][]byte
	clean := 0
	for _, raw := range raws {
		o, err := Parse(raw)
		if err != nil {
			return nil, 0, false
		}
		for _, f := range o {
			if !strings.HasPrefix(f.Key, "#") {
				clean++
				break
			}
		}
		var b bytes.Buffer
		_ = json.Compact(&b, raw)
		out = append(out, b.Bytes())
	}
	return out, clean, true
}

// BenchmarkSplit checks and compacts a body of 10,000 small items, as the
// local platform does with each push.
func BenchmarkSplit(b *testing.B) {
	var body bytes.Buffer
	body.WriteByte('[')
	for i := range 10_000 {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"url":"https://example.com/%d","title":"Page %d","n":%d}`, i, i, i)
	}
	body.WriteByte(']')
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	for range b.N {
		if _, err := Split(body.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}

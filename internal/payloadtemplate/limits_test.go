package payloadtemplate

import (
	"errors"
	"strings"
	"testing"
)

// TestLongPlaceholders checks the limits on a placeholder's name and on a
// template's size (issue 13, item 1: a path of millions of segments
// overflowed the stack): each template fails fast with the limit named and
// the place, and a path just under the limit renders.
func TestLongPlaceholders(t *testing.T) {
	t.Parallel()
	segs := func(n int) string { return "resource" + strings.Repeat(".a", n) }
	tests := []struct {
		name     string
		template string
		interp   bool
		kind     error
		col      int
		reason   string
	}{
		{"6 MB template", "{{" + segs(3_000_000) + "}}", false, ErrInvalidJSON, 1, "over the limit of 1048576 bytes (MaxTemplateBytes)"},
		{"500k segments", "[1, {{" + segs(500_000) + "}}]", false, ErrInvalidVariable, 5, "is 1000008 bytes long, over the limit of 4096 bytes (MaxPlaceholderBytes)"},
		{"500k segments in a string", `{"a": "x {{` + segs(500_000) + `}}"}`, true, ErrInvalidVariable, 10, "over the limit of 4096 bytes (MaxPlaceholderBytes)"},
		{"after a syntax error", "[, {{" + segs(500_000) + "}}]", false, ErrInvalidVariable, 4, "over the limit of 4096 bytes (MaxPlaceholderBytes)"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.template, Options{InterpolateStrings: tt.interp})
		var te *Error
		if !errors.Is(err, tt.kind) || !errors.As(err, &te) || te.Line != 1 || te.Column != tt.col || !strings.Contains(te.Reason, tt.reason) {
			t.Errorf("%s: error %.300v, want %v at 1:%d saying %q", tt.name, err, tt.kind, tt.col, tt.reason)
		}
	}

	// 2,044 segments fill 4,096 bytes: the path renders, from a Go value
	// and from raw JSON.
	name := segs(2044)
	if len(name) != MaxPlaceholderBytes {
		t.Fatalf("name of %d bytes", len(name))
	}
	var v any = "deep"
	raw := `"deep"`
	for range 2044 {
		v = map[string]any{"a": v}
		raw = `{"a":` + raw + `}`
	}
	j, err := IndexJSON([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, resource := range []any{v, j} {
		out, err := RenderText("[{{"+name+"}}, \"{{"+name+"}}\"]", map[string]any{"resource": resource}, Options{InterpolateStrings: true})
		if err != nil || string(out) != `["deep", "deep"]` {
			t.Errorf("%T: got %s, %v", resource, out, err)
		}
	}
}

// TestBodyLimit checks that a render stops at its limit with an *Error
// wrapping ErrBodyTooLarge that names the limit and the placeholder (issue
// 13, item 7), by default and with Options.MaxBodyBytes.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	message := strings.Repeat("x", 1<<20)
	many := "[" + strings.Repeat("{{resource}},", 500) + "null]"
	tests := []struct {
		name     string
		template string
		opts     Options
		resource any
		want     string
	}{
		{"500 copies of 1 MB, default limit", many, Options{}, map[string]any{"statusMessage": message}, "over the limit of 10485760 bytes (MaxBodyBytes) at {{resource}}"},
		{"raw JSON", many, Options{}, mustIndex(t, `{"statusMessage": "`+message+`"}`), "over the limit of 10485760 bytes"},
		{"inside strings", `["` + strings.Repeat("{{resource.m}}", 500) + `"]`, Options{InterpolateStrings: true}, map[string]any{"m": message}, "at {{resource.m}}"},
		{"one large array", `{"a": {{resource}}}`, Options{MaxBodyBytes: 1000}, []any{message}, "over the limit of 1000 bytes"},
		{"literal text", `["` + strings.Repeat("x", 2000) + `"]`, Options{MaxBodyBytes: 1000}, nil, "over the limit of 1000 bytes"},
	}
	for _, tt := range tests {
		tmpl, err := Parse(tt.template, tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		out, err := tmpl.Render(map[string]any{"resource": tt.resource})
		var te *Error
		if !errors.Is(err, ErrBodyTooLarge) || !errors.As(err, &te) || !strings.Contains(te.Reason, tt.want) {
			t.Errorf("%s: %d bytes, error %v; want ErrBodyTooLarge saying %q", tt.name, len(out), err, tt.want)
		}
	}
	out, err := RenderText(many, map[string]any{"resource": "short"}, Options{})
	if err != nil || len(out) < 4000 {
		t.Errorf("under the limit: %d bytes, %v", len(out), err)
	}
}

func mustIndex(t *testing.T, raw string) *JSON {
	t.Helper()
	j, err := IndexJSON([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestHeaderNameCharacter checks that a header name's error shows the
// character it cannot hold, not its first byte (issue 13, item 17).
func TestHeaderNameCharacter(t *testing.T) {
	t.Parallel()
	for _, text := range []string{`{"X-é": "v"}`, `{"X-\u00e9": "v"}`, `{"X-€ok": {{userId}}}`} {
		_, err := ParseHeaders(text, Options{})
		want := `has 'é'`
		if strings.Contains(text, "€") {
			want = `has '€'`
		}
		if !errors.Is(err, ErrInvalidHeaders) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one saying %s", text, err, want)
		}
	}
}

package payloadtemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
	"unicode/utf8"
)

// tmplFuzzVars has a value of every kind a path can meet.
var tmplFuzzVars = map[string]any{
	"userId":    "u1",
	"createdAt": "2024-05-01T12:00:00.000Z",
	"eventType": "ACTOR.RUN.SUCCEEDED",
	"eventData": map[string]any{"actorId": "a1", "actorRunId": "r1"},
	"resource": map[string]any{
		"id": "r1", "zero": 0.0, "f": false, "empty": "", "nul": nil, "num": 1e21, "neg": -1.5e-7,
		"items":  []any{"a", nil, []any{1.0, "b"}, map[string]any{"k": "v"}},
		"nested": map[string]any{"a": map[string]any{"b": "deep \"quoted\"\n\\"}},
		"":       "empty key", "0": "zero key", "bad": "a\xffb", "num2": json.Number("12"),
	},
	"globals": map[string]any{"dateISO": "2024-05-01T12:00:00.000Z", "dateUnix": 1714564800.0},
}

// FuzzPayloadTemplate checks that any text parses or fails with a
// *Error, never panics or hangs, and renders to valid UTF-8 JSON.
// Run it with: go test -fuzz FuzzPayloadTemplate -run '^$' .
func FuzzPayloadTemplate(f *testing.F) {
	for _, seed := range []string{
		Default,
		`{"a": "{{resource.id}} {{resource.items}}", "b": "{{resource.nope}}", "c": [{{resource.nested.a}}]}`,
		`{"a": {{resource}`,
		`resource.{{`,
		`["a\\", {{resource.id}}]`,
		`{ {{eventType}}: 1}`,
		`{"a": , "b": "x\" {{nope}}"}`,
		`{"X-A": "{{userId}}", "X-B": null}`,
		`[1e400, -0, "\u007b{userId}}"]`,
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, text string, interpolate bool) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			tmplFuzzOne(t, text, interpolate)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("parsing and rendering %q did not finish in 10s", text)
		}
	})
}

func tmplFuzzOne(t *testing.T, text string, interpolate bool) {
	opts := Options{InterpolateStrings: interpolate}
	tmpl, err := Parse(text, opts)
	if err != nil {
		var te *Error
		switch {
		case !errors.As(err, &te):
			t.Errorf("error %T is not a *Error: %v", err, err)
		case !errors.Is(err, ErrInvalidJSON) && !errors.Is(err, ErrInvalidVariable):
			t.Errorf("error is neither ErrInvalidJSON nor ErrInvalidVariable: %v", err)
		case te.Offset < 0 || te.Offset > len(text) || te.Line < 1 || te.Column < 1:
			t.Errorf("error position %d (%d:%d) is outside the template: %v", te.Offset, te.Line, te.Column, err)
		}
		return
	}
	for _, vars := range []map[string]any{nil, tmplFuzzVars} {
		out, err := tmpl.Render(vars)
		if err != nil {
			t.Errorf("Render: %v", err)
			continue
		}
		if !utf8.Valid(out) || !json.Valid(out) && !tmplDeep(out) {
			t.Errorf("Render wrote invalid JSON: %q", out)
		}
		// The one call, in pooled scratch space, renders the same.
		if again, err := RenderText(text, vars, opts); err != nil || !bytes.Equal(again, out) {
			t.Errorf("RenderText: %q, %v; Render: %q", again, err, out)
		}
	}
	if h, err := ParseHeaders(text, opts); err == nil {
		if _, err := h.RenderHeaders(tmplFuzzVars); err != nil && !errors.Is(err, ErrInvalidHeaders) {
			t.Errorf("RenderHeaders: %v", err)
		}
	}
}

// tmplDeep reports output nested deeper than json.Valid accepts (10000).
func tmplDeep(b []byte) bool {
	depth := 0
	for _, c := range b {
		if c == '[' || c == '{' {
			if depth++; depth > 10000 {
				return true
			}
		}
	}
	return false
}

package payloadtemplate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// tmplRawVars returns vars with each value replaced by its JSON as a
// json.RawMessage, compact or indented.
func tmplRawVars(t *testing.T, vars map[string]any, indent bool) map[string]any {
	t.Helper()
	if vars == nil {
		return nil
	}
	raw := make(map[string]any, len(vars))
	for k, v := range vars {
		var b []byte
		var err error
		if indent {
			b, err = json.MarshalIndent(v, " ", "\t")
		} else {
			b, err = json.Marshal(v)
		}
		if err != nil {
			t.Fatalf("variable %s: %v", k, err)
		}
		raw[k] = json.RawMessage(b)
	}
	return raw
}

// TestPayloadTemplateRawPaths checks dot paths into json.RawMessage
// variables, which are followed without decoding them: each template must
// render as it does with the decoded value.
func TestPayloadTemplateRawPaths(t *testing.T) {
	t.Parallel()
	const run = `{"id": "r1", "n": 1.50, "zero": 0, "no": false, "nil": null, "empty": "",
		"dup": 1, "dup": 2, "k\u0065y": "escaped name", "a\\b": "backslash",
		"s": "caf\u00e9 \"q\" \\ \u2028 / é", "o": {"x": [10, {"y": "deep"}], "t": true}, "arr": [], "list": ["a", null, 3]}`
	deep := strings.Repeat(`{"d":`, 70) + `"bottom"` + strings.Repeat(`}`, 70)
	vars := map[string]any{"resource": json.RawMessage(run), "globals": json.RawMessage(deep), "userId": json.RawMessage(` "u1" `)}
	var decoded map[string]any
	if err := json.Unmarshal([]byte(run), &decoded); err != nil {
		t.Fatal(err)
	}
	var deepDecoded any
	if err := json.Unmarshal([]byte(deep), &deepDecoded); err != nil {
		t.Fatal(err)
	}
	decodedVars := map[string]any{"resource": decoded, "globals": deepDecoded, "userId": "u1"}
	tests := []struct {
		template string
		interp   bool
		want     string // as a JSON value
	}{
		{`[{{resource.id}}, {{resource.n}}, {{resource.zero}}, {{resource.no}}, {{resource.nil}}, {{resource.empty}}, {{resource.missing}}]`, false,
			`["r1", 1.5, null, null, null, null, null]`},
		{`[{{resource.dup}}, {{resource.key}}, {{resource.a\b}}, {{resource.s}}]`, false, `[2, "escaped name", "backslash", "café \"q\" \\ \u2028 / é"]`},
		{`[{{resource.o}}, {{resource.o.x}}, {{resource.o.x.0}}, {{resource.o.x.1.y}}, {{resource.o.x.length}}, {{resource.o.x.2}}, {{resource.o.x.01}}]`, false,
			`[{"x": [10, {"y": "deep"}], "t": true}, [10, {"y": "deep"}], 10, "deep", 2, null, null]`},
		{`[{{resource.id.length}}, {{resource.n.x}}, {{resource.nil.x}}, {{resource.missing.x}}, {{resource.arr}}, {{resource.arr.length}}, {{userId}}, {{userId.x}}]`, false,
			`[null, null, null, null, [], null, "u1", null]`},
		{`{"a": "{{resource.id}}", "b": "{{resource.missing}}", "c": "{{resource.o.t}}", "d": "{{resource.nil}}"}`, true,
			`{"a": "r1", "c": true, "d": null}`},
		{`"{{resource.id}}|{{resource.n}}|{{resource.zero}}|{{resource.no}}|{{resource.nil}}|{{resource.missing}}|{{resource.s}}|{{resource.o}}|{{resource.list}}|{{resource.arr}}|{{userId}}"`, true,
			`"r1|1.5|0|false|null|undefined|café \"q\" \\ \u2028 / é|[object Object]|a,,3||u1"`},
		{`[{{globals.d.d.d.d}}, "{{globals.d.d.d}}"]`, true, ``},
	}
	for _, tt := range tests {
		opts := Options{InterpolateStrings: tt.interp}
		got, err := RenderText(tt.template, vars, opts)
		if err != nil {
			t.Errorf("%s: %v", tt.template, err)
			continue
		}
		want := tt.want
		if want == "" { // too deep for the scanner: the decoded value's rendering
			out, err := RenderText(tt.template, decodedVars, opts)
			if err != nil {
				t.Fatalf("%s with decoded values: %v", tt.template, err)
			}
			want = string(out)
		}
		if err := tmplSameJSON(want, string(got)); err != nil {
			t.Errorf("%s: %v", tt.template, err)
		}
		fromDecoded, err := RenderText(tt.template, decodedVars, opts)
		if err != nil {
			t.Fatalf("%s with decoded values: %v", tt.template, err)
		}
		if err := tmplSameJSON(string(fromDecoded), string(got)); err != nil {
			t.Errorf("%s: raw and decoded values render differently: %v", tt.template, err)
		}
	}
}

// TestPayloadTemplateRawInvalid checks that a path into a json.RawMessage that
// is not JSON fails, naming the placeholder, as encoding it whole does.
func TestPayloadTemplateRawInvalid(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{``, ` `, `{`, `{"a": 1,}`, `{"a" 1}`, `{"a": 1} x`, `[1, 2`, `{"a": tru}`, `{"a": "\x01"}`, `{"a": "\q"}`, `{"a": 01}`, `"abc`, `nul`} {
		for _, template := range []string{`{"x": {{resource.a}}}`, `{"x": "{{resource.a}} "}`, `{"x": {{resource}}}`} {
			_, err := RenderText(template, map[string]any{"resource": json.RawMessage(raw)}, Options{InterpolateStrings: true})
			var te *Error
			col := strings.Index(template, "{{") + 1
			if !errors.As(err, &te) || !strings.HasPrefix(te.Variable, "resource") || te.Line != 1 || te.Column != col {
				t.Errorf("raw %q, template %s: error = %v, want a *Error for the placeholder at 1:%d", raw, template, err, col)
			}
		}
	}
}

func tmplSameJSON(want, got string) error {
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		return errors.New("want is not JSON: " + err.Error())
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		return errors.New("got is not JSON: " + err.Error() + ": " + got)
	}
	wb, _ := json.Marshal(w)
	gb, _ := json.Marshal(g)
	if string(wb) != string(gb) {
		return errors.New("got " + string(gb) + ", want " + string(wb))
	}
	return nil
}

// FuzzPayloadTemplateRaw checks that paths into a json.RawMessage give what
// they give in the decoded value, and that a value that is not JSON is an
// error whenever a placeholder reads it.
// Run it with: go test -fuzz FuzzPayloadTemplateRaw -run '^$' .
func FuzzPayloadTemplateRaw(f *testing.F) {
	for _, seed := range []string{
		tmplBenchRun,
		`{"a": [1, "x", {"c": null}], "b": {"c": "d\u00e9\\"}, "a": 2}`,
		` [ "a" , {"b": [ ]}, 3.50, true ] `,
		`"just a string"`, `12e-3`, `null`, `{"a": 1,}`, `{"a": "\x01"}`, `{"a": 1} x`, `[[[[[[1]]]]]]`,
	} {
		f.Add(seed)
	}
	templates := []struct {
		text   string
		interp bool
	}{
		{`{{resource}}`, false},
		{`[{{resource.a}}, {{resource.b.c}}, {{resource.0}}, {{resource.length}}, {{resource.a.1}}, {{resource.a.2.c}}, {{resource.1.b}}]`, false},
		{`{"x": "{{resource.a}}", "y": "{{resource.b.c}}", "z": "{{resource.0}}"}`, true},
		{`"{{resource.a}}|{{resource.b}}|{{resource.0}}|{{resource.b.c}}|{{resource.1}}|{{resource}}"`, true},
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var decoded any
		valid := json.Valid([]byte(raw))
		decodes := json.Unmarshal([]byte(raw), &decoded) == nil // fails on numbers beyond float64 too
		for _, tt := range templates {
			opts := Options{InterpolateStrings: tt.interp}
			got, err := RenderText(tt.text, map[string]any{"resource": json.RawMessage(raw)}, opts)
			if !valid {
				if err == nil {
					t.Fatalf("%s with resource %q: no error for a value that is not JSON; rendered %s", tt.text, raw, got)
				}
				continue
			}
			if !decodes {
				continue
			}
			if err != nil {
				t.Fatalf("%s with resource %q: %v", tt.text, raw, err)
			}
			want, err := RenderText(tt.text, map[string]any{"resource": decoded}, opts)
			if err != nil {
				t.Fatalf("%s with decoded resource %q: %v", tt.text, raw, err)
			}
			if err := tmplSameJSON(string(want), string(got)); err != nil {
				t.Fatalf("%s with resource %q: raw and decoded differ: %v", tt.text, raw, err)
			}
		}
	})
}

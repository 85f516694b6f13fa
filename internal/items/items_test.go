package items

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		item   string
		filter Filter
		want   []string
	}{
		{"zero", `{"b":1,"a":[1,2]}`, Filter{}, []string{`{"b":1,"a":[1,2]}`}},
		{"fields in given order", `{"a":1,"b":2,"c":3}`, Filter{Fields: []string{"c", "a", "x"}}, []string{`{"c":3,"a":1}`}},
		{"output fields rename", `{"a":1,"b":2}`, Filter{Fields: []string{"b", "x", "a"}, OutputFields: []string{"B", "X", "A"}}, []string{`{"B":2,"A":1}`}},
		{"omit", `{"a":1,"b":2,"c":3}`, Filter{Omit: []string{"b"}}, []string{`{"a":1,"c":3}`}},
		{"skip failed", `{"errorInfo":"x","a":1}`, Filter{SkipFailed: true}, nil},
		{"skip hidden", `{"#debug":1,"a":2}`, Filter{SkipHidden: true}, []string{`{"a":2}`}},
		{"skip empty", `{}`, Filter{SkipEmpty: true}, nil},
		{"hidden kept without skip hidden", `{"#x":1}`, Filter{SkipEmpty: true}, []string{`{"#x":1}`}},
		{"unwind array of objects", `{"id":1,"offers":[{"p":1},{"p":2,"id":9}]}`, Filter{Unwind: []string{"offers"}},
			[]string{`{"id":1,"p":1}`, `{"id":9,"p":2}`}},
		{"unwind array of scalars", `{"id":1,"tags":["a","b"],"z":0}`, Filter{Unwind: []string{"tags"}},
			[]string{`{"id":1,"tags":"a","z":0}`, `{"id":1,"tags":"b","z":0}`}},
		{"unwind object", `{"id":1,"meta":{"x":true}}`, Filter{Unwind: []string{"meta"}}, []string{`{"id":1,"x":true}`}},
		{"unwind missing", `{"id":1}`, Filter{Unwind: []string{"meta"}}, []string{`{"id":1}`}},
		{"unwind scalar", `{"id":1,"meta":5}`, Filter{Unwind: []string{"meta"}}, []string{`{"id":1,"meta":5}`}},
		{"unwind empty array", `{"id":1,"a":[]}`, Filter{Unwind: []string{"a"}}, []string{`{"id":1,"a":[]}`}},
		{"unwind twice", `{"a":[{"b":[1,2]}]}`, Filter{Unwind: []string{"a", "b"}}, []string{`{"b":1}`, `{"b":2}`}},
		{"flatten", `{"a":{"b":1,"c":{"d":2}},"e":3}`, Filter{Flatten: []string{"a"}}, []string{`{"a.b":1,"a.c.d":2,"e":3}`}},
		{"flatten scalar", `{"a":1}`, Filter{Flatten: []string{"a"}}, []string{`{"a":1}`}},
		// The platform's order: skipFailedPages, fields, omit, unwind,
		// flatten, skipHidden, skipEmpty.
		{"fields before unwind", `{"id":1,"x":0,"o":[{"p":1}]}`, Filter{Fields: []string{"id", "o"}, Unwind: []string{"o"}},
			[]string{`{"id":1,"p":1}`}},
		{"fields drop what unwind would bring", `{"o":[{"p":1}]}`, Filter{Fields: []string{"p"}, Unwind: []string{"o"}}, []string{`{}`}},
		{"omit before unwind", `{"id":1,"o":{"id":2}}`, Filter{Omit: []string{"id"}, Unwind: []string{"o"}}, []string{`{"id":2}`}},
		{"unwind before flatten", `{"o":[{"g":{"x":1}}]}`, Filter{Unwind: []string{"o"}, Flatten: []string{"g"}}, []string{`{"g.x":1}`}},
		{"flatten before skip hidden", `{"#g":{"x":1}}`, Filter{Flatten: []string{"#g"}, SkipHidden: true, SkipEmpty: true}, nil},
		{"unwind before skip empty", `{"o":[{"#h":1},{"a":2}]}`, Filter{Unwind: []string{"o"}, SkipHidden: true, SkipEmpty: true},
			[]string{`{"a":2}`}},
		{"no html escaping", `{"a<&>":"<&>","\u00e9\"":1}`, Filter{Omit: []string{"x"}}, []string{`{"a<&>":"<&>","é\"":1}`}},
	}
	for _, tt := range tests {
		objs, err := tt.filter.Shape([]byte(tt.item), nil, &Budget{Bytes: 1 << 20, Items: 100})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for _, o := range objs {
			got = append(got, string(o.AppendJSON(nil)))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestShapeBudget(t *testing.T) {
	t.Parallel()
	unwind := Filter{Unwind: []string{"a"}}
	tests := []struct {
		name    string
		item    string
		filter  Filter
		budget  Budget
		wantErr error
	}{
		{"within", `{"a":[1,2,3]}`, unwind, Budget{Bytes: 1 << 10, Items: 3}, nil},
		{"too many items", `{"a":[1,2,3]}`, unwind, Budget{Bytes: 1 << 10, Items: 2}, ErrBudget},
		{"too many bytes", `{"a":"0123456789"}`, Filter{SkipEmpty: true}, Budget{Bytes: 10, Items: 1}, ErrBudget},
	}
	for _, tt := range tests {
		b := tt.budget
		if _, err := tt.filter.Shape([]byte(tt.item), nil, &b); !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: Shape = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
	for _, bad := range []string{`[1]`, `{"a":`, `{} {}`, ``} {
		if _, err := (Filter{}).Shape([]byte(bad), nil, &Budget{Bytes: 1 << 10, Items: 1}); err == nil || errors.Is(err, ErrBudget) {
			t.Errorf("Shape(%q) = %v, want a parse error", bad, err)
		}
	}
}

// FuzzParse checks Parse against encoding/json's Decoder walking the
// object's tokens: the same objects accepted, with the same members.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1, {"c":null}]}`, ` { "\u00e9" : "x" , "a":{} } `, `{"a":1,}`, `{"\xff":1}`, `[1]`, `{} {}`, `{"a":tru}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.Count(b, []byte("["))+bytes.Count(b, []byte("{")) >= MaxDepth {
			return
		}
		got, err := Parse(b)
		want, wantErr := parseWithDecoder(b)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("Parse(%q): %v, the Decoder: %v", b, err, wantErr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Parse(%q) (-want +got):\n%s", b, diff)
		}
	})
}

// parseWithDecoder is what Parse does, by a json.Decoder.
func parseWithDecoder(b []byte) (Object, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var o Object
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		o = append(o, Field{t.(string), v})
	}
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	return o, nil
}

// BenchmarkParse parses a small item, as reads with fields, omit or unwind
// do with each item, and as the json.Decoder it replaced did.
func BenchmarkParse(b *testing.B) {
	item := []byte(`{"url":"https://example.com/1234","title":"Page 1234","n":1234}`)
	for _, bc := range []struct {
		name  string
		parse func([]byte) (Object, error)
	}{{"Parse", Parse}, {"Decoder", parseWithDecoder}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(item)))
			for range b.N {
				if o, err := bc.parse(item); err != nil || len(o) != 3 {
					b.Fatal(o, err)
				}
			}
		})
	}
}

package payloadtemplate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/go-apify/actor/internal/testenv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/internal/nodetest"
)

// tmplReferencePackages installs the reference renderer. The class is the same
// code in @apify/utilities 2.35.11 and 3.0.1; 3.0.1 cannot be installed from the
// registry today (its dependency @apify/log@^3.0.1 is not published there) and
// wants node 22, so the tests pin the last 2.x release.
var tmplReferencePackages = []string{nodetest.Utilities, nodetest.Consts}

var tmplUpdateConformance = flag.Bool("update-template-conformance", false,
	"regenerate testdata/templates/conformance.json from cases.json by running the reference over node")

const tmplTableDir = "testdata/templates"

type tmplTable struct {
	Reference              string                    `json:"reference"`
	DefaultPayloadTemplate string                    `json:"defaultPayloadTemplate"`
	VarSets                map[string]map[string]any `json:"varSets"`
	Cases                  []tmplTableCase           `json:"cases"`
}

type tmplTableCase struct {
	Name        string                     `json:"name"`
	Template    string                     `json:"template"`
	Interpolate bool                       `json:"interpolate"`
	Vars        json.RawMessage            `json:"vars"`
	Allowed     []string                   `json:"allowed"`
	Deviation   map[string]json.RawMessage `json:"deviation"`
	Reference   map[string]json.RawMessage `json:"reference"`
}

// tmplOutcome is what a renderer did with a case: a JSON result (nil result
// means JavaScript's undefined), an error kind, or a timeout.
type tmplOutcome struct {
	result    any
	undefined bool
	errKind   string // "InvalidJsonError" or "InvalidVariableError"
	variable  string // for InvalidVariableError
	timeout   bool
}

func (o tmplOutcome) String() string {
	switch {
	case o.timeout:
		return "timeout"
	case o.undefined:
		return "undefined"
	case o.errKind != "":
		return fmt.Sprintf("%s(%q)", o.errKind, o.variable)
	}
	b, _ := json.Marshal(o.result)
	return string(b)
}

// tmplReferenceOutcome reads a result written by reference.cjs.
func tmplReferenceOutcome(t *testing.T, r map[string]json.RawMessage) tmplOutcome {
	t.Helper()
	var o tmplOutcome
	switch {
	case r["result"] != nil:
		if err := json.Unmarshal(r["result"], &o.result); err != nil {
			t.Fatalf("reference result: %v", err)
		}
	case r["undefined"] != nil:
		o.undefined = true
	case r["timeout"] != nil:
		o.timeout = true
	case r["error"] != nil:
		var msg string
		_ = json.Unmarshal(r["error"], &o.errKind)
		_ = json.Unmarshal(r["message"], &msg)
		if o.errKind == "InvalidVariableError" {
			o.variable = strings.TrimPrefix(msg, "Invalid payload template variable: ")
		}
	default:
		t.Fatalf("reference outcome has no result: %v", r)
	}
	return o
}

// tmplOurOutcome renders a case with this package.
func tmplOurOutcome(t *testing.T, template string, interpolate bool, allowed []string, vars map[string]any) tmplOutcome {
	t.Helper()
	out, err := RenderText(template, vars, Options{InterpolateStrings: interpolate, AllowedVariables: allowed})
	if err != nil {
		var te *Error
		if !errors.As(err, &te) {
			t.Fatalf("error is not a *Error: %T %v", err, err)
		}
		switch {
		case errors.Is(err, ErrInvalidJSON):
			return tmplOutcome{errKind: "InvalidJsonError"}
		case errors.Is(err, ErrInvalidVariable):
			return tmplOutcome{errKind: "InvalidVariableError", variable: te.Variable}
		}
		t.Fatalf("unexpected error kind: %v", err)
	}
	if !json.Valid(out) || !utf8.Valid(out) {
		t.Fatalf("Render wrote invalid JSON: %q", out)
	}
	var o tmplOutcome
	if err := json.Unmarshal(out, &o.result); err != nil {
		t.Fatalf("decoding our output %q: %v", out, err)
	}
	return o
}

func tmplSameOutcome(want, got tmplOutcome) string {
	if want.errKind != "" || got.errKind != "" || want.timeout || got.timeout {
		if want.errKind != got.errKind || want.variable != got.variable || want.timeout != got.timeout {
			return fmt.Sprintf("want %v, got %v", want, got)
		}
		return ""
	}
	// The reference's undefined is no JSON at all; Render writes null.
	if want.undefined {
		want = tmplOutcome{}
	}
	return cmp.Diff(want.result, got.result)
}

func tmplLoadTable(t *testing.T) tmplTable {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(tmplTableDir, "conformance.json"))
	if err != nil {
		t.Fatal(err)
	}
	var table tmplTable
	if err := json.Unmarshal(data, &table); err != nil {
		t.Fatal(err)
	}
	return table
}

func (c *tmplTableCase) vars(t *testing.T, table *tmplTable) map[string]any {
	t.Helper()
	var name string
	if json.Unmarshal(c.Vars, &name) == nil {
		vars, ok := table.VarSets[name]
		if !ok {
			t.Fatalf("unknown varSet %q", name)
		}
		// A fresh copy, so no case can see another's changes.
		b, _ := json.Marshal(vars)
		var fresh map[string]any
		_ = json.Unmarshal(b, &fresh)
		return fresh
	}
	var vars map[string]any
	if err := json.Unmarshal(c.Vars, &vars); err != nil {
		t.Fatalf("vars: %v", err)
	}
	return vars
}

// TestPayloadTemplateConformance checks every case of the table that the
// reference produced (testdata/templates/conformance.json): this package must
// give the reference's result as a JSON value, or its kind of error, except
// for the documented deviations, where it must give the deviation's result
// and the reference must not.
func TestPayloadTemplateConformance(t *testing.T) {
	if *tmplUpdateConformance {
		dir := nodetest.Install(t, tmplReferencePackages...)
		script, err := filepath.Abs(filepath.Join(tmplTableDir, "reference.cjs"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(t.Context(), nodetest.Node(t), script, "generate")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("reference.cjs generate: %v\n%s", err, out)
		}
	}
	t.Parallel()
	table := tmplLoadTable(t)
	if n := len(table.Cases); n < 60 {
		t.Fatalf("conformance table has %d cases, want at least 60", n)
	}
	if table.DefaultPayloadTemplate != Default {
		t.Errorf("Default differs from the platform's (-want +got):\n%s", cmp.Diff(table.DefaultPayloadTemplate, Default))
	}
	names := map[string]bool{}
	for _, c := range table.Cases {
		if names[c.Name] {
			t.Fatalf("duplicate case name %q", c.Name)
		}
		names[c.Name] = true
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			ref := tmplReferenceOutcome(t, c.Reference)
			vars := c.vars(t, &table)
			got := tmplOurOutcome(t, c.Template, c.Interpolate, c.Allowed, vars)
			if c.Deviation == nil {
				if diff := tmplSameOutcome(ref, got); diff != "" {
					t.Errorf("template %q: result differs from the reference (-want +got):\n%s", c.Template, diff)
				}
				// The same variables as raw JSON give the same result.
				for _, indent := range []bool{false, true} {
					raw := tmplOurOutcome(t, c.Template, c.Interpolate, c.Allowed, tmplRawVars(t, vars, indent))
					if diff := tmplSameOutcome(ref, raw); diff != "" {
						t.Errorf("template %q, variables as raw JSON (indented: %v): result differs from the reference (-want +got):\n%s", c.Template, indent, diff)
					}
				}
				return
			}
			var want tmplOutcome
			switch {
			case c.Deviation["result"] != nil:
				_ = json.Unmarshal(c.Deviation["result"], &want.result)
			case c.Deviation["error"] != nil:
				var kind string
				_ = json.Unmarshal(c.Deviation["error"], &kind)
				want.errKind = map[string]string{"ErrInvalidJSON": "InvalidJsonError", "ErrInvalidVariable": "InvalidVariableError"}[kind]
			}
			if diff := tmplSameOutcome(want, got); diff != "" {
				t.Errorf("template %q: result differs from the documented deviation (-want +got):\n%s", c.Template, diff)
			}
			if tmplSameOutcome(want, ref) == "" {
				t.Errorf("template %q: the reference gives the deviation's result %v; the case documents no difference", c.Template, ref)
			}
		})
	}
}

// TestPayloadTemplateDifferential renders generated templates with this
// package and with the reference (one node process for all cases) and
// compares them. Generated cases keep clear of the documented deviations.
func TestPayloadTemplateDifferential(t *testing.T) {
	t.Parallel()
	dir := nodetest.Install(t, tmplReferencePackages...)
	script, err := filepath.Abs(filepath.Join(tmplTableDir, "reference.cjs"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), nodetest.Node(t), script, "serve")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer func() {
		// Stop node first: after a failed check nobody reads its output, and
		// the sender below would wait forever on a full pipe.
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		wg.Wait()
		_ = cmd.Wait()
	}()

	type tmplDiffCase struct {
		ID          int            `json:"id"`
		Template    string         `json:"template"`
		Interpolate bool           `json:"interpolate"`
		Vars        map[string]any `json:"vars"`
	}
	const n = 1500
	gen := &tmplGen{r: rand.New(rand.NewPCG(4, 2026))}
	cases := make([]tmplDiffCase, 0, n)
	for len(cases) < n {
		interp := gen.r.IntN(2) == 0
		text := gen.template(interp)
		if !tmplGenSafe(text) {
			continue
		}
		cases = append(cases, tmplDiffCase{ID: len(cases), Template: text, Interpolate: interp, Vars: gen.vars()})
	}
	// Send from another goroutine: node answers while it reads.
	wg.Add(1)
	go func() {
		defer wg.Done()
		enc := json.NewEncoder(stdin)
		for i := range cases {
			if err := enc.Encode(&cases[i]); err != nil {
				t.Logf("sending case %d: %v", i, err) // node stopped; the reader reports why
				return
			}
		}
	}()

	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	if !sc.Scan() {
		t.Fatalf("reference.cjs serve wrote nothing: %v", sc.Err())
	}
	var hello struct{ DefaultPayloadTemplate string }
	if err := json.Unmarshal(sc.Bytes(), &hello); err != nil {
		t.Fatal(err)
	}
	if hello.DefaultPayloadTemplate != Default {
		t.Errorf("Default differs from @apify/consts (-want +got):\n%s", cmp.Diff(hello.DefaultPayloadTemplate, Default))
	}
	var failures, rendered int
	for i := range cases {
		if !sc.Scan() {
			t.Fatalf("reference.cjs stopped after %d of %d cases: %v", i, n, sc.Err())
		}
		var reply struct {
			ID       int                        `json:"id"`
			WithVars map[string]json.RawMessage `json:"withVars"`
			Empty    map[string]json.RawMessage `json:"empty"`
		}
		if err := json.Unmarshal(sc.Bytes(), &reply); err != nil {
			t.Fatal(err)
		}
		c := &cases[reply.ID]
		if msg := tmplDiffCheck(t, c.Template, c.Interpolate, c.Vars, reply.WithVars, reply.Empty); msg != "" {
			failures++
			if failures <= 10 {
				vars, _ := json.Marshal(c.Vars)
				t.Errorf("case %d, interpolate=%v\ntemplate: %s\nvars: %s\n%s", c.ID, c.Interpolate, c.Template, vars, msg)
			}
		} else if reply.WithVars["result"] != nil {
			rendered++
		}
	}
	if failures > 10 {
		t.Errorf("%d of %d cases differ (first 10 shown)", failures, n)
	}
	// The generator must exercise rendering, not only errors.
	if rendered < n/3 {
		t.Errorf("only %d of %d generated cases render; the generator drifted", rendered, n)
	}
}

// tmplDiffCheck compares one generated case. A template must parse here when
// the reference accepts it with no variables (the check the platform makes on
// save), and then render as the reference does with the case's variables.
func tmplDiffCheck(t *testing.T, template string, interp bool, vars map[string]any, withVars, empty map[string]json.RawMessage) string {
	refEmpty := tmplReferenceOutcome(t, empty)
	ref := tmplReferenceOutcome(t, withVars)
	_, err := Parse(template, Options{InterpolateStrings: interp})
	var parsed tmplOutcome
	if err != nil {
		parsed = tmplOurOutcome(t, template, interp, nil, nil)
	}
	switch {
	case refEmpty.timeout || ref.timeout:
		return "the reference timed out"
	case refEmpty.errKind != "" || parsed.errKind != "":
		if refEmpty.errKind != parsed.errKind || refEmpty.variable != parsed.variable {
			return fmt.Sprintf("parse: reference (no variables) %v, ours %v", refEmpty, parsed)
		}
		return ""
	}
	// A variable error shows with no variables already; a JSON error with
	// variables but not without would be a placeholder that is not a whole
	// value, which the empty check rules out.
	got := tmplOurOutcome(t, template, interp, nil, vars)
	if diff := tmplSameOutcome(ref, got); diff != "" {
		return "render (-reference +ours):\n" + diff
	}
	// The same variables as raw JSON, compact and indented, as the local
	// platform passes a run: paths look into them without decoding.
	for _, indent := range []bool{false, true} {
		got := tmplOurOutcome(t, template, interp, nil, tmplRawVars(t, vars, indent))
		if diff := tmplSameOutcome(ref, got); diff != "" {
			return fmt.Sprintf("render with variables as raw JSON (indented: %v) (-reference +ours):\n%s", indent, diff)
		}
	}
	return ""
}

// tmplGen generates templates and variables for the differential test.
type tmplGen struct {
	r *rand.Rand
	b strings.Builder
}

var (
	tmplGenRoots  = []string{"userId", "createdAt", "eventType", "eventData", "resource", "globals"}
	tmplGenBad    = []string{"nope", " resource", "", "Resource", "resource ", "user-id"}
	tmplGenProps  = []string{"id", "items", "0", "1", "2", "01", "length", "nested", "a", "b", "zero", "f", "empty", "nul", "num", "s", "arr", "missing", "", "x y", "k", "big"}
	tmplGenKeys   = []string{"a", "b", "c", "id", "text", "{{resource.id}}", "x y", "é", "with \\\"quote\\\"", "n"}
	tmplGenNums   = []string{"0", "-0", "1", "-1.5", "1e21", "1E-7", "123456789012345678901234", "0.1", "2.5e+3", "1e400", "-0.0e-0"}
	tmplGenWords  = []string{"run", " ", "id=", "žluť", "😀", "{", "}", "{{", "}}", "{{}}", "{ {", "..", "x.y", "-"}
	tmplGenEsc    = []string{`\"`, `\n`, `\t`, `\u00e9`, `\u007b`, `\u007d`, `\/`, `\\`, `\ud83d\ude00`, `\u0000`}
	tmplGenSpaces = []string{"", "", " ", "\n  ", "\t", " \r\n"}
)

func (g *tmplGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *tmplGen) ws() { g.b.WriteString(g.pick(tmplGenSpaces)) }

func (g *tmplGen) name(inString bool) string {
	root := g.pick(tmplGenRoots)
	if g.r.IntN(40) == 0 {
		root = g.pick(tmplGenBad)
	}
	parts := []string{root}
	for range g.r.IntN(4) {
		p := g.pick(tmplGenProps)
		if inString && g.r.IntN(3) > 0 && (p == "" || strings.Contains(p, " ")) {
			p = "id" // mostly names the string pattern recognises
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ".")
}

func (g *tmplGen) template(interp bool) string {
	g.b.Reset()
	g.ws()
	g.value(0, interp)
	g.ws()
	text := g.b.String()
	if g.r.IntN(6) == 0 {
		text = g.mutate(text)
	}
	return text
}

func (g *tmplGen) value(depth int, interp bool) {
	switch k := g.r.IntN(100); {
	case k < 25 || depth >= 3 && k >= 60:
		g.b.WriteString("{{" + g.name(false) + "}}")
	case k < 45:
		g.str(interp)
	case k < 53:
		g.b.WriteString(g.pick(tmplGenNums))
	case k < 60:
		g.b.WriteString(g.pick([]string{"true", "false", "null"}))
	case k < 82:
		g.b.WriteByte('{')
		keys := map[string]bool{}
		for i := range g.r.IntN(5) {
			key := g.pick(tmplGenKeys)
			if keys[key] {
				continue // the reference keeps only the last of duplicates
			}
			keys[key] = true
			if i > 0 && len(keys) > 1 {
				g.b.WriteByte(',')
			}
			g.ws()
			g.b.WriteString(`"` + key + `"`)
			g.ws()
			g.b.WriteByte(':')
			g.ws()
			g.value(depth+1, interp)
			g.ws()
		}
		g.b.WriteByte('}')
	default:
		g.b.WriteByte('[')
		for i := range g.r.IntN(5) {
			if i > 0 {
				g.b.WriteByte(',')
			}
			g.ws()
			g.value(depth+1, interp)
			g.ws()
		}
		g.b.WriteByte(']')
	}
}

func (g *tmplGen) str(interp bool) {
	g.b.WriteByte('"')
	if g.r.IntN(3) == 0 {
		g.b.WriteString("{{" + g.name(true) + "}}")
		g.b.WriteByte('"')
		return
	}
	last := ""
	for range g.r.IntN(6) {
		switch k := g.r.IntN(10); {
		case k < 4:
			last = g.pick(tmplGenWords)
		case k < 6:
			last = g.pick(tmplGenEsc)
		default:
			last = "{{" + g.name(true) + "}}"
		}
		g.b.WriteString(last)
	}
	if last == `\\` {
		g.b.WriteString("x") // a string ending in a backslash trips the reference
	}
	g.b.WriteByte('"')
}

func (g *tmplGen) mutate(text string) string {
	i := g.r.IntN(len(text) + 1)
	switch g.r.IntN(3) {
	case 0:
		if i < len(text) {
			return text[:i] + text[i+1:]
		}
	case 1:
		return text[:i] + g.pick([]string{",", ":", "{", "}", "[", "]", `"`, "0", "-", "a", " ", "{{userId}}", "{{nope}}"}) + text[i:]
	}
	j := g.r.IntN(len(text) + 1)
	lo, hi := min(i, j), max(i, j)
	return text[:lo] + text[lo:hi] + text[lo:]
}

// tmplGenSafe rules out templates on which the reference is known to be
// wrong: an unclosed "{{" outside strings (it loops or reports a nonsense
// variable), a string ending in a backslash or a backslash outside strings
// (it miscounts quotes); and text that is not UTF-8, which node would read
// differently.
func tmplGenSafe(text string) bool {
	if !utf8.ValidString(text) {
		return false
	}
	inString, escapedBackslash := false, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case inString && c == '\\':
			escapedBackslash = i+1 < len(text) && text[i+1] == '\\'
			i++
		case inString && c == '"':
			if escapedBackslash {
				return false
			}
			inString = false
		case inString:
			escapedBackslash = false
		case c == '"':
			inString, escapedBackslash = true, false
		case c == '\\':
			return false
		case strings.HasPrefix(text[i:], "{{"):
			n := strings.Index(text[i+2:], "}}")
			if n < 0 {
				return false
			}
			i += n + 3
		}
	}
	return true
}

// vars generates variables: values never hold "{{" nor end in a backslash,
// which the reference would treat as template text.
func (g *tmplGen) vars() map[string]any {
	vars := map[string]any{}
	for _, root := range tmplGenRoots {
		if g.r.IntN(8) > 0 {
			vars[root] = g.jsonValue(0)
		}
	}
	if g.r.IntN(2) == 0 {
		vars["resource"] = map[string]any{
			"id": g.scalar(), "items": g.jsonValue(1), "nested": map[string]any{"a": g.jsonValue(2), "b": g.scalar()},
			"zero": 0.0, "f": false, "empty": "", "nul": nil, "num": g.number(), "s": g.scalar(),
			"arr": []any{g.scalar(), nil, []any{g.number(), g.scalar()}, map[string]any{"k": "v"}}, "": g.scalar(), "0": g.scalar(),
			"big": g.number(),
		}
	}
	return vars
}

func (g *tmplGen) jsonValue(depth int) any {
	switch k := g.r.IntN(10); {
	case k < 5 || depth >= 3:
		return g.scalar()
	case k < 7:
		a := make([]any, g.r.IntN(4))
		for i := range a {
			a[i] = g.jsonValue(depth + 1)
		}
		return a
	default:
		m := map[string]any{}
		for range g.r.IntN(5) {
			m[g.pick(tmplGenProps)] = g.jsonValue(depth + 1)
		}
		return m
	}
}

func (g *tmplGen) scalar() any {
	switch g.r.IntN(6) {
	case 0:
		return nil
	case 1:
		return g.r.IntN(2) == 0
	case 2, 3:
		return g.number()
	}
	s := g.pick([]string{"", "x", "SUCCEEDED", "say \"hi\"\n", "tab\tand \\ slash", "žluťoučký 😀", "a,b", "{ }", "0", "\u2028", "<&>"})
	return s
}

func (g *tmplGen) number() float64 {
	switch g.r.IntN(6) {
	case 0:
		return g.pick2([]float64{0, math.Copysign(0, -1), 1, -1, 1e21, 1e-7, 1e-6, 123e-20, 9007199254740993, tmplPointThree, 5e-324, math.MaxFloat64})
	case 1:
		return float64(g.r.IntN(2000) - 1000)
	case 2:
		return math.Float64frombits(g.r.Uint64()&^(0x7ff<<52) | uint64(g.r.IntN(2046)+1)<<52) // any finite double
	}
	return (g.r.Float64() - 0.5) * math.Pow(10, float64(g.r.IntN(60)-30))
}

func (g *tmplGen) pick2(list []float64) float64 { return list[g.r.IntN(len(list))] }

func TestPayloadTemplateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		template string
		opts     Options
		kind     error
		line     int
		col      int
		variable string
		msg      string // the whole message
	}{
		{
			name:     "unknown variable",
			template: "{\n  \"id\": {{resource.id}},\n  \"x\":  {{reosurce}}\n}",
			kind:     ErrInvalidVariable, line: 3, col: 9, variable: "reosurce",
			msg: `payload template: unknown variable "reosurce" at 3:9; allowed: userId, createdAt, eventType, eventData, resource, globals`,
		},
		{
			name:     "unknown variable with a path",
			template: `{"x": {{reosurce.id}}}`,
			kind:     ErrInvalidVariable, line: 1, col: 7, variable: "reosurce.id",
			msg: `payload template: unknown variable "reosurce" in {{reosurce.id}} at 1:7; allowed: userId, createdAt, eventType, eventData, resource, globals`,
		},
		{
			name:     "spaces",
			template: `{"x": {{ resource }}}`,
			kind:     ErrInvalidVariable, line: 1, col: 7, variable: " resource ",
			msg: `payload template: unknown variable " resource " at 1:7; remove the spaces inside the braces`,
		},
		{
			name:     "no variable name",
			template: `{"x": "{{.id}}"}`,
			opts:     Options{InterpolateStrings: true},
			kind:     ErrInvalidVariable, line: 1, col: 8, variable: ".id",
			msg: `payload template: placeholder {{.id}} does not start with a variable name at 1:8; allowed: userId, createdAt, eventType, eventData, resource, globals`,
		},
		{
			name:     "custom allowed list",
			template: `{"x": {{resource}}}`,
			opts:     Options{AllowedVariables: []string{"userId"}},
			kind:     ErrInvalidVariable, line: 1, col: 7, variable: "resource",
			msg: `payload template: unknown variable "resource" at 1:7; allowed: userId`,
		},
		{
			name:     "no variables allowed",
			template: `{"x": {{resource}}}`,
			opts:     Options{AllowedVariables: []string{}},
			kind:     ErrInvalidVariable, line: 1, col: 7, variable: "resource",
			msg: `payload template: unknown variable "resource" at 1:7; this template allows no variables`,
		},
		{
			name:     "unknown variable in a string, column in characters",
			template: `{"žluť": "ok {{nope}}"}`,
			opts:     Options{InterpolateStrings: true},
			kind:     ErrInvalidVariable, line: 1, col: 14, variable: "nope",
		},
		{
			name:     "trailing comma",
			template: "{\n  \"a\": 1,\n}",
			kind:     ErrInvalidJSON, line: 3, col: 1,
			msg: `payload template: trailing comma before '}' at 3:1; remove the comma after the last member`,
		},
		{
			name:     "unclosed placeholder",
			template: `{"a": {{resource}`,
			kind:     ErrInvalidJSON, line: 1, col: 7,
			msg: `payload template: unclosed placeholder: "{{" without a closing "}}" at 1:7`,
		},
		{
			name:     "unclosed object",
			template: "{\"a\": [1,\n 2]",
			kind:     ErrInvalidJSON, line: 2, col: 4,
			msg: `payload template: unexpected end of the template: the object opened at 1:1 is not closed at 2:4`,
		},
		{
			name:     "placeholder as member name",
			template: `{ {{eventType}}: 1}`,
			kind:     ErrInvalidJSON, line: 1, col: 3,
		},
		{
			name:     "unterminated string",
			template: `["abc`,
			kind:     ErrInvalidJSON, line: 1, col: 2,
		},
		{
			name:     "invalid UTF-8",
			template: "[\"a\xffb\"]",
			kind:     ErrInvalidJSON, line: 1, col: 4,
		},
		{
			name:     "empty",
			template: "",
			kind:     ErrInvalidJSON, line: 1, col: 1,
			msg: `payload template: the template has no JSON value at 1:1`,
		},
		{
			name:     "unknown variable wins over an earlier syntax error",
			template: `{"a": , "b": {{nope}}}`,
			kind:     ErrInvalidVariable, line: 1, col: 14, variable: "nope",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tt.template, tt.opts)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("error = %v, want %v", err, tt.kind)
			}
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error %T is not a *Error", err)
			}
			if te.Line != tt.line || te.Column != tt.col || te.Variable != tt.variable {
				t.Errorf("at %d:%d variable %q, want %d:%d %q (%v)", te.Line, te.Column, te.Variable, tt.line, tt.col, tt.variable, err)
			}
			if l, c := lineCol(tt.template, te.Offset); l != te.Line || c != te.Column {
				t.Errorf("Offset %d is at %d:%d, not %d:%d", te.Offset, l, c, te.Line, te.Column)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("message:\n got %s\nwant %s", err, tt.msg)
			}
		})
	}
}

func TestPayloadTemplateVariables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		template string
		interp   bool
		want     []string
	}{
		{Default, false, []string{"userId", "createdAt", "eventType", "eventData", "resource"}},
		{`{"a": {{resource.id}}, "b": "{{globals.dateISO}}", "c": {{resource}}}`, false, []string{"resource"}},
		{`{"a": {{resource.id}}, "b": "{{globals.dateISO}} {{userId}}", "c": {{resource}}}`, true, []string{"resource", "globals", "userId"}},
		{`{"a": 1}`, true, []string{}},
	}
	for _, tt := range tests {
		tmpl, err := Parse(tt.template, Options{InterpolateStrings: tt.interp})
		if err != nil {
			t.Fatal(err)
		}
		got := tmpl.Variables()
		if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") })); diff != "" {
			t.Errorf("Variables() of %s (-want +got):\n%s", tt.template, diff)
		}
		if len(got) > 0 {
			got[0] = "changed" // the caller's copy
			if tmpl.Variables()[0] == "changed" {
				t.Error("Variables() returns the template's own slice")
			}
		}
	}
}

type tmplRun struct {
	ID      string            `json:"id"`
	Status  string            `json:"status"`
	Stats   map[string]int    `json:"stats"`
	Tags    []string          `json:"tags"`
	Labels  map[string]string `json:"labels,omitempty"`
	Started time.Time         `json:"startedAt"`
	Zero    int               `json:"zero"`
	Ptr     *tmplRun          `json:"ptr"`
}

// TestPayloadTemplateGoValues covers variables that are not what
// encoding/json decodes into by itself.
func TestPayloadTemplateGoValues(t *testing.T) {
	t.Parallel()
	run := tmplRun{
		ID: "r1", Status: "SUCCEEDED", Stats: map[string]int{"restarts": 0, "ms": 1500}, Tags: []string{"a", "b"},
		Started: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
	}
	vars := map[string]any{
		"resource": map[string]any{
			"run":     run,
			"runPtr":  &run,
			"nilPtr":  (*tmplRun)(nil),
			"int":     42,
			"int0":    0,
			"int64":   int64(-7),
			"uint8":   uint8(0),
			"f32":     float32(0.1),
			"num":     json.Number("12345678901234567890"),
			"num0":    json.Number("0.000"),
			"raw":     json.RawMessage(` {"a": [1, 2], "b": "x"} `),
			"raw0":    json.RawMessage(`""`),
			"strs":    []string{"x", "y"},
			"labels":  map[string]string{"k": "v"},
			"nan":     math.NaN(),
			"inf":     math.Inf(1),
			"negZero": math.Copysign(0, -1),
			"nilMap":  map[string]any(nil),
			"html":    "<a&b>",
		},
	}
	tests := []struct {
		template string
		interp   bool
		want     string
	}{
		{`{{resource.run}}`, false, `{"id":"r1","status":"SUCCEEDED","stats":{"ms":1500,"restarts":0},"tags":["a","b"],"startedAt":"2024-05-01T12:00:00Z","zero":0,"ptr":null}`},
		{`[{{resource.run.id}}, {{resource.run.stats.ms}}, {{resource.run.tags.1}}, {{resource.run.zero}}, {{resource.run.tags.length}}, {{resource.runPtr.status}}]`, false, `["r1", 1500, "b", null, 2, "SUCCEEDED"]`},
		{`[{{resource.nilPtr}}, {{resource.nilPtr.id}}, {{resource.run.ptr.id}}, {{resource.run.startedAt.x}}]`, false, `[null, null, null, null]`},
		{`[{{resource.int}}, {{resource.int0}}, {{resource.int64}}, {{resource.uint8}}, {{resource.f32}}]`, false, `[42, null, -7, null, 0.1]`},
		{`[{{resource.num}}, {{resource.num0}}, {{resource.raw}}, {{resource.raw.a.1}}, {{resource.raw0}}]`, false, `[12345678901234567890, null, {"a":[1,2],"b":"x"}, 2, null]`},
		{`[{{resource.strs}}, {{resource.strs.0}}, {{resource.labels}}, {{resource.labels.k}}]`, false, `[["x","y"], "x", {"k":"v"}, "v"]`},
		{`[{{resource.nan}}, {{resource.inf}}, {{resource.negZero}}, {{resource.nilMap}}, {{resource.html}}]`, false, `[null, null, null, null, "<a&b>"]`},
		{`["{{resource.nan}}", "{{resource.inf}}", "{{resource.negZero}}", "{{resource.int0}}", "{{resource.nilMap}}"]`, true, `[null, null, 0, 0, null]`},
		{`"{{resource.run.startedAt}} {{resource.run}} {{resource.num}} {{resource.f32}} {{resource.strs}} {{resource.labels}} {{resource.negZero}} {{resource.inf}} {{resource.nan}} {{resource.raw.a}}"`, true,
			`"2024-05-01T12:00:00Z [object Object] 12345678901234567000 0.1 x,y [object Object] 0 Infinity NaN 1,2"`},
	}
	for _, tt := range tests {
		out, err := RenderText(tt.template, vars, Options{InterpolateStrings: tt.interp})
		if err != nil {
			t.Errorf("%s: %v", tt.template, err)
			continue
		}
		if string(out) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.template, out, tt.want)
		}
	}

	// Values that cannot be JSON are errors naming the placeholder.
	for _, bad := range []any{make(chan int), json.Number("1e"), json.RawMessage(`{`), map[string]any{"f": func() {}}} {
		_, err := RenderText(`{"x": {{resource.v}}}`, map[string]any{"resource": map[string]any{"v": bad}}, Options{})
		var te *Error
		if !errors.As(err, &te) || te.Variable != "resource.v" || te.Line != 1 || te.Column != 7 {
			t.Errorf("value %T: error = %v, want a *Error for resource.v at 1:7", bad, err)
		}
	}
}

// tmplPointThree is 0.1+0.2 in float64 arithmetic (constants would be exact).
var tmplPointThree = func(a, b float64) float64 { return a + b }(0.1, 0.2)

// TestPayloadTemplateNumbers checks JavaScript's Number#toString, which
// partial interpolation writes into text.
func TestPayloadTemplateNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "0"}, {1, "1"}, {-1.5, "-1.5"}, {0.1, "0.1"}, {tmplPointThree, "0.30000000000000004"},
		{100, "100"}, {1e20, "100000000000000000000"}, {1e21, "1e+21"}, {1.5e21, "1.5e+21"}, {123456789012345680000, "123456789012345680000"},
		{1e-6, "0.000001"}, {1.5e-6, "0.0000015"}, {1e-7, "1e-7"}, {-1.25e-7, "-1.25e-7"}, {5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"}, {9007199254740993, "9007199254740992"}, {123456.789, "123456.789"},
		{math.NaN(), "NaN"}, {math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"},
	}
	for _, tt := range tests {
		if got := string(appendNumber(nil, tt.f)); got != tt.want {
			t.Errorf("%v: got %s, want %s", tt.f, got, tt.want)
		}
	}
}

func TestHeadersTemplate(t *testing.T) {
	t.Parallel()
	vars := map[string]any{
		"userId":   "u1",
		"resource": map[string]any{"id": "r1", "n": 3.0, "nl": "a\r\nInjected: 1", "nul": nil},
	}
	t.Run("render", func(t *testing.T) {
		t.Parallel()
		tmpl, err := ParseHeaders(`{
			"Authorization": "Bearer secret",
			"X-Run": {{resource.id}},
			"X-Missing": {{resource.nope}},
			"X-Null": null,
			"X-Text": "run {{resource.id}} of {{userId}}",
			"X-Exact-Missing": "{{resource.nope}}",
			"X-Dup": "first",
			"X-Dup": "second"
		}`, Options{InterpolateStrings: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := tmpl.RenderHeaders(vars)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"Authorization": "Bearer secret", "X-Run": "r1", "X-Text": "run r1 of u1", "X-Dup": "second"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("RenderHeaders (-want +got):\n%s", diff)
		}
	})
	parseErrors := []struct {
		template, header, msg string
	}{
		{`[{"a": "b"}]`, "", "headers template: the top level must be a JSON object of header names to values, found an array at 1:1"},
		{` {{resource}}`, "", "headers template: the top level must be a JSON object of header names to values, found a placeholder at 1:2"},
		{`"x"`, "", "headers template: the top level must be a JSON object of header names to values, found a string at 1:1"},
		{`{"X-A": 1}`, "X-A", `headers template: header "X-A" has a number value at 1:9; header values must be strings`},
		{`{"X-A": {"b": "c"}}`, "X-A", `headers template: header "X-A" has an object value at 1:9; header values must be strings`},
		{`{"X-A": true}`, "X-A", `headers template: header "X-A" has a boolean value at 1:9; header values must be strings`},
		{`{"X A": "v"}`, "X A", `headers template: header name "X A" has ' ', which header names cannot contain at 1:2; header names are letters, digits and !#$%&'*+-.^_` + "`" + `|~`},
		{`{"": "v"}`, "", `headers template: empty header name at 1:2`},
		{`{"X-A": "a\r\nB: c"}`, "X-A", `headers template: header "X-A" has a value with control character U+000D at 1:9`},
	}
	for _, tt := range parseErrors {
		_, err := ParseHeaders(tt.template, Options{})
		var te *Error
		if !errors.Is(err, ErrInvalidHeaders) || !errors.As(err, &te) || te.Header != tt.header || err.Error() != tt.msg {
			t.Errorf("ParseHeaders(%s):\n got %v\nwant %s (header %q)", tt.template, err, tt.msg, tt.header)
		}
	}
	if _, err := ParseHeaders(`{"X-A": {{nope}}}`, Options{}); !errors.Is(err, ErrInvalidVariable) {
		t.Errorf("unknown variable in headers: %v", err)
	}
	renderErrors := []struct {
		template string
		interp   bool
		msg      string
	}{
		{`{"X-N": {{resource.n}}}`, false, `headers template: header "X-N" renders to a number at 1:9; header values must be strings`},
		{`{"X-N": "{{resource}}"}`, true, `headers template: header "X-N" renders to an object at 1:9; header values must be strings`},
		{`{"X-N": {{resource.nl}}}`, false, `headers template: header "X-N" renders to a value with control character U+000D at 1:9`},
	}
	for _, tt := range renderErrors {
		tmpl, err := ParseHeaders(tt.template, Options{InterpolateStrings: tt.interp})
		if err != nil {
			t.Fatal(err)
		}
		_, err = tmpl.RenderHeaders(vars)
		var te *Error
		if !errors.Is(err, ErrInvalidHeaders) || !errors.As(err, &te) || te.Header != "X-N" || err.Error() != tt.msg {
			t.Errorf("RenderHeaders(%s):\n got %v\nwant %s", tt.template, err, tt.msg)
		}
	}
	// A payload template that is no object cannot give headers.
	tmpl, err := Parse(`[1]`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.RenderHeaders(nil); !errors.Is(err, ErrInvalidHeaders) {
		t.Errorf("RenderHeaders of an array: %v", err)
	}
}

// TestPayloadTemplateConcurrentRender renders one template from many
// goroutines (run with -race).
func TestPayloadTemplateConcurrentRender(t *testing.T) {
	t.Parallel()
	tmpl, err := Parse(`{"a": "{{resource.nope}}", "id": "{{resource.id}}", "r": {{resource}}, "t": "x {{resource.n}}"}`, Options{InterpolateStrings: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				n := float64(g*1000 + i)
				out, err := tmpl.Render(map[string]any{"resource": map[string]any{"id": "x", "n": n, "m": map[string]any{"k": []any{n}}}})
				want := fmt.Sprintf(`{ "id": "x", "r": {"id":"x","m":{"k":[%v]},"n":%v}, "t": "x %v"}`, n, n, n)
				if err != nil || string(out) != want {
					t.Errorf("got %s, %v; want %s", out, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestPayloadTemplateLinear checks that big and adversarial templates finish
// quickly: no quadratic work, no deep recursion, no endless loop.
func TestPayloadTemplateLinear(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("[")
	for i := range 30_000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{{resource.id}}`)
	}
	b.WriteString("]")
	many := b.String()
	tests := []struct {
		name     string
		template string
		interp   bool
		kind     error
	}{
		{"30k placeholders", many, false, nil},
		{"30k placeholders, unclosed at the end", many[:len(many)-1] + `,{{resource`, false, ErrInvalidJSON},
		{"many unclosed", strings.Repeat(`{{`, 100_000), false, ErrInvalidJSON},
		{"unclosed in strings", `["` + strings.Repeat(`{{`, 100_000) + `"]`, true, nil},
		{"deep arrays", strings.Repeat("[", 300_000) + strings.Repeat("]", 300_000), false, nil},
		{"deep objects, unclosed", strings.Repeat(`{"a":`, 200_000), false, ErrInvalidJSON},
		{"syntax error then many placeholders", `[,` + many[1:], false, ErrInvalidJSON},
	}
	for _, tt := range tests {
		start := time.Now()
		out, err := RenderText(tt.template, map[string]any{"resource": map[string]any{"id": "x"}}, Options{InterpolateStrings: tt.interp})
		// (json.Valid stops at 10000 levels; the nested case renders as itself.)
		if tt.kind == nil && (err != nil || !json.Valid(out) && string(out) != tt.template) {
			t.Errorf("%s: %v", tt.name, err)
		}
		if tt.kind != nil && !errors.Is(err, tt.kind) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.kind)
		}
		// Generous for -race on a loaded machine; quadratic work would take minutes.
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s took %v", tt.name, d)
		}
	}
}

// TestPayloadTemplateNumberPaths checks that appendNumber (integers,
// fixed and exponent notation straight from strconv) writes what
// Number.prototype.toString's algorithm, from the shortest digits and their
// exponent, writes: around the bounds of each notation, and at random.
func TestPayloadTemplateNumberPaths(t *testing.T) {
	t.Parallel()
	check := func(f float64) {
		t.Helper()
		if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return
		}
		for _, f := range []float64{f, -f} {
			if got, want := string(appendNumber(nil, f)), string(jsNumberString(nil, f, 64)); got != want {
				t.Errorf("%v (%#x): got %s, want %s", f, math.Float64bits(f), got, want)
			}
		}
	}
	for _, f := range []float64{1e-6, 1e21, 1 << 53, 1, 0.1, tmplPointThree, 123.456, 1e20, 999999999999999.9, 5e-7} {
		check(f)
		check(math.Nextafter(f, 0))
		check(math.Nextafter(f, math.Inf(1)))
	}
	r := rand.New(rand.NewPCG(3, 4))
	n := 20_000
	if testenv.LongEnabled() {
		n = 1_000_000
	}
	for range n {
		check(math.Float64frombits(r.Uint64()))                                // every exponent alike
		check(math.Pow(10, r.Float64()*32-9) * (0.5 + r.Float64()))            // around fixed notation
		check(math.Round(r.Float64()*1e6) / math.Pow(10, float64(r.IntN(12)))) // few decimals
	}
}

// TestPayloadTemplateShadowedMembers checks that of the members of a headers
// template with one name the last gives the header, with few and many
// members and names written with escapes.
func TestPayloadTemplateShadowedMembers(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 2, 5, 32, 33, 80, 300} {
		for range 20 {
			want := map[string]string{}
			var sb strings.Builder
			sb.WriteString("{")
			for i := range n {
				name := "k" + strconv.Itoa(r.IntN(n/2+1))
				written := name
				if r.IntN(4) == 0 {
					written = `\u006b` + name[1:] // "\u006b" is "k"
				}
				if i > 0 {
					sb.WriteString(",")
				}
				fmt.Fprintf(&sb, `"%s": "%d"`, written, i)
				want[name] = strconv.Itoa(i)
			}
			sb.WriteString("}")
			tmpl, err := ParseHeaders(sb.String(), Options{})
			if err != nil {
				t.Fatalf("%s: %v", sb.String(), err)
			}
			got, err := tmpl.RenderHeaders(nil)
			if err != nil {
				t.Fatalf("%s: %v", sb.String(), err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%s: headers (-want +got):\n%s", sb.String(), diff)
			}
		}
	}
}

// tmplCheckKeyOrder reports an object in body whose keys are not in strictly
// increasing byte order.
func tmplCheckKeyOrder(body []byte) error {
	type level struct {
		object, wantKey, hasLast bool
		last                     string
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	var stack []level
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].object {
			top := &stack[n-1]
			if top.wantKey {
				key := tok.(string)
				if top.hasLast && key <= top.last {
					return fmt.Errorf("key %q after %q", key, top.last)
				}
				top.last, top.hasLast, top.wantKey = key, true, false
				continue
			}
			top.wantKey = true
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, level{object: d == '{', wantKey: true})
		}
	}
}

// TestPayloadTemplateMapOrder checks that maps are written with their keys
// sorted, small (on the stack) and large, nested, and with keys that tie on
// their first bytes or differ in padding; more with ACTOR_LONG_TESTS=1.
func TestPayloadTemplateMapOrder(t *testing.T) {
	t.Parallel()
	tmpl, err := Parse(`{{resource}}`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 10))
	pieces := []string{"", "a", "b", "ab", "abcdefgh", "abcdefghi", "abcdefgh\x00", "\x00", "é", "Z", "zz", "DATA_TRANSFER_", "_X"}
	var randomMap func(n, depth int) map[string]any
	randomMap = func(n, depth int) map[string]any {
		m := make(map[string]any, n)
		for len(m) < n {
			k := pieces[r.IntN(len(pieces))] + pieces[r.IntN(len(pieces))]
			if r.IntN(3) == 0 {
				k += strconv.Itoa(r.IntN(1000))
			}
			switch {
			case depth > 0 && r.IntN(8) == 0:
				m[k] = randomMap([]int{0, 1, 16, 17, 49, 257}[r.IntN(6)], depth-1)
			default:
				m[k] = float64(len(m))
			}
		}
		return m
	}
	sizes, rounds := []int{0, 1, 2, 17, 48, 49, 257}, 2
	if testenv.LongEnabled() {
		sizes, rounds = []int{0, 1, 2, 15, 16, 17, 40, 48, 49, 200, 256, 257, 400}, 10
	}
	for _, n := range sizes {
		for range rounds {
			m := randomMap(n, 2)
			out, err := tmpl.Render(map[string]any{"resource": m})
			if err != nil {
				t.Fatal(err)
			}
			if err := tmplCheckKeyOrder(out); err != nil {
				t.Fatalf("%d keys: %v in %s", n, err, out)
			}
			var back map[string]any
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				if diff := cmp.Diff(m, back); diff != "" {
					t.Fatalf("%d keys (-want +got):\n%s", n, diff)
				}
			}
		}
	}
}

// TestPayloadTemplateManyPaths renders templates with paths whose
// fingerprints (tmplNameHash) agree, with more paths than addPath goes
// through before it takes a map, and with each path used several times.
func TestPayloadTemplateManyPaths(t *testing.T) {
	t.Parallel()
	for _, n := range []int{3, 31, 32, 33, 100} {
		resource := map[string]any{}
		want := map[string]any{}
		var sb strings.Builder
		sb.WriteString("{")
		for i := range n {
			// resource.xa<i>1 and resource.ya<i>1 agree in length, middle
			// and last byte.
			for _, p := range []string{"x", "y"} {
				key := fmt.Sprintf("%sa%d1", p, i)
				resource[key] = key + "!"
				fmt.Fprintf(&sb, `"raw-%s": {{resource.%s}}, "str-%s": "<{{resource.%s}}>", "again-%s": {{resource.%s}},`, key, key, key, key, key, key)
				want["raw-"+key], want["str-"+key], want["again-"+key] = key+"!", "<"+key+"!>", key+"!"
			}
		}
		sb.WriteString(`"last": {{resource.length}}}`)
		want["last"] = nil
		tmpl, err := Parse(sb.String(), Options{InterpolateStrings: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(tmpl.paths); got != 2*n+1 { // and resource.length
			t.Errorf("%d: %d paths, want %d", n, got, 2*n+1)
		}
		out, err := tmpl.Render(map[string]any{"resource": resource})
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%d paths (-want +got):\n%s", n, diff)
		}
	}
}

// TestPayloadTemplateValueReuse renders one path in each kind of slot: a
// render resolves it once, and each slot still writes it its own way.
func TestPayloadTemplateValueReuse(t *testing.T) {
	t.Parallel()
	tmpl, err := Parse(`[{{resource.v}}, "{{resource.v}}", "v={{resource.v}}", {"m": "{{resource.v}}"}, {{resource.v}}]`,
		Options{InterpolateStrings: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		v    any
		want string
	}{
		{0.0, `[null, 0, "v=0", {"m": 0}, null]`},
		{"", `[null, "", "v=", {"m": ""}, null]`},
		{false, `[null, false, "v=false", {"m": false}, null]`},
		{[]any{1.0, "a"}, `[[1,"a"], [1,"a"], "v=1,a", {"m": [1,"a"]}, [1,"a"]]`},
		{nil, `[null, null, "v=null", {"m": null}, null]`},
	}
	for _, tt := range tests {
		out, err := tmpl.Render(map[string]any{"resource": map[string]any{"v": tt.v}})
		if err != nil || string(out) != tt.want {
			t.Errorf("v = %#v: got %s, %v; want %s", tt.v, out, err, tt.want)
		}
	}
	out, err := tmpl.Render(map[string]any{"resource": map[string]any{}})
	if want := `[null, null, "v=undefined", {}, null]`; err != nil || string(out) != want {
		t.Errorf("v missing: got %s, %v; want %s", out, err, want)
	}
}

// TestPayloadTemplateRenderOwnsBody checks that each body belongs to the
// caller: Render writes into a pooled buffer and returns a copy.
func TestPayloadTemplateRenderOwnsBody(t *testing.T) {
	t.Parallel()
	tmpl, err := Parse(`{"id": {{resource.id}}}`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	render := func(id string) []byte {
		out, err := tmpl.Render(map[string]any{"resource": map[string]any{"id": id}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	bodies := make([][]byte, 100)
	for i := range bodies {
		bodies[i] = render(strings.Repeat("x", i*i))
	}
	bodies[0][0] = 'X'
	for i, body := range bodies[1:] {
		if want := `{"id": "` + strings.Repeat("x", (i+1)*(i+1)) + `"}`; string(body) != want {
			t.Fatalf("body %d is %.40s, want %.40s", i+1, body, want)
		}
	}
}

// TestPayloadTemplateEmptyVariable parses {{}} where "" is an allowed
// variable name.
func TestPayloadTemplateEmptyVariable(t *testing.T) {
	t.Parallel()
	tmpl, err := Parse(`[{{}}, {{.a}}, "{{}}"]`, Options{AllowedVariables: []string{""}, InterpolateStrings: true})
	if err != nil {
		t.Fatal(err)
	}
	out, err := tmpl.Render(map[string]any{"": map[string]any{"a": 1.0}})
	if want := `[{"a":1}, 1, "{{}}"]`; err != nil || string(out) != want {
		t.Errorf("got %s, %v; want %s", out, err, want)
	}
}

// jsNumberString appends a finite, non-zero f as Number.prototype.toString
// writes it, by the algorithm of the ECMAScript specification, from its
// shortest digits and their exponent.
func jsNumberString(b []byte, f float64, bits int) []byte {
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	// Shortest digits that round-trip, as d.ddde±x.
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, bits)
	ep := bytes.IndexByte(e, 'e')
	var digitsBuf [24]byte
	digits := append(digitsBuf[:0], e[0])
	if ep > 1 {
		digits = append(digits, e[2:ep]...)
	}
	exp := 0
	for _, c := range e[ep+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[ep+1] == '-' {
		exp = -exp
	}
	k, n := len(digits), exp+1
	switch {
	case k <= n && n <= 21:
		b = append(b, digits...)
		for range n - k {
			b = append(b, '0')
		}
	case 0 < n && n <= 21:
		b = append(b, digits[:n]...)
		b = append(b, '.')
		b = append(b, digits[n:]...)
	case -6 < n && n <= 0:
		b = append(b, '0', '.')
		for range -n {
			b = append(b, '0')
		}
		b = append(b, digits...)
	default:
		b = append(b, digits[0])
		if k > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if n-1 >= 0 {
			b = append(b, '+')
		}
		b = strconv.AppendInt(b, int64(n-1), 10)
	}
	return b
}

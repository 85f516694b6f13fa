package payloadtemplate

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestPayloadTemplateHugeNumbers checks that a number literal becomes null
// exactly where JavaScript reads Infinity, around the lengths from which
// tmplMayOverflow leaves the check to strconv.ParseFloat.
func TestPayloadTemplateHugeNumbers(t *testing.T) {
	t.Parallel()
	for n := 300; n <= 312; n++ {
		for _, lit := range []string{strings.Repeat("9", n), "-" + strings.Repeat("9", n-1), "1" + strings.Repeat("0", n-1), "17" + strings.Repeat("0", n-2), "0." + strings.Repeat("9", n), "1e" + strconv.Itoa(n)} {
			tmpl, err := Parse("["+lit+"]", Options{})
			if err != nil {
				t.Fatal(err)
			}
			f, _ := strconv.ParseFloat(lit, 64)
			if got, want := len(tmpl.ops) == 1 && tmpl.ops[0].kind == opNull, math.IsInf(f, 0); got != want {
				t.Errorf("%.20s... (%d bytes): null %v, want %v", lit, len(lit), got, want)
			}
		}
	}
}

// TestJSAsWritten checks that a number the raw-JSON fast path writes as it
// is reads as JavaScript writes it, for numbers written with every precision.
func TestJSAsWritten(t *testing.T) {
	t.Parallel()
	fast := 0
	check := func(lit string) {
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil || numberEnd(lit, 0) != len(lit) {
			return
		}
		if want := string(appendNumber(nil, f)); jsAsWritten(lit) {
			fast++
			if lit != want {
				t.Errorf("%s is written as it is; JavaScript writes %s", lit, want)
			}
		}
	}
	for _, lit := range []string{"0", "-0", "0.0", "1.50", "0.000001", "0.0000001", "-0.000001", "123456789012345", "1234567890123456", "100", "-7", "1e5", "0.1", "0.30000000000000004"} {
		check(lit)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 5000 {
		f := math.Pow(10, r.Float64()*30-10) * r.Float64()
		if r.IntN(2) == 0 {
			f = -f
		}
		for prec := -1; prec <= 18; prec++ {
			check(strconv.FormatFloat(f, 'f', prec, 64))
		}
	}
	if fast == 0 {
		t.Fatal("no number took the fast path")
	}
}

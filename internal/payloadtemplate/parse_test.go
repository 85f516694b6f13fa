package payloadtemplate

import (
	"math"
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

package payloadtemplate

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestPayloadTemplateWordScans checks tmplScanPlainLen, tmplNameLen and
// tmplSkipWS, which test eight bytes at a time, against byte loops, with
// each byte that matters at each place of a word.
func TestPayloadTemplateWordScans(t *testing.T) {
	t.Parallel()
	special := []byte{0, '\t', '\n', '\r', 0x1f, ' ', '!', '"', '\\', '{', '}', '.', '/', '0', '9', ':', '@', 'A', 'Z', '[', '`', 'a', 'z', '~', 0x7f, 0x80, 0xc3, 0xff}
	loop := func(table *[256]bool, s string) int {
		i := 0
		for i < len(s) && table[s[i]] {
			i++
		}
		return i
	}
	check := func(s string) {
		if got, want := tmplScanPlainLen(s), loop(&tmplScanPlain, s); got != want {
			t.Fatalf("tmplScanPlainLen(%q) = %d, want %d", s, got, want)
		}
		ws := 0
		for ws < len(s) && (s[ws] == ' ' || s[ws] == '\t' || s[ws] == '\n' || s[ws] == '\r') {
			ws++
		}
		if got := tmplSkipWS(s, 0); got != ws {
			t.Fatalf("tmplSkipWS(%q, 0) = %d, want %d", s, got, ws)
		}
		n, root := tmplNameLen(s)
		if want := loop(&tmplNameChars, s); n != want || root != tmplRootLen(s[:want]) {
			t.Fatalf("tmplNameLen(%q) = %d, %d; want %d, %d", s, n, root, want, tmplRootLen(s[:want]))
		}
	}
	for c := range 256 {
		for at := range 20 {
			for _, fill := range []byte{'a', '.', '5', 'Q', ' ', '\n'} {
				b := make([]byte, 20)
				for i := range b {
					b[i] = fill
				}
				b[at] = byte(c)
				for n := at; n <= len(b); n++ {
					check(string(b[:n]))
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(9, 10))
	for range 100_000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			if r.IntN(8) == 0 {
				b[i] = special[r.IntN(len(special))]
			} else {
				b[i] = "abcXYZ019."[r.IntN(10)]
			}
		}
		check(string(b))
	}
}

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
			if got, want := len(tmpl.ops) == 1 && tmpl.ops[0].kind == tmplOpNull, math.IsInf(f, 0); got != want {
				t.Errorf("%.20s... (%d bytes): null %v, want %v", lit, len(lit), got, want)
			}
		}
	}
}

package payloadtemplate

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"strconv"
)

// Numbers written as JavaScript writes them: Number.prototype.toString, and
// so JSON.stringify for finite numbers. A run holds dozens of numbers (its
// stats, usage and costs), so they take a good share of a render: integers
// and the fractions in fixed notation have paths of their own.

// tmplAppendNumber appends f as JavaScript's Number.prototype.toString writes
// it; size is 32 for a float32, whose shortest digits are its own.
func tmplAppendNumber(b []byte, f float64, size int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case f == 0:
		return append(b, '0') // -0 too
	}
	a := math.Abs(f)
	if a < 1<<53 {
		n := uint64(a)
		if integer := float64(n) == a; integer || size == 64 && a >= 1e-6 {
			if f < 0 {
				b = append(b, '-')
			}
			if integer {
				return tmplAppendUint(b, n)
			}
			return tmplAppendFraction(b, a)
		}
	}
	if math.IsInf(f, 0) {
		if f < 0 {
			b = append(b, '-')
		}
		return append(b, "Infinity"...)
	}
	return tmplAppendNumberExp(b, f, size)
}

// tmplDigitPairs holds "00" through "99" as little-endian pairs of bytes,
// for writing two digits at a time.
var tmplDigitPairs = func() (p [100]uint16) {
	for i := range p {
		p[i] = uint16('0'+i/10) | uint16('0'+i%10)<<8
	}
	return p
}()

// tmplPow10 and tmplPow5 hold the powers of ten and of five that fit in a
// uint64.
var tmplPow10, tmplPow5 = tmplPowers(10, 20), tmplPowers(5, 28)

// tmplPowers returns base^0 to base^(n-1).
func tmplPowers(base uint64, n int) []uint64 {
	p := make([]uint64, n)
	p[0] = 1
	for i := 1; i < n; i++ {
		p[i] = base * p[i-1]
	}
	return p
}

// tmplDigitCount returns the number of decimal digits of v.
func tmplDigitCount(v uint64) int {
	n := bits.Len64(v|1) * 1233 >> 12 // log10(2)·bit length, rounded down: the count or one less
	if v|1 >= tmplPow10[n] {
		n++
	}
	return n
}

// tmplPutDigits writes v in decimal into dst, which has room for exactly its
// digits.
func tmplPutDigits(dst []byte, v uint64) {
	i := len(dst)
	for v >= 10000 {
		q := v / 10000
		r := v - 10000*q
		i -= 4
		binary.LittleEndian.PutUint32(dst[i:], uint32(tmplDigitPairs[r/100])|uint32(tmplDigitPairs[r%100])<<16)
		v = q
	}
	if v >= 100 {
		i -= 2
		binary.LittleEndian.PutUint16(dst[i:], tmplDigitPairs[v%100])
		v /= 100
	}
	if v >= 10 {
		binary.LittleEndian.PutUint16(dst[i-2:], tmplDigitPairs[v])
	} else {
		dst[i-1] = '0' + byte(v)
	}
}

// tmplAppendUint appends v in decimal.
func tmplAppendUint(b []byte, v uint64) []byte {
	n := len(b)
	d := tmplDigitCount(v)
	b = slices.Grow(b, d)[:n+d]
	tmplPutDigits(b[n:], v)
	return b
}

// tmplAppendFraction appends a, a number that is not an integer, with
// 1e-6 <= a < 2^53, in the shortest digits that read back as a (the closest
// to a of those, the even one on a tie), in fixed notation: what JavaScript
// writes for such a number.
//
// The method is exact integer arithmetic. With a = m·2^e (m of 53 bits) and
// s chosen so that a·10^s has 17 or 18 digits before the point, every
// decimal in a's rounding interval (a ± half an ulp; bounds included when m
// is even, as round-half-even parsing then takes them to a) is, scaled by
// 10^s, in [l, u], an interval at least 1.67 wide: so a decimal of 17 digits
// reads back as a. Scaled, a and the bounds are (m, 2m ± 1 or 4m − 1)·5^s
// divided by a power of two, products below 2^109: exact in 128 bits. The
// digits are then dropped from the right, 8, 4, 2 and 1 at a time, while
// [l, u] holds a multiple of the power of ten dropped; the shortest decimals
// are the integers left in [l, u], and the one written is a rounded to that
// precision, kept within [l, u].
func tmplAppendFraction(b []byte, a float64) []byte {
	fb := math.Float64bits(a)
	m := fb&(1<<52-1) | 1<<52
	exp2 := int(fb>>52) - 1023 // floor(log2 a), in [-20, 51]
	e := exp2 - 52             // a = m·2^e
	s := 16 - exp2*78913>>18   // 16 - floor(log10 2^exp2), in [1, 23]
	sh := uint(-(e + s))       // a·10^s = m·5^s / 2^sh; sh in [0, 49] here
	p5 := tmplPow5[s]

	hi, lo := bits.Mul64(m, p5)
	w := hi<<(64-sh) | lo>>sh // floor(a·10^s); for sh = 0, hi is 0 and the shift of hi by 64 gives 0
	d := tmplDecimal{w: w, rem: lo & (1<<sh - 1), half: max(uint64(1)<<sh>>1, 1), zeroBelow: true}

	// The bounds, scaled: (2m ± 1)·5^s / 2^(sh+1); below a power of two,
	// where the ulp under a is half as large, (4m − 1)·5^s / 2^(sh+2).
	inclusive := m&1 == 0
	uhi, ulo := tmplAdd128(hi<<1|lo>>63, lo<<1, p5)
	uq, urem := tmplShr128(uhi, ulo, sh+1)
	lhi, llo, lsh := hi<<1|lo>>63, lo<<1, sh+1
	if m == 1<<52 {
		lhi, llo, lsh = hi<<2|lo>>62, lo<<2, sh+2
	}
	lhi, llo = tmplSub128(lhi, llo, p5)
	lq, lrem := tmplShr128(lhi, llo, lsh)
	d.l, d.u = lq, uq
	if lrem != 0 || !inclusive {
		d.l++
	}
	if urem == 0 && !inclusive {
		d.u--
	}

	// Once 10^8 no longer fits, 10^4, 10^2 and 10 fit at most once each
	// (twice would make 10 times as many fit).
	for d.drop(1e8, 8) {
	}
	d.drop(1e4, 4)
	d.drop(1e2, 2)
	d.drop(10, 1)

	r := d.w
	if d.rem > d.half || d.rem == d.half && (!d.zeroBelow || r&1 == 1) {
		r++
	}
	r = min(max(r, d.l), d.u)

	var buf [20]byte
	digits := buf[:tmplDigitCount(r)]
	tmplPutDigits(digits, r)
	point := len(digits) + d.dropped - s // a = 0.digits × 10^point
	switch {
	case point >= len(digits): // not reached: no integer reads back as a
		b = append(b, digits...)
		for range point - len(digits) {
			b = append(b, '0')
		}
		return b
	case point > 0:
		b = append(b, digits[:point]...)
		b = append(b, '.')
		return append(b, digits[point:]...)
	}
	b = append(b, '0', '.')
	for range -point {
		b = append(b, '0')
	}
	return append(b, digits...)
}

// tmplDecimal is a scaled number while tmplAppendFraction drops its digits:
// w is its integer part, and [l, u] the integers that read back as the
// number, at the same scale.
type tmplDecimal struct {
	l, u, w uint64
	// The part of the number that w leaves out is rem/(2·half) plus less
	// than 1/(2·half), and exactly that when zeroBelow.
	rem, half uint64
	zeroBelow bool
	dropped   int // digits dropped so far
}

// drop divides the scale by p = 10^k when [l, u] holds a multiple of p, and
// reports whether it did.
func (d *tmplDecimal) drop(p uint64, k int) bool {
	u := d.u / p
	if u*p < d.l {
		return false
	}
	q := d.w / p
	d.zeroBelow = d.zeroBelow && d.rem == 0
	d.rem, d.half = d.w-q*p, p/2
	d.l, d.u, d.w = (d.l+p-1)/p, u, q
	d.dropped += k
	return true
}

func tmplAdd128(hi, lo, v uint64) (uint64, uint64) {
	lo, carry := bits.Add64(lo, v, 0)
	return hi + carry, lo
}

func tmplSub128(hi, lo, v uint64) (uint64, uint64) {
	lo, borrow := bits.Sub64(lo, v, 0)
	return hi - borrow, lo
}

// tmplShr128 divides hi:lo by 2^k, 0 < k < 64, when the quotient fits in 64
// bits: the quotient, and the remainder.
func tmplShr128(hi, lo uint64, k uint) (q, rem uint64) {
	return hi<<(64-k) | lo>>k, lo & (1<<k - 1)
}

// tmplAppendNumberExp appends a finite, non-zero f as Number.prototype.toString
// writes it, from its shortest digits and their exponent: the general case of
// tmplAppendNumber.
func tmplAppendNumberExp(b []byte, f float64, bits int) []byte {
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

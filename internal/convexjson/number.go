package convexjson

import (
	"math"
	"strconv"
)

// appendJS appends a finite float as JavaScript's Number.prototype.toString
// (and so JSON.stringify) writes it: the shortest digits that round-trip, in
// plain notation for 1e-6 <= |f| < 1e21 and in exponent notation ("1e+21",
// "1.5e-7") outside it. -0 is written as "0"; callers handle it first.
func appendJS(buf []byte, f float64) []byte {
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		buf = strconv.AppendFloat(buf, f, 'e', -1, 64)
		// Go writes at least two exponent digits ("1e-07"); JavaScript does
		// not. Exponents here are <= -7 or >= 21, so only e-0d needs fixing.
		if n := len(buf); n >= 4 && buf[n-4] == 'e' && buf[n-3] == '-' && buf[n-2] == '0' {
			buf[n-2] = buf[n-1]
			buf = buf[:n-1]
		}
		return buf
	}
	return strconv.AppendFloat(buf, f, 'f', -1, 64)
}

// appendRyu appends a finite float as Rust's serde_json writes an f64 (the
// ryu crate's format64): the shortest round-trip digits d (n of them) with
// decimal exponent kk, meaning 10^(kk-1) <= |f| < 10^kk, laid out as
//
//	0.0 and -0.0                 for zeros
//	ddd000.0                     when the value is an integer and kk <= 16
//	dd.ddd                       when 0 < kk <= 16
//	0.000ddd                     when -5 < kk <= 0
//	de<kk-1>, d.ddde<kk-1>       otherwise (no '+', no leading zeros)
//
// so that the text always shows a float: 1.0, 100.0, 0.1, 1e16, 1e20,
// 1.5e-7, -1.7976931348623157e308.
func appendRyu(buf []byte, f float64) []byte {
	if math.Signbit(f) {
		buf = append(buf, '-')
		f = -f
	}
	if f == 0 {
		return append(buf, "0.0"...)
	}
	// Shortest digits from Go, which picks the same digits as ryu (the
	// shortest string that round-trips, closest to the exact value).
	var scratch [32]byte
	e := strconv.AppendFloat(scratch[:0], f, 'e', -1, 64) // d.ddde±XX
	var digits [17]byte
	n := 0
	i := 0
	for ; e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[n] = e[i]
			n++
		}
	}
	exp := 0 // value = d.ddd × 10^exp
	for _, c := range e[i+2:] {
		exp = 10*exp + int(c-'0')
	}
	if e[i+1] == '-' {
		exp = -exp
	}
	kk := exp + 1
	k := kk - n // value = ddd × 10^k
	switch {
	case k >= 0 && kk <= 16:
		buf = append(buf, digits[:n]...)
		for range k {
			buf = append(buf, '0')
		}
		return append(buf, ".0"...)
	case kk > 0 && kk <= 16:
		buf = append(buf, digits[:kk]...)
		buf = append(buf, '.')
		return append(buf, digits[kk:n]...)
	case kk > -5 && kk <= 0:
		buf = append(buf, "0."...)
		for range -kk {
			buf = append(buf, '0')
		}
		return append(buf, digits[:n]...)
	}
	buf = append(buf, digits[0])
	if n > 1 {
		buf = append(buf, '.')
		buf = append(buf, digits[1:n]...)
	}
	buf = append(buf, 'e')
	return strconv.AppendInt(buf, int64(kk-1), 10)
}

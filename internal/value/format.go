package value

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Format prints a value the way Convex's Rust error messages print a
// ConvexValue (its Display), so that livedb's validation and filter errors read
// like Convex's:
//
//	null                 null
//	Int64                5, -3
//	Float64              5.0, -0.0, 0.1, 1e16, 1e-7, NaN, inf, -inf
//	Boolean              true, false
//	String               "a\"b" (Rust's Debug quoting: \t \r \n \0 \\ \" and
//	                     \u{..} for unprintable or combining characters)
//	Bytes                b"AQID" (standard base64)
//	Array                [1, "x"]
//	Object               {a: 1, b: "x"} (keys in sorted order, unquoted)
//	Undefined            undefined
//
// Floats use Rust's Debug form: the shortest digits that round-trip, with at
// least one fractional digit, in exponent form when the magnitude is at
// least 1e16 or below 1e-4. A [ID] prints as a string. A Go integer of another
// kind prints as the Int64 it normalises to, a float32 as a Float64. An object
// field whose value is Undefined is left out, as it is absent. A Go value that
// is not a Convex value never panics: it prints as <unsupported T>, and a
// string that is not valid UTF-8 shows each bad byte as \x{..}.
func Format(x any) string {
	var b strings.Builder
	formatTo(&b, x)
	return b.String()
}

func formatTo(b *strings.Builder, x any) {
	switch t := x.(type) {
	case undefinedType:
		b.WriteString("undefined")
	case nil:
		b.WriteString("null")
	case int64:
		b.WriteString(strconv.FormatInt(t, 10))
	case float64:
		b.WriteString(FormatFloat(t))
	case float32:
		b.WriteString(FormatFloat(float64(t)))
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case string:
		quoteRust(b, t)
	case ID:
		quoteRust(b, string(t))
	case []byte:
		b.WriteString("b\"")
		b.WriteString(base64.StdEncoding.EncodeToString(t))
		b.WriteByte('"')
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteString(", ")
			}
			formatTo(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		first := true
		for _, k := range SortedKeys(t) {
			e := t[k]
			if IsUndefined(e) {
				continue
			}
			if !first {
				b.WriteString(", ")
			}
			first = false
			b.WriteString(k)
			b.WriteString(": ")
			formatTo(b, e)
		}
		b.WriteByte('}')
	default:
		formatOther(b, x)
	}
}

// formatOther prints Go values that are not canonical: other integer kinds,
// and the slice and map types Normalize accepts.
func formatOther(b *strings.Builder, x any) {
	if i, isInt, err := goInt(x, ""); isInt {
		if err != nil {
			// An unsigned integer beyond Int64: print its digits anyway.
			fmt.Fprintf(b, "%d", x)
			return
		}
		b.WriteString(strconv.FormatInt(i.(int64), 10))
		return
	}
	n, err := Normalize(x)
	if err != nil {
		fmt.Fprintf(b, "<unsupported %T>", x)
		return
	}
	formatTo(b, n)
}

// FormatFloat prints a float64 as Rust's Debug does, which is how Convex prints
// a Float64 in error messages: 5.0, -0.0, 0.1, 123.456, 1e16, 1.5e-5, NaN,
// inf, -inf. The digits are the shortest that round-trip; the exponent form
// is used when the magnitude is at least 1e16 or is non-zero and below 1e-4.
func FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	abs := math.Abs(f)
	sci := abs >= 1e16 || (abs != 0 && abs < 1e-4)
	return FormatFloatDigits(f, func(int) bool { return sci })
}

// FormatFloatDigits prints a finite float64 from its shortest round-trip
// digits, in plain decimal form with at least one fractional digit ("5.0",
// "0.001", "12.5") or, when useExponent(k) reports true for the decimal
// exponent k (the value lies in [10^(k-1), 10^k)), in exponent form ("1e16",
// "1.5e-7"; no '+' and no leading zeros in the exponent). Zero prints as "0.0"
// or "-0.0". It is the common core of Rust's Debug for f64 and of the ryu
// formatting serde_json uses.
func FormatFloatDigits(f float64, useExponent func(k int) bool) string {
	neg := math.Signbit(f)
	sign := ""
	if neg {
		sign = "-"
	}
	if f == 0 {
		return sign + "0.0"
	}
	// strconv's 'e' form with precision -1 gives the shortest digits that
	// round-trip, as "d.ddde±XX".
	s := strconv.FormatFloat(math.Abs(f), 'e', -1, 64)
	mant, expText, _ := strings.Cut(s, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expText)
	k := exp + 1 // 10^(k-1) <= |f| < 10^k
	var b strings.Builder
	b.WriteString(sign)
	switch {
	case useExponent(k):
		b.WriteString(digits[:1])
		if len(digits) > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		b.WriteByte('e')
		b.WriteString(strconv.Itoa(k - 1))
	case k <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -k))
		b.WriteString(digits)
	case k < len(digits):
		b.WriteString(digits[:k])
		b.WriteByte('.')
		b.WriteString(digits[k:])
	default:
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", k-len(digits)))
		b.WriteString(".0")
	}
	return b.String()
}

// quoteRust writes s quoted as Rust's Debug for str does.
func quoteRust(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7F && c != '"' && c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(b, `\x{%02x}`, c)
			i++
			continue
		}
		i += size
		switch r {
		case 0:
			b.WriteString(`\0`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case '\n':
			b.WriteString(`\n`)
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		default:
			if isGraphemeExtend(r) || !unicode.IsPrint(r) {
				fmt.Fprintf(b, `\u{%x}`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// isGraphemeExtend reports whether r has the Unicode Grapheme_Extend property
// (Mn + Me + Other_Grapheme_Extend), which Rust escapes in Debug output.
func isGraphemeExtend(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Other_Grapheme_Extend)
}

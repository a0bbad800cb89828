package value_test

import (
	"math"
	"strconv"
	"testing"

	"github.com/livedb-go/livedb/internal/value"
)

// The expected strings of the float and string cases were produced by Rust
// 1.95's {:?}, which is what ConvexValue's Display uses.
func TestFormat_Scalars(t *testing.T) {
	negNaN := math.Float64frombits(0xFFF8000000000000)
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"null", nil, "null"},
		{"undefined", value.Undefined, "undefined"},
		{"int64", int64(5), "5"},
		{"negative int64", int64(-3), "-3"},
		{"min int64", int64(math.MinInt64), "-9223372036854775808"},
		{"go int", 7, "7"},
		{"go uint8", uint8(255), "255"},
		{"huge uint64", uint64(math.MaxUint64), "18446744073709551615"},
		{"float", 5.0, "5.0"},
		{"float32", float32(1.5), "1.5"},
		{"negative zero", math.Copysign(0, -1), "-0.0"},
		{"zero", 0.0, "0.0"},
		{"nan", math.NaN(), "NaN"},
		{"negative nan", negNaN, "NaN"},
		{"inf", math.Inf(1), "inf"},
		{"negative inf", math.Inf(-1), "-inf"},
		{"1e16", 1e16, "1e16"},
		{"just below 1e16", 9999999999999998.0, "9999999999999998.0"},
		{"1e15", 1e15, "1000000000000000.0"},
		{"1e-4", 0.0001, "0.0001"},
		{"below 1e-4", 0.00009999, "9.999e-5"},
		{"1e-7", 1e-7, "1e-7"},
		{"1.5e-5", 1.5e-5, "1.5e-5"},
		{"decimal", 123.456, "123.456"},
		{"1e300", 1e300, "1e300"},
		{"max float", math.MaxFloat64, "1.7976931348623157e308"},
		{"smallest subnormal", 5e-324, "5e-324"},
		{"0.1", 0.1, "0.1"},
		{"1e21", 1e21, "1e21"},
		{"negative small", -2.5e-10, "-2.5e-10"},
		{"fraction", 12345678.9, "12345678.9"},
		{"true", true, "true"},
		{"false", false, "false"},
		{"string", "x", `"x"`},
		{"id", value.ID("abc"), `"abc"`},
		{"quotes and backslash", "a\"b\\c", `"a\"b\\c"`},
		{"control escapes", "tab\there\nnl\r\x00", `"tab\there\nnl\r\0"`},
		{"unicode printable", "é😀", `"é😀"`},
		{"unprintable and combining", "\u0001\u007f\u0080\u00a0\u200b\u0301x\u0301", `"\u{1}\u{7f}\u{80}\u{a0}\u{200b}\u{301}x\u{301}"`},
		{"single quote", "'single'", `"'single'"`},
		{"format and private use", "\u2028\ufeff\ue000\U0010ffff", `"\u{2028}\u{feff}\u{e000}\u{10ffff}"`},
		{"zwnj and soft hyphen", "\u200c\u00ad", `"\u{200c}\u{ad}"`},
		{"invalid utf8", "a\xffb", `"a\x{ff}b"`},
		{"bytes", []byte{1, 2, 3}, `b"AQID"`},
		{"empty bytes", []byte{}, `b""`},
		{"unsupported", struct{}{}, "<unsupported struct {}>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := value.Format(tc.in); got != tc.want {
				t.Errorf("Format(%#v) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestFormat_Containers(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"empty array", []any{}, "[]"},
		{"array", []any{int64(1), 2.0, "x", nil}, `[1, 2.0, "x", null]`},
		{"nested array", []any{[]any{}, []any{true}}, "[[], [true]]"},
		{"empty object", map[string]any{}, "{}"},
		{"object sorted keys", map[string]any{"b": "x", "a": int64(1)}, `{a: 1, b: "x"}`},
		{"object skips undefined", map[string]any{"a": value.Undefined, "b": 1.5}, "{b: 1.5}"},
		{"nested object", map[string]any{"m": []any{map[string]any{"author": "ann"}}}, `{m: [{author: "ann"}]}`},
		{"string slice", []string{"a", "b"}, `["a", "b"]`},
		{"string map", map[string]string{"k": "v"}, `{k: "v"}`},
		{"undefined in array", []any{value.Undefined}, "[undefined]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := value.Format(tc.in); got != tc.want {
				t.Errorf("Format(%#v) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestFormatFloatDigits_Exponent(t *testing.T) {
	// The ryu rule serde_json uses: plain form for decimal exponents in
	// (-5, 16].
	ryu := func(k int) bool { return k <= -5 || k > 16 }
	tests := []struct {
		in   float64
		want string
	}{
		{1, "1.0"},
		{0.00001, "0.00001"},
		{0.000001, "1e-6"},
		{1e16, "1e16"},
		{1234e30, "1.234e33"},
		{math.Copysign(0, -1), "-0.0"},
		{-12.5, "-12.5"},
	}
	for _, tc := range tests {
		if got := value.FormatFloatDigits(tc.in, ryu); got != tc.want {
			t.Errorf("FormatFloatDigits(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func FuzzFormat(f *testing.F) {
	f.Add("a\"\\\x00\xff\u0301", 1.5, int64(3))
	f.Fuzz(func(t *testing.T, s string, x float64, i int64) {
		doc := map[string]any{"s": s, "x": x, "i": i, "a": []any{s, x}}
		if value.Format(doc) == "" {
			t.Fatal("empty output")
		}
		// Float formatting must round-trip for finite values.
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			got := value.FormatFloat(x)
			back, err := strconv.ParseFloat(got, 64)
			if err != nil || math.Float64bits(back) != math.Float64bits(x) {
				t.Fatalf("FormatFloat(%v) = %s does not round-trip (%v, %v)", x, got, back, err)
			}
		}
	})
}

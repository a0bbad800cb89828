package convexjson_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/internal/value"
)

func MustEncodeExport(t *testing.T, x any) []byte {
	t.Helper()
	b, err := convexjson.EncodeExport(x)
	if err != nil {
		t.Fatalf("EncodeExport(%#v): %v", x, err)
	}
	return b
}

func MustDecodeExport(t *testing.T, b []byte) any {
	t.Helper()
	x, err := convexjson.DecodeExport(b)
	if err != nil {
		t.Fatalf("DecodeExport(%s): %v", b, err)
	}
	return x
}

// Floats as serde_json (ryu) writes them; the first five are Convex's own
// export tests (crates/value/src/export.rs).
var ryuRows = []struct {
	f    float64
	want string
}{
	{0, "0.0"},
	{negZero, "-0.0"},
	{-math.MaxFloat64, "-1.7976931348623157e308"},
	{0x1p-1022, "2.2250738585072014e-308"},
	{5, "5.0"},
	{1, "1.0"},
	{-2.5, "-2.5"},
	{100, "100.0"},
	{123, "123.0"},
	{0.1, "0.1"},
	{0.5, "0.5"},
	{1e15, "1000000000000000.0"},
	{1e16, "1e16"},
	{1e20, "1e20"},
	{1e21, "1e21"},
	{1.2345e16, "1.2345e16"},
	{123456789012345.6, "123456789012345.6"},
	{1234567890123456.7, "1234567890123456.8"},
	{9007199254740992, "9007199254740992.0"},
	{1 << 60, "1.152921504606847e18"},
	{0.0001, "0.0001"},
	{0.00001, "0.00001"},
	{0.000015, "0.000015"},
	{0.000001, "1e-6"},
	{1.5e-6, "1.5e-6"},
	{1.5e-7, "1.5e-7"},
	{5e-324, "5e-324"},
	{math.MaxFloat64, "1.7976931348623157e308"},
	{1699931054642.111, "1699931054642.111"},
	{-1e-300, "-1e-300"},
}

func TestEncodeExport_Floats(t *testing.T) {
	for _, tc := range ryuRows {
		got := MustEncodeExport(t, tc.f)
		if string(got) != tc.want {
			t.Errorf("EncodeExport(%v) = %s, want %s", tc.f, got, tc.want)
		}
		back := MustDecodeExport(t, got)
		if f, ok := back.(float64); !ok || math.Float64bits(f) != math.Float64bits(tc.f) {
			t.Errorf("DecodeExport(%s) = %#v, want float64 %v", got, back, tc.f)
		}
	}
}

func TestEncodeExport_Table(t *testing.T) {
	tests := []struct {
		name string
		x    any
		want string
	}{
		{"Int64", int64(5), "5"},
		{"Int64 negative", int64(-42), "-42"},
		{"Int64 max", int64(math.MaxInt64), "9223372036854775807"},
		{"Int64 min", int64(math.MinInt64), "-9223372036854775808"},
		{"Go int", 7, "7"},
		{"NaN", jsNaN, `{"$float":"AAAAAAAA+H8="}`},
		{"+Inf", math.Inf(1), `{"$float":"AAAAAAAA8H8="}`},
		{"-Inf", math.Inf(-1), `{"$float":"AAAAAAAA8P8="}`},
		{"Bytes", []byte{1, 2, 3}, `{"$bytes":"AQID"}`},
		{"null, bool, string", []any{nil, true, "s\n"}, `[null,true,"s\n"]`},
		{"document", map[string]any{
			"_id": "j57000820c20a1g7104gm2rc1m70ynr8", "_creationTime": 1699931054642.111,
			"count": int64(5), "ratio": 0.5, "blob": []byte{1, 2, 3}, "nan": jsNaN, "neg": negZero,
			"tags": []any{"a", int64(1), 1.0},
		}, `{"_creationTime":1699931054642.111,"_id":"j57000820c20a1g7104gm2rc1m70ynr8","blob":{"$bytes":"AQID"},"count":5,"nan":{"$float":"AAAAAAAA+H8="},"neg":-0.0,"ratio":0.5,"tags":["a",1,1.0]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := MustEncodeExport(t, tc.x)
			if string(got) != tc.want {
				t.Fatalf("EncodeExport = %s, want %s", got, tc.want)
			}
			n, err := value.Normalize(tc.x)
			if err != nil {
				t.Fatal(err)
			}
			assertSame(t, "DecodeExport("+tc.want+")", MustDecodeExport(t, got), n)
		})
	}
}

func TestDecodeExport_Numbers(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"0", int64(0)},
		{"5", int64(5)},
		{"-5", int64(-5)},
		{"9223372036854775807", int64(math.MaxInt64)},
		{"-9223372036854775808", int64(math.MinInt64)},
		{"9223372036854775808", 9223372036854775808.0},
		{"-9223372036854775809", -9223372036854775809.0},
		{"12345678901234567890123", 1.2345678901234568e22},
		{"-0", negZero},
		{"5.0", 5.0},
		{"-0.0", negZero},
		{"1e2", 100.0},
		{"1E2", 100.0},
		{"1e-7", 1e-7},
		{`{"$integer":"BQAAAAAAAAA="}`, int64(5)},
		{`{"$float":"AAAAAAAA8H8="}`, math.Inf(1)},
		{`{"$bytes":"AQID"}`, []byte{1, 2, 3}},
		{`{"a":[1,1.0,{"b":-1}]}`, map[string]any{"a": []any{int64(1), 1.0, map[string]any{"b": int64(-1)}}}},
	}
	for _, tc := range tests {
		got := MustDecodeExport(t, []byte(tc.in))
		assertSame(t, "DecodeExport("+tc.in+")", got, tc.want)
		if f, ok := tc.want.(float64); ok && math.Float64bits(got.(float64)) != math.Float64bits(f) {
			t.Errorf("DecodeExport(%s) bits %x, want %x", tc.in, math.Float64bits(got.(float64)), math.Float64bits(f))
		}
	}
}

func TestDecodeExport_Errors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantErr  error
		wantPath string
		wantMsg  string
	}{
		{"normal float as $float", `{"x":{"$float":"AAAAAAAA8D8="}}`, convexjson.ErrInvalidValue, ".x", "Float 1 should be encoded as a number"},
		{"reserved key", `{"$a":1}`, convexjson.ErrInvalidValue, "", "Field name $a starts with a '$', which is reserved."},
		{"reserved later key", `{"a":1,"$b":1}`, convexjson.ErrInvalidValue, "", "Field name $b starts with a '$', which is reserved."},
		{"undefined", `{"a":{"$undefined":null}}`, convexjson.ErrInvalidValue, ".a", "$undefined is only allowed"},
		{"out of range", `[1e309]`, convexjson.ErrInvalidValue, "[0]", "number 1e309 is out of range for Float64"},
		{"trailing data", `{} {}`, convexjson.ErrSyntax, "", "decode export JSON: unexpected character '{' after the top-level value (offset 3)"},
		{"too nested", nestedText(65, "1"), convexjson.ErrTooNested, strings.Repeat("[0]", 64), "nested more than 64 levels deep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := convexjson.DecodeExport([]byte(tc.in))
			checkErr(t, "DecodeExport", got, err, tc.wantErr, tc.wantPath, tc.wantMsg)
		})
	}
}

func TestEncodeExport_Errors(t *testing.T) {
	_, err := convexjson.EncodeExport(map[string]any{"a": map[string]any{"$b": 1}})
	checkErr(t, "EncodeExport", nil, err, convexjson.ErrInvalidValue, ".a.$b", "encode export JSON: Field name $b starts with a '$', which is reserved. (at path .a.$b)")
}

func TestEncodeExport_RoundTripAllKinds(t *testing.T) {
	values := []any{
		nil, true, "x", int64(0), int64(math.MinInt64), 0.0, negZero, 1.0, 0.1, 1e300, 5e-324,
		jsNaN, math.Float64frombits(0xFFF8000000000123), math.Inf(-1), []byte{}, []byte{9},
		[]any{int64(1), 1.0, []any{}}, map[string]any{"a": map[string]any{"b": []any{int64(-1), -1.0}}},
	}
	for _, x := range values {
		enc := MustEncodeExport(t, x)
		got := MustDecodeExport(t, enc)
		assertSame(t, "DecodeExport(EncodeExport(x)) for "+string(enc), got, x)
		if again := MustEncodeExport(t, got); !bytes.Equal(again, enc) {
			t.Errorf("EncodeExport is not stable: %s then %s", enc, again)
		}
	}
}

// TestEncodeExport_GoldenFloatsShape checks every golden float of
// testdata/convexjs_floats.txt: the export text reads back to the same bits
// and always looks like a float, in ryu's spelling of exponents.
func TestEncodeExport_GoldenFloatsShape(t *testing.T) {
	forLines(t, "testdata/convexjs_floats.txt", func(line string) {
		bitsHex, _, _ := strings.Cut(line, " ")
		var bits uint64
		for _, c := range bitsHex {
			bits = bits<<4 | uint64(strings.IndexRune("0123456789abcdef", c))
		}
		f := math.Float64frombits(bits)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return
		}
		text := string(MustEncodeExport(t, f))
		if !strings.ContainsAny(text, ".e") || strings.Contains(text, "e+") || strings.Contains(text, "e0") || strings.Contains(text, "e-0") {
			t.Errorf("EncodeExport(%v) = %s, not in ryu's float form", f, text)
		}
		back, ok := MustDecodeExport(t, []byte(text)).(float64)
		if !ok || math.Float64bits(back) != bits {
			t.Errorf("DecodeExport(%s) = %v, want bits %x", text, back, bits)
		}
	})
}

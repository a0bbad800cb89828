package convexjson_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/internal/value"
)

// Float values with exact bits. math.NaN() is 0x7FF8000000000001, not
// JavaScript's NaN, so the table spells the bits out.
var (
	jsNaN   = math.Float64frombits(0x7FF8000000000000)
	negZero = math.Copysign(0, -1)
)

// MustEncode encodes x or fails the test.
func MustEncode(t *testing.T, x any) []byte {
	t.Helper()
	b, err := convexjson.Encode(x)
	if err != nil {
		t.Fatalf("Encode(%#v): %v", x, err)
	}
	return b
}

// MustDecode decodes b or fails the test.
func MustDecode(t *testing.T, b []byte) any {
	t.Helper()
	x, err := convexjson.Decode(b)
	if err != nil {
		t.Fatalf("Decode(%s): %v", b, err)
	}
	return x
}

// assertSame fails unless got and want are Equal and of the same Go type.
func assertSame(t *testing.T, what string, got, want any) {
	t.Helper()
	gk, _ := value.KindOf(got)
	wk, _ := value.KindOf(want)
	if gk != wk || !value.Equal(got, want) {
		t.Errorf("%s = %#v (%v), want %#v (%v)", what, got, gk, want, wk)
	}
}

// The rows of the table of docs/semantics.md#convex-json, with the exact
// text Convex produces.
var convexJSONRows = []struct {
	name string
	x    any
	json string
}{
	{"null", nil, `null`},
	{"true", true, `true`},
	{"false", false, `false`},
	{"string", "héllo", `"héllo"`},
	{"Float64 1", 1.0, `1`},
	{"Float64 -1.5", -1.5, `-1.5`},
	{"Float64 +0", 0.0, `0`},
	{"Float64 -0", negZero, `{"$float":"AAAAAAAAAIA="}`},
	{"Float64 NaN", jsNaN, `{"$float":"AAAAAAAA+H8="}`},
	{"Float64 +Inf", math.Inf(1), `{"$float":"AAAAAAAA8H8="}`},
	{"Float64 -Inf", math.Inf(-1), `{"$float":"AAAAAAAA8P8="}`},
	{"Int64 1", int64(1), `{"$integer":"AQAAAAAAAAA="}`},
	{"Int64 -1", int64(-1), `{"$integer":"//////////8="}`},
	{"Int64 0", int64(0), `{"$integer":"AAAAAAAAAAA="}`},
	{"Int64 max", int64(math.MaxInt64), `{"$integer":"/////////38="}`},
	{"Int64 min", int64(math.MinInt64), `{"$integer":"AAAAAAAAAIA="}`},
	{"Bytes 1,2,3", []byte{1, 2, 3}, `{"$bytes":"AQID"}`},
	{"Bytes empty", []byte{}, `{"$bytes":""}`},
	{"Array", []any{int64(1), 2.0, "x", nil}, `[{"$integer":"AQAAAAAAAAA="},2,"x",null]`},
	{"Array empty", []any{}, `[]`},
	{"Object keys sorted", map[string]any{"b": 1.0, "a": []any{}, "B": true, "": "e"}, `{"":"e","B":true,"a":[],"b":1}`},
	{"Object empty", map[string]any{}, `{}`},
}

func TestEncode_ConvexJSONTable(t *testing.T) {
	for _, tc := range convexJSONRows {
		t.Run(tc.name, func(t *testing.T) {
			if got := MustEncode(t, tc.x); string(got) != tc.json {
				t.Errorf("Encode(%#v) = %s, want %s", tc.x, got, tc.json)
			}
		})
	}
}

func TestDecode_ConvexJSONTable(t *testing.T) {
	for _, tc := range convexJSONRows {
		t.Run(tc.name, func(t *testing.T) {
			got := MustDecode(t, []byte(tc.json))
			assertSame(t, "Decode("+tc.json+")", got, tc.x)
			if f, ok := tc.x.(float64); ok && math.Float64bits(got.(float64)) != math.Float64bits(f) {
				t.Errorf("Decode(%s) bits %x, want %x", tc.json, math.Float64bits(got.(float64)), math.Float64bits(f))
			}
		})
	}
}

func TestDecode_PlainNumbersAreFloat64(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"1", 1}, {"-0", negZero}, {"0.5", 0.5}, {"1e2", 100}, {"1E-2", 0.01}, {"-2.5e+3", -2500},
		{"9007199254740993", 9007199254740992}, // rounds to nearest even, like JSON.parse
		{"12345678901234567890123", 1.2345678901234568e22},
		{"1e-400", 0},
	}
	for _, tc := range tests {
		got := MustDecode(t, []byte(tc.in))
		f, ok := got.(float64)
		if !ok || math.Float64bits(f) != math.Float64bits(tc.want) {
			t.Errorf("Decode(%s) = %#v, want float64 %v", tc.in, got, tc.want)
		}
	}
}

// TestEncode_JavaScriptGolden compares Encode with convexToJson +
// JSON.stringify of Convex's npm package (testdata/gen_convexjs.mjs).
func TestEncode_JavaScriptGolden(t *testing.T) {
	t.Run("floats", func(t *testing.T) {
		n := 0
		forLines(t, "testdata/convexjs_floats.txt", func(line string) {
			bitsHex, want, ok := strings.Cut(line, " ")
			bits, err := strconv.ParseUint(bitsHex, 16, 64)
			if !ok || err != nil {
				t.Fatalf("bad golden line %q", line)
			}
			f := math.Float64frombits(bits)
			if got := MustEncode(t, f); string(got) != want {
				t.Errorf("Encode(%x = %v) = %s, want %s", bits, f, got, want)
			}
			back := MustDecode(t, []byte(want)).(float64)
			if math.Float64bits(back) != bits {
				t.Errorf("Decode(%s) bits %x, want %x", want, math.Float64bits(back), bits)
			}
			n++
		})
		if n < 3000 {
			t.Fatalf("only %d golden floats", n)
		}
	})
	t.Run("values", func(t *testing.T) {
		forLines(t, "testdata/convexjs_values.txt", func(line string) {
			if got := MustEncode(t, MustDecode(t, []byte(line))); string(got) != line {
				t.Errorf("Encode(Decode(%s)) = %s", line, got)
			}
		})
	})
}

func forLines(t *testing.T, path string, f func(string)) {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		f(sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestEncode_RoundTripAllKinds(t *testing.T) {
	values := []any{
		nil, true, false, "", "a\x00\"\\\n\u2028😀", int64(math.MinInt64), int64(42),
		0.1, 5e-324, math.MaxFloat64, -math.SmallestNonzeroFloat64, 1e21, 1e-7,
		math.Float64frombits(0x7FF8000000000001), math.Float64frombits(0xFFF0000000000001), negZero,
		[]byte{}, []byte{0, 0xFF}, []any{[]any{[]any{}}}, map[string]any{"x": map[string]any{"y": []any{int64(1), 1.0}}},
		map[string]any{"_id": "j57000820c20a1g7104gm2rc1m70ynr8", "_creationTime": 1699931054642.111, "n": int64(-5)},
	}
	for _, x := range values {
		enc := MustEncode(t, x)
		got := MustDecode(t, enc)
		assertSame(t, "Decode(Encode(x)) for "+string(enc), got, x)
		if again := MustEncode(t, got); !bytes.Equal(again, enc) {
			t.Errorf("Encode is not stable: %s then %s", enc, again)
		}
	}
}

func TestEncode_NonCanonicalInput(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"int", 7, `{"$integer":"BwAAAAAAAAA="}`},
		{"uint8", uint8(255), `{"$integer":"/wAAAAAAAAA="}`},
		{"float32", float32(0.5), `0.5`},
		{"ID", value.ID("j57000820c20a1g7104gm2rc1m70ynr8"), `"j57000820c20a1g7104gm2rc1m70ynr8"`},
		{"[]string", []string{"a", "b"}, `["a","b"]`},
		{"[]int64", []int64{1}, `[{"$integer":"AQAAAAAAAAA="}]`},
		{"map[string]string", map[string]string{"b": "2", "a": "1"}, `{"a":"1","b":"2"}`},
		{"[]map[string]any", []map[string]any{{"a": 1}}, `[{"a":{"$integer":"AQAAAAAAAAA="}}]`},
		{"undefined field dropped", map[string]any{"a": value.Undefined, "b": nil}, `{"b":null}`},
		{"nested Go ints", map[string]any{"a": []any{int32(-1)}}, `{"a":[{"$integer":"//////////8="}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MustEncode(t, tc.in); string(got) != tc.want {
				t.Errorf("Encode(%#v) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

// nested returns depth arrays around inner.
func nested(depth int, inner any) any {
	x := inner
	for range depth {
		x = []any{x}
	}
	return x
}

func nestedText(depth int, inner string) string {
	return strings.Repeat("[", depth) + inner + strings.Repeat("]", depth)
}

func TestEncode_Errors(t *testing.T) {
	cyclic := []any{nil}
	cyclic[0] = cyclic
	type point struct{ X int }
	tests := []struct {
		name     string
		in       any
		wantErr  error
		wantPath string
		wantMsg  string
	}{
		{"invalid UTF-8 string", map[string]any{"a": []any{"ok", "\xff"}}, convexjson.ErrInvalidValue, ".a[1]", "encode Convex JSON: string is not valid UTF-8 (at path .a[1])"},
		{"dollar field name", map[string]any{"x": map[string]any{"$bytes": "AQID"}}, convexjson.ErrInvalidValue, ".x.$bytes", "Field name $bytes starts with a '$', which is reserved."},
		{"invalid UTF-8 field name", map[string]any{"\xff": 1.0}, convexjson.ErrInvalidValue, ".\xff", "is not valid UTF-8"},
		{"undefined at top level", value.Undefined, convexjson.ErrInvalidValue, "", "encode Convex JSON: undefined is not a valid Convex value"},
		{"undefined in array", []any{1.0, value.Undefined}, convexjson.ErrInvalidValue, "[1]", "undefined is not a valid Convex value (at path [1])"},
		{"unsupported type", map[string]any{"p": point{1}}, convexjson.ErrInvalidValue, ".p", "convexjson_test.point is not a supported Convex type"},
		{"uint64 overflow", map[string]any{"n": []any{uint64(math.MaxUint64)}}, convexjson.ErrInvalidValue, ".n[0]", "does not fit into a 64-bit signed integer"},
		{"too nested", nested(65, nil), convexjson.ErrTooNested, strings.Repeat("[0]", 64), "nested more than 64 levels deep"},
		{"too nested object", map[string]any{"a": nested(63, map[string]any{})}, convexjson.ErrTooNested, ".a" + strings.Repeat("[0]", 63), "nested more than 64 levels deep"},
		{"cyclic", cyclic, convexjson.ErrTooNested, strings.Repeat("[0]", 64), "nested more than 64 levels deep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := convexjson.Encode(tc.in)
			checkErr(t, "Encode", got, err, tc.wantErr, tc.wantPath, tc.wantMsg)
		})
	}
}

func checkErr(t *testing.T, op string, got any, err, wantErr error, wantPath, wantMsg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s = %v, want error", op, got)
	}
	if !errors.Is(err, wantErr) {
		t.Errorf("%s error %v does not match %v", op, err, wantErr)
	}
	var ce *convexjson.Error
	if !errors.As(err, &ce) {
		t.Fatalf("%s error %T is not a *convexjson.Error", op, err)
	}
	if ce.Path != wantPath {
		t.Errorf("%s error path %q, want %q (error: %v)", op, ce.Path, wantPath, err)
	}
	if !strings.Contains(err.Error(), wantMsg) {
		t.Errorf("%s error %q does not contain %q", op, err.Error(), wantMsg)
	}
}

func TestEncode_MaxNesting(t *testing.T) {
	for _, x := range []any{nested(64, nil), nested(63, map[string]any{}), nested(64, int64(1)), nested(64, []byte{1})} {
		enc := MustEncode(t, x)
		assertSame(t, "Decode(Encode(64 levels))", MustDecode(t, enc), x)
	}
}

func TestDecode_Errors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantErr  error
		wantPath string
		wantMsg  string
	}{
		// Syntax.
		{"empty", ``, convexjson.ErrSyntax, "", "unexpected end of input, expected a value (offset 0)"},
		{"whitespace only", " \n", convexjson.ErrSyntax, "", "unexpected end of input"},
		{"trailing garbage", `{"a":1} x`, convexjson.ErrSyntax, "", "unexpected character 'x' after the top-level value (offset 8)"},
		{"two values", `1 2`, convexjson.ErrSyntax, "", "after the top-level value"},
		{"unterminated array", `[1,2`, convexjson.ErrSyntax, "", "expected ',' or ']'"},
		{"trailing comma in array", `[1,]`, convexjson.ErrSyntax, "[1]", "expected a value"},
		{"trailing comma in object", `{"a":1,}`, convexjson.ErrSyntax, "", "expected a field name"},
		{"missing colon", `{"a" 1}`, convexjson.ErrSyntax, "", "expected ':' after field name"},
		{"unquoted key", `{a:1}`, convexjson.ErrSyntax, "", "expected a field name"},
		{"bad literal", `[tru]`, convexjson.ErrSyntax, "[0]", "invalid literal, expected true"},
		{"NaN literal", `NaN`, convexjson.ErrSyntax, "", "expected a value"},
		{"leading zero", `01`, convexjson.ErrSyntax, "", "after the top-level value"},
		{"plus sign", `+1`, convexjson.ErrSyntax, "", "expected a value"},
		{"bare minus", `-`, convexjson.ErrSyntax, "", "expected a digit"},
		{"no fraction digits", `1.`, convexjson.ErrSyntax, "", "after decimal point"},
		{"no exponent digits", `1e+`, convexjson.ErrSyntax, "", "in exponent"},
		{"leading dot", `.5`, convexjson.ErrSyntax, "", "expected a value"},
		{"unterminated string", `"abc`, convexjson.ErrSyntax, "", "unterminated string"},
		{"control character in string", "\"a\nb\"", convexjson.ErrSyntax, "", "control character 0x0a in string"},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", convexjson.ErrSyntax, ".a", "invalid UTF-8 in string"},
		{"invalid UTF-8 after escape", "\"\\n\xc3\"", convexjson.ErrSyntax, "", "invalid UTF-8 in string"},
		{"bad escape", `"\x"`, convexjson.ErrSyntax, "", `invalid escape \x`},
		{"bad unicode escape", `"\u12g4"`, convexjson.ErrSyntax, "", `invalid \u escape`},
		// Not a Convex value.
		{"lone high surrogate", `"\ud83d"`, convexjson.ErrInvalidValue, "", `lone surrogate in string (\ud83d)`},
		{"lone low surrogate", `["\ude00x"]`, convexjson.ErrInvalidValue, "[0]", `lone surrogate`},
		{"high surrogate then letter", `"\ud83d\u0041"`, convexjson.ErrInvalidValue, "", `lone surrogate`},
		{"number out of range", `{"a":[1e400]}`, convexjson.ErrInvalidValue, ".a[0]", "number 1e400 is out of range for Float64"},
		{"reserved field name", `{"a":{"$foo":1}}`, convexjson.ErrInvalidValue, ".a", "Field name $foo starts with a '$', which is reserved."},
		{"reserved second field", `{"a":1,"$b":2}`, convexjson.ErrInvalidValue, "", "Field name $b starts with a '$', which is reserved."},
		{"special with two fields", `{"$integer":"AQAAAAAAAAA=","a":1}`, convexjson.ErrInvalidValue, "", "$integer must be the only field of its object"},
		{"set", `{"$set":[]}`, convexjson.ErrInvalidValue, "", "$set is no longer supported"},
		{"map", `{"$map":[]}`, convexjson.ErrInvalidValue, "", "$map is no longer supported"},
		{"integer not a string", `{"$integer":1}`, convexjson.ErrInvalidValue, "", "the value of $integer must be a string"},
		{"integer too short", `{"$integer":"AQAAAAAAAA=="}`, convexjson.ErrInvalidValue, "", "Received 7 bytes, expected 8 for $integer"},
		{"integer bad base64", `{"$integer":"AQAAAAAAAAA"}`, convexjson.ErrInvalidValue, "", "invalid base64 in $integer"},
		{"float normal", `{"$float":"AAAAAAAA8D8="}`, convexjson.ErrInvalidValue, "", "Float 1 should be encoded as a number"},
		{"float plus zero", `{"$float":"AAAAAAAAAAA="}`, convexjson.ErrInvalidValue, "", "Float 0 should be encoded as a number"},
		{"float subnormal", `{"$float":"AQAAAAAAAAA="}`, convexjson.ErrInvalidValue, "", "Float 5e-324 should be encoded as a number"},
		{"float wrong length", `{"$float":"AAAA"}`, convexjson.ErrInvalidValue, "", "Received 3 bytes, expected 8 for $float"},
		{"bytes unpadded", `{"$bytes":"AQI"}`, convexjson.ErrInvalidValue, "", "invalid base64 in $bytes"},
		{"bytes non-zero trailing bits", `{"$bytes":"AQJ="}`, convexjson.ErrInvalidValue, "", "invalid base64 in $bytes"},
		{"bytes with line break", "{\"$bytes\":\"AQ\nID\"}", convexjson.ErrSyntax, "", "control character"},
		{"bytes with escaped line break", `{"$bytes":"AQ\nID"}`, convexjson.ErrInvalidValue, "", "line break in base64 text"},
		{"bytes URL alphabet", `{"$bytes":"_-8="}`, convexjson.ErrInvalidValue, "", "invalid base64 in $bytes"},
		{"undefined outside patch", `{"a":{"$undefined":null}}`, convexjson.ErrInvalidValue, ".a", "$undefined is only allowed as the value of a top-level field of a patch"},
		{"duplicate field", `{"a":1,"b":2,"a":3}`, convexjson.ErrInvalidValue, "", `duplicate field name "a"`},
		// Nesting.
		{"65 arrays", nestedText(65, ""), convexjson.ErrTooNested, strings.Repeat("[0]", 64), "nested more than 64 levels deep"},
		{"64 arrays around an object", nestedText(64, "{}"), convexjson.ErrTooNested, strings.Repeat("[0]", 64), "nested more than 64 levels deep"},
		{"deep garbage", strings.Repeat("[", 100000), convexjson.ErrTooNested, strings.Repeat("[0]", 64), "nested more than 64 levels deep"},
		{"deep objects", strings.Repeat(`{"a":`, 100000), convexjson.ErrTooNested, strings.Repeat(".a", 64), "nested more than 64 levels deep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := convexjson.Decode([]byte(tc.in))
			checkErr(t, "Decode", got, err, tc.wantErr, tc.wantPath, tc.wantMsg)
		})
	}
}

func TestDecode_MaxNesting(t *testing.T) {
	for _, in := range []string{
		nestedText(64, ""), nestedText(64, "1"), nestedText(63, "{}"),
		nestedText(64, `{"$integer":"AQAAAAAAAAA="}`), nestedText(64, `{"$bytes":""}`),
	} {
		x := MustDecode(t, []byte(in))
		if got := MustEncode(t, x); !bytes.Equal(got, []byte(in)) {
			t.Errorf("Encode(Decode(%s)) = %s", in, got)
		}
	}
}

func TestDecode_Whitespace(t *testing.T) {
	in := " \t\r\n{ \"b\" : [ 1 , { \"$integer\" : \"AQAAAAAAAAA=\" } ] , \"a\" : \"x\\u00e9\\ud83d\\ude00\\/\" } \n"
	got := MustDecode(t, []byte(in))
	want := map[string]any{"a": "xé😀/", "b": []any{1.0, int64(1)}}
	assertSame(t, "Decode", got, want)
}

func TestEncodePatch_Undefined(t *testing.T) {
	patch := map[string]any{"gone": value.Undefined, "kept": int64(2), "nested": map[string]any{"u": value.Undefined}}
	got, err := convexjson.EncodePatch(patch)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"gone":{"$undefined":null},"kept":{"$integer":"AgAAAAAAAAA="},"nested":{}}`
	if string(got) != want {
		t.Fatalf("EncodePatch = %s, want %s", got, want)
	}
	back, err := convexjson.DecodePatch(got)
	if err != nil {
		t.Fatal(err)
	}
	if !value.IsUndefined(back["gone"]) || len(back) != 3 {
		t.Errorf("DecodePatch(%s) = %#v, want gone: Undefined", got, back)
	}
	assertSame(t, "kept", back["kept"], int64(2))
	if empty, err := convexjson.EncodePatch(nil); err != nil || string(empty) != "{}" {
		t.Errorf("EncodePatch(nil) = %s, %v; want {}", empty, err)
	}
	// Encode (not a patch) drops undefined fields instead.
	if plain := MustEncode(t, patch); string(plain) != `{"kept":{"$integer":"AgAAAAAAAAA="},"nested":{}}` {
		t.Errorf("Encode(patch) = %s", plain)
	}
}

func TestDecodePatch_Errors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantErr  error
		wantPath string
		wantMsg  string
	}{
		{"not an object", `[{"$undefined":null}]`, convexjson.ErrInvalidValue, "[0]", "$undefined is only allowed"},
		{"array", `[]`, convexjson.ErrInvalidValue, "", "decode Convex JSON patch: a patch must be an object, not Array"},
		{"special at top level", `{"$integer":"AQAAAAAAAAA="}`, convexjson.ErrInvalidValue, "", "a patch must be an object, not Int64"},
		{"undefined at top level", `{"$undefined":null}`, convexjson.ErrInvalidValue, "", "$undefined is only allowed"},
		{"nested undefined", `{"a":{"b":{"$undefined":null}}}`, convexjson.ErrInvalidValue, ".a.b", "$undefined is only allowed"},
		{"undefined not null", `{"a":{"$undefined":1}}`, convexjson.ErrInvalidValue, ".a", "$undefined must be null"},
		{"encode dollar key", `{"$set":1}`, convexjson.ErrInvalidValue, "", "$set is no longer supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := convexjson.DecodePatch([]byte(tc.in))
			checkErr(t, "DecodePatch", got, err, tc.wantErr, tc.wantPath, tc.wantMsg)
		})
	}
	if _, err := convexjson.EncodePatch(map[string]any{"$a": value.Undefined}); !errors.Is(err, convexjson.ErrInvalidValue) {
		t.Errorf("EncodePatch($a) error = %v, want ErrInvalidValue", err)
	}
}

func TestError_Message(t *testing.T) {
	_, err := convexjson.Decode([]byte(`{"a":[1,{"$float":"AAAAAAAA8D8="}]}`))
	const want = "decode Convex JSON: Float 1 should be encoded as a number (at path .a[1], offset 18)"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
}

func TestDecode_BytesHex(t *testing.T) {
	// The $bytes form is standard base64, the alphabet with + and /.
	got := MustDecode(t, []byte(`{"$bytes":"+/8A"}`))
	if hex.EncodeToString(got.([]byte)) != "fbff00" {
		t.Errorf("Decode($bytes +/8A) = %x, want fbff00", got)
	}
}

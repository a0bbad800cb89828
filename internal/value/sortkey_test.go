package value_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/value"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAppendKey_Golden pins the bytes of Convex's sort keys
// (crates/value/src/sorting.rs).
func TestAppendKey_Golden(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"undefined", value.Undefined, "01"},
		{"null", nil, "03"},
		{"zero", int64(0), "08"},
		{"one", int64(1), "09 01"},
		{"minus one", int64(-1), "07 ff"},
		{"int8 min", int64(-128), "07 80"},
		{"int8 max", int64(127), "09 7f"},
		{"128", int64(128), "0a 0080"},
		{"-129", int64(-129), "06 ff7f"},
		{"32768", int64(32768), "0b 00008000"},
		{"int32 min", int64(math.MinInt32), "05 80000000"},
		{"2^31", int64(math.MaxInt32 + 1), "0c 0000000080000000"},
		{"int64 min", int64(math.MinInt64), "04 8000000000000000"},
		{"int64 max", int64(math.MaxInt64), "0c 7fffffffffffffff"},
		{"+0", 0.0, "0d 8000000000000000"},
		{"-0", negZero, "0d 7fffffffffffffff"},
		{"1.0", 1.0, "0d bff0000000000000"},
		{"-Inf", math.Inf(-1), "0d 000fffffffffffff"},
		{"NaN", nan(0x7FF8000000000000), "0d fff8000000000000"},
		{"false", false, "0e"},
		{"true", true, "0f"},
		{"empty string", "", "10 00"},
		{"string with NUL", "a\x00b", "10 61 00ff 62 00"},
		{"ID", value.ID("ab"), "10 6162 00"},
		{"empty bytes", []byte{}, "11 00"},
		{"nil bytes", []byte(nil), "11 00"},
		{"bytes NUL", []byte{0}, "11 00ff 00"},
		{"empty array", []any{}, "12 00"},
		{"array", []any{nil, int64(1)}, "12 03 0901 00"},
		{"empty object", obj{}, "15 00"},
		{"object", obj{"b": true, "a": nil}, "15 6100 03 6200 0f 00"},
		{"empty field name", obj{"": nil, "a": false}, "15 00ff 03 6100 0e 00"},
		{"Go int", 5, "09 05"},
		{"Go uint8", uint8(200), "0a 00c8"},
		{"float32", float32(1), "0d bff0000000000000"},
		{"uint64 overflow", uint64(math.MaxUint64), "fe"},
		{"unsupported", struct{}{}, "fe"},
		{"[]string", []string{"a"}, "12 10 6100 00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := value.AppendKey(nil, tc.in), mustHex(t, tc.want); !bytes.Equal(got, want) {
				t.Fatalf("AppendKey(%#v) = % x, want % x", tc.in, got, want)
			}
		})
	}
}

func TestAppendKey_Appends(t *testing.T) {
	dst := []byte{0xAA}
	got := value.AppendKey(dst, int64(1))
	if !bytes.Equal(got, []byte{0xAA, 0x09, 0x01}) {
		t.Fatalf("got % x", got)
	}
}

func TestKey_Tuple_ConcatenatesAndOrders(t *testing.T) {
	k := value.Key("wf1", "running", 1699931054642.111, value.ID("s1"))
	var want []byte
	for _, x := range []any{"wf1", "running", 1699931054642.111, "s1"} {
		want = value.AppendKey(want, x)
	}
	if !bytes.Equal(k, want) {
		t.Fatalf("Key = % x, want % x", k, want)
	}
	// A tuple with a missing field (undefined) sorts before one with null,
	// and a shorter tuple before its extensions.
	ordered := [][]byte{
		value.Key("a"),
		value.Key("a", value.Undefined),
		value.Key("a", value.Undefined, int64(1)),
		value.Key("a", nil),
		value.Key("a", int64(-1)),
		value.Key("a", 0.0),
		value.Key("a\x00"),
		value.Key("ab"),
		value.Key(obj{}, nil),
		value.Key(obj{"": nil}),
	}
	for i := 1; i < len(ordered); i++ {
		if bytes.Compare(ordered[i-1], ordered[i]) >= 0 {
			t.Fatalf("tuple %d (% x) does not sort before tuple %d (% x)", i-1, ordered[i-1], i, ordered[i])
		}
	}
	if len(value.Key()) != 0 {
		t.Fatal("Key() must be empty")
	}
}

func TestDecodeKey_OrderedValues_RoundTrip(t *testing.T) {
	for _, x := range append(orderedValues(), experimentValues()...) {
		k := value.AppendKey(nil, x)
		got, rest, err := value.DecodeKey(append(k, 0x08, 0x09))
		if err != nil {
			t.Fatalf("DecodeKey(% x) of %#v: %v", k, x, err)
		}
		if !bytes.Equal(rest, []byte{0x08, 0x09}) {
			t.Fatalf("rest = % x", rest)
		}
		mustSameValue(t, x, got)
	}
}

func TestDecodeKey_Decoded_TypesAndNonNil(t *testing.T) {
	tests := []struct {
		in   any
		want any
	}{
		{value.ID("x"), "x"},
		{[]byte(nil), []byte{}},
		{[]any(nil), []any{}},
		{obj(nil), obj{}},
		{7, int64(7)},
	}
	for _, tc := range tests {
		got, _, err := value.DecodeKey(value.AppendKey(nil, tc.in))
		if err != nil {
			t.Fatal(err)
		}
		mustSameValue(t, tc.want, got)
	}
}

func TestDecodeKey_DoesNotAlias(t *testing.T) {
	k := value.AppendKey(nil, []any{"abc", []byte("xyz")})
	got, _, err := value.DecodeKey(k)
	if err != nil {
		t.Fatal(err)
	}
	for i := range k {
		k[i] = 0
	}
	if !value.Equal(got, []any{"abc", []byte("xyz")}) {
		t.Fatalf("decoded value changed with its input: %#v", got)
	}
}

func TestDecodeKey_Malformed_Error(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"unknown tag", "02"},
		{"escape as tag", "ff"},
		{"invalid marker", "fe"},
		{"terminator as tag", "00"},
		{"truncated int", "0a 00"},
		{"non-minimal positive", "0a 0001"},
		{"non-minimal negative", "06 ffff"},
		{"sign mismatch", "09 80"},
		{"zero with width", "09 00"},
		{"negative tag positive payload", "04 0000000000000001"},
		{"truncated float", "0d 8000"},
		{"unterminated string", "10 6162"},
		{"invalid UTF-8", "10 ff 00"},
		{"unterminated array", "12 03"},
		{"unterminated object", "15 6100 03"},
		{"object missing value", "15 6100"},
		{"fields out of order", "15 6200 03 6100 03 00"},
		{"duplicate field", "15 6100 03 6100 03 00"},
		{"empty name after another", "15 6100 03 00ff 03 00"},
		{"NUL in field name", "15 61 00ff 00 03 00"},
		{"bad element", "12 02 00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, _, err := value.DecodeKey(mustHex(t, tc.in))
			if !errors.Is(err, value.ErrMalformedKey) {
				t.Fatalf("DecodeKey(%s) = %#v, %v; want ErrMalformedKey", tc.in, x, err)
			}
		})
	}
}

func TestDecodeKey_TooDeep_Error(t *testing.T) {
	var x any = int64(1)
	for range value.MaxNesting {
		x = []any{x}
	}
	if _, _, err := value.DecodeKey(value.AppendKey(nil, x)); err != nil {
		t.Fatalf("nesting %d: %v", value.MaxNesting, err)
	}
	k := value.AppendKey(nil, []any{x})
	if _, _, err := value.DecodeKey(k); !errors.Is(err, value.ErrMalformedKey) {
		t.Fatalf("nesting %d: err = %v, want ErrMalformedKey", value.MaxNesting+1, err)
	}
	deep := bytes.Repeat([]byte{0x12}, 1<<20)
	if _, _, err := value.DecodeKey(deep); err == nil {
		t.Fatal("a million open arrays must not decode")
	}
}

func TestDecodeTuple_RoundTrip(t *testing.T) {
	in := []any{"wf", value.Undefined, nil, 1.5, int64(-3), obj{"": []any{}}}
	got, err := value.DecodeTuple(value.Key(in...))
	if err != nil {
		t.Fatal(err)
	}
	mustSameValue(t, in, got)
	empty, err := value.DecodeTuple(nil)
	if err != nil || empty == nil || len(empty) != 0 {
		t.Fatalf("DecodeTuple(nil) = %#v, %v; want empty non-nil", empty, err)
	}
	if _, err := value.DecodeTuple(append(value.Key("a"), 0x0a)); !errors.Is(err, value.ErrMalformedKey) {
		t.Fatalf("truncated tuple: err = %v", err)
	}
}

func TestPrefixSuccessor_Cases(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"ff", ""},
		{"ffff", ""},
		{"01", "02"},
		{"0102", "0103"},
		{"01ff", "02"},
		{"10 6100 ffff", "10 6101"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			in := mustHex(t, tc.in)
			orig := bytes.Clone(in)
			got := value.PrefixSuccessor(in)
			if tc.want == "" {
				if got != nil {
					t.Fatalf("PrefixSuccessor(% x) = % x, want nil", in, got)
				}
				return
			}
			if want := mustHex(t, tc.want); !bytes.Equal(got, want) {
				t.Fatalf("PrefixSuccessor(% x) = % x, want % x", in, got, want)
			}
			if !bytes.Equal(in, orig) {
				t.Fatal("PrefixSuccessor modified its input")
			}
		})
	}
}

// TestPrefixSuccessor_BoundsPrefixRange checks that every key with the
// prefix sorts before the successor and that the successor itself does not
// have the prefix.
func TestPrefixSuccessor_BoundsPrefixRange(t *testing.T) {
	prefix := value.Key("wf1")
	end := value.PrefixSuccessor(prefix)
	for _, x := range orderedValues() {
		k := value.Key("wf1", x)
		if bytes.Compare(k, prefix) < 0 || bytes.Compare(k, end) >= 0 {
			t.Fatalf("key % x is outside [% x, % x)", k, prefix, end)
		}
	}
	if bytes.HasPrefix(end, prefix) {
		t.Fatal("successor has the prefix")
	}
	if bytes.Compare(value.Key("wf2"), end) < 0 || bytes.Compare(value.Key("wf1", nil), end) >= 0 {
		t.Fatal("successor does not separate wf1 tuples from wf2")
	}
	// Convex's quirk, kept on purpose: a string that continues the prefix's
	// last element past a 0x00 is inside the range too.
	if k := value.Key("wf1\x00x"); bytes.Compare(k, prefix) < 0 || bytes.Compare(k, end) >= 0 {
		t.Fatal(`Key("wf1\x00x") must fall inside the prefix range, as in Convex`)
	}
}

package value_test

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/livedb-go/livedb/internal/value"
)

func TestEncode_Golden(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"null", nil, "01"},
		{"false", false, "02"},
		{"true", true, "03"},
		{"undefined", value.Undefined, "0a"},
		{"zero", int64(0), "04 00"},
		{"minus one", int64(-1), "04 01"},
		{"one", int64(1), "04 02"},
		{"64", int64(64), "04 8001"},
		{"int64 min", int64(math.MinInt64), "04 ffffffffffffffffff01"},
		{"-0", negZero, "05 0000000000000080"},
		{"1.0", 1.0, "05 000000000000f03f"},
		{"string", "ab", "06 02 6162"},
		{"ID", value.ID("ab"), "06 02 6162"},
		{"nil bytes", []byte(nil), "07 00"},
		{"bytes", []byte{0, 0xFF}, "07 02 00ff"},
		{"array", []any{nil, int64(1)}, "08 02 01 0402"},
		{"object sorted", obj{"b": true, "a": nil, "": false}, "09 03 00 02 01 61 01 01 62 03"},
		{"Go int", 3, "04 06"},
		{"float32", float32(1), "05 000000000000f03f"},
		{"uint64 overflow", uint64(math.MaxUint64), "fe"},
		{"unsupported", struct{}{}, "fe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := value.Encode(tc.in), mustHex(t, tc.want); !bytes.Equal(got, want) {
				t.Fatalf("Encode(%#v) = % x, want % x", tc.in, got, want)
			}
		})
	}
}

func TestDecode_OrderedValues_RoundTripExact(t *testing.T) {
	for _, x := range append(orderedValues(), experimentValues()...) {
		enc := value.Encode(x)
		got, err := value.Decode(enc)
		if err != nil {
			t.Fatalf("Decode(% x) of %#v: %v", enc, x, err)
		}
		mustSameValue(t, x, got)
		if f, ok := x.(float64); ok && math.Float64bits(f) != math.Float64bits(got.(float64)) {
			t.Fatalf("float bits changed: %x -> %x", math.Float64bits(f), math.Float64bits(got.(float64)))
		}
	}
}

func TestDecode_Document_RoundTrip(t *testing.T) {
	doc := newDoc(obj{
		"workflowId": value.ID("k57000820c20a1g7104gm2rc1m70ynr8"),
		"status":     "running",
		"tags":       []any{"a", int64(-5), []byte(nil), obj{}},
		"meta":       obj{"": nil, "n": math.Inf(-1)},
	})
	got, err := value.Decode(value.Encode(doc))
	if err != nil {
		t.Fatal(err)
	}
	mustSameValue(t, doc, got)
	m := got.(obj)
	if b := m["tags"].([]any)[2].([]byte); b == nil || len(b) != 0 {
		t.Fatalf("nil bytes decode as %#v, want []byte{}", b)
	}
}

func TestEncode_Deterministic(t *testing.T) {
	a := obj{}
	b := obj{}
	for i := range 100 {
		k := string(rune('a'+i%26)) + string(rune('a'+i/26))
		a[k] = int64(i)
	}
	for k, v := range a {
		b[k] = v
	}
	if !bytes.Equal(value.Encode(a), value.Encode(b)) {
		t.Fatal("equal objects encode differently")
	}
}

func TestAppendEncoded_Appends(t *testing.T) {
	got := value.AppendEncoded([]byte{0xAA}, true)
	if !bytes.Equal(got, []byte{0xAA, 0x03}) {
		t.Fatalf("got % x", got)
	}
}

func TestDecode_DoesNotAlias(t *testing.T) {
	enc := value.Encode(obj{"s": "hello", "b": []byte("xyz")})
	got, err := value.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range enc {
		enc[i] = 0
	}
	if !value.Equal(got, obj{"s": "hello", "b": []byte("xyz")}) {
		t.Fatalf("decoded value changed with its input: %#v", got)
	}
}

func TestDecode_Malformed_Error(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"unknown tag", "00"},
		{"invalid marker", "fe"},
		{"trailing bytes", "01 01"},
		{"truncated int", "04"},
		{"truncated uvarint", "04 80"},
		{"uvarint overflow", "04 ffffffffffffffffff02"},
		{"non-minimal uvarint", "04 8000"},
		{"truncated float", "05 0000"},
		{"string too long", "06 05 6162"},
		{"invalid UTF-8", "06 01 ff"},
		{"bytes too long", "07 02 00"},
		{"huge array count", "08 ffffffff0f"},
		{"short array", "08 02 01"},
		{"huge object count", "09 ffffffff0f"},
		{"object count over half the input", "09 02 00 01"},
		{"fields out of order", "09 02 01 62 01 01 61 01"},
		{"duplicate field", "09 02 01 61 01 01 61 01"},
		{"invalid UTF-8 field", "09 01 01 ff 01"},
		{"field name too long", "09 01 09 61 01"},
		{"missing value", "09 01 01 61"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, err := value.Decode(mustHex(t, tc.in))
			if !errors.Is(err, value.ErrMalformedEncoding) {
				t.Fatalf("Decode(%s) = %#v, %v; want ErrMalformedEncoding", tc.in, x, err)
			}
		})
	}
}

func TestDecode_TooDeep_Error(t *testing.T) {
	x := nested(value.MaxNesting, int64(1))
	if _, err := value.Decode(value.Encode(x)); err != nil {
		t.Fatalf("nesting %d: %v", value.MaxNesting, err)
	}
	if _, err := value.Decode(value.Encode([]any{x})); !errors.Is(err, value.ErrMalformedEncoding) {
		t.Fatalf("nesting %d: err = %v", value.MaxNesting+1, err)
	}
	deep := bytes.Repeat([]byte{0x08, 0x01}, 1<<20)
	if _, err := value.Decode(deep); err == nil {
		t.Fatal("a million nested arrays must not decode")
	}
}

// TestDecode_HugeCounts_BoundedAllocation checks that a count far larger
// than the input is refused before anything is allocated for it.
func TestDecode_HugeCounts_BoundedAllocation(t *testing.T) {
	in := mustHex(t, "08 ffffffffffffffff7f")
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := value.Decode(in); err == nil {
			t.Fatal("want an error")
		}
	})
	if allocs > 10 {
		t.Fatalf("%v allocations to refuse a huge count", allocs)
	}
}

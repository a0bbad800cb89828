package value_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/livedb-go/livedb/internal/value"
)

var negZero = math.Copysign(0, -1)

func nan(bits uint64) float64 { return math.Float64frombits(bits) }

type obj = map[string]any

// orderedValues lists values in Convex's order (docs/semantics.md#value-order),
// written out by hand:
// undefined < null < Int64 < Float64 < Boolean < String < Bytes < Array <
// Object, Int64 across every tag width, Float64 in IEEE-754 totalOrder, and
// strings, bytes, arrays and objects lexicographically.
func orderedValues() []any {
	return []any{
		value.Undefined,
		nil,
		// Int64: 8-, 4-, 2- and 1-byte negatives, zero, then positives.
		int64(math.MinInt64), int64(math.MinInt32 - 1), int64(math.MinInt32),
		int64(math.MinInt16 - 1), int64(math.MinInt16), int64(-129), int64(-128),
		int64(-1), int64(0), int64(1), int64(5), int64(127), int64(128), int64(255),
		int64(256), int64(math.MaxInt16), int64(math.MaxInt16 + 1), int64(math.MaxInt32),
		int64(math.MaxInt32 + 1), int64(math.MaxInt64),
		// Float64, totalOrder: -NaN < -Inf < ... < -0 < +0 < ... < +Inf < +NaN.
		nan(0xFFF8000000000000), nan(0xFFF0000000000001), math.Inf(-1), -math.MaxFloat64,
		-1.5, -1.0, -math.SmallestNonzeroFloat64, negZero, 0.0, math.SmallestNonzeroFloat64,
		1e-310, 2.2250738585072014e-308, 1.0, 1.5, 1e300, math.MaxFloat64, math.Inf(1),
		nan(0x7FF0000000000001), nan(0x7FF8000000000000), nan(0x7FF8000000000001), nan(0x7FFFFFFFFFFFFFFF),
		false, true,
		// Strings by UTF-8 bytes.
		"", "\x00", "\x00\x00", "\x00a", "\x01", " ", "A", "a", "a\x00", "a\x00b", "a\x01",
		"ab", "b", "\x7f", "é", "\uFFFF", "😀",
		// Bytes, unsigned, a proper prefix first.
		[]byte{}, []byte{0}, []byte{0, 0}, []byte{0, 0xFF}, []byte{1}, []byte{0xFF}, []byte{0xFF, 0xFF},
		// Arrays, element by element, a proper prefix first.
		[]any{}, []any{value.Undefined}, []any{nil}, []any{nil, nil}, []any{int64(-1)},
		[]any{int64(1)}, []any{int64(1), int64(2)}, []any{int64(2)}, []any{negZero},
		[]any{0.0}, []any{0.0, nil}, []any{1.0}, []any{false}, []any{""}, []any{"a"},
		[]any{[]byte{}}, []any{[]any{}}, []any{[]any{}, nil}, []any{[]any{nil}}, []any{obj{}},
		[]any{obj{"a": int64(1)}},
		// Objects by sorted (name, value) pairs, a proper prefix first.
		obj{}, obj{"": nil}, obj{"": int64(1)}, obj{"": int64(1), "a": int64(1)}, obj{"": int64(2)},
		obj{" ": nil}, obj{"a": nil}, obj{"a": int64(1)}, obj{"a": int64(1), "b": int64(2)},
		obj{"a": int64(2)}, obj{"a": negZero}, obj{"a": 0.0}, obj{"a": 1.0}, obj{"a": obj{}},
		obj{"a": obj{"a": nil}}, obj{"aa": nil}, obj{"b": int64(0)}, obj{"~": nil},
	}
}

// experimentValues is the list that Convex's compareValues sorted in an
// experiment, verbatim (docs/semantics.md#value-order gives it too):
//
//	null < -1n < 0n < 5n < -Infinity < -1 < -0 < 0 < 1 < Infinity < NaN < false < true
//	 < "" < "a" < "b" < "é" < "\uFFFF" < "😀" < bytes(0) < bytes(1)
//	 < [] < [null] < [1] < [1,2] < [2] < {} < {"a":1} < {"a":1,"b":2} < {"a":2} < {"b":0}
//	compareValues(undefined, null) = -1
//
// with JS numbers as Float64 and bigints as Int64; bytes(n) is an
// ArrayBuffer of n zero bytes and NaN is JS's canonical 0x7FF8000000000000.
func experimentValues() []any {
	return []any{
		value.Undefined, nil, int64(-1), int64(0), int64(5), math.Inf(-1), -1.0, negZero, 0.0, 1.0,
		math.Inf(1), nan(0x7FF8000000000000), false, true, "", "a", "b", "é", "\uFFFF", "😀",
		[]byte{}, []byte{0}, []any{}, []any{nil}, []any{1.0}, []any{1.0, 2.0}, []any{2.0},
		obj{}, obj{"a": 1.0}, obj{"a": 1.0, "b": 2.0}, obj{"a": 2.0}, obj{"b": 0.0},
	}
}

func TestCompare_OrderedLists_StrictlyIncreasing(t *testing.T) {
	for name, list := range map[string][]any{"mixed": orderedValues(), "experiment": experimentValues()} {
		t.Run(name, func(t *testing.T) {
			if name == "mixed" && len(list) < 60 {
				t.Fatalf("list has %d values, want at least 60", len(list))
			}
			keys := make([][]byte, len(list))
			for i, x := range list {
				keys[i] = value.AppendKey(nil, x)
			}
			for i := range list {
				for j := range list {
					want := sign(i - j)
					if got := value.Compare(list[i], list[j]); got != want {
						t.Errorf("Compare(%#v, %#v) = %d, want %d", list[i], list[j], got, want)
					}
					if got := bytes.Compare(keys[i], keys[j]); sign(got) != want {
						t.Errorf("key order of %#v (%x) and %#v (%x) = %d, want %d", list[i], keys[i], list[j], keys[j], got, want)
					}
				}
			}
		})
	}
}

func TestCompare_ShuffledList_SortsBack(t *testing.T) {
	list := orderedValues()
	idx := make([]int, len(list))
	for i := range idx {
		idx[i] = i
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		byCompare := slices.Clone(idx)
		slices.SortFunc(byCompare, func(a, b int) int { return value.Compare(list[a], list[b]) })
		byKey := slices.Clone(idx)
		slices.SortFunc(byKey, func(a, b int) int {
			return bytes.Compare(value.AppendKey(nil, list[a]), value.AppendKey(nil, list[b]))
		})
		for i := range idx {
			if byCompare[i] != i || byKey[i] != i {
				t.Fatalf("round %d: position %d holds %d by Compare and %d by key, want %d", round, i, byCompare[i], byKey[i], i)
			}
		}
	}
}

func TestEqual_Cases(t *testing.T) {
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"int64 and float64 differ", int64(1), 1.0, false},
		{"signed zeros differ", negZero, 0.0, false},
		{"NaN equals same bits", nan(0x7FF8000000000000), nan(0x7FF8000000000000), true},
		{"NaN payloads differ", nan(0x7FF8000000000000), nan(0x7FF8000000000001), false},
		{"ID equals string", value.ID("abc"), "abc", true},
		{"Go int equals int64", 7, int64(7), true},
		{"objects by content", obj{"a": []any{int64(1)}}, obj{"a": []any{int64(1)}}, true},
		{"nil and empty bytes", []byte(nil), []byte{}, true},
		{"undefined and null differ", value.Undefined, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := value.Equal(tc.a, tc.b); got != tc.want {
				t.Fatalf("Equal(%#v, %#v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestNormalize_GoKinds_Converted(t *testing.T) {
	tests := []struct {
		in   any
		want any
	}{
		{int(-5), int64(-5)}, {int8(-8), int64(-8)}, {int16(16), int64(16)}, {int32(math.MinInt32), int64(math.MinInt32)},
		{uint8(255), int64(255)}, {uint16(65535), int64(65535)}, {uint32(math.MaxUint32), int64(math.MaxUint32)},
		{uint(7), int64(7)}, {uint64(math.MaxInt64), int64(math.MaxInt64)}, {uintptr(9), int64(9)},
		{float32(1.5), 1.5}, {float32(0.1), float64(float32(0.1))},
		{value.ID("x"), "x"},
		{[]string{"a", "b"}, []any{"a", "b"}},
		{[]int64{1}, []any{int64(1)}},
		{[]float64{2}, []any{2.0}},
		{map[string]string{"k": "v"}, obj{"k": "v"}},
		{[]map[string]any{{"a": 1}}, []any{obj{"a": int64(1)}}},
		{obj{"a": value.Undefined, "b": uint8(1)}, obj{"b": int64(1)}},
		{[]byte(nil), []byte(nil)},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%T", tc.in), func(t *testing.T) {
			got, err := value.Normalize(tc.in)
			if err != nil {
				t.Fatalf("Normalize(%#v): %v", tc.in, err)
			}
			if !value.Equal(got, tc.want) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", tc.want) {
				t.Fatalf("Normalize(%#v) = %#v, want %#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestNormalize_Float32_Exact(t *testing.T) {
	for _, f := range []float32{0, float32(negZero), 1e-45, math.MaxFloat32, float32(math.Inf(-1))} {
		got, err := value.Normalize(f)
		if err != nil {
			t.Fatal(err)
		}
		if math.Float64bits(got.(float64)) != math.Float64bits(float64(f)) {
			t.Fatalf("Normalize(float32 %v) = %v", f, got)
		}
	}
}

func TestNormalize_Invalid_ErrorWithPath(t *testing.T) {
	tests := []struct {
		name     string
		in       any
		wantPath string
		wantMsg  string
	}{
		{"uint64 overflow", obj{"n": []any{uint64(math.MaxInt64 + 1)}}, ".n[0]", "unsigned integer 9223372036854775808 does not fit into a 64-bit signed integer"},
		{"uint overflow", uint(math.MaxUint64), "", "does not fit"},
		{"invalid UTF-8", obj{"a": []any{"ok", "\xff"}}, ".a[1]", "string is not valid UTF-8"},
		{"undefined in array", []any{value.Undefined}, "[0]", "undefined is not a valid Convex value"},
		{"undefined at top", value.Undefined, "", "undefined is not a valid Convex value"},
		{"unsupported type", obj{"t": struct{}{}}, ".t", "struct {} is not a supported Convex type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := value.Normalize(tc.in)
			var nv *value.NotValueError
			if !errors.As(err, &nv) {
				t.Fatalf("Normalize(%#v) = %v, want *NotValueError", tc.in, err)
			}
			if nv.Path != tc.wantPath || !bytes.Contains([]byte(err.Error()), []byte(tc.wantMsg)) {
				t.Fatalf("error %q at path %q, want %q at %q", err, nv.Path, tc.wantMsg, tc.wantPath)
			}
		})
	}
}

func TestIsGoInt_Kinds(t *testing.T) {
	if n, ok := value.IsGoInt(int32(-3)); !ok || n != -3 {
		t.Fatalf("IsGoInt(int32(-3)) = %d, %v", n, ok)
	}
	if _, ok := value.IsGoInt(int64(3)); ok {
		t.Fatal("IsGoInt(int64) must report false")
	}
	if _, ok := value.IsGoInt(uint64(math.MaxUint64)); ok {
		t.Fatal("IsGoInt(MaxUint64) must report false")
	}
}

package livedb_test

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/internal/valueref"
	"github.com/livedb-go/livedb/v"
)

// The randomized query and model tests order and compare values with
// valueref, a reference written from Convex's ordering rules that shares
// no code with the engine's internal/value. The tests below pin the
// engine's order, and its sort keys, to the same rules.

// refCompare is the reference order (valueref.Compare).
func refCompare(a, b any) int { return valueref.Compare(a, b) }

// refEqual is the reference equality (valueref.Equal).
func refEqual(a, b any) bool { return valueref.Equal(a, b) }

// refDocsEqual compares two documents (or a document and the model's map)
// by the reference equality; _id may be an ID on one side and a string on
// the other.
func refDocsEqual(a, b map[string]any) bool {
	return (a == nil) == (b == nil) && valueref.Equal(a, b)
}

// refFloat makes a float64 from its bits, for NaN payloads and signs.
func refFloat(bits uint64) float64 { return math.Float64frombits(bits) }

// refBoundaries are values in strictly ascending order, with their sort
// keys (hex, spaces ignored) where Convex's encoding is worth pinning: every
// type boundary, the extremes of each type, both sides of each integer
// width (the shortest two's-complement encoding: int8's minimum, -128,
// takes one byte), the special floats (NaNs of both signs, -0, +0,
// subnormals), the empty string, bytes, array and object, and NUL bytes
// that extend a string or bytes.
var refBoundaries = []struct {
	x   any
	key string
}{
	{livedb.Undefined, "01"},
	{nil, "03"},
	{int64(math.MinInt64), "04 8000000000000000"},
	{int64(math.MinInt64 + 1), "04 8000000000000001"},
	{int64(math.MinInt32 - 1), "04 ffffffff7fffffff"},
	{int64(math.MinInt32), "05 80000000"},
	{int64(math.MinInt16 - 1), "05 ffff7fff"},
	{int64(math.MinInt16), "06 8000"},
	{int64(math.MinInt8 - 1), "06 ff7f"},
	{int64(math.MinInt8), "07 80"},
	{int64(math.MinInt8 + 1), "07 81"},
	{int64(-1), "07 ff"},
	{int64(0), "08"},
	{int64(1), "09 01"},
	{int64(math.MaxInt8), "09 7f"},
	{int64(math.MaxInt8 + 1), "0a 0080"},
	{int64(math.MaxInt16), "0a 7fff"},
	{int64(math.MaxInt16 + 1), "0b 00008000"},
	{int64(math.MaxInt32), "0b 7fffffff"},
	{int64(math.MaxInt32 + 1), "0c 0000000080000000"},
	{int64(math.MaxInt64 - 1), "0c 7ffffffffffffffe"},
	{int64(math.MaxInt64), "0c 7fffffffffffffff"},
	{refFloat(0xFFFFFFFFFFFFFFFF), "0d 0000000000000000"}, // negative NaN, largest payload
	{refFloat(0xFFF8000000000000), "0d 0007ffffffffffff"}, // negative quiet NaN
	{refFloat(0xFFF0000000000001), "0d 000ffffffffffffe"}, // negative NaN, smallest payload
	{math.Inf(-1), "0d 000fffffffffffff"},
	{-math.MaxFloat64, "0d 0010000000000000"},
	{-1.0, "0d 400fffffffffffff"},
	{-math.SmallestNonzeroFloat64, "0d 7ffffffffffffffe"},
	{math.Copysign(0, -1), "0d 7fffffffffffffff"},
	{0.0, "0d 8000000000000000"},
	{math.SmallestNonzeroFloat64, "0d 8000000000000001"},
	{1.0, "0d bff0000000000000"},
	{math.MaxFloat64, "0d ffefffffffffffff"},
	{math.Inf(1), "0d fff0000000000000"},
	{refFloat(0x7FF0000000000001), "0d fff0000000000001"}, // NaN, smallest payload
	{refFloat(0x7FF8000000000000), "0d fff8000000000000"}, // JavaScript's NaN
	{refFloat(0x7FFFFFFFFFFFFFFF), "0d ffffffffffffffff"}, // NaN, largest payload
	{false, "0e"},
	{true, "0f"},
	{"", "10 00"},
	{"\x00", "10 00ff 00"},
	{"\x00\x00", "10 00ff 00ff 00"},
	{"\x01", "10 01 00"},
	{"a", "10 61 00"},
	{"a\x00", "10 61 00ff 00"},
	{"ab", "10 6162 00"},
	{"\x7f", "10 7f 00"},
	{"é", "10 c3a9 00"},
	{"\uFFFF", "10 efbfbf 00"},
	{"😀", "10 f09f9880 00"}, // after U+FFFF in UTF-8 order, before it in UTF-16
	{[]byte{}, "11 00"},
	{[]byte{0}, "11 00ff 00"},
	{[]byte{0, 0}, "11 00ff 00ff 00"},
	{[]byte{0, 1}, "11 00ff 01 00"},
	{[]byte{1}, "11 01 00"},
	{[]byte{0xff}, "11 ff 00"},
	{[]byte{0xff, 0xff}, "11 ffff 00"},
	{[]any{}, "12 00"},
	{[]any{nil}, "12 03 00"},
	{[]any{int64(1)}, "12 0901 00"},
	{[]any{int64(1), int64(2)}, "12 0901 0902 00"},
	{[]any{int64(2)}, "12 0902 00"},
	{[]any{1.0}, ""},
	{[]any{""}, ""},
	{[]any{[]any{}}, "12 12 00 00"},
	{[]any{map[string]any{}}, "12 15 00 00"},
	{map[string]any{}, "15 00"},
	{map[string]any{"": nil}, "15 00ff 03 00"},
	{map[string]any{"": int64(1), "a": nil}, ""},
	{map[string]any{"a": nil}, "15 6100 03 00"},
	{map[string]any{"a": int64(1)}, ""},
	{map[string]any{"a": int64(1), "b": int64(2)}, ""},
	{map[string]any{"a": int64(2)}, ""},
	{map[string]any{"a": []any{}}, ""},
	{map[string]any{"a": map[string]any{}}, ""},
	{map[string]any{"b": int64(0)}, ""},
}

// TestCompare_GoldenBoundaries checks the boundary values pairwise: the
// reference order, the engine's Compare and the bytes.Compare of the sort
// keys must all put them in the listed order, and the keys listed must be
// Convex's exact bytes (a key that changes without changing the order, like
// a longer encoding of -128, still breaks stored indexes and cursors).
func TestCompare_GoldenBoundaries(t *testing.T) {
	show := func(x any) string {
		if f, ok := x.(float64); ok {
			return fmt.Sprintf("float64(%v, bits %#016x)", f, math.Float64bits(f))
		}
		if x == livedb.Undefined {
			return "undefined"
		}
		return fmt.Sprintf("%T(%v)", x, x)
	}
	keys := make([][]byte, len(refBoundaries))
	for i, b := range refBoundaries {
		keys[i] = value.Key(b.x)
		if b.key == "" {
			continue
		}
		want, err := hex.DecodeString(strings.ReplaceAll(b.key, " ", ""))
		if err != nil {
			t.Fatalf("bad hex for %s: %v", show(b.x), err)
		}
		if !bytes.Equal(keys[i], want) {
			t.Errorf("sort key of %s = % x, want % x", show(b.x), keys[i], want)
		}
	}
	for i, bi := range refBoundaries {
		for j, bj := range refBoundaries {
			want := cmp.Compare(i, j)
			if got := refCompare(bi.x, bj.x); got != want {
				t.Fatalf("the list is out of order or the reference is wrong: refCompare(%s, %s) = %d, want %d", show(bi.x), show(bj.x), got, want)
			}
			if got := v.Compare(bi.x, bj.x); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", show(bi.x), show(bj.x), got, want)
			}
			if got := v.Equal(bi.x, bj.x); got != (i == j) {
				t.Errorf("Equal(%s, %s) = %v", show(bi.x), show(bj.x), got)
			}
			if got := bytes.Compare(keys[i], keys[j]); got != want {
				t.Errorf("bytes.Compare of the keys of %s and %s = %d, want %d", show(bi.x), show(bj.x), got, want)
			}
		}
	}
}

// TestCompare_AgreesWithReference compares the reference order with the
// engine's on every pair of values the randomized tests draw from, and on
// arrays and objects built from them: the two are written independently,
// so agreement here is evidence for both.
func TestCompare_AgreesWithReference(t *testing.T) {
	vals := slices.Clone(qrPool)
	for _, s := range modelStrings {
		vals = append(vals, s)
	}
	for _, b := range modelBytes {
		vals = append(vals, b)
	}
	for _, b := range refBoundaries {
		vals = append(vals, b.x)
	}
	n := len(vals)
	for i := range n {
		if vals[i] == livedb.Undefined {
			continue // not a value inside arrays and objects
		}
		vals = append(vals, []any{vals[i]}, []any{vals[i], int64(0)}, map[string]any{"x": vals[i]}, map[string]any{"x": vals[i], "y": nil})
	}
	for _, a := range vals {
		for _, b := range vals {
			if got, want := v.Compare(a, b), refCompare(a, b); got != want {
				t.Errorf("Compare(%#v, %#v) = %d, the reference %d", a, b, got, want)
			}
		}
	}
}

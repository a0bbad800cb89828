package value_test

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"reflect"
	"testing"

	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/internal/valueref"
)

// valueGen builds values deterministically from fuzz bytes. It favours the
// edge cases of the order: the Int64 width boundaries, signed zeros, NaN
// payloads, subnormals, strings and bytes with 0x00, non-ASCII and astral
// strings, the empty field name, and nested containers. When the bytes run
// out it reads zeros, so every input gives a value.
type valueGen struct {
	b        []byte
	maxDepth int
}

func (g *valueGen) byte() byte {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return c
}

func (g *valueGen) uint64() uint64 {
	var buf [8]byte
	for i := range buf {
		buf[i] = g.byte()
	}
	return binary.BigEndian.Uint64(buf[:])
}

var (
	genInts = []int64{
		0, 1, -1, 2, -2, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769,
		math.MaxInt32, math.MaxInt32 + 1, math.MinInt32, math.MinInt32 - 1,
		math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 1 << 53,
	}
	genFloats = []uint64{
		0, 1 << 63, // +0, -0
		math.Float64bits(1), math.Float64bits(-1), math.Float64bits(1.5), math.Float64bits(-1.5),
		math.Float64bits(math.Inf(1)), math.Float64bits(math.Inf(-1)),
		0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001, 0xFFF0000000000001, 0x7FFFFFFFFFFFFFFF,
		1, 1 | 1<<63, 0x000FFFFFFFFFFFFF, // subnormals
		math.Float64bits(math.MaxFloat64), math.Float64bits(-math.MaxFloat64),
		math.Float64bits(1 << 53), math.Float64bits(1699931054642.111),
	}
	genStrings = []string{"", "a", "b", "\x00", "\x00ÿ", "é", "\uFFFF", "😀", "\x7f", "_id", "ab", "a\x00", " "}
	genBytes   = []byte{0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF}
	genNames   = []string{"", "a", "b", "ab", "a b", "_id", "~", "A", "z"}
)

// value returns the next value; depth is the number of containers above it.
func (g *valueGen) value(depth int) any {
	k := g.byte()
	switch k % 12 {
	case 0:
		return nil
	case 1:
		if c := g.byte(); c < 200 {
			return genInts[int(c)%len(genInts)]
		}
		return int64(g.uint64())
	case 2:
		if c := g.byte(); c < 200 {
			return math.Float64frombits(genFloats[int(c)%len(genFloats)])
		}
		return math.Float64frombits(g.uint64())
	case 3:
		return g.byte()&1 == 1
	case 4, 5:
		n := int(g.byte() % 5)
		var s string
		for range n {
			s += genStrings[int(g.byte())%len(genStrings)]
		}
		if k%12 == 5 {
			return value.ID(s)
		}
		return s
	case 6:
		n := int(g.byte() % 6)
		out := make([]byte, n)
		for i := range out {
			c := g.byte()
			if c < 128 {
				c = genBytes[int(c)%len(genBytes)]
			}
			out[i] = c
		}
		return out
	case 7, 8:
		if depth >= g.maxDepth {
			return []any{}
		}
		out := make([]any, g.byte()%4)
		for i := range out {
			out[i] = g.value(depth + 1)
		}
		return out
	case 9, 10:
		if depth >= g.maxDepth {
			return map[string]any{}
		}
		out := map[string]any{}
		for range g.byte() % 4 {
			out[genNames[int(g.byte())%len(genNames)]] = g.value(depth + 1)
		}
		return out
	}
	return value.Undefined
}

// genPair builds two values from data: independent ones, or (when the first
// byte is even) two values from almost the same bytes, which share most of
// their structure.
func genPair(data []byte) (any, any) {
	if len(data) == 0 {
		return nil, nil
	}
	mode, data := data[0], data[1:]
	if mode%2 == 0 && len(data) > 0 {
		other := bytes.Clone(data)
		other[int(mode/2)%len(other)] ^= 1 << (mode % 8)
		return genValue(data), genValue(other)
	}
	split := int(mode) % (len(data) + 1)
	return genValue(data[:split]), genValue(data[split:])
}

func genValue(data []byte) any {
	g := valueGen{b: data, maxDepth: 6}
	return g.value(0)
}

func sign(n int) int { return cmp.Compare(n, 0) }

// mustSameValue fails unless got equals want and has the same Go types all
// the way down, taking an ID in want as a string in got.
func mustSameValue(t *testing.T, want, got any) {
	t.Helper()
	if !value.Equal(want, got) || !sameTypes(want, got) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}

func sameTypes(want, got any) bool {
	switch w := want.(type) {
	case value.ID:
		_, ok := got.(string)
		return ok
	case []byte:
		g, ok := got.([]byte)
		return ok && g != nil
	case []any:
		g, ok := got.([]any)
		if !ok || g == nil || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameTypes(w[i], g[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || g == nil || len(g) != len(w) {
			return false
		}
		for k := range w {
			if !sameTypes(w[k], g[k]) {
				return false
			}
		}
		return true
	}
	return reflect.TypeOf(want) == reflect.TypeOf(got)
}

func addSeeds(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 0, 2, 1})
	f.Add([]byte{0, 7, 3, 1, 200, 2, 4, 9, 2, 0, 3})
	f.Add([]byte{3, 9, 3, 0, 1, 5, 2, 2, 9, 1, 4, 4})
	f.Add([]byte{8, 2, 12, 2, 13, 6, 3, 0, 4, 5})
	f.Add([]byte("the quick brown fox jumps over the lazy dog"))
}

// FuzzSortKeyOrder checks that sort keys order values as Compare does, alone
// and as tuples, and that Compare agrees with valueref, the reference order
// written from Convex's rules (an order mistaken the same way in Compare
// and in the keys would otherwise pass).
func FuzzSortKeyOrder(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := genPair(data)
		ka, kb := value.Key(a), value.Key(b)
		want := value.Compare(a, b)
		if ref := valueref.Compare(a, b); want != ref {
			t.Fatalf("Compare(%#v, %#v) = %d, the reference order says %d", a, b, want, ref)
		}
		if got := bytes.Compare(ka, kb); sign(got) != want {
			t.Fatalf("bytes.Compare(key(%#v), key(%#v)) = %d, Compare = %d\n%x\n%x", a, b, got, want, ka, kb)
		}
		if got := value.Compare(b, a); got != -want {
			t.Fatalf("Compare is not antisymmetric on %#v, %#v", a, b)
		}
		// Tuples: (a, b) against (b, a), and (a, a) against (a, b).
		if got := bytes.Compare(value.Key(a, b), value.Key(b, a)); sign(got) != want {
			t.Fatalf("tuple order of (%#v, %#v) = %d, want %d", a, b, got, want)
		}
		if got := bytes.Compare(value.Key(a, a), value.Key(a, b)); sign(got) != want {
			t.Fatalf("tuple order of (a, a) and (a, b) = %d, want %d", got, want)
		}
	})
}

// FuzzSortKeyRoundTrip checks that DecodeKey inverts AppendKey and
// DecodeTuple inverts Key.
func FuzzSortKeyRoundTrip(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := genPair(data)
		k := value.AppendKey([]byte{0xAB}, a)[1:]
		got, rest, err := value.DecodeKey(append(k, 0x03))
		if err != nil {
			t.Fatalf("DecodeKey(%x) of %#v: %v", k, a, err)
		}
		if !bytes.Equal(rest, []byte{0x03}) {
			t.Fatalf("rest = %x, want 03", rest)
		}
		mustSameValue(t, a, got)
		tuple, err := value.DecodeTuple(value.Key(a, b))
		if err != nil {
			t.Fatalf("DecodeTuple: %v", err)
		}
		mustSameValue(t, []any{a, b}, tuple)
	})
}

// FuzzDecodeKey feeds garbage to DecodeKey and DecodeTuple: they must not
// panic, and what they accept must re-encode to the same bytes.
func FuzzDecodeKey(f *testing.F) {
	for _, x := range []any{nil, int64(-129), math.Copysign(0, -1), "a\x00b", []byte{0, 0xFF},
		[]any{int64(1), "x"}, map[string]any{"": nil, "a": []any{}}, value.Undefined} {
		f.Add(value.AppendKey(nil, x))
	}
	f.Add([]byte{0x15, 0x00, 0xFF})
	f.Add([]byte{0x07, 0x05})
	f.Fuzz(func(t *testing.T, data []byte) {
		x, rest, err := value.DecodeKey(data)
		if err == nil {
			consumed := data[:len(data)-len(rest)]
			if re := value.AppendKey(nil, x); !bytes.Equal(re, consumed) {
				t.Fatalf("DecodeKey(%x) = %#v, which encodes as %x", consumed, x, re)
			}
		}
		tuple, err := value.DecodeTuple(data)
		if err == nil {
			if re := value.Key(tuple...); !bytes.Equal(re, data) {
				t.Fatalf("DecodeTuple(%x) = %#v, which encodes as %x", data, tuple, re)
			}
		}
	})
}

// FuzzCodecRoundTrip checks that Decode inverts Encode exactly and that
// encoding is deterministic.
func FuzzCodecRoundTrip(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		x := genValue(data)
		enc := value.Encode(x)
		got, err := value.Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(%#v)) = %v", x, err)
		}
		mustSameValue(t, x, got)
		if re := value.Encode(got); !bytes.Equal(re, enc) {
			t.Fatalf("re-encoding differs:\n%x\n%x", enc, re)
		}
	})
}

// FuzzCodecDecode feeds garbage to Decode: it must not panic, and what it
// accepts must re-encode to the same bytes.
func FuzzCodecDecode(f *testing.F) {
	for _, x := range []any{nil, int64(math.MinInt64), math.NaN(), "é", []byte{},
		[]any{int64(1), []any{}}, map[string]any{"": nil, "a": map[string]any{}}, value.Undefined} {
		f.Add(value.Encode(x))
	}
	f.Add([]byte{0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F})
	f.Add([]byte{0x09, 0x02, 0x01, 'b', 0x01, 0x01, 'a', 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := value.Decode(data)
		if err != nil {
			return
		}
		if re := value.Encode(x); !bytes.Equal(re, data) {
			t.Fatalf("Decode(%x) = %#v, which encodes as %x", data, x, re)
		}
	})
}

package convexjson_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/internal/value"
)

// Seeds shared by the decode fuzzers; more live in testdata/fuzz/.
var decodeSeeds = []string{
	`null`, `true`, `1`, `-0`, `1e400`, `"a\u00e9\ud83d\ude00"`, `"\ud800"`,
	`{"$integer":"AQAAAAAAAAA="}`, `{"$float":"AAAAAAAA+H8="}`, `{"$float":"AAAAAAAA8D8="}`,
	`{"$bytes":"AQID"}`, `{"$undefined":null}`, `{"a":{"$undefined":null}}`,
	`{"b":[1,2.5,{"$bytes":""}],"a":"x"}`, `[[[[]]]]`, `{"a":1,"a":2}`, `{"$set":[]}`,
	`9223372036854775807`, `-9223372036854775809`, `[1,]`, `{"a":1} x`,
}

// FuzzDecode feeds arbitrary text to the Convex-JSON and patch decoders:
// they never panic, and whatever decodes re-encodes to text that decodes to
// an Equal value and re-encodes to the same text.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if x, err := convexjson.Decode(data); err == nil {
			checkFixpoint(t, x, convexjson.Encode, convexjson.Decode)
		}
		if p, err := convexjson.DecodePatch(data); err == nil {
			enc, err := convexjson.EncodePatch(p)
			if err != nil {
				t.Fatalf("EncodePatch(DecodePatch(%q)): %v", data, err)
			}
			back, err := convexjson.DecodePatch(enc)
			if err != nil {
				t.Fatalf("DecodePatch(%s): %v", enc, err)
			}
			again, err := convexjson.EncodePatch(back)
			if err != nil || !bytes.Equal(again, enc) {
				t.Fatalf("EncodePatch not stable: %s then %s (%v)", enc, again, err)
			}
		}
	})
}

// FuzzDecodeExport is FuzzDecode for export JSON.
func FuzzDecodeExport(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if x, err := convexjson.DecodeExport(data); err == nil {
			checkFixpoint(t, x, convexjson.EncodeExport, convexjson.DecodeExport)
		}
	})
}

// FuzzRoundTrip builds a value from the fuzzer's bytes and checks that
// Encode and Decode give it back, Equal and with the same kinds.
func FuzzRoundTrip(f *testing.F) {
	addValueSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		x := (&valueGen{data: data}).value(0)
		checkRoundTrip(t, x, convexjson.Encode, convexjson.Decode)
	})
}

// FuzzExportRoundTrip is FuzzRoundTrip for export JSON.
func FuzzExportRoundTrip(f *testing.F) {
	addValueSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		x := (&valueGen{data: data}).value(0)
		checkRoundTrip(t, x, convexjson.EncodeExport, convexjson.DecodeExport)
	})
}

func addValueSeeds(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{2, 1, 2, 3, 4, 5, 6, 7, 8})                      // Int64
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 0xF8, 0x7F})                // NaN
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 0, 0x80})                   // -0
	f.Add([]byte{7, 3, 4, 'a', 'b', 2, 1, 1, 1, 1, 1, 1, 1, 1})   // object
	f.Add([]byte{6, 2, 5, 3, 1, 2, 3, 6, 1, 4, 2, 0xC3, 0xA9, 0}) // array
	f.Add(bytes.Repeat([]byte{6, 1}, 70))                         // too deep: capped at MaxNesting
}

func checkRoundTrip(t *testing.T, x any, enc func(any) ([]byte, error), dec func([]byte) (any, error)) {
	t.Helper()
	text, err := enc(x)
	if err != nil {
		t.Fatalf("encode(%#v): %v", x, err)
	}
	got, err := dec(text)
	if err != nil {
		t.Fatalf("decode(%s): %v", text, err)
	}
	if !sameValue(got, x) {
		t.Fatalf("decode(encode(x)) = %#v, want %#v (text %s)", got, x, text)
	}
	again, err := enc(got)
	if err != nil || !bytes.Equal(again, text) {
		t.Fatalf("encode not stable: %s then %s (%v)", text, again, err)
	}
}

func checkFixpoint(t *testing.T, x any, enc func(any) ([]byte, error), dec func([]byte) (any, error)) {
	t.Helper()
	if _, ok := value.KindOf(x); !ok {
		t.Fatalf("decoded a non-canonical %T", x)
	}
	checkRoundTrip(t, x, enc, dec)
}

// sameValue is value.Equal plus equal kinds all the way down (Equal alone
// already tells Int64 from Float64).
func sameValue(a, b any) bool {
	ka, _ := value.KindOf(a)
	kb, _ := value.KindOf(b)
	return ka == kb && value.Equal(a, b)
}

// valueGen turns bytes into a canonical value; it reads zeros once the
// bytes run out, so every input gives a finite value.
type valueGen struct {
	data []byte
	pos  int
}

func (g *valueGen) byte() byte {
	if g.pos >= len(g.data) {
		return 0
	}
	g.pos++
	return g.data[g.pos-1]
}

func (g *valueGen) uint64() uint64 {
	var b [8]byte
	for i := range b {
		b[i] = g.byte()
	}
	return binary.LittleEndian.Uint64(b[:])
}

func (g *valueGen) bytes() []byte {
	n := int(g.byte() % 16)
	out := make([]byte, n)
	for i := range out {
		out[i] = g.byte()
	}
	return out
}

func (g *valueGen) string() string {
	return strings.ToValidUTF8(string(g.bytes()), "\uFFFD")
}

func (g *valueGen) value(depth int) any {
	kind := g.byte() % 8
	if depth >= convexjson.MaxNesting && kind >= 6 {
		kind = 0
	}
	switch kind {
	case 0:
		return nil
	case 1:
		return g.byte()%2 == 1
	case 2:
		return int64(g.uint64())
	case 3:
		return math.Float64frombits(g.uint64())
	case 4:
		return g.string()
	case 5:
		return g.bytes()
	case 6:
		out := []any{}
		for range g.byte() % 5 {
			out = append(out, g.value(depth+1))
		}
		return out
	default:
		out := map[string]any{}
		for range g.byte() % 5 {
			k := g.string()
			if strings.HasPrefix(k, "$") {
				k = "_" + k
			}
			out[k] = g.value(depth + 1)
		}
		return out
	}
}

package codec_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/codec"
	"github.com/livedb-go/livedb/internal/value"
)

// storedFlat is a struct of the kinds DecodeStored stores itself.
type storedFlat struct {
	ID   docID   `json:"_id"`
	CT   float64 `json:"_creationTime"`
	S    string  `json:"s"`
	I8   int8    `json:"i8"`
	I    int64   `json:"i"`
	U16  uint16  `json:"u16"`
	F32  float32 `json:"f32"`
	F    float64 `json:"f"`
	B    bool    `json:"b"`
	Name docID   `json:"name"`
}

// StoredEmbedded is flattened into storedDeep through a pointer.
type StoredEmbedded struct {
	E string `json:"e"`
	N int    `json:"n"`
}

// storedDeep has the kinds DecodeStored hands to the map path's
// conversion: containers, interfaces, pointers, times, embedded pointers.
type storedDeep struct {
	ID docID     `json:"_id"`
	CT time.Time `json:"_creationTime"`
	*StoredEmbedded
	Arr  []int64          `json:"arr"`
	Any  any              `json:"any"`
	Obj  map[string]any   `json:"obj"`
	Sub  *storedFlatInner `json:"sub"`
	Blob []byte           `json:"blob"`
	PS   *string          `json:"s"`
	Fix  [2]int32         `json:"fix"`
}

type storedFlatInner struct {
	S string `json:"s"`
	I int64  `json:"i"`
}

// storedFieldNames are the document fields of the random documents: the
// fields of both structs and some neither has.
var storedFieldNames = []string{"s", "i8", "i", "u16", "f32", "f", "b", "name", "e", "n",
	"arr", "any", "obj", "sub", "blob", "fix", "Zed", "a", "zz"}

// randStoredValue returns a random document value, of a kind that fits
// most of the fields above some of the time.
func randStoredValue(rng *rand.Rand, depth int) any {
	switch k := rng.IntN(14); {
	case k == 0:
		return nil
	case k == 1:
		return rng.IntN(2) == 0
	case k == 2:
		return int64(rng.IntN(300) - 150)
	case k == 3:
		return rng.Int64() - rng.Int64()
	case k == 4:
		return float64(rng.IntN(70000)) / 4
	case k == 5:
		return []float64{1e40, -0.5, math.MaxFloat64, 3}[rng.IntN(4)]
	case k == 6 || k == 7:
		return []string{"", "x", "héllo", "a longer string value"}[rng.IntN(4)]
	case k == 8:
		return []byte{byte(rng.IntN(256)), 0}
	case k == 9 && depth < 3:
		n := rng.IntN(3)
		a := make([]any, n)
		for i := range a {
			a[i] = randStoredValue(rng, depth+1)
		}
		return a
	case k == 10 && depth < 3:
		return map[string]any{"s": randStoredValue(rng, depth+1), "i": int64(rng.IntN(9))}
	case k == 11:
		return []any{int64(rng.IntN(5)), int64(rng.IntN(5))}
	case k == 12:
		return value.Undefined
	}
	return "plain"
}

// storedFits gives, for some fields, a random value that fits them.
var storedFits = map[string]func(rng *rand.Rand) any{
	"s":    func(rng *rand.Rand) any { return []string{"", "x", "héllo"}[rng.IntN(3)] },
	"i8":   func(rng *rand.Rand) any { return int64(rng.IntN(256) - 128) },
	"i":    func(rng *rand.Rand) any { return rng.Int64() - rng.Int64() },
	"u16":  func(rng *rand.Rand) any { return int64(rng.IntN(65536)) },
	"f32":  func(rng *rand.Rand) any { return float64(rng.IntN(1000)) / 8 },
	"f":    func(rng *rand.Rand) any { return rng.NormFloat64() },
	"b":    func(rng *rand.Rand) any { return rng.IntN(2) == 0 },
	"name": func(rng *rand.Rand) any { return "n" + string(rune('a'+rng.IntN(26))) },
	"e":    func(rng *rand.Rand) any { return "emb" },
	"n":    func(rng *rand.Rand) any { return int64(rng.IntN(1000)) },
	"arr":  func(rng *rand.Rand) any { return []any{int64(rng.IntN(9)), int64(-4)} },
	"obj":  func(rng *rand.Rand) any { return map[string]any{"k": []any{"v", int64(1)}} },
	"sub":  func(rng *rand.Rand) any { return map[string]any{"s": "in", "i": int64(rng.IntN(9))} },
	"blob": func(rng *rand.Rand) any { return []byte{byte(rng.IntN(256))} },
	"fix":  func(rng *rand.Rand) any { return []any{int64(rng.IntN(9)), int64(7)} },
}

// randStoredDoc returns a random stored document: its system fields, and
// a random subset of storedFieldNames, most of them holding a value that
// fits the field, some any value.
func randStoredDoc(rng *rand.Rand) map[string]any {
	d := map[string]any{"_id": "k57abc", "_creationTime": 1.7e12 + float64(rng.IntN(1000))}
	for _, name := range storedFieldNames {
		switch fit, ok := storedFits[name]; {
		case rng.IntN(3) == 0:
		case ok && rng.IntN(40) > 0:
			d[name] = fit(rng)
		default:
			d[name] = randStoredValue(rng, 0)
		}
	}
	return d
}

// mustStored returns the stored form of d (value.EncodeStoredDocument).
func mustStored(t *testing.T, d map[string]any) []byte {
	t.Helper()
	enc, err := value.EncodeStoredDocument(d)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// decodeBothWays decodes the stored document enc, whose _id is id, into a
// new T by DecodeStored (given id as a string, or as bytes when asBytes)
// and by the map path (DecodeStoredDocument, then DecodeDoc). It fails the
// test when DecodeStored reports success and the two differ, and returns
// whether DecodeStored stored the document.
func decodeBothWays[T any](t *testing.T, enc []byte, id string, asBytes bool) bool {
	t.Helper()
	var direct T
	var ok bool
	if asBytes {
		ok = codec.DecodeStored(enc, []byte(id), reflect.ValueOf(&direct).Elem())
	} else {
		ok = codec.DecodeStored(enc, id, reflect.ValueOf(&direct).Elem())
	}
	if !ok {
		return false
	}
	m, err := value.DecodeStoredDocument(enc, id)
	if err != nil {
		t.Fatalf("DecodeStored stored a document that DecodeStoredDocument refuses (%v): % x", err, enc)
	}
	var viaMap T
	if err := codec.DecodeDoc(m, reflect.ValueOf(&viaMap).Elem(), "t"); err != nil {
		t.Fatalf("DecodeStored stored a document the map path refuses (%v): %#v", err, m)
	}
	if !reflect.DeepEqual(direct, viaMap) {
		t.Fatalf("DecodeStored and the map path differ for %#v:\n direct %#v\n map    %#v", m, direct, viaMap)
	}
	return true
}

// TestDecodeStored_MatchesMapPath_RandomDocuments checks, on random
// documents, that whenever DecodeStored stores a document it stores what
// the map path stores (and when it does not, the root package takes the
// map path); also for damaged encodings, which it must never store unless
// they still decode.
func TestDecodeStored_MatchesMapPath_RandomDocuments(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 2))
	stored := map[string]int{}
	for i := range 4000 {
		d := randStoredDoc(rng)
		enc := mustStored(t, d)
		id := d["_id"].(string)
		asBytes := i%2 == 0
		if decodeBothWays[storedFlat](t, enc, id, asBytes) {
			stored["flat"]++
		}
		if decodeBothWays[storedDeep](t, enc, id, asBytes) {
			stored["deep"]++
		}
		if decodeBothWays[*storedFlat](t, enc, id, asBytes) {
			stored["pointer"]++
		}
		// Damage: one byte changed, or the encoding cut short.
		bad := append([]byte(nil), enc...)
		if rng.IntN(2) == 0 {
			bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
		} else {
			bad = bad[:rng.IntN(len(bad))]
		}
		decodeBothWays[storedFlat](t, bad, id, false)
		decodeBothWays[storedDeep](t, bad, id, true)
	}
	t.Logf("stored directly: %v of 4000", stored)
	// Documents that fit must go the direct way, or the test checks nothing.
	for _, kind := range []string{"flat", "deep", "pointer"} {
		if stored[kind] < 200 {
			t.Errorf("DecodeStored stored only %d of 4000 random documents as %s", stored[kind], kind)
		}
	}
}

// TestDecodeStored_SharesNothingMutable checks that strings and the _id
// are copies, never slices of the bytes (which the store owns) or of the
// _id given, and that bytes and arrays are the struct's own.
func TestDecodeStored_SharesNothingMutable(t *testing.T) {
	enc := mustStored(t, map[string]any{"_id": "k1", "_creationTime": 1.0, "s": "abc",
		"blob": []byte{1, 2}, "arr": []any{int64(1)}, "e": "emb"})
	buf := append([]byte(nil), enc...)
	id := []byte("k1")
	var x storedDeep
	if !codec.DecodeStored(buf, id, reflect.ValueOf(&x).Elem()) {
		t.Fatalf("not stored")
	}
	for i := range buf {
		buf[i] = 0xFF
	}
	id[0] = 'z'
	if *x.PS != "abc" || x.E != "emb" || string(x.ID) != "k1" || x.Blob[0] != 1 || x.Arr[0] != 1 || !x.CT.Equal(time.UnixMilli(1)) {
		t.Fatalf("the struct changed with the encoding's bytes: %#v", x)
	}
}

// TestDecodeStored_Refuses lists documents DecodeStored must leave to the
// map path: values that do not fit their field, system fields included,
// and bytes that are not a stored document.
func TestDecodeStored_Refuses(t *testing.T) {
	for name, d := range map[string]map[string]any{
		"int8 overflow":      {"_creationTime": 1.0, "i8": int64(300)},
		"negative into uint": {"_creationTime": 1.0, "u16": int64(-1)},
		"float into int":     {"_creationTime": 1.0, "i": 1.5},
		"float32 overflow":   {"_creationTime": 1.0, "f32": 1e300},
		"string into bool":   {"_creationTime": 1.0, "b": "true"},
	} {
		var x storedFlat
		if codec.DecodeStored(mustStored(t, d), "k1", reflect.ValueOf(&x).Elem()) {
			t.Errorf("%s: stored %#v", name, x)
		}
	}
	type small struct {
		ID int64 `json:"_id"`
		CT int8  `json:"_creationTime"`
	}
	var y small
	if codec.DecodeStored(mustStored(t, map[string]any{"_creationTime": 1.0}), "k1", reflect.ValueOf(&y).Elem()) {
		t.Errorf("_id into an int64: stored %#v", y)
	}
	type smallCT struct {
		CT int8 `json:"_creationTime"`
	}
	var z smallCT
	if codec.DecodeStored(mustStored(t, map[string]any{"_creationTime": 1.7e12}), "k1", reflect.ValueOf(&z).Elem()) {
		t.Errorf("_creationTime 1.7e12 into an int8: stored %#v", z)
	}
	for name, enc := range map[string][]byte{
		"object form": value.Encode(map[string]any{"_id": "k1", "_creationTime": 1.0}),
		"empty":       nil,
		"short":       mustStored(t, map[string]any{"_creationTime": 1.0})[:5],
	} {
		var x storedFlat
		if codec.DecodeStored(enc, "k1", reflect.ValueOf(&x).Elem()) {
			t.Errorf("%s: stored %#v", name, x)
		}
	}
}

// TestDecodeStored_NullIntoOmitEmpty: a null in a field tagged omitempty
// is its zero value on the direct path too, as on the map path, rather
// than sending the document to be decoded again.
func TestDecodeStored_NullIntoOmitEmpty(t *testing.T) {
	type opts struct {
		NumItems float64 `json:"numItems"`
		Cursor   string  `json:"cursor,omitempty"`
	}
	enc := mustStored(t, map[string]any{"_creationTime": 1.0, "numItems": 5.0, "cursor": nil})
	x := opts{Cursor: "stale"}
	if !codec.DecodeStored(enc, "k1", reflect.ValueOf(&x).Elem()) {
		t.Fatal("a null cursor sent the document to the map path")
	}
	if x != (opts{NumItems: 5}) {
		t.Fatalf("got %#v, want NumItems 5 and an empty cursor", x)
	}
}

package livedb

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"testing"
	"weak"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/v"
)

// sameDecoded reports where a and b differ in Go type or value (floats by
// their bits, so NaN payloads and -0 count), "" when they are the same.
func sameDecoded(path string, a, b any) string {
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return fmt.Sprintf("%s: %T, want %T", path, a, b)
	}
	switch x := a.(type) {
	case float64:
		if math.Float64bits(x) != math.Float64bits(b.(float64)) {
			return fmt.Sprintf("%s: %v, want %v", path, x, b)
		}
	case []any:
		y := b.([]any)
		if len(x) != len(y) || (x == nil) != (y == nil) {
			return fmt.Sprintf("%s: %#v, want %#v", path, x, y)
		}
		for i := range x {
			if d := sameDecoded(fmt.Sprintf("%s[%d]", path, i), x[i], y[i]); d != "" {
				return d
			}
		}
	case map[string]any:
		y := b.(map[string]any)
		if len(x) != len(y) {
			return fmt.Sprintf("%s: %d fields, want %d", path, len(x), len(y))
		}
		for k := range y {
			if d := sameDecoded(path+"."+k, x[k], y[k]); d != "" {
				return d
			}
		}
	default:
		if !reflect.DeepEqual(a, b) || reflect.ValueOf(a).Kind() == reflect.Slice && reflect.ValueOf(a).IsNil() != reflect.ValueOf(b).IsNil() {
			return fmt.Sprintf("%s: %#v, want %#v", path, a, b)
		}
	}
	return ""
}

// The decoding a mutation keeps for the memory backend's readers is the
// decoding of the bytes it stores, type for type (an ID inside the
// document a string, the top-level _id an ID; empty arrays, bytes and
// objects not nil; floats bit for bit), and shares nothing mutable with
// the document it was made from. A value whose decoding it would not
// reproduce (a Go int, not canonical) keeps nothing.
func TestPrecachedDoc_EqualsDecoding(t *testing.T) {
	docs := []map[string]any{
		{"_id": "abc", "_creationTime": 1.5},
		{"_id": "abc", "_creationTime": 1.5, "s": "x", "i": int64(math.MinInt64), "f": math.Copysign(0, -1), "nan": math.Float64frombits(0x7ff8000000000123),
			"t": true, "n": nil, "u": value.Undefined, "ref": value.ID("k57abc"), "b": []byte("xy"), "eb": []byte{}, "ea": []any{}, "eo": map[string]any{},
			"a": []any{int64(1), "s", value.ID("id"), []any{[]byte("z")}, map[string]any{"_id": value.ID("nested")}},
			"o": map[string]any{"x": map[string]any{"y": []any{nil, 2.5}}}},
	}
	for i, doc := range docs {
		enc := mustStoredForm(t, doc)
		c := precachedDoc(doc, enc)
		if c == nil {
			t.Fatalf("doc %d: no decoding kept", i)
		}
		want, err := decodePublicDoc(enc, doc[fieldID].(string))
		if err != nil {
			t.Fatal(err)
		}
		if d := sameDecoded("doc", c.doc, want); d != "" {
			t.Fatalf("doc %d: the kept decoding differs from the bytes' at %s", i, d)
		}
		if c.size != len(enc) || c.deep != hasMutable(want) {
			t.Fatalf("doc %d: size %d deep %v, want %d %v", i, c.size, c.deep, len(enc), hasMutable(want))
		}
	}
	// Nothing mutable is shared with the writer's document.
	doc := docs[1]
	c := precachedDoc(doc, mustStoredForm(t, doc))
	doc["b"].([]byte)[0] = '!'
	doc["a"].([]any)[0] = "changed"
	doc["o"].(map[string]any)["x"].(map[string]any)["y"] = "changed"
	if d := sameDecoded("doc", c.doc, mustDecode(t, docs[1], c)); d == "" {
		t.Fatal("test setup: the writer's changes did not change its document")
	}
	if c.doc["b"].([]byte)[0] != 'x' || c.doc["a"].([]any)[0] != int64(1) || c.doc["o"].(map[string]any)["x"].(map[string]any)["y"] == "changed" {
		t.Fatalf("the kept decoding changed with the writer's document: %v", c.doc)
	}
	if c := precachedDoc(map[string]any{"_id": "abc", "_creationTime": 1.5, "n": 3}, nil); c != nil {
		t.Fatalf("a Go int kept a decoding: %v", c.doc)
	}
}

// mustStoredForm returns the stored form of doc (value.EncodeStoredDocument).
func mustStoredForm(t *testing.T, doc map[string]any) []byte {
	t.Helper()
	enc, err := value.EncodeStoredDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// mustDecode decodes the encoding of doc, for comparing it with c.
func mustDecode(t *testing.T, doc map[string]any, c *cachedDoc) map[string]any {
	t.Helper()
	m, err := decodePublicDoc(mustStoredForm(t, doc), doc[fieldID].(string))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// On the memory backend a committed version's by_id entry and its new
// index entries hold the decoding the mutation kept, bound to the by_id
// version's memo, before anybody read it: the first read decodes nothing.
// A patch that leaves an index key alone leaves that entry's memo on the
// old version, which is no longer current.
func TestPrecachedDoc_Commit_MemosHoldDecoding(t *testing.T) {
	db, id := openPrecacheNotes(t)
	ctx := context.Background()
	check := func(n int64, groupCurrent bool) {
		t.Helper()
		snap, err := db.store.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Release()
		ms := snap.(kv.MemoSnapshot)
		tab := db.cat.Load().tables["notes"]
		key := docKey(tab, string(id))
		_, m, ok, err := ms.GetMemo(key)
		if err != nil || !ok {
			t.Fatalf("GetMemo(by_id) = %v, %v", ok, err)
		}
		c, _ := m.Load().(*cachedDoc)
		if c == nil || c == readOnce || c.born != m.Born() || c.link.c.Load() != c {
			t.Fatalf("by_id memo holds %+v, want a decoding bound to it", c)
		}
		if c.doc["n"] != n || c.doc[fieldID] != id {
			t.Fatalf("kept decoding %v, want n=%d, _id %s", c.doc, n, id)
		}
		for _, ixName := range []string{"by_group", "by_n"} {
			ix, _ := tab.index(ixName)
			it := ms.Iter(ix.prefix, prefixEnd(ix.prefix), false)
			if !it.Next() {
				t.Fatalf("%s: no entry", ixName)
			}
			ec := currentLink(ms, it.(kv.MemoIterator).Memo())
			it.Close()
			current := ec != nil
			want := ixName == "by_n" || groupCurrent
			if current != want || current && ec != c {
				t.Fatalf("%s: memo leads to the current version: %v, want %v", ixName, current, want)
			}
		}
	}
	check(1, true)
	if err := db.Mutation(ctx, func(m *MutationCtx) error {
		return m.DB.Patch(id, Doc{"n": int64(2)})
	}); err != nil {
		t.Fatal(err)
	}
	check(2, false) // by_group's key did not change: its entry was not rewritten
}

// TestPrecachedDoc_Patch_OldVersionCollected: an index entry that a patch
// leaves alone (by_group, by_creation_time) links the version it was
// written with only through a link the patch empties, so once the patch
// replaced it and no snapshot holds it, the old version's decoding is
// garbage.
func TestPrecachedDoc_Patch_OldVersionCollected(t *testing.T) {
	db, id := openPrecacheNotes(t)
	ctx := context.Background()
	old := func() weak.Pointer[cachedDoc] {
		snap, err := db.store.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Release()
		_, m, ok, err := snap.(kv.MemoSnapshot).GetMemo(docKey(db.cat.Load().tables["notes"], string(id)))
		c, _ := m.Load().(*cachedDoc)
		if err != nil || !ok || c == nil {
			t.Fatalf("GetMemo(by_id) = %v, %v, %v", c, ok, err)
		}
		return weak.Make(c)
	}()
	if err := db.Mutation(ctx, func(m *MutationCtx) error {
		return m.DB.Patch(id, Doc{"n": int64(2)})
	}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		runtime.GC()
	}
	if old.Value() != nil {
		t.Fatal("the replaced version's decoding is still reachable (an index entry's link keeps it)")
	}
}

// openPrecacheNotes opens a memory DB whose notes table has the indexes
// by_group and by_n, and inserts one note {group: "g", n: 1}.
func openPrecacheNotes(t *testing.T) (*DB, ID) {
	t.Helper()
	s := DefineSchema(Tables{"notes": DefineTable(v.Object(v.Fields{
		"group": v.String(),
		"n":     v.Int64(),
	})).Index("by_group", "group").Index("by_n", "n")})
	db, err := OpenMemory(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var id ID
	if err := db.Mutation(context.Background(), func(m *MutationCtx) (err error) {
		id, err = m.DB.Insert("notes", Doc{"group": "g", "n": int64(1)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return db, id
}

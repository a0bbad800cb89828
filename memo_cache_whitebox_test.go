package livedb

import (
	"bytes"
	"context"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/v"
)

// On the memory backend, reads served from the decoded-document cache
// hand out private copies: scribbling on a Get or Collect result, nested
// arrays and objects included, never reaches the cached decoding, and every
// memo holds only *cachedDoc (the kv package doc's one-type rule), an index
// entry's memo linking the cached decoding of its document's version.
func TestCachedDoc_Memo_PrivateCopiesOneType(t *testing.T) {
	s := DefineSchema(Tables{"notes": DefineTable(v.Object(v.Fields{
		"group": v.String(),
		"tags":  v.Array(v.String()),
		"meta":  v.Object(v.Fields{"list": v.Array(v.Int64())}),
		"blob":  v.Bytes(),
	})).Index("by_group", "group")})
	db, err := OpenMemory(s)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	want := Doc{"group": "g", "tags": []any{"a"}, "meta": map[string]any{"list": []any{int64(1)}}, "blob": []byte("b")}
	var id ID
	if err := db.Mutation(ctx, func(m *MutationCtx) (err error) {
		id, err = m.DB.Insert("notes", Doc{"group": "g", "tags": []any{"a"}, "meta": map[string]any{"list": []any{int64(1)}}, "blob": []byte("b")})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	scribble := func(d Doc) {
		d["group"] = "x"
		d["tags"].([]any)[0] = "x"
		d["meta"].(map[string]any)["list"].([]any)[0] = int64(9)
		d["meta"].(map[string]any)["new"] = true
		d["blob"].([]byte)[0] = 'x'
	}
	same := func(what string, d Doc) {
		t.Helper()
		delete(d, fieldID)
		delete(d, fieldCreationTime)
		if !v.Equal(map[string]any(d), map[string]any(want)) {
			t.Fatalf("%s: got %v, want %v", what, d, want)
		}
	}
	for round := range 3 { // from the second read on, the version is cached
		if err := db.Query(ctx, func(q *QueryCtx) error {
			d, ok, err := q.DB.Get(id)
			if err != nil || !ok {
				t.Fatalf("round %d: Get = %v, %v", round, ok, err)
			}
			scribble(d)
			for _, ix := range []string{"by_group", "by_id"} {
				docs, err := q.DB.Query("notes").WithIndex(ix, nil).Collect()
				if err != nil || len(docs) != 1 {
					t.Fatalf("round %d: Collect %s = %d docs, %v", round, ix, len(docs), err)
				}
				scribble(docs[0])
			}
			d, _, _ = q.DB.Get(id)
			same("Get after scribbling", d)
			docs, _ := q.DB.Query("notes").WithIndex("by_group", nil).Collect()
			same("Collect after scribbling", docs[0])
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	tbl := db.cat.Load().tables["notes"]
	byGroup, _ := tbl.index("by_group")
	sn, err := db.store.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Release()
	ms := sn.(kv.MemoSnapshot)
	enc, docMemo, ok, err := ms.GetMemo(docKey(tbl, string(id)))
	if err != nil || !ok {
		t.Fatalf("GetMemo of the document: %v, %v", ok, err)
	}
	c, _ := docMemo.Load().(*cachedDoc)
	if c == nil || c == readOnce || c.born != docMemo.Born() || c.link.c.Load() != c {
		t.Fatalf("by_id memo holds %#v, want the cached decoding of its own version", docMemo.Load())
	}
	fresh, err := decodePublicDoc(enc, id)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Equal(c.doc, fresh) {
		t.Fatalf("cached decoding %v differs from the stored bytes' %v", c.doc, fresh)
	}
	it := sn.Iter(nil, nil, false).(kv.MemoIterator)
	defer it.Close()
	linked := 0
	for it.Next() {
		switch x := it.Memo().Load().(type) {
		case nil, *cachedDoc: // a version's own decoding
		case *docLink: // an index entry's link
			if bytes.HasPrefix(it.Key(), byGroup.prefix) {
				if x.c.Load() != c {
					t.Errorf("by_group entry %x links %p, want the document's cached decoding %p", it.Key(), x.c.Load(), c)
				}
				linked++
			}
		default:
			t.Errorf("memo of %x holds a %T, want only *cachedDoc or a link", it.Key(), x)
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if linked != 1 {
		t.Errorf("%d by_group entries link a cached decoding, want 1", linked)
	}
}

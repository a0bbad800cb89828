package livedb

import (
	"context"
	"testing"
	"unsafe"

	"github.com/livedb-go/livedb/internal/kv"
)

// pnote is a flat type of openPrecacheNotes's table.
type pnote struct {
	ID    Ref[pnote] `json:"_id"`
	Made  float64    `json:"_creationTime"`
	Group string     `json:"group"`
	N     int64      `json:"n"`
}

// pnoteDeep is a type of the same table that is not flat (a pointer
// field): its reads decode every time and keep nothing.
type pnoteDeep struct {
	Group *string `json:"group"`
	N     int64   `json:"n"`
}

// keptPnote returns the T kept with the current version of id for type
// typ, or nil when none is kept.
func keptPnote[T any](t *testing.T, db *DB, id ID) *T {
	t.Helper()
	snap, err := db.store.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	_, m, ok, err := snap.(kv.MemoSnapshot).GetMemo(docKey(db.cat.Load().tables["notes"], string(id)))
	if err != nil || !ok {
		t.Fatalf("GetMemo(%s) = %v, %v", id, ok, err)
	}
	c, _ := m.Load().(*cachedDoc)
	if c == nil || c == readOnce {
		t.Fatalf("version of %s: no decoding kept (%v)", id, c)
	}
	h := c.typed.Load()
	if h == nil {
		return nil
	}
	if h.typ != NewTable[T]("notes").typ {
		t.Fatalf("version of %s keeps a %v, want a %T", id, h.typ, *new(T))
	}
	return &(*typedKept[T])(unsafe.Pointer(h)).v
}

// TestTable_Write_KeepsItsT: on the memory backend, a version written
// through a Table of a flat T (Insert, Replace, Patch) is committed with
// its T kept, the T its first typed read would have kept: FromDoc of the
// document. One written through the map API, or through a Table of a T
// that is not flat, keeps none, as before.
func TestTable_Write_KeepsItsT(t *testing.T) {
	db, mapID := openPrecacheNotes(t)
	ctx := context.Background()
	notes := NewTable[pnote]("notes")
	check := func(what string, id ID, wantN int64) {
		t.Helper()
		k := keptPnote[pnote](t, db, id)
		if k == nil {
			t.Fatalf("%s: no T kept with the version written", what)
		}
		var d Doc
		if err := db.Query(ctx, func(q *QueryCtx) (err error) {
			d, _, err = q.DB.Get(id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		want, err := FromDoc[pnote](d)
		if err != nil {
			t.Fatal(err)
		}
		if *k != want || k.N != wantN {
			t.Fatalf("%s: kept %+v, want %+v (n %d)", what, *k, want, wantN)
		}
	}
	mutate := func(fn func(w *Writer) error) {
		t.Helper()
		if err := db.Mutation(ctx, func(m *MutationCtx) error { return fn(m.DB) }); err != nil {
			t.Fatal(err)
		}
	}

	if k := keptPnote[pnote](t, db, mapID); k != nil {
		t.Fatalf("a version written through the map API keeps %+v", *k)
	}
	var ref Ref[pnote]
	mutate(func(w *Writer) (err error) {
		ref, err = notes.Insert(w, pnote{Group: "g", N: 5})
		return err
	})
	check("Insert", ID(ref), 5)
	mutate(func(w *Writer) error { return notes.Patch(w, ref, Doc{"n": 6}) })
	check("Patch", ID(ref), 6)
	mutate(func(w *Writer) error { return notes.Replace(w, ref, pnote{Group: "h", N: 7}) })
	check("Replace", ID(ref), 7)
	// Written twice in one mutation: the committed version keeps the T of
	// the last write.
	mutate(func(w *Writer) error {
		if err := notes.Patch(w, ref, Doc{"n": 8}); err != nil {
			return err
		}
		return notes.Patch(w, ref, Doc{"n": 9})
	})
	check("two patches", ID(ref), 9)
	// A typed write, then a map write of the same document: the version
	// committed is the map write's, and keeps nothing.
	mutate(func(w *Writer) error {
		if err := notes.Patch(w, ref, Doc{"n": 10}); err != nil {
			return err
		}
		return w.Patch(ID(ref), Doc{"n": int64(11)})
	})
	if k := keptPnote[pnote](t, db, ID(ref)); k != nil {
		t.Fatalf("a version last written through the map API keeps %+v", *k)
	}

	deep := NewTable[pnoteDeep]("notes")
	var deepRef Ref[pnoteDeep]
	mutate(func(w *Writer) (err error) {
		deepRef, err = deep.Insert(w, pnoteDeep{N: 1, Group: new(string)})
		return err
	})
	if k := keptPnote[pnoteDeep](t, db, ID(deepRef)); k != nil {
		t.Fatalf("a version written through a Table of a type that is not flat keeps %+v", *k)
	}
}

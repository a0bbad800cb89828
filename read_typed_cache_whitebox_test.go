package livedb

import (
	"context"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
)

// precacheNote reads a note of openPrecacheNotes as a flat type.
type precacheNote struct {
	Group string `json:"group"`
	N     int64  `json:"n"`
}

// A cached version's first typed Get keeps no T, only marks the version;
// its second keeps the T it returns, and the third copies that one.
func TestTable_Get_SecondReadKeepsT(t *testing.T) {
	db, id := openPrecacheNotes(t)
	tb := NewTable[precacheNote]("notes")
	want := []string{"once", "kept", "kept"}
	for i, w := range want {
		err := db.Query(context.Background(), func(q *QueryCtx) error {
			x, ok, err := tb.Get(q.DB, Ref[precacheNote](id))
			if err == nil && (!ok || x != (precacheNote{Group: "g", N: 1})) {
				t.Errorf("read %d: %+v, %v", i, x, ok)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := mustTypedMark(t, db, id); got != w {
			t.Errorf("after read %d: the version's T is %s, want %s", i, got, w)
		}
	}
}

// mustTypedMark says what the cached version of note id holds for typed
// reads: "none", "once" (typedOnce) or "kept" (a typedKept).
func mustTypedMark(t *testing.T, db *DB, id ID) string {
	t.Helper()
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
	switch h := c.typed.Load(); {
	case h == nil:
		return "none"
	case h == typedOnce:
		return "once"
	case h.typ != nil:
		return "kept"
	}
	return "unknown"
}

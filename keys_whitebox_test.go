package livedb

import (
	"math"
	"testing"

	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/value"
)

// idTextLen must give the length of every ID of a table, for the table
// numbers at each VInt width.
func TestIDTextLen(t *testing.T) {
	for _, n := range []uint32{1, 127, 128, 10001, 1<<14 - 1, 1 << 14, 1<<21 - 1, 1 << 21, 1<<28 - 1, 1 << 28, math.MaxUint32} {
		if got, want := idTextLen(n), len(id.Encode(n, [16]byte{0xff})); got != want {
			t.Errorf("idTextLen(%d) = %d, want %d", n, got, want)
		}
	}
}

// indexEntryID reads the _id back from the end of every index key of a
// table, and refuses keys that do not end with an ID of the table.
func TestIndexEntryID(t *testing.T) {
	c := newCatalog()
	tbl := c.addTable("items")
	docID := id.Encode(tbl.number, [16]byte{1, 2, 3})
	doc := map[string]any{fieldID: value.ID(docID), fieldCreationTime: 1.5, "a": "x\x00y"}
	for _, ix := range tbl.indexes {
		k := indexKey(ix, doc)
		got, idKey, ok := indexEntryID(tbl, k)
		if !ok || string(got) != docID {
			t.Errorf("index %s: indexEntryID = %q, %v; want %q", ix.name, got, ok, docID)
		}
		if want := docKey(tbl, docID); string(append(append([]byte(nil), tbl.byID.prefix...), idKey...)) != string(want) {
			t.Errorf("index %s: by_id key from the entry differs from docKey", ix.name)
		}
	}
	k := indexKey(tbl.byTime, doc)
	for _, bad := range [][]byte{k[:len(k)-1], k[:10], append(append([]byte(nil), k[:len(k)-1]...), 'x')} {
		if got, _, ok := indexEntryID(tbl, bad); ok {
			t.Errorf("indexEntryID(%x) = %q, want a refusal", bad, got)
		}
	}
}

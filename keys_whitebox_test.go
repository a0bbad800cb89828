package livedb

import (
	"bytes"
	"testing"

	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/value"
)

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
	other := append(indexPrefix(999), k[len(tbl.byTime.prefix):]...) // no index of the table
	kb := indexKey(tbl.byID, doc)
	for _, bad := range [][]byte{k[:len(k)-1], k[:10], append(append([]byte(nil), k...), 'x'), other,
		kb[:len(kb)-1], append(append([]byte(nil), kb...), 'x')} {
		if got, _, ok := indexEntryID(tbl, bad); ok {
			t.Errorf("indexEntryID(%x) = %q, want a refusal", bad, got)
		}
	}
}

// TestIndexKeys_MatchIndexKey checks that indexKeys, which decodes the
// _id once for every index, gives each index the key indexKey gives it,
// for a document whose _id is an ID of its table and for one whose _id is
// not an ID (the engine never stores one; its text's sort key ends the
// keys).
func TestIndexKeys_MatchIndexKey(t *testing.T) {
	c := newCatalog()
	tbl := c.addTable("items")
	tbl.indexes = append(tbl.indexes, newIndexInfo(tbl, c.allocIndex(), "by_a", []string{"a"}))
	for _, docID := range []any{value.ID(id.Encode(tbl.number, [16]byte{1, 2, 3})), "not an id"} {
		doc := map[string]any{fieldID: docID, fieldCreationTime: 1.5, "a": "x"}
		keys := indexKeys(tbl, doc)
		for i, ix := range tbl.indexes {
			if want := indexKey(ix, doc); !bytes.Equal(keys[i], want) {
				t.Errorf("_id %v, index %s: indexKeys gives %x, indexKey %x", docID, ix.name, keys[i], want)
			}
		}
	}
}

// BenchmarkIndexKeys measures the keys of a document in the four indexes
// of a table (by_id, by_creation_time and two of its own), as a write
// makes them.
func BenchmarkIndexKeys(b *testing.B) {
	c := newCatalog()
	tbl := c.addTable("items")
	tbl.indexes = append(tbl.indexes, newIndexInfo(tbl, c.allocIndex(), "by_a", []string{"a"}), newIndexInfo(tbl, c.allocIndex(), "by_b", []string{"b"}))
	doc := map[string]any{fieldID: value.ID(id.Encode(tbl.number, [16]byte{1, 2, 3})), fieldCreationTime: 1.5, "a": "x", "b": "y"}
	b.ReportAllocs()
	for b.Loop() {
		indexKeys(tbl, doc)
	}
}

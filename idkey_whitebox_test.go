package livedb

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/value"
)

// TestIDBound_DecodeMatchesSearch checks idBound's decoding of an ID of
// the table against the search it replaces, on random IDs of small and
// large table numbers: the same internal id, and exact.
func TestIDBound_DecodeMatchesSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, table := range []uint32{1, 10001, 1 << 28} {
		for range 200 {
			var x [16]byte
			for i := range x {
				x[i] = byte(r.IntN(256))
			}
			s := id.Encode(table, x)
			got, gotExact := idBound(table, s)
			want, wantExact := idBoundSearch(table, s)
			if !bytes.Equal(got, want) || gotExact != wantExact || !gotExact || !bytes.Equal(got, x[:]) {
				t.Fatalf("idBound(%d, %q) = %x, %v; the search gives %x, %v; the id is %x", table, s, got, gotExact, want, wantExact, x)
			}
			// An ID of another table is a bound like any other string.
			got, gotExact = idBound(table+1, s)
			want, wantExact = idBoundSearch(table+1, s)
			if !bytes.Equal(got, want) || gotExact != wantExact {
				t.Fatalf("idBound(%d, %q) = %x, %v; the search gives %x, %v", table+1, s, got, gotExact, want, wantExact)
			}
		}
	}
}

// BenchmarkIDBound measures the bound of an _id range on an ID of the
// table (decoded) and on a string that is no ID (searched).
func BenchmarkIDBound(b *testing.B) {
	s := id.Encode(10001, [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	for _, c := range []struct{ name, s string }{{"id", s}, {"no-id", s[:len(s)-1]}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				idBound(10001, c.s)
			}
		})
	}
}

// TestAppendIndexEntryID checks the _id read from an index key when the
// reader knows the index: the ID of every index's key, and a refusal of a
// key of another index of the same table, which appendEntryID, looking
// the index up by the key's prefix, accepts.
func TestAppendIndexEntryID(t *testing.T) {
	c := newCatalog()
	tbl := c.addTable("items")
	// Two user indexes whose keys have the same shape: only the prefix
	// tells them apart.
	tbl.indexes = append(tbl.indexes, newIndexInfo(tbl, c.allocIndex(), "by_a", []string{"a"}), newIndexInfo(tbl, c.allocIndex(), "by_b", []string{"b"}))
	docID := id.Encode(tbl.number, [16]byte{1, 2, 3})
	doc := map[string]any{fieldID: value.ID(docID), fieldCreationTime: 1.5, "a": "x", "b": "x"}
	for _, ix := range tbl.indexes {
		k := indexKey(ix, doc)
		got, _, ok := appendIndexEntryID([]byte("buf"), ix, k)
		if !ok || string(got) != docID {
			t.Errorf("index %s: appendIndexEntryID = %q, %v; want %q", ix.name, got, ok, docID)
		}
		for _, other := range tbl.indexes {
			if other == ix {
				continue
			}
			if _, _, ok := appendEntryID(nil, tbl, k); !ok {
				t.Errorf("appendEntryID refuses a key of index %s", ix.name)
			}
			if got, _, ok := appendIndexEntryID(nil, other, k); ok {
				t.Errorf("appendIndexEntryID(%s) reads %q from a key of index %s, want a refusal", other.name, got, ix.name)
			}
		}
	}
}

// BenchmarkEntryID reads the _id of a key of a table's fourth index, with
// the index looked up by the key's prefix (appendEntryID) and given
// (appendIndexEntryID, as a scanner reads its rows).
func BenchmarkEntryID(b *testing.B) {
	c := newCatalog()
	tbl := c.addTable("items")
	tbl.indexes = append(tbl.indexes, newIndexInfo(tbl, c.allocIndex(), "by_a", []string{"a"}), newIndexInfo(tbl, c.allocIndex(), "by_b", []string{"b"}))
	ix := tbl.indexes[len(tbl.indexes)-1]
	k := indexKey(ix, map[string]any{fieldID: value.ID(id.Encode(tbl.number, [16]byte{1, 2, 3})), fieldCreationTime: 1.5, "b": "x"})
	buf := make([]byte, 0, 64)
	b.Run("by-key", func(b *testing.B) {
		for b.Loop() {
			appendEntryID(buf[:0], tbl, k)
		}
	})
	b.Run("by-index", func(b *testing.B) {
		for b.Loop() {
			appendIndexEntryID(buf[:0], ix, k)
		}
	})
}

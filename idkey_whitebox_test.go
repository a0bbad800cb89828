package livedb

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/livedb-go/livedb/internal/id"
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

package id_test

import (
	"testing"

	"github.com/livedb-go/livedb/internal/id"
)

func BenchmarkIDEncode(b *testing.B) {
	internal := [16]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	b.ReportAllocs()
	for b.Loop() {
		_ = id.Encode(id.FirstUserTableNumber, internal)
	}
}

func BenchmarkIDDecode(b *testing.B) {
	s := id.Encode(id.FirstUserTableNumber, [16]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := id.Decode(s); err != nil {
			b.Fatal(err)
		}
	}
}

package memkv_test

import (
	"fmt"
	"testing"

	"github.com/livedb-go/livedb/internal/kv/kvtest"
	"github.com/livedb-go/livedb/internal/kv/memkv"
)

// benchKeys is the size of the stores read by the read benchmarks.
const benchKeys = 100_000

func BenchmarkStoreCommit(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			s := memkv.New()
			defer s.Close()
			kvtest.BenchCommit(b, s, n)
		})
	}
}

func BenchmarkStoreSnapshot(b *testing.B) {
	s := memkv.New()
	defer s.Close()
	kvtest.Fill(b, s, benchKeys)
	kvtest.BenchSnapshot(b, s)
}

func BenchmarkSnapshotGet(b *testing.B) {
	s := memkv.New()
	defer s.Close()
	kvtest.Fill(b, s, benchKeys)
	kvtest.BenchSnapshotGet(b, s, benchKeys)
}

func BenchmarkIterator(b *testing.B) {
	s := memkv.New()
	defer s.Close()
	kvtest.Fill(b, s, benchKeys)
	for _, reverse := range []bool{false, true} {
		b.Run(fmt.Sprintf("reverse=%v", reverse), func(b *testing.B) {
			kvtest.BenchIterator(b, s, benchKeys, reverse)
		})
	}
}

package bboltkv_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/internal/kv/kvtest"
)

// benchKeys is the size of the stores read by the read benchmarks.
const benchKeys = 100_000

func openBench(b *testing.B, noSync bool) *bboltkv.Store {
	b.Helper()
	s, err := bboltkv.Open(filepath.Join(b.TempDir(), "bench.db"), &bboltkv.Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func BenchmarkStoreCommit(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		for _, n := range []int{1, 1000} {
			b.Run(fmt.Sprintf("sync=%v/keys=%d", !noSync, n), func(b *testing.B) {
				kvtest.BenchCommit(b, openBench(b, noSync), n)
			})
		}
	}
}

func BenchmarkStoreSnapshot(b *testing.B) {
	s := openBench(b, true)
	kvtest.Fill(b, s, benchKeys)
	kvtest.BenchSnapshot(b, s)
}

func BenchmarkSnapshotGet(b *testing.B) {
	s := openBench(b, true)
	kvtest.Fill(b, s, benchKeys)
	kvtest.BenchSnapshotGet(b, s, benchKeys)
}

func BenchmarkIterator(b *testing.B) {
	s := openBench(b, true)
	kvtest.Fill(b, s, benchKeys)
	for _, reverse := range []bool{false, true} {
		b.Run(fmt.Sprintf("reverse=%v", reverse), func(b *testing.B) {
			kvtest.BenchIterator(b, s, benchKeys, reverse)
		})
	}
}

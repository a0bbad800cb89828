package memkv_test

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/livedb-go/livedb/internal/kv/kvtest"
	"github.com/livedb-go/livedb/internal/kv/memkv"
)

// BenchmarkSnapshotGetFirst measures the first Get of each key of a store
// Fill filled, in random order, one snapshot per Get as a read
// transaction takes: a point read of a document no read found before. Run
// it with -benchtime 100000x or less.
func BenchmarkSnapshotGetFirst(b *testing.B) {
	s := memkv.New()
	defer s.Close()
	kvtest.Fill(b, s, benchKeys)
	order := rand.New(rand.NewPCG(1, 2)).Perm(benchKeys)
	key := []byte("tbl/01234567")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(order) {
			b.Fatal("more iterations than keys: use -benchtime 100000x or less")
		}
		binary.BigEndian.PutUint64(key[4:], uint64(order[i]))
		i++
		kvtest.PointGet(b, s, key)
	}
}

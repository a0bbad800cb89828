package kvtest

import (
	"encoding/binary"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
)

// benchValue is the value written by the benchmarks: 100 bytes, about a
// small document.
var benchValue = make([]byte, 100)

// benchKey writes the key of document i into dst: a 4-byte table prefix
// and a big-endian counter, so that consecutive keys are adjacent like
// consecutive IDs of one table.
func benchKey(dst []byte, i uint64) []byte {
	dst = append(dst[:0], "tbl/"...)
	return binary.BigEndian.AppendUint64(dst, i)
}

// BenchCommit measures Commit of batches of perCommit new keys, each
// carrying a 100-byte value. One b.Loop iteration is one Commit.
func BenchCommit(b *testing.B, s kv.Store, perCommit int) {
	b.ReportAllocs()
	keys := make([][]byte, perCommit)
	var batch kv.Batch
	next := uint64(0)
	for b.Loop() {
		batch.Reset()
		for j := range keys {
			keys[j] = benchKey(keys[j], next)
			next++
			batch.Put(keys[j], benchValue)
		}
		if err := s.Commit(&batch); err != nil {
			b.Fatal(err)
		}
	}
}

// Fill commits the n first keys of the benchmark key space ("tbl/" and an
// 8-byte big-endian counter), each with a 100-byte value, in batches of
// 1000.
func Fill(tb testing.TB, s kv.Store, n int) {
	tb.Helper()
	var batch kv.Batch
	for i := 0; i < n; i += 1000 {
		batch.Reset()
		for j := i; j < min(n, i+1000); j++ {
			batch.Put(benchKey(nil, uint64(j)), benchValue)
		}
		if err := s.Commit(&batch); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchSnapshotGet measures Get of random present keys on one open
// snapshot of a store that Fill filled with n keys.
func BenchSnapshotGet(b *testing.B, s kv.Store, n int) {
	sn, err := s.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	defer sn.Release()
	b.ReportAllocs()
	key := benchKey(nil, 0)
	i := uint64(0)
	for b.Loop() {
		i = (i*2862933555777941757 + 3037000493) // cheap pseudo-random walk
		key = benchKey(key, i%uint64(n))
		if _, ok, err := sn.Get(key); err != nil || !ok {
			b.Fatalf("Get(%x) = %v, %v", key, ok, err)
		}
	}
}

// BenchSnapshot measures opening and releasing a snapshot.
func BenchSnapshot(b *testing.B, s kv.Store) {
	b.ReportAllocs()
	for b.Loop() {
		sn, err := s.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		sn.Release()
	}
}

// BenchIterator measures a scan of 100 consecutive keys, starting at a
// pseudo-random key of a store that Fill filled with n keys: one b.Loop
// iteration opens the iterator, reads 100 entries and closes it.
func BenchIterator(b *testing.B, s kv.Store, n int, reverse bool) {
	const scan = 100
	sn, err := s.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	defer sn.Release()
	b.ReportAllocs()
	start, end := benchKey(nil, 0), benchKey(nil, 0)
	i := uint64(0)
	for b.Loop() {
		i = (i*2862933555777941757 + 3037000493)
		first := i % uint64(n-scan)
		start, end = benchKey(start, first), benchKey(end, first+scan)
		it := sn.Iter(start, end, reverse)
		got := 0
		for it.Next() {
			got += len(it.Value())
		}
		if err := it.Err(); err != nil || got != scan*len(benchValue) {
			b.Fatalf("scan read %d bytes, err %v", got, err)
		}
		it.Close()
	}
}

// PointGet reads present key as a point read transaction does: a
// snapshot of its own, one Get, the release.
func PointGet(b *testing.B, s kv.Store, key []byte) {
	sn, err := s.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	if _, ok, err := sn.Get(key); err != nil || !ok {
		b.Fatalf("Get(%x) = %v, %v", key, ok, err)
	}
	sn.Release()
}

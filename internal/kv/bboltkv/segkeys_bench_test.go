package bboltkv_test

import (
	"fmt"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
)

// benchIndexKey returns the key of entry i of an index on a string column
// over n entries: 100 entries per value, as bench's by_workflow has.
func benchIndexKey(i, n int) []byte {
	return fmt.Appendf([]byte{0x01, 0, 0, 0, 3}, "\x10wf%030d\x00\x0d%08d", i%(n/100), i)
}

// mustFillIndex commits n entries of benchIndexKey, 10,000 a batch.
func mustFillIndex(b *testing.B, s kv.Store, n int) {
	b.Helper()
	var batch kv.Batch
	for i := range n {
		batch.Put(benchIndexKey(i, n), []byte("v"))
		if batch.Len() == 10_000 || i == n-1 {
			if err := s.Commit(&batch); err != nil {
				b.Fatal(err)
			}
			batch.Reset()
		}
	}
}

// benchIndexSnapshot returns a snapshot of a store filled with benchKeys
// index entries, released when the benchmark ends.
func benchIndexSnapshot(b *testing.B) kv.Snapshot {
	s := openBench(b, true)
	mustFillIndex(b, s, benchKeys)
	sn, err := s.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sn.Release)
	return sn
}

// BenchmarkSegmentGet reads index entries by key: a point read in a
// segment.
func BenchmarkSegmentGet(b *testing.B) {
	sn := benchIndexSnapshot(b)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := sn.Get(benchIndexKey(i*7919%benchKeys, benchKeys)); err != nil || !ok {
			b.Fatalf("Get: %v, %v", ok, err)
		}
		i++
	}
}

// BenchmarkSegmentScan scans the entries of one value of the index (an
// equality on its column), the first rows of them or all 100.
func BenchmarkSegmentScan(b *testing.B) {
	sn := benchIndexSnapshot(b)
	for _, rows := range []int{10, 100} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				v := i * 7919 % (benchKeys / 100)
				i++
				start := fmt.Appendf([]byte{0x01, 0, 0, 0, 3}, "\x10wf%030d\x00", v)
				end := fmt.Appendf([]byte{0x01, 0, 0, 0, 3}, "\x10wf%030d\x01", v)
				it := sn.Iter(start, end, false)
				n := 0
				for n < rows && it.Next() {
					n++
				}
				if err := it.Err(); err != nil || n != rows {
					b.Fatalf("scanned %d rows (%v), want %d", n, err, rows)
				}
				it.Close()
			}
		})
	}
}

package livedb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
)

// BenchmarkSubscriptionLatency measures commit-to-update latency: one
// subscription watches the range a mutation writes, the others (0, 99 or
// 9,999) watch other ranges of the same index. The data is the same for
// every count: one item in each of 10,000 ranges. An op is the mutation plus
// the wait for the watching subscription's update; lag-ns/op is the part
// after the mutation returned (the update is often there already). The
// bbolt-fsync variant is the durable setup; memory isolates the engine's
// own cost.
func BenchmarkSubscriptionLatency(b *testing.B) {
	for _, backend := range []string{"bbolt-fsync", "memory"} {
		for _, subs := range []int{1, 100, 10000} {
			b.Run(fmt.Sprintf("%s/subs=%d", backend, subs), func(b *testing.B) {
				db := rxBenchOpen(b, backend)
				ctx := context.Background()
				id := rxBenchFill(b, db, rxBenchRanges)
				watch, err := livedb.Subscribe(ctx, db, rxBucketFn(0))
				if err != nil {
					b.Fatal(err)
				}
				<-watch.Updates()
				for i := 1; i < subs; i++ {
					s, err := livedb.Subscribe(ctx, db, rxBucketFn(int64(i)))
					if err != nil {
						b.Fatal(err)
					}
					<-s.Updates()
				}
				b.ReportAllocs()
				var lag time.Duration
				n := int64(0)
				for b.Loop() {
					n++
					ts, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
						return m.DB.Patch(id, livedb.Doc{"n": n})
					})
					if err != nil {
						b.Fatal(err)
					}
					returned := time.Now()
					for {
						u := <-watch.Updates()
						if u.Err != nil {
							b.Fatal(u.Err)
						}
						if u.Timestamp >= ts {
							break
						}
					}
					lag += time.Since(returned)
				}
				b.ReportMetric(float64(lag.Nanoseconds())/float64(b.N), "lag-ns/op")
				if livedb.SubscriptionReruns(watch) != int64(b.N) {
					b.Fatalf("the watching subscription re-ran %d times for %d commits", livedb.SubscriptionReruns(watch), b.N)
				}
			})
		}
	}
}

// BenchmarkSubscriptionMemory measures the heap one subscription keeps: an
// op subscribes to a range of its own; B/sub is the live heap growth per
// subscription, the interval index included, after a GC.
func BenchmarkSubscriptionMemory(b *testing.B) {
	db := rxBenchOpen(b, "memory")
	ctx := context.Background()
	var subs []*livedb.Subscription[map[livedb.ID]int64]
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	for b.Loop() {
		s, err := livedb.Subscribe(ctx, db, rxBucketFn(int64(len(subs))))
		if err != nil {
			b.Fatal(err)
		}
		subs = append(subs, s)
	}
	// One commit builds the interval index over every subscription.
	_, ts := rxBenchInsert(b, db, 0, 1)
	for u := range subs[0].Updates() {
		if u.Timestamp >= ts {
			break
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(len(subs)), "B/sub")
	runtime.KeepAlive(subs)
}

// rxBenchOpen opens a benchmark database: "memory", "bbolt-fsync", or
// "bbolt" (without fsync).
func rxBenchOpen(b *testing.B, backend string) *livedb.DB {
	b.Helper()
	var db *livedb.DB
	var err error
	switch backend {
	case "memory":
		db, err = livedb.OpenMemory(rxSchema())
	case "bbolt-fsync":
		db, err = livedb.Open(filepath.Join(b.TempDir(), "bench.db"), rxSchema(), nil)
	case "bbolt":
		db, err = livedb.Open(filepath.Join(b.TempDir(), "bench.db"), rxSchema(), &livedb.Options{NoSync: true})
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// rxBenchInsert inserts an item.
func rxBenchInsert(b *testing.B, db *livedb.DB, bucket, n int64) (livedb.ID, uint64) {
	b.Helper()
	var id livedb.ID
	ts, err := db.MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
		var err error
		id, err = m.DB.Insert("items", livedb.Doc{"bucket": bucket, "n": n})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return id, ts
}

// rxBenchRanges is how many ranges (buckets) the subscription benchmarks
// fill, one item each.
const rxBenchRanges = 10000

// rxBenchFill inserts one item in each of buckets 0 to n-1 and returns the
// ID of bucket 0's.
func rxBenchFill(b *testing.B, db *livedb.DB, n int) livedb.ID {
	b.Helper()
	var first livedb.ID
	err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		for i := range n {
			id, err := m.DB.Insert("items", livedb.Doc{"bucket": int64(i), "n": int64(0)})
			if err != nil {
				return err
			}
			if i == 0 {
				first = id
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return first
}

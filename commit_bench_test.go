package livedb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/livedb-go/livedb"
)

// BenchmarkMutationThroughput measures mutations per second with 1, 8 and
// 32 concurrent writers on a bbolt file with fsync, each mutation inserting
// one document. Group commit writes the mutations that queue up while a
// storage commit syncs, and those of the mutations still running, in one
// bbolt transaction and one fsync, so more writers means more mutations
// per fsync: compare ops/s across writer counts.
func BenchmarkMutationThroughput(b *testing.B) {
	for _, writers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			db, err := livedb.Open(filepath.Join(b.TempDir(), "bench.db"), rxSchema(), nil) // fsync on
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			work := make(chan int)
			errs := make(chan error, writers)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range work {
						err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
							_, err := m.DB.Insert("items", livedb.Doc{"bucket": int64(w), "n": int64(i)})
							return err
						})
						if err != nil {
							errs <- err
							return
						}
					}
				})
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				select {
				case work <- i: // blocks while every writer is busy
				case err := <-errs:
					b.Fatal(err)
				}
				i++
			}
			close(work)
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

package livedb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
)

// BenchmarkMutationHotSpotQueue measures claims of "the oldest pending
// task" by 1, 8 and 32 workers at once: b.N tasks, claimed until none is
// left. Retries are unbounded (as by default), so that the figure is the
// same measurement before and after mutations ran alone.
func BenchmarkMutationHotSpotQueue(b *testing.B) {
	for _, store := range []string{"memory", "bbolt"} {
		for _, workers := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("%s/workers=%d", store, workers), func(b *testing.B) {
				opts := &livedb.Options{MaxRetries: 1 << 30, NoSync: true}
				var db *livedb.DB
				var err error
				if store == "memory" {
					db, err = livedb.OpenMemory(queueSchema(), opts)
				} else {
					db, err = livedb.Open(filepath.Join(b.TempDir(), "q.db"), queueSchema(), opts)
				}
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				fillQueue(b, db, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for w := range workers {
					wg.Go(func() {
						for {
							ok, _, err := claimOldest(context.Background(), db, w)
							if err != nil {
								b.Error(err)
								return
							}
							if !ok {
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "claims/s")
			})
		}
	}
}

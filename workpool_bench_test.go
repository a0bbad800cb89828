package livedb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
	"github.com/livedb-go/livedb/workpool"
)

// The work pool's benchmarks run on bbolt with fsync (the default), where
// a commit costs what it costs in production. Each reports items/s, and
// retries/item: the mutations livedb re-ran after a conflict. They do not
// use b.Loop: the b.N items are enqueued before the timer starts and
// worked on by goroutines until none is left.

// BenchmarkPoolWork measures the throughput of a pool: b.N items, each
// leased by a worker, worked on (nothing to do) and completed, with 1, 8
// and 32 workers.
func BenchmarkPoolWork(b *testing.B) {
	for _, workers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			db, err := livedb.Open(filepath.Join(b.TempDir(), "pool.db"), poolSchema(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			r, err := db.StartScheduler(poolFunctions(b), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			pool := workpool.New("bench", &workpool.Options{MaxParallelism: workers, Lease: time.Hour})
			for start := 0; start < b.N; start += 500 {
				err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					for i := start; i < min(b.N, start+500); i++ {
						if _, err := pool.Enqueue(m, livedb.Doc{"n": float64(i)}, nil); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			before := db.Stats()
			var done atomic.Int64
			all := make(chan struct{})
			ctx, cancel := context.WithCancel(context.Background())
			workDone := make(chan error, 1)
			b.ResetTimer()
			start := time.Now()
			go func() {
				workDone <- pool.Work(ctx, r, func(context.Context, *workpool.Item) (any, error) {
					if done.Add(1) == int64(b.N) {
						close(all)
					}
					return nil, nil
				})
			}()
			<-all
			waitPoolEmpty(b, db, "bench")
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			if err := <-workDone; err != nil {
				b.Fatal(err)
			}
			after := db.Stats()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "items/s")
			b.ReportMetric(float64(after.Retries-before.Retries)/float64(b.N), "retries/item")
		})
	}
}

// waitPoolEmpty waits until no item of pool is pending or running.
func waitPoolEmpty(tb testing.TB, db *livedb.DB, pool string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sub, err := livedb.Subscribe(ctx, db, func(q *livedb.QueryCtx) (bool, error) {
		for _, st := range []string{"pending", "running"} {
			_, ok, err := q.DB.Query(workpool.ItemsTable).WithIndex("by_ready", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("pool", pool).Eq("state", st)
			}).First()
			if err != nil || ok {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	defer sub.Close()
	for u := range sub.Updates() {
		if u.Err != nil {
			tb.Fatal(u.Err)
		}
		if u.Value {
			return
		}
	}
	tb.Fatalf("the pool did not empty: %v", ctx.Err())
}

// handQueueSchema is the table of a hand-written queue.
func handQueueSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"tasks": livedb.DefineTable(v.Object(v.Fields{
			"n":      v.Float64(),
			"status": v.Union(v.Literal("pending"), v.Literal("running"), v.Literal("done")),
			"worker": v.Optional(v.Float64()),
		})).Index("by_status", "status"),
	})
}

// BenchmarkHandClaimLoop is BenchmarkPoolWork's workload with the loop a
// user writes without the pool: each worker claims the oldest pending
// task (a mutation that reads it and marks it running), works on it, and
// marks it done (a second mutation). Every worker reads the same first
// pending row, so claims conflict; livedb retries them (and runs one alone
// after three conflicts), so none fails.
func BenchmarkHandClaimLoop(b *testing.B) {
	for _, workers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			db, err := livedb.Open(filepath.Join(b.TempDir(), "hand.db"), handQueueSchema(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			for start := 0; start < b.N; start += 500 {
				err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					for i := start; i < min(b.N, start+500); i++ {
						if _, err := m.DB.Insert("tasks", livedb.Doc{"n": float64(i), "status": "pending"}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			before := db.Stats()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for {
						id, err := livedb.MutationValue(context.Background(), db, func(m *livedb.MutationCtx) (livedb.ID, error) {
							d, ok, err := m.DB.Query("tasks").WithIndex("by_status", func(r livedb.IndexRange) livedb.IndexRange {
								return r.Eq("status", "pending")
							}).First()
							if err != nil || !ok {
								return "", err
							}
							return d.ID(), m.DB.Patch(d.ID(), livedb.Doc{"status": "running", "worker": float64(w)})
						})
						if err != nil {
							b.Error(err)
							return
						}
						if id == "" {
							return
						}
						if err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
							return m.DB.Patch(id, livedb.Doc{"status": "done"})
						}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			after := db.Stats()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "items/s")
			b.ReportMetric(float64(after.Retries-before.Retries)/float64(b.N), "retries/item")
		})
	}
}

// BenchmarkSchedulerDelay measures how late scheduled functions start: b.N
// functions due 2 ms apart (from 50 ms on) on the system clock, each
// recording when it started; it reports the delay from due time to start,
// p50 and p99, in ms.
func BenchmarkSchedulerDelay(b *testing.B) {
	type dueArgs struct {
		Key string  `json:"key"`
		Due float64 `json:"due"` // ms since the Unix epoch
	}
	var mu sync.Mutex
	started := map[string]float64{}
	fn := livedb.NewMutation(livedb.FunctionDef[dueArgs, any]{Name: "bench:due", Internal: true},
		func(m *livedb.MutationCtx, a dueArgs) (any, error) {
			late := float64(time.Now().UnixNano())/1e6 - a.Due
			mu.Lock()
			started[a.Key] = late // the run that commits writes it last
			mu.Unlock()
			_, err := m.DB.Insert("effects", livedb.Doc{"tag": a.Key})
			return nil, err
		})
	reg, err := livedb.NewRegistry(fn)
	if err != nil {
		b.Fatal(err)
	}
	db, err := livedb.Open(filepath.Join(b.TempDir(), "delay.db"), schedSchema(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	r, err := db.StartScheduler(reg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	sub, err := livedb.Subscribe(context.Background(), db, func(q *livedb.QueryCtx) (int, error) {
		docs, err := q.DB.Query("effects").Collect()
		return len(docs), err
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	b.ResetTimer()
	base := time.Now().Add(50 * time.Millisecond)
	for start := 0; start < b.N; start += 500 {
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			for i := start; i < min(b.N, start+500); i++ {
				due := base.Add(time.Duration(i) * 2 * time.Millisecond)
				args := dueArgs{Key: fmt.Sprint(i), Due: float64(due.UnixNano()) / 1e6}
				if _, err := m.Scheduler().RunAt(due, "bench:due", args); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for u := range sub.Updates() {
		if u.Err != nil {
			b.Fatal(u.Err)
		}
		if u.Value == b.N {
			break
		}
	}
	b.StopTimer()
	mu.Lock()
	delays := make([]float64, 0, len(started))
	for _, d := range started {
		delays = append(delays, d)
	}
	mu.Unlock()
	slices.Sort(delays)
	b.ReportMetric(delays[len(delays)/2], "p50-ms")
	b.ReportMetric(delays[min(len(delays)-1, len(delays)*99/100)], "p99-ms")
}

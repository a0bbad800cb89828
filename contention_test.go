package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// queueSchema is the agent task queue every new user writes first.
func queueSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"tasks": livedb.DefineTable(v.Object(v.Fields{
			"title":  v.String(),
			"status": v.Union(v.Literal("pending"), v.Literal("claimed")),
			"worker": v.Optional(v.Int64()),
		})).Index("by_status", "status"),
	})
}

// fillQueue inserts n pending tasks.
func fillQueue(tb testing.TB, db *livedb.DB, n int) {
	tb.Helper()
	for start := 0; start < n; start += 1000 {
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			for i := start; i < min(n, start+1000); i++ {
				if _, err := m.DB.Insert("tasks", livedb.Doc{"title": fmt.Sprintf("task %d", i), "status": "pending"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// claimOldest claims the oldest pending task for worker w, reporting false
// when none is left, and how many times its function ran.
func claimOldest(ctx context.Context, db *livedb.DB, w int) (claimed bool, runs int, err error) {
	err = db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		runs++
		d, ok, err := m.DB.Query("tasks").WithIndex("by_status", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Eq("status", "pending")
		}).First()
		if err != nil || !ok {
			claimed = false
			return err
		}
		claimed = true
		return m.DB.Patch(d.ID(), livedb.Doc{"status": "claimed", "worker": int64(w)})
	})
	return claimed, runs, err
}

// A hot-spot queue: every worker claims "the oldest pending task" until
// none is left. Under the default options no claim fails with a conflict,
// every task is claimed exactly once, and no worker starves: every claim
// commits within exclusiveAfter optimistic runs and one run alone (a run
// alone can only be cut short by a pause that outlasted 100 ms, which would
// add one run: the bound allows it once).
func TestDB_Mutation_HotSpotQueue_Progress(t *testing.T) {
	for _, workers := range []int{3, 32, 128} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			forEachBackend(t, queueSchema(), func(t *testing.T, db *livedb.DB) {
				tasks := workers * 4
				fillQueue(t, db, tasks)
				ctx := context.Background()
				var mu sync.Mutex
				claims := make([]int, workers)
				var maxRuns int
				var errs []error
				var wg sync.WaitGroup
				for w := range workers {
					wg.Go(func() {
						for {
							ok, runs, err := claimOldest(ctx, db, w)
							mu.Lock()
							maxRuns = max(maxRuns, runs)
							if err != nil {
								errs = append(errs, err)
							}
							if ok && err == nil {
								claims[w]++
							}
							mu.Unlock()
							if err != nil || !ok {
								return
							}
						}
					})
				}
				wg.Wait()
				for _, err := range errs {
					var ce *livedb.ConflictError
					if errors.As(err, &ce) {
						t.Fatalf("a claim failed with a conflict under default options: %v", err)
					}
					t.Fatal(err)
				}
				total := 0
				for _, n := range claims {
					total += n
				}
				if total != tasks {
					t.Fatalf("%d claims, want %d", total, tasks)
				}
				byWorker := map[int64]int{}
				for _, d := range mustCollect(t, db, "tasks") {
					if d["status"] != "claimed" {
						t.Fatalf("task %v is not claimed", d)
					}
					byWorker[d["worker"].(int64)]++
				}
				for w, n := range claims {
					if byWorker[int64(w)] != n {
						t.Fatalf("worker %d made %d claims, the tasks say %d", w, n, byWorker[int64(w)])
					}
				}
				if maxRuns > 5 {
					t.Fatalf("a claim ran %d times; every mutation commits within 4 runs (5 with one pause cut short)", maxRuns)
				}
				st := db.Stats()
				t.Logf("max runs of one claim %d; stats: commits %d in %d groups, retries %d, alone %d, conflicts %v",
					maxRuns, st.Commits, st.Groups, st.Retries, st.Alone, st.Conflicts)
			})
		})
	}
}

// With a retry limit, a conflict is an error that names the table, the
// index and the range read, and counts the attempts; Stats count it.
func TestDB_Mutation_ConflictError_NamesRange(t *testing.T) {
	forEachBackendOptions(t, queueSchema(), &livedb.Options{MaxRetries: 1}, func(t *testing.T, db *livedb.DB) {
		fillQueue(t, db, 2)
		ctx := context.Background()
		err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			d, _, err := m.DB.Query("tasks").WithIndex("by_status", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("status", "pending")
			}).First()
			if err != nil {
				return err
			}
			// Another claim commits first, every time.
			if _, _, err := claimOldest(ctx, db, 9); err != nil {
				return err
			}
			return m.DB.Patch(d.ID(), livedb.Doc{"status": "claimed", "worker": int64(1)})
		})
		var ce *livedb.ConflictError
		if !errors.As(err, &ce) || !errors.Is(err, livedb.ErrConflict) {
			t.Fatalf("err = %v, want a ConflictError", err)
		}
		if ce.Table != "tasks" || ce.Index != "by_status" || ce.Retries != 1 || ce.ID == "" {
			t.Fatalf("ConflictError = %+v", ce)
		}
		for _, s := range []string{`"pending"`, "2 attempts", "tasks.by_status"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not say %s", err, s)
			}
		}
		st := db.Stats()
		if st.ConflictErrors != 1 || st.Conflicts["tasks.by_status"] != 2 || st.Retries != 1 {
			t.Fatalf("stats = %+v", st)
		}
	})
}

// A context that ends while a mutation backs off after conflicts gives a
// ConflictError that also wraps the context's error. Virtual time: the
// deadline (1.5 ms) falls in the second backoff (at least 1 ms, after a
// first one of at least 0.5 ms).
func TestDB_Mutation_ConflictError_ContextEnds(t *testing.T) {
	for _, b := range bubbleBackends() {
		t.Run(b, func(t *testing.T) {
			rxSynctest(t, func(t *testing.T) {
				db := openBackend(t, b, queueSchema(), nil)
				fillQueue(t, db, 1)
				ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Microsecond)
				defer cancel()
				runs := 0
				err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
					runs++
					d, _, err := m.DB.Query("tasks").First()
					if err != nil {
						return err
					}
					// Another mutation writes what this one read, every time.
					if err := db.Mutation(context.Background(), func(m2 *livedb.MutationCtx) error {
						return m2.DB.Patch(d.ID(), livedb.Doc{"title": fmt.Sprint(runs)})
					}); err != nil {
						return err
					}
					return m.DB.Patch(d.ID(), livedb.Doc{"status": "claimed"})
				})
				var ce *livedb.ConflictError
				if !errors.As(err, &ce) || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, livedb.ErrConflict) {
					t.Fatalf("err = %v, want a ConflictError wrapping the deadline", err)
				}
				if runs != 2 || ce.Retries != 1 || !strings.Contains(err.Error(), "deadline") {
					t.Fatalf("runs = %d, ConflictError = %+v (%v)", runs, ce, err)
				}
			})
		})
	}
}

// A mutation that conflicted three times runs alone on its fourth run, and
// commits: nothing can commit between its snapshot and its commit.
func TestDB_Mutation_RunsAloneAfterThreeConflicts(t *testing.T) {
	forEachBackend(t, queueSchema(), func(t *testing.T, db *livedb.DB) {
		fillQueue(t, db, 1)
		ctx := context.Background()
		runs := 0
		err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			runs++
			d, _, err := m.DB.Query("tasks").First()
			if err != nil {
				return err
			}
			if runs <= 3 { // another mutation overtakes the first three runs
				if err := db.Mutation(ctx, func(m2 *livedb.MutationCtx) error {
					return m2.DB.Patch(d.ID(), livedb.Doc{"title": fmt.Sprint("overtaken ", runs)})
				}); err != nil {
					return err
				}
			}
			return m.DB.Patch(d.ID(), livedb.Doc{"status": "claimed", "worker": int64(runs)})
		})
		if err != nil {
			t.Fatal(err)
		}
		st := db.Stats()
		if runs != 4 || st.Alone != 1 || st.Retries != 3 {
			t.Fatalf("runs = %d, stats = %+v; want 4 runs, the last alone", runs, st)
		}
		docs := mustCollect(t, db, "tasks")
		if docs[0]["worker"] != int64(4) || docs[0]["title"] != "overtaken 3" {
			t.Fatalf("task = %v", docs[0])
		}
	})
}

package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// rxSchema is the schema of the concurrency, subscription and change-feed
// tests: bank accounts, shared counters, items split into buckets (the
// disjoint index ranges subscriptions watch), and an unrelated table.
func rxSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"accounts": livedb.DefineTable(v.Object(v.Fields{
			"owner":   v.String(),
			"balance": v.Int64(),
		})).Index("by_owner", "owner"),
		"counters": livedb.DefineTable(v.Object(v.Fields{
			"name":  v.String(),
			"value": v.Int64(),
		})).Index("by_name", "name"),
		"items": livedb.DefineTable(v.Object(v.Fields{
			"bucket": v.Int64(),
			"n":      v.Int64(),
			"note":   v.Optional(v.String()),
		})).Index("by_bucket", "bucket").
			Index("by_bucket_n", "bucket", "n"),
		"other": livedb.DefineTable(v.Object(v.Fields{
			"x": v.Int64(),
		})),
	})
}

// rxSeed returns a random seed and logs it; LIVEDB_SEED="s1,s2" pins it to
// replay a failure.
func rxSeed(t *testing.T) (uint64, uint64) {
	t.Helper()
	s1, s2 := rand.Uint64(), rand.Uint64()
	if env := os.Getenv("LIVEDB_SEED"); env != "" {
		if _, err := fmt.Sscanf(env, "%d,%d", &s1, &s2); err != nil {
			t.Fatalf("LIVEDB_SEED=%q: want two integers separated by a comma: %v", env, err)
		}
	}
	t.Logf("seed: LIVEDB_SEED=%d,%d", s1, s2)
	return s1, s2
}

// rxInt reads an int64 field of a document.
func rxInt(t testing.TB, d livedb.Doc, field string) int64 {
	t.Helper()
	x, ok := d[field].(int64)
	if !ok {
		t.Fatalf("field %q of %v is %T, want int64", field, d["_id"], d[field])
	}
	return x
}

// rxLong reports whether the long variants of the concurrency tests run
// (LIVEDB_LONG=1).
func rxLong() bool { return os.Getenv("LIVEDB_LONG") == "1" }

// rxSynctest runs body in a synctest bubble: time is virtual (backoff and
// timeouts take no real time) and synctest.Wait waits until every
// goroutine of the database is idle. A database opened inside must be
// closed inside (openBackend registers the Close); a goroutine still running
// after the body fails the test.
func rxSynctest(t *testing.T, body func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, body)
}

// transfer is one successful bank transfer.
type transfer struct {
	from, to int
	amount   int64
}

func TestDB_Mutation_BankTransfersKeepTotal(t *testing.T) {
	const accounts, initial = 8, int64(1000)
	writers, transfersEach, readers := 8, 40, 3
	if rxLong() {
		writers, transfersEach = 32, 200
	}
	forEachBackendOptions(t, rxSchema(), &livedb.Options{MaxRetries: 1000}, func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		ids := make([]livedb.ID, accounts)
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			for i := range ids {
				var err error
				if ids[i], err = m.DB.Insert("accounts", livedb.Doc{"owner": fmt.Sprint("acct", i), "balance": initial}); err != nil {
					return err
				}
			}
			return nil
		})
		s1, s2 := rxSeed(t)

		var mu sync.Mutex
		var done []transfer // successful transfers that moved money
		var stop atomic.Bool
		var wg, rg sync.WaitGroup
		errs := make(chan error, writers+readers)
		for w := range writers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(s1, s2+uint64(w)))
				for range transfersEach {
					from, to := rng.IntN(accounts), rng.IntN(accounts-1)
					if to >= from {
						to++
					}
					amount := 1 + rng.Int64N(200)
					var moved bool
					err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
						moved = false // the last attempt's decision is the one committed
						a, _, err := m.DB.Get(ids[from])
						if err != nil {
							return err
						}
						b, _, err := m.DB.Get(ids[to])
						if err != nil {
							return err
						}
						if rxInt(t, a, "balance") < amount {
							return nil // insufficient funds: no transfer
						}
						if err := m.DB.Patch(ids[from], livedb.Doc{"balance": rxInt(t, a, "balance") - amount}); err != nil {
							return err
						}
						if err := m.DB.Patch(ids[to], livedb.Doc{"balance": rxInt(t, b, "balance") + amount}); err != nil {
							return err
						}
						moved = true
						return nil
					})
					if err != nil {
						errs <- fmt.Errorf("transfer %d->%d: %w", from, to, err)
						return
					}
					if moved {
						mu.Lock()
						done = append(done, transfer{from, to, amount})
						mu.Unlock()
					}
				}
			})
		}
		var reads atomic.Int64
		for r := range readers {
			rg.Go(func() {
				for i := 0; !stop.Load() || i == 0; i++ {
					var total int64
					err := db.Query(ctx, func(q *livedb.QueryCtx) error {
						total = 0
						if r%2 == 0 { // by index scan
							docs, err := q.DB.Query("accounts").WithIndex("by_owner", nil).Collect()
							if err != nil {
								return err
							}
							if len(docs) != accounts {
								return fmt.Errorf("saw %d accounts, want %d", len(docs), accounts)
							}
							for _, d := range docs {
								total += rxInt(t, d, "balance")
							}
							return nil
						}
						for _, id := range ids { // by point reads
							d, ok, err := q.DB.Get(id)
							if err != nil || !ok {
								return fmt.Errorf("get %s: ok=%v err=%w", id, ok, err)
							}
							total += rxInt(t, d, "balance")
						}
						return nil
					})
					if err == nil && total != accounts*initial {
						err = fmt.Errorf("a query saw total %d, want %d", total, accounts*initial)
					}
					if err != nil {
						errs <- err
						return
					}
					reads.Add(1)
				}
			})
		}
		wg.Wait()
		stop.Store(true)
		rg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}

		want := make([]int64, accounts)
		for i := range want {
			want[i] = initial
		}
		for _, tr := range done {
			want[tr.from] -= tr.amount
			want[tr.to] += tr.amount
		}
		got := make([]int64, accounts)
		for _, d := range mustCollect(t, db, "accounts") {
			i := slices.Index(ids, d["_id"].(livedb.ID))
			require.GreaterOrEqual(t, i, 0)
			got[i] = rxInt(t, d, "balance")
		}
		assert.Equal(t, want, got, "final balances must equal the initial ones with every successful transfer applied once")
		t.Logf("%d transfers moved money, %d total queries", len(done), reads.Load())
		require.NotEmpty(t, done)
	})
}

// rxBarrier is a reusable barrier for n goroutines.
type rxBarrier struct {
	mu    sync.Mutex
	n     int
	count int
	ch    chan struct{}
}

func newRxBarrier(n int) *rxBarrier { return &rxBarrier{n: n, ch: make(chan struct{})} }

// wait blocks until n goroutines called it.
func (b *rxBarrier) wait() {
	b.mu.Lock()
	b.count++
	ch := b.ch
	if b.count == b.n {
		close(b.ch)
		b.count, b.ch = 0, make(chan struct{})
	}
	b.mu.Unlock()
	<-ch
}

// TestDB_Mutation_DisjointReadsNeverConflict runs rounds of mutations that
// all take their snapshot before any of them commits (a barrier inside the
// function), with no retry allowed. Mutations that read and write disjoint
// ranges must all commit; the control case, where every mutation reads the
// whole table, must conflict.
func TestDB_Mutation_DisjointReadsNeverConflict(t *testing.T) {
	const workers, rounds = 6, 10
	cases := []struct {
		name          string
		wholeTable    bool
		wantConflicts bool
	}{
		{"disjoint buckets", false, false},
		{"whole table read (control)", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackendOptions(t, rxSchema(), &livedb.Options{MaxRetries: -1}, func(t *testing.T, db *livedb.DB) {
				ctx := context.Background()
				// One document per worker to patch, in the worker's bucket.
				docs := make([]livedb.ID, workers)
				mustMutate(t, db, func(m *livedb.MutationCtx) error {
					for w := range docs {
						var err error
						if docs[w], err = m.DB.Insert("items", livedb.Doc{"bucket": int64(w), "n": int64(0)}); err != nil {
							return err
						}
					}
					return nil
				})
				bar := newRxBarrier(workers)
				var conflicts atomic.Int64
				var other []error
				var mu sync.Mutex
				var wg sync.WaitGroup
				for w := range workers {
					wg.Go(func() {
						for r := range rounds {
							err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
								q := m.DB.Query("items")
								if !tc.wholeTable {
									q = q.WithIndex("by_bucket", func(ir livedb.IndexRange) livedb.IndexRange { return ir.Eq("bucket", int64(w)) })
								}
								got, err := q.Collect()
								bar.wait() // every snapshot is taken before any commit
								if err != nil {
									return err
								}
								if err := m.DB.Patch(docs[w], livedb.Doc{"n": int64(r + 1)}); err != nil {
									return err
								}
								_, err = m.DB.Insert("items", livedb.Doc{"bucket": int64(w), "n": int64(100 + r), "note": fmt.Sprint(len(got))})
								return err
							})
							var ce *livedb.ConflictError
							switch {
							case errors.As(err, &ce):
								conflicts.Add(1)
								if ce.Table != "items" || ce.ID == "" || !errors.Is(err, livedb.ErrConflict) {
									mu.Lock()
									other = append(other, fmt.Errorf("bad conflict error: %+v", ce))
									mu.Unlock()
								}
							case err != nil:
								mu.Lock()
								other = append(other, err)
								mu.Unlock()
							}
						}
					})
				}
				wg.Wait()
				require.Empty(t, other)
				if tc.wantConflicts {
					assert.Positive(t, conflicts.Load(), "overlapping read sets must conflict")
				} else {
					assert.Zero(t, conflicts.Load(), "disjoint read and write sets must never conflict")
					assert.Len(t, mustCollect(t, db, "items"), workers*(rounds+1))
				}
			})
		})
	}
}

func TestDB_Mutation_ForcedConflictNamesDocument(t *testing.T) {
	forEachBackendOptions(t, rxSchema(), &livedb.Options{MaxRetries: -1}, func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		var id livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			var err error
			id, err = m.DB.Insert("counters", livedb.Doc{"name": "c", "value": int64(0)})
			return err
		})
		runs := 0
		err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			runs++
			d, _, err := m.DB.Get(id)
			if err != nil {
				return err
			}
			// Another mutation changes what this one read before it commits.
			if err := db.Mutation(ctx, func(m2 *livedb.MutationCtx) error {
				return m2.DB.Patch(id, livedb.Doc{"value": int64(100)})
			}); err != nil {
				return err
			}
			return m.DB.Patch(id, livedb.Doc{"value": rxInt(t, d, "value") + 1})
		})
		var ce *livedb.ConflictError
		require.ErrorAs(t, err, &ce)
		assert.ErrorIs(t, err, livedb.ErrConflict)
		assert.Equal(t, "counters", ce.Table)
		assert.Equal(t, id, ce.ID)
		assert.Equal(t, 0, ce.Retries)
		assert.Equal(t, 1, runs, "MaxRetries -1 means no retry")
		assert.Contains(t, err.Error(), string(id))
		// The conflicting mutation was not applied.
		docs := mustCollect(t, db, "counters")
		require.Len(t, docs, 1)
		assert.Equal(t, int64(100), docs[0]["value"])
	})
}

func TestDB_MutationTS_QueriesAfterSeeIt(t *testing.T) {
	forEachBackendOptions(t, rxSchema(), &livedb.Options{MaxRetries: 1000}, func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		const writers, each = 6, 30
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				last := uint64(0)
				for i := range each {
					var id livedb.ID
					ts, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
						var err error
						id, err = m.DB.Insert("items", livedb.Doc{"bucket": int64(w), "n": int64(i)})
						return err
					})
					if err == nil && ts <= last {
						err = fmt.Errorf("writer %d: timestamp %d not after %d", w, ts, last)
					}
					if err == nil && db.LastTimestamp() < ts {
						err = fmt.Errorf("LastTimestamp %d < MutationTS %d", db.LastTimestamp(), ts)
					}
					if err == nil {
						err = db.Query(ctx, func(q *livedb.QueryCtx) error {
							if q.DB.Timestamp() < ts {
								return fmt.Errorf("query after MutationTS %d reads timestamp %d", ts, q.DB.Timestamp())
							}
							if _, ok, err := q.DB.Get(id); err != nil || !ok {
								return fmt.Errorf("query at %d does not see %s written at %d (err %w)", q.DB.Timestamp(), id, ts, err)
							}
							return nil
						})
					}
					if err != nil {
						errs <- err
						return
					}
					last = ts
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		// A mutation that writes nothing returns its snapshot's timestamp.
		last := db.LastTimestamp()
		ts, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error { return nil })
		require.NoError(t, err)
		assert.Equal(t, last, ts)
	})
}

// TestDB_Mutation_RetriesWithBackoffThenFails runs in a synctest bubble, so
// that the backoff between retries takes no real time.
func TestDB_Mutation_RetriesWithBackoffThenFails(t *testing.T) {
	for _, b := range bubbleBackends() {
		t.Run(b, func(t *testing.T) {
			rxSynctest(t, func(t *testing.T) {
				// A retry limit the caller sets: without one, a mutation
				// retries until it commits.
				db := openBackend(t, b, rxSchema(), &livedb.Options{MaxRetries: 4})
				ctx := context.Background()
				var id livedb.ID
				mustMutate(t, db, func(m *livedb.MutationCtx) error {
					var err error
					id, err = m.DB.Insert("counters", livedb.Doc{"name": "c", "value": int64(0)})
					return err
				})
				bump := func(ctx context.Context) error {
					return db.Mutation(ctx, func(m *livedb.MutationCtx) error {
						d, _, err := m.DB.Get(id)
						if err != nil {
							return err
						}
						return m.DB.Patch(id, livedb.Doc{"value": rxInt(t, d, "value") + 1})
					})
				}
				// Every attempt conflicts (the last two run alone, but the
				// nested mutation commits during them): 4 retries, then a
				// ConflictError.
				runs := 0
				start := time.Now()
				err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
					runs++
					if _, _, err := m.DB.Get(id); err != nil {
						return err
					}
					if err := bump(ctx); err != nil {
						return err
					}
					return m.DB.Patch(id, livedb.Doc{"name": "mine"})
				})
				var ce *livedb.ConflictError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, 4, ce.Retries)
				assert.Equal(t, 5, runs)
				assert.Positive(t, time.Since(start), "retries back off (virtual time)")

				// A conflict on the first attempt only: the retry commits.
				runs = 0
				require.NoError(t, db.Mutation(ctx, func(m *livedb.MutationCtx) error {
					runs++
					d, _, err := m.DB.Get(id)
					if err != nil {
						return err
					}
					if runs == 1 {
						if err := bump(ctx); err != nil {
							return err
						}
					}
					return m.DB.Patch(id, livedb.Doc{"value": rxInt(t, d, "value") + 10})
				}))
				assert.Equal(t, 2, runs)
				docs := mustCollect(t, db, "counters")
				assert.Equal(t, int64(5+1+10), docs[0]["value"], "5 bumps, then +10 on the retried snapshot")

				// Cancelling the context during the backoff ends the mutation.
				cctx, cancel := context.WithCancel(ctx)
				runs = 0
				errc := make(chan error, 1)
				go func() {
					errc <- db.Mutation(cctx, func(m *livedb.MutationCtx) error {
						runs++
						if _, _, err := m.DB.Get(id); err != nil {
							return err
						}
						if err := bump(ctx); err != nil {
							return err
						}
						return m.DB.Patch(id, livedb.Doc{"name": "cancelled"})
					})
				}()
				synctest.Wait() // the mutation conflicted and waits in its backoff
				require.Equal(t, 1, runs)
				cancel()
				assert.ErrorIs(t, <-errc, context.Canceled)
				assert.Equal(t, 1, runs)
			})
		})
	}
}

package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

// A shared database is opened by several processes; these tests open
// several DBs of one test process on one shared log, each DB standing for
// a process with its own copy. sharedOpener opens one more process.
type sharedOpener func(t *testing.T, s *livedb.Schema, opts *livedb.Options) *livedb.DB

// sharedKinds are the shared logs the tests run on: a log in memory here,
// PostgreSQL in shared_pg_test.go.
var sharedKinds = map[string]func(t *testing.T) sharedOpener{
	"memlog": func(t *testing.T) sharedOpener {
		l := livedb.NewSharedMemLog()
		return func(t *testing.T, s *livedb.Schema, opts *livedb.Options) *livedb.DB {
			t.Helper()
			db, err := livedb.OpenSharedMemLog(l, s, opts)
			require.NoError(t, err)
			t.Cleanup(func() { livedbtest.MustCheckClose(t, db) })
			return db
		}
	},
}

func forEachShared(t *testing.T, body func(t *testing.T, open sharedOpener)) {
	for name, kind := range sharedKinds {
		t.Run(name, func(t *testing.T) { body(t, kind(t)) })
	}
}

func TestShared_CatchUpSeesAnotherProcessCommit(t *testing.T) {
	forEachShared(t, func(t *testing.T, open sharedOpener) {
		a, b := open(t, rxSchema(), nil), open(t, rxSchema(), nil)
		id, ts := rxInsert(t, a, 1, 10)
		require.NoError(t, b.CatchUp(boundedCtx(t), ts))
		var got livedb.Doc
		require.NoError(t, b.Query(context.Background(), func(q *livedb.QueryCtx) error {
			var err error
			got, _, err = q.DB.Get(id)
			return err
		}))
		require.NotNil(t, got, "B does not see A's insert after CatchUp(%d)", ts)
		assert.Equal(t, int64(10), got["n"])

		// And the other way, through a patch of A's document.
		ts = rxPatch(t, b, id, livedb.Doc{"n": int64(11)})
		require.NoError(t, a.CatchUp(boundedCtx(t), ts))
		assert.Equal(t, map[livedb.ID]int64{id: 11}, mustQueryBucket(t, a, 1))
	})
}

// mustQueryBucket returns the items of bucket b.
func mustQueryBucket(t *testing.T, db *livedb.DB, b int64) map[livedb.ID]int64 {
	t.Helper()
	out, err := livedb.QueryValue(context.Background(), db, rxBucketFn(b))
	require.NoError(t, err)
	return out
}

// TestShared_SubscriptionPrecision: a commit in A re-runs exactly the
// subscriptions of B and C whose read sets it touched. Each process
// subscribes to one bucket; a write to bucket i must re-run bucket i's
// subscriptions in every process and no other.
func TestShared_SubscriptionPrecision(t *testing.T) {
	forEachShared(t, func(t *testing.T, open sharedOpener) {
		procs := []*livedb.DB{open(t, rxSchema(), nil), open(t, rxSchema(), nil), open(t, rxSchema(), nil)}
		const buckets = 3
		type watch struct {
			sub  *livedb.Subscription[map[livedb.ID]int64]
			runs *atomic.Int64
		}
		watches := make([][]watch, len(procs))
		for p, db := range procs {
			for b := range int64(buckets) {
				runs := new(atomic.Int64)
				fn := rxBucketFn(b)
				sub, err := livedb.Subscribe(context.Background(), db, func(q *livedb.QueryCtx) (map[livedb.ID]int64, error) {
					runs.Add(1)
					return fn(q)
				})
				require.NoError(t, err)
				t.Cleanup(sub.Close)
				mustRecv(t, sub.Updates(), testWait, "first result")
				watches[p] = append(watches[p], watch{sub, runs})
			}
		}
		model := make([]map[livedb.ID]int64, buckets)
		for b := range model {
			model[b] = map[livedb.ID]int64{}
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for step := range 12 {
			writer := procs[step%len(procs)]
			b := rng.Int64N(buckets)
			before := make([][]int64, len(procs))
			for p := range procs {
				for _, w := range watches[p] {
					before[p] = append(before[p], w.runs.Load())
				}
			}
			id, ts := rxInsert(t, writer, b, int64(step))
			model[b][id] = int64(step)
			for p, db := range procs {
				require.NoError(t, db.CatchUp(boundedCtx(t), ts))
				// The touched bucket's subscription delivers this commit...
				u := mustRecv(t, watches[p][b].sub.Updates(), testWait, fmt.Sprintf("process %d, bucket %d, step %d", p, b, step))
				assert.Equal(t, ts, u.Timestamp, "process %d step %d", p, step)
				assert.Equal(t, model[b], u.Value, "process %d step %d", p, step)
				assert.Equal(t, before[p][b]+1, watches[p][b].runs.Load(), "process %d bucket %d re-ran more than once at step %d", p, b, step)
			}
		}
		// ... and the others never re-ran: one run each, the first.
		for p := range procs {
			for b, w := range watches[p] {
				if n := w.runs.Load(); n != int64(1+len(model[b])) {
					t.Errorf("process %d bucket %d ran %d times; its bucket had %d writes (want 1 + writes)", p, b, n, len(model[b]))
				}
			}
		}
	})
}

// TestShared_BankAcrossProcesses moves amounts between accounts from 8
// writers in each of 3 processes, with readers in each: every snapshot
// sums to the same total and no update is lost.
func TestShared_BankAcrossProcesses(t *testing.T) {
	forEachShared(t, func(t *testing.T, open sharedOpener) {
		const accounts, perAccount, writers, moves = 8, int64(1000), 8, 15
		procs := []*livedb.DB{open(t, rxSchema(), nil), open(t, rxSchema(), nil), open(t, rxSchema(), nil)}
		ids := make([]livedb.ID, accounts)
		seeded, err := procs[0].MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
			for i := range ids {
				var err error
				if ids[i], err = m.DB.Insert("accounts", livedb.Doc{"owner": fmt.Sprint(i), "balance": perAccount}); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, err)
		for _, db := range procs {
			require.NoError(t, db.CatchUp(boundedCtx(t), seeded)) // each writer reads the accounts
		}
		total := func(db *livedb.DB) int64 {
			sum, err := livedb.QueryValue(context.Background(), db, func(q *livedb.QueryCtx) (int64, error) {
				docs, err := q.DB.Query("accounts").Collect()
				var s int64
				for _, d := range docs {
					s += d["balance"].(int64)
				}
				return s, err
			})
			require.NoError(t, err)
			return sum
		}
		var wg sync.WaitGroup
		var maxTS atomic.Uint64
		stop := make(chan struct{})
		var readers sync.WaitGroup
		for p, db := range procs {
			readers.Add(1)
			go func() {
				defer readers.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if s := total(db); s != 0 && s != accounts*perAccount {
						t.Errorf("process %d read a total of %d", p, s)
						return
					}
				}
			}()
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(p), uint64(w)))
					for range moves {
						from, to := ids[rng.IntN(accounts)], ids[rng.IntN(accounts)]
						amount := rng.Int64N(50)
						ts, err := db.MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
							a, _, err := m.DB.Get(from)
							if err != nil {
								return err
							}
							b, _, err := m.DB.Get(to)
							if err != nil {
								return err
							}
							if from == to {
								return nil
							}
							if err := m.DB.Patch(from, livedb.Doc{"balance": a["balance"].(int64) - amount}); err != nil {
								return err
							}
							return m.DB.Patch(to, livedb.Doc{"balance": b["balance"].(int64) + amount})
						})
						if err != nil {
							t.Errorf("process %d writer %d: %v", p, w, err)
							return
						}
						for {
							old := maxTS.Load()
							if ts <= old || maxTS.CompareAndSwap(old, ts) {
								break
							}
						}
					}
				}()
			}
		}
		wg.Wait()
		close(stop)
		readers.Wait()
		for p, db := range procs {
			require.NoError(t, db.CatchUp(boundedCtx(t), maxTS.Load()))
			assert.Equal(t, accounts*perAccount, total(db), "process %d", p)
		}
	})
}

// TestShared_SchemaChangeReachesRunningProcesses: a process opened with a
// schema that adds an index builds it for everyone; a process still
// running with the old schema keeps the new index up to date.
func TestShared_SchemaChangeReachesRunningProcesses(t *testing.T) {
	forEachShared(t, func(t *testing.T, open sharedOpener) {
		a := open(t, rxSchema(), nil)
		rxInsert(t, a, 1, 10)
		s2 := livedb.DefineSchema(livedb.Tables{
			"items": livedb.DefineTable(v.Object(v.Fields{
				"bucket": v.Int64(),
				"n":      v.Int64(),
				"note":   v.Optional(v.String()),
			})).Index("by_bucket", "bucket").Index("by_n", "n"),
		})
		b := open(t, s2, &livedb.Options{AllowUndeclaredTables: true})
		_, ts := rxInsert(t, a, 2, 20) // A writes under the new catalog
		require.NoError(t, b.CatchUp(boundedCtx(t), ts))
		ns, err := livedb.QueryValue(context.Background(), b, func(q *livedb.QueryCtx) ([]int64, error) {
			docs, err := q.DB.Query("items").WithIndex("by_n", func(r livedb.IndexRange) livedb.IndexRange { return r.Gte("n", int64(0)) }).Collect()
			var out []int64
			for _, d := range docs {
				out = append(out, d["n"].(int64))
			}
			return out, err
		})
		require.NoError(t, err)
		assert.Equal(t, []int64{10, 20}, ns, "the index B added holds A's documents, old and new")
	})
}

// TestShared_TableCreatedByTwoProcesses: two processes that create the
// same table at once end with one table holding both's documents.
func TestShared_TableCreatedByTwoProcesses(t *testing.T) {
	forEachShared(t, func(t *testing.T, open sharedOpener) {
		procs := []*livedb.DB{open(t, nil, nil), open(t, nil, nil)}
		var wg sync.WaitGroup
		var maxTS atomic.Uint64
		for p, db := range procs {
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ts, err := db.MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
						_, err := m.DB.Insert("fresh", livedb.Doc{"p": int64(p), "w": int64(w)})
						return err
					})
					if err != nil {
						t.Error(err)
					}
					for old := maxTS.Load(); ts > old && !maxTS.CompareAndSwap(old, ts); old = maxTS.Load() {
					}
				}()
			}
		}
		wg.Wait()
		for _, db := range procs {
			require.NoError(t, db.CatchUp(boundedCtx(t), maxTS.Load()))
			assert.Len(t, mustCollect(t, db, "fresh"), 8)
		}
	})
}

// TestShared_LateProcessLoadsTheState: a process that opens after the
// others have written starts from the shared state and answers as they do.
func TestShared_LateProcessLoadsTheState(t *testing.T) {
	forEachShared(t, func(t *testing.T, open sharedOpener) {
		a := open(t, rxSchema(), nil)
		var ids []livedb.ID
		for i := range 50 {
			id, _ := rxInsert(t, a, int64(i%3), int64(i))
			ids = append(ids, id)
		}
		for _, id := range ids[:10] {
			mustMutate(t, a, func(m *livedb.MutationCtx) error { return m.DB.Delete(id) })
		}
		_, ts := rxInsert(t, a, 1, 100)
		late := open(t, rxSchema(), nil)
		require.NoError(t, late.CatchUp(boundedCtx(t), ts))
		for b := range int64(3) {
			assert.Equal(t, mustQueryBucket(t, a, b), mustQueryBucket(t, late, b), "bucket %d", b)
		}
		// The late process writes too, and A sees it.
		_, ts = rxInsert(t, late, 2, 200)
		require.NoError(t, a.CatchUp(boundedCtx(t), ts))
		assert.Equal(t, mustQueryBucket(t, late, 2), mustQueryBucket(t, a, 2))
	})
}

func TestShared_CatchUpHonoursItsContext(t *testing.T) {
	forEachShared(t, func(t *testing.T, open sharedOpener) {
		a := open(t, rxSchema(), nil)
		_, ts := rxInsert(t, a, 1, 1)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := a.CatchUp(ctx, ts+1_000_000_000_000)
		assert.True(t, errors.Is(err, context.Canceled), "CatchUp past the last commit with a canceled context: %v", err)
		assert.NoError(t, a.CatchUp(ctx, ts), "a timestamp applied already returns at once")
	})
}

package livedb_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// The tests of many subscriptions over shared and overlapping intervals:
// exactly the right re-runs, none for a commit outside every read set, and
// the order in which the manager re-runs them. The first two run on every
// backend, and on the shared ones also with the commits made by another
// process (the subscriptions see them as applied from the log).

// fanSetup runs body on every backend with one process that writes and
// reads, and on every shared log with a writer process and a reader
// process; caughtUp waits until the reader's subscriptions have caught up
// with the writer's commit ts.
func fanSetup(t *testing.T, body func(t *testing.T, w, r *livedb.DB, caughtUp func(ts uint64))) {
	t.Helper()
	wait := func(t *testing.T, r *livedb.DB) func(ts uint64) {
		return func(ts uint64) {
			t.Helper()
			require.NoError(t, r.CatchUp(boundedCtx(t), ts))
			done, err := r.WaitSubscriptions(boundedCtx(t), ts)
			require.NoError(t, err)
			require.GreaterOrEqual(t, done, ts)
		}
	}
	forEachBackend(t, rxSchema(), func(t *testing.T, db *livedb.DB) {
		body(t, db, db, wait(t, db))
	})
	forEachShared(t, func(t *testing.T, open sharedOpener) {
		t.Run("other-process", func(t *testing.T) {
			w, r := open(t, rxSchema(), nil), open(t, rxSchema(), nil)
			body(t, w, r, wait(t, r))
		})
	})
}

// fanRange is a subscription query: the n of every item whose bucket is in
// [lo, hi), by ID.
func fanRange(lo, hi int64) func(q *livedb.QueryCtx) (map[livedb.ID]int64, error) {
	return func(q *livedb.QueryCtx) (map[livedb.ID]int64, error) {
		docs, err := q.DB.Query("items").WithIndex("by_bucket", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Gte("bucket", lo).Lt("bucket", hi)
		}).Collect()
		if err != nil {
			return nil, err
		}
		out := make(map[livedb.ID]int64, len(docs))
		for _, d := range docs {
			out[d.ID()] = d["n"].(int64)
		}
		return out, nil
	}
}

// fanSync commits a write to the table "other", which no subscription
// reads, and waits until the subscriptions have caught up with it (and
// with the re-run a subscription registered during a commit gets).
func fanSync(t *testing.T, w *livedb.DB, caughtUp func(uint64)) {
	t.Helper()
	ts, err := w.MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("other", livedb.Doc{"x": int64(0)})
		return err
	})
	require.NoError(t, err)
	caughtUp(ts)
}

// TestSubscribe_OutsideEveryReadSet_NoRerunNoWake has 1,000 subscriptions
// that read buckets 0 to 99 (one bucket, a range of buckets, one document
// by ID, or a range of the compound index by_bucket_n) and commits that
// write only outside them: into other buckets, another table, a document
// inserted and deleted by one mutation, a field of a document outside. No
// subscription may re-run or receive an update, on the reader's counter of
// re-runs as on each subscription's.
func TestSubscribe_OutsideEveryReadSet_NoRerunNoWake(t *testing.T) {
	const subs = 1000
	fanSetup(t, func(t *testing.T, w, r *livedb.DB, caughtUp func(uint64)) {
		ctx := context.Background()
		inside := make([]livedb.ID, 100)
		var outside livedb.ID
		mustMutate(t, w, func(m *livedb.MutationCtx) error {
			for b := range inside {
				var err error
				if inside[b], err = m.DB.Insert("items", livedb.Doc{"bucket": int64(b), "n": int64(b)}); err != nil {
					return err
				}
			}
			var err error
			outside, err = m.DB.Insert("items", livedb.Doc{"bucket": int64(1000), "n": int64(0)})
			return err
		})
		fanSync(t, w, caughtUp)
		all := make([]*livedb.Subscription[map[livedb.ID]int64], subs)
		for i := range all {
			b := int64(i % 100)
			var fn func(q *livedb.QueryCtx) (map[livedb.ID]int64, error)
			switch i % 4 {
			case 0:
				fn = rxBucketFn(b)
			case 1:
				fn = fanRange(b/2, b+1)
			case 2:
				id := inside[b]
				fn = func(q *livedb.QueryCtx) (map[livedb.ID]int64, error) {
					d, ok, err := q.DB.Get(id)
					if err != nil || !ok {
						return nil, err
					}
					return map[livedb.ID]int64{id: d["n"].(int64)}, nil
				}
			case 3:
				fn = func(q *livedb.QueryCtx) (map[livedb.ID]int64, error) {
					docs, err := q.DB.Query("items").WithIndex("by_bucket_n", func(r livedb.IndexRange) livedb.IndexRange {
						return r.Eq("bucket", b).Gte("n", int64(0))
					}).Collect()
					out := map[livedb.ID]int64{}
					for _, d := range docs {
						out[d.ID()] = d["n"].(int64)
					}
					return out, err
				}
			}
			var err error
			all[i], err = livedb.Subscribe(ctx, r, fn)
			require.NoError(t, err)
			<-all[i].Updates()
		}
		fanSync(t, w, caughtUp)
		writes := []struct {
			name  string
			write func(m *livedb.MutationCtx) error
		}{
			{"insert into a bucket nobody reads", func(m *livedb.MutationCtx) error {
				_, err := m.DB.Insert("items", livedb.Doc{"bucket": int64(500), "n": int64(1)})
				return err
			}},
			{"insert below every range", func(m *livedb.MutationCtx) error {
				_, err := m.DB.Insert("items", livedb.Doc{"bucket": int64(-1), "n": int64(1)})
				return err
			}},
			{"patch a field of a document outside", func(m *livedb.MutationCtx) error {
				return m.DB.Patch(outside, livedb.Doc{"n": int64(7), "note": "x"})
			}},
			{"move a document between buckets nobody reads", func(m *livedb.MutationCtx) error {
				return m.DB.Patch(outside, livedb.Doc{"bucket": int64(1001)})
			}},
			{"write another table", func(m *livedb.MutationCtx) error {
				_, err := m.DB.Insert("other", livedb.Doc{"x": int64(1)})
				return err
			}},
			{"insert into a read bucket and delete it in one mutation", func(m *livedb.MutationCtx) error {
				id, err := m.DB.Insert("items", livedb.Doc{"bucket": int64(5), "n": int64(5)})
				if err != nil {
					return err
				}
				return m.DB.Delete(id)
			}},
		}
		for _, wr := range writes {
			before := r.Stats().Reruns
			each := make([]int64, subs)
			for i, s := range all {
				each[i] = livedb.SubscriptionReruns(s)
			}
			ts, err := w.MutationTS(ctx, wr.write)
			require.NoError(t, err, wr.name)
			caughtUp(ts)
			require.Equal(t, before, r.Stats().Reruns, "%s: the reader re-ran subscriptions", wr.name)
			for i, s := range all {
				require.Equal(t, each[i], livedb.SubscriptionReruns(s), "%s: subscription %d re-ran", wr.name, i)
				select {
				case u := <-s.Updates():
					t.Fatalf("%s: subscription %d got an update: %+v", wr.name, i, u)
				default:
				}
			}
		}
	})
}

// TestSubscribe_OverlappingRanges_ExactReruns has 300 subscriptions on
// random, overlapping ranges of buckets (some the same range, some nested,
// some empty of documents), a third of them read only now and then, and
// random commits: after each commit, exactly the subscriptions whose range
// holds the old or the new bucket of a written document have re-run, once;
// an update waits in a subscription when, and only when, its result
// changed since the reader last took one, and it is the model's result.
func TestSubscribe_OverlappingRanges_ExactReruns(t *testing.T) {
	const subs, buckets = 300, 40
	commits := 60
	if rxLong() {
		commits = 600
	}
	s1, s2 := rxSeed(t)
	fanSetup(t, func(t *testing.T, w, r *livedb.DB, caughtUp func(uint64)) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(s1, s2))
		type item struct{ bucket, n int64 }
		model := map[livedb.ID]item{}
		result := func(lo, hi int64) map[livedb.ID]int64 {
			out := map[livedb.ID]int64{}
			for id, it := range model {
				if lo <= it.bucket && it.bucket < hi {
					out[id] = it.n
				}
			}
			return out
		}
		type watcher struct {
			lo, hi int64
			sub    *livedb.Subscription[map[livedb.ID]int64]
			lazy   bool // read every fifth commit only
			reruns int64
			taken  map[livedb.ID]int64 // the last result the reader took
		}
		ws := make([]*watcher, subs)
		for i := range ws {
			lo := rng.Int64N(buckets)
			hi := lo + 1 + rng.Int64N(buckets/4)
			if i > 0 && i%10 == 0 { // the same range as another one
				lo, hi = ws[i-7].lo, ws[i-7].hi
			}
			sub, err := livedb.Subscribe(ctx, r, fanRange(lo, hi))
			require.NoError(t, err)
			u := <-sub.Updates()
			require.NoError(t, u.Err)
			require.Empty(t, u.Value)
			ws[i] = &watcher{lo: lo, hi: hi, sub: sub, lazy: i%3 == 0, taken: u.Value}
		}
		fanSync(t, w, caughtUp)
		for _, x := range ws {
			x.reruns = livedb.SubscriptionReruns(x.sub)
		}
		randBucket := func() int64 { return rng.Int64N(buckets+10) - 5 } // some outside every range
		for c := range commits {
			var ids []livedb.ID
			for id := range model {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			var next map[livedb.ID]item
			written := map[livedb.ID]bool{}
			var desc []string
			ts, err := w.MutationTS(ctx, func(m *livedb.MutationCtx) error {
				next, desc = maps.Clone(model), nil
				clear(written)
				for range 1 + rng.IntN(3) {
					op := rng.IntN(4)
					if len(ids) == 0 {
						op = 0
					}
					switch op {
					case 0:
						b := randBucket()
						id, err := m.DB.Insert("items", livedb.Doc{"bucket": b, "n": rng.Int64N(100)})
						if err != nil {
							return err
						}
						d, _, err := m.DB.Get(id)
						if err != nil {
							return err
						}
						next[id] = item{b, d["n"].(int64)}
						written[id] = true
						desc = append(desc, fmt.Sprintf("insert into %d", b))
					case 1:
						id := ids[rng.IntN(len(ids))]
						it, ok := next[id]
						if !ok {
							continue
						}
						it.n++
						if err := m.DB.Patch(id, livedb.Doc{"n": it.n}); err != nil {
							return err
						}
						next[id] = it
						written[id] = true
						desc = append(desc, fmt.Sprintf("patch n in %d", it.bucket))
					case 2:
						id := ids[rng.IntN(len(ids))]
						it, ok := next[id]
						if !ok {
							continue
						}
						nb := randBucket()
						if nb == it.bucket {
							continue // a patch that changes nothing writes nothing
						}
						if err := m.DB.Patch(id, livedb.Doc{"bucket": nb}); err != nil {
							return err
						}
						written[id] = true
						desc = append(desc, fmt.Sprintf("move %d -> %d", it.bucket, nb))
						it.bucket = nb
						next[id] = it
					case 3:
						id := ids[rng.IntN(len(ids))]
						it, ok := next[id]
						if !ok {
							continue
						}
						if err := m.DB.Delete(id); err != nil {
							return err
						}
						delete(next, id)
						written[id] = true
						desc = append(desc, fmt.Sprintf("delete from %d", it.bucket))
					}
				}
				return nil
			})
			require.NoError(t, err)
			// A commit touches the buckets of the committed old and new
			// version of each document it wrote, not those a document
			// passed through inside the mutation.
			touched := map[int64]bool{}
			for id := range written {
				if it, ok := model[id]; ok {
					touched[it.bucket] = true
				}
				if it, ok := next[id]; ok {
					touched[it.bucket] = true
				}
			}
			model = next
			caughtUp(ts)
			for i, x := range ws {
				for b := range touched {
					if x.lo <= b && b < x.hi {
						x.reruns++
						break
					}
				}
				require.Equal(t, x.reruns, livedb.SubscriptionReruns(x.sub), "commit %d (%v): re-runs of subscription %d on [%d, %d)", c, desc, i, x.lo, x.hi)
				if x.lazy && c%5 != 4 {
					continue
				}
				want := result(x.lo, x.hi)
				select {
				case u := <-x.sub.Updates():
					require.NoError(t, u.Err)
					require.Equal(t, want, u.Value, "commit %d (%v): subscription %d on [%d, %d)", c, desc, i, x.lo, x.hi)
					require.LessOrEqual(t, u.Timestamp, ts)
					x.taken = u.Value
				default:
					require.Equal(t, want, x.taken, "commit %d (%v): no update for subscription %d on [%d, %d), whose result changed", c, desc, i, x.lo, x.hi)
				}
			}
		}
	})
}

// TestSubscribe_WaitingReaderRerunsFirst checks the order of re-runs: a
// subscription whose reader waits for an update re-runs before the ones
// whose last update is still unread (registered before it, on the same
// range); a commit that comes while those re-run has its waiting
// subscription re-run before the rest of them; and WaitSubscriptions
// waits for the rest.
func TestSubscribe_WaitingReaderRerunsFirst(t *testing.T) {
	const late = 40
	for _, b := range bubbleBackends() {
		t.Run(b, func(t *testing.T) {
			rxSynctest(t, func(t *testing.T) {
				db := openBackend(t, b, rxSchema(), nil)
				ctx := context.Background()
				var mu sync.Mutex // guards log, gate, open and caughtUp
				var log []string
				var gate chan struct{} // when not nil, late re-runs wait until it is closed
				var open []chan struct{}
				var caughtUp bool
				// newGate makes late re-runs wait at a new gate.
				newGate := func() chan struct{} {
					mu.Lock()
					defer mu.Unlock()
					g := make(chan struct{})
					gate, open = g, append(open, g)
					return g
				}
				// runs returns the re-runs so far, and forgets them when reset.
				runs := func(reset bool) []string {
					mu.Lock()
					defer mu.Unlock()
					out := slices.Clone(log)
					if reset {
						log = nil
					}
					return out
				}
				t.Cleanup(func() { // before the DB closes, which waits for the re-runs
					mu.Lock()
					defer mu.Unlock()
					gate = nil
					for _, g := range open {
						select {
						case <-g:
						default:
							close(g)
						}
					}
				})
				logged := func(name string, fn func(q *livedb.QueryCtx) (map[livedb.ID]int64, error), isLate bool) func(q *livedb.QueryCtx) (map[livedb.ID]int64, error) {
					return func(q *livedb.QueryCtx) (map[livedb.ID]int64, error) {
						mu.Lock()
						log = append(log, name)
						g := gate
						mu.Unlock()
						if g != nil && isLate {
							<-g
						}
						return fn(q)
					}
				}
				var lates []*livedb.Subscription[map[livedb.ID]int64]
				for i := range late {
					s, err := livedb.Subscribe(ctx, db, logged(fmt.Sprintf("late%d", i), rxBucketFn(1), true))
					require.NoError(t, err)
					lates = append(lates, s) // the first update stays unread
				}
				first, err := livedb.Subscribe(ctx, db, logged("first", rxBucketFn(1), false))
				require.NoError(t, err)
				rxNext(t, first)
				second, err := livedb.Subscribe(ctx, db, logged("second", rxBucketFn(2), false))
				require.NoError(t, err)
				rxNext(t, second)
				synctest.Wait()
				runs(true)

				// One commit into bucket 1: "first" re-runs before every late one.
				rxInsert(t, db, 1, 1)
				synctest.Wait()
				got := runs(true)
				require.Len(t, got, late+1)
				require.Equal(t, "first", got[0], "re-run order: %v", got)
				rxNext(t, first)

				// Another into bucket 1: the late re-runs block at gate1
				// (one per worker), and a commit into bucket 2 comes.
				gate1 := newGate()
				_, ts := rxInsert(t, db, 1, 2)
				synctest.Wait()
				got = runs(false)
				blocked := len(got) - 1 // "first", then one late per worker
				require.Equal(t, "first", got[0], "re-run order: %v", got)
				rxInsert(t, db, 2, 1)
				synctest.Wait() // the committer hands the commit to the subscriptions after the writer returns
				var waited sync.WaitGroup
				waited.Go(func() {
					_, err := db.WaitSubscriptions(ctx, ts)
					assert.NoError(t, err)
					mu.Lock()
					caughtUp = true
					mu.Unlock()
				})

				// Once gate1 opens, "second" re-runs before the other late
				// ones, which block at gate2: WaitSubscriptions for the
				// second commit into bucket 1 waits for them.
				gate2 := newGate()
				close(gate1)
				synctest.Wait()
				got = runs(false)
				require.Greater(t, len(got), 1+blocked, "re-run order: %v", got)
				require.Equal(t, "second", got[1+blocked], "re-run order: %v", got)
				mu.Lock()
				early := caughtUp
				gate = nil
				mu.Unlock()
				require.False(t, early, "WaitSubscriptions returned before the late re-runs: %v", got)
				close(gate2)
				synctest.Wait()
				got = runs(false)
				mu.Lock()
				done := caughtUp
				mu.Unlock()
				require.True(t, done, "WaitSubscriptions did not return after every re-run")
				require.Len(t, got, late+2, "every subscription re-ran once: %v", got)
				waited.Wait()
				rxNext(t, second)
				for _, s := range lates {
					require.Len(t, (<-s.Updates()).Value, 2)
				}
			})
		})
	}
}

// TestDB_WaitSubscriptions_UnreadSubscriptionsUnderSteadyWrites: with
// subscriptions whose readers never take their updates (late re-runs,
// which give way to every pending commit) and a writer that commits inside
// their read sets without pause, WaitSubscriptions for an early commit
// returns while the writer still writes: the done mark moves on once each
// has re-run past that commit, and does not wait for a pause in the writes.
func TestDB_WaitSubscriptions_UnreadSubscriptionsUnderSteadyWrites(t *testing.T) {
	db, err := livedb.OpenMemory(rxSchema())
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	var id livedb.ID
	require.NoError(t, db.Mutation(ctx, func(m *livedb.MutationCtx) (err error) {
		id, err = m.DB.Insert("items", livedb.Doc{"bucket": int64(1), "n": int64(0)})
		return err
	}))
	for range 30 { // never read: each holds an unread update after its first re-run
		sub, err := livedb.Subscribe(ctx, db, fanRange(0, 10))
		require.NoError(t, err)
		defer sub.Close()
	}
	write := func(n int64) uint64 {
		ts, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
			return m.DB.Patch(id, livedb.Doc{"n": n})
		})
		require.NoError(t, err)
		return ts
	}
	first := write(1)

	// Four writers, so that a commit is nearly always pending.
	stop := make(chan struct{})
	var commits atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for n := int64(w); ; n += 4 {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
					return m.DB.Patch(id, livedb.Doc{"n": n})
				}); err != nil {
					return
				}
				commits.Add(1)
			}
		})
	}
	done, err := db.WaitSubscriptions(boundedCtx(t), first)
	close(stop)
	wg.Wait()
	require.NoError(t, err, "WaitSubscriptions(%d) while the writers made %d commits", first, commits.Load())
	require.GreaterOrEqual(t, done, first)
}

package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// Most tests here run in a synctest bubble: after a commit, synctest.Wait
// returns once the database's goroutines are idle, so "no re-run" and "no
// update" are checked exactly, without sleeping.

// rxForEachBackendBubble runs body in a subtest per backend, inside a
// synctest bubble, with a fresh database opened in the bubble.
func rxForEachBackendBubble(t *testing.T, opts livedb.Options, body func(t *testing.T, db *livedb.DB)) {
	t.Helper()
	for _, b := range rxBackends {
		t.Run(b, func(t *testing.T) {
			rxSynctest(t, func(t *testing.T) { body(t, rxOpen(t, b, rxSchema(), opts)) })
		})
	}
}

// rxBucketFn is a subscription query: the n of every item in bucket b, by
// ID.
func rxBucketFn(b int64) func(q *livedb.QueryCtx) (map[livedb.ID]int64, error) {
	return func(q *livedb.QueryCtx) (map[livedb.ID]int64, error) {
		docs, err := q.DB.Query("items").WithIndex("by_bucket", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("bucket", b) }).Collect()
		if err != nil {
			return nil, err
		}
		out := make(map[livedb.ID]int64, len(docs))
		for _, d := range docs {
			out[d["_id"].(livedb.ID)] = d["n"].(int64)
		}
		return out, nil
	}
}

// rxInsert inserts an item and returns its ID and the commit timestamp.
func rxInsert(t *testing.T, db *livedb.DB, bucket, n int64) (livedb.ID, uint64) {
	t.Helper()
	var id livedb.ID
	ts, err := db.MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
		var err error
		id, err = m.DB.Insert("items", livedb.Doc{"bucket": bucket, "n": n})
		return err
	})
	require.NoError(t, err)
	return id, ts
}

// rxPatch patches a document and returns the commit timestamp.
func rxPatch(t *testing.T, db *livedb.DB, id livedb.ID, fields livedb.Doc) uint64 {
	t.Helper()
	ts, err := db.MutationTS(context.Background(), func(m *livedb.MutationCtx) error { return m.DB.Patch(id, fields) })
	require.NoError(t, err)
	return ts
}

// rxNext waits until the database is idle and returns the pending update;
// it fails when there is none or the channel is closed.
func rxNext[T any](t *testing.T, sub *livedb.Subscription[T]) livedb.Update[T] {
	t.Helper()
	synctest.Wait()
	select {
	case u, ok := <-sub.Updates():
		require.True(t, ok, "the subscription's channel is closed")
		return u
	default:
		t.Fatal("no update pending")
		panic("unreachable")
	}
}

// rxNone waits until the database is idle and fails if an update is
// pending or the channel is closed.
func rxNone[T any](t *testing.T, sub *livedb.Subscription[T]) {
	t.Helper()
	synctest.Wait()
	select {
	case u, ok := <-sub.Updates():
		t.Fatalf("unexpected update (channel open: %v): %+v", ok, u)
	default:
	}
}

// rxClosed waits until the database is idle and checks that the channel is
// closed, after at most one pending update.
func rxClosed[T any](t *testing.T, sub *livedb.Subscription[T]) {
	t.Helper()
	synctest.Wait()
	for range 2 {
		select {
		case _, ok := <-sub.Updates():
			if !ok {
				return
			}
		default:
			t.Fatal("the subscription's channel is not closed")
		}
	}
	t.Fatal("the subscription's channel delivered more than one update after it ended")
}

func TestSubscribe_FirstResultImmediately(t *testing.T) {
	rxForEachBackendBubble(t, livedb.Options{}, func(t *testing.T, db *livedb.DB) {
		id, ts := rxInsert(t, db, 1, 10)
		rxInsert(t, db, 2, 20)
		sub, err := livedb.Subscribe(context.Background(), db, rxBucketFn(1))
		require.NoError(t, err)
		defer sub.Close()
		select { // ready when Subscribe returns: no wait
		case u := <-sub.Updates():
			require.NoError(t, u.Err)
			assert.Equal(t, map[livedb.ID]int64{id: 10}, u.Value)
			assert.GreaterOrEqual(t, u.Timestamp, ts)
			assert.Equal(t, db.LastTimestamp(), u.Timestamp)
		default:
			t.Fatal("no first update when Subscribe returned")
		}
		assert.Zero(t, sub.Reruns())
		rxNone(t, sub)
	})
}

func TestSubscribe_RerunsOnlyOnWritesInItsReadSet(t *testing.T) {
	rxForEachBackendBubble(t, livedb.Options{}, func(t *testing.T, db *livedb.DB) {
		in, _ := rxInsert(t, db, 1, 10)
		out, _ := rxInsert(t, db, 2, 20)
		var other livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			var err error
			other, err = m.DB.Insert("other", livedb.Doc{"x": int64(1)})
			return err
		})
		sub, err := livedb.Subscribe(context.Background(), db, rxBucketFn(1))
		require.NoError(t, err)
		defer sub.Close()
		model := map[livedb.ID]int64{in: 10}
		require.Equal(t, model, rxNext(t, sub).Value)

		var moved livedb.ID
		steps := []struct {
			name  string
			write func(m *livedb.MutationCtx) error
			rerun bool
			apply func()
		}{
			{"insert into another bucket", func(m *livedb.MutationCtx) error {
				_, err := m.DB.Insert("items", livedb.Doc{"bucket": int64(3), "n": int64(1)})
				return err
			}, false, nil},
			{"write another table", func(m *livedb.MutationCtx) error {
				return m.DB.Patch(other, livedb.Doc{"x": int64(2)})
			}, false, nil},
			{"patch a field of a document outside the range", func(m *livedb.MutationCtx) error {
				return m.DB.Patch(out, livedb.Doc{"n": int64(21), "note": "x"})
			}, false, nil},
			{"delete a document outside the range", func(m *livedb.MutationCtx) error {
				id, err := m.DB.Insert("items", livedb.Doc{"bucket": int64(0), "n": int64(1)})
				if err != nil {
					return err
				}
				return m.DB.Delete(id)
			}, false, nil},
			{"insert into the range", func(m *livedb.MutationCtx) error {
				var err error
				moved, err = m.DB.Insert("items", livedb.Doc{"bucket": int64(1), "n": int64(11)})
				return err
			}, true, func() { model[moved] = 11 }},
			{"patch a field of a document in the range", func(m *livedb.MutationCtx) error {
				return m.DB.Patch(in, livedb.Doc{"n": int64(12)})
			}, true, func() { model[in] = 12 }},
			{"move a document out of the range", func(m *livedb.MutationCtx) error {
				return m.DB.Patch(moved, livedb.Doc{"bucket": int64(2)})
			}, true, func() { delete(model, moved) }},
			{"patch the moved document, now outside", func(m *livedb.MutationCtx) error {
				return m.DB.Patch(moved, livedb.Doc{"n": int64(13)})
			}, false, nil},
			{"move a document into the range", func(m *livedb.MutationCtx) error {
				return m.DB.Patch(out, livedb.Doc{"bucket": int64(1)})
			}, true, func() { model[out] = 21 }},
			{"delete a document of the range", func(m *livedb.MutationCtx) error {
				return m.DB.Delete(in)
			}, true, func() { delete(model, in) }},
		}
		for _, st := range steps {
			before := sub.Reruns()
			ts, err := db.MutationTS(context.Background(), st.write)
			require.NoError(t, err, st.name)
			if !st.rerun {
				rxNone(t, sub)
				assert.Equal(t, before, sub.Reruns(), "%s: re-ran", st.name)
				continue
			}
			st.apply()
			u := rxNext(t, sub)
			assert.Equal(t, before+1, sub.Reruns(), "%s: want exactly one re-run", st.name)
			assert.Equal(t, model, u.Value, st.name)
			assert.Equal(t, ts, u.Timestamp, st.name)
		}
	})
}

func TestSubscribe_EqualResultNotResent(t *testing.T) {
	rxForEachBackendBubble(t, livedb.Options{}, func(t *testing.T, db *livedb.DB) {
		id, _ := rxInsert(t, db, 1, 10)
		count := func(q *livedb.QueryCtx) (int, error) {
			docs, err := q.DB.Query("items").WithIndex("by_bucket", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("bucket", 1) }).Collect()
			return len(docs), err
		}
		sub, err := livedb.Subscribe(context.Background(), db, count)
		require.NoError(t, err)
		defer sub.Close()
		assert.Equal(t, 1, rxNext(t, sub).Value)

		rxPatch(t, db, id, livedb.Doc{"note": "changed"}) // in the read set; the count stays 1
		rxNone(t, sub)
		assert.Equal(t, int64(1), sub.Reruns(), "the write is in the read set: the query re-ran")

		_, ts := rxInsert(t, db, 1, 11)
		u := rxNext(t, sub)
		assert.Equal(t, 2, u.Value)
		assert.Equal(t, ts, u.Timestamp)
		assert.Equal(t, int64(2), sub.Reruns())
	})
}

func TestSubscription_Updates_SlowReaderGetsNewest(t *testing.T) {
	rxForEachBackendBubble(t, livedb.Options{}, func(t *testing.T, db *livedb.DB) {
		id, _ := rxInsert(t, db, 1, 0)
		sub, err := livedb.Subscribe(context.Background(), db, rxBucketFn(1))
		require.NoError(t, err)
		defer sub.Close()
		// The first update stays unread while five commits happen.
		var ts uint64
		for i := range 5 {
			ts = rxPatch(t, db, id, livedb.Doc{"n": int64(i + 1)})
			synctest.Wait() // each commit is re-run and delivered on its own
		}
		assert.Equal(t, int64(5), sub.Reruns())
		u := rxNext(t, sub)
		assert.Equal(t, map[livedb.ID]int64{id: 5}, u.Value, "the one pending update is the newest")
		assert.Equal(t, ts, u.Timestamp)
		rxNone(t, sub)
	})
}

// TestSubscription_Updates_ReadYourOwnWrites runs with real concurrency: a
// writer keeps committing into the watched range while the test's own
// mutations wait for an update at or after their timestamp, which must
// reflect them.
func TestSubscription_Updates_ReadYourOwnWrites(t *testing.T) {
	rxForEachBackend(t, livedb.Options{MaxRetries: 1000}, func(t *testing.T, db *livedb.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sub, err := livedb.Subscribe(ctx, db, rxBucketFn(1))
		require.NoError(t, err)
		var wg sync.WaitGroup
		defer wg.Wait()
		defer cancel()
		wg.Go(func() { // noise in the same range
			for i := int64(0); ctx.Err() == nil; i++ {
				_ = db.Mutation(ctx, func(m *livedb.MutationCtx) error {
					_, err := m.DB.Insert("items", livedb.Doc{"bucket": int64(1), "n": -i})
					return err
				})
			}
		})
		guard := time.NewTimer(time.Minute) // a hang guard, not a timing assertion
		defer guard.Stop()
		lastTS := uint64(0)
		for i := range 30 {
			id, ts := rxInsert(t, db, 1, int64(1000+i))
			for {
				var u livedb.Update[map[livedb.ID]int64]
				select {
				case u = <-sub.Updates():
				case <-guard.C:
					t.Fatalf("no update at or after %d", ts)
				}
				require.NoError(t, u.Err)
				require.GreaterOrEqual(t, u.Timestamp, lastTS, "updates go forward in time")
				lastTS = u.Timestamp
				if u.Timestamp >= ts {
					require.Equal(t, int64(1000+i), u.Value[id], "an update at %d must reflect the mutation committed at %d", u.Timestamp, ts)
					break
				}
			}
		}
	})
}

func TestSubscription_End(t *testing.T) {
	ends := []struct {
		name string
		end  func(sub *livedb.Subscription[map[livedb.ID]int64], cancel context.CancelFunc, db *livedb.DB)
	}{
		{"Close", func(sub *livedb.Subscription[map[livedb.ID]int64], _ context.CancelFunc, _ *livedb.DB) {
			sub.Close()
			sub.Close() // idempotent
		}},
		{"context cancelled", func(_ *livedb.Subscription[map[livedb.ID]int64], cancel context.CancelFunc, _ *livedb.DB) { cancel() }},
		{"DB closed", func(_ *livedb.Subscription[map[livedb.ID]int64], _ context.CancelFunc, db *livedb.DB) {
			require.NoError(t, db.Close())
		}},
	}
	for _, tc := range ends {
		t.Run(tc.name, func(t *testing.T) {
			rxForEachBackendBubble(t, livedb.Options{}, func(t *testing.T, db *livedb.DB) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				sub, err := livedb.Subscribe(ctx, db, rxBucketFn(1))
				require.NoError(t, err)
				rxNext(t, sub)
				tc.end(sub, cancel, db)
				rxClosed(t, sub)
				if tc.name == "DB closed" {
					_, err := livedb.Subscribe(context.Background(), db, rxBucketFn(1))
					assert.ErrorIs(t, err, livedb.ErrClosed)
					return
				}
				rxInsert(t, db, 1, 1)
				synctest.Wait()
				assert.Zero(t, sub.Reruns(), "an ended subscription is not re-run")
				sub.Close()
			})
		})
	}
}

func TestSubscribe_CancelledContext(t *testing.T) {
	rxForEachBackendBubble(t, livedb.Options{}, func(t *testing.T, db *livedb.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := livedb.Subscribe(ctx, db, rxBucketFn(1))
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// TestSubscribe_NoGoroutinePerSubscription checks that subscriptions own no
// goroutine, and that ending them (each way) and closing the database
// leaves no goroutine behind.
func TestSubscribe_NoGoroutinePerSubscription(t *testing.T) {
	for _, b := range rxBackends {
		t.Run(b, func(t *testing.T) {
			rxSynctest(t, func(t *testing.T) {
				before := rxEngineGoroutines()
				db := rxOpen(t, b, rxSchema(), livedb.Options{})
				synctest.Wait()
				withDB := rxEngineGoroutines()
				require.Greater(t, withDB, before, "the count includes the database's own goroutines")
				ctx, cancel := context.WithCancel(context.Background())
				var subs []*livedb.Subscription[map[livedb.ID]int64]
				for i := range 300 {
					sctx := context.Background()
					if i%3 == 1 {
						sctx = ctx
					}
					sub, err := livedb.Subscribe(sctx, db, rxBucketFn(int64(i%7)))
					require.NoError(t, err)
					subs = append(subs, sub)
				}
				rxInsert(t, db, 3, 1)
				synctest.Wait()
				assert.Equal(t, withDB, rxEngineGoroutines(), "300 subscriptions must not add goroutines")
				for i, sub := range subs {
					if i%3 == 0 {
						sub.Close()
					}
				}
				cancel()
				synctest.Wait()
				for i, sub := range subs {
					if i%3 != 2 {
						rxClosed(t, sub)
					}
				}
				require.NoError(t, db.Close()) // ends the remaining third
				synctest.Wait()
				for _, sub := range subs {
					rxClosed(t, sub)
				}
				assert.Equal(t, before, rxEngineGoroutines(), "goroutines left after Close:\n%s", rxStacks())
			})
		})
	}
}

// rxStacks returns the stacks of every goroutine.
func rxStacks() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// rxEngineGoroutines counts the goroutines, other than the caller, that run
// code of package livedb (the committer, the subscription manager, context
// callbacks of subscriptions): a leak check that the test runner's own
// goroutines do not disturb.
func rxEngineGoroutines() int {
	blocks := strings.Split(rxStacks(), "\n\n")
	n := 0
	for _, g := range blocks[1:] { // the first is the caller
		if strings.Contains(g, "github.com/livedb-go/livedb.") {
			n++
		}
	}
	return n
}

// TestSubscribe_TenThousand runs 10,000 subscriptions on distinct ranges: the
// goroutine count does not grow, a commit re-runs only the one it touches,
// and Close ends them all.
func TestSubscribe_TenThousand(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 2000
	}
	for _, b := range rxBackends {
		t.Run(b, func(t *testing.T) {
			rxSynctest(t, func(t *testing.T) {
				db := rxOpen(t, b, rxSchema(), livedb.Options{})
				synctest.Wait()
				base := rxEngineGoroutines()
				subs := make([]*livedb.Subscription[map[livedb.ID]int64], n)
				for i := range subs {
					var err error
					subs[i], err = livedb.Subscribe(context.Background(), db, rxBucketFn(int64(i)))
					require.NoError(t, err)
					<-subs[i].Updates()
				}
				synctest.Wait()
				assert.Equal(t, base, rxEngineGoroutines(), "goroutines grew with subscriptions")
				target := int64(n / 2)
				id, ts := rxInsert(t, db, target, 7)
				u := rxNext(t, subs[target])
				assert.Equal(t, map[livedb.ID]int64{id: 7}, u.Value)
				assert.Equal(t, ts, u.Timestamp)
				var reruns int64
				for _, s := range subs {
					reruns += s.Reruns()
				}
				assert.Equal(t, int64(1), reruns, "one commit into one range re-runs one subscription")
				require.NoError(t, db.Close())
				for _, s := range subs {
					rxClosed(t, s)
				}
			})
		})
	}
}

// TestSubscribe_PrecisionRandomWrites is issue 5's precision test:
// subscriptions on disjoint index ranges, random writes (inserts, field
// patches, moves between ranges, deletes, also outside every range), and
// after each commit exactly the subscriptions whose ranges it touched have
// re-run, once, each delivering the model's result at the commit's
// timestamp; the others neither re-ran nor sent anything.
func TestSubscribe_PrecisionRandomWrites(t *testing.T) {
	const buckets = 24
	commits := 120
	if rxLong() {
		commits = 2000
	}
	s1, s2 := rxSeed(t)
	for _, b := range rxBackends {
		t.Run(b, func(t *testing.T) {
			rxSynctest(t, func(t *testing.T) {
				db := rxOpen(t, b, rxSchema(), livedb.Options{})
				rng := rand.New(rand.NewPCG(s1, s2))
				type item struct{ bucket, n int64 }
				model := map[livedb.ID]item{}
				var ids []livedb.ID // model keys in insertion order
				// Buckets -1 and buckets (and beyond) are outside every range.
				randBucket := func() int64 {
					if rng.IntN(5) == 0 {
						return []int64{-1, buckets, buckets + 7}[rng.IntN(3)]
					}
					return rng.Int64N(buckets)
				}
				subs := make([]*livedb.Subscription[map[livedb.ID]int64], buckets)
				for i := range subs {
					var err error
					subs[i], err = livedb.Subscribe(context.Background(), db, rxBucketFn(int64(i)))
					require.NoError(t, err)
					rxNext(t, subs[i])
				}
				want := func(bk int64) map[livedb.ID]int64 {
					out := map[livedb.ID]int64{}
					for id, it := range model {
						if it.bucket == bk {
							out[id] = it.n
						}
					}
					return out
				}
				reruns := make([]int64, buckets)
				for c := range commits {
					var desc []string
					var next map[livedb.ID]item
					var nextIDs []livedb.ID
					written := map[livedb.ID]bool{}
					ops := 1 + rng.IntN(3)
					ts, err := db.MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
						desc, nextIDs, next = nil, slices.Clone(ids), maps.Clone(model)
						clear(written)
						for range ops {
							live := slices.DeleteFunc(slices.Clone(nextIDs), func(id livedb.ID) bool { _, ok := next[id]; return !ok })
							op := rng.IntN(5)
							if len(live) == 0 {
								op = 0
							}
							switch op {
							case 0: // insert
								bk := randBucket()
								id, err := m.DB.Insert("items", livedb.Doc{"bucket": bk, "n": rng.Int64N(1000)})
								if err != nil {
									return err
								}
								d, _, _ := m.DB.Get(id)
								next[id] = item{bk, d["n"].(int64)}
								nextIDs = append(nextIDs, id)
								written[id] = true
								desc = append(desc, fmt.Sprintf("insert into %d", bk))
							case 1, 2: // patch a field (the index key of by_bucket stays in place)
								id := live[rng.IntN(len(live))]
								it := next[id]
								it.n++
								if err := m.DB.Patch(id, livedb.Doc{"n": it.n}); err != nil {
									return err
								}
								next[id] = it
								written[id] = true
								desc = append(desc, fmt.Sprintf("patch n in %d", it.bucket))
							case 3: // move to another bucket
								id := live[rng.IntN(len(live))]
								it := next[id]
								nb := randBucket()
								if nb == it.bucket {
									continue
								}
								if err := m.DB.Patch(id, livedb.Doc{"bucket": nb}); err != nil {
									return err
								}
								written[id] = true
								desc = append(desc, fmt.Sprintf("move %d -> %d", it.bucket, nb))
								it.bucket = nb
								next[id] = it
							case 4: // delete
								id := live[rng.IntN(len(live))]
								if err := m.DB.Delete(id); err != nil {
									return err
								}
								written[id] = true
								desc = append(desc, fmt.Sprintf("delete from %d", next[id].bucket))
								delete(next, id)
							}
						}
						return nil
					})
					require.NoError(t, err)
					if len(desc) == 0 {
						continue
					}
					// A commit touches the ranges of the committed old and
					// new version of each document it wrote (a document
					// inserted and deleted by the same mutation touches
					// none; one moved away and back touches its range).
					touched := map[int64]bool{}
					for id := range written {
						if it, ok := model[id]; ok {
							touched[it.bucket] = true
						}
						if it, ok := next[id]; ok {
							touched[it.bucket] = true
						}
					}
					prev := make([]map[livedb.ID]int64, buckets)
					for i := range prev {
						prev[i] = want(int64(i))
					}
					model, ids = next, nextIDs
					synctest.Wait()
					for i, sub := range subs {
						bk := int64(i)
						if touched[bk] {
							reruns[i]++
						}
						require.Equal(t, reruns[i], sub.Reruns(), "commit %d (%v): re-runs of the subscription on bucket %d", c, desc, bk)
						changed := !maps.Equal(prev[i], want(bk))
						select {
						case u := <-sub.Updates():
							require.True(t, changed, "commit %d (%v): update for bucket %d, whose result did not change", c, desc, bk)
							require.Equal(t, want(bk), u.Value, "commit %d (%v): bucket %d", c, desc, bk)
							require.Equal(t, ts, u.Timestamp)
						default:
							require.False(t, changed, "commit %d (%v): no update for bucket %d, whose result changed", c, desc, bk)
						}
					}
				}
				var total int64
				for _, r := range reruns {
					total += r
				}
				t.Logf("%d commits, %d re-runs", commits, total)
			})
		})
	}
}

// rxPage is the result of the paginated subscription query: the n of each
// item of the page, and whether it is the last page.
type rxPage struct {
	ns     []int64
	isDone bool
	cursor string
}

func TestSubscribe_PaginatedKeepsPageEnd(t *testing.T) {
	rxForEachBackendBubble(t, livedb.Options{}, func(t *testing.T, db *livedb.DB) {
		ids := map[int64]livedb.ID{}
		for _, n := range []int64{10, 20, 30, 40, 50} {
			ids[n], _ = rxInsert(t, db, 1, n)
		}
		rxInsert(t, db, 2, 25) // another bucket: outside the query's range
		page := func(q *livedb.QueryCtx) (rxPage, error) {
			res, err := q.DB.Query("items").
				WithIndex("by_bucket_n", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("bucket", 1) }).
				Paginate(livedb.PaginationOptions{NumItems: 3})
			if err != nil {
				return rxPage{}, err
			}
			p := rxPage{ns: []int64{}, isDone: res.IsDone, cursor: res.ContinueCursor}
			for _, d := range res.Page {
				p.ns = append(p.ns, d["n"].(int64))
			}
			return p, nil
		}
		sub, err := livedb.Subscribe(context.Background(), db, page)
		require.NoError(t, err)
		defer sub.Close()
		first := rxNext(t, sub).Value
		require.Equal(t, []int64{10, 20, 30}, first.ns)
		require.False(t, first.isDone)

		steps := []struct {
			name  string
			write func() uint64
			want  []int64 // nil: no update
		}{
			{"insert inside the page grows it", func() uint64 { _, ts := rxInsert(t, db, 1, 15); return ts }, []int64{10, 15, 20, 30}},
			{"insert before the first item grows it", func() uint64 { _, ts := rxInsert(t, db, 1, 5); return ts }, []int64{5, 10, 15, 20, 30}},
			{"insert after the page end changes nothing", func() uint64 { _, ts := rxInsert(t, db, 1, 35); return ts }, nil},
			{"insert in another bucket changes nothing", func() uint64 { _, ts := rxInsert(t, db, 2, 12); return ts }, nil},
			{"delete inside the page shrinks it", func() uint64 {
				ts, err := db.MutationTS(context.Background(), func(m *livedb.MutationCtx) error { return m.DB.Delete(ids[20]) })
				require.NoError(t, err)
				return ts
			}, []int64{5, 10, 15, 30}},
			{"move the page's last item past the end", func() uint64 { return rxPatch(t, db, ids[30], livedb.Doc{"n": int64(45)}) }, []int64{5, 10, 15}},
			{"patch after the page end changes nothing", func() uint64 { return rxPatch(t, db, ids[50], livedb.Doc{"n": int64(51)}) }, nil},
		}
		for _, st := range steps {
			before := sub.Reruns()
			ts := st.write()
			if st.want == nil {
				rxNone(t, sub)
				assert.Equal(t, before, sub.Reruns(), "%s: writes after the page end are outside its read set", st.name)
				continue
			}
			u := rxNext(t, sub)
			require.NoError(t, u.Err, st.name)
			assert.Equal(t, st.want, u.Value.ns, st.name)
			assert.Equal(t, first.cursor, u.Value.cursor, "%s: the page end stays fixed", st.name)
			assert.False(t, u.Value.isDone, st.name)
			assert.Equal(t, ts, u.Timestamp, st.name)
		}
	})
}

// rxItem is the typed view of an items document.
type rxItem struct {
	ID     livedb.Ref[rxItem] `json:"_id"`
	Bucket int64              `json:"bucket"`
	N      int64              `json:"n"`
	Note   *string            `json:"note"`
}

var rxItems = livedb.NewTable[rxItem]("items")

func TestSubscribe_TypedTable(t *testing.T) {
	rxForEachBackendBubble(t, livedb.Options{}, func(t *testing.T, db *livedb.DB) {
		var ref livedb.Ref[rxItem]
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			var err error
			ref, err = rxItems.Insert(m.DB, rxItem{Bucket: 4, N: 1})
			return err
		})
		sub, err := livedb.Subscribe(context.Background(), db, func(q *livedb.QueryCtx) ([]rxItem, error) {
			return rxItems.Query(q.DB).WithIndex("by_bucket", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("bucket", 4) }).Collect()
		})
		require.NoError(t, err)
		defer sub.Close()
		u := rxNext(t, sub)
		require.NoError(t, u.Err)
		require.Len(t, u.Value, 1)
		assert.Equal(t, ref, u.Value[0].ID)
		assert.Nil(t, u.Value[0].Note)

		note := "hello"
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			return rxItems.Replace(m.DB, ref, rxItem{Bucket: 4, N: 2, Note: &note})
		})
		u = rxNext(t, sub)
		require.Len(t, u.Value, 1)
		assert.Equal(t, int64(2), u.Value[0].N)
		require.NotNil(t, u.Value[0].Note)
		assert.Equal(t, "hello", *u.Value[0].Note)

		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			_, err := rxItems.Insert(m.DB, rxItem{Bucket: 5, N: 3}) // another range
			return err
		})
		rxNone(t, sub)
	})
}

// Reviews of the reactive engine's races, one test each.

// TestSubscribe_CommitDuringFirstRun commits into the read set after the
// first run took its snapshot and before the subscription is registered:
// the subscription must not miss it.
func TestSubscribe_CommitDuringFirstRun(t *testing.T) {
	rxForEachBackendBubble(t, livedb.Options{}, func(t *testing.T, db *livedb.DB) {
		var newID livedb.ID
		var commitTS uint64
		runs := 0
		fn := rxBucketFn(1)
		sub, err := livedb.Subscribe(context.Background(), db, func(q *livedb.QueryCtx) (map[livedb.ID]int64, error) {
			runs++
			res, err := fn(q)
			if runs == 1 { // a concurrent commit lands while the first run is in flight
				newID, commitTS = rxInsert(t, db, 1, 5)
			}
			return res, err
		})
		require.NoError(t, err)
		defer sub.Close()
		// The first update (the first run's, without the insert) may
		// already have been replaced by the re-run's.
		u := rxNext(t, sub)
		assert.Equal(t, map[livedb.ID]int64{newID: 5}, u.Value, "the commit between the first run and the registration was missed")
		assert.Equal(t, commitTS, u.Timestamp)
		assert.Equal(t, int64(1), sub.Reruns())
		assert.Equal(t, 2, runs)
	})
}

// TestSubscription_CloseDuringRerun closes a subscription, and the DB, while
// its query is being re-run: nothing is delivered after the end, the
// channel is closed once, and Close waits for the re-run.
func TestSubscription_CloseDuringRerun(t *testing.T) {
	for _, closeDB := range []bool{false, true} {
		t.Run(fmt.Sprintf("closeDB=%v", closeDB), func(t *testing.T) {
			rxForEachBackendBubble(t, livedb.Options{}, func(t *testing.T, db *livedb.DB) {
				entered, release := make(chan struct{}), make(chan struct{})
				runs := 0
				fn := rxBucketFn(1)
				sub, err := livedb.Subscribe(context.Background(), db, func(q *livedb.QueryCtx) (map[livedb.ID]int64, error) {
					runs++
					if runs == 2 {
						close(entered)
						<-release
					}
					return fn(q)
				})
				require.NoError(t, err)
				rxNext(t, sub)
				rxInsert(t, db, 1, 1)
				<-entered
				closed := make(chan error, 1)
				if closeDB {
					go func() { closed <- db.Close() }()
				} else {
					sub.Close()
					closed <- nil
				}
				synctest.Wait()
				if closeDB {
					select {
					case <-closed:
						t.Fatal("DB.Close returned while a re-run was still using the database")
					default:
					}
				}
				close(release)
				require.NoError(t, <-closed)
				rxClosed(t, sub)
				assert.Equal(t, int64(1), sub.Reruns())
			})
		})
	}
}

// TestSubscribe_QueryErrors covers a query that fails: the failure is an
// update, the same failure is not re-sent, a later success is delivered,
// and a panic in a re-run becomes an error update without stopping the
// other subscriptions.
func TestSubscribe_QueryErrors(t *testing.T) {
	rxForEachBackendBubble(t, livedb.Options{}, func(t *testing.T, db *livedb.DB) {
		errZero := errors.New("bucket 1 sums to zero")
		fn := rxBucketFn(1)
		sub, err := livedb.Subscribe(context.Background(), db, func(q *livedb.QueryCtx) (map[livedb.ID]int64, error) {
			res, err := fn(q)
			if err != nil {
				return nil, err
			}
			sum := int64(0)
			for _, n := range res {
				sum += n
			}
			switch {
			case sum == 0:
				return nil, errZero
			case len(res) == 3:
				panic("three items")
			}
			return res, nil
		})
		require.NoError(t, err, "a failing query still subscribes")
		defer sub.Close()
		other, err := livedb.Subscribe(context.Background(), db, rxBucketFn(1))
		require.NoError(t, err)
		defer other.Close()
		rxNext(t, other)

		assert.ErrorIs(t, rxNext(t, sub).Err, errZero, "the first run's error is the first update")
		rxInsert(t, db, 2, 1) // outside the read set
		rxNone(t, sub)

		a, _ := rxInsert(t, db, 1, 0) // in the read set, the same error: not re-sent
		rxNone(t, sub)
		assert.Equal(t, int64(1), sub.Reruns())
		rxNext(t, other)

		rxPatch(t, db, a, livedb.Doc{"n": int64(1)})
		u := rxNext(t, sub)
		require.NoError(t, u.Err)
		assert.Equal(t, map[livedb.ID]int64{a: 1}, u.Value)
		rxNext(t, other)

		rxPatch(t, db, a, livedb.Doc{"n": int64(0)})
		assert.ErrorIs(t, rxNext(t, sub).Err, errZero)
		rxNext(t, other)

		b, _ := rxInsert(t, db, 1, 5)
		assert.Equal(t, map[livedb.ID]int64{a: 0, b: 5}, rxNext(t, sub).Value)
		rxNext(t, other)

		// A panic in a re-run is reported as an error; the others go on.
		rxInsert(t, db, 1, 1)
		u = rxNext(t, sub)
		require.Error(t, u.Err)
		assert.Contains(t, u.Err.Error(), "three items")
		assert.Len(t, rxNext(t, other).Value, 3)
		rxInsert(t, db, 1, 1)
		u = rxNext(t, sub)
		require.NoError(t, u.Err)
		assert.Len(t, u.Value, 4)
		assert.Len(t, rxNext(t, other).Value, 4)
	})
}

// TestSubscribe_ContextCancelledDuringRerun cancels the subscription's
// context while its query is re-running: the query sees the cancellation,
// and the subscriber gets no update carrying it, only the end.
func TestSubscribe_ContextCancelledDuringRerun(t *testing.T) {
	rxForEachBackendBubble(t, livedb.Options{}, func(t *testing.T, db *livedb.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		runs := 0
		fn := rxBucketFn(1)
		sub, err := livedb.Subscribe(ctx, db, func(q *livedb.QueryCtx) (map[livedb.ID]int64, error) {
			runs++
			if runs == 2 {
				cancel()
			}
			return fn(q) // fails with the context's error once cancelled
		})
		require.NoError(t, err)
		rxNext(t, sub)
		rxInsert(t, db, 1, 1)
		synctest.Wait()
		select {
		case u, ok := <-sub.Updates():
			require.False(t, ok, "an update was delivered after the context was cancelled: %+v", u)
		default:
			t.Fatal("the channel is not closed after the context was cancelled")
		}
		assert.Equal(t, 2, runs)
	})
}

// TestSubscribe_ConcurrentWithClose subscribes and closes subscriptions from
// many goroutines while the database closes (for the race detector): every
// Subscribe either fails with ErrClosed or returns a subscription whose
// channel is closed by the database's Close.
func TestSubscribe_ConcurrentWithClose(t *testing.T) {
	for _, b := range rxBackends {
		t.Run(b, func(t *testing.T) {
			db := rxOpen(t, b, rxSchema(), livedb.Options{})
			var wg sync.WaitGroup
			subs := make(chan *livedb.Subscription[map[livedb.ID]int64], 1000)
			for g := range 4 {
				wg.Go(func() {
					for i := range 100 {
						sub, err := livedb.Subscribe(context.Background(), db, rxBucketFn(int64(i%3)))
						if err != nil {
							if !errors.Is(err, livedb.ErrClosed) {
								t.Errorf("Subscribe: %v", err)
							}
							return
						}
						if (g+i)%2 == 0 {
							sub.Close()
						}
						subs <- sub
						_ = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
							_, err := m.DB.Insert("items", livedb.Doc{"bucket": int64(i % 3), "n": int64(i)})
							return err
						})
					}
				})
			}
			for range 20 {
				<-subs
			}
			require.NoError(t, db.Close())
			wg.Wait()
			close(subs)
			guard := time.NewTimer(time.Minute) // a hang guard, not a timing assertion
			defer guard.Stop()
			for sub := range subs {
				for open := true; open; {
					select {
					case _, open = <-sub.Updates():
					case <-guard.C:
						t.Fatal("a subscription's channel was not closed by DB.Close")
					}
				}
			}
		})
	}
}

// TestSubscribe_FirstRunPanic panics in the first run: the panic reaches
// the caller of Subscribe, as with Query, and the snapshot is released (on
// bbolt, Close would otherwise wait for it forever).
func TestSubscribe_FirstRunPanic(t *testing.T) {
	for _, b := range rxBackends {
		t.Run(b, func(t *testing.T) {
			// Not rxOpen: its cleanup would wait for a Close that hangs.
			var db *livedb.DB
			var err error
			if b == "memory" {
				db, err = livedb.OpenMemory(rxSchema())
			} else {
				db, err = livedb.Open(filepath.Join(t.TempDir(), "panic.db"), rxSchema(), &livedb.Options{NoSync: true})
			}
			require.NoError(t, err)
			func() {
				defer func() {
					assert.Equal(t, "boom", recover(), "the first run's panic reaches the caller")
				}()
				_, _ = livedb.Subscribe(context.Background(), db, func(q *livedb.QueryCtx) (int, error) {
					if _, err := rxBucketFn(1)(q); err != nil {
						return 0, err
					}
					panic("boom")
				})
			}()
			closed := make(chan error, 1)
			go func() { closed <- db.Close() }()
			guard := time.NewTimer(time.Minute) // a hang guard, not a timing assertion
			defer guard.Stop()
			select {
			case err := <-closed:
				require.NoError(t, err)
			case <-guard.C:
				t.Fatal("Close waits for the snapshot of the panicked first run")
			}
		})
	}
}

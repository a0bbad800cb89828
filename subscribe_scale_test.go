package livedb_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// TestSubscribe_NoGoroutinePerSubscription checks that subscriptions own no
// goroutine, and that ending them (each way) and closing the database
// leaves no goroutine behind.
func TestSubscribe_NoGoroutinePerSubscription(t *testing.T) {
	for _, b := range bubbleBackends() {
		t.Run(b, func(t *testing.T) {
			rxSynctest(t, func(t *testing.T) {
				before := rxEngineGoroutines()
				db := openBackend(t, b, rxSchema(), nil)
				rxStartEngine(t, db)
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

// rxStartEngine starts the database's own goroutines, which start on first
// need (the committer at the first mutation, the subscription loop at the
// first subscription), so that a count taken after it holds them: an
// insert into bucket -1 and a subscription to it, closed.
func rxStartEngine(t *testing.T, db *livedb.DB) {
	t.Helper()
	// A bbolt database's insert starts its committer; a memory database
	// commits on the caller's goroutine (its committer starts only when
	// two commits meet), so the tests' sequential mutations never start it.
	sub, err := livedb.Subscribe(context.Background(), db, rxBucketFn(-1))
	require.NoError(t, err)
	rxInsert(t, db, -1, 0)
	sub.Close()
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
	for _, b := range bubbleBackends() {
		t.Run(b, func(t *testing.T) {
			rxSynctest(t, func(t *testing.T) {
				db := openBackend(t, b, rxSchema(), nil)
				rxStartEngine(t, db)
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
					reruns += livedb.SubscriptionReruns(s)
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
	for _, b := range bubbleBackends() {
		t.Run(b, func(t *testing.T) {
			rxSynctest(t, func(t *testing.T) {
				db := openBackend(t, b, rxSchema(), nil)
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
						require.Equal(t, reruns[i], livedb.SubscriptionReruns(sub), "commit %d (%v): re-runs of the subscription on bucket %d", c, desc, bk)
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

package livedb_test

import (
	"context"
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
	forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
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
		assert.Zero(t, livedb.SubscriptionReruns(sub))
		rxNone(t, sub)
	})
}

func TestSubscribe_RerunsOnlyOnWritesInItsReadSet(t *testing.T) {
	forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
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
			before := livedb.SubscriptionReruns(sub)
			ts, err := db.MutationTS(context.Background(), st.write)
			require.NoError(t, err, st.name)
			if !st.rerun {
				rxNone(t, sub)
				assert.Equal(t, before, livedb.SubscriptionReruns(sub), "%s: re-ran", st.name)
				continue
			}
			st.apply()
			u := rxNext(t, sub)
			assert.Equal(t, before+1, livedb.SubscriptionReruns(sub), "%s: want exactly one re-run", st.name)
			assert.Equal(t, model, u.Value, st.name)
			assert.Equal(t, ts, u.Timestamp, st.name)
		}
	})
}

func TestSubscribe_EqualResultNotResent(t *testing.T) {
	forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
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
		assert.Equal(t, int64(1), livedb.SubscriptionReruns(sub), "the write is in the read set: the query re-ran")

		_, ts := rxInsert(t, db, 1, 11)
		u := rxNext(t, sub)
		assert.Equal(t, 2, u.Value)
		assert.Equal(t, ts, u.Timestamp)
		assert.Equal(t, int64(2), livedb.SubscriptionReruns(sub))
		assert.Equal(t, uint64(2), db.Stats().Reruns, "Stats counts the re-runs, not the first run")

		// A second subscription's re-runs add to the DB's count.
		other, err := livedb.Subscribe(context.Background(), db, count)
		require.NoError(t, err)
		defer other.Close()
		assert.Equal(t, 2, rxNext(t, other).Value)
		rxInsert(t, db, 1, 12)
		assert.Equal(t, 3, rxNext(t, sub).Value)
		assert.Equal(t, 3, rxNext(t, other).Value)
		assert.Equal(t, uint64(4), db.Stats().Reruns)
	})
}

func TestSubscription_Updates_SlowReaderGetsNewest(t *testing.T) {
	forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
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
		assert.Equal(t, int64(5), livedb.SubscriptionReruns(sub))
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
	forEachBackendOptions(t, rxSchema(), &livedb.Options{MaxRetries: 1000}, func(t *testing.T, db *livedb.DB) {
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
			forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
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
				assert.Zero(t, livedb.SubscriptionReruns(sub), "an ended subscription is not re-run")
				sub.Close()
			})
		})
	}
}

func TestSubscribe_CancelledContext(t *testing.T) {
	forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := livedb.Subscribe(ctx, db, rxBucketFn(1))
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// rxPage is the result of the paginated subscription query: the n of each
// item of the page, and whether it is the last page.
type rxPage struct {
	ns     []int64
	isDone bool
	cursor string
}

func TestSubscribe_PaginatedKeepsPageEnd(t *testing.T) {
	forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
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
			before := livedb.SubscriptionReruns(sub)
			ts := st.write()
			if st.want == nil {
				rxNone(t, sub)
				assert.Equal(t, before, livedb.SubscriptionReruns(sub), "%s: writes after the page end are outside its read set", st.name)
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
	forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
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

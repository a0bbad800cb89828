package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// TestSubscribe_CommitDuringFirstRun commits into the read set after the
// first run took its snapshot and before the subscription is registered:
// the subscription must not miss it.
func TestSubscribe_CommitDuringFirstRun(t *testing.T) {
	forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
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
		assert.Equal(t, int64(1), livedb.SubscriptionReruns(sub))
		assert.Equal(t, 2, runs)
	})
}

// TestSubscription_CloseDuringRerun closes a subscription, and the DB, while
// its query is being re-run: nothing is delivered after the end, the
// channel is closed once, and Close waits for the re-run.
func TestSubscription_CloseDuringRerun(t *testing.T) {
	for _, closeDB := range []bool{false, true} {
		t.Run(fmt.Sprintf("closeDB=%v", closeDB), func(t *testing.T) {
			forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
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
				assert.Equal(t, int64(1), livedb.SubscriptionReruns(sub))
			})
		})
	}
}

// TestSubscribe_QueryErrors covers a query that fails: the failure is an
// update, the same failure is not re-sent, a later success is delivered,
// and a panic in a re-run becomes an error update without stopping the
// other subscriptions.
func TestSubscribe_QueryErrors(t *testing.T) {
	forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
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
		assert.Equal(t, int64(1), livedb.SubscriptionReruns(sub))
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
	forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
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
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			db := openBackend(t, b, rxSchema(), nil)
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
				mustRecv(t, subs, testWait, "a subscription of the writers")
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
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			// Not openBackend: its cleanup would wait for a Close that hangs.
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

package livedb

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// TestDB_Submit_MemoryCommitsInline checks that a lone mutation of a
// memory database commits on the caller's goroutine: the committer is not
// started, and the commit is visible (published) when Mutation returns.
// With submitInline disabled, the committer starts.
func TestDB_Submit_MemoryCommitsInline(t *testing.T) {
	db := openWhitebox(t, "memory", lazySchema(), Options{})
	ctx := context.Background()
	for i := range 3 {
		ts, err := db.MutationTS(ctx, func(m *MutationCtx) error {
			_, err := m.DB.Insert("items", Doc{"n": int64(i)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := db.LastTimestamp(); got != ts {
			t.Fatalf("commit %d: LastTimestamp() = %d after MutationTS returned %d", i, got, ts)
		}
	}
	if db.lazy.on.Load() {
		t.Fatal("three lone mutations of a memory database started the committer; want them committed inline")
	}
	n, err := QueryValue(ctx, db, countLazyItems)
	if err != nil || n != 3 {
		t.Fatalf("after 3 inserts: %d items, %v; want 3, nil", n, err)
	}
}

// TestDB_Submit_InlineWaitsForPause checks that a mutation running alone
// (runAlone) still has no commit land beside it on a memory database: a
// mutation started during the pause does not commit inline, it waits for
// the pause's commit. With the committer not holding commitMu during the
// pause, the other mutation commits at once and the test fails.
func TestDB_Submit_InlineWaitsForPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openWhitebox(t, "memory", lazySchema(), Options{})
		ctx := context.Background()
		otherDone := make(chan error, 1)
		var otherTS uint64
		aloneTS, err := db.retry(ctx, func(submitter) (uint64, *conflict, error) {
			return db.runAlone(ctx, 0, func(sub submitter) (uint64, *conflict, error) {
				return db.mutateOnce(ctx, func(m *MutationCtx) error {
					go func() {
						var err error
						otherTS, err = db.MutationTS(ctx, func(m *MutationCtx) error {
							_, err := m.DB.Insert("items", Doc{"n": int64(2)})
							return err
						})
						otherDone <- err
					}()
					synctest.Wait() // the other mutation commits, or waits for the pause
					select {
					case err := <-otherDone:
						t.Errorf("a mutation committed (err %v) while another ran alone", err)
					default:
					}
					_, err := m.DB.Insert("items", Doc{"n": int64(1)})
					return err
				}, sub)
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := <-otherDone; err != nil {
			t.Fatal(err)
		}
		if otherTS <= aloneTS {
			t.Errorf("the mutation that waited committed at %d, not after the one that ran alone (%d)", otherTS, aloneTS)
		}
	})
}

// TestDB_Submit_SubscribedMemoryCommitsInline checks that a memory
// database with a subscription still commits on the caller's goroutine
// (the committer is not started) and that the subscription gets each
// commit's result. With commitsInline false while subscriptions exist,
// the committer starts and the test fails.
func TestDB_Submit_SubscribedMemoryCommitsInline(t *testing.T) {
	db, sub := subscribedMemory(t)
	ctx := context.Background()
	for n := int64(1); n <= 3; n++ {
		ts, err := db.MutationTS(ctx, func(m *MutationCtx) error {
			_, err := m.DB.Insert("items", Doc{"n": n})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for {
			u := nextCount(t, sub)
			if u.Err != nil {
				t.Fatal(u.Err)
			}
			if u.Timestamp >= ts {
				if u.Value != int(n) {
					t.Fatalf("update at %d: %d items, want %d", u.Timestamp, u.Value, n)
				}
				break
			}
		}
	}
	if db.lazy.on.Load() {
		t.Fatal("mutations of a memory database with a subscription started the committer; want them committed inline")
	}
}

// subscribedMemory opens a memory database with a subscription to its
// item count, closed when the test ends, and takes its first update (0).
func subscribedMemory(t *testing.T) (*DB, *Subscription[int]) {
	t.Helper()
	db := openWhitebox(t, "memory", lazySchema(), Options{})
	sub, err := Subscribe(context.Background(), db, countLazyItems)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	if u := nextCount(t, sub); u.Err != nil || u.Value != 0 {
		t.Fatalf("first update %d, %v; want 0, nil", u.Value, u.Err)
	}
	return db, sub
}

// nextCount returns sub's next update, failing the test when none comes
// within 30 s (a lost wake-up, not a speed limit) or the channel closes.
func nextCount(t *testing.T, sub *Subscription[int]) Update[int] {
	t.Helper()
	select {
	case u, ok := <-sub.Updates():
		if !ok {
			t.Fatal("the subscription's channel closed")
		}
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("no update within 30 s")
	}
	panic("unreachable")
}

// TestSubManager_Notify_SubscribedSkipsMu checks that a commit hands its
// records to the subscription manager without taking the manager's mu
// while subscriptions exist: the loop holds mu while it matches and
// between re-runs, and an inline commit's writer must not wait for it.
// With notify taking mu, the notify below waits until the test gives up
// (30 s) and fails.
func TestSubManager_Notify_SubscribedSkipsMu(t *testing.T) {
	db, _ := subscribedMemory(t)
	ctx := context.Background()
	ts, err := db.MutationTS(ctx, func(m *MutationCtx) error {
		_, err := m.DB.Insert("items", Doc{"n": int64(1)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.WaitSubscriptions(ctx, ts); err != nil {
		t.Fatal(err)
	}
	m := db.subs
	m.mu.Lock()
	notified := make(chan struct{})
	go func() {
		m.notify([]*commitRecord{{ts: ts + 1}}) // must not wait for mu
		close(notified)
	}()
	select {
	case <-notified:
		m.mu.Unlock()
	case <-time.After(30 * time.Second):
		m.mu.Unlock()
		t.Fatal("notify waited 30 s for the manager's mu")
	}
	if _, err := db.WaitSubscriptions(ctx, ts+1); err != nil {
		t.Fatal(err)
	}
}

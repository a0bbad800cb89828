package livedb

import (
	"context"
	"testing"
	"testing/synctest"
)

// TestSubManager_RerunWaitingFirst_LateNotStarved checks the guard
// against starvation of late re-runs: while a commit is pending, a loop
// leaves every late re-run for later, but at most maxLateSkips loops in a
// row; the next one re-runs at least one, and one without a commit pending
// re-runs them all.
func TestSubManager_RerunWaitingFirst_LateNotStarved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openItemsMemory(t)
		ctx := context.Background()
		var late []*subState
		for range 20 {
			sub, err := Subscribe(ctx, db, countItems) // the first update stays unread: late
			if err != nil {
				t.Fatal(err)
			}
			late = append(late, sub.state)
		}
		synctest.Wait() // the manager's loop is idle: this goroutine calls it alone
		m := db.subs
		reruns := func() (n int64) {
			for _, st := range late {
				n += st.reruns.Load()
			}
			return n
		}
		m.hasPending.Store(true)
		for i := range maxLateSkips {
			if left := m.rerunWaitingFirst(late); len(left) != len(late) {
				t.Fatalf("loop %d with a commit pending: %d of %d late subscriptions left, want all", i, len(left), len(late))
			}
		}
		if n := reruns(); n != 0 {
			t.Fatalf("%d late re-runs in %d loops with a commit pending, want 0", n, maxLateSkips)
		}
		left := m.rerunWaitingFirst(late)
		if n := reruns(); n == 0 || len(left) != len(late)-int(n) {
			t.Fatalf("loop %d with a commit pending: %d re-runs, %d of %d left; want at least one re-run, the others left", maxLateSkips+1, n, len(left), len(late))
		}
		m.hasPending.Store(false)
		if left := m.rerunWaitingFirst(left); len(left) != 0 {
			t.Fatalf("loop without a commit pending: %d late subscriptions left, want 0", len(left))
		}
		if n := reruns(); n != int64(len(late)) {
			t.Fatalf("%d late re-runs in all, want %d (each once)", n, len(late))
		}
	})
}

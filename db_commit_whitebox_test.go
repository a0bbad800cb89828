package livedb

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestGrouper_Gather checks how the committer gathers a group, in virtual
// time: every queued request; the requests of running mutations that
// arrive within the wait; no wait when nothing else runs or before the
// first commit; and waits that gain nothing make the next ones rarer.
func TestGrouper_Gather(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := &DB{commitCh: make(chan *commitReq), closing: make(chan struct{}), active: map[uint64]int{}}
		req := func() *commitReq { return &commitReq{} }
		send := func(n int, after time.Duration) {
			for range n {
				go func() {
					time.Sleep(after)
					db.commitCh <- req()
				}()
			}
		}
		gather := func(g *grouper) (int, time.Duration) {
			t.Helper()
			synctest.Wait() // queued senders are blocked on commitCh
			start := time.Now()
			group := g.gather(db, req())
			return len(group), time.Since(start)
		}
		g := &grouper{}

		// Before the first commit (lastDur 0): the queued requests only.
		db.active[1] = 3
		send(1, 0)
		send(1, time.Millisecond)
		if n, d := gather(g); n != 2 || d != 0 {
			t.Fatalf("first group: %d requests after %v, want 2 at once", n, d)
		}
		synctest.Wait()
		<-db.commitCh // the late one

		// Running mutations that submit within the wait join the group.
		g.lastDur = 4 * time.Millisecond
		db.active[1] = 4
		send(1, 0)
		send(2, 300*time.Microsecond)
		if n, d := gather(g); n != 4 || d != 300*time.Microsecond {
			t.Fatalf("group with running mutations: %d requests after %v, want 4 after 300µs", n, d)
		}

		// Nothing else running: no wait.
		db.active[1] = 1
		if n, d := gather(g); n != 1 || d != 0 {
			t.Fatalf("lone mutation: %d requests after %v, want 1 at once", n, d)
		}

		// Running mutations that do not submit: a wait of half the last
		// commit (capped), then 1, 3, 7 groups without waiting.
		db.active[1] = 2
		g.lastDur = 10 * time.Millisecond
		var waits []time.Duration
		for range 14 {
			_, d := gather(g)
			waits = append(waits, d)
		}
		w := commitDelayMax
		want := []time.Duration{w, 0, w, 0, 0, 0, w, 0, 0, 0, 0, 0, 0, 0}
		for i := range want {
			if waits[i] != want[i] {
				t.Fatalf("waits = %v, want %v", waits, want)
			}
		}
		g.lastDur = time.Millisecond
		for g.skip > 0 {
			gather(g)
		}
		if _, d := gather(g); d != 500*time.Microsecond {
			t.Fatalf("wait after a 1ms commit = %v, want 500µs", d)
		}
	})
}

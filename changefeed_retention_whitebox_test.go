package livedb

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livedb-go/livedb/v"
)

// pinClock replaces timeNow with a clock that reads the returned value (in
// nanoseconds since the Unix epoch) until the test ends. The test must not
// run in parallel with others, and must close its databases before the
// clock is restored (register pinClock first: cleanups run last first).
func pinClock(t *testing.T, start int64) *atomic.Int64 {
	t.Helper()
	var now atomic.Int64
	now.Store(start)
	old := timeNow
	timeNow = func() time.Time { return time.Unix(0, now.Load()) }
	t.Cleanup(func() { timeNow = old })
	return &now
}

// TestDB_PruneChanges_RetentionBoundary pins the clock so that commits get
// chosen timestamps, and makes one commit prune the change feed (as every
// 256th does) at a time when one change is exactly ChangeRetention old and
// the one before it is one nanosecond older. A change stays in the feed for
// ChangeRetention: the first is kept, the second and everything before it
// is pruned, and the feed says so. An off-by-one cutoff either way fails.
func TestDB_PruneChanges_RetentionBoundary(t *testing.T) {
	const retention = time.Hour
	for _, backend := range []string{"memory", "bbolt"} {
		t.Run(backend, func(t *testing.T) {
			const t0 = int64(1_800_000_000_000_000_000)
			clock := pinClock(t, t0)
			s := DefineSchema(Tables{
				"items": DefineTable(v.Object(v.Fields{"n": v.Int64()})),
				"other": DefineTable(v.Object(v.Fields{"n": v.Int64()})),
			})
			db := openWhitebox(t, backend, s, Options{ChangeRetention: retention})
			ctx := context.Background()
			commit := func(table string, at int64) uint64 {
				t.Helper()
				clock.Store(at)
				ts, err := db.MutationTS(ctx, func(m *MutationCtx) error {
					_, err := m.DB.Insert(table, Doc{"n": at - t0})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if ts != uint64(at) {
					t.Fatalf("commit at clock %d got timestamp %d", at, ts)
				}
				return ts
			}
			// Three commits one nanosecond apart; a, the oldest, is pruned.
			older := commit("items", t0)
			a := commit("items", t0+1)
			b := commit("items", t0+2)
			c := commit("items", t0+3)

			// The next commit prunes, when b is exactly the retention old.
			db.sincePrune = pruneEvery - 1 // committer only: no commit is running
			now := commit("other", int64(b)+int64(retention))

			var got []uint64
			f := db.Changes(0)
			for {
				ch, ok, err := f.TryNext()
				if err != nil {
					t.Fatalf("feed from the oldest change: %v", err)
				}
				if !ok {
					break
				}
				got = append(got, ch.Timestamp)
			}
			want := []uint64{b, c, now}
			if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
				t.Errorf("changes kept = %v, want %v: b is exactly the retention (%v) old and stays, a (at %d) is older and goes", got, want, retention, a)
			}
			snap, err := db.store.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			pruned, err := prunedThrough(snap)
			snap.Release()
			if err != nil || pruned != a {
				t.Errorf("pruned through %d (err %v), want %d: every change at or before a", pruned, err, a)
			}
			if _, err := db.Changes(a).Next(ctx); err != nil {
				t.Errorf("a feed after a, the last change pruned: %v", err)
			}
			if _, err := db.Changes(older).Next(ctx); !errors.Is(err, ErrChangesPruned) {
				t.Errorf("a feed after %d, before a: err = %v, want ErrChangesPruned", older, err)
			}
		})
	}
}

package livedb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
)

// rxDrain reads a feed until it is caught up.
func rxDrain(t *testing.T, f *livedb.ChangeFeed) []livedb.Change {
	t.Helper()
	var out []livedb.Change
	for {
		c, ok, err := f.TryNext()
		require.NoError(t, err)
		if !ok {
			return out
		}
		out = append(out, c)
	}
}

// rxChange is the comparable summary of a change: timestamp, op, table,
// ID, and the n (or x) field of the old and new documents (-1: absent).
type rxChange struct {
	ts     uint64
	op     string
	table  string
	id     livedb.ID
	oldVal int64
	newVal int64
}

func rxSummary(cs []livedb.Change) []rxChange {
	val := func(d livedb.Doc) int64 {
		if d == nil {
			return -1
		}
		for _, f := range []string{"n", "x"} {
			if x, ok := d[f].(int64); ok {
				return x
			}
		}
		return -2
	}
	out := make([]rxChange, len(cs))
	for i, c := range cs {
		out[i] = rxChange{c.Timestamp, c.Op, c.Table, c.ID, val(c.Old), val(c.New)}
	}
	return out
}

func TestChangeFeed_Next_EveryWriteInCommitOrder(t *testing.T) {
	forEachBackend(t, rxSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := boundedCtx(t) // Next waits: bound it
		start := db.LastTimestamp()
		var a, b livedb.ID
		ts1, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
			var err error
			if a, err = m.DB.Insert("items", livedb.Doc{"bucket": int64(1), "n": int64(1)}); err != nil {
				return err
			}
			b, err = m.DB.Insert("other", livedb.Doc{"x": int64(10)})
			return err
		})
		require.NoError(t, err)
		ts2 := rxPatch(t, db, a, livedb.Doc{"n": int64(2)})
		ts3, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
			if err := m.DB.Replace(b, livedb.Doc{"x": int64(11)}); err != nil {
				return err
			}
			return m.DB.Delete(a)
		})
		require.NoError(t, err)
		require.Less(t, ts1, ts2)
		require.Less(t, ts2, ts3)

		want := []rxChange{
			{ts1, "insert", "items", a, -1, 1},
			{ts1, "insert", "other", b, -1, 10},
			{ts2, "update", "items", a, 1, 2},
			{ts3, "update", "other", b, 10, 11},
			{ts3, "delete", "items", a, 2, -1},
		}
		all := rxDrain(t, db.Changes(start))
		assert.Equal(t, want, rxSummary(all))
		assert.Equal(t, want, rxSummary(rxDrain(t, db.Changes(0))), "0 means from the oldest change kept")
		assert.Equal(t, want[2:], rxSummary(rxDrain(t, db.Changes(ts1))), "strictly after ts1")
		assert.Empty(t, rxDrain(t, db.Changes(db.LastTimestamp())))

		// Old and New are the whole documents, system fields included.
		ins, upd := all[0], all[2]
		assert.Equal(t, a, ins.New["_id"])
		assert.Equal(t, ins.New["_creationTime"], upd.Old["_creationTime"])
		assert.Equal(t, ins.New, upd.Old)
		assert.Equal(t, "update", upd.Op)

		// Next returns the same changes.
		f := db.Changes(start)
		for i := range want {
			c, err := f.Next(ctx)
			require.NoError(t, err)
			assert.Equal(t, want[i], rxSummary([]livedb.Change{c})[0])
		}
	})
}

func TestChangeFeed_Next_FilterByTable(t *testing.T) {
	forEachBackend(t, rxSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := boundedCtx(t) // Next waits: bound it
		start := db.LastTimestamp()
		// More changes of another table than one read batch holds, then
		// one of the filtered table, in one commit and then in many.
		var want []livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			for i := range 300 {
				if _, err := m.DB.Insert("items", livedb.Doc{"bucket": int64(i), "n": int64(i)}); err != nil {
					return err
				}
			}
			id, err := m.DB.Insert("other", livedb.Doc{"x": int64(1)})
			want = append(want, id)
			return err
		})
		for i := range 20 {
			rxInsert(t, db, 1, int64(i))
		}
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			id, err := m.DB.Insert("other", livedb.Doc{"x": int64(2)})
			want = append(want, id)
			return err
		})
		rxInsert(t, db, 1, 1000)

		f := db.Changes(start, "other")
		got := rxDrain(t, f)
		require.Len(t, got, 2)
		for i, c := range got {
			assert.Equal(t, "other", c.Table)
			assert.Equal(t, want[i], c.ID)
		}
		// Caught up: the filtered-out changes after the last one are
		// skipped too, so a new change of the table is the next one.
		_, ok, err := f.TryNext()
		require.NoError(t, err)
		require.False(t, ok)
		var x livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			var err error
			x, err = m.DB.Insert("other", livedb.Doc{"x": int64(3)})
			return err
		})
		c, err := f.Next(ctx)
		require.NoError(t, err)
		assert.Equal(t, x, c.ID)

		both := rxDrain(t, db.Changes(start, "items", "other"))
		assert.Len(t, both, 300+1+20+1+1+1)
		assert.Empty(t, rxDrain(t, db.Changes(start, "nosuchtable")))
	})
}

func TestChangeFeed_Next_ResumesAfterReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feed.db")
	opts := &livedb.Options{NoSync: true}
	db, err := livedb.Open(path, rxSchema(), opts)
	require.NoError(t, err)
	var ids []livedb.ID
	for i := range 6 {
		id, _ := rxInsert(t, db, int64(i), int64(i))
		ids = append(ids, id)
	}
	ctx := boundedCtx(t) // Next waits: bound it
	f := db.Changes(0)
	var handled uint64
	for range 3 {
		c, err := f.Next(ctx)
		require.NoError(t, err)
		handled = c.Timestamp
	}
	require.NoError(t, db.Close())
	for range 4 { // the changes already buffered, then the end
		if _, err = f.Next(ctx); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, livedb.ErrClosed, "a feed of a closed DB")

	db, err = livedb.Open(path, rxSchema(), opts)
	require.NoError(t, err)
	defer livedbtest.MustCheckClose(t, db)
	id, _ := rxInsert(t, db, 9, 9)
	ids = append(ids, id)
	rest := rxDrain(t, db.Changes(handled))
	require.Len(t, rest, 4)
	for i, c := range rest {
		assert.Equal(t, ids[3+i], c.ID)
		assert.Equal(t, "insert", c.Op)
	}
}

func TestChangeFeed_Next_WaitsForCommit(t *testing.T) {
	forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
		f := db.Changes(db.LastTimestamp())
		type result struct {
			c   livedb.Change
			err error
		}
		got := make(chan result, 1)
		go func() {
			c, err := f.Next(context.Background())
			got <- result{c, err}
		}()
		synctest.Wait()
		select {
		case r := <-got:
			t.Fatalf("Next returned before any commit: %+v", r)
		default:
		}
		id, ts := rxInsert(t, db, 1, 1)
		synctest.Wait()
		select {
		case r := <-got:
			require.NoError(t, r.err)
			assert.Equal(t, id, r.c.ID)
			assert.Equal(t, ts, r.c.Timestamp)
		default:
			t.Fatal("a commit did not wake Next")
		}
	})
}

func TestChangeFeed_Next_EndsOnCancelAndClose(t *testing.T) {
	forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		errs := make(chan error, 2)
		go func() {
			_, err := db.Changes(db.LastTimestamp()).Next(ctx)
			errs <- err
		}()
		go func() {
			_, err := db.Changes(db.LastTimestamp()).Next(context.Background())
			errs <- err
		}()
		synctest.Wait()
		require.Empty(t, errs)
		cancel()
		synctest.Wait()
		require.Len(t, errs, 1)
		assert.ErrorIs(t, <-errs, context.Canceled)
		require.NoError(t, db.Close())
		synctest.Wait()
		require.Len(t, errs, 1)
		assert.ErrorIs(t, <-errs, livedb.ErrClosed)

		f := db.Changes(0)
		_, err := f.Next(context.Background())
		assert.ErrorIs(t, err, livedb.ErrClosed)
		_, _, err = f.TryNext()
		assert.ErrorIs(t, err, livedb.ErrClosed)
	})
}

// TestChangeFeed_Next_Pruned commits more than the 256 commits between two
// prunings with a 1ns retention: a feed asked to start before the pruned
// changes, or one that fell behind them, fails with ErrChangesPruned; a
// feed from the oldest kept change or from the present does not.
func TestChangeFeed_Next_Pruned(t *testing.T) {
	for _, b := range bubbleBackends() {
		t.Run(b, func(t *testing.T) {
			// In a bubble, so that the retention measures virtual time.
			rxSynctest(t, func(t *testing.T) {
				db := openBackend(t, b, rxSchema(), &livedb.Options{ChangeRetention: time.Nanosecond})
				ctx := context.Background()
				_, first := rxInsert(t, db, 0, 0)
				lagging := db.Changes(0)
				_, err := lagging.Next(ctx)
				require.NoError(t, err)
				behind := db.Changes(first)
				_, _, err = behind.TryNext() // caught up: nothing yet
				require.NoError(t, err)

				for i := range 300 {
					time.Sleep(time.Millisecond) // virtual: older than the retention
					rxInsert(t, db, 1, int64(i))
				}
				_, err = db.Changes(first).Next(ctx)
				assert.ErrorIs(t, err, livedb.ErrChangesPruned, "start before the pruned changes")
				_, _, err = db.Changes(first).TryNext()
				assert.ErrorIs(t, err, livedb.ErrChangesPruned)
				_, err = lagging.Next(ctx)
				assert.ErrorIs(t, err, livedb.ErrChangesPruned, "a reader that fell behind the retention")
				_, err = lagging.Next(ctx)
				assert.ErrorIs(t, err, livedb.ErrChangesPruned, "the error sticks")
				_, err = behind.Next(ctx)
				assert.ErrorIs(t, err, livedb.ErrChangesPruned, "a caught-up reader that did not read before the pruning")

				kept := rxDrain(t, db.Changes(0))
				require.NotEmpty(t, kept, "0 starts at the oldest change kept")
				assert.Less(t, len(kept), 301)
				assert.Equal(t, db.LastTimestamp(), kept[len(kept)-1].Timestamp)
				now := db.Changes(db.LastTimestamp())
				assert.Empty(t, rxDrain(t, now))
				_, ts := rxInsert(t, db, 2, 2)
				c, err := now.Next(ctx)
				require.NoError(t, err)
				assert.Equal(t, ts, c.Timestamp)
			})
		})
	}
}

func TestChangeFeed_Next_NegativeRetentionKeepsAll(t *testing.T) {
	forEachBackendOptions(t, rxSchema(), &livedb.Options{ChangeRetention: -1}, func(t *testing.T, db *livedb.DB) {
		var ids []livedb.ID
		for i := range 300 {
			id, _ := rxInsert(t, db, 0, int64(i))
			ids = append(ids, id)
		}
		got := rxDrain(t, db.Changes(0))
		require.Len(t, got, 300)
		for i, c := range got {
			require.Equal(t, ids[i], c.ID, fmt.Sprint("change ", i))
		}
	})
}

// TestChangeFeed_Next_PruningKeepsCommitsWhole prunes a commit of more
// changes than one pruning deletes: the commit goes whole, and a feed never
// starts in the middle of it.
func TestChangeFeed_Next_PruningKeepsCommitsWhole(t *testing.T) {
	for _, b := range bubbleBackends() {
		t.Run(b, func(t *testing.T) {
			rxSynctest(t, func(t *testing.T) {
				db := openBackend(t, b, rxSchema(), &livedb.Options{ChangeRetention: time.Nanosecond})
				const big = 4200 // more than the 4,096 records one pruning deletes
				bigTS, err := db.MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
					for i := range big {
						if _, err := m.DB.Insert("other", livedb.Doc{"x": int64(i)}); err != nil {
							return err
						}
					}
					return nil
				})
				require.NoError(t, err)
				for i := range 260 {
					time.Sleep(time.Millisecond)
					rxInsert(t, db, 1, int64(i))
				}
				kept := rxDrain(t, db.Changes(0))
				require.NotEmpty(t, kept)
				left := 0
				for _, c := range kept {
					if c.Timestamp == bigTS {
						left++
					}
				}
				assert.Zero(t, left, "the feed starts inside a pruned commit: %d of its %d changes are left", left, big)
				_, err = db.Changes(bigTS - 1).Next(context.Background())
				assert.ErrorIs(t, err, livedb.ErrChangesPruned)
			})
		})
	}
}

// A document that a mutation inserts and deletes again changed nothing
// committed: the feed has no change for it, and reads the mutation's
// other writes.
func TestChangeFeed_Next_InsertDeletedInSameMutation(t *testing.T) {
	forEachBackend(t, rxSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := boundedCtx(t)
		start := db.LastTimestamp()
		var kept livedb.ID
		ts, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
			gone, err := m.DB.Insert("items", livedb.Doc{"bucket": int64(1), "n": int64(1)})
			if err != nil {
				return err
			}
			if err := m.DB.Delete(gone); err != nil {
				return err
			}
			kept, err = m.DB.Insert("items", livedb.Doc{"bucket": int64(1), "n": int64(2)})
			return err
		})
		require.NoError(t, err)
		want := []rxChange{{ts, "insert", "items", kept, -1, 2}}
		assert.Equal(t, want, rxSummary(rxDrain(t, db.Changes(start))))
	})
}

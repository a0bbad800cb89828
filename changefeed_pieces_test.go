package livedb_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// TestChangeFeed_Next_LargeCommits reads commits of hundreds of writes,
// whose records span many pieces and more than one read of the feed: 700
// inserts interleaved with inserts into another table, the patch of each
// in reverse order (the new version of an insert is the old version of a
// record in the middle of a later commit), and the delete of every other
// one. The feed gives every write in commit order with its old and new
// versions, filtered by table or not, and from the position after a
// commit.
func TestChangeFeed_Next_LargeCommits(t *testing.T) {
	const n = 700
	forEachBackend(t, rxSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := boundedCtx(t)
		start := db.LastTimestamp()
		var want []rxChange
		ids := make([]livedb.ID, n)
		var others []livedb.ID
		ts1, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
			want = want[:0]
			others = others[:0]
			for i := range n {
				var err error
				if ids[i], err = m.DB.Insert("items", livedb.Doc{"bucket": int64(1), "n": int64(i)}); err != nil {
					return err
				}
				if i%100 == 0 {
					o, err := m.DB.Insert("other", livedb.Doc{"x": int64(i)})
					if err != nil {
						return err
					}
					others = append(others, o)
				}
			}
			return nil
		})
		require.NoError(t, err)
		for i := range n {
			want = append(want, rxChange{ts1, "insert", "items", ids[i], -1, int64(i)})
			if i%100 == 0 {
				want = append(want, rxChange{ts1, "insert", "other", others[i/100], -1, int64(i)})
			}
		}
		ts2, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
			for i := n - 1; i >= 0; i-- {
				if err := m.DB.Patch(ids[i], livedb.Doc{"n": int64(n + i)}); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, err)
		for i := n - 1; i >= 0; i-- {
			want = append(want, rxChange{ts2, "update", "items", ids[i], int64(i), int64(n + i)})
		}
		ts3, err := db.MutationTS(ctx, func(m *livedb.MutationCtx) error {
			for i := 0; i < n; i += 2 {
				if err := m.DB.Delete(ids[i]); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, err)
		for i := 0; i < n; i += 2 {
			want = append(want, rxChange{ts3, "delete", "items", ids[i], int64(n + i), -1})
		}

		assert.Equal(t, want, rxSummary(rxDrain(t, db.Changes(start))), "every change")
		assert.Equal(t, want[n+len(others):], rxSummary(rxDrain(t, db.Changes(ts1))), "after the first commit")
		onlyOther := slices.DeleteFunc(slices.Clone(want), func(c rxChange) bool { return c.table != "other" })
		require.Len(t, onlyOther, len(others))
		assert.Equal(t, onlyOther, rxSummary(rxDrain(t, db.Changes(start, "other"))), "other's changes")
		f := db.Changes(start)
		for i := range want {
			c, err := f.Next(ctx)
			require.NoError(t, err)
			require.Equal(t, want[i], rxSummary([]livedb.Change{c})[0], "change %d by Next", i)
		}
	})
}

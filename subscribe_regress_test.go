package livedb_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// TestSubscribe_LimitedReadRerunsWhenLastRowChanges subscribes to a read
// that stops before the end of its range (First, Take, a Paginate page,
// both orders) and patches the last document it read, in a field outside
// the index: the document's index key does not move, so only a read set
// that holds the last row's key (the interval up to its successor) sees the
// write. Without it the subscriber kept the stale result. A patch of the
// next document, which the read did not reach, must not re-run it.
func TestSubscribe_LimitedReadRerunsWhenLastRowChanges(t *testing.T) {
	for _, rd := range rxLimitedReads {
		t.Run(rd.name, func(t *testing.T) {
			forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
				ids := rxBucket1IDs(t, db)
				sub, err := livedb.Subscribe(context.Background(), db, func(q *livedb.QueryCtx) (int64, error) {
					docs, err := rd.read(q.DB)
					var sum int64
					for _, d := range docs {
						sum += d["n"].(int64)
					}
					return sum, err
				})
				require.NoError(t, err)
				defer sub.Close()
				first := rxNext(t, sub)
				require.NoError(t, first.Err)

				ts := rxPatch(t, db, ids[rd.last], livedb.Doc{"n": int64(100)})
				u := rxNext(t, sub)
				require.NoError(t, u.Err)
				assert.Equal(t, first.Value+100-int64(rd.last), u.Value, "the result after the last document read was patched")
				assert.Equal(t, ts, u.Timestamp)

				// The document after the last one read (in scan order) is
				// outside the read set.
				next := rd.last + 1
				if rd.desc {
					next = rd.last - 1
				}
				reruns := livedb.SubscriptionReruns(sub)
				rxPatch(t, db, ids[next], livedb.Doc{"n": int64(200)})
				rxNone(t, sub)
				assert.Equal(t, reruns, livedb.SubscriptionReruns(sub), "a write past the end of the read re-ran the subscription")
			})
		})
	}
}

// TestSubscribe_GetSeesFieldAddedAndRemoved subscribes to a document by ID
// and patches it to add a field, then to remove it. A result that only
// gained a field is news: the comparison of results must not take a map
// whose entries all match the old one's for an equal one (without the
// comparison of map lengths, the added field was never delivered).
func TestSubscribe_GetSeesFieldAddedAndRemoved(t *testing.T) {
	forEachBackendBubble(t, rxSchema(), nil, func(t *testing.T, db *livedb.DB) {
		id, _ := rxInsert(t, db, 1, 10)
		sub, err := livedb.Subscribe(context.Background(), db, func(q *livedb.QueryCtx) (livedb.Doc, error) {
			d, _, err := q.DB.Get(id)
			return d, err
		})
		require.NoError(t, err)
		defer sub.Close()
		u := rxNext(t, sub)
		require.NoError(t, u.Err)
		require.NotContains(t, u.Value, "note")

		steps := []struct {
			name  string
			patch livedb.Doc
			check func(t *testing.T, d livedb.Doc)
		}{
			{"add a field", livedb.Doc{"note": "added"}, func(t *testing.T, d livedb.Doc) {
				assert.Equal(t, "added", d["note"])
			}},
			{"remove it", livedb.Doc{"note": livedb.Undefined}, func(t *testing.T, d livedb.Doc) {
				assert.NotContains(t, d, "note")
			}},
			{"add it again", livedb.Doc{"note": "again"}, func(t *testing.T, d livedb.Doc) {
				assert.Equal(t, "again", d["note"])
			}},
		}
		for _, st := range steps {
			ts := rxPatch(t, db, id, st.patch)
			u := rxNext(t, sub)
			require.NoError(t, u.Err, st.name)
			assert.Equal(t, ts, u.Timestamp, st.name)
			st.check(t, u.Value)
			assert.Equal(t, int64(10), u.Value["n"], st.name)
		}

		// A replace that adds a field is news too; one that writes the same
		// document is not a write at all.
		err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			return m.DB.Replace(id, livedb.Doc{"bucket": int64(1), "n": int64(10), "note": "again"})
		})
		require.NoError(t, err)
		rxNone(t, sub)
		ts, err := db.MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
			return m.DB.Replace(id, livedb.Doc{"bucket": int64(1), "n": int64(10)})
		})
		require.NoError(t, err)
		u = rxNext(t, sub)
		assert.Equal(t, ts, u.Timestamp)
		assert.NotContains(t, u.Value, "note")
	})
}

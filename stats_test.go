package livedb_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

func TestDB_Stats_Subscriptions(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		assert.Equal(t, 0, db.Stats().Subscriptions)
		count := func(q *livedb.QueryCtx) (int, error) {
			docs, err := q.DB.Query("workflows").Collect()
			return len(docs), err
		}
		a, err := livedb.Subscribe(context.Background(), db, count)
		require.NoError(t, err)
		b, err := livedb.Subscribe(context.Background(), db, count)
		require.NoError(t, err)
		assert.Equal(t, 2, db.Stats().Subscriptions)
		a.Close()
		assert.Equal(t, 1, db.Stats().Subscriptions, "a closed subscription is no longer counted")
		b.Close()
		assert.Equal(t, 0, db.Stats().Subscriptions)
	})
}

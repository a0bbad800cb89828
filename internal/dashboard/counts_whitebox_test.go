package dashboard

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// TestCounter_Get_RecountsAfterCommitsAtMostOncePerWait moves the
// counter's clock by hand: a count is reused while nothing commits, even
// long after; after a commit it is reused until the wait is over, then
// redone.
func TestCounter_Get_RecountsAfterCommitsAtMostOncePerWait(t *testing.T) {
	db, err := livedb.OpenMemory(livedb.DefineSchema(livedb.Tables{
		"notes": livedb.DefineTable(v.Object(v.Fields{"body": v.String()})),
	}))
	require.NoError(t, err)
	defer db.Close()
	insert := func() {
		t.Helper()
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("notes", livedb.Doc{"body": "x"})
			return err
		})
		require.NoError(t, err)
	}
	clock := time.Unix(1000, 0)
	c := newCounter(db)
	c.now = func() time.Time { return clock }
	docs := func() (int64, time.Time) {
		t.Helper()
		got, err := c.get(context.Background())
		require.NoError(t, err)
		require.Len(t, got.tables, 1)
		return got.tables[0].Documents, got.at
	}

	insert()
	n, at := docs()
	assert.Equal(t, int64(1), n)
	assert.Equal(t, clock, at)

	clock = clock.Add(time.Hour)
	n, at = docs()
	assert.Equal(t, int64(1), n)
	assert.Equal(t, time.Unix(1000, 0), at, "no commit since: the count is reused however old")

	// The last count is an hour old: the first request after a commit
	// recounts.
	insert()
	n, at = docs()
	assert.Equal(t, int64(2), n)
	assert.Equal(t, clock, at)

	insert()
	clock = clock.Add(minRecount - time.Millisecond)
	n, _ = docs()
	assert.Equal(t, int64(2), n, "commits within the wait: the last count is reused")

	clock = clock.Add(time.Millisecond)
	n, _ = docs()
	assert.Equal(t, int64(3), n, "the wait is over: recounted")
}

// TestCounter_StaleLocked_WaitGrowsWithCountTime checks that a count that
// took long is redone less often: after recountFactor times its duration.
func TestCounter_StaleLocked_WaitGrowsWithCountTime(t *testing.T) {
	db, err := livedb.OpenMemory(nil)
	require.NoError(t, err)
	defer db.Close()
	err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("notes", livedb.Doc{"body": "x"})
		return err
	})
	require.NoError(t, err)
	clock := time.Unix(1000, 0)
	c := newCounter(db)
	c.now = func() time.Time { return clock }
	last := &counts{through: 0, at: clock, took: time.Second} // a commit landed since
	for _, tc := range []struct {
		after time.Duration
		want  bool
	}{
		{minRecount, false},
		{recountFactor*time.Second - time.Millisecond, false},
		{recountFactor * time.Second, true},
	} {
		clock = last.at.Add(tc.after)
		assert.Equal(t, tc.want, c.staleLocked(last), "%v after a count that took 1s", tc.after)
	}
}

package livedb_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/pglog"
	"github.com/livedb-go/livedb/internal/pgtest"
	"github.com/livedb-go/livedb/livedbtest"
)

// TestOpen_SharedReadOnly_NoLockNoWrite: a read-only process of a shared
// database writes nothing to PostgreSQL (not even the tables of a database
// that is not there), opens while a writer holds the log, takes the stored
// schema when given none, and follows the writers' commits.
func TestOpen_SharedReadOnly_NoLockNoWrite(t *testing.T) {
	dsn := pgtest.Require(t).NewDatabase(t)
	ctx := boundedCtx(t)
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	ro := &livedb.Options{ReadOnly: true}

	_, err = livedb.Open(dsn, nil, ro)
	require.ErrorIs(t, err, livedb.ErrNotLivedb, "read-only Open of an empty PostgreSQL database")
	var tables int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'livedb\_%'`).Scan(&tables))
	require.Zero(t, tables, "a read-only Open created livedb tables")
	// With livedb's tables but no database in them yet (a writer that
	// stopped while opening), a read-only Open says so.
	l, err := pglog.Open(ctx, dsn, nil)
	require.NoError(t, err)
	l.Close()
	_, err = livedb.Open(dsn, nil, ro)
	require.ErrorIs(t, err, livedb.ErrNotLivedb)
	require.ErrorContains(t, err, "the shared database is empty")

	w, err := livedb.Open(dsn, rxSchema(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { livedbtest.MustCheckClose(t, w) })
	id, ts := rxInsert(t, w, 1, 10)

	// Hold the log as a writer's commit does, and open read-only: a
	// read-only Open that locked the log would wait for it and fail.
	hold, err := conn.Begin(ctx)
	require.NoError(t, err)
	var head int64
	require.NoError(t, hold.QueryRow(ctx, "SELECT head FROM livedb_meta FOR UPDATE").Scan(&head))
	r, err := livedb.Open(dsn, nil, ro)
	require.NoError(t, err, "read-only Open while a writer holds the log")
	t.Cleanup(func() { livedbtest.MustCheckClose(t, r) })
	require.NoError(t, hold.Rollback(ctx))

	_, ok := r.Schema().Table("items")
	require.True(t, ok, "Open with a nil schema did not take the stored schema")
	require.GreaterOrEqual(t, r.LastTimestamp(), ts)
	require.Equal(t, map[livedb.ID]int64{id: 10}, mustQueryBucket(t, r, 1))

	err = r.Mutation(ctx, func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("items", livedb.Doc{"bucket": int64(1), "n": int64(11)})
		return err
	})
	require.ErrorIs(t, err, livedb.ErrReadOnly)
	var after int64
	require.NoError(t, conn.QueryRow(ctx, "SELECT head FROM livedb_meta").Scan(&after))
	require.Equal(t, head, after, "the read-only process moved the log's head")

	id2, ts2 := rxInsert(t, w, 1, 12)
	require.NoError(t, r.CatchUp(ctx, ts2))
	require.Equal(t, map[livedb.ID]int64{id: 10, id2: 12}, mustQueryBucket(t, r, 1))
}

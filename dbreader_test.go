package livedb_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
)

// runningOf is a helper of the kind DBReader is for: it reads, and a query
// and a mutation both call it with their ctx's DB.
func runningOf(db livedb.DBReader, wf livedb.Ref[typedWorkflow]) ([]typedSession, error) {
	return typedSessions.Query(db).
		WithIndex("by_workflow_and_status", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Eq("workflowId", wf).Eq("status", "running")
		}).
		Collect()
}

func TestTable_Get_TakesWriterAndSeesOwnWrites(t *testing.T) {
	forEachBackend(t, typedSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		wf := mustInsertTypedWorkflow(t, db, "a")
		mustInsertTypedSessions(t, db, wf, "running")

		err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			ref, err := typedSessions.Insert(m.DB, typedSession{WorkflowID: wf, AgentType: "coder", Status: "running", StartedAt: 9})
			require.NoError(t, err)

			// The Writer itself, no &m.DB.Reader: Get and Query see the
			// insert not yet committed.
			got, ok, err := typedSessions.Get(m.DB, ref)
			require.NoError(t, err)
			require.True(t, ok, "Get through the Writer sees the mutation's own insert")
			assert.Equal(t, 9.0, got.StartedAt)

			running, err := runningOf(m.DB, wf)
			require.NoError(t, err)
			assert.Equal(t, []float64{0, 9}, typedStartedAts(running), "Query through the Writer sees the committed session and the new one")

			// The untyped reads of the interface, through the Writer.
			d, ok, err := livedb.DBReader(m.DB).Get(ref.ID())
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, "coder", d["agentType"])
			return nil
		})
		require.NoError(t, err)

		// The same helper in a query.
		mustTypedQuery(t, db, func(r *livedb.Reader) error {
			running, err := runningOf(r, wf)
			require.NoError(t, err)
			assert.Equal(t, []float64{0, 9}, typedStartedAts(running))
			return nil
		})
	})
}

func TestDBReader_Methods_SameForReaderAndWriter(t *testing.T) {
	db := livedbtest.New(t, typedSchema())
	ctx := context.Background()
	wf := mustInsertTypedWorkflow(t, db, "a")

	// check reads through r what the workflow's snapshot holds.
	check := func(t *testing.T, r livedb.DBReader) {
		t.Helper()
		id, ok := r.NormalizeID("workflows", string(wf))
		assert.True(t, ok)
		assert.Equal(t, wf.ID(), id)
		_, ok = r.NormalizeID("agentSessions", string(wf))
		assert.False(t, ok, "an ID of workflows is not one of agentSessions")
		docs, err := r.Query("workflows").Collect()
		require.NoError(t, err)
		assert.Len(t, docs, 1)
		assert.Equal(t, db.LastTimestamp(), r.Timestamp())
	}
	vctx := context.WithValue(ctx, ctxKey{}, "v")
	require.NoError(t, db.Query(vctx, func(q *livedb.QueryCtx) error {
		check(t, q.DB)
		assert.Equal(t, "v", q.Context().Value(ctxKey{}), "the query's context")
		return nil
	}))
	require.NoError(t, db.Mutation(vctx, func(m *livedb.MutationCtx) error {
		check(t, m.DB)
		assert.Equal(t, "v", m.Context().Value(ctxKey{}), "the mutation's context")
		return nil
	}))
}

// ctxKey is a context key of the tests.
type ctxKey struct{}

func TestTable_NilDBReader_Error(t *testing.T) {
	tests := []struct {
		name string
		db   livedb.DBReader
	}{
		{"nil interface", nil},
		{"nil *Reader", (*livedb.Reader)(nil)},
		{"nil *Writer", (*livedb.Writer)(nil)},
		{"zero Reader", &livedb.Reader{}},
		{"zero Writer", &livedb.Writer{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := typedSessions.Get(tc.db, "x")
			require.ErrorContains(t, err, `livedb: get in table "agentSessions": nil Reader or Writer`)
			_, err = typedSessions.Query(tc.db).Collect()
			require.ErrorContains(t, err, `livedb: query of table "agentSessions": nil Reader or Writer`)
		})
	}
}

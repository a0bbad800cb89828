package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

var errValueTest = errors.New("value test: fn failed")

func TestQueryValue_ReturnsValue(t *testing.T) {
	forEachBackend(t, typedSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		wf := mustInsertTypedWorkflow(t, db, "a")
		mustInsertTypedSessions(t, db, wf, "running", "done", "running")

		n, err := livedb.QueryValue(ctx, db, func(q *livedb.QueryCtx) (int, error) {
			running, err := runningOf(q.DB, wf)
			return len(running), err
		})
		require.NoError(t, err)
		assert.Equal(t, 2, n)

		got, err := livedb.QueryValue(ctx, db, func(q *livedb.QueryCtx) (typedWorkflow, error) {
			w, _, err := typedWorkflows.Get(q.DB, wf)
			return w, err
		})
		require.NoError(t, err)
		assert.Equal(t, "a", got.Task)
		assert.Equal(t, wf, got.ID)
	})
}

func TestQueryValue_Error_ReturnsZero(t *testing.T) {
	forEachBackend(t, typedSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		n, err := livedb.QueryValue(ctx, db, func(q *livedb.QueryCtx) (int, error) {
			return 7, errValueTest
		})
		require.ErrorIs(t, err, errValueTest)
		assert.Zero(t, n, "the value fn returned with its error is dropped")

		// An error of the query itself, before fn runs.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		ran := false
		s, err := livedb.QueryValue(cctx, db, func(q *livedb.QueryCtx) (string, error) {
			ran = true
			return "x", nil
		})
		require.ErrorIs(t, err, context.Canceled)
		assert.False(t, ran)
		assert.Empty(t, s)
	})
}

func TestMutationValue_ReturnsValue(t *testing.T) {
	forEachBackend(t, typedSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		ref, err := livedb.MutationValue(ctx, db, func(m *livedb.MutationCtx) (livedb.Ref[typedWorkflow], error) {
			return typedWorkflows.Insert(m.DB, typedWorkflow{Task: "value", Status: "pending"})
		})
		require.NoError(t, err)
		require.NotEmpty(t, ref)
		mustTypedQuery(t, db, func(r *livedb.Reader) error {
			got, ok, err := typedWorkflows.Get(r, ref)
			require.NoError(t, err)
			require.True(t, ok, "the returned reference names the committed document")
			assert.Equal(t, "value", got.Task)
			return nil
		})
	})
}

func TestMutationValue_Error_ReturnsZeroWritesNothing(t *testing.T) {
	forEachBackend(t, typedSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		var inserted livedb.Ref[typedWorkflow]
		ref, err := livedb.MutationValue(ctx, db, func(m *livedb.MutationCtx) (livedb.Ref[typedWorkflow], error) {
			var err error
			inserted, err = typedWorkflows.Insert(m.DB, typedWorkflow{Task: "doomed", Status: "pending"})
			require.NoError(t, err)
			return inserted, errValueTest
		})
		require.ErrorIs(t, err, errValueTest)
		assert.Empty(t, ref, "the value fn returned with its error is dropped")
		mustTypedQuery(t, db, func(r *livedb.Reader) error {
			_, ok, err := typedWorkflows.Get(r, inserted)
			require.NoError(t, err)
			assert.False(t, ok, "nothing was written")
			return nil
		})
	})
}

// TestMutationValue_Retry_ReturnsCommittedRunsValue runs in a synctest
// bubble, so that the backoff before the retry takes no real time.
func TestMutationValue_Retry_ReturnsCommittedRunsValue(t *testing.T) {
	for _, backend := range bubbleBackends() {
		t.Run(backend, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				db := openBackend(t, backend, typedSchema(), nil)
				ctx := context.Background()
				wf := mustInsertTypedWorkflow(t, db, "first")

				runs := 0
				got, err := livedb.MutationValue(ctx, db, func(m *livedb.MutationCtx) (string, error) {
					runs++
					w, _, err := typedWorkflows.Get(m.DB, wf)
					if err != nil {
						return "", err
					}
					if runs == 1 {
						// Another mutation changes what this run read: this
						// run conflicts and is run again.
						if err := db.Mutation(ctx, func(m2 *livedb.MutationCtx) error {
							return typedWorkflows.Patch(m2.DB, wf, livedb.Doc{"task": "second"})
						}); err != nil {
							return "", err
						}
					}
					if err := typedWorkflows.Patch(m.DB, wf, livedb.Doc{"status": "in_progress"}); err != nil {
						return "", err
					}
					return fmt.Sprintf("run %d read %s", runs, w.Task), nil
				})
				require.NoError(t, err)
				assert.Equal(t, 2, runs, "the first run conflicted")
				assert.Equal(t, "run 2 read second", got, "the value of the run that committed")
			})
		})
	}
}

func TestMutationValue_Conflict_ReturnsZero(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			db := openBackend(t, backend, typedSchema(), &livedb.Options{MaxRetries: -1})
			ctx := context.Background()
			wf := mustInsertTypedWorkflow(t, db, "first")
			got, err := livedb.MutationValue(ctx, db, func(m *livedb.MutationCtx) (string, error) {
				if _, _, err := typedWorkflows.Get(m.DB, wf); err != nil {
					return "", err
				}
				if err := db.Mutation(ctx, func(m2 *livedb.MutationCtx) error {
					return typedWorkflows.Patch(m2.DB, wf, livedb.Doc{"task": "second"})
				}); err != nil {
					return "", err
				}
				return "conflicted", typedWorkflows.Patch(m.DB, wf, livedb.Doc{"status": "in_progress"})
			})
			require.ErrorIs(t, err, livedb.ErrConflict)
			assert.Empty(t, got, "a run that did not commit returns nothing")
		})
	}
}

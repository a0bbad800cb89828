package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

// TestReadme_UniqueAndCounts runs the snippet of the README's section
// "Unique indexes, counts and sums".
func TestReadme_UniqueAndCounts(t *testing.T) {
	ctx := context.Background()
	// README: unique and counts
	schema := livedb.DefineSchema(livedb.Tables{
		"users": livedb.DefineTable(v.Object(v.Fields{"email": v.String()})).
			Index("by_email", "email").Unique(),
		"runs": livedb.DefineTable(v.Object(v.Fields{
			"workflowId": v.String(),
			"status":     v.String(),
			"cost":       v.Optional(v.Float64()),
		})).Index("by_workflow_status", "workflowId", "status").Aggregate("cost"),
	})
	// (end)
	db := livedbtest.New(t, schema)
	require.NoError(t, db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		if _, err := m.DB.Insert("users", livedb.Doc{"email": "ada@example.com"}); err != nil {
			return err
		}
		for _, st := range []string{"done", "done", "running"} {
			if _, err := m.DB.Insert("runs", livedb.Doc{"workflowId": "wf1", "status": st, "cost": 0.25}); err != nil {
				return err
			}
		}
		return nil
	}))
	var lines []string
	err := func() error {
		// README: unique error
		err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("users", livedb.Doc{"email": "ada@example.com"})
			return err
		})
		var ue *livedb.UniqueError
		if errors.As(err, &ue) {
			fmt.Println(ue.Index, ue.Values, "taken by", ue.Existing) // by_email [ada@example.com] taken by j57…
		}
		// (end)
		lines = append(lines, fmt.Sprint(ue.Index, ue.Values))

		// README: count
		done, err := livedb.QueryValue(ctx, db, func(q *livedb.QueryCtx) (int64, error) {
			return q.DB.Query("runs").WithIndex("by_workflow_status", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("workflowId", "wf1").Eq("status", "done")
			}).Count() // one stored row, however many runs
		})
		if err != nil {
			return err
		}
		spent, err := livedb.QueryValue(ctx, db, func(q *livedb.QueryCtx) (float64, error) {
			return q.DB.Query("runs").WithIndex("by_workflow_status", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("workflowId", "wf1")
			}).Sum("cost")
		})
		// (end)
		lines = append(lines, fmt.Sprint(done, spent))
		return err
	}()
	require.NoError(t, err)
	require.Equal(t, []string{"by_email[ada@example.com]", "2 0.75"}, lines)
}

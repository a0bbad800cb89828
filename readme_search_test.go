package livedb_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

// TestReadme_TextSearch runs the README's "Text search" snippet.
func TestReadme_TextSearch(t *testing.T) {
	ctx := context.Background()
	schema := livedb.DefineSchema(livedb.Tables{
		"sessions": livedb.DefineTable(v.Object(v.Fields{
			"status": v.String(),
			"output": v.Optional(v.String()),
		})).SearchIndex("search_output", "output", "status"),
	})
	db := livedbtest.New(t, schema)
	err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("sessions", livedb.Doc{"status": "done", "output": "Fixed the login bug"})
		return err
	})
	require.NoError(t, err)
	err = db.Query(ctx, func(q *livedb.QueryCtx) error {
		found, err := q.DB.Query("sessions").
			WithSearchIndex("search_output", func(s livedb.SearchFilter) livedb.SearchFilter {
				return s.Search("output", "login bu").Eq("status", "done")
			}).Take(10)
		require.Len(t, found, 1)
		return err
	})
	require.NoError(t, err)
}

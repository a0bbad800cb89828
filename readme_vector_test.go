package livedb_test

// The README's "Vector search" snippet, compiled and run (see
// readme_test.go).

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

func TestReadme_VectorSearch(t *testing.T) {
	// README: vector search
	schema := livedb.DefineSchema(livedb.Tables{
		"memories": livedb.DefineTable(v.Object(v.Fields{
			"text":      v.String(),
			"kind":      v.String(),
			"embedding": v.Array(v.Float64()),
		})).VectorIndex("by_embedding", "embedding", 3, "kind"),
	})
	// README end
	db := livedbtest.New(t, schema)
	ctx := context.Background()
	require.NoError(t, db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		for _, d := range []livedb.Doc{
			{"text": "the deploy failed", "kind": "note", "embedding": []any{0.9, 0.1, 0.0}},
			{"text": "retry the deploy", "kind": "todo", "embedding": []any{0.8, 0.2, 0.1}},
			{"text": "lunch at noon", "kind": "note", "embedding": []any{0.0, 0.1, 0.9}},
		} {
			if _, err := m.DB.Insert("memories", d); err != nil {
				return err
			}
		}
		return nil
	}))
	embedding := []float64{1, 0, 0}
	texts, err := livedb.QueryValue(ctx, db, func(q *livedb.QueryCtx) ([]string, error) {
		// README: vector search query
		var f livedb.FilterBuilder
		hits, err := q.DB.VectorSearch("memories", "by_embedding", embedding, livedb.VectorSearchOptions{
			Limit:  5,
			Filter: f.Or(f.Eq(f.Field("kind"), "note"), f.Eq(f.Field("kind"), "todo")),
		})
		if err != nil {
			return nil, err
		}
		var texts []string
		for _, h := range hits { // best first: h.ID, h.Score (cosine similarity)
			doc, _, err := q.DB.Get(h.ID)
			if err != nil {
				return nil, err
			}
			texts = append(texts, doc["text"].(string))
		}
		return texts, nil
		// README end
	})
	require.NoError(t, err)
	require.Equal(t, []string{"the deploy failed", "retry the deploy", "lunch at noon"}, texts)
}

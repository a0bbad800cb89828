package livedb_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// qtSchema is the schema of the query tests: items in groups g with a
// number k, indexed by k and by (g, k).
func qtSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"items": livedb.DefineTable(v.Object(v.Fields{
			"g":   v.String(),
			"k":   v.Float64(),
			"pad": v.Optional(v.String()),
		})).Index("by_k", "k").Index("by_g_k", "g", "k"),
	})
}

// qtInsert inserts docs into table, 1,000 per mutation, and returns their
// IDs in order.
func qtInsert(t *testing.T, db *livedb.DB, table string, docs []livedb.Doc) []livedb.ID {
	t.Helper()
	ids := make([]livedb.ID, 0, len(docs))
	for chunk := range slices.Chunk(docs, 1000) {
		var got []livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			got = got[:0] // the function may be re-run after a conflict
			for _, d := range chunk {
				id, err := m.DB.Insert(table, d)
				if err != nil {
					return err
				}
				got = append(got, id)
			}
			return nil
		})
		ids = append(ids, got...)
	}
	return ids
}

// qtItems returns items of group g with the given k values.
func qtItems(g string, ks ...float64) []livedb.Doc {
	docs := make([]livedb.Doc, len(ks))
	for i, k := range ks {
		docs[i] = livedb.Doc{"g": g, "k": k}
	}
	return docs
}

// qtRange returns k = 0, 1, ..., n-1.
func qtRange(n int) []float64 {
	ks := make([]float64, n)
	for i := range ks {
		ks[i] = float64(i)
	}
	return ks
}

// qtRead runs fn in a query and fails the test on error.
func qtRead(t *testing.T, db *livedb.DB, fn func(r *livedb.Reader) error) {
	t.Helper()
	require.NoError(t, db.Query(context.Background(), func(q *livedb.QueryCtx) error { return fn(q.DB) }))
}

// qtIDs returns the IDs of docs.
func qtIDs(docs []livedb.Doc) []livedb.ID {
	ids := make([]livedb.ID, len(docs))
	for i, d := range docs {
		ids[i] = d.ID()
	}
	return ids
}

// qtKs returns the k field of docs.
func qtKs(docs []livedb.Doc) []float64 {
	ks := make([]float64, len(docs))
	for i, d := range docs {
		ks[i], _ = d["k"].(float64)
	}
	return ks
}

// qtByK is the query items by_k in order o.
func qtByK(o livedb.Order) func(r *livedb.Reader) *livedb.Query {
	return func(r *livedb.Reader) *livedb.Query {
		return r.Query("items").WithIndex("by_k", nil).Order(o)
	}
}

// qtPage runs one Paginate of the query that build makes, in its own
// query transaction.
func qtPage(t *testing.T, db *livedb.DB, build func(r *livedb.Reader) *livedb.Query, opts livedb.PaginationOptions) livedb.PaginationResult[livedb.Doc] {
	t.Helper()
	res, err := qtTryPage(db, build, opts)
	require.NoError(t, err)
	return res
}

func qtTryPage(db *livedb.DB, build func(r *livedb.Reader) *livedb.Query, opts livedb.PaginationOptions) (livedb.PaginationResult[livedb.Doc], error) {
	var res livedb.PaginationResult[livedb.Doc]
	err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		var err error
		res, err = build(q.DB).Paginate(opts)
		return err
	})
	return res, err
}

// qtPageSummary prints the k values and flags of a page.
func qtPageSummary(res livedb.PaginationResult[livedb.Doc]) string {
	return fmt.Sprintf("%v done=%v status=%q", qtKs(res.Page), res.IsDone, res.PageStatus)
}

// qtWalk pages through the query with opts until IsDone and returns the
// pages' summaries; it fails the test after 100 pages.
func qtWalk(t *testing.T, db *livedb.DB, build func(r *livedb.Reader) *livedb.Query, opts livedb.PaginationOptions) []string {
	t.Helper()
	var out []string
	for range 100 {
		res := qtPage(t, db, build, opts)
		out = append(out, qtPageSummary(res))
		if res.IsDone {
			return out
		}
		require.NotEmpty(t, res.ContinueCursor)
		opts.Cursor = res.ContinueCursor
	}
	t.Fatalf("no end after 100 pages: %v", out)
	return nil
}

// qtIndexTuple is the key of doc in an index on fields: the field values
// (Undefined when missing), then _creationTime and _id.
func qtIndexTuple(doc livedb.Doc, fields []string) []any {
	tup := make([]any, 0, len(fields)+2)
	for _, f := range fields {
		x, ok := any(map[string]any(doc)), true
		for p := range strings.SplitSeq(f, ".") {
			m, isObj := x.(map[string]any)
			if !isObj {
				ok = false
				break
			}
			if x, ok = m[p]; !ok {
				break
			}
		}
		if !ok {
			x = livedb.Undefined
		}
		tup = append(tup, x)
	}
	return append(tup, doc.CreationTime(), string(doc.ID()))
}

// qtCompareTuples compares index tuples with the reference order
// (refCompare, independent of the engine's), column by column.
func qtCompareTuples(a, b []any) int {
	for i := range min(len(a), len(b)) {
		if c := refCompare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// qtRequireIndexOrder fails unless docs are strictly ordered by their index
// tuple on fields (ascending, or descending for Desc).
func qtRequireIndexOrder(t *testing.T, docs []livedb.Doc, fields []string, o livedb.Order) {
	t.Helper()
	for i := 1; i < len(docs); i++ {
		c := qtCompareTuples(qtIndexTuple(docs[i-1], fields), qtIndexTuple(docs[i], fields))
		if o == livedb.Desc {
			c = -c
		}
		if c >= 0 {
			t.Fatalf("rows %d and %d are out of %s order on %v: %v then %v", i-1, i, o, fields, docs[i-1], docs[i])
		}
	}
}

package livedb_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// An IndexRange is a value: ranges built from one range, with a term more
// each, are independent, also once they hold more terms than fit inline.
func TestIndexRange_Eq_BranchesAreIndependent(t *testing.T) {
	base := livedb.IndexRange{}.Eq("a", "1").Eq("b", "2")
	full := base.Eq("c", "3")
	long := full.Eq("d", "4")
	long2 := full.Eq("e", "5")
	x := long.Eq("f", "6")
	y := long.Eq("g", "7")
	abc := `eq("a", "1").eq("b", "2").eq("c", "3")`
	assert.Equal(t, `eq("a", "1").eq("b", "2")`, base.String())
	assert.Equal(t, abc, full.String())
	assert.Equal(t, abc+`.eq("d", "4")`, long.String())
	assert.Equal(t, abc+`.eq("e", "5")`, long2.String())
	assert.Equal(t, abc+`.eq("d", "4").eq("f", "6")`, x.String())
	assert.Equal(t, abc+`.eq("d", "4").eq("g", "7")`, y.String())
}

// rangeSink keeps the ranges of TestIndexRange_Eq_InlineAllocatesNothing.
var rangeSink livedb.IndexRange

// Building a range whose terms fit inline (two or three, the usual
// compound equality) allocates nothing: the range stays a value on the
// caller's stack, term after term.
func TestIndexRange_Eq_InlineAllocatesNothing(t *testing.T) {
	var wf, status any = "a workflow's ID, already boxed", "running"
	allocs := testing.AllocsPerRun(100, func() {
		rangeSink = livedb.IndexRange{}.Eq("workflowId", wf).Eq("status", status).Gte("_creationTime", status)
	})
	assert.Zero(t, allocs, "allocations per range of three terms")
}

// sharedLongRange is a range with more terms than an IndexRange holds
// inline, used by several queries at once: each query normalizes its own
// copy of the values (the Go int 2 becomes the float64 k holds).
var sharedLongRange = livedb.IndexRange{}.Eq("g", "a").Eq("k", 2).Gte("_creationTime", 0).Lt("_creationTime", 1e15)

// A long range shared by queries running at the same time gives each the
// same rows, and the range keeps its values as given: a query that
// normalized the shared terms in place would change them (and, under
// -race, be reported).
func TestQuery_WithIndex_SharedLongRange(t *testing.T) {
	forEachBackend(t, qtSchema(), func(t *testing.T, db *livedb.DB) {
		qtInsert(t, db, "items", []livedb.Doc{
			{"g": "a", "k": 1.0}, {"g": "a", "k": 2.0}, {"g": "a", "k": 2.0}, {"g": "b", "k": 2.0},
		})
		given := sharedLongRange.String()
		var wg sync.WaitGroup
		counts := make([]int, 4)
		errs := make([]error, 4)
		for i := range counts {
			wg.Go(func() {
				errs[i] = db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					docs, err := q.DB.Query("items").WithIndex("by_g_k", func(livedb.IndexRange) livedb.IndexRange {
						return sharedLongRange
					}).Collect()
					counts[i] = len(docs)
					return err
				})
			})
		}
		wg.Wait()
		for i := range counts {
			require.NoError(t, errs[i])
			assert.Equal(t, 2, counts[i], "query %d", i)
		}
		assert.Equal(t, given, sharedLongRange.String(), "the shared range keeps its values as given")
		assert.Contains(t, given, `eq("k", 2)`, "an int, not the float64 2.0 a query converts it to")
	})
}

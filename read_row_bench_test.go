package livedb_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/livedb-go/livedb"
)

// The per-row benchmarks read n rows of one workflow's 100 sessions
// (by_workflow) in one query, for n = 1, 10 and 100: the difference
// between n = 100 and n = 1, divided by 99, is the cost of one row, with
// the query's fixed cost taken out. "hot" reads the same workflow every
// time (its rows stay in the CPU's caches); "cold" walks the 1,000
// workflows in turn, so that a row's entry, link and document are usually
// not cached, as in bench/'s W4 and W5.

// qbRowCounts are the row counts of the per-row benchmarks.
var qbRowCounts = []int{1, 10, 100}

// qbRows runs a per-row benchmark on every backend, cache and row count:
// read reads n rows of workflow wf in one query.
func qbRows(b *testing.B, read func(r *livedb.Reader, wf livedb.ID, n int) error) {
	ctx := context.Background()
	for _, backend := range qbBackends {
		for _, cache := range []string{"hot", "cold"} {
			for _, n := range qbRowCounts {
				b.Run(fmt.Sprintf("%s/%s/rows=%d", backend, cache, n), func(b *testing.B) {
					ds := mustQBDataset(b, backend)
					qbMeasure(b, len(ds.workflows), func(i int) error {
						wf := ds.workflows[0] // hot: the same workflow every time
						if cache == "cold" {
							wf = ds.workflows[i%len(ds.workflows)]
						}
						return ds.db.Query(ctx, func(q *livedb.QueryCtx) error { return read(q.DB, wf, n) })
					})
				})
			}
		}
	}
}

// BenchmarkQueryRows reads n rows of a workflow as documents (Take(n)).
func BenchmarkQueryRows(b *testing.B) {
	qbRows(b, func(r *livedb.Reader, wf livedb.ID, n int) error {
		docs, err := r.Query("agentSessions").WithIndex("by_workflow", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Eq("workflowId", wf)
		}).Take(n)
		if err == nil && (len(docs) != n || docs[n-1]["workflowId"] != string(wf)) {
			err = fmt.Errorf("%d rows of workflow %s, want %d", len(docs), wf, n)
		}
		return err
	})
}

// BenchmarkTypedQueryRows reads n rows of a workflow as structs
// (TypedQuery.Take(n)).
func BenchmarkTypedQueryRows(b *testing.B) {
	qbRows(b, func(r *livedb.Reader, wf livedb.ID, n int) error {
		xs, err := qbTypedSessions.Query(r).WithIndex("by_workflow", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Eq("workflowId", wf)
		}).Take(n)
		if err == nil && (len(xs) != n || xs[n-1].WorkflowID != wf) {
			err = fmt.Errorf("%d rows of workflow %s, want %d", len(xs), wf, n)
		}
		return err
	})
}

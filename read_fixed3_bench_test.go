package livedb_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/livedb-go/livedb"
)

// BenchmarkReadFixedCostW is BenchmarkReadFixedCost for the shapes bench's
// W4 and W5 use (bench/internal/stores): the workflow as a plain string
// (as bench passes it) in a compound equality of 10 rows, each query
// another workflow; and the first page of 20 of the whole by_workflow
// index (a nil range, W5's "page 1 of the 100k-row range"). As maps and
// as structs.
func BenchmarkReadFixedCostW(b *testing.B) {
	ctx := context.Background()
	for _, backend := range qbBackends {
		b.Run(backend, func(b *testing.B) {
			ds := mustQBDataset(b, backend)
			wfs := make([]string, len(ds.workflows))
			for i, wf := range ds.workflows {
				wfs[i] = string(wf)
			}
			eq := func(typed bool) func(int) error {
				return func(i int) error {
					wf := wfs[i%len(wfs)]
					return ds.db.Query(ctx, func(q *livedb.QueryCtx) error {
						rng := func(r livedb.IndexRange) livedb.IndexRange {
							return r.Eq("workflowId", wf).Eq("status", "running")
						}
						n := 0
						if typed {
							xs, err := qbTypedSessions.Query(q.DB).WithIndex("by_workflow_and_status", rng).Collect()
							if err != nil {
								return err
							}
							n = len(xs)
						} else {
							docs, err := q.DB.Query("agentSessions").WithIndex("by_workflow_and_status", rng).Collect()
							if err != nil {
								return err
							}
							n = len(docs)
						}
						if n != qbRunningPerWorkflow {
							return fmt.Errorf("%d rows, want %d", n, qbRunningPerWorkflow)
						}
						return nil
					})
				}
			}
			page := func(typed bool) func(int) error {
				return func(int) error {
					return ds.db.Query(ctx, func(q *livedb.QueryCtx) error {
						opts := livedb.PaginationOptions{NumItems: 20}
						n := 0
						if typed {
							res, err := qbTypedSessions.Query(q.DB).WithIndex("by_workflow", nil).Paginate(opts)
							if err != nil {
								return err
							}
							n = len(res.Page)
						} else {
							res, err := q.DB.Query("agentSessions").WithIndex("by_workflow", nil).Paginate(opts)
							if err != nil {
								return err
							}
							n = len(res.Page)
						}
						if n != 20 {
							return fmt.Errorf("a page of %d rows, want 20", n)
						}
						return nil
					})
				}
			}
			cases := []struct {
				name string
				n    int // distinct inputs, warmed up before the loop
				op   func(i int) error
			}{
				{"map/w4", len(wfs), eq(false)},
				{"typed/w4", len(wfs), eq(true)},
				{"map/w5p1", 1, page(false)},
				{"typed/w5p1", 1, page(true)},
			}
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) { qbMeasure(b, c.n, c.op) })
			}
		})
	}
}

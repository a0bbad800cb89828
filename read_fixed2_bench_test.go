package livedb_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/livedb-go/livedb"
)

// BenchmarkReadFixedCost measures the fixed cost of a read, everything that
// is not per row (issue 19, target 2), on the 100k-session dataset of
// query_bench_test.go: an empty query, a compound-index equality that finds no row and one
// that finds its 10 rows (a hot cache: the same workflow every time; and
// "rotate": 1000 workflows in turn), as maps and as structs; a Get by ID;
// and a Paginate's first and next page of 20.
func BenchmarkReadFixedCost(b *testing.B) {
	ctx := context.Background()
	for _, backend := range qbBackends {
		b.Run(backend, func(b *testing.B) {
			ds := mustQBDataset(b, backend)
			// The workflow ID is a plain string, as a program holding an
			// ID read from JSON gives it: the range value is validated as
			// an ID of its table.
			hot := string(ds.workflows[7])
			eqMap := func(wf any, status string, want int) func(int) error {
				return func(int) error {
					return ds.db.Query(ctx, func(q *livedb.QueryCtx) error {
						docs, err := q.DB.Query("agentSessions").WithIndex("by_workflow_and_status", func(r livedb.IndexRange) livedb.IndexRange {
							return r.Eq("workflowId", wf).Eq("status", status)
						}).Collect()
						if err == nil && len(docs) != want {
							err = fmt.Errorf("%d rows, want %d", len(docs), want)
						}
						return err
					})
				}
			}
			eqTyped := func(wf any, status string, want int) func(int) error {
				return func(int) error {
					return ds.db.Query(ctx, func(q *livedb.QueryCtx) error {
						xs, err := qbTypedSessions.Query(q.DB).WithIndex("by_workflow_and_status", func(r livedb.IndexRange) livedb.IndexRange {
							return r.Eq("workflowId", wf).Eq("status", status)
						}).Collect()
						if err == nil && len(xs) != want {
							err = fmt.Errorf("%d rows, want %d", len(xs), want)
						}
						return err
					})
				}
			}
			rotate := func(typed bool) func(int) error {
				return func(i int) error {
					wf := ds.workflows[i%len(ds.workflows)]
					if typed {
						return eqTyped(wf, "running", qbRunningPerWorkflow)(i)
					}
					return eqMap(wf, "running", qbRunningPerWorkflow)(i)
				}
			}
			ids := mustQBSessionIDs(b, backend, ds)
			getMap := func(i int) error { return qbGetDoc(ctx, ds.db, ids[i%1000]) }
			getTyped := func(i int) error { return qbGetTyped(ctx, ds.db, ids[i%1000]) }
			var cursor string
			err := ds.db.Query(ctx, func(q *livedb.QueryCtx) error {
				res, err := q.DB.Query("agentSessions").WithIndex("by_workflow", func(r livedb.IndexRange) livedb.IndexRange {
					return r.Eq("workflowId", hot)
				}).Paginate(livedb.PaginationOptions{NumItems: 20})
				cursor = res.ContinueCursor
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			page := func(typed bool, cur string) func(int) error {
				return func(int) error {
					return ds.db.Query(ctx, func(q *livedb.QueryCtx) error {
						n := 0
						if typed {
							res, err := qbTypedSessions.Query(q.DB).WithIndex("by_workflow", func(r livedb.IndexRange) livedb.IndexRange {
								return r.Eq("workflowId", hot)
							}).Paginate(livedb.PaginationOptions{NumItems: 20, Cursor: cur})
							if err != nil {
								return err
							}
							n = len(res.Page)
						} else {
							res, err := q.DB.Query("agentSessions").WithIndex("by_workflow", func(r livedb.IndexRange) livedb.IndexRange {
								return r.Eq("workflowId", hot)
							}).Paginate(livedb.PaginationOptions{NumItems: 20, Cursor: cur})
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
				{"empty", 1, func(int) error { return ds.db.Query(ctx, func(*livedb.QueryCtx) error { return nil }) }},
				{"map/eq-0rows", 1, eqMap("zzzz", "running", 0)},
				{"typed/eq-0rows", 1, eqTyped("zzzz", "running", 0)},
				{"map/eq-10rows-hot", 1, eqMap(hot, "running", qbRunningPerWorkflow)},
				{"typed/eq-10rows-hot", 1, eqTyped(hot, "running", qbRunningPerWorkflow)},
				{"map/eq-10rows-rotate", len(ds.workflows), rotate(false)},
				{"typed/eq-10rows-rotate", len(ds.workflows), rotate(true)},
				{"map/get", 1000, getMap},
				{"typed/get", 1000, getTyped},
				{"map/page-first", 1, page(false, "")},
				{"map/page-next", 1, page(false, cursor)},
				{"typed/page-first", 1, page(true, "")},
				{"typed/page-next", 1, page(true, cursor)},
			}
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) { qbMeasure(b, c.n, c.op) })
			}
		})
	}
}

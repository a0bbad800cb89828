package livedb_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/livedb-go/livedb"
)

// The read-fixed-cost benchmarks measure what a read costs before its first
// row and after its last (issue 19): opening and ending the query, building
// and compiling an index range, planning, the iterator, the read set, a
// Get's lookup and a Paginate's cursors. They run on the 100k-session
// dataset of query_bench_test.go with a hot cache (the same workflow every
// time), so that the rows themselves cost as little as they can. The
// workflow ID is given as a plain string, as a program holding an ID read
// from JSON does, so the range value is validated as an ID of its table.

// BenchmarkReadFixed is the fixed cost of a read on each backend.
func BenchmarkReadFixed(b *testing.B) {
	ctx := context.Background()
	for _, backend := range qbBackends {
		b.Run(backend, func(b *testing.B) {
			ds := mustQBDataset(b, backend)
			wf := string(ds.workflows[7])
			var sessionID livedb.ID
			var cursor string
			err := ds.db.Query(ctx, func(q *livedb.QueryCtx) error {
				res, err := q.DB.Query("agentSessions").WithIndex("by_workflow", func(r livedb.IndexRange) livedb.IndexRange {
					return r.Eq("workflowId", wf)
				}).Paginate(livedb.PaginationOptions{NumItems: 20})
				if err != nil || len(res.Page) != 20 {
					return fmt.Errorf("first page: %d rows, %w", len(res.Page), err)
				}
				sessionID, cursor = res.Page[0].ID(), res.ContinueCursor
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			eq := func(status string) func(r *livedb.Reader) *livedb.Query {
				return func(r *livedb.Reader) *livedb.Query {
					return r.Query("agentSessions").WithIndex("by_workflow_and_status", func(r livedb.IndexRange) livedb.IndexRange {
						return r.Eq("workflowId", wf).Eq("status", status)
					})
				}
			}
			page := func(cur string) func(q *livedb.QueryCtx) error {
				return func(q *livedb.QueryCtx) error {
					res, err := q.DB.Query("agentSessions").WithIndex("by_workflow", func(r livedb.IndexRange) livedb.IndexRange {
						return r.Eq("workflowId", wf)
					}).Paginate(livedb.PaginationOptions{NumItems: 20, Cursor: cur})
					if err == nil && len(res.Page) != 20 {
						err = fmt.Errorf("a page of %d rows, want 20", len(res.Page))
					}
					return err
				}
			}
			cases := []struct {
				name string
				fn   func(q *livedb.QueryCtx) error
			}{
				{"empty", func(*livedb.QueryCtx) error { return nil }},
				{"eq-0rows", func(q *livedb.QueryCtx) error {
					docs, err := eq("nope")(q.DB).Collect()
					if err == nil && len(docs) != 0 {
						err = fmt.Errorf("%d rows, want 0", len(docs))
					}
					return err
				}},
				{"eq-take1", func(q *livedb.QueryCtx) error {
					docs, err := eq("running")(q.DB).Take(1)
					if err == nil && len(docs) != 1 {
						err = fmt.Errorf("%d rows, want 1", len(docs))
					}
					return err
				}},
				{"eq-10rows", func(q *livedb.QueryCtx) error {
					docs, err := eq("running")(q.DB).Collect()
					if err == nil && len(docs) != qbRunningPerWorkflow {
						err = fmt.Errorf("%d rows, want %d", len(docs), qbRunningPerWorkflow)
					}
					return err
				}},
				{"get", func(q *livedb.QueryCtx) error {
					_, ok, err := q.DB.Get(sessionID)
					if err == nil && !ok {
						err = fmt.Errorf("%s not found", sessionID)
					}
					return err
				}},
				{"page-first", page("")},
				{"page-next", page(cursor)},
			}
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					b.ReportAllocs()
					defer reportCPU(b)()
					for b.Loop() {
						if err := ds.db.Query(ctx, c.fn); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

package livedb_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/livedb-go/livedb"
)

// qbTypedSession is a session of the query benchmarks' dataset as a
// struct, for the typed reads.
type qbTypedSession struct {
	ID           livedb.Ref[qbTypedSession] `json:"_id"`
	CreationTime float64                    `json:"_creationTime"`
	WorkflowID   livedb.ID                  `json:"workflowId"`
	AgentType    string                     `json:"agentType"`
	Status       string                     `json:"status"`
	Attempt      int64                      `json:"attempt"`
	Output       string                     `json:"output"`
}

var qbTypedSessions = livedb.NewTable[qbTypedSession]("agentSessions")

// qbWarm runs op on each of n inputs twice before a benchmark's loop: the
// memory backend caches a document version's decoding from its second
// read on, so the loop then measures the steady state of a database whose
// documents are read repeatedly, however few iterations it runs.
func qbWarm(b *testing.B, n int, op func(i int) error) {
	b.Helper()
	for range 2 {
		for i := range n {
			if err := op(i); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// qbMeasure warms op up (qbWarm) and runs it in the benchmark's loop, on
// inputs 0, 1, 2, ..., reporting allocations and CPU time.
func qbMeasure(b *testing.B, n int, op func(i int) error) {
	b.Helper()
	qbWarm(b, n, op)
	i := 0
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if err := op(i); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkTableGetByID is BenchmarkReaderGet (W3) read as a struct with
// Table.Get.
func BenchmarkTableGetByID(b *testing.B) {
	ctx := context.Background()
	for _, backend := range qbBackends {
		b.Run(backend, func(b *testing.B) {
			ds := mustQBDataset(b, backend)
			ids := mustQBSessionIDs(b, backend, ds)
			get := func(i int) error { return qbGetTyped(ctx, ds.db, ids[i%len(ids)]) }
			qbMeasure(b, len(ids), get)
		})
	}
}

// BenchmarkTypedQueryIndexEq is BenchmarkQueryIndexEq (W4) read as
// structs with a TypedQuery.
func BenchmarkTypedQueryIndexEq(b *testing.B) {
	ctx := context.Background()
	for _, backend := range qbBackends {
		b.Run(backend, func(b *testing.B) {
			ds := mustQBDataset(b, backend)
			run := func(i int) error {
				wf := ds.workflows[i%len(ds.workflows)]
				return ds.db.Query(ctx, func(q *livedb.QueryCtx) error {
					xs, err := qbTypedSessions.Query(q.DB).WithIndex("by_workflow_and_status", func(r livedb.IndexRange) livedb.IndexRange {
						return r.Eq("workflowId", wf).Eq("status", "running")
					}).Collect()
					if err == nil && len(xs) != qbRunningPerWorkflow {
						err = fmt.Errorf("%d running sessions, want %d", len(xs), qbRunningPerWorkflow)
					}
					return err
				})
			}
			qbMeasure(b, len(ds.workflows), run)
		})
	}
}

// BenchmarkTypedQueryPaginate reads a workflow's 100 sessions in pages of
// 20 (W5) as structs with a TypedQuery.
func BenchmarkTypedQueryPaginate(b *testing.B) {
	ctx := context.Background()
	for _, backend := range qbBackends {
		b.Run(backend, func(b *testing.B) {
			ds := mustQBDataset(b, backend)
			run := func(i int) error {
				wf := ds.workflows[i%len(ds.workflows)]
				cursor, n := "", 0
				for {
					var page livedb.PaginationResult[qbTypedSession]
					err := ds.db.Query(ctx, func(q *livedb.QueryCtx) (err error) {
						page, err = qbTypedSessions.Query(q.DB).WithIndex("by_workflow", func(r livedb.IndexRange) livedb.IndexRange {
							return r.Eq("workflowId", wf)
						}).Paginate(livedb.PaginationOptions{NumItems: 20, Cursor: cursor})
						return err
					})
					if err != nil {
						return err
					}
					n += len(page.Page)
					if page.IsDone {
						break
					}
					cursor = page.ContinueCursor
				}
				if n != qbSessionsPerWorkflow {
					return fmt.Errorf("%d sessions, want %d", n, qbSessionsPerWorkflow)
				}
				return nil
			}
			qbMeasure(b, len(ds.workflows), run)
		})
	}
}

// BenchmarkTypedQueryPaginateFirstRead is BenchmarkTypedQueryPaginate on
// versions read for the first time (W5 of bench/, where each workflow is
// paged once): before each iteration, untimed, a mutation rewrites the
// workflow's 100 sessions, so that the memory backend has cached none of
// the versions the pages read.
func BenchmarkTypedQueryPaginateFirstRead(b *testing.B) {
	ctx := context.Background()
	ds := mustQBDataset(b, "memory")
	sessions := make(map[livedb.ID][]livedb.ID, len(ds.workflows))
	for _, wf := range ds.workflows {
		err := ds.db.Query(ctx, func(q *livedb.QueryCtx) error {
			xs, err := qbTypedSessions.Query(q.DB).WithIndex("by_workflow", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("workflowId", wf)
			}).Collect()
			for _, x := range xs {
				sessions[wf] = append(sessions[wf], livedb.ID(x.ID))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		wf := ds.workflows[i%len(ds.workflows)]
		i++
		err := ds.db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			for _, id := range sessions[wf] {
				if err := m.DB.Patch(id, livedb.Doc{"attempt": int64(i % 5)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cursor, n := "", 0
		for {
			var page livedb.PaginationResult[qbTypedSession]
			err := ds.db.Query(ctx, func(q *livedb.QueryCtx) (err error) {
				page, err = qbTypedSessions.Query(q.DB).WithIndex("by_workflow", func(r livedb.IndexRange) livedb.IndexRange {
					return r.Eq("workflowId", wf)
				}).Paginate(livedb.PaginationOptions{NumItems: 20, Cursor: cursor})
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			n += len(page.Page)
			if page.IsDone {
				break
			}
			cursor = page.ContinueCursor
		}
		if n != qbSessionsPerWorkflow {
			b.Fatalf("%d sessions, want %d", n, qbSessionsPerWorkflow)
		}
	}
}

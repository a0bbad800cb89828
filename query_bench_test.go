package livedb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// The query benchmarks share one dataset per backend and process: 100,000
// agent sessions of about 430 bytes (as Convex JSON, system fields
// included) over 1,000 workflows, 100 sessions per workflow of which 10 are
// running. It is built on first use, in mutations of 1,000 documents, so
// that `go test` without -bench never builds it.

const (
	qbSessions            = 100_000
	qbSessionsPerWorkflow = 100
	qbRunningPerWorkflow  = 10
)

// qbOutput pads a session to about 430 bytes.
var qbOutput = strings.Repeat("reviewed the diff; two comments on error wrapping. ", 4) + "approved with nits"

// qbSession returns session i, the nth of its workflow: running for 10 of
// every 100.
func qbSession(wf livedb.ID, i, nth int) livedb.Doc {
	status := []string{"completed", "failed", "pending"}[i%3]
	if nth%(qbSessionsPerWorkflow/qbRunningPerWorkflow) == 0 {
		status = "running"
	}
	return livedb.Doc{
		"workflowId": wf,
		"agentType":  []string{"planner", "coder", "reviewer"}[i%3],
		"status":     status,
		"attempt":    int64(i % 5),
		"output":     qbOutput,
	}
}

// qbFill inserts n sessions (n/100 workflows, each with 100 sessions of
// which 10 running) into db and returns the workflow IDs. Session i goes to
// workflow i % (n/100), so a workflow's sessions spread over the whole
// creation order.
func qbFill(tb testing.TB, db *livedb.DB, n int) []livedb.ID {
	tb.Helper()
	ctx := context.Background()
	nwf := n / qbSessionsPerWorkflow
	wfs := make([]livedb.ID, 0, nwf)
	err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		wfs = wfs[:0]
		for i := range nwf {
			id, err := m.DB.Insert("workflows", livedb.Doc{"task": fmt.Sprintf("task %d", i), "status": "in_progress"})
			if err != nil {
				return err
			}
			wfs = append(wfs, id)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	for start := 0; start < n; start += 1000 {
		err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			for i := start; i < min(start+1000, n); i++ {
				if _, err := m.DB.Insert("agentSessions", qbSession(wfs[i%nwf], i, i/nwf)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	qbCheckSize(tb, db, wfs[0])
	return wfs
}

// qbCheckSize fails unless a session is about 430 bytes of Convex JSON.
func qbCheckSize(tb testing.TB, db *livedb.DB, wf livedb.ID) {
	tb.Helper()
	err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		d, ok, err := q.DB.Query("agentSessions").First()
		if err != nil || !ok {
			return fmt.Errorf("no session: %v", err)
		}
		js, err := v.ConvexToJSON(map[string]any(d))
		if err != nil {
			return err
		}
		if len(js) < 400 || len(js) > 460 {
			return fmt.Errorf("a session is %d bytes of Convex JSON, want about 430: %s", len(js), js)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// qbDataset is a database holding the 100k-session dataset.
type qbDataset struct {
	db        *livedb.DB
	workflows []livedb.ID
	err       error

	cursorOnce sync.Once
	cursor90   string // ContinueCursor after 90% of the by_workflow index
}

// qbBenchOptions lift the read limits so that the full-scan benchmark can
// read all 100k documents in one query, as a contrast.
func qbBenchOptions() livedb.Options {
	return livedb.Options{NoSync: true, Limits: livedb.Limits{DocumentsRead: 1 << 20, BytesRead: 1 << 30}}
}

var qbDatasets = map[string]*struct {
	once sync.Once
	ds   *qbDataset
}{"memory": {}, "bbolt": {}}

// qbBackends are the backends of the query benchmarks.
var qbBackends = []string{"memory", "bbolt"}

// mustQBDataset returns the process's dataset for a backend, building it on
// first use. The bbolt file is unlinked once open, the open DB keeps it
// alive; its write-ahead log's directory (a few small files) stays in the
// temp directory.
func mustQBDataset(b *testing.B, backend string) *qbDataset {
	b.Helper()
	e := qbDatasets[backend]
	e.once.Do(func() {
		ds := &qbDataset{}
		e.ds = ds
		opts := qbBenchOptions()
		switch backend {
		case "memory":
			ds.db, ds.err = livedb.OpenMemory(agentSchema(), &opts)
		default:
			dir, err := os.MkdirTemp("", "livedb-querybench-")
			if err != nil {
				ds.err = err
				return
			}
			ds.db, ds.err = livedb.Open(filepath.Join(dir, "bench.db"), agentSchema(), &opts)
			// The bbolt file only: its write-ahead log directory beside it
			// must stay while the database is open.
			_ = os.Remove(filepath.Join(dir, "bench.db"))
		}
		if ds.err != nil {
			return
		}
		ds.workflows = qbFill(b, ds.db, qbSessions)
	})
	if e.ds.err != nil || e.ds.workflows == nil {
		b.Fatalf("dataset %s: %v", backend, e.ds.err)
	}
	return e.ds
}

// qbByWorkflow is the 100k-row range of the pagination benchmark: the whole
// by_workflow index.
func qbByWorkflow(r *livedb.Reader) *livedb.Query {
	return r.Query("agentSessions").WithIndex("by_workflow", nil)
}

// cursorAt90 returns the cursor after the first 90,000 rows of
// qbByWorkflow, paging 10,000 rows at a time.
func (ds *qbDataset) cursorAt90(b *testing.B) string {
	b.Helper()
	ds.cursorOnce.Do(func() {
		cursor := ""
		for range 9 {
			res, err := qtTryPage(ds.db, qbByWorkflow, livedb.PaginationOptions{NumItems: 10000, Cursor: cursor})
			if err != nil || len(res.Page) != 10000 {
				b.Fatalf("walking to 90%%: %d rows, %v", len(res.Page), err)
			}
			cursor = res.ContinueCursor
		}
		ds.cursor90 = cursor
	})
	return ds.cursor90
}

// BenchmarkQueryIndexEq runs the compound-index equality query "the
// running sessions of workflow X" (10 of 100k documents).
func BenchmarkQueryIndexEq(b *testing.B) {
	ctx := context.Background()
	for _, backend := range qbBackends {
		b.Run(backend, func(b *testing.B) {
			ds := mustQBDataset(b, backend)
			i := 0
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				wf := ds.workflows[i%len(ds.workflows)]
				i++
				err := ds.db.Query(ctx, func(q *livedb.QueryCtx) error {
					docs, err := q.DB.Query("agentSessions").WithIndex("by_workflow_and_status", func(r livedb.IndexRange) livedb.IndexRange {
						return r.Eq("workflowId", wf).Eq("status", "running")
					}).Collect()
					if err == nil && len(docs) != qbRunningPerWorkflow {
						err = fmt.Errorf("%d running sessions, want %d", len(docs), qbRunningPerWorkflow)
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkQueryPaginate reads a 20-row page of a 100k-row range from its
// start and from 90% of the way through: a cursor seeks, so both should
// cost the same.
func BenchmarkQueryPaginate(b *testing.B) {
	for _, backend := range qbBackends {
		b.Run(backend, func(b *testing.B) {
			ds := mustQBDataset(b, backend)
			for _, at := range []struct {
				name   string
				cursor func() string
			}{
				{"at=0%", func() string { return "" }},
				{"at=90%", func() string { return ds.cursorAt90(b) }},
			} {
				b.Run(at.name, func(b *testing.B) {
					cursor := at.cursor()
					b.ReportAllocs()
					defer reportCPU(b)()
					for b.Loop() {
						res, err := qtTryPage(ds.db, qbByWorkflow, livedb.PaginationOptions{NumItems: 20, Cursor: cursor})
						if err != nil || len(res.Page) != 20 {
							b.Fatalf("page of %d rows: %v", len(res.Page), err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkQueryFullScanFilter finds the same 10 running sessions of a
// workflow as BenchmarkQueryIndexEq with a filter over a full scan of the
// 100k documents, for contrast. (It needs the raised read limits of the
// dataset; the defaults stop it at 32,000 documents.)
func BenchmarkQueryFullScanFilter(b *testing.B) {
	ctx := context.Background()
	for _, backend := range qbBackends {
		b.Run(backend, func(b *testing.B) {
			ds := mustQBDataset(b, backend)
			i := 0
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				wf := ds.workflows[i%len(ds.workflows)]
				i++
				err := ds.db.Query(ctx, func(q *livedb.QueryCtx) error {
					docs, err := q.DB.Query("agentSessions").Filter(func(f livedb.FilterBuilder) livedb.Expr {
						return f.And(f.Eq(f.Field("workflowId"), wf), f.Eq(f.Field("status"), "running"))
					}).Collect()
					if err == nil && len(docs) != qbRunningPerWorkflow {
						err = fmt.Errorf("%d running sessions, want %d", len(docs), qbRunningPerWorkflow)
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

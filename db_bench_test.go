package livedb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/livedb-go/livedb"
)

// dbbBackend opens an empty database for a benchmark.
type dbbBackend struct {
	name string
	open func(b *testing.B) *livedb.DB
}

// dbbBackends are memory, and bbolt with and without fsync on commit.
var dbbBackends = []dbbBackend{
	{"memory", func(b *testing.B) *livedb.DB {
		b.Helper()
		db, err := livedb.OpenMemory(agentSchema())
		if err != nil {
			b.Fatal(err)
		}
		return db
	}},
	{"bbolt-fsync", func(b *testing.B) *livedb.DB { return mustDBBOpen(b, false) }},
	{"bbolt-nosync", func(b *testing.B) *livedb.DB { return mustDBBOpen(b, true) }},
}

func mustDBBOpen(b *testing.B, noSync bool) *livedb.DB {
	b.Helper()
	db, err := livedb.Open(filepath.Join(b.TempDir(), "bench.db"), agentSchema(), &livedb.Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// mustDBBFilled opens a database of a backend holding n sessions (n/100
// workflows) and returns it with the session IDs; it is closed when the
// benchmark ends.
func mustDBBFilled(b *testing.B, be dbbBackend, n int) (*livedb.DB, []livedb.ID) {
	b.Helper()
	db := be.open(b)
	b.Cleanup(func() { _ = db.Close() })
	qbFill(b, db, n)
	var ids []livedb.ID
	opts := livedb.PaginationOptions{NumItems: 10000}
	for {
		res, err := qtTryPage(db, func(r *livedb.Reader) *livedb.Query { return r.Query("agentSessions") }, opts)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, qtIDs(res.Page)...)
		if res.IsDone {
			break
		}
		opts.Cursor = res.ContinueCursor
	}
	if len(ids) != n {
		b.Fatalf("%d sessions, want %d", len(ids), n)
	}
	return db, ids
}

// BenchmarkOpen opens a bbolt database of 10k and of 100k agent sessions
// (and of 1M with LIVEDB_BENCH_LARGE=1: the fill takes minutes), runs one
// indexed query and closes it. Opening reads the catalog, not the
// documents: the figures should be about the same. faults/op counts the
// page faults of the process per open (first touches of the file's memory
// map and of new heap memory), which dominate a fresh process's open.
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	sizes := []int{10_000, 100_000}
	if os.Getenv("LIVEDB_BENCH_LARGE") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("docs=%d", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "open.db")
			db, err := livedb.Open(path, agentSchema(), &livedb.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			wfs := qbFill(b, db, n)
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
			i := 0
			faults := minorFaults()
			b.ReportAllocs()
			for b.Loop() {
				db, err := livedb.Open(path, agentSchema(), nil)
				if err != nil {
					b.Fatal(err)
				}
				wf := wfs[i%len(wfs)]
				i++
				err = db.Query(ctx, func(q *livedb.QueryCtx) error {
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
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
			}
			if faults >= 0 {
				b.ReportMetric(float64(minorFaults()-faults)/float64(i), "faults/op")
			}
		})
	}
}

// BenchmarkInsert inserts ~430-byte agent sessions, one per mutation and
// 1,000 per mutation (ns/doc is per document), on memory and on bbolt with
// and without fsync.
func BenchmarkInsert(b *testing.B) {
	ctx := context.Background()
	for _, be := range dbbBackends {
		for _, batch := range []int{1, 1000} {
			b.Run(fmt.Sprintf("%s/batch=%d", be.name, batch), func(b *testing.B) {
				db := be.open(b)
				b.Cleanup(func() { _ = db.Close() })
				wfs := qbFill(b, db, qbSessionsPerWorkflow)
				docs := make([]livedb.Doc, batch)
				for i := range docs {
					docs[i] = qbSession(wfs[0], i, i)
				}
				n := 0
				b.ReportAllocs()
				for b.Loop() {
					err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
						for _, d := range docs {
							if _, err := m.DB.Insert("agentSessions", d); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
					n += batch
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/doc")
			})
		}
	}
}

// BenchmarkGet reads one agent session by ID per query, among 10,000.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	for _, be := range []dbbBackend{dbbBackends[0], dbbBackends[2]} {
		b.Run(be.name, func(b *testing.B) {
			db, ids := mustDBBFilled(b, be, 10_000)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				id := ids[i%len(ids)]
				i++
				err := db.Query(ctx, func(q *livedb.QueryCtx) error {
					_, ok, err := q.DB.Get(id)
					if err == nil && !ok {
						err = fmt.Errorf("%s not found", id)
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

// BenchmarkPatch patches one agent session per mutation, among 10,000: an
// unindexed field (attempt) and an indexed one (status, which moves the
// document in by_workflow_and_status).
func BenchmarkPatch(b *testing.B) {
	ctx := context.Background()
	for _, be := range []dbbBackend{dbbBackends[0], dbbBackends[2]} {
		for _, field := range []string{"attempt", "status"} {
			b.Run(fmt.Sprintf("%s/field=%s", be.name, field), func(b *testing.B) {
				db, ids := mustDBBFilled(b, be, 10_000)
				i := 0
				b.ReportAllocs()
				for b.Loop() {
					id := ids[i%len(ids)]
					i++
					patch := livedb.Doc{"attempt": int64(1000 + i)}
					if field == "status" {
						patch = livedb.Doc{"status": fmt.Sprintf("s%d", i)}
					}
					if err := db.Mutation(ctx, func(m *livedb.MutationCtx) error { return m.DB.Patch(id, patch) }); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

package livedb_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/livedb-go/livedb"
)

// BenchmarkTableGetFirstRead is BenchmarkTableGetByID on versions that no
// Table has read yet (bench/'s W3, which reads 20k of 100k documents once
// each): every iteration reads a session the benchmark has not read
// before, so on the memory backend each read is a version's first typed
// read (its decoding cached at commit, no T kept yet). Run it with
// -benchtime of at most 50000x; the reads of BenchmarkReaderGetFirstRead
// take the other half of the sessions.
func BenchmarkTableGetFirstRead(b *testing.B) {
	ctx := context.Background()
	ds := mustQBDataset(b, "memory")
	ids := mustQBSessionIDs(b, "memory", ds)[qbSessions/2:]
	i := 0
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if i == len(ids) {
			b.Fatal("more iterations than sessions: use -benchtime 50000x or less")
		}
		id := livedb.Ref[qbTypedSession](ids[i])
		i++
		err := ds.db.Query(ctx, func(q *livedb.QueryCtx) error {
			s, ok, err := qbTypedSessions.Get(q.DB, id)
			if err == nil && (!ok || s.ID != id) {
				err = fmt.Errorf("%s: got %v, %v", id, s.ID, ok)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReaderGetFirstRead is BenchmarkTableGetFirstRead read as a
// document (Reader.Get), on the first half of the sessions.
func BenchmarkReaderGetFirstRead(b *testing.B) {
	ctx := context.Background()
	ds := mustQBDataset(b, "memory")
	ids := mustQBSessionIDs(b, "memory", ds)[:qbSessions/2]
	i := 0
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if i == len(ids) {
			b.Fatal("more iterations than sessions: use -benchtime 50000x or less")
		}
		id := ids[i]
		i++
		err := ds.db.Query(ctx, func(q *livedb.QueryCtx) error {
			d, ok, err := q.DB.Get(id)
			if err == nil && (!ok || d.ID() != id) {
				err = fmt.Errorf("%s: got %v, %v", id, d.ID(), ok)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

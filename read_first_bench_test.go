package livedb_test

import (
	"context"
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
	ds := mustQBDataset(b, "memory")
	qbFirstReads(b, ds.db, mustQBSessionIDs(b, "memory", ds)[qbSessions/2:], qbGetTyped)
}

// BenchmarkReaderGetFirstRead is BenchmarkTableGetFirstRead read as a
// document (Reader.Get), on the first half of the sessions.
func BenchmarkReaderGetFirstRead(b *testing.B) {
	ds := mustQBDataset(b, "memory")
	qbFirstReads(b, ds.db, mustQBSessionIDs(b, "memory", ds)[:qbSessions/2], qbGetDoc)
}

// qbFirstReads reads each of ids once with get, one a benchmark iteration.
func qbFirstReads(b *testing.B, db *livedb.DB, ids []livedb.ID, get func(context.Context, *livedb.DB, livedb.ID) error) {
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if i == len(ids) {
			b.Fatal("more iterations than sessions: use -benchtime 50000x or less")
		}
		if err := get(ctx, db, ids[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

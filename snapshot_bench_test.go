package livedb_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/snapshot"
)

// The benchmarks of package snapshot: they sit here, beside its tests, to
// use the root's test schemas.

// mustExportBenchDB opens a bbolt database holding n documents of about
// 200 bytes, loaded with ImportTable in chunks of 10,000 (one bbolt
// transaction applying a large unsorted batch is slow; see the report of
// issue 9).
func mustExportBenchDB(b *testing.B, n int) *livedb.DB {
	b.Helper()
	db, err := livedb.Open(filepath.Join(b.TempDir(), "bench.db"), exportSchema(), &livedb.Options{NoSync: true, AllowUndeclaredTables: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	for start := 0; start < n; start += 10_000 {
		var buf bytes.Buffer
		for i := start; i < min(n, start+10_000); i++ {
			fmt.Fprintf(&buf, `{"task":"task number %d with some text to make it longer","status":"%s","attempts":%d,"score":%d.5}`+"\n",
				i, []string{"pending", "running", "done"}[i%3], i%7, i%100)
		}
		if err := snapshot.ImportTable(context.Background(), db, "workflows", &buf, &snapshot.ImportOptions{Format: snapshot.ExportJSONL, Mode: snapshot.Append}); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// BenchmarkExport exports n documents to io.Discard. Before timing, one
// export measures the peak live heap (collected at every progress report,
// every 1,000 documents) above the heap before it: it stays flat as n
// grows tenfold, because the export streams.
func BenchmarkExport(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			db := mustExportBenchDB(b, n)
			live := func() uint64 {
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				return ms.HeapAlloc
			}
			live() // sync.Pools empty after two collections
			base := live()
			var peak uint64
			_, err := snapshot.Export(context.Background(), db, io.Discard, &snapshot.ExportOptions{Progress: func(livedb.Progress) {
				peak = max(peak, live())
			}})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := snapshot.Export(context.Background(), db, io.Discard, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(int64(peak)-int64(base))/1024, "peak-live-KB")
			b.ReportMetric(float64(n), "docs/op")
		})
	}
}

// BenchmarkImport imports an export of n documents into a fresh
// database (replace mode), all in one commit.
func BenchmarkImport(b *testing.B) {
	const n = 10_000
	src := mustExportBenchDB(b, n)
	var zipped bytes.Buffer
	if _, err := snapshot.Export(context.Background(), src, &zipped, nil); err != nil {
		b.Fatal(err)
	}
	dst, err := livedb.Open(filepath.Join(b.TempDir(), "dst.db"), exportSchema(), &livedb.Options{NoSync: true, AllowUndeclaredTables: true})
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := snapshot.Import(context.Background(), dst, bytes.NewReader(zipped.Bytes()), int64(zipped.Len()), &snapshot.ImportOptions{Mode: snapshot.Replace}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(n, "docs/op")
}

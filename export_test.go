package livedb_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

// exportSchema has a table of every value type (values.v is v.Any()),
// references between tables, and indexes over all of them.
func exportSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"workflows": livedb.DefineTable(v.Object(v.Fields{
			"task":     v.String(),
			"status":   v.String(),
			"attempts": v.Optional(v.Int64()),
			"score":    v.Optional(v.Float64()),
		})).Index("by_status", "status").Index("by_score", "score"),
		"values": livedb.DefineTable(v.Object(v.Fields{
			"v":   v.Any(),
			"ref": v.Optional(v.ID("workflows")),
		})).Index("by_v", "v").Index("by_ref", "ref"),
	})
}

// exportValues is one value of every kind and the edge cases of each.
func exportValues() []any {
	return []any{
		nil, true, false,
		int64(math.MinInt64), int64(math.MaxInt64), int64(0), int64(-1), int64(1 << 53),
		0.0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1),
		1.5, 5.0, 1e300, 5e-324, -1e-7, 0.1, 1e21, 123456789012345678.0,
		"", "ascii", "Zoë", "😀 emoji", "nul\x00byte", "line\nbreak \"quoted\" \\", "\uffff",
		[]byte{}, []byte{0, 1, 2, 255},
		[]any{}, []any{int64(1), 2.0, "x", nil, []any{[]any{}}, map[string]any{}},
		map[string]any{}, map[string]any{"a": map[string]any{"b": map[string]any{"c": []any{int64(7), -0.5, []byte("hi")}}}, "Z": "upper", "_nested": true},
	}
}

// mustFillExportDB writes a workflow per status, a values document per
// exportValues entry (some with a reference, some without the optional
// field) and documents in a table that is not in the schema.
func mustFillExportDB(t *testing.T, db *livedb.DB) {
	t.Helper()
	var wfs []livedb.ID
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		for i, st := range []string{"pending", "running", "done", "running"} {
			doc := livedb.Doc{"task": fmt.Sprintf("task %d", i), "status": st}
			if i%2 == 0 {
				doc["attempts"] = int64(i)
				doc["score"] = float64(i) / 3
			}
			id, err := m.DB.Insert("workflows", doc)
			if err != nil {
				return err
			}
			wfs = append(wfs, id)
		}
		return nil
	})
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		for i, x := range exportValues() {
			doc := livedb.Doc{"v": x}
			if i%3 == 0 {
				doc["ref"] = wfs[i%len(wfs)]
			}
			if _, err := m.DB.Insert("values", doc); err != nil {
				return err
			}
		}
		for i := range 5 {
			if _, err := m.DB.Insert("loose", livedb.Doc{"n": int64(i), "free": []any{"form", float64(i)}}); err != nil {
				return err
			}
		}
		return nil
	})
}

// mustExport exports db and returns the ZIP's bytes.
func mustExport(t *testing.T, db *livedb.DB, opts *livedb.ExportOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := db.Export(context.Background(), &buf, opts); err != nil {
		t.Fatalf("Export: %v", err)
	}
	return buf.Bytes()
}

// zipEntry is one file of a ZIP.
type zipEntry struct {
	name string
	body string
}

// mustReadZip returns the entries of a ZIP in their order.
func mustReadZip(t *testing.T, b []byte) []zipEntry {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("zip: %v", err)
	}
	var out []zipEntry
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("open %s: %v", f.Name, err)
		}
		body, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		out = append(out, zipEntry{f.Name, string(body)})
	}
	return out
}

// entryBody returns the body of the named entry.
func entryBody(t *testing.T, entries []zipEntry, name string) string {
	t.Helper()
	for _, e := range entries {
		if e.name == name {
			return e.body
		}
	}
	t.Fatalf("no entry %s", name)
	return ""
}

// jsonLines splits a JSONL body into its lines.
func jsonLines(body string) []string {
	return strings.Split(strings.TrimSuffix(body, "\n"), "\n")
}

func TestDB_Export_Layout(t *testing.T) {
	forEachBackendOptions(t, exportSchema(), looseOptions, func(t *testing.T, db *livedb.DB) {
		mustFillExportDB(t, db)
		entries := mustReadZip(t, mustExport(t, db, nil))
		stats, err := db.TableStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}

		var names []string
		for _, e := range entries {
			names = append(names, e.name)
		}
		want := []string{"README.md", "_tables/documents.jsonl", "_livedb/schema.json"}
		var tableLines []string
		for _, st := range stats {
			want = append(want, st.Name+"/generated_schema.jsonl", st.Name+"/documents.jsonl")
			tableLines = append(tableLines, fmt.Sprintf(`{"name":%q,"id":%d}`, st.Name, st.Number))
		}
		if !slices.Equal(names, want) {
			t.Fatalf("entries = %q, want %q", names, want)
		}
		if got := jsonLines(entryBody(t, entries, "_tables/documents.jsonl")); !slices.Equal(got, tableLines) {
			t.Errorf("_tables = %q, want %q", got, tableLines)
		}
		for _, st := range stats {
			if got := entryBody(t, entries, st.Name+"/generated_schema.jsonl"); got != "\"uniform\"\n" {
				t.Errorf("%s generated schema = %q", st.Name, got)
			}
			lines := jsonLines(entryBody(t, entries, st.Name+"/documents.jsonl"))
			if int64(len(lines)) != st.Documents {
				t.Errorf("%s: %d lines for %d documents", st.Name, len(lines), st.Documents)
			}
			var ids []string
			for _, l := range lines {
				x, err := convexjson.DecodeExport([]byte(l))
				if err != nil {
					t.Fatalf("%s line %q: %v", st.Name, l, err)
				}
				ids = append(ids, x.(map[string]any)["_id"].(string))
			}
			if !slices.IsSorted(ids) {
				t.Errorf("%s: documents not in _id order: %q", st.Name, ids)
			}
		}
	})
}

func TestDB_Export_NumberFormat(t *testing.T) {
	db := livedbtest.NewOptions(t, exportSchema(), looseOptions)
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		jsNaN := math.Float64frombits(0x7FF8000000000000) // JavaScript's NaN
		_, err := m.DB.Insert("values", livedb.Doc{"v": []any{int64(5), 5.0, math.Copysign(0, -1), jsNaN, []byte{1, 2, 3}, 1e20}})
		return err
	})
	body := entryBody(t, mustReadZip(t, mustExport(t, db, nil)), "values/documents.jsonl")
	want := `"v":[5,5.0,-0.0,{"$float":"AAAAAAAA+H8="},{"$bytes":"AQID"},1e20]`
	if !strings.Contains(body, want) {
		t.Errorf("documents.jsonl = %s\nwant it to contain %s", body, want)
	}
	if !strings.HasPrefix(body, `{"_creationTime":`) || !strings.Contains(body, `.`) {
		t.Errorf("_creationTime not first or not a float: %s", body)
	}
}

func TestDB_Export_OneSnapshot(t *testing.T) {
	forEachBackendOptions(t, exportSchema(), looseOptions, func(t *testing.T, db *livedb.DB) {
		mustFillExportDB(t, db)
		before := mustCollect(t, db, "workflows")
		var once sync.Once
		var mutErr error
		opts := &livedb.ExportOptions{Progress: func(p livedb.Progress) {
			// A commit while the export runs: the export must not see it,
			// and the writer must not wait for the export.
			once.Do(func() {
				done := make(chan error, 1)
				go func() {
					done <- db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
						if _, err := m.DB.Insert("workflows", livedb.Doc{"task": "late", "status": "new"}); err != nil {
							return err
						}
						return m.DB.Delete(before[0].ID())
					})
				}()
				mutErr = mustRecv(t, done, testWait, "a commit while the export runs (the writer must not wait for the export)")
			})
		}}
		var buf bytes.Buffer
		ts, err := db.ExportTS(context.Background(), &buf, opts)
		if err != nil {
			t.Fatal(err)
		}
		if mutErr != nil {
			t.Fatalf("mutation during export: %v", mutErr)
		}
		if ts >= db.LastTimestamp() {
			t.Errorf("export timestamp %d not before the later commit %d", ts, db.LastTimestamp())
		}
		lines := jsonLines(entryBody(t, mustReadZip(t, buf.Bytes()), "workflows/documents.jsonl"))
		if len(lines) != len(before) {
			t.Fatalf("export has %d workflows, the snapshot had %d", len(lines), len(before))
		}
		if !strings.Contains(strings.Join(lines, "\n"), string(before[0].ID())) {
			t.Errorf("export misses %s, deleted after its snapshot", before[0].ID())
		}
	})
}

func TestDB_Export_Tables(t *testing.T) {
	db := livedbtest.NewOptions(t, exportSchema(), looseOptions)
	mustFillExportDB(t, db)
	t.Run("subset", func(t *testing.T) {
		entries := mustReadZip(t, mustExport(t, db, &livedb.ExportOptions{Tables: []string{"loose", "values", "loose"}}))
		var names []string
		for _, e := range entries {
			names = append(names, e.name)
		}
		if slices.Contains(names, "workflows/documents.jsonl") || !slices.Contains(names, "loose/documents.jsonl") || !slices.Contains(names, "values/documents.jsonl") {
			t.Errorf("entries = %q", names)
		}
		if n := len(jsonLines(entryBody(t, entries, "_tables/documents.jsonl"))); n != 2 {
			t.Errorf("_tables has %d lines, want 2", n)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		err := db.Export(context.Background(), io.Discard, &livedb.ExportOptions{Tables: []string{"nope"}})
		if !errors.Is(err, livedb.ErrInvalidTable) || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("err = %v, want ErrInvalidTable naming the table", err)
		}
	})
}

func TestDB_Export_Progress(t *testing.T) {
	db := livedbtest.NewOptions(t, exportSchema(), looseOptions)
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		for i := range 2500 {
			if _, err := m.DB.Insert("loose", livedb.Doc{"i": int64(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	var got []livedb.Progress
	mustExport(t, db, &livedb.ExportOptions{Progress: func(p livedb.Progress) {
		if p.Table == "loose" {
			got = append(got, p)
		}
	}})
	want := []livedb.Progress{
		{Op: "export", Table: "loose", Done: 0, Total: 2500},
		{Op: "export", Table: "loose", Done: 1000, Total: 2500},
		{Op: "export", Table: "loose", Done: 2000, Total: 2500},
		{Op: "export", Table: "loose", Done: 2500, Total: 2500},
	}
	if !slices.Equal(got, want) {
		t.Errorf("progress = %+v, want %+v", got, want)
	}
}

func TestDB_TableStats(t *testing.T) {
	forEachBackendOptions(t, exportSchema(), looseOptions, func(t *testing.T, db *livedb.DB) {
		mustFillExportDB(t, db)
		stats, err := db.TableStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		var numbers []uint32
		for _, st := range stats {
			got[st.Name] = st.Documents
			numbers = append(numbers, st.Number)
		}
		want := map[string]int64{"workflows": 4, "values": int64(len(exportValues())), "loose": 5}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("counts = %v, want %v", got, want)
		}
		if !slices.IsSorted(numbers) || numbers[0] < 10001 {
			t.Errorf("numbers = %v, want sorted user table numbers", numbers)
		}
		for _, st := range stats {
			if st.Name == "values" && (len(st.Indexes) != 2 || st.Indexes[0].Name != "by_v" || !slices.Equal(st.Indexes[1].Fields, []string{"ref"})) {
				t.Errorf("values indexes = %+v", st.Indexes)
			}
		}
	})
}

func TestDB_Export_Closed(t *testing.T) {
	db, err := livedb.OpenMemory(exportSchema(), looseOptions)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Export(context.Background(), io.Discard, nil); !errors.Is(err, livedb.ErrClosed) {
		t.Errorf("Export after Close = %v, want ErrClosed", err)
	}
}

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
		if err := db.ImportTable(context.Background(), "workflows", &buf, &livedb.ImportOptions{Format: livedb.ImportExportJSONL, Mode: livedb.ImportAppend}); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// BenchmarkDBExport exports n documents to io.Discard. Before timing, one
// export measures the peak live heap (collected at every progress report,
// every 1,000 documents) above the heap before it: it stays flat as n
// grows tenfold, because the export streams.
func BenchmarkDBExport(b *testing.B) {
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
			err := db.Export(context.Background(), io.Discard, &livedb.ExportOptions{Progress: func(livedb.Progress) {
				peak = max(peak, live())
			}})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := db.Export(context.Background(), io.Discard, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(int64(peak)-int64(base))/1024, "peak-live-KB")
			b.ReportMetric(float64(n), "docs/op")
		})
	}
}

// BenchmarkDBImport imports an export of n documents into a fresh
// database (replace mode), all in one commit.
func BenchmarkDBImport(b *testing.B) {
	const n = 10_000
	src := mustExportBenchDB(b, n)
	var zipped bytes.Buffer
	if err := src.Export(context.Background(), &zipped, nil); err != nil {
		b.Fatal(err)
	}
	dst, err := livedb.Open(filepath.Join(b.TempDir(), "dst.db"), exportSchema(), &livedb.Options{NoSync: true, AllowUndeclaredTables: true})
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := dst.Import(context.Background(), bytes.NewReader(zipped.Bytes()), int64(zipped.Len()), &livedb.ImportOptions{Mode: livedb.ImportReplace}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(n, "docs/op")
}

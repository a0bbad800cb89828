package livedb_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/snapshot"
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
func mustExport(t *testing.T, db *livedb.DB, opts *snapshot.ExportOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := snapshot.Export(context.Background(), db, &buf, opts); err != nil {
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

func TestExport_Layout(t *testing.T) {
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

func TestExport_NumberFormat(t *testing.T) {
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

func TestExport_OneSnapshot(t *testing.T) {
	forEachBackendOptions(t, exportSchema(), looseOptions, func(t *testing.T, db *livedb.DB) {
		mustFillExportDB(t, db)
		before := mustCollect(t, db, "workflows")
		var once sync.Once
		var mutErr error
		opts := &snapshot.ExportOptions{Progress: func(p livedb.Progress) {
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
		last := db.LastTimestamp() // the last commit before the export
		var buf bytes.Buffer
		ts, err := snapshot.Export(context.Background(), db, &buf, opts)
		if err != nil {
			t.Fatal(err)
		}
		if mutErr != nil {
			t.Fatalf("mutation during export: %v", mutErr)
		}
		if ts >= db.LastTimestamp() {
			t.Errorf("export timestamp %d not before the later commit %d", ts, db.LastTimestamp())
		}
		if ts != last {
			t.Errorf("export timestamp %d, want %d, the last commit before it", ts, last)
		}
		// The change feed after ts has exactly what the export lacks: the
		// commit made while it ran.
		ctx, cancel := context.WithTimeout(context.Background(), testWait)
		defer cancel()
		feed := db.Changes(ts, "workflows")
		var ops []string
		for range 2 {
			c, err := feed.Next(ctx)
			if err != nil {
				t.Fatalf("change feed after the export's timestamp: %v", err)
			}
			ops = append(ops, c.Op)
		}
		slices.Sort(ops)
		if !slices.Equal(ops, []string{"delete", "insert"}) {
			t.Errorf("changes after the export's timestamp: %v, want the insert and delete made while it ran", ops)
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

func TestExport_Tables(t *testing.T) {
	db := livedbtest.NewOptions(t, exportSchema(), looseOptions)
	mustFillExportDB(t, db)
	t.Run("subset", func(t *testing.T) {
		entries := mustReadZip(t, mustExport(t, db, &snapshot.ExportOptions{Tables: []string{"loose", "values", "loose"}}))
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
		_, err := snapshot.Export(context.Background(), db, io.Discard, &snapshot.ExportOptions{Tables: []string{"nope"}})
		if !errors.Is(err, livedb.ErrInvalidTable) || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("err = %v, want ErrInvalidTable naming the table", err)
		}
	})
}

func TestExport_Progress(t *testing.T) {
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
	mustExport(t, db, &snapshot.ExportOptions{Progress: func(p livedb.Progress) {
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

func TestExport_Closed(t *testing.T) {
	db, err := livedb.OpenMemory(exportSchema(), looseOptions)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.Export(context.Background(), db, io.Discard, nil); !errors.Is(err, livedb.ErrClosed) {
		t.Errorf("Export after Close = %v, want ErrClosed", err)
	}
}

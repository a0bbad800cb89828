package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/dashboard"
	"github.com/livedb-go/livedb/v"
)

// benchDocs is the size of the benchmarks' table.
const benchDocs = 100_000

// mustBenchDB opens a bbolt database (NoSync) whose table "docs" holds
// benchDocs documents of about 100 bytes, with 100 values of "group"
// (1,000 documents each) indexed by by_group.
func mustBenchDB(b *testing.B) *livedb.DB {
	b.Helper()
	schema := livedb.DefineSchema(livedb.Tables{
		"docs": livedb.DefineTable(v.Object(v.Fields{
			"group": v.Float64(),
			"n":     v.Int64(),
			"text":  v.String(),
		})).Index("by_group", "group"),
	})
	db, err := livedb.Open(filepath.Join(b.TempDir(), "bench.db"), schema, &livedb.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	const batch = 10_000
	for start := 0; start < benchDocs; start += batch {
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			for i := start; i < start+batch; i++ {
				doc := livedb.Doc{"group": float64(i % 100), "n": int64(i), "text": fmt.Sprintf("document number %06d of the benchmark table", i)}
				if _, err := m.DB.Insert("docs", doc); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// serve runs one API request against h and fails unless it answers 200.
func serve(b *testing.B, h http.Handler, method, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testKey)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.Bytes())
	}
	return rec
}

// BenchmarkHandler_Documents measures one page of 50 documents of a
// 100,000-document table through the API (query, Convex-JSON, HTTP
// answer): the first page, a page halfway through (from a cursor), and a
// page of an index range.
func BenchmarkHandler_Documents(b *testing.B) {
	db := mustBenchDB(b)
	h := dashboard.New(db, nil, dashboard.Options{AdminKey: testKey})
	spec := func(x map[string]any) []byte {
		x["table"] = "docs"
		x["numItems"] = 50
		body, err := json.Marshal(x)
		if err != nil {
			b.Fatal(err)
		}
		return body
	}
	// A cursor halfway through, from pages of 1,000.
	cursor := ""
	for range benchDocs / 2 / 1000 {
		body, _ := json.Marshal(map[string]any{"table": "docs", "numItems": 1000, "cursor": cursor})
		var p struct {
			ContinueCursor string `json:"continueCursor"`
		}
		if err := json.Unmarshal(serve(b, h, "POST", "/api/documents", body).Body.Bytes(), &p); err != nil {
			b.Fatal(err)
		}
		cursor = p.ContinueCursor
	}
	for _, bc := range []struct {
		name string
		body []byte
	}{
		{"first_page", spec(map[string]any{})},
		{"middle_page", spec(map[string]any{"cursor": cursor})},
		{"index_range", spec(map[string]any{"index": "by_group", "order": "desc", "range": []map[string]any{{"field": "group", "op": "eq", "value": 42}}})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = serve(b, h, "POST", "/api/documents", bc.body).Body.Len()
			}
			b.ReportMetric(float64(n), "bytes/page")
		})
	}
}

// BenchmarkHandler_Tables measures GET /api/tables on a
// 100,000-document table when the counts are cached (no commit since the
// last count), and what a recount costs: DB.TableStats, which the
// dashboard calls after commits at most once a second.
func BenchmarkHandler_Tables(b *testing.B) {
	db := mustBenchDB(b)
	h := dashboard.New(db, nil, dashboard.Options{AdminKey: testKey})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			serve(b, h, "GET", "/api/tables", nil)
		}
	})
	b.Run("recount", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			st, err := db.TableStats(context.Background())
			if err != nil || len(st) != 1 || st[0].Documents != benchDocs {
				b.Fatalf("TableStats = %v, %v", st, err)
			}
		}
	})
}

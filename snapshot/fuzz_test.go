package snapshot_test

import (
	"archive/zip"
	"bytes"
	"context"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/snapshot"
	"github.com/livedb-go/livedb/v"
)

// fuzzImportSchema has one validated table and leaves others schemaless.
func fuzzImportSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"items": livedb.DefineTable(v.Object(v.Fields{
			"n":    v.Float64(),
			"tags": v.Optional(v.Array(v.String())),
		})).Index("by_n", "n"),
	})
}

// checkImported fails the fuzz run when the database is inconsistent after
// an import, whatever its outcome.
func checkImported(t *testing.T, db *livedb.DB) {
	t.Helper()
	if err := db.Check(context.Background()); err != nil {
		t.Fatalf("Check after import: %v", err)
	}
}

// FuzzImportTable feeds arbitrary bytes to ImportTable in every format:
// garbage must give an error, never a panic, and leave the database
// consistent; what imports must read back.
func FuzzImportTable(f *testing.F) {
	for _, s := range []string{
		`{"n": 1}` + "\n" + `{"n": 2.5, "tags": ["a"]}`,
		`[{"n": 1}, {"n": 2}]`,
		`{"_id": "j57000820c20a1g7104gm2rc1m70ynr8", "_creationTime": 1700000000000.5, "n": 3.0}`,
		`{"n": {"$integer": "AQAAAAAAAAA="}}`,
		`{"n": "x"}`,
		"",
		"{",
		`[{"n": 1},`,
	} {
		f.Add([]byte(s), uint8(0), uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, format, table uint8) {
		db, err := livedb.OpenMemory(fuzzImportSchema())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		formats := []snapshot.Format{snapshot.JSONL, snapshot.JSONArray, snapshot.ExportJSONL}
		name := []string{"items", "notes"}[table%2]
		err = snapshot.ImportTable(context.Background(), db, name, bytes.NewReader(data), &snapshot.ImportOptions{Format: formats[int(format)%len(formats)], Mode: snapshot.Replace})
		checkImported(t, db)
		if err != nil {
			return
		}
		err = db.Query(context.Background(), func(q *livedb.QueryCtx) error {
			_, err := q.DB.Query(name).Collect()
			return err
		})
		if err != nil {
			t.Fatalf("reading an imported table: %v", err)
		}
	})
}

// FuzzImport feeds arbitrary bytes to Import as a snapshot ZIP, and also
// wraps them as the documents file of a well-formed ZIP, so that both the
// archive reader and the document decoder are exercised.
func FuzzImport(f *testing.F) {
	f.Add([]byte(`{"n": 1.0}`))
	f.Add([]byte(`{"_id": "j57000820c20a1g7104gm2rc1m70ynr8", "_creationTime": 1.5, "n": 2}`))
	f.Add([]byte("PK\x03\x04garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		db, err := livedb.OpenMemory(fuzzImportSchema())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		_ = snapshot.Import(context.Background(), db, bytes.NewReader(data), int64(len(data)), &snapshot.ImportOptions{Mode: snapshot.Replace})
		checkImported(t, db)

		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, body := range map[string][]byte{
			"_tables/documents.jsonl":      []byte(`{"name":"items","id":10001}` + "\n"),
			"items/generated_schema.jsonl": []byte(`"uniform"` + "\n"),
			"items/documents.jsonl":        data,
		} {
			w, err := zw.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(body)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		_ = snapshot.Import(context.Background(), db, bytes.NewReader(buf.Bytes()), int64(buf.Len()), &snapshot.ImportOptions{Mode: snapshot.Replace})
		checkImported(t, db)
	})
}

package livedb_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/snapshot"
)

func TestImportTable(t *testing.T) {
	const u1 = "j977x2wrmpsbzk6swvsg038t4x721mfx" // table 10002, users' number
	tests := []struct {
		name   string
		format snapshot.Format
		input  string
		check  func(t *testing.T, docs []livedb.Doc)
	}{
		{"jsonl is Convex-JSON", snapshot.JSONL,
			`{"name":"a","age":{"$integer":"BQAAAAAAAAA="},"score":5}` + "\n\n" + `{"name":"b","age":{"$integer":"AQAAAAAAAAA="},"score":1.5}` + "\r\n",
			func(t *testing.T, docs []livedb.Doc) {
				if len(docs) != 2 || docs[0]["score"] != 5.0 || docs[0]["age"] != int64(5) {
					t.Errorf("docs = %v", docs)
				}
			}},
		{"json array", snapshot.JSONArray,
			"[\n" + `{"_id":"` + u1 + `","_creationTime":12.5,"name":"a","age":{"$integer":"BQAAAAAAAAA="},"score":5}` + ",\n" + `{"name":"b","age":{"$integer":"AQAAAAAAAAA="},"score":1.5}` + "\n]\n",
			func(t *testing.T, docs []livedb.Doc) {
				if len(docs) != 2 || docs[0].ID() != u1 || docs[0].CreationTime() != 12.5 || docs[1].CreationTime() <= 12.5 {
					t.Errorf("docs = %v", docs)
				}
			}},
		{"export jsonl", snapshot.ExportJSONL,
			`{"name":"a","age":5,"score":5.0}`,
			func(t *testing.T, docs []livedb.Doc) {
				if len(docs) != 1 || docs[0]["age"] != int64(5) || docs[0]["score"] != 5.0 {
					t.Errorf("docs = %v", docs)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, convexFixtureSchema(), func(t *testing.T, db *livedb.DB) {
				err := snapshot.ImportTable(context.Background(), db, "users", strings.NewReader(tc.input), &snapshot.ImportOptions{Format: tc.format, Mode: snapshot.RequireEmpty})
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, mustCollect(t, db, "users"))
			})
		})
	}
}

func TestImportTable_Options(t *testing.T) {
	forEachBackend(t, convexFixtureSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		// nil options: JSONL into a table that must be empty.
		line := `{"name":"a","age":{"$integer":"BQAAAAAAAAA="},"score":5}` + "\n"
		if err := snapshot.ImportTable(ctx, db, "users", strings.NewReader(line), nil); err != nil {
			t.Fatalf("ImportTable(nil options) = %v", err)
		}
		if err := snapshot.ImportTable(ctx, db, "users", strings.NewReader(line), nil); !errors.Is(err, snapshot.ErrTableNotEmpty) {
			t.Fatalf("second ImportTable(nil options) = %v, want ErrTableNotEmpty", err)
		}
		// Progress in the options is called instead of Options.Progress.
		var got []livedb.Progress
		err := snapshot.ImportTable(ctx, db, "users", strings.NewReader(line), &snapshot.ImportOptions{
			Mode:     snapshot.Append,
			Progress: func(p livedb.Progress) { got = append(got, p) },
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || got[len(got)-1].Op != "import" || got[len(got)-1].Table != "users" || got[len(got)-1].Done != 1 {
			t.Fatalf("progress = %+v, want import of users ending at 1 document", got)
		}
		if docs := mustCollect(t, db, "users"); len(docs) != 2 {
			t.Fatalf("users has %d documents, want 2", len(docs))
		}
	})
}

func TestImportTable_Errors(t *testing.T) {
	db, ids := mustUsersDB(t)
	tests := []struct {
		name     string
		format   snapshot.Format
		mode     snapshot.Mode
		input    string
		wantKind error
		wantMsg  string
	}{
		{"array element line", snapshot.JSONArray, snapshot.Append,
			"[\n  {\"name\":\"a\",\"age\":{\"$integer\":\"AQAAAAAAAAA=\"},\"score\":1},\n\n  {\"name\":\"b\",\"age\":1,\"score\":1}\n]",
			livedb.ErrSchemaEnforcement, `import into table "users" line 4`},
		{"not an array", snapshot.JSONArray, snapshot.Append, `{"name":"a"}`, snapshot.ErrFormat, "want a JSON array"},
		{"data after the array", snapshot.JSONArray, snapshot.Append, `[] []`, snapshot.ErrFormat, "after the JSON array"},
		{"bad line", snapshot.JSONL, snapshot.Append, `{"name":"a","age":{"$integer":"AQAAAAAAAAA="},"score":1}` + "\n{", snapshot.ErrFormat, "line 2"},
		{"not empty", snapshot.JSONL, snapshot.RequireEmpty, `{"name":"a","age":{"$integer":"AQAAAAAAAAA="},"score":1}`, snapshot.ErrTableNotEmpty, "already has documents"},
		{"existing _id", snapshot.JSONL, snapshot.Append, `{"_id":"` + string(ids[0]) + `","name":"a","age":{"$integer":"AQAAAAAAAAA="},"score":1}`, snapshot.ErrDuplicateID, "already exists"},
		{"bad table", snapshot.JSONL, snapshot.Append, ``, livedb.ErrInvalidTable, "metadata prefix"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			table := "users"
			if tc.wantKind == livedb.ErrInvalidTable {
				table = "_users"
			}
			before := docsJSON(t, mustCollect(t, db, "users"))
			err := snapshot.ImportTable(context.Background(), db, table, strings.NewReader(tc.input), &snapshot.ImportOptions{Format: tc.format, Mode: tc.mode})
			if !errors.Is(err, tc.wantKind) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.wantKind, tc.wantMsg)
			}
			if after := docsJSON(t, mustCollect(t, db, "users")); !slices.Equal(after, before) {
				t.Errorf("users changed after a failed import")
			}
		})
	}
}

package livedb_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/snapshot"
	"github.com/livedb-go/livedb/v"
)

// mustZip builds a ZIP from entries, in order.
func mustZip(t *testing.T, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mustZipDir zips a directory laid out as a Convex export: README.md,
// _tables/documents.jsonl, then the other files in name order.
func mustZipDir(t *testing.T, dir string) []byte {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		names = append(names, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rank := func(n string) int {
		switch n {
		case "README.md":
			return 0
		case "_tables/documents.jsonl":
			return 1
		}
		return 2
	}
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	var entries []zipEntry
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(n)))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, zipEntry{n, string(b)})
	}
	return mustZip(t, entries...)
}

// importZip imports a ZIP held in memory.
func importZip(db *livedb.DB, b []byte, opts *snapshot.ImportOptions) error {
	return snapshot.Import(context.Background(), db, bytes.NewReader(b), int64(len(b)), opts)
}

// mustIndexDocs returns a table's documents in the order of one of its
// indexes.
func mustIndexDocs(t *testing.T, db *livedb.DB, table, index string) []livedb.Doc {
	t.Helper()
	var docs []livedb.Doc
	err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		var err error
		docs, err = q.DB.Query(table).WithIndex(index, nil).Collect()
		return err
	})
	if err != nil {
		t.Fatalf("%s.%s: %v", table, index, err)
	}
	return docs
}

// docsJSON renders documents losslessly (Convex-JSON keeps NaN bits, -0
// and the int64/float64 distinction), for exact comparison.
func docsJSON(t *testing.T, docs []livedb.Doc) []string {
	t.Helper()
	out := make([]string, len(docs))
	for i, d := range docs {
		b, err := v.ConvexToJSON(map[string]any(d))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

// mustStats returns TableStats as "name:number:documents" strings.
func mustStats(t *testing.T, db *livedb.DB) []string {
	t.Helper()
	stats, err := db.TableStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, st := range stats {
		out = append(out, st.Name+":"+strconv.FormatUint(uint64(st.Number), 10)+":"+strconv.FormatInt(st.Documents, 10))
	}
	return out
}

func TestImport_RoundTrip(t *testing.T) {
	forEachBackendOptions(t, exportSchema(), looseOptions, func(t *testing.T, src *livedb.DB) {
		mustFillExportDB(t, src)
		zipped := mustExport(t, src, nil)
		for _, b := range backends {
			t.Run("into "+b, func(t *testing.T) {
				dst := openBackend(t, b, exportSchema(), looseOptions)
				if err := importZip(dst, zipped, nil); err != nil {
					t.Fatalf("Import: %v", err)
				}
				if got, want := mustStats(t, dst), mustStats(t, src); !slices.Equal(got, want) {
					t.Errorf("tables = %q, want %q", got, want)
				}
				indexes := map[string][]string{
					"workflows": {"by_id", "by_creation_time", "by_status", "by_score"},
					"values":    {"by_id", "by_creation_time", "by_v", "by_ref"},
					"loose":     {"by_id", "by_creation_time"},
				}
				for table, ixs := range indexes {
					for _, ix := range ixs {
						got, want := docsJSON(t, mustIndexDocs(t, dst, table, ix)), docsJSON(t, mustIndexDocs(t, src, table, ix))
						if len(want) == 0 || !slices.Equal(got, want) {
							t.Errorf("%s.%s after import:\n got %q\nwant %q", table, ix, got, want)
						}
					}
				}
				// IDs still resolve, and a second export is byte-identical.
				for _, d := range mustCollect(t, src, "values") {
					if err := dst.Query(context.Background(), func(q *livedb.QueryCtx) error {
						got, ok, err := q.DB.Get(d.ID())
						if err != nil || !ok || !v.Equal(map[string]any(got), map[string]any(d)) {
							t.Errorf("Get(%s) = %v, %v, %v", d.ID(), got, ok, err)
						}
						return nil
					}); err != nil {
						t.Fatal(err)
					}
				}
				again := mustReadZip(t, mustExport(t, dst, nil))
				for _, e := range mustReadZip(t, zipped) {
					if got := entryBody(t, again, e.name); got != e.body {
						t.Errorf("%s differs after a round trip:\n got %s\nwant %s", e.name, got, e.body)
					}
				}
			})
		}
	})
}

// convexFixtureSchema describes testdata/export/convex. Its tables get
// numbers in name order (messages 10001, users 10002), the reverse of the
// fixture's, so the import must renumber them.
func convexFixtureSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"users": livedb.DefineTable(v.Object(v.Fields{
			"name":    v.String(),
			"age":     v.Int64(),
			"score":   v.Float64(),
			"avatar":  v.Optional(v.Bytes()),
			"tags":    v.Optional(v.Array(v.Any())),
			"profile": v.Optional(v.Any()),
		})).Index("by_age", "age"),
		"messages": livedb.DefineTable(v.Object(v.Fields{
			"author": v.ID("users"),
			"body":   v.String(),
			"likes":  v.Int64(),
			"weight": v.Optional(v.Float64()),
		})).Index("by_author", "author"),
	})
}

func TestImport_ConvexFixture(t *testing.T) {
	zipped := mustZipDir(t, filepath.Join("testdata", "export", "convex"))
	forEachBackendOptions(t, convexFixtureSchema(), looseOptions, func(t *testing.T, db *livedb.DB) {
		if err := importZip(db, zipped, nil); err != nil {
			t.Fatalf("Import: %v", err)
		}
		if got, want := mustStats(t, db), []string{"users:10001:3", "messages:10002:2", "emptyTable:10003:0"}; !slices.Equal(got, want) {
			t.Errorf("tables = %q, want %q", got, want)
		}
		users := mustIndexDocs(t, db, "users", "by_age")
		if len(users) != 3 {
			t.Fatalf("users = %v", users)
		}
		min, mid, max := users[0], users[1], users[2]
		checks := []struct {
			name      string
			got, want any
		}{
			{"min age", min["age"], int64(math.MinInt64)},
			{"mid age", mid["age"], int64(42)},
			{"max age", max["age"], int64(math.MaxInt64)},
			{"creation time", mid["_creationTime"], 1718000000000.123},
			{"creation time with .0", min["_creationTime"], 1718000000001.0},
			{"id", mid["_id"], livedb.ID("j577f14hktnvhhejvzpfj1gk41720vj8")},
			{"bytes", mid["avatar"], []byte{1, 2, 3}},
			{"float", mid["score"], 98.5},
			{"NaN", min["score"], math.Float64frombits(0x7FF8000000000000)},
			{"-0.0", max["score"], math.Copysign(0, -1)},
			{"unicode", min["name"], "Zoë 😀"},
			{"mixed array", min["tags"], []any{"a", int64(1), 2.0, nil, true}},
			{"exponents", max["profile"], map[string]any{"nested": map[string]any{"deep": []any{1e20, 1.5e-7}}}},
		}
		for _, c := range checks {
			if !v.Equal(c.got, c.want) {
				t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
			}
		}
		if _, ok := max["avatar"]; ok {
			t.Errorf("an absent optional field appeared: %v", max)
		}
		// References resolve through the renumbered tables.
		msgs := mustIndexDocs(t, db, "messages", "by_author")
		if len(msgs) != 2 || msgs[1]["weight"] != math.Inf(1) || msgs[0]["likes"] != int64(0) {
			t.Fatalf("messages = %v", msgs)
		}
		err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
			for _, m := range msgs {
				author, ok, err := q.DB.Get(livedb.ID(m["author"].(string)))
				if err != nil || !ok || author["name"] == nil {
					t.Errorf("author of %s: %v %v %v", m.ID(), author, ok, err)
				}
				if _, ok := q.DB.NormalizeID("users", m["author"].(string)); !ok {
					t.Errorf("NormalizeID(users, %s) failed", m["author"])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// New documents go on in the imported numbering.
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("messages", livedb.Doc{"author": mid.ID(), "body": "after", "likes": int64(1)})
			return err
		})
	})
}

func TestImport_Failures(t *testing.T) {
	// The schema numbers its tables in name order: messages 10001, users
	// 10002.
	const (
		u1 = "j977x2wrmpsbzk6swvsg038t4x721mfx" // table 10002
		u2 = "j979vanqrk8xxtzr0m91yb1s8s7210rr" // table 10002
		m1 = "j577f14hktnvhhejvzpfj1gk41720vj8" // table 10001
	)
	tables := zipEntry{"_tables/documents.jsonl", `{"name":"users","id":10002}` + "\n"}
	uniform := zipEntry{"users/generated_schema.jsonl", "\"uniform\"\n"}
	user := func(id, rest string) string {
		return `{"_creationTime":1718000000000.5,"_id":"` + id + `",` + rest + "}\n"
	}
	good := user(u1, `"age":1,"name":"a","score":1.0`)
	tests := []struct {
		name     string
		zip      []byte
		wantKind error
		wantMsg  []string // substrings of the message
		wantPath string
		wantLine int
	}{
		{"bad JSON line", mustZip(t, tables, uniform, zipEntry{"users/documents.jsonl", good + "{\"_id\": oops}\n"}),
			snapshot.ErrFormat, []string{"users/documents.jsonl:2"}, "._id", 2},
		{"schema mismatch", mustZip(t, tables, uniform, zipEntry{"users/documents.jsonl", good + "\n" + user(u2, `"age":1.5,"name":"b","score":1.0`)}),
			livedb.ErrSchemaEnforcement, []string{"users/documents.jsonl:3", u2, "Path: .age"}, ".age", 3},
		{"missing field", mustZip(t, tables, uniform, zipEntry{"users/documents.jsonl", user(u2, `"name":"b","score":1.0`)}),
			livedb.ErrSchemaEnforcement, []string{"users/documents.jsonl:1", "`age`"}, "", 1},
		{"ID of another table", mustZip(t, tables, uniform, zipEntry{"users/documents.jsonl", good + user(m1, `"age":1,"name":"a","score":1.0`)}),
			livedb.ErrInvalidID, []string{"users/documents.jsonl:2", `table number 10001 (table "messages")`}, "._id", 2},
		{"duplicate _id", mustZip(t, tables, uniform, zipEntry{"users/documents.jsonl", good + good}),
			snapshot.ErrDuplicateID, []string{"users/documents.jsonl:2", "line 1"}, "", 2},
		{"int64 creation time", mustZip(t, tables, uniform, zipEntry{"users/documents.jsonl", `{"_creationTime":1718000000000,"_id":"` + u1 + `","age":1,"name":"a","score":1.0}`}),
			livedb.ErrInvalidDocument, []string{"_creationTime must be a float64"}, "._creationTime", 1},
		{"system field", mustZip(t, tables, uniform, zipEntry{"users/documents.jsonl", user(u1, `"_secret":1,"age":1,"name":"a","score":1.0`)}),
			livedb.ErrInvalidDocument, []string{"_secret"}, "._secret", 1},
		{"too big", mustZip(t, tables, uniform, zipEntry{"users/documents.jsonl", user(u1, `"age":1,"name":"`+strings.Repeat("x", 1<<20)+`","score":1.0`)}),
			livedb.ErrInvalidDocument, []string{"too large"}, "", 1},
		{"not an object", mustZip(t, tables, uniform, zipEntry{"users/documents.jsonl", "[1]\n"}),
			snapshot.ErrFormat, []string{"must be an object"}, "", 1},
		{"reserved field name", mustZip(t, tables, uniform, zipEntry{"users/documents.jsonl", user(u1, `"age":1,"name":"a","score":1.0,"profile":{"$x":1}`)}),
			snapshot.ErrFormat, []string{"users/documents.jsonl:1"}, ".profile", 1},
		{"inferred shape", mustZip(t, tables, zipEntry{"users/generated_schema.jsonl", "\"{_id: string}\"\n"}, zipEntry{"users/documents.jsonl", good}),
			snapshot.ErrFormat, []string{"users/generated_schema.jsonl", "uniform"}, "", 1},
		{"bad _tables", mustZip(t, zipEntry{"_tables/documents.jsonl", "{\"name\":\"users\"}\n"}, zipEntry{"users/documents.jsonl", good}),
			snapshot.ErrFormat, []string{"_tables/documents.jsonl:1"}, "", 1},
		{"bad table name", mustZip(t, zipEntry{"my-table/documents.jsonl", "{}\n"}),
			livedb.ErrInvalidTable, []string{"my-table"}, "", 0},
		{"two tables one number", mustZip(t, zipEntry{"_tables/documents.jsonl", `{"name":"users","id":10002}` + "\n" + `{"name":"messages","id":10002}` + "\n"}, zipEntry{"users/documents.jsonl", good}, zipEntry{"messages/documents.jsonl", ""}),
			snapshot.ErrFormat, []string{"both have table number 10002"}, "", 0},
		{"components", mustZip(t, zipEntry{"_components/comp/users/documents.jsonl", ""}),
			snapshot.ErrFormat, []string{"components"}, "", 0},
		{"not a zip", []byte("PK nope"), snapshot.ErrFormat, []string{"not a ZIP"}, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, convexFixtureSchema(), func(t *testing.T, db *livedb.DB) {
				before, ts := mustStats(t, db), db.LastTimestamp()
				err := importZip(db, tc.zip, nil)
				var ie *snapshot.ImportError
				if !errors.As(err, &ie) || !errors.Is(err, tc.wantKind) {
					t.Fatalf("err = %v, want an *ImportError of kind %v", err, tc.wantKind)
				}
				for _, s := range tc.wantMsg {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("message %q lacks %q", err, s)
					}
				}
				if ie.Path != tc.wantPath || ie.Line != tc.wantLine {
					t.Errorf("path, line = %q, %d, want %q, %d", ie.Path, ie.Line, tc.wantPath, tc.wantLine)
				}
				if after := mustStats(t, db); !slices.Equal(after, before) || db.LastTimestamp() != ts {
					t.Errorf("something was written: tables %q -> %q, ts %d -> %d", before, after, ts, db.LastTimestamp())
				}
			})
		})
	}
}

func TestImport_ValidationErrorDetail(t *testing.T) {
	db := livedbtest.NewOptions(t, convexFixtureSchema(), looseOptions)
	line := `{"_creationTime":1.5,"_id":"j977x2wrmpsbzk6swvsg038t4x721mfx","age":1,"name":"a","score":1.0,"tags":[1.0,2.0,{"$integer":"AQAAAAAAAAA="}],"avatar":"not bytes"}`
	err := importZip(db, mustZip(t, zipEntry{"_tables/documents.jsonl", `{"name":"users","id":10002}` + "\n"}, zipEntry{"users/generated_schema.jsonl", "\"uniform\"\n"}, zipEntry{"users/documents.jsonl", line}), nil)
	var ve *v.ValidationError
	if !errors.As(err, &ve) || ve.Path != ".avatar" {
		t.Fatalf("err = %v, want a *v.ValidationError at .avatar", err)
	}
}

func TestImport_UndoCatalog(t *testing.T) {
	// The context ends after the documents were checked and the catalog
	// committed: the commit of the documents fails, and the catalog is put
	// back as it was.
	db := livedbtest.NewOptions(t, convexFixtureSchema(), looseOptions)
	before := mustStats(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	zipped := mustZipDir(t, filepath.Join("testdata", "export", "convex"))
	err := snapshot.Import(ctx, db, bytes.NewReader(zipped), int64(len(zipped)), &snapshot.ImportOptions{Progress: func(p livedb.Progress) {
		if p.Table == "emptyTable" {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if after := mustStats(t, db); !slices.Equal(after, before) {
		t.Errorf("tables = %q, want %q as before", after, before)
	}
}

func TestImport_Subscription(t *testing.T) {
	db := livedbtest.NewOptions(t, convexFixtureSchema(), looseOptions)
	ctx := context.Background()
	sub, err := livedb.Subscribe(ctx, db, func(q *livedb.QueryCtx) (int, error) {
		docs, err := q.DB.Query("users").Collect()
		return len(docs), err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if u := mustRecv(t, sub.Updates(), testWait, "the first update"); u.Value != 0 {
		t.Fatalf("first update = %+v", u)
	}
	if err := importZip(db, mustZipDir(t, filepath.Join("testdata", "export", "convex")), nil); err != nil {
		t.Fatal(err)
	}
	if u := mustRecv(t, sub.Updates(), testWait, "the update after the import"); u.Err != nil || u.Value != 3 {
		t.Errorf("update after import = %+v, want 3 users", u)
	}
}

func TestImport_ReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ro.db")
	db, err := livedb.Open(path, convexFixtureSchema(), &livedb.Options{NoSync: true, AllowUndeclaredTables: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := livedb.Open(path, nil, &livedb.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	err = importZip(ro, mustZipDir(t, filepath.Join("testdata", "export", "convex")), nil)
	if !errors.Is(err, livedb.ErrReadOnly) {
		t.Errorf("err = %v, want ErrReadOnly", err)
	}
}

func TestImport_NoTablesFile(t *testing.T) {
	// Without _tables/documents.jsonl the table takes the number of its
	// first document's _id; without generated_schema.jsonl the documents
	// are Convex-JSON, where every plain number is a float64.
	db := livedbtest.New(t, nil)
	const id = "jd78b4mznjwwdmz0xqx0e5115s720d5j" // table 10003
	zipped := mustZip(t, zipEntry{"things/documents.jsonl", `{"_id":"` + id + `","_creationTime":5.5,"n":5,"i":{"$integer":"BQAAAAAAAAA="}}` + "\n"})
	if err := importZip(db, zipped, nil); err != nil {
		t.Fatal(err)
	}
	if got := mustStats(t, db); !slices.Equal(got, []string{"things:10003:1"}) {
		t.Errorf("tables = %q", got)
	}
	docs := mustCollect(t, db, "things")
	if len(docs) != 1 || docs[0]["n"] != 5.0 || docs[0]["i"] != int64(5) || docs[0].ID() != id {
		t.Errorf("docs = %v", docs)
	}
	// A table created later does not collide with the imported number.
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("later", livedb.Doc{})
		return err
	})
	if got := mustStats(t, db); !slices.Equal(got, []string{"things:10003:1", "later:10004:1"}) {
		t.Errorf("tables = %q", got)
	}
}

func TestImport_Prefix(t *testing.T) {
	// Convex accepts a snapshot under a top directory, and so does Import.
	var entries []zipEntry
	for _, e := range mustReadZip(t, mustZipDir(t, filepath.Join("testdata", "export", "convex"))) {
		entries = append(entries, zipEntry{"snapshot_1718/" + e.name, e.body})
	}
	db := livedbtest.NewOptions(t, convexFixtureSchema(), looseOptions)
	if err := importZip(db, mustZip(t, entries...), nil); err != nil {
		t.Fatal(err)
	}
	if got := mustStats(t, db); !slices.Equal(got, []string{"users:10001:3", "messages:10002:2", "emptyTable:10003:0"}) {
		t.Errorf("tables = %q", got)
	}
}

func TestReadSchema(t *testing.T) {
	src := livedbtest.NewOptions(t, exportSchema(), looseOptions)
	mustFillExportDB(t, src)
	zipped := mustExport(t, src, nil)
	s, err := snapshot.ReadSchema(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil || s == nil {
		t.Fatalf("ReadSchema = %v, %v", s, err)
	}
	want, _ := exportSchema().MarshalJSON()
	if got, _ := s.MarshalJSON(); string(got) != string(want) {
		t.Errorf("schema = %s, want %s", got, want)
	}
	// The backup holds a table the schema does not declare: a database
	// opened with the schema alone refuses it, and writes nothing.
	strict := livedbtest.New(t, s)
	if err := importZip(strict, zipped, nil); !errors.Is(err, livedb.ErrUndeclaredTable) || !strings.Contains(err.Error(), `"loose"`) && !strings.Contains(err.Error(), "loose/") {
		t.Fatalf("import into a strict database = %v, want ErrUndeclaredTable naming loose", err)
	}
	if got := mustStats(t, strict); len(got) != 2 {
		t.Fatalf("the refused import left tables %q", got)
	}
	// Opened with it and AllowUndeclaredTables, a database takes the
	// backup back whole: indexes too.
	dst := livedbtest.NewOptions(t, s, looseOptions)
	if err := importZip(dst, zipped, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := docsJSON(t, mustIndexDocs(t, dst, "values", "by_v")), docsJSON(t, mustIndexDocs(t, src, "values", "by_v")); !slices.Equal(got, want) {
		t.Errorf("by_v differs")
	}
	// Convex's exports carry none.
	fixture := mustZipDir(t, filepath.Join("testdata", "export", "convex"))
	if s, err := snapshot.ReadSchema(bytes.NewReader(fixture), int64(len(fixture))); s != nil || err != nil {
		t.Errorf("ReadSchema of a Convex export = %v, %v", s, err)
	}
}

func TestImport_ConcurrentWriters(t *testing.T) {
	forEachBackendOptions(t, exportSchema(), looseOptions, func(t *testing.T, db *livedb.DB) {
		mustFillExportDB(t, db)
		zipped := mustExport(t, db, &snapshot.ExportOptions{Tables: []string{"values"}})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errc := make(chan error, 1)
		go func() {
			// Writers to other tables and to the imported one.
			var err error
			for i := 0; ctx.Err() == nil && err == nil; i++ {
				err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					if _, err := m.DB.Insert("loose", livedb.Doc{"i": int64(i)}); err != nil {
						return err
					}
					_, err := m.DB.Insert("values", livedb.Doc{"v": int64(i)})
					return err
				})
			}
			errc <- err
		}()
		for range 5 {
			if err := importZip(db, zipped, &snapshot.ImportOptions{Mode: snapshot.Replace}); err != nil && !errors.Is(err, livedb.ErrConflict) {
				t.Fatalf("Import: %v", err)
			}
		}
		cancel()
		if err := mustRecv(t, errc, testWait, "the writer's end"); err != nil {
			t.Fatalf("writer: %v", err)
		}
		if err := db.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

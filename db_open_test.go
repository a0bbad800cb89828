package livedb_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

// openTestSchema is a schema whose stored JSON needs escaping (<, > and &
// in a literal) and which has tables a and, when withB, b. strict makes
// a's field required.
func openTestSchema(strict, withB bool) *livedb.Schema {
	var f v.Validator = v.Union(v.String(), v.Literal("<&>"))
	if !strict {
		f = v.Optional(f)
	}
	tables := livedb.Tables{"a": livedb.DefineTable(v.Object(v.Fields{"f": f})).Index("by_f", "f")}
	if withB {
		tables["b"] = livedb.DefineTable(v.Object(v.Fields{"g": v.String()})).Index("by_g", "g")
	}
	return livedb.DefineSchema(tables)
}

// mustOpenFile opens the database at path, failing the test on error.
func mustOpenFile(t *testing.T, path string, s *livedb.Schema, opts *livedb.Options) *livedb.DB {
	t.Helper()
	db, err := livedb.Open(path, s, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

// mustReadFile returns the bytes of the file at path.
func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOpen_SameSchemaWritesNothing reopens a database with the schema it
// was created with (a new *Schema of the same definition), with the stored
// schema (nil) and read-only: Open reads, queries read, and the file is left
// byte for byte as it was.
func TestOpen_SameSchemaWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "same.db")
	db := mustOpenFile(t, path, openTestSchema(true, true), nil)
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		for _, f := range []string{"x", "<&>", "y"} {
			if _, err := m.DB.Insert("a", livedb.Doc{"f": f}); err != nil {
				return err
			}
		}
		_, err := m.DB.Insert("b", livedb.Doc{"g": "z"})
		return err
	})
	livedbtest.MustCheckClose(t, db)
	want := mustReadFile(t, path)
	tests := []struct {
		name   string
		schema *livedb.Schema
		opts   *livedb.Options
	}{
		{"same definition", openTestSchema(true, true), nil},
		{"stored schema", nil, nil},
		{"read-only", openTestSchema(true, true), &livedb.Options{ReadOnly: true}},
		{"read-only, looser schema", openTestSchema(false, true), &livedb.Options{ReadOnly: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenFile(t, path, tc.schema, tc.opts)
			if got := len(mustCollect(t, db, "a")); got != 3 {
				t.Fatalf("%d documents in a, want 3", got)
			}
			livedbtest.MustCheckClose(t, db)
			if !bytes.Equal(mustReadFile(t, path), want) {
				t.Fatal("Open wrote to the file")
			}
		})
	}
}

// TestOpen_StoresChangedSchema loosens a validator, stores a document only
// the looser one accepts, and tightens it again: the stored schema must be
// the looser one, so that the last Open checks the documents and refuses.
func TestOpen_StoresChangedSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "changed.db")
	db := mustOpenFile(t, path, openTestSchema(true, false), nil)
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("a", livedb.Doc{"f": "x"})
		return err
	})
	livedbtest.MustCheckClose(t, db)

	db = mustOpenFile(t, path, openTestSchema(false, false), nil)
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("a", livedb.Doc{})
		return err
	})
	livedbtest.MustCheckClose(t, db)

	db, err := livedb.Open(path, openTestSchema(true, false), nil)
	if err == nil {
		_ = db.Close()
		t.Fatal("Open with the stricter schema accepted a document without f")
	}
	var mm *livedb.SchemaMismatchError
	if !errors.As(err, &mm) || mm.Total != 1 {
		t.Fatalf("Open = %v, want a SchemaMismatchError for 1 document", err)
	}
}

// TestOpen_StoresNewTable adds a table (without documents, so without
// index work) at an Open, writes to it, and reopens without it and then
// with another new table: the first table's number and index ids were
// stored, so the other table does not take them and its documents.
func TestOpen_StoresNewTable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tables.db")
	db := mustOpenFile(t, path, openTestSchema(true, false), nil)
	livedbtest.MustCheckClose(t, db)

	db = mustOpenFile(t, path, openTestSchema(true, true), nil)
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("b", livedb.Doc{"g": "kept"})
		return err
	})
	livedbtest.MustCheckClose(t, db)

	other := livedb.DefineSchema(livedb.Tables{
		"a": livedb.DefineTable(v.Object(v.Fields{"f": v.Union(v.String(), v.Literal("<&>"))})).Index("by_f", "f"),
		"c": livedb.DefineTable(v.Object(v.Fields{"g": v.String()})).Index("by_g", "g"),
	})
	db = mustOpenFile(t, path, other, nil)
	if got := mustCollect(t, db, "c"); len(got) != 0 {
		t.Fatalf("the new table c holds %v", got)
	}
	err := db.Query(ctx, func(q *livedb.QueryCtx) error {
		docs, err := q.DB.Query("c").WithIndex("by_g", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("g", "kept") }).Collect()
		if err == nil && len(docs) != 0 {
			t.Errorf("c's index by_g finds %v", docs)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	livedbtest.MustCheckClose(t, db)

	db = mustOpenFile(t, path, openTestSchema(true, true), nil)
	defer livedbtest.MustCheckClose(t, db)
	if got := mustCollect(t, db, "b"); len(got) != 1 || got[0]["g"] != "kept" {
		t.Fatalf("b holds %v, want its one document", got)
	}
}

func TestOpenMemory_Options(t *testing.T) {
	// One *Options, nil or not, as Open takes it.
	for _, opts := range [][]*livedb.Options{nil, {nil}, {{Limits: livedb.Limits{DocumentsWritten: 1}}}} {
		db, err := livedb.OpenMemory(agentSchema(), opts...)
		if err != nil {
			t.Fatalf("OpenMemory with %d options: %v", len(opts), err)
		}
		err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			for range 2 {
				if _, err := m.DB.Insert("workflows", livedb.Doc{"task": "t", "status": "pending"}); err != nil {
					return err
				}
			}
			return nil
		})
		limited := len(opts) == 1 && opts[0] != nil
		if limited != errors.Is(err, livedb.ErrLimit) {
			t.Errorf("OpenMemory with %d options: two inserts = %v, want ErrLimit only with the limit", len(opts), err)
		}
		livedbtest.MustCheckClose(t, db)
	}
	// Two are a mistake, said at once.
	db, err := livedb.OpenMemory(agentSchema(), &livedb.Options{}, &livedb.Options{})
	if err == nil || db != nil {
		if db != nil {
			livedbtest.MustCheckClose(t, db)
		}
		t.Fatalf("OpenMemory with two options: error %v, want one", err)
	}
}

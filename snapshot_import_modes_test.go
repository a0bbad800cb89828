package livedb_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/snapshot"
	"github.com/livedb-go/livedb/v"
)

// mustUsersDB opens a database with the fixture schema and two users.
func mustUsersDB(t *testing.T) (*livedb.DB, []livedb.ID) {
	t.Helper()
	db := livedbtest.NewOptions(t, convexFixtureSchema(), looseOptions)
	var ids []livedb.ID
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		for _, name := range []string{"old1", "old2"} {
			id, err := m.DB.Insert("users", livedb.Doc{"name": name, "age": int64(len(ids)), "score": 0.5})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	return db, ids
}

func TestImport_Modes(t *testing.T) {
	src, srcIDs := mustUsersDB(t)
	mustMutate(t, src, func(m *livedb.MutationCtx) error {
		return m.DB.Patch(srcIDs[0], livedb.Doc{"name": "changed"})
	})
	zipped := mustExport(t, src, &snapshot.ExportOptions{Tables: []string{"users"}})

	t.Run("require-empty refuses", func(t *testing.T) {
		db, _ := mustUsersDB(t)
		if err := importZip(db, zipped, nil); !errors.Is(err, snapshot.ErrTableNotEmpty) {
			t.Errorf("err = %v, want ErrTableNotEmpty", err)
		}
	})
	t.Run("append adds", func(t *testing.T) {
		db, _ := mustUsersDB(t)
		if err := importZip(db, zipped, &snapshot.ImportOptions{Mode: snapshot.Append}); err != nil {
			t.Fatal(err)
		}
		if n := len(mustCollect(t, db, "users")); n != 4 {
			t.Errorf("%d users after append, want 4", n)
		}
	})
	t.Run("append refuses an existing _id", func(t *testing.T) {
		if err := importZip(src, zipped, &snapshot.ImportOptions{Mode: snapshot.Append}); !errors.Is(err, snapshot.ErrDuplicateID) || !strings.Contains(err.Error(), "users/documents.jsonl:") {
			t.Errorf("err = %v, want ErrDuplicateID naming the line", err)
		}
		if docs := mustCollect(t, src, "users"); len(docs) != 2 || docs[0]["name"] != "changed" {
			t.Errorf("source changed: %v", docs)
		}
	})
	t.Run("replace", func(t *testing.T) {
		db, old := mustUsersDB(t)
		after := db.LastTimestamp()
		if err := importZip(db, zipped, &snapshot.ImportOptions{Mode: snapshot.Replace}); err != nil {
			t.Fatal(err)
		}
		if got, want := docsJSON(t, mustCollect(t, db, "users")), docsJSON(t, mustCollect(t, src, "users")); !slices.Equal(got, want) {
			t.Errorf("users after replace = %q, want %q", got, want)
		}
		// One commit: every change shares its timestamp; the old documents
		// were deleted, the new inserted.
		feed := db.Changes(after)
		ops := map[string]int{}
		var stamps []uint64
		for {
			c, ok, err := feed.TryNext()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			ops[c.Op]++
			stamps = append(stamps, c.Timestamp)
			if c.Op == "delete" && !slices.Contains(old, c.ID) {
				t.Errorf("deleted %s, not an old document", c.ID)
			}
		}
		if ops["delete"] != 2 || ops["insert"] != 2 || len(slices.Compact(stamps)) != 1 {
			t.Errorf("changes = %v at %v, want 2 deletes and 2 inserts at one timestamp", ops, stamps)
		}
	})
	t.Run("replace with itself writes nothing", func(t *testing.T) {
		ts := src.LastTimestamp()
		if err := importZip(src, zipped, &snapshot.ImportOptions{Mode: snapshot.Replace}); err != nil {
			t.Fatal(err)
		}
		if src.LastTimestamp() != ts {
			t.Errorf("an identical replace committed")
		}
	})
}

func TestImport_TableNumberConflict(t *testing.T) {
	// "users" is 10002 here; the fixture gives 10002 to "messages" and
	// does not import this database's "users"... unless it is included.
	db := livedbtest.NewOptions(t, livedb.DefineSchema(livedb.Tables{
		"aaa":   livedb.DefineTable(v.Any()),
		"other": livedb.DefineTable(v.Any()),
	}), looseOptions)
	zipped := mustZipDir(t, filepath.Join("testdata", "export", "convex"))
	err := importZip(db, zipped, nil)
	if !errors.Is(err, snapshot.ErrTableNumber) || !strings.Contains(err.Error(), `"aaa"`) {
		t.Fatalf("err = %v, want ErrTableNumber naming the table that has the number", err)
	}
	if got := mustStats(t, db); !slices.Equal(got, []string{"aaa:10001:0", "other:10002:0"}) {
		t.Errorf("tables = %q", got)
	}
}

func TestImport_AppendRenumber(t *testing.T) {
	db, _ := mustUsersDB(t) // users has documents under this database's number
	zipped := mustZipDir(t, filepath.Join("testdata", "export", "convex"))
	err := importZip(db, zipped, &snapshot.ImportOptions{Mode: snapshot.Append})
	if !errors.Is(err, snapshot.ErrTableNumber) || !strings.Contains(err.Error(), "use replace") {
		t.Fatalf("err = %v, want ErrTableNumber suggesting replace", err)
	}
	if err := importZip(db, zipped, &snapshot.ImportOptions{Mode: snapshot.Replace}); err != nil {
		t.Fatalf("replace: %v", err)
	}
	if got := mustStats(t, db); !slices.Equal(got, []string{"users:10001:3", "messages:10002:2", "emptyTable:10003:0"}) {
		t.Errorf("tables = %q", got)
	}
}

// TestImport_SystemTableNumber imports documents whose IDs carry a table
// number below the first user table's (the numbers of system tables): the
// import must refuse them, since a user table with such a number could not
// be opened again, and write nothing.
func TestImport_SystemTableNumber(t *testing.T) {
	for _, n := range []uint32{1, 5, 10000} {
		db := livedbtest.NewOptions(t, livedb.DefineSchema(livedb.Tables{
			"aaa": livedb.DefineTable(v.Any()),
		}), looseOptions)
		sid, err := id.New(n, time.Now(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		line := `{"_id":"` + sid + `","_creationTime":1700000000000,"x":1}` + "\n"
		err = snapshot.ImportTable(context.Background(), db, "fresh", strings.NewReader(line), nil)
		if !errors.Is(err, snapshot.ErrTableNumber) || !strings.Contains(err.Error(), strconv.FormatUint(uint64(n), 10)) {
			t.Fatalf("table number %d: err = %v, want ErrTableNumber naming the number", n, err)
		}
		if got := mustStats(t, db); !slices.Equal(got, []string{"aaa:10001:0"}) {
			t.Errorf("table number %d: tables = %q after a refused import", n, got)
		}
	}
}

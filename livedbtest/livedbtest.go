// Package livedbtest gives tests a fresh livedb database in one line:
//
//	func TestCreateWorkflow(t *testing.T) {
//		db := livedbtest.New(t, model.Schema())
//		...
//	}
//
// The database is in memory (New) or in a bbolt file under t.TempDir()
// (NewFile). When the test ends, a cleanup registered with t.Cleanup runs
// [livedb.DB.Check] on it, failing the test if an index and the documents
// disagree, and closes it. [MustCheckClose] does the same at once, for a
// database the test opened itself (a file reopened with livedb.Open, for
// example).
//
// For scheduled functions, cron jobs and work pools, [Clock] is a clock the
// test moves by hand ([Clock.Advance], [Clock.Set]); [RunDue] runs what is
// due when the test says so, and [FinishScheduled] runs a chain of
// scheduled functions to its end, moving the clock from one to the next.
package livedbtest

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/livedb-go/livedb"
)

// New returns an empty in-memory database with schema for the test tb.
// It fails the test at once if the database cannot be opened (for example,
// when the schema has a definition mistake). The database is checked and
// closed by a t.Cleanup; a test may also close it itself, and then the
// cleanup does nothing.
func New(tb testing.TB, schema *livedb.Schema) *livedb.DB {
	tb.Helper()
	return NewOptions(tb, schema, nil)
}

// NewOptions is New with options, as [livedb.OpenMemory] takes them (such
// as MaxRetries or Limits); the file options (Timeout, NoSync, ReadOnly)
// do not apply. opts may be nil.
func NewOptions(tb testing.TB, schema *livedb.Schema, opts *livedb.Options) *livedb.DB {
	tb.Helper()
	db, err := livedb.OpenMemory(schema, opts)
	if err != nil {
		tb.Fatalf("livedbtest: open memory database: %v", err)
		return nil
	}
	tb.Cleanup(func() { MustCheckClose(tb, db) })
	return db
}

// NewFile returns a database in a new bbolt file under tb.TempDir(),
// opened with Options.NoSync (a test does not need to survive a power
// cut), for tests that need the durable backend: reopening the file,
// file locking, sizes on disk. Like New, it is checked and closed at
// cleanup. Use its Path to reopen the file after closing it, and
// MustCheckClose to check and close the reopened database.
func NewFile(tb testing.TB, schema *livedb.Schema) *livedb.DB {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "livedb.db")
	db, err := livedb.Open(path, schema, &livedb.Options{NoSync: true})
	if err != nil {
		tb.Fatalf("livedbtest: open %s: %v", path, err)
		return nil
	}
	tb.Cleanup(func() { MustCheckClose(tb, db) })
	return db
}

// check is the consistency check of MustCheckClose; a variable so that the
// package's own tests can make it fail.
var check = (*livedb.DB).Check

// MustCheckClose runs [livedb.DB.Check] on db and closes it, failing the
// test tb (without stopping it) if an index and the documents disagree or
// Close fails. A database that is closed already is left alone. New and
// NewFile call it at cleanup.
func MustCheckClose(tb testing.TB, db *livedb.DB) {
	tb.Helper()
	if err := check(db, context.Background()); err != nil && !errors.Is(err, livedb.ErrClosed) {
		tb.Errorf("livedbtest: database is inconsistent: %v", err)
	}
	if err := db.Close(); err != nil {
		tb.Errorf("livedbtest: close: %v", err)
	}
}

package livedbtest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

// fakeTB records what livedbtest reports, and runs cleanups when asked.
type fakeTB struct {
	testing.TB
	cleanups []func()
	errors   []string
	fatals   []string
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
}

// runCleanups runs the cleanups last-registered first, as testing does.
func (f *fakeTB) runCleanups() {
	for _, fn := range slices.Backward(f.cleanups) {
		fn()
	}
	f.cleanups = nil
}

func notesSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"notes": livedb.DefineTable(v.Object(v.Fields{"text": v.String()})).Index("by_text", "text"),
	})
}

func insertNote(ctx context.Context, db *livedb.DB, text string) error {
	return db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("notes", livedb.Doc{"text": text})
		return err
	})
}

func countNotes(db *livedb.DB) (int, error) {
	n := 0
	err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		docs, err := q.DB.Query("notes").Collect()
		n = len(docs)
		return err
	})
	return n, err
}

func TestNew_ClosedAtCleanup(t *testing.T) {
	cases := []struct {
		name string
		open func(tb testing.TB, s *livedb.Schema) *livedb.DB
		path bool
	}{
		{"New", livedbtest.New, false},
		{"NewOptions", func(tb testing.TB, s *livedb.Schema) *livedb.DB { return livedbtest.NewOptions(tb, s, nil) }, false},
		{"NewFile", livedbtest.NewFile, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tb := &fakeTB{TB: t}
			db := tc.open(tb, notesSchema())
			require.NotNil(t, db)
			require.Len(t, tb.cleanups, 1, "one cleanup is registered")
			require.NoError(t, insertNote(context.Background(), db, "hello"))
			n, err := countNotes(db)
			require.NoError(t, err)
			assert.Equal(t, 1, n)
			if tc.path {
				// Every TempDir of a test is a numbered directory in one parent.
				assert.Equal(t, filepath.Dir(t.TempDir()), filepath.Dir(filepath.Dir(db.Path())), "file %s is under TempDir", db.Path())
			} else {
				assert.Empty(t, db.Path(), "a memory database has no file")
			}

			tb.runCleanups()
			assert.Empty(t, tb.errors, "a consistent database passes the cleanup check")
			assert.Empty(t, tb.fatals)
			_, err = countNotes(db)
			assert.ErrorIs(t, err, livedb.ErrClosed, "the cleanup closes the database")
		})
	}
}

func TestNew_RealCleanup(t *testing.T) {
	var db *livedb.DB
	t.Run("inner", func(t *testing.T) {
		db = livedbtest.New(t, notesSchema())
		require.NoError(t, insertNote(context.Background(), db, "x"))
	})
	_, err := countNotes(db)
	assert.ErrorIs(t, err, livedb.ErrClosed, "the database is closed when its test ends")
}

func TestNew_InvalidSchemaFailsTest(t *testing.T) {
	bad := livedb.DefineSchema(livedb.Tables{
		"notes": livedb.DefineTable(v.Object(v.Fields{"text": v.String()})).Index("by_id", "text"),
	})
	for name, open := range map[string]func(testing.TB, *livedb.Schema) *livedb.DB{
		"New": livedbtest.New, "NewFile": livedbtest.NewFile,
	} {
		t.Run(name, func(t *testing.T) {
			tb := &fakeTB{TB: t}
			db := open(tb, bad)
			assert.Nil(t, db)
			require.Len(t, tb.fatals, 1)
			assert.Contains(t, tb.fatals[0], "livedbtest: open")
			assert.Contains(t, tb.fatals[0], "by_id")
			assert.Empty(t, tb.cleanups, "nothing to clean up")
		})
	}
}

func TestNew_ClosedByTheTest(t *testing.T) {
	tb := &fakeTB{TB: t}
	db := livedbtest.New(tb, notesSchema())
	require.NoError(t, db.Close())
	tb.runCleanups()
	assert.Empty(t, tb.errors, "a database the test closed is left alone")
}

func TestNewFile_Reopen(t *testing.T) {
	db := livedbtest.NewFile(t, notesSchema())
	require.NoError(t, insertNote(context.Background(), db, "kept"))
	path := db.Path()
	require.NoError(t, db.Close())

	again, err := livedb.Open(path, notesSchema(), nil)
	require.NoError(t, err)
	defer again.Close()
	n, err := countNotes(again)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the file keeps the document")
	assert.Equal(t, filepath.Base(path), "livedb.db")
}

func TestNewOptions_PassesOptions(t *testing.T) {
	db := livedbtest.NewOptions(t, notesSchema(), &livedb.Options{Limits: livedb.Limits{DocumentsWritten: 1}})
	err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		for _, s := range []string{"a", "b"} {
			if _, err := m.DB.Insert("notes", livedb.Doc{"text": s}); err != nil {
				return err
			}
		}
		return nil
	})
	assert.ErrorIs(t, err, livedb.ErrLimit)
}

func TestMustCheckClose_ReopenedFile(t *testing.T) {
	db := livedbtest.NewFile(t, notesSchema())
	require.NoError(t, insertNote(context.Background(), db, "kept"))
	require.NoError(t, db.Close())
	again, err := livedb.Open(db.Path(), notesSchema(), nil)
	require.NoError(t, err)

	tb := &fakeTB{TB: t}
	livedbtest.MustCheckClose(tb, again)
	assert.Empty(t, tb.errors, "a consistent database passes")
	_, err = countNotes(again)
	assert.ErrorIs(t, err, livedb.ErrClosed, "MustCheckClose closes the database")
	livedbtest.MustCheckClose(tb, again)
	assert.Empty(t, tb.errors, "a closed database is left alone")
}

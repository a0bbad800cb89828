package livedb_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/snapshot"
	"github.com/livedb-go/livedb/v"
)

// internalNames are the names of internal packages, which no error text
// shows a user.
var internalNames = []string{"bboltkv", "memkv", "kv:", "convexjson", "value: ", "id: ", "internal/"}

// MustCleanErrorText fails the test unless err's text has the shape of a
// livedb error: one "livedb: " prefix, at its start, and no name of an
// internal package; when path is not "", each line of the text names it
// at most once (Check lists one problem a line).
func MustCleanErrorText(t *testing.T, err error, path string) {
	t.Helper()
	if err == nil {
		t.Errorf("no error")
		return
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "livedb: ") {
		t.Errorf("error %q does not start with \"livedb: \"", msg)
	}
	if n := strings.Count(msg, "livedb:"); n != 1 {
		t.Errorf("error %q has %d \"livedb:\" prefixes, want 1", msg, n)
	}
	for _, name := range internalNames {
		if strings.Contains(msg, name) {
			t.Errorf("error %q names the internal package %q", msg, strings.TrimRight(name, ": "))
		}
	}
	for line := range strings.SplitSeq(msg, "\n") {
		if path != "" && strings.Count(line, path) > 1 {
			t.Errorf("error %q names the file %s %d times in the line %q", msg, path, strings.Count(line, path), line)
		}
	}
}

// TestOpen_ErrorText checks the exact text of Open's errors for files it
// cannot use: one "livedb: " prefix, the path exactly once, no internal
// package, and the sentinels and causes still found by errors.Is.
func TestOpen_ErrorText(t *testing.T) {
	dir := t.TempDir()
	textFile := filepath.Join(dir, "notes.db")
	if err := os.WriteFile(textFile, []byte("hello, this is not a database at all, just some text"), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.db")
	bdb, err := bolt.Open(foreign, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("settings"))
		if err != nil {
			return err
		}
		return b.Put([]byte("theme"), []byte("dark"))
	})
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	locked := filepath.Join(dir, "locked.db")
	holder := mustOpenFile(t, locked, agentSchema(), &livedb.Options{NoSync: true})
	defer holder.Close()

	tests := []struct {
		name string
		path string
		opts *livedb.Options
		want string  // the whole text; "" to check only wantPrefix
		is   []error // what errors.Is must find
		pre  string  // with want == "", the start of the text
	}{
		{
			name: "missing directory",
			path: filepath.Join(dir, "x", "y.db"),
			want: "livedb: open " + filepath.Join(dir, "x", "y.db") + ": no such file or directory",
			is:   []error{fs.ErrNotExist},
		},
		{
			name: "missing file, read-only",
			path: filepath.Join(dir, "none.db"),
			opts: &livedb.Options{ReadOnly: true},
			want: "livedb: open " + filepath.Join(dir, "none.db") + ": no such file or directory",
			is:   []error{fs.ErrNotExist},
		},
		{
			name: "a directory",
			path: dir,
			want: "livedb: open " + dir + ": is a directory",
		},
		{
			name: "not a bbolt file",
			path: textFile,
			want: "livedb: not a livedb database: " + textFile + ": not a bbolt file: invalid database",
			is:   []error{livedb.ErrNotLivedb},
		},
		{
			name: "not a bbolt file, read-only",
			path: textFile,
			opts: &livedb.Options{ReadOnly: true},
			want: "livedb: not a livedb database: " + textFile + ": not a bbolt file: invalid database",
			is:   []error{livedb.ErrNotLivedb},
		},
		{
			name: "a bbolt file of another program",
			path: foreign,
			want: "livedb: not a livedb database: " + foreign + ": the file holds data but no livedb catalog",
			is:   []error{livedb.ErrNotLivedb},
		},
		{
			name: "locked",
			path: locked,
			opts: &livedb.Options{Timeout: 10 * time.Millisecond},
			pre:  "livedb: database file is locked by another process: " + locked + " (waited 10ms; ",
			is:   []error{livedb.ErrLocked},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, err := livedb.Open(tc.path, agentSchema(), tc.opts)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			MustCleanErrorText(t, err, tc.path)
			if n := strings.Count(err.Error(), tc.path); n != 1 {
				t.Errorf("error %q names the file %d times, want once", err, n)
			}
			switch {
			case tc.want != "" && err.Error() != tc.want:
				t.Errorf("error\n  %q, want\n  %q", err, tc.want)
			case tc.want == "" && !strings.HasPrefix(err.Error(), tc.pre):
				t.Errorf("error\n  %q, want it to start with\n  %q", err, tc.pre)
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%q, %v) is false", err, target)
				}
			}
		})
	}
}

// TestErrors_TextHasOnePrefix collects errors from every corner of the
// public API that wraps another error, and checks that none repeats the
// "livedb: " prefix or names an internal package.
func TestErrors_TextHasOnePrefix(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db := mustOpenFile(t, path, agentSchema(), &livedb.Options{NoSync: true})
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("workflows", livedb.Doc{"task": "t", "status": "pending"})
		return err
	})
	badSchema := livedb.DefineSchema(livedb.Tables{
		"t": livedb.DefineTable(v.Object(v.Fields{"a": v.String()})).Index("by_id", "a"),
	})

	type errCase struct {
		name string
		err  error
	}
	var cases []errCase
	add := func(name string, err error) { cases = append(cases, errCase{name, err}) }

	_, err := badSchema.MarshalJSON()
	add("MarshalJSON of a schema with a mistake", err)
	_, err = livedb.OpenMemory(badSchema)
	add("OpenMemory with a schema with a mistake", err)
	_, err = snapshot.Export(ctx, db, &bytes.Buffer{}, &snapshot.ExportOptions{Tables: []string{"nope"}})
	add("Export of a missing table", err)
	_, err = v.JSONToConvex([]byte(`{"a": {"$integer": "xx"}}`))
	add("JSONToConvex", err)
	_, err = v.ConvexToJSON(map[string]any{"$a": 1.0})
	add("ConvexToJSON", err)
	add("ImportTable of bad Convex JSON", snapshot.ImportTable(ctx, db, "imported", strings.NewReader(`{"a": {"$bad": 1}}`+"\n"), &snapshot.ImportOptions{Format: snapshot.JSONL, Mode: snapshot.RequireEmpty}))
	add("Insert of a bad document", db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("workflows", livedb.Doc{"task": 1.0, "status": "pending"})
		return err
	}))
	add("Get of a bad ID", db.Query(ctx, func(q *livedb.QueryCtx) error {
		_, _, err := q.DB.Get("abc")
		return err
	}))
	add("Insert into a bad table name", db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("_nope", livedb.Doc{})
		return err
	}))
	add("NewTable with a bad name", db.Query(ctx, func(q *livedb.QueryCtx) error {
		_, err := livedb.NewTable[struct{}]("_bad").Query(q.DB).Collect()
		return err
	}))
	// An index key longer than the store takes fails at commit.
	bigKey := livedb.DefineSchema(livedb.Tables{
		"t": livedb.DefineTable(v.Object(v.Fields{"a": v.String()})).Index("by_a", "a"),
	})
	for _, b := range backends {
		bdb := openBackend(t, b, bigKey, nil)
		add("commit of a "+b+" index key too long", bdb.Mutation(ctx, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("t", livedb.Doc{"a": strings.Repeat("x", 40_000)})
			return err
		}))
		livedbtest.MustCheckClose(t, bdb)
	}
	add("Close", db.Close())
	add("Query after Close", db.Query(ctx, func(q *livedb.QueryCtx) error { return nil }))
	_, err = snapshot.Export(ctx, db, &bytes.Buffer{}, nil)
	add("Export after Close", err)

	for _, c := range cases {
		if c.err == nil {
			if c.name != "Close" {
				t.Errorf("%s: no error", c.name)
			}
			continue
		}
		t.Run(c.name, func(t *testing.T) { MustCleanErrorText(t, c.err, path) })
	}
}

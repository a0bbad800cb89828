package livedb

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/engine"
	"github.com/livedb-go/livedb/v"
)

// TestImport_ConcurrentInsertConflicts inserts a document into the
// imported table between the import's snapshot and its commit (through
// testHookImportStaged, on the first attempt only). The import read the
// table's whole by_id range, so the insert conflicts with it and the import
// runs again on a snapshot that holds the document: a replace deletes it,
// and a require-empty import finds the table not empty. Without that read
// in the import's read set the insert went undetected: the replace left a
// document it should have deleted, committed after it in timestamp order,
// and require-empty filled a table that was not empty.
func TestImport_ConcurrentInsertConflicts(t *testing.T) {
	const input = `{"name":"imported-1"}` + "\n" + `{"name":"imported-2"}` + "\n"
	cases := []struct {
		name      string
		mode      engine.ImportMode
		old       []string // documents before the import
		wantErr   error
		wantNames []string
	}{
		{"replace", engine.ImportReplace, []string{"old-1", "old-2"}, nil, []string{"imported-1", "imported-2"}},
		{"require-empty", engine.ImportRequireEmpty, nil, engine.ErrTableNotEmpty, []string{"concurrent"}},
	}
	for _, tc := range cases {
		for _, backend := range []string{"memory", "bbolt"} {
			t.Run(tc.name+"/"+backend, func(t *testing.T) {
				s := DefineSchema(Tables{"items": DefineTable(v.Object(v.Fields{"name": v.String()}))})
				db := openWhitebox(t, backend, s, Options{})
				ctx := context.Background()
				insert := func(name string) {
					t.Helper()
					if err := db.Mutation(ctx, func(m *MutationCtx) error {
						_, err := m.DB.Insert("items", Doc{"name": name})
						return err
					}); err != nil {
						t.Fatalf("insert %s: %v", name, err)
					}
				}
				for _, name := range tc.old {
					insert(name)
				}

				attempts := 0
				hook := func() {
					attempts++
					if attempts == 1 {
						insert("concurrent")
					}
				}
				testHookImportStaged.Store(&hook)
				defer testHookImportStaged.Store(nil)
				err := importTableText(ctx, db, "items", strings.NewReader(input), true, tc.mode)
				testHookImportStaged.Store(nil)
				if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("import: err = %v, want %v", err, tc.wantErr)
				}
				if attempts != 2 && tc.wantErr == nil {
					t.Errorf("the import was staged %d times, want 2: the concurrent insert must make it run again", attempts)
				}

				var names []string
				if err := db.Query(ctx, func(q *QueryCtx) error {
					docs, err := q.DB.Query("items").Collect()
					for _, d := range docs {
						names = append(names, d["name"].(string))
					}
					return err
				}); err != nil {
					t.Fatal(err)
				}
				slices.Sort(names)
				if !slices.Equal(names, tc.wantNames) {
					t.Errorf("documents after the import: %q, want %q", names, tc.wantNames)
				}
				if err := db.Check(ctx); err != nil {
					t.Errorf("Check: %v", err)
				}
			})
		}
	}
}

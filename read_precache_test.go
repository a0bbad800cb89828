package livedb_test

import (
	"context"
	"testing"

	"github.com/livedb-go/livedb"
)

// A writer that changes the Doc it inserted or replaced with, or a value
// nested in it, after the write (inside the mutation or after its commit)
// changes nothing that a read returns: on the memory backend the commit
// keeps a decoding of the document for readers, which must be a copy of
// its own, and be the mutation's last version of the document (here an
// insert patched in the same mutation). The reads that follow are each a
// version's first read.
func TestWriter_Insert_CallerMutationAfterWriteDoesNotLeak(t *testing.T) {
	forEachBackend(t, noteSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		want := noteDoc("g", "n1")
		var ins, rep livedb.Doc
		var id livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) (err error) {
			ins = noteDoc("g", "n0")
			if id, err = m.DB.Insert("notes", ins); err != nil {
				return err
			}
			scribble(ins)
			patch := livedb.Doc{"note": "n1"}
			err = m.DB.Patch(id, patch)
			patch["note"] = "scribbled"
			return err
		})
		scribble(ins)
		for _, rd := range noteReads {
			err := db.Query(ctx, func(q *livedb.QueryCtx) error {
				d, err := rd.read(q.DB, id)
				if err == nil {
					mustSameDoc(t, "after insert: "+rd.name, d, want)
				}
				return err
			})
			if err != nil {
				t.Fatalf("%s: %v", rd.name, err)
			}
		}
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			rep = noteDoc("g", "n1")
			rep["note"] = "n2"
			err := m.DB.Replace(id, rep)
			scribble(rep)
			return err
		})
		scribble(rep)
		want["note"] = "n2"
		for _, rd := range noteReads {
			if rd.name == "FilterFunc" {
				continue // it keeps note n1 only
			}
			err := db.Query(ctx, func(q *livedb.QueryCtx) error {
				d, err := rd.read(q.DB, id)
				if err == nil {
					mustSameDoc(t, "after replace: "+rd.name, d, want)
				}
				return err
			})
			if err != nil {
				t.Fatalf("%s: %v", rd.name, err)
			}
		}
	})
}

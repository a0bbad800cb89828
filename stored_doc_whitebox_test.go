package livedb

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/v"
)

// TestDB_Insert_StoresDocumentWithoutID checks, on the memory backend and
// on a file, what the store holds for a document: its stored form
// (value.EncodeStoredDocument), with neither its _id's text nor the name
// of _creationTime, in its by_id entry and, after a patch, in the change
// record that keeps its old version; and that every read gives the _id and
// _creationTime back.
func TestDB_Insert_StoresDocumentWithoutID(t *testing.T) {
	s := DefineSchema(Tables{"notes": DefineTable(v.Object(v.Fields{"text": v.String()}))})
	open := map[string]func(t *testing.T) *DB{
		"memory": func(t *testing.T) *DB {
			db, err := OpenMemory(s)
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
		"bbolt": func(t *testing.T) *DB {
			db, err := Open(filepath.Join(t.TempDir(), "notes.db"), s, &Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
	}
	for name, openDB := range open {
		t.Run(name, func(t *testing.T) {
			db := openDB(t)
			defer db.Close()
			ctx := context.Background()
			var docID ID
			if err := db.Mutation(ctx, func(m *MutationCtx) (err error) {
				docID, err = m.DB.Insert("notes", Doc{"text": "first"})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if err := db.Mutation(ctx, func(m *MutationCtx) error {
				return m.DB.Patch(docID, Doc{"text": "second"})
			}); err != nil {
				t.Fatal(err)
			}
			var got Doc
			if err := db.Query(ctx, func(q *QueryCtx) (err error) {
				got, _, err = q.DB.Get(docID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			ct, ok := got[fieldCreationTime].(float64)
			if got[fieldID] != docID || !ok || got["text"] != "second" {
				t.Fatalf("Get = %v, want _id %s, a _creationTime and text second", got, docID)
			}

			snap, err := db.store.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			defer snap.Release()
			enc, ok, err := snap.Get(docKey(db.cat.Load().tables["notes"], string(docID)))
			if err != nil || !ok {
				t.Fatalf("by_id entry: %v, %v", ok, err)
			}
			want, err := value.EncodeStoredDocument(map[string]any{fieldCreationTime: ct, "text": "second"})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, want) {
				t.Fatalf("by_id entry holds % x, want the stored form % x", enc, want)
			}
			checkOldVersion := func(enc []byte) {
				t.Helper()
				if bytes.Contains(enc, []byte(docID)) || bytes.Contains(enc, []byte(fieldCreationTime)) {
					t.Fatalf("change record's old version % x holds the _id or the name _creationTime", enc)
				}
				old, err := decodePublicDoc(enc, docID)
				if err != nil || old["text"] != "first" || old[fieldID] != docID || old[fieldCreationTime] != ct {
					t.Fatalf("change record's old version decodes to %v, %v", old, err)
				}
			}
			var records int
			it := snap.Iter([]byte{tagChange}, []byte{tagChange + 1}, false)
			for it.Next() {
				p := newChangePiece(1, it.Value())
				for {
					more, err := p.next()
					if err != nil {
						t.Fatal(err)
					}
					if !more {
						break
					}
					records++
					if r := &p.rec; r.old != nil {
						checkOldVersion(r.old)
					}
				}
			}
			it.Close()
			if err := it.Err(); err != nil || records != 2 {
				t.Fatalf("%d change records (%v), want 2", records, err)
			}
		})
	}
}

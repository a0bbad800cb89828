package livedb_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

// noteSchema has a table whose documents hold every kind of mutable value
// (arrays, objects, bytes), with an index, for the tests of what readers
// share.
func noteSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"notes": livedb.DefineTable(v.Object(v.Fields{
			"group": v.String(),
			"note":  v.String(),
			"tags":  v.Array(v.String()),
			"meta":  v.Object(v.Fields{"k": v.String(), "list": v.Array(v.Int64())}),
			"blob":  v.Bytes(),
		})).Index("by_group", "group"),
	})
}

func noteDoc(group, note string) livedb.Doc {
	return livedb.Doc{
		"group": group,
		"note":  note,
		"tags":  []any{"a", "b"},
		"meta":  map[string]any{"k": "v", "list": []any{int64(1), int64(2)}},
		"blob":  []byte("blob"),
	}
}

// scribble changes every part of a document a caller could change: the
// top-level map, nested arrays and objects, and bytes in place.
func scribble(d livedb.Doc) {
	d["group"] = "scribbled"
	delete(d, "note")
	d["extra"] = int64(1)
	d["tags"].([]any)[0] = "scribbled"
	meta := d["meta"].(map[string]any)
	meta["k"] = "scribbled"
	meta["list"].([]any)[0] = int64(99)
	meta["added"] = true
	d["blob"].([]byte)[0] = 'Z'
}

// mustSameDoc fails unless got is the stored note want (system fields aside).
func mustSameDoc(t *testing.T, what string, got livedb.Doc, want livedb.Doc) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no document", what)
	}
	user := livedb.Doc{}
	for k, x := range got {
		if k != "_id" && k != "_creationTime" {
			user[k] = x
		}
	}
	if !v.Equal(map[string]any(user), map[string]any(want)) {
		t.Fatalf("%s: got %v, want %v", what, user, want)
	}
	if _, ok := got["_id"].(livedb.ID); !ok {
		t.Fatalf("%s: _id is %T, want livedb.ID", what, got["_id"])
	}
}

// noteReads are the ways to read one note; each returns it and scribbles
// on what it got (in FilterFunc, on the predicate's argument as well).
var noteReads = []struct {
	name string
	read func(r *livedb.Reader, id livedb.ID) (livedb.Doc, error)
}{
	{"Get", func(r *livedb.Reader, id livedb.ID) (livedb.Doc, error) {
		d, ok, err := r.Get(id)
		if err == nil && !ok {
			err = fmt.Errorf("%s not found", id)
		}
		return d, err
	}},
	{"Collect by_creation_time", func(r *livedb.Reader, _ livedb.ID) (livedb.Doc, error) {
		return one(r.Query("notes").Collect())
	}},
	{"Collect by_id", func(r *livedb.Reader, _ livedb.ID) (livedb.Doc, error) {
		return one(r.Query("notes").WithIndex("by_id", nil).Collect())
	}},
	{"Take by_group", func(r *livedb.Reader, _ livedb.ID) (livedb.Doc, error) {
		return one(r.Query("notes").WithIndex("by_group", func(q livedb.IndexRange) livedb.IndexRange { return q.Eq("group", "g") }).Take(5))
	}},
	{"First desc", func(r *livedb.Reader, _ livedb.ID) (livedb.Doc, error) {
		d, _, err := r.Query("notes").WithIndex("by_group", nil).Order(livedb.Desc).First()
		return d, err
	}},
	{"Unique", func(r *livedb.Reader, _ livedb.ID) (livedb.Doc, error) {
		d, _, err := r.Query("notes").WithIndex("by_group", func(q livedb.IndexRange) livedb.IndexRange { return q.Eq("group", "g") }).Unique()
		return d, err
	}},
	{"All", func(r *livedb.Reader, _ livedb.ID) (livedb.Doc, error) {
		var out []livedb.Doc
		for d, err := range r.Query("notes").WithIndex("by_group", nil).All() {
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		return one(out, nil)
	}},
	{"Paginate", func(r *livedb.Reader, _ livedb.ID) (livedb.Doc, error) {
		res, err := r.Query("notes").WithIndex("by_group", nil).Paginate(livedb.PaginationOptions{NumItems: 10})
		if err != nil {
			return nil, err
		}
		return one(res.Page, nil)
	}},
	{"Filter", func(r *livedb.Reader, _ livedb.ID) (livedb.Doc, error) {
		return one(r.Query("notes").WithIndex("by_group", nil).Filter(func(f livedb.FilterBuilder) livedb.Expr {
			return f.Eq(f.Field("meta.k"), "v")
		}).Collect())
	}},
	{"FilterFunc", func(r *livedb.Reader, _ livedb.ID) (livedb.Doc, error) {
		return one(r.Query("notes").WithIndex("by_group", nil).FilterFunc(func(d livedb.Doc) (bool, error) {
			keep := d["note"] == "n1"
			scribble(d)
			return keep, nil
		}).Collect())
	}},
}

// one returns the single document of docs.
func one(docs []livedb.Doc, err error) (livedb.Doc, error) {
	if err == nil && len(docs) != 1 {
		err = fmt.Errorf("%d documents, want 1", len(docs))
	}
	if err != nil {
		return nil, err
	}
	return docs[0], nil
}

// A caller that changes a document it read, or a value nested in it, never
// changes what the next read returns: in the same transaction, in a later
// one, or through another read path.
func TestReader_Get_CallerMutationDoesNotLeak(t *testing.T) {
	forEachBackend(t, noteSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		want := noteDoc("g", "n1")
		var id livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) (err error) {
			id, err = m.DB.Insert("notes", noteDoc("g", "n1"))
			return err
		})
		for _, rd := range noteReads {
			t.Run(rd.name, func(t *testing.T) {
				for round := range 3 {
					err := db.Query(ctx, func(q *livedb.QueryCtx) error {
						for i := range 2 {
							d, err := rd.read(q.DB, id)
							if err != nil {
								return err
							}
							mustSameDoc(t, fmt.Sprintf("round %d read %d", round, i), d, want)
							scribble(d)
							// Every other read path sees the stored document too.
							for _, other := range noteReads {
								d2, err := other.read(q.DB, id)
								if err != nil {
									return fmt.Errorf("%s: %w", other.name, err)
								}
								mustSameDoc(t, fmt.Sprintf("round %d after %s: %s", round, rd.name, other.name), d2, want)
								scribble(d2)
							}
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
				}
				// Inside a mutation, and after it, the same holds.
				mustMutate(t, db, func(m *livedb.MutationCtx) error {
					d, err := rd.read(&m.DB.Reader, id)
					if err != nil {
						return err
					}
					mustSameDoc(t, "in a mutation", d, want)
					scribble(d)
					d, err = rd.read(&m.DB.Reader, id)
					if err != nil {
						return err
					}
					mustSameDoc(t, "in a mutation, read again", d, want)
					return nil
				})
			})
		}
	})
}

// An index scan finds the current version of a document whose index entry
// did not change (the memory backend remembers, per index entry, the
// document version it led to), and sees a mutation's own writes.
func TestQuery_Collect_IndexSeesNewVersions(t *testing.T) {
	forEachBackend(t, noteSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		group := func(g string) func(r *livedb.Reader) ([]livedb.Doc, error) {
			return func(r *livedb.Reader) ([]livedb.Doc, error) {
				return r.Query("notes").WithIndex("by_group", func(q livedb.IndexRange) livedb.IndexRange { return q.Eq("group", g) }).Collect()
			}
		}
		mustNotes := func(what string, read func(r *livedb.Reader) ([]livedb.Doc, error), want ...livedb.Doc) {
			t.Helper()
			for range 2 { // the second read is served from the memory backend's caches
				err := db.Query(ctx, func(q *livedb.QueryCtx) error {
					docs, err := read(q.DB)
					if err != nil {
						return err
					}
					if len(docs) != len(want) {
						return fmt.Errorf("%s: %d documents, want %d: %v", what, len(docs), len(want), docs)
					}
					for i := range docs {
						mustSameDoc(t, what, docs[i], want[i])
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		var id livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) (err error) {
			id, err = m.DB.Insert("notes", noteDoc("g", "v1"))
			return err
		})
		mustNotes("v1", group("g"), noteDoc("g", "v1"))
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			return m.DB.Patch(id, livedb.Doc{"note": "v2"})
		})
		mustNotes("v2, same index entry", group("g"), noteDoc("g", "v2"))
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			if err := m.DB.Patch(id, livedb.Doc{"note": "v3"}); err != nil {
				return err
			}
			docs, err := group("g")(&m.DB.Reader)
			if err != nil {
				return err
			}
			if len(docs) != 1 {
				return fmt.Errorf("in the mutation: %d documents, want 1", len(docs))
			}
			mustSameDoc(t, "the mutation's own write", docs[0], noteDoc("g", "v3"))
			// Outside the mutation, nothing has changed yet.
			return db.Query(ctx, func(q *livedb.QueryCtx) error {
				docs, err := group("g")(q.DB)
				if err == nil && len(docs) == 1 {
					mustSameDoc(t, "before the commit", docs[0], noteDoc("g", "v2"))
				}
				return err
			})
		})
		mustNotes("v3", group("g"), noteDoc("g", "v3"))
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			return m.DB.Patch(id, livedb.Doc{"group": "h", "note": "v4"})
		})
		mustNotes("moved: old group", group("g"))
		mustNotes("moved: new group", group("h"), noteDoc("h", "v4"))
		mustMutate(t, db, func(m *livedb.MutationCtx) error { return m.DB.Delete(id) })
		mustNotes("deleted", group("h"))
	})
}

// A reader of an old snapshot keeps seeing the versions of its snapshot
// through an index, even after a newer reader made the index entry point
// at a newer version (memory backend: bbolt commits may wait for open
// snapshots, so the query cannot wait for a commit there).
func TestQuery_Collect_OldSnapshotAfterNewerRead(t *testing.T) {
	db := livedbtest.New(t, noteSchema())
	ctx := context.Background()
	var id livedb.ID
	mustMutate(t, db, func(m *livedb.MutationCtx) (err error) {
		id, err = m.DB.Insert("notes", noteDoc("g", "v1"))
		return err
	})
	byGroup := func(r *livedb.Reader) (livedb.Doc, error) {
		return one(r.Query("notes").WithIndex("by_group", func(q livedb.IndexRange) livedb.IndexRange { return q.Eq("group", "g") }).Collect())
	}
	err := db.Query(ctx, func(old *livedb.QueryCtx) error {
		d, err := byGroup(old.DB)
		if err != nil {
			return err
		}
		mustSameDoc(t, "old snapshot, first read", d, noteDoc("g", "v1"))
		done := make(chan error, 1)
		go func() {
			done <- db.Mutation(ctx, func(m *livedb.MutationCtx) error {
				return m.DB.Patch(id, livedb.Doc{"note": "v2"})
			})
		}()
		if err := mustRecv(t, done, testWait, "the mutation committed while an old snapshot is open"); err != nil {
			return err
		}
		err = db.Query(ctx, func(q *livedb.QueryCtx) error {
			d, err := byGroup(q.DB)
			if err == nil {
				mustSameDoc(t, "new snapshot", d, noteDoc("g", "v2"))
			}
			return err
		})
		if err != nil {
			return err
		}
		d, err = byGroup(old.DB)
		if err != nil {
			return err
		}
		mustSameDoc(t, "old snapshot after the newer read", d, noteDoc("g", "v1"))
		d, _, err = old.DB.Get(id)
		if err == nil {
			mustSameDoc(t, "old snapshot, Get", d, noteDoc("g", "v1"))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

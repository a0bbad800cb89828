package livedb_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// anyNote reads a note of noteSchema with its arrays, objects and bytes in
// interface fields: the struct mapping stores document values there as
// they are, which must not be the values other readers share.
type anyNote struct {
	ID    livedb.Ref[anyNote] `json:"_id"`
	Group string              `json:"group"`
	Note  string              `json:"note"`
	Tags  any                 `json:"tags"`
	Meta  any                 `json:"meta"`
	Blob  any                 `json:"blob"`
}

// mapNote reads the same notes into a slice, a map and a []byte.
type mapNote struct {
	ID    livedb.Ref[mapNote] `json:"_id"`
	Group string              `json:"group"`
	Note  string              `json:"note"`
	Tags  []any               `json:"tags"`
	Meta  map[string]any      `json:"meta"`
	Blob  []byte              `json:"blob"`
}

// noteFields returns the user fields of a typed note as a Doc.
func (n anyNote) doc() livedb.Doc {
	return livedb.Doc{"group": n.Group, "note": n.Note, "tags": n.Tags, "meta": n.Meta, "blob": n.Blob}
}

func (n mapNote) doc() livedb.Doc {
	return livedb.Doc{"group": n.Group, "note": n.Note, "tags": n.Tags, "meta": n.Meta, "blob": n.Blob}
}

// typedNoteReads returns the ways to read one note as T through a Table:
// Get and every terminal of a TypedQuery, on the default index and on a
// secondary one. Each returns the single note read.
func typedNoteReads[T any](tb *livedb.Table[T]) []struct {
	name string
	read func(r *livedb.Reader, id livedb.Ref[T]) (T, error)
} {
	byGroup := func(q livedb.IndexRange) livedb.IndexRange { return q.Eq("group", "g") }
	single := func(xs []T, err error) (T, error) {
		var zero T
		if err == nil && len(xs) != 1 {
			err = fmt.Errorf("%d documents, want 1", len(xs))
		}
		if err != nil {
			return zero, err
		}
		return xs[0], nil
	}
	found := func(x T, ok bool, err error) (T, error) {
		if err == nil && !ok {
			err = fmt.Errorf("not found")
		}
		return x, err
	}
	return []struct {
		name string
		read func(r *livedb.Reader, id livedb.Ref[T]) (T, error)
	}{
		{"Get", func(r *livedb.Reader, id livedb.Ref[T]) (T, error) { return found(tb.Get(r, id)) }},
		{"Collect", func(r *livedb.Reader, _ livedb.Ref[T]) (T, error) { return single(tb.Query(r).Collect()) }},
		{"Collect by_id", func(r *livedb.Reader, _ livedb.Ref[T]) (T, error) {
			return single(tb.Query(r).WithIndex("by_id", nil).Collect())
		}},
		{"Take by_group", func(r *livedb.Reader, _ livedb.Ref[T]) (T, error) {
			return single(tb.Query(r).WithIndex("by_group", byGroup).Take(5))
		}},
		{"First desc", func(r *livedb.Reader, _ livedb.Ref[T]) (T, error) {
			return found(tb.Query(r).WithIndex("by_group", nil).Order(livedb.Desc).First())
		}},
		{"Unique", func(r *livedb.Reader, _ livedb.Ref[T]) (T, error) {
			return found(tb.Query(r).WithIndex("by_group", byGroup).Unique())
		}},
		{"All", func(r *livedb.Reader, _ livedb.Ref[T]) (T, error) {
			var out []T
			for x, err := range tb.Query(r).WithIndex("by_group", nil).All() {
				if err != nil {
					return x, err
				}
				out = append(out, x)
			}
			return single(out, nil)
		}},
		{"Paginate", func(r *livedb.Reader, _ livedb.Ref[T]) (T, error) {
			p, err := tb.Query(r).WithIndex("by_group", nil).Paginate(livedb.PaginationOptions{NumItems: 10})
			return single(p.Page, err)
		}},
	}
}

// A caller that changes what a typed read returned (arrays, objects and
// bytes, whether in interface fields or in slice and map fields) never
// changes what the next read returns, typed or untyped, on every backend.
// Typed reads decode the shared decoded document without copying it
// first, so this is the struct mapping's copy at work.
func TestTable_Get_CallerMutationDoesNotLeak(t *testing.T) {
	forEachBackend(t, noteSchema(), func(t *testing.T, db *livedb.DB) {
		var id livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) (err error) {
			id, err = m.DB.Insert("notes", noteDoc("g", "n1"))
			return err
		})
		t.Run("any", func(t *testing.T) {
			checkTypedReadsIsolated(t, db, livedb.NewTable[anyNote]("notes"), livedb.Ref[anyNote](id), anyNote.doc,
				func(n *anyNote) {
					n.Tags.([]any)[0] = "scribbled"
					meta := n.Meta.(map[string]any)
					meta["k"] = "scribbled"
					meta["list"].([]any)[0] = int64(99)
					n.Blob.([]byte)[0] = 'Z'
				})
		})
		t.Run("map", func(t *testing.T) {
			checkTypedReadsIsolated(t, db, livedb.NewTable[mapNote]("notes"), livedb.Ref[mapNote](id), mapNote.doc,
				func(n *mapNote) {
					n.Tags[0] = "scribbled"
					n.Meta["k"] = "scribbled"
					n.Meta["list"].([]any)[0] = int64(99)
					n.Blob[0] = 'Z'
				})
		})
	})
}

// checkTypedReadsIsolated reads the note id of db through every typed read
// path, several times in several transactions (the memory backend caches
// a version's decoding from its second read on), scribbles on each result,
// and checks that every later read, typed or untyped, still returns the
// stored note.
func checkTypedReadsIsolated[T any](t *testing.T, db *livedb.DB, tb *livedb.Table[T], id livedb.Ref[T], doc func(T) livedb.Doc, scribbleT func(*T)) {
	t.Helper()
	want := noteDoc("g", "n1")
	reads := typedNoteReads(tb)
	for _, rd := range reads {
		t.Run(rd.name, func(t *testing.T) {
			for round := range 3 {
				err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					for i := range 2 {
						x, err := rd.read(q.DB, id)
						if err != nil {
							return err
						}
						mustSameDoc(t, fmt.Sprintf("round %d read %d", round, i), withID(doc(x), id.ID()), want)
						scribbleT(&x)
						for _, other := range reads {
							y, err := other.read(q.DB, id)
							if err != nil {
								return fmt.Errorf("%s: %w", other.name, err)
							}
							mustSameDoc(t, fmt.Sprintf("round %d after %s: %s", round, rd.name, other.name), withID(doc(y), id.ID()), want)
						}
						d, ok, err := q.DB.Get(id.ID())
						if err != nil || !ok {
							return fmt.Errorf("Get: %v, %v", ok, err)
						}
						mustSameDoc(t, fmt.Sprintf("round %d after %s: untyped Get", round, rd.name), d, want)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// withID adds the _id that mustSameDoc expects to a typed note's fields.
func withID(d livedb.Doc, id livedb.ID) livedb.Doc {
	d["_id"] = id
	return d
}

// FromDoc's result shares no array, object or bytes with the Doc it read,
// in interface fields or in slice and map fields.
func TestFromDoc_SharesNothingMutable(t *testing.T) {
	src := noteDoc("g", "n1")
	for _, tc := range []struct {
		name     string
		scribble func(t *testing.T)
	}{
		{"any", func(t *testing.T) {
			n, err := livedb.FromDoc[anyNote](src)
			if err != nil {
				t.Fatal(err)
			}
			n.Tags.([]any)[0] = "scribbled"
			n.Meta.(map[string]any)["list"].([]any)[0] = int64(99)
			n.Blob.([]byte)[0] = 'Z'
		}},
		{"map", func(t *testing.T) {
			n, err := livedb.FromDoc[mapNote](src)
			if err != nil {
				t.Fatal(err)
			}
			n.Tags[0] = "scribbled"
			n.Meta["list"].([]any)[0] = int64(99)
			n.Blob[0] = 'Z'
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.scribble(t)
			if !v.Equal(map[string]any(src), map[string]any(noteDoc("g", "n1"))) {
				t.Fatalf("the source Doc changed: %v", src)
			}
		})
	}
}

package livedb_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// A typed Collect or Take decodes its rows into room its Table keeps for
// its reads and hands out a copy sized to them (read_alloc.go): results of
// successive reads through one Table, large and small, are right and
// independent of each other, also in their arrays, objects and bytes, and
// a result changed by its caller changes no later read.
func TestTypedQuery_Collect_ResultsIndependent(t *testing.T) {
	forEachBackend(t, noteSchema(), func(t *testing.T, db *livedb.DB) {
		// Groups of 1, 3, 17 and 300 notes: 300 is more than the
		// Table keeps room for.
		sizes := map[string]int{"a": 1, "b": 3, "c": 17, "d": 300}
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			for g, n := range sizes {
				for i := range n {
					if _, err := m.DB.Insert("notes", noteDoc(g, fmt.Sprintf("%s%03d", g, i))); err != nil {
						return err
					}
				}
			}
			return nil
		})
		tb := livedb.NewTable[mapNote]("notes")
		read := func(g string, take int) []mapNote { t.Helper(); return readGroup(t, db, tb, g, take) }
		check := func(what string, xs []mapNote, g string, n int) {
			t.Helper()
			require.Len(t, xs, n, what)
			for i, x := range xs {
				want := noteDoc(g, fmt.Sprintf("%s%03d", g, i))
				require.Equal(t, want["note"], x.Note, "%s: row %d", what, i)
				require.Equal(t, want["tags"], x.Tags, "%s: row %d", what, i)
				require.Equal(t, want["meta"], x.Meta, "%s: row %d", what, i)
				require.Equal(t, want["blob"], x.Blob, "%s: row %d", what, i)
			}
		}
		for round := range 3 { // a version's second read is cached on the memory backend
			var kept [][]mapNote
			var groups []string
			var counts []int
			for _, g := range []string{"c", "a", "d", "b", "c"} {
				for _, take := range []int{-1, 2, 20, 0} {
					xs := read(g, take)
					n := sizes[g]
					if take >= 0 {
						n = min(n, take)
					}
					check(fmt.Sprintf("round %d, group %s, take %d", round, g, take), xs, g, n)
					kept, groups, counts = append(kept, xs), append(groups, g), append(counts, n)
					// The caller changes its result, nested values
					// included: no other result may see it.
					for i := range xs {
						xs[i].Note = "changed"
						xs[i].Tags[0] = "changed"
						xs[i].Meta["k"] = "changed"
						xs[i].Blob[0] = 0xFF
					}
				}
			}
			// Every result kept what its own read returned, changed by
			// its caller only: later reads wrote nothing into it.
			for i, xs := range kept {
				require.Len(t, xs, counts[i])
				for _, x := range xs {
					require.Equal(t, "changed", x.Note, "result %d (group %s)", i, groups[i])
				}
			}
		}
	})
}

// A typed Collect or Take of a flat T (flatNote) whose rows all have a
// kept T copies those into its result; one whose rows have a kept T only for some (versions
// written since the last read) decodes the others: either way the result
// holds every row, in order, and is the caller's own, changing no later
// read.
func TestTypedQuery_Collect_KeptAndDecodedRows(t *testing.T) {
	forEachBackend(t, noteSchema(), func(t *testing.T, db *livedb.DB) {
		var ids []livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			for i := range 6 {
				id, err := m.DB.Insert("notes", noteDoc("g", fmt.Sprintf("n%d", i)))
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return nil
		})
		tb := livedb.NewTable[flatNote]("notes")
		read := func(take int) []flatNote { t.Helper(); return readGroup(t, db, tb, "g", take) }
		want := []string{"n0", "n1", "n2", "n3", "n4", "n5"}
		check := func(what string, xs []flatNote, notes []string) {
			t.Helper()
			require.Len(t, xs, len(notes), what)
			for i, x := range xs {
				require.Equal(t, flatNote{ID: livedb.Ref[flatNote](ids[i]), Group: "g", Note: notes[i]}, x, "%s: row %d", what, i)
			}
		}
		for i := range 3 { // the first reads cache the versions and keep their T
			xs := read(-1)
			check(fmt.Sprintf("read %d", i), xs, want)
			xs[0].Note, xs[5].Group = "changed", "changed"
		}
		check("take", read(4), want[:4])
		// New versions of n2 and n4: their rows have no kept T yet.
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			for _, i := range []int{2, 4} {
				if err := m.DB.Patch(ids[i], livedb.Doc{"note": fmt.Sprintf("p%d", i)}); err != nil {
					return err
				}
			}
			return nil
		})
		want = []string{"n0", "n1", "p2", "n3", "p4", "n5"}
		for i := range 3 {
			xs := read(-1)
			check(fmt.Sprintf("after the patch, read %d", i), xs, want)
			xs[2].Note = "changed"
		}
		check("take after the patch", read(5), want[:5])
	})
}

// readGroup reads the notes of group g through tb by_group: all of them
// (Collect) when take < 0, else Take(take).
func readGroup[T any](t *testing.T, db *livedb.DB, tb *livedb.Table[T], g string, take int) []T {
	t.Helper()
	var xs []T
	err := db.Query(context.Background(), func(q *livedb.QueryCtx) (err error) {
		tq := tb.Query(q.DB).WithIndex("by_group", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("group", g) })
		if take < 0 {
			xs, err = tq.Collect()
		} else {
			xs, err = tq.Take(take)
		}
		return err
	})
	require.NoError(t, err)
	return xs
}

package livedb_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// qrCheckQuery compares Collect, Take, All and a random walk of pages with
// the model.
func qrCheckQuery(t *testing.T, db *livedb.DB, m *qrModel, q qrQuery, rnd *rand.Rand, what string) (rows, pages int) {
	t.Helper()
	want := nonNil(q.want(m.docs))
	qtRead(t, db, func(r *livedb.Reader) error {
		got, err := q.build(r).Collect()
		require.NoError(t, err, what)
		require.Equal(t, want, nonNil(qtIDs(got)), what)
		for _, d := range got {
			require.True(t, refDocsEqual(m.docs[d.ID()], d), "%s: document %s differs", what, d.ID())
		}
		n := rnd.IntN(len(want) + 2)
		got, err = q.build(r).Take(n)
		require.NoError(t, err, what)
		require.Equal(t, nonNil(want[:min(n, len(want))]), nonNil(qtIDs(got)), "%s: Take(%d)", what, n)
		var all []livedb.ID
		for d, err := range q.build(r).All() {
			require.NoError(t, err, what)
			all = append(all, d.ID())
		}
		require.Equal(t, want, all, "%s: All", what)
		return nil
	})
	// Pages: each in its own transaction, as a client would run them.
	opts := qrPageOptions(rnd)
	var paged []livedb.ID
	for ; ; pages++ {
		page := pages
		require.Less(t, page, 10*len(m.docs)+10, "%s: too many pages", what)
		res := qtPage(t, db, q.build, opts)
		require.LessOrEqual(t, len(res.Page), opts.NumItems, what)
		if !res.IsDone && res.PageStatus != "SplitRequired" {
			require.Len(t, res.Page, opts.NumItems, "%s: a short page that is neither done nor SplitRequired", what)
		}
		if res.SplitCursor != "" && rnd.IntN(3) == 0 {
			a := qtPage(t, db, q.build, livedb.PaginationOptions{Cursor: opts.Cursor, EndCursor: res.SplitCursor})
			b := qtPage(t, db, q.build, livedb.PaginationOptions{Cursor: res.SplitCursor, EndCursor: res.ContinueCursor})
			require.Equal(t, qtIDs(res.Page), append(qtIDs(a.Page), qtIDs(b.Page)...), "%s: page %d split", what, page)
		}
		paged = append(paged, qtIDs(res.Page)...)
		if res.IsDone {
			break
		}
		opts.Cursor = res.ContinueCursor
	}
	require.Equal(t, want, nonNil(paged), "%s: pages %+v", what, opts)
	return len(want), pages
}

// qrStats says how much a run exercised, so that a generator that only
// makes empty ranges shows.
type qrStats struct {
	Queries, NonEmpty, Rows, Pages int
}

func (s *qrStats) add(rows, pages int) {
	s.Queries++
	s.Rows += rows
	s.Pages += pages
	if rows > 0 {
		s.NonEmpty++
	}
}

func qrPageOptions(rnd *rand.Rand) livedb.PaginationOptions {
	opts := livedb.PaginationOptions{NumItems: 1 + rnd.IntN(7)}
	if rnd.IntN(3) == 0 {
		opts.MaximumRowsRead = 1 + rnd.IntN(10)
	}
	if rnd.IntN(5) == 0 {
		opts.MaximumBytesRead = 50 + rnd.IntN(500)
	}
	return opts
}

// qrChurnPages is how many pages of a churn walk see inserts and deletes.
const qrChurnPages = 40

// qrCheckChurn walks the pages of q while inserting and deleting random
// documents between pages, and checks docs/semantics.md#pagination: no
// document is returned twice
// or outside the range; the results come in index order; every document
// that existed from start to end and matches is returned exactly once; and,
// for a query without filters (whose cursor is the last row returned), a
// document inserted after the cursor and never deleted is returned, one
// inserted before it is not.
func qrCheckChurn(t *testing.T, db *livedb.DB, m *qrModel, g *qrGen, q qrQuery, rnd *rand.Rand, what string) {
	t.Helper()
	fields := qrIndexes[q.index].fields
	after := func(a, b livedb.Doc) bool { // a comes after b in scan order
		c := qtCompareTuples(qtIndexTuple(a, fields), qtIndexTuple(b, fields))
		if q.order == livedb.Desc {
			c = -c
		}
		return c > 0
	}
	start := q.want(m.docs)
	deleted := map[livedb.ID]bool{}
	type insertion struct {
		id       livedb.ID
		afterCur bool // inserted after the last row returned so far
	}
	var inserted []insertion
	var returned []livedb.Doc
	seen := map[livedb.ID]bool{}
	opts := qrPageOptions(rnd)
	for page := 0; ; page++ {
		require.Less(t, page, 10*len(m.docs)+100, "%s: too many pages", what)
		res := qtPage(t, db, q.build, opts)
		for _, d := range res.Page {
			id := d.ID()
			require.False(t, seen[id], "%s: %s returned twice", what, id)
			seen[id] = true
			md, ok := m.docs[id]
			require.True(t, ok, "%s: %s returned but deleted before page %d", what, id, page)
			require.True(t, refDocsEqual(md, d), "%s: %s differs", what, id)
			require.True(t, q.matches(d), "%s: %s outside the range or filter: %v", what, id, d)
			if n := len(returned); n > 0 {
				require.True(t, after(d, returned[n-1]), "%s: %s out of order after %s", what, id, returned[n-1].ID())
			}
			returned = append(returned, d)
		}
		if res.IsDone {
			break
		}
		opts.Cursor = res.ContinueCursor
		if page >= qrChurnPages {
			continue // the walk must end: inserts after the cursor could outpace small pages
		}
		// Churn: insert and delete a few documents.
		batch := make([]livedb.Doc, rnd.IntN(4))
		for i := range batch {
			batch[i] = g.doc()
		}
		for _, id := range m.insert(t, db, batch) {
			cur := len(returned) == 0 || after(m.docs[id], returned[len(returned)-1])
			inserted = append(inserted, insertion{id: id, afterCur: cur})
		}
		var victims []livedb.ID
		for _, d := range m.sorted() {
			if rnd.IntN(max(1, len(m.docs)/2)) == 0 {
				victims = append(victims, d.ID())
				deleted[d.ID()] = true
			}
		}
		m.delete(t, db, victims)
	}
	for _, id := range start {
		if !deleted[id] {
			require.True(t, seen[id], "%s: %s existed throughout and matches, but was not returned", what, id)
		}
	}
	if q.filter == nil && q.modFunc == 0 {
		for _, ins := range inserted {
			if deleted[ins.id] || !q.matches(m.docs[ins.id]) {
				continue
			}
			require.Equal(t, ins.afterCur, seen[ins.id], "%s: %s inserted after the cursor: %v; returned: %v", what, ins.id, ins.afterCur, seen[ins.id])
		}
	}
}

package livedb_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
)

func TestQuery_Paginate_IsDoneOnlyAtTheEnd(t *testing.T) {
	forEachBackend(t, qtSchema(), func(t *testing.T, db *livedb.DB) {
		qtInsert(t, db, "items", qtItems("a", 3, 7, 0, 9, 5, 1, 8, 2, 6, 4))
		cases := []struct {
			n     int
			order livedb.Order
			want  []string
		}{
			{3, livedb.Asc, []string{
				`[0 1 2] done=false status=""`, `[3 4 5] done=false status=""`,
				`[6 7 8] done=false status=""`, `[9] done=true status=""`}},
			// A full last page is not done; the next page is empty and done.
			{5, livedb.Asc, []string{
				`[0 1 2 3 4] done=false status=""`, `[5 6 7 8 9] done=false status=""`, `[] done=true status=""`}},
			{10, livedb.Asc, []string{`[0 1 2 3 4 5 6 7 8 9] done=false status=""`, `[] done=true status=""`}},
			{11, livedb.Asc, []string{`[0 1 2 3 4 5 6 7 8 9] done=true status=""`}},
			{4, livedb.Desc, []string{
				`[9 8 7 6] done=false status=""`, `[5 4 3 2] done=false status=""`, `[1 0] done=true status=""`}},
			{5, livedb.Desc, []string{
				`[9 8 7 6 5] done=false status=""`, `[4 3 2 1 0] done=false status=""`, `[] done=true status=""`}},
		}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("n=%d/%s", tc.n, tc.order), func(t *testing.T) {
				got := qtWalk(t, db, qtByK(tc.order), livedb.PaginationOptions{NumItems: tc.n})
				assert.Equal(t, tc.want, got)
			})
		}
		// A done page's cursor gives an empty, done page.
		last := qtPage(t, db, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 100})
		require.True(t, last.IsDone)
		again := qtPage(t, db, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 100, Cursor: last.ContinueCursor})
		assert.Empty(t, again.Page)
		assert.True(t, again.IsDone)
	})
}

// TestQuery_Paginate_EndCursor checks that a page re-run with EndCursor
// holds exactly (Cursor, EndCursor], whatever was inserted or deleted
// since, ignoring NumItems and the maximums.
func TestQuery_Paginate_EndCursor(t *testing.T) {
	for _, o := range []livedb.Order{livedb.Asc, livedb.Desc} {
		t.Run(o.String(), func(t *testing.T) {
			forEachBackend(t, qtSchema(), func(t *testing.T, db *livedb.DB) {
				ids := qtInsert(t, db, "items", qtItems("a", qtRange(10)...))
				p1 := qtPage(t, db, qtByK(o), livedb.PaginationOptions{NumItems: 4})
				p2 := qtPage(t, db, qtByK(o), livedb.PaginationOptions{NumItems: 4, Cursor: p1.ContinueCursor})
				first, second := []float64{0, 1, 2, 3}, []float64{4, 5, 6, 7}
				if o == livedb.Desc {
					first, second = []float64{9, 8, 7, 6}, []float64{5, 4, 3, 2}
				}
				require.Equal(t, first, qtKs(p1.Page))
				require.Equal(t, second, qtKs(p2.Page))

				// Grow page 1 by two documents and shrink it by one; page 2
				// gains one.
				mid := first[1] + (first[2]-first[1])/2 // between the 2nd and 3rd rows
				qtInsert(t, db, "items", qtItems("a", mid, first[0]+(first[1]-first[0])/2, second[0]+(second[1]-second[0])/2))
				mustMutate(t, db, func(m *livedb.MutationCtx) error { return m.DB.Delete(ids[int(first[2])]) })

				wantFirst := []float64{first[0], first[0] + (first[1]-first[0])/2, first[1], mid, first[3]}
				wantSecond := []float64{second[0], second[0] + (second[1]-second[0])/2, second[1], second[2], second[3]}
				re1 := qtPage(t, db, qtByK(o), livedb.PaginationOptions{NumItems: 1, MaximumRowsRead: 1, EndCursor: p1.ContinueCursor})
				assert.Equal(t, wantFirst, qtKs(re1.Page))
				assert.Equal(t, p1.ContinueCursor, re1.ContinueCursor, "the page keeps its end")
				assert.False(t, re1.IsDone)
				assert.Empty(t, re1.PageStatus)

				re2 := qtPage(t, db, qtByK(o), livedb.PaginationOptions{NumItems: 2, Cursor: re1.ContinueCursor, EndCursor: p2.ContinueCursor})
				assert.Equal(t, wantSecond, qtKs(re2.Page))
				assert.Equal(t, p2.ContinueCursor, re2.ContinueCursor)

				// An end cursor at the end of the range gives the rest, done.
				rest := qtPage(t, db, qtByK(o), livedb.PaginationOptions{NumItems: 100, Cursor: p2.ContinueCursor})
				require.True(t, rest.IsDone)
				again := qtPage(t, db, qtByK(o), livedb.PaginationOptions{Cursor: p2.ContinueCursor, EndCursor: rest.ContinueCursor})
				assert.Equal(t, qtKs(rest.Page), qtKs(again.Page))
				assert.True(t, again.IsDone)
			})
		})
	}
}

// TestQuery_Paginate_BoundaryDeleted checks that a cursor points at a key,
// not a document: deleting the document a page stopped at, and the next
// one, does not break the next page.
func TestQuery_Paginate_BoundaryDeleted(t *testing.T) {
	for _, o := range []livedb.Order{livedb.Asc, livedb.Desc} {
		t.Run(o.String(), func(t *testing.T) {
			forEachBackend(t, qtSchema(), func(t *testing.T, db *livedb.DB) {
				ids := qtInsert(t, db, "items", qtItems("a", qtRange(10)...))
				p1 := qtPage(t, db, qtByK(o), livedb.PaginationOptions{NumItems: 3})
				ks := qtKs(p1.Page)
				require.Len(t, ks, 3)
				boundary := int(ks[2])
				next := boundary + 1
				if o == livedb.Desc {
					next = boundary - 1
				}
				mustMutate(t, db, func(m *livedb.MutationCtx) error {
					if err := m.DB.Delete(ids[boundary]); err != nil {
						return err
					}
					return m.DB.Delete(ids[next])
				})
				p2 := qtPage(t, db, qtByK(o), livedb.PaginationOptions{NumItems: 3, Cursor: p1.ContinueCursor})
				want := []float64{4, 5, 6}
				if o == livedb.Desc {
					want = []float64{5, 4, 3}
				}
				assert.Equal(t, want, qtKs(p2.Page))
			})
		})
	}
}

func TestQuery_Paginate_InvalidCursor(t *testing.T) {
	forEachBackendOptions(t, qtSchema(), looseOptions, func(t *testing.T, db *livedb.DB) {
		qtInsert(t, db, "items", qtItems("a", qtRange(10)...))
		p1 := qtPage(t, db, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 3})
		done := qtPage(t, db, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 100})
		require.True(t, done.IsDone)
		cursors := map[string]string{"after": p1.ContinueCursor, "split": p1.SplitCursor, "end": done.ContinueCursor}
		require.NotEmpty(t, p1.SplitCursor)

		t.Run("another query", func(t *testing.T) {
			others := map[string]func(r *livedb.Reader) *livedb.Query{
				"desc":        qtByK(livedb.Desc),
				"other index": func(r *livedb.Reader) *livedb.Query { return r.Query("items").WithIndex("by_g_k", nil) },
				"full scan":   func(r *livedb.Reader) *livedb.Query { return r.Query("items") },
				"range": func(r *livedb.Reader) *livedb.Query {
					return r.Query("items").WithIndex("by_k", func(q livedb.IndexRange) livedb.IndexRange { return q.Gte("k", 0.0) })
				},
				"filter": func(r *livedb.Reader) *livedb.Query {
					return r.Query("items").WithIndex("by_k", nil).Filter(func(f livedb.FilterBuilder) livedb.Expr { return f.Eq(f.Field("g"), "a") })
				},
				"predicate": func(r *livedb.Reader) *livedb.Query {
					return r.Query("items").WithIndex("by_k", nil).FilterFunc(func(livedb.Doc) (bool, error) { return true, nil })
				},
				"other table": func(r *livedb.Reader) *livedb.Query { return r.Query("ghosts") },
			}
			for name, build := range others {
				for cname, c := range cursors {
					_, err := qtTryPage(db, build, livedb.PaginationOptions{NumItems: 3, Cursor: c})
					assert.ErrorIs(t, err, livedb.ErrInvalidCursor, "%s cursor in a %s query", cname, name)
					_, err = qtTryPage(db, build, livedb.PaginationOptions{EndCursor: c})
					assert.ErrorIs(t, err, livedb.ErrInvalidCursor, "%s end cursor in a %s query", cname, name)
				}
			}
		})

		t.Run("altered", func(t *testing.T) {
			for cname, c := range cursors {
				for i := range len(c) {
					b := []byte(c)
					// The next base64url character: it changes the lowest bit
					// of the 6 that the character encodes.
					const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
					b[i] = alphabet[(strings.IndexByte(alphabet, b[i])+1)%len(alphabet)]
					_, err := qtTryPage(db, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 3, Cursor: string(b)})
					assert.ErrorIs(t, err, livedb.ErrInvalidCursor, "%s cursor with character %d changed: %s", cname, i, b)
				}
				for _, bad := range []string{c[:len(c)-1], c + "A", c[1:], "not a cursor", "%%%", "AAAA"} {
					_, err := qtTryPage(db, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 3, Cursor: bad})
					assert.ErrorIs(t, err, livedb.ErrInvalidCursor, "%s cursor altered to %q", cname, bad)
				}
			}
		})

		t.Run("another database", func(t *testing.T) {
			other := livedbtest.New(t, qtSchema())
			qtInsert(t, other, "items", qtItems("a", qtRange(10)...))
			for cname, c := range cursors {
				_, err := qtTryPage(other, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 3, Cursor: c})
				assert.ErrorIs(t, err, livedb.ErrInvalidCursor, "%s cursor", cname)
			}
			// Its own cursors work.
			op := qtPage(t, other, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 3})
			_, err := qtTryPage(other, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 3, Cursor: op.ContinueCursor})
			assert.NoError(t, err)
		})
	})
}

func TestQuery_Paginate_SplitRequired(t *testing.T) {
	forEachBackendOptions(t, qtSchema(), &livedb.Options{Limits: livedb.Limits{DocumentsRead: 10}}, func(t *testing.T, db *livedb.DB) {
		docs := qtItems("a", qtRange(25)...)
		for _, d := range docs {
			d["pad"] = strings.Repeat("p", 100)
		}
		qtInsert(t, db, "items", docs)

		t.Run("MaximumBytesRead", func(t *testing.T) {
			// Items are 100 to 200 bytes: a page stops once 450 bytes are
			// read, after 3 to 5 rows.
			opts := livedb.PaginationOptions{NumItems: 8, MaximumBytesRead: 450}
			var all []float64
			for range 30 {
				res := qtPage(t, db, qtByK(livedb.Asc), opts)
				all = append(all, qtKs(res.Page)...)
				if res.IsDone {
					break
				}
				assert.Equal(t, "SplitRequired", res.PageStatus)
				assert.GreaterOrEqual(t, len(res.Page), 3)
				assert.LessOrEqual(t, len(res.Page), 5)
				opts.Cursor = res.ContinueCursor
			}
			assert.Equal(t, qtRange(25), all)
			// At least one row is read, however small the maximum.
			res := qtPage(t, db, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 8, MaximumBytesRead: 1})
			assert.Equal(t, `[0] done=false status="SplitRequired"`, qtPageSummary(res))
		})

		t.Run("MaximumRowsRead counts filtered-out rows", func(t *testing.T) {
			odd := func(r *livedb.Reader) *livedb.Query {
				return r.Query("items").WithIndex("by_k", nil).FilterFunc(func(d livedb.Doc) (bool, error) {
					return int(d["k"].(float64))%2 == 1, nil
				})
			}
			res := qtPage(t, db, odd, livedb.PaginationOptions{NumItems: 5, MaximumRowsRead: 4})
			assert.Equal(t, `[1 3] done=false status="SplitRequired"`, qtPageSummary(res))
			res = qtPage(t, db, odd, livedb.PaginationOptions{NumItems: 5, MaximumRowsRead: 4, Cursor: res.ContinueCursor})
			assert.Equal(t, `[5 7] done=false status="SplitRequired"`, qtPageSummary(res))
		})

		t.Run("transaction read limit", func(t *testing.T) {
			// The transaction may read 10 documents: the page stops there
			// instead of failing.
			res := qtPage(t, db, qtByK(livedb.Desc), livedb.PaginationOptions{NumItems: 20})
			assert.Equal(t, `[24 23 22 21 20 19 18 17 16 15] done=false status="SplitRequired"`, qtPageSummary(res))
			res = qtPage(t, db, qtByK(livedb.Desc), livedb.PaginationOptions{NumItems: 20, Cursor: res.ContinueCursor})
			assert.Equal(t, `[14 13 12 11 10 9 8 7 6 5] done=false status="SplitRequired"`, qtPageSummary(res))
			// With an end cursor the page must hold everything: over the
			// limit it fails.
			_, err := qtTryPage(db, qtByK(livedb.Desc), livedb.PaginationOptions{EndCursor: res.ContinueCursor})
			assert.ErrorIs(t, err, livedb.ErrLimit)
		})
	})
}

func TestQuery_Paginate_SplitRecommended(t *testing.T) {
	forEachBackend(t, qtSchema(), func(t *testing.T, db *livedb.DB) {
		qtInsert(t, db, "items", qtItems("a", qtRange(6200)...))
		cases := []struct {
			name string
			opts livedb.PaginationOptions
			want string
		}{
			{"6144 items", livedb.PaginationOptions{NumItems: 6144}, ""},
			{"6145 items", livedb.PaginationOptions{NumItems: 6145}, "SplitRecommended"},
			{"3/4 of MaximumRowsRead", livedb.PaginationOptions{NumItems: 75, MaximumRowsRead: 100}, ""},
			{"over 3/4 of MaximumRowsRead", livedb.PaginationOptions{NumItems: 76, MaximumRowsRead: 100}, "SplitRecommended"},
		}
		for _, tc := range cases {
			res := qtPage(t, db, qtByK(livedb.Asc), tc.opts)
			assert.Len(t, res.Page, tc.opts.NumItems, tc.name)
			assert.False(t, res.IsDone, tc.name)
			assert.Equal(t, tc.want, res.PageStatus, tc.name)
		}
	})
}

// TestQuery_Paginate_SplitCursor checks that (Cursor, SplitCursor] and
// (SplitCursor, ContinueCursor] together are the page, split in the middle
// of the rows scanned.
func TestQuery_Paginate_SplitCursor(t *testing.T) {
	forEachBackend(t, qtSchema(), func(t *testing.T, db *livedb.DB) {
		qtInsert(t, db, "items", qtItems("a", qtRange(30)...))
		for _, o := range []livedb.Order{livedb.Asc, livedb.Desc} {
			even := func(r *livedb.Reader) *livedb.Query {
				return r.Query("items").WithIndex("by_k", nil).Order(o).Filter(func(f livedb.FilterBuilder) livedb.Expr {
					return f.Eq(f.Mod(f.Field("k"), 2.0), 0.0)
				})
			}
			cursor := ""
			for page := 0; ; page++ {
				res := qtPage(t, db, even, livedb.PaginationOptions{NumItems: 5, Cursor: cursor})
				if res.IsDone {
					break
				}
				require.NotEmpty(t, res.SplitCursor, "%s page %d", o, page)
				a := qtPage(t, db, even, livedb.PaginationOptions{Cursor: cursor, EndCursor: res.SplitCursor})
				b := qtPage(t, db, even, livedb.PaginationOptions{Cursor: res.SplitCursor, EndCursor: res.ContinueCursor})
				assert.Equal(t, qtKs(res.Page), append(qtKs(a.Page), qtKs(b.Page)...), "%s page %d", o, page)
				// 9 or 10 rows scanned for 5 even items: the split is in
				// the middle.
				assert.InDelta(t, 2.5, len(a.Page), 0.5, "%s page %d first half %v", o, page, qtKs(a.Page))
				cursor = res.ContinueCursor
			}
		}
		// Two rows scanned give no split cursor.
		res := qtPage(t, db, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 2})
		assert.Empty(t, res.SplitCursor)
	})
}

// TestQuery_Paginate_SeveralPerFunction: unlike Convex, livedb allows
// several paginated queries in one query or mutation function (see
// Query.Paginate).
func TestQuery_Paginate_SeveralPerFunction(t *testing.T) {
	forEachBackend(t, qtSchema(), func(t *testing.T, db *livedb.DB) {
		qtInsert(t, db, "items", append(qtItems("a", 1, 2, 3), qtItems("b", 4, 5)...))
		qtRead(t, db, func(r *livedb.Reader) error {
			p1, err := r.Query("items").WithIndex("by_k", nil).Paginate(livedb.PaginationOptions{NumItems: 2})
			require.NoError(t, err)
			p2, err := r.Query("items").WithIndex("by_g_k", func(q livedb.IndexRange) livedb.IndexRange { return q.Eq("g", "b") }).
				Paginate(livedb.PaginationOptions{NumItems: 2})
			require.NoError(t, err)
			p3, err := r.Query("items").WithIndex("by_k", nil).Paginate(livedb.PaginationOptions{NumItems: 2, Cursor: p1.ContinueCursor})
			require.NoError(t, err)
			assert.Equal(t, []float64{1, 2}, qtKs(p1.Page))
			assert.Equal(t, []float64{4, 5}, qtKs(p2.Page))
			assert.Equal(t, []float64{3, 4}, qtKs(p3.Page))
			return nil
		})
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			p1, err := m.DB.Query("items").WithIndex("by_k", nil).Order(livedb.Desc).Paginate(livedb.PaginationOptions{NumItems: 3})
			require.NoError(t, err)
			p2, err := m.DB.Query("items").Paginate(livedb.PaginationOptions{NumItems: 3})
			require.NoError(t, err)
			assert.Equal(t, []float64{5, 4, 3}, qtKs(p1.Page))
			assert.Equal(t, []float64{1, 2, 3}, qtKs(p2.Page))
			return nil
		})
	})
}

func TestQuery_Paginate_BadOptions(t *testing.T) {
	forEachBackend(t, qtSchema(), func(t *testing.T, db *livedb.DB) {
		qtInsert(t, db, "items", qtItems("a", 1))
		for _, opts := range []livedb.PaginationOptions{
			{NumItems: 0}, {NumItems: -1}, {NumItems: 32001},
			{NumItems: 1, MaximumRowsRead: -1}, {NumItems: 1, MaximumBytesRead: -1},
		} {
			_, err := qtTryPage(db, qtByK(livedb.Asc), opts)
			assert.ErrorIs(t, err, livedb.ErrInvalidQuery, "%+v", opts)
		}
		res := qtPage(t, db, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 32000})
		assert.Equal(t, `[1] done=true status=""`, qtPageSummary(res))
	})
}

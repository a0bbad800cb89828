package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// qtSchema is the schema of the query tests: items in groups g with a
// number k, indexed by k and by (g, k).
func qtSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"items": livedb.DefineTable(v.Object(v.Fields{
			"g":   v.String(),
			"k":   v.Float64(),
			"pad": v.Optional(v.String()),
		})).Index("by_k", "k").Index("by_g_k", "g", "k"),
	})
}

// qtForEachBackend is forEachBackend with options (bbolt also gets NoSync).
func qtForEachBackend(t *testing.T, s *livedb.Schema, opts livedb.Options, body func(t *testing.T, db *livedb.DB)) {
	t.Helper()
	open := map[string]func(t *testing.T) (*livedb.DB, error){
		"memory": func(t *testing.T) (*livedb.DB, error) { return livedb.OpenMemoryOptions(s, &opts) },
		"bbolt": func(t *testing.T) (*livedb.DB, error) {
			o := opts
			o.NoSync = true
			return livedb.Open(filepath.Join(t.TempDir(), "q.db"), s, &o)
		},
	}
	for _, name := range []string{"memory", "bbolt"} {
		t.Run(name, func(t *testing.T) {
			db, err := open[name](t)
			require.NoError(t, err)
			t.Cleanup(func() { MustCheckClose(t, db) })
			body(t, db)
		})
	}
}

// qtInsert inserts docs into table, 1,000 per mutation, and returns their
// IDs in order.
func qtInsert(t *testing.T, db *livedb.DB, table string, docs []livedb.Doc) []livedb.ID {
	t.Helper()
	ids := make([]livedb.ID, 0, len(docs))
	for chunk := range slices.Chunk(docs, 1000) {
		var got []livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			got = got[:0] // the function may be re-run after a conflict
			for _, d := range chunk {
				id, err := m.DB.Insert(table, d)
				if err != nil {
					return err
				}
				got = append(got, id)
			}
			return nil
		})
		ids = append(ids, got...)
	}
	return ids
}

// qtItems returns items of group g with the given k values.
func qtItems(g string, ks ...float64) []livedb.Doc {
	docs := make([]livedb.Doc, len(ks))
	for i, k := range ks {
		docs[i] = livedb.Doc{"g": g, "k": k}
	}
	return docs
}

// qtRange returns k = 0, 1, ..., n-1.
func qtRange(n int) []float64 {
	ks := make([]float64, n)
	for i := range ks {
		ks[i] = float64(i)
	}
	return ks
}

// qtRead runs fn in a query and fails the test on error.
func qtRead(t *testing.T, db *livedb.DB, fn func(r *livedb.Reader) error) {
	t.Helper()
	require.NoError(t, db.Query(context.Background(), func(q *livedb.QueryCtx) error { return fn(q.DB) }))
}

// qtIDs returns the IDs of docs.
func qtIDs(docs []livedb.Doc) []livedb.ID {
	ids := make([]livedb.ID, len(docs))
	for i, d := range docs {
		ids[i] = d.ID()
	}
	return ids
}

// qtKs returns the k field of docs.
func qtKs(docs []livedb.Doc) []float64 {
	ks := make([]float64, len(docs))
	for i, d := range docs {
		ks[i], _ = d["k"].(float64)
	}
	return ks
}

// qtByK is the query items by_k in order o.
func qtByK(o livedb.Order) func(r *livedb.Reader) *livedb.Query {
	return func(r *livedb.Reader) *livedb.Query {
		return r.Query("items").WithIndex("by_k", nil).Order(o)
	}
}

// qtPage runs one Paginate of the query that build makes, in its own
// query transaction.
func qtPage(t *testing.T, db *livedb.DB, build func(r *livedb.Reader) *livedb.Query, opts livedb.PaginationOptions) livedb.PaginationResult {
	t.Helper()
	res, err := qtTryPage(db, build, opts)
	require.NoError(t, err)
	return res
}

func qtTryPage(db *livedb.DB, build func(r *livedb.Reader) *livedb.Query, opts livedb.PaginationOptions) (livedb.PaginationResult, error) {
	var res livedb.PaginationResult
	err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		var err error
		res, err = build(q.DB).Paginate(opts)
		return err
	})
	return res, err
}

// qtPageSummary prints the k values and flags of a page.
func qtPageSummary(res livedb.PaginationResult) string {
	return fmt.Sprintf("%v done=%v status=%q", qtKs(res.Page), res.IsDone, res.PageStatus)
}

// qtWalk pages through the query with opts until IsDone and returns the
// pages' summaries; it fails the test after 100 pages.
func qtWalk(t *testing.T, db *livedb.DB, build func(r *livedb.Reader) *livedb.Query, opts livedb.PaginationOptions) []string {
	t.Helper()
	var out []string
	for range 100 {
		res := qtPage(t, db, build, opts)
		out = append(out, qtPageSummary(res))
		if res.IsDone {
			return out
		}
		require.NotEmpty(t, res.ContinueCursor)
		opts.Cursor = res.ContinueCursor
	}
	t.Fatalf("no end after 100 pages: %v", out)
	return nil
}

// qtIndexTuple is the key of doc in an index on fields: the field values
// (Undefined when missing), then _creationTime and _id.
func qtIndexTuple(doc livedb.Doc, fields []string) []any {
	tup := make([]any, 0, len(fields)+2)
	for _, f := range fields {
		x, ok := any(map[string]any(doc)), true
		for p := range strings.SplitSeq(f, ".") {
			m, isObj := x.(map[string]any)
			if !isObj {
				ok = false
				break
			}
			if x, ok = m[p]; !ok {
				break
			}
		}
		if !ok {
			x = livedb.Undefined
		}
		tup = append(tup, x)
	}
	return append(tup, doc.CreationTime(), string(doc.ID()))
}

// qtCompareTuples compares index tuples with the reference order
// (refCompare, independent of the engine's), column by column.
func qtCompareTuples(a, b []any) int {
	for i := range min(len(a), len(b)) {
		if c := refCompare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// qtRequireIndexOrder fails unless docs are strictly ordered by their index
// tuple on fields (ascending, or descending for Desc).
func qtRequireIndexOrder(t *testing.T, docs []livedb.Doc, fields []string, o livedb.Order) {
	t.Helper()
	for i := 1; i < len(docs); i++ {
		c := qtCompareTuples(qtIndexTuple(docs[i-1], fields), qtIndexTuple(docs[i], fields))
		if o == livedb.Desc {
			c = -c
		}
		if c >= 0 {
			t.Fatalf("rows %d and %d are out of %s order on %v: %v then %v", i-1, i, o, fields, docs[i-1], docs[i])
		}
	}
}

func TestQuery_Terminals_CollectTakeFirstUnique(t *testing.T) {
	forEachBackend(t, qtSchema(), func(t *testing.T, db *livedb.DB) {
		ids := qtInsert(t, db, "items", qtItems("a", 4, 1, 3, 0, 2))
		qtRead(t, db, func(r *livedb.Reader) error {
			all, err := r.Query("items").Collect()
			require.NoError(t, err)
			assert.Equal(t, ids, qtIDs(all), "Collect of a full scan is in creation order")

			got, err := r.Query("items").WithIndex("by_k", nil).Take(3)
			require.NoError(t, err)
			assert.Equal(t, []float64{0, 1, 2}, qtKs(got))

			got, err = r.Query("items").WithIndex("by_k", nil).Take(0)
			require.NoError(t, err)
			assert.Empty(t, got)

			got, err = r.Query("items").Take(10)
			require.NoError(t, err)
			assert.Len(t, got, 5, "Take beyond the end returns what there is")

			_, err = r.Query("items").Take(-1)
			assert.ErrorIs(t, err, livedb.ErrInvalidQuery)

			first, ok, err := r.Query("items").WithIndex("by_k", nil).Order(livedb.Desc).First()
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, 4.0, first["k"])
			assert.Equal(t, ids[0], first.ID())

			_, ok, err = r.Query("items").WithIndex("by_k", func(q livedb.IndexRange) livedb.IndexRange { return q.Gt("k", 4.0) }).First()
			require.NoError(t, err)
			assert.False(t, ok, "First of an empty range")

			one, ok, err := r.Query("items").WithIndex("by_k", func(q livedb.IndexRange) livedb.IndexRange { return q.Eq("k", 3.0) }).Unique()
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, ids[2], one.ID())

			_, ok, err = r.Query("items").WithIndex("by_k", func(q livedb.IndexRange) livedb.IndexRange { return q.Eq("k", 3.5) }).Unique()
			require.NoError(t, err)
			assert.False(t, ok, "Unique of nothing")

			_, _, err = r.Query("items").WithIndex("by_k", func(q livedb.IndexRange) livedb.IndexRange { return q.Gte("k", 2.0) }).Unique()
			require.ErrorIs(t, err, livedb.ErrInvalidQuery)
			// The first two matches in index order: k=2 (ids[4]) and k=3 (ids[2]).
			assert.Contains(t, err.Error(), "more than one result from table items")
			assert.Contains(t, err.Error(), string(ids[4]))
			assert.Contains(t, err.Error(), string(ids[2]))
			return nil
		})
	})
}

func TestQuery_All_Iterates(t *testing.T) {
	forEachBackend(t, qtSchema(), func(t *testing.T, db *livedb.DB) {
		qtInsert(t, db, "items", qtItems("a", 5, 3, 1, 4, 2))
		qtRead(t, db, func(r *livedb.Reader) error {
			var ks []float64
			for d, err := range r.Query("items").WithIndex("by_k", nil).Order(livedb.Desc).All() {
				require.NoError(t, err)
				ks = append(ks, d["k"].(float64))
			}
			assert.Equal(t, []float64{5, 4, 3, 2, 1}, ks)

			n := 0
			for _, err := range r.Query("items").WithIndex("by_k", nil).All() {
				require.NoError(t, err)
				n++
				if n == 2 {
					break
				}
			}
			assert.Equal(t, 2, n)

			// A bad query yields its error as the only pair.
			var errs []error
			for d, err := range r.Query("items").WithIndex("no_such_index", nil).All() {
				assert.Nil(t, d)
				errs = append(errs, err)
			}
			require.Len(t, errs, 1)
			assert.ErrorIs(t, errs[0], livedb.ErrIndexNotFound)
			return nil
		})
	})
}

// TestQuery_All_Lazy shows that All and Take read only what they return:
// with a limit of 10 documents read per transaction, ten loops over 5,000
// rows that stop after one row all fit, and the eleventh row read fails.
func TestQuery_All_Lazy(t *testing.T) {
	const limit = 10
	qtForEachBackend(t, qtSchema(), livedb.Options{Limits: livedb.Limits{DocumentsRead: limit}}, func(t *testing.T, db *livedb.DB) {
		qtInsert(t, db, "items", qtItems("a", qtRange(5000)...))

		qtRead(t, db, func(r *livedb.Reader) error {
			for i := range limit {
				n := 0
				for d, err := range r.Query("items").WithIndex("by_k", nil).All() {
					require.NoError(t, err, "loop %d", i)
					assert.Equal(t, 0.0, d["k"])
					n++
					break
				}
				require.Equal(t, 1, n)
			}
			// The budget of 10 reads is spent: one more row fails.
			_, err := r.Query("items").Take(1)
			var le *livedb.LimitError
			require.ErrorAs(t, err, &le)
			assert.Equal(t, "documents read", le.Limit)
			return nil
		})

		qtRead(t, db, func(r *livedb.Reader) error {
			for range limit {
				docs, err := r.Query("items").WithIndex("by_k", nil).Order(livedb.Desc).Take(1)
				require.NoError(t, err)
				require.Equal(t, []float64{4999}, qtKs(docs))
			}
			return nil
		})

		// Collect reads on and hits the limit.
		err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
			_, err := q.DB.Query("items").Collect()
			return err
		})
		require.ErrorIs(t, err, livedb.ErrLimit)

		// A full iteration yields the rows up to the limit, then the error
		// as its last pair.
		qtRead(t, db, func(r *livedb.Reader) error {
			var ks []float64
			var last error
			for d, err := range r.Query("items").WithIndex("by_k", nil).All() {
				if err != nil {
					last = err
					continue
				}
				require.NoError(t, last, "no row after the error")
				ks = append(ks, d["k"].(float64))
			}
			assert.Equal(t, qtRange(limit), ks)
			assert.ErrorIs(t, last, livedb.ErrLimit)
			return nil
		})
	})
}

func TestQuery_Order_TiesBrokenByCreationTimeThenID(t *testing.T) {
	forEachBackend(t, qtSchema(), func(t *testing.T, db *livedb.DB) {
		// Two mutations, so ties span transactions too.
		ks := []float64{3, 1, 2, 1, 3, 1, 2}
		ids := qtInsert(t, db, "items", qtItems("a", ks[:4]...))
		ids = append(ids, qtInsert(t, db, "items", qtItems("a", ks[4:]...))...)
		// Expected ascending order: by k, equal k in creation (= insertion)
		// order.
		idx := []int{0, 1, 2, 3, 4, 5, 6}
		slices.SortStableFunc(idx, func(a, b int) int { return int(ks[a] - ks[b]) })
		var want []livedb.ID
		for _, i := range idx {
			want = append(want, ids[i])
		}
		qtRead(t, db, func(r *livedb.Reader) error {
			asc, err := r.Query("items").WithIndex("by_k", nil).Collect()
			require.NoError(t, err)
			assert.Equal(t, want, qtIDs(asc))
			qtRequireIndexOrder(t, asc, []string{"k"}, livedb.Asc)

			desc, err := r.Query("items").WithIndex("by_k", nil).Order(livedb.Desc).Collect()
			require.NoError(t, err)
			wantDesc := slices.Clone(want)
			slices.Reverse(wantDesc)
			assert.Equal(t, wantDesc, qtIDs(desc))
			qtRequireIndexOrder(t, desc, []string{"k"}, livedb.Desc)

			ones, err := r.Query("items").WithIndex("by_g_k", func(q livedb.IndexRange) livedb.IndexRange {
				return q.Eq("g", "a").Eq("k", 1.0)
			}).Order(livedb.Desc).Collect()
			require.NoError(t, err)
			assert.Equal(t, []livedb.ID{ids[5], ids[3], ids[1]}, qtIDs(ones))

			byTime, err := r.Query("items").Order(livedb.Desc).Collect()
			require.NoError(t, err)
			wantTime := slices.Clone(ids)
			slices.Reverse(wantTime)
			assert.Equal(t, wantTime, qtIDs(byTime))
			qtRequireIndexOrder(t, byTime, nil, livedb.Desc)
			return nil
		})
	})
}

// TestQuery_Mutation_ReadsOwnWritesInIndexOrder checks that a mutation's
// queries merge its inserts, moving patches and deletes with the snapshot in
// index order, in both directions and through every terminal.
func TestQuery_Mutation_ReadsOwnWritesInIndexOrder(t *testing.T) {
	forEachBackend(t, qtSchema(), func(t *testing.T, db *livedb.DB) {
		base := qtInsert(t, db, "items", qtItems("a", 0, 10, 20, 30, 40, 50, 60, 70, 80, 90))
		ctx := context.Background()
		// model: id -> k after the mutation; creation lists IDs in creation
		// order.
		model := map[livedb.ID]float64{}
		for i, id := range base {
			model[id] = float64(10 * i)
		}
		creation := slices.Clone(base)
		check := func(r *livedb.Reader) {
			t.Helper()
			byK := slices.Collect(func(yield func(livedb.ID) bool) {
				for _, id := range creation {
					if _, ok := model[id]; ok && !yield(id) {
						return
					}
				}
			})
			wantTime := slices.Clone(byK)
			slices.SortFunc(byK, func(a, b livedb.ID) int { return int(model[a] - model[b]) })
			for _, o := range []livedb.Order{livedb.Asc, livedb.Desc} {
				wantK, wantT := slices.Clone(byK), slices.Clone(wantTime)
				if o == livedb.Desc {
					slices.Reverse(wantK)
					slices.Reverse(wantT)
				}
				got, err := r.Query("items").WithIndex("by_k", nil).Order(o).Collect()
				require.NoError(t, err)
				assert.Equal(t, wantK, qtIDs(got), "by_k %s", o)
				for _, d := range got {
					assert.Equal(t, model[d.ID()], d["k"], "document %s", d.ID())
				}
				got, err = r.Query("items").Order(o).Collect()
				require.NoError(t, err)
				assert.Equal(t, wantT, qtIDs(got), "by_creation_time %s", o)

				var inRange []livedb.ID
				for _, id := range wantK {
					if model[id] > 20 && model[id] < 80 {
						inRange = append(inRange, id)
					}
				}
				got, err = r.Query("items").WithIndex("by_g_k", func(q livedb.IndexRange) livedb.IndexRange {
					return q.Eq("g", "a").Gt("k", 20.0).Lt("k", 80.0)
				}).Order(o).Collect()
				require.NoError(t, err)
				assert.Equal(t, inRange, qtIDs(got), "by_g_k range %s", o)

				var all []livedb.ID
				for d, err := range r.Query("items").WithIndex("by_k", nil).Order(o).All() {
					require.NoError(t, err)
					all = append(all, d.ID())
				}
				assert.Equal(t, wantK, all, "All by_k %s", o)

				var paged []livedb.ID
				opts := livedb.PaginationOptions{NumItems: 3}
				for {
					res, err := r.Query("items").WithIndex("by_k", nil).Order(o).Paginate(opts)
					require.NoError(t, err)
					paged = append(paged, qtIDs(res.Page)...)
					if res.IsDone {
						break
					}
					opts.Cursor = res.ContinueCursor
				}
				assert.Equal(t, wantK, paged, "Paginate by_k %s", o)
			}
		}
		baseModel, baseCreation := maps.Clone(model), slices.Clone(creation)
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			// The function may be re-run after a conflict: start over.
			model, creation = maps.Clone(baseModel), slices.Clone(baseCreation)
			insert := func(k float64) livedb.ID {
				id, err := m.DB.Insert("items", livedb.Doc{"g": "a", "k": k})
				require.NoError(t, err)
				model[id] = k
				creation = append(creation, id)
				return id
			}
			patchK := func(id livedb.ID, k float64) {
				require.NoError(t, m.DB.Patch(id, livedb.Doc{"k": k}))
				model[id] = k
			}
			del := func(id livedb.ID) {
				require.NoError(t, m.DB.Delete(id))
				delete(model, id)
			}
			insert(15)
			insert(95)
			insert(-5)
			check(&m.DB.Reader)
			patchK(base[3], 75)                                             // 30 moves after 70
			require.NoError(t, m.DB.Patch(base[5], livedb.Doc{"pad": "x"})) // 50 stays
			del(base[6])                                                    // 60 goes
			check(&m.DB.Reader)
			gone := insert(45)
			del(gone) // inserted and deleted: never seen
			moved := insert(25)
			patchK(moved, 85) // inserted, then moved
			patchK(base[0], 100)
			del(base[9])
			patchK(base[1], 10) // a no-op patch
			check(&m.DB.Reader)
			return nil
		})
		qtRead(t, db, func(r *livedb.Reader) error {
			check(r)
			return nil
		})
		// A failed mutation's writes are not seen afterwards.
		err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("items", livedb.Doc{"g": "a", "k": 1000.0})
			require.NoError(t, err)
			return errors.New("abort")
		})
		require.Error(t, err)
		qtRead(t, db, func(r *livedb.Reader) error {
			check(r)
			return nil
		})
	})
}

// TestQuery_Limits checks each transaction limit at its boundary: the limit
// itself passes, one more fails with a *LimitError naming it.
func TestQuery_Limits(t *testing.T) {
	pad := strings.Repeat("p", 1000)
	padded := func(n int) []livedb.Doc {
		docs := qtItems("a", qtRange(n)...)
		for _, d := range docs {
			d["pad"] = pad
		}
		return docs
	}
	cases := []struct {
		name   string
		limits livedb.Limits
		limit  string
		max    int64
		// ok and fail each run one transaction over a table of 20 padded
		// items; ok stays within the limit, fail exceeds it.
		ok, fail func(db *livedb.DB, ids []livedb.ID) error
		writes   bool
	}{
		{
			name: "documents read", limits: livedb.Limits{DocumentsRead: 10}, limit: "documents read", max: 10,
			ok: func(db *livedb.DB, _ []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					_, err := q.DB.Query("items").Take(10)
					return err
				})
			},
			fail: func(db *livedb.DB, _ []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					_, err := q.DB.Query("items").Take(11)
					return err
				})
			},
		},
		{
			name: "documents read by gets", limits: livedb.Limits{DocumentsRead: 10}, limit: "documents read", max: 10,
			ok: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					for _, id := range ids[:10] {
						if _, _, err := q.DB.Get(id); err != nil {
							return err
						}
					}
					return nil
				})
			},
			fail: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					for _, id := range ids[:11] {
						if _, _, err := q.DB.Get(id); err != nil {
							return err
						}
					}
					return nil
				})
			},
		},
		{
			// Each padded item is 1,000 to 1,150 bytes: 4 fit in 4,700
			// bytes, 5 do not.
			name: "bytes read", limits: livedb.Limits{BytesRead: 4700}, limit: "bytes read", max: 4700,
			ok: func(db *livedb.DB, _ []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					_, err := q.DB.Query("items").Take(4)
					return err
				})
			},
			fail: func(db *livedb.DB, _ []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					_, err := q.DB.Query("items").Take(5)
					return err
				})
			},
		},
		{
			name: "read intervals", limits: livedb.Limits{ReadIntervals: 10}, limit: "read intervals", max: 10,
			ok: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					// Ten separate point reads: every other item, so no two
					// intervals are adjacent.
					for i := 0; i < 20; i += 2 {
						if _, err := q.DB.Query("items").WithIndex("by_k", func(r livedb.IndexRange) livedb.IndexRange {
							return r.Eq("k", float64(i))
						}).Collect(); err != nil {
							return err
						}
					}
					return nil
				})
			},
			fail: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					for i := 0; i < 20; i += 2 {
						if _, _, err := q.DB.Get(ids[i]); err != nil {
							return err
						}
					}
					_, _, err := q.DB.Get(ids[1])
					return err
				})
			},
		},
		{
			name: "documents written", limits: livedb.Limits{DocumentsWritten: 5}, limit: "documents written", max: 5, writes: true,
			ok: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					for _, id := range ids[:5] {
						if err := m.DB.Patch(id, livedb.Doc{"g": "b"}); err != nil {
							return err
						}
					}
					// Writing the same document again is not another document.
					return m.DB.Patch(ids[0], livedb.Doc{"g": "c"})
				})
			},
			fail: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					for _, d := range padded(6) {
						if _, err := m.DB.Insert("items", d); err != nil {
							return err
						}
					}
					return nil
				})
			},
		},
		{
			name: "bytes written", limits: livedb.Limits{BytesWritten: 4700}, limit: "bytes written", max: 4700, writes: true,
			ok: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					for _, d := range padded(4) {
						if _, err := m.DB.Insert("items", d); err != nil {
							return err
						}
					}
					return nil
				})
			},
			fail: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					for _, d := range padded(5) {
						if _, err := m.DB.Insert("items", d); err != nil {
							return err
						}
					}
					return nil
				})
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			qtForEachBackend(t, qtSchema(), livedb.Options{Limits: tc.limits}, func(t *testing.T, db *livedb.DB) {
				var ids []livedb.ID
				for _, d := range padded(20) { // one per mutation, within the write limits
					ids = append(ids, qtInsert(t, db, "items", []livedb.Doc{d})...)
				}
				require.NoError(t, tc.ok(db, ids), "within the limit")
				before := mustPageAllItems(t, db)
				err := tc.fail(db, ids)
				require.ErrorIs(t, err, livedb.ErrLimit)
				var le *livedb.LimitError
				require.ErrorAs(t, err, &le)
				assert.Equal(t, tc.limit, le.Limit)
				assert.Equal(t, tc.max, le.Max)
				msg := err.Error()
				assert.Contains(t, msg, tc.limit)
				assert.Contains(t, msg, fmt.Sprintf("limit: %d", tc.max))
				if tc.writes {
					assert.Contains(t, msg, "mutations", "the message suggests splitting the work")
					assert.Equal(t, before, mustPageAllItems(t, db), "a mutation over the limit writes nothing")
				} else {
					assert.Contains(t, msg, "index", "the message suggests an index")
					assert.Contains(t, msg, "paginat", "the message suggests pagination")
				}
			})
		})
	}
}

// mustPageAllItems returns every item in by_k order, one per page and
// transaction, so that it fits the smallest read limits of the tests.
func mustPageAllItems(t *testing.T, db *livedb.DB) []livedb.Doc {
	t.Helper()
	var all []livedb.Doc
	opts := livedb.PaginationOptions{NumItems: 1}
	for range 1000 {
		res := qtPage(t, db, qtByK(livedb.Asc), opts)
		all = append(all, res.Page...)
		if res.IsDone {
			return all
		}
		opts.Cursor = res.ContinueCursor
	}
	t.Fatal("mustPageAllItems: no end")
	return nil
}

func TestQuery_NonexistentTable(t *testing.T) {
	forEachBackendOptions(t, qtSchema(), looseOptions, func(t *testing.T, db *livedb.DB) {
		qtRead(t, db, func(r *livedb.Reader) error {
			docs, err := r.Query("ghosts").Collect()
			require.NoError(t, err)
			assert.Empty(t, docs, "a full scan of a table that does not exist is empty")

			_, ok, err := r.Query("ghosts").First()
			require.NoError(t, err)
			assert.False(t, ok)

			n := 0
			for _, err := range r.Query("ghosts").All() {
				require.NoError(t, err)
				n++
			}
			assert.Zero(t, n)

			res, err := r.Query("ghosts").Paginate(livedb.PaginationOptions{NumItems: 5})
			require.NoError(t, err)
			assert.Empty(t, res.Page)
			assert.True(t, res.IsDone)

			_, err = r.Query("ghosts").WithIndex("by_x", nil).Collect()
			require.ErrorIs(t, err, livedb.ErrIndexNotFound)
			assert.Contains(t, err.Error(), "ghosts.by_x")

			_, err = r.Query("items").WithIndex("by_nothing", nil).Collect()
			require.ErrorIs(t, err, livedb.ErrIndexNotFound)
			assert.Contains(t, err.Error(), "items.by_nothing")

			_, err = r.Query("_bad").Collect()
			assert.ErrorIs(t, err, livedb.ErrInvalidTable)
			return nil
		})
	})
}

func TestQuery_Run_Twice(t *testing.T) {
	forEachBackend(t, qtSchema(), func(t *testing.T, db *livedb.DB) {
		qtInsert(t, db, "items", qtItems("a", 1, 2))
		terminals := map[string]func(q *livedb.Query) error{
			"Collect": func(q *livedb.Query) error { _, err := q.Collect(); return err },
			"Take":    func(q *livedb.Query) error { _, err := q.Take(1); return err },
			"First":   func(q *livedb.Query) error { _, _, err := q.First(); return err },
			"Unique": func(q *livedb.Query) error {
				_, _, err := q.Unique()
				if errors.Is(err, livedb.ErrInvalidQuery) && strings.Contains(err.Error(), "more than one") {
					return nil // the first run finds two items
				}
				return err
			},
			"All": func(q *livedb.Query) error {
				for _, err := range q.All() {
					return err
				}
				return nil
			},
			"Paginate": func(q *livedb.Query) error {
				_, err := q.Paginate(livedb.PaginationOptions{NumItems: 1})
				return err
			},
		}
		qtRead(t, db, func(r *livedb.Reader) error {
			for first, run1 := range terminals {
				for second, run2 := range terminals {
					q := r.Query("items")
					require.NoError(t, run1(q), "%s first", first)
					err := run2(q)
					assert.ErrorIs(t, err, livedb.ErrInvalidQuery, "%s after %s", second, first)
				}
			}
			return nil
		})
	})
}

func TestQuery_Order_Twice(t *testing.T) {
	forEachBackend(t, qtSchema(), func(t *testing.T, db *livedb.DB) {
		qtRead(t, db, func(r *livedb.Reader) error {
			_, err := r.Query("items").Order(livedb.Asc).Order(livedb.Desc).Collect()
			require.ErrorIs(t, err, livedb.ErrInvalidQuery)
			assert.Contains(t, err.Error(), "order")
			_, err = r.Query("items").Order(livedb.Desc).Order(livedb.Desc).Paginate(livedb.PaginationOptions{NumItems: 1})
			assert.ErrorIs(t, err, livedb.ErrInvalidQuery)
			_, err = r.Query("items").Order(livedb.Desc).Collect()
			assert.NoError(t, err, "once is fine")
			return nil
		})
	})
}

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
			other, err := livedb.OpenMemory(qtSchema())
			require.NoError(t, err)
			defer MustCheckClose(t, other)
			qtInsert(t, other, "items", qtItems("a", qtRange(10)...))
			for cname, c := range cursors {
				_, err := qtTryPage(other, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 3, Cursor: c})
				assert.ErrorIs(t, err, livedb.ErrInvalidCursor, "%s cursor", cname)
			}
			// Its own cursors work.
			op := qtPage(t, other, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 3})
			_, err = qtTryPage(other, qtByK(livedb.Asc), livedb.PaginationOptions{NumItems: 3, Cursor: op.ContinueCursor})
			assert.NoError(t, err)
		})
	})
}

func TestQuery_Paginate_SplitRequired(t *testing.T) {
	qtForEachBackend(t, qtSchema(), livedb.Options{Limits: livedb.Limits{DocumentsRead: 10}}, func(t *testing.T, db *livedb.DB) {
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
				assert.Equal(t, livedb.SplitRequired, res.PageStatus)
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
			want livedb.PageStatus
		}{
			{"6144 items", livedb.PaginationOptions{NumItems: 6144}, ""},
			{"6145 items", livedb.PaginationOptions{NumItems: 6145}, livedb.SplitRecommended},
			{"3/4 of MaximumRowsRead", livedb.PaginationOptions{NumItems: 75, MaximumRowsRead: 100}, ""},
			{"over 3/4 of MaximumRowsRead", livedb.PaginationOptions{NumItems: 76, MaximumRowsRead: 100}, livedb.SplitRecommended},
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

package livedb_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

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
	forEachBackendOptions(t, qtSchema(), &livedb.Options{Limits: livedb.Limits{DocumentsRead: limit}}, func(t *testing.T, db *livedb.DB) {
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

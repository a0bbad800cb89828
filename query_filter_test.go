package livedb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// qfSchema is the schema of the filter tests: tasks with optional fields of
// several types.
func qfSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"tasks": livedb.DefineTable(v.Object(v.Fields{
			"n":       v.Float64(),
			"status":  v.String(),
			"attempt": v.Optional(v.Int64()),
			"score":   v.Optional(v.Float64()),
			"flag":    v.Optional(v.Boolean()),
			"meta":    v.Optional(v.Object(v.Fields{"tier": v.String()})),
		})).Index("by_status", "status").Index("by_n", "n"),
	})
}

// qfTasks are the tasks of the filter tests, n = 0..9.
func qfTasks() []livedb.Doc {
	return []livedb.Doc{
		{"n": 0.0, "status": "running", "attempt": int64(1), "score": 0.5, "flag": true, "meta": map[string]any{"tier": "gold"}},
		{"n": 1.0, "status": "failed", "attempt": int64(3)},
		{"n": 2.0, "status": "running", "score": 2.0, "flag": false},
		{"n": 3.0, "status": "done", "attempt": int64(2), "meta": map[string]any{"tier": "silver"}},
		{"n": 4.0, "status": "running", "attempt": int64(4), "score": -1.0, "flag": true},
		{"n": 5.0, "status": "failed", "score": 9.0, "meta": map[string]any{"tier": "gold"}},
		{"n": 6.0, "status": "running", "attempt": int64(0), "flag": true},
		{"n": 7.0, "status": "done", "attempt": int64(7), "score": 7.0, "flag": false},
		{"n": 8.0, "status": "running", "meta": map[string]any{"tier": "bronze"}},
		{"n": 9.0, "status": "failed", "attempt": int64(1), "score": 1.0, "flag": true},
	}
}

// qfNs returns the n field of docs.
func qfNs(docs []livedb.Doc) []float64 {
	out := make([]float64, len(docs))
	for i, d := range docs {
		out[i], _ = d["n"].(float64)
	}
	return out
}

func TestQuery_Filter_Builder(t *testing.T) {
	type build = func(f livedb.FilterBuilder) livedb.Expr
	cases := []struct {
		name   string
		index  string // "" for a full scan
		rng    func(livedb.IndexRange) livedb.IndexRange
		order  livedb.Order
		filter build
		want   []float64
	}{
		{"eq on a full scan", "", nil, livedb.Asc,
			func(f livedb.FilterBuilder) livedb.Expr { return f.Eq(f.Field("status"), "running") },
			[]float64{0, 2, 4, 6, 8}},
		{"neq, descending", "", nil, livedb.Desc,
			func(f livedb.FilterBuilder) livedb.Expr { return f.Neq(f.Field("status"), "running") },
			[]float64{9, 7, 5, 3, 1}},
		{"after an index range", "by_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("status", "running") }, livedb.Asc,
			func(f livedb.FilterBuilder) livedb.Expr { return f.Eq(f.Field("flag"), true) },
			[]float64{0, 4, 6}},
		{"lt: a missing field is undefined, below everything", "by_n", nil, livedb.Asc,
			func(f livedb.FilterBuilder) livedb.Expr { return f.Lt(f.Field("attempt"), int64(2)) },
			[]float64{0, 2, 5, 6, 8, 9}},
		{"gte on a float", "by_n", nil, livedb.Asc,
			func(f livedb.FilterBuilder) livedb.Expr { return f.Gte(f.Field("score"), 1.0) },
			[]float64{2, 5, 7, 9}},
		{"an int64 literal never equals a float64 field", "by_n", nil, livedb.Asc,
			func(f livedb.FilterBuilder) livedb.Expr { return f.Eq(f.Field("score"), int64(2)) },
			nil},
		{"eq undefined matches missing fields", "by_n", nil, livedb.Asc,
			func(f livedb.FilterBuilder) livedb.Expr { return f.Eq(f.Field("meta"), livedb.Undefined) },
			[]float64{1, 2, 4, 6, 7, 9}},
		{"nested field path", "by_n", nil, livedb.Desc,
			func(f livedb.FilterBuilder) livedb.Expr { return f.Eq(f.Field("meta.tier"), "gold") },
			[]float64{5, 0}},
		{"and, or, not", "by_n", nil, livedb.Asc,
			func(f livedb.FilterBuilder) livedb.Expr {
				return f.Or(
					f.And(f.Eq(f.Field("status"), "failed"), f.Gt(f.Field("score"), 0.0)),
					f.Not(f.Lte(f.Field("n"), 7.0)),
				)
			},
			[]float64{5, 8, 9}},
		{"arithmetic", "by_n", nil, livedb.Asc,
			func(f livedb.FilterBuilder) livedb.Expr {
				return f.And(f.Gt(f.Field("attempt"), livedb.Undefined), f.Eq(f.Mod(f.Add(f.Field("attempt"), int64(1)), int64(2)), int64(0)))
			},
			[]float64{0, 1, 7, 9}},
		{"two filters are both applied", "by_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Gte("status", "f") }, livedb.Asc,
			func(f livedb.FilterBuilder) livedb.Expr { return f.Gt(f.Field("n"), 2.0) },
			nil}, // the second filter is added below
	}
	forEachBackend(t, qfSchema(), func(t *testing.T, db *livedb.DB) {
		qtInsert(t, db, "tasks", qfTasks())
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				mk := func(r *livedb.Reader) *livedb.Query {
					q := r.Query("tasks")
					if tc.index != "" {
						q = q.WithIndex(tc.index, tc.rng)
					}
					q = q.Order(tc.order).Filter(tc.filter)
					if tc.name == "two filters are both applied" {
						q = q.Filter(func(f livedb.FilterBuilder) livedb.Expr { return f.Lt(f.Field("n"), 8.0) })
					}
					return q
				}
				want := tc.want
				if tc.name == "two filters are both applied" {
					// status >= "f": failed (1, 5, 9) then running (0, 2, 4, 6, 8).
					want = []float64{5, 4, 6}
				}
				qtRead(t, db, func(r *livedb.Reader) error {
					got, err := mk(r).Collect()
					require.NoError(t, err)
					assert.Equal(t, want, nonNil(qfNs(got)), "Collect")

					if len(want) > 0 {
						first, ok, err := mk(r).First()
						require.NoError(t, err)
						require.True(t, ok)
						assert.Equal(t, want[0], first["n"], "First")
					}
					two, err := mk(r).Take(2)
					require.NoError(t, err)
					assert.Equal(t, want[:min(2, len(want))], nonNil(qfNs(two)), "Take(2)")
					return nil
				})
				// Pages of 2 results: the concatenation is the result.
				var paged []float64
				opts := livedb.PaginationOptions{NumItems: 2}
				for range 20 {
					res := qtPage(t, db, mk, opts)
					assert.LessOrEqual(t, len(res.Page), 2)
					paged = append(paged, qfNs(res.Page)...)
					if res.IsDone {
						break
					}
					opts.Cursor = res.ContinueCursor
				}
				assert.Equal(t, want, nonNil(paged), "Paginate")
			})
		}
	})
}

// nonNil turns an empty slice into nil, so that "no results" compares equal
// however it was built.
func nonNil[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestQuery_FilterFunc(t *testing.T) {
	forEachBackend(t, qfSchema(), func(t *testing.T, db *livedb.DB) {
		qtInsert(t, db, "tasks", qfTasks())
		qtRead(t, db, func(r *livedb.Reader) error {
			var seen []float64
			got, err := r.Query("tasks").WithIndex("by_n", nil).Order(livedb.Desc).FilterFunc(func(d livedb.Doc) (bool, error) {
				seen = append(seen, d["n"].(float64))
				assert.NotEmpty(t, d.ID(), "the predicate sees the system fields")
				assert.NotZero(t, d.CreationTime())
				d["status"] = "scribbled" // must not change the result
				_, has := d["attempt"]
				return has, nil
			}).Collect()
			require.NoError(t, err)
			assert.Equal(t, []float64{9, 7, 6, 4, 3, 1, 0}, qfNs(got))
			assert.Equal(t, []float64{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, seen, "the predicate sees every scanned row in order")
			for _, d := range got {
				assert.NotEqual(t, "scribbled", d["status"])
			}

			// Filter and FilterFunc combine.
			got, err = r.Query("tasks").WithIndex("by_status", func(q livedb.IndexRange) livedb.IndexRange { return q.Eq("status", "running") }).
				FilterFunc(func(d livedb.Doc) (bool, error) { return d["n"].(float64) > 1, nil }).
				Filter(func(f livedb.FilterBuilder) livedb.Expr { return f.Neq(f.Field("flag"), false) }).
				Collect()
			require.NoError(t, err)
			assert.Equal(t, []float64{4, 6, 8}, qfNs(got))

			// Take stops the scan: the predicate is not called beyond.
			calls := 0
			two, err := r.Query("tasks").WithIndex("by_n", nil).FilterFunc(func(d livedb.Doc) (bool, error) {
				calls++
				return d["status"] == "failed", nil
			}).Take(2)
			require.NoError(t, err)
			assert.Equal(t, []float64{1, 5}, qfNs(two))
			assert.Equal(t, 6, calls)
			return nil
		})
	})
}

// TestQuery_Filter_CountsTowardReadLimit: filters run after the scan, so
// documents they drop count toward the documents-read limit.
func TestQuery_Filter_CountsTowardReadLimit(t *testing.T) {
	forEachBackendOptions(t, qfSchema(), &livedb.Options{Limits: livedb.Limits{DocumentsRead: 10}}, func(t *testing.T, db *livedb.DB) {
		tasks := qfTasks()
		qtInsert(t, db, "tasks", tasks)
		last := func(f livedb.FilterBuilder) livedb.Expr { return f.Eq(f.Field("n"), 9.0) }
		lastFunc := func(d livedb.Doc) (bool, error) { return d["n"] == 9.0, nil }
		// 10 rows scanned for one result: within the limit.
		qtRead(t, db, func(r *livedb.Reader) error {
			got, err := r.Query("tasks").Filter(last).Collect()
			require.NoError(t, err)
			assert.Equal(t, []float64{9}, qfNs(got))
			return nil
		})
		qtInsert(t, db, "tasks", []livedb.Doc{{"n": 10.0, "status": "new"}})
		queries := map[string]func(r *livedb.Reader) error{
			"Filter Collect": func(r *livedb.Reader) error { _, err := r.Query("tasks").Filter(last).Collect(); return err },
			"Filter First": func(r *livedb.Reader) error {
				_, _, err := r.Query("tasks").Order(livedb.Asc).Filter(qfNIs(10)).First()
				return err
			},
			"FilterFunc Collect": func(r *livedb.Reader) error { _, err := r.Query("tasks").FilterFunc(lastFunc).Collect(); return err },
			"FilterFunc Take":    func(r *livedb.Reader) error { _, err := r.Query("tasks").FilterFunc(qfNIsFunc(10)).Take(1); return err },
		}
		for name, run := range queries {
			err := db.Query(context.Background(), func(q *livedb.QueryCtx) error { return run(q.DB) })
			var le *livedb.LimitError
			require.ErrorAs(t, err, &le, name)
			assert.Equal(t, "documents read", le.Limit, name)
		}
		// A paginated filter stops at the limit with SplitRequired instead,
		// possibly with an empty page, and the walk goes on.
		only10 := func(r *livedb.Reader) *livedb.Query { return r.Query("tasks").Filter(qfNIs(10)) }
		res := qtPage(t, db, only10, livedb.PaginationOptions{NumItems: 5})
		assert.Equal(t, "SplitRequired", res.PageStatus)
		assert.Empty(t, res.Page)
		assert.False(t, res.IsDone)
		res = qtPage(t, db, only10, livedb.PaginationOptions{NumItems: 5, Cursor: res.ContinueCursor})
		assert.Equal(t, []float64{10}, qfNs(res.Page))
		assert.True(t, res.IsDone)
	})
}

func qfNIs(n float64) func(f livedb.FilterBuilder) livedb.Expr {
	return func(f livedb.FilterBuilder) livedb.Expr { return f.Eq(f.Field("n"), n) }
}

func qfNIsFunc(n float64) func(d livedb.Doc) (bool, error) {
	return func(d livedb.Doc) (bool, error) { return d["n"] == n, nil }
}

// TestQuery_Filter_ErrorSurfaces checks that an error met by a filter
// (a typing error, a non-Boolean result, a predicate's own error) ends
// every terminal with that error, and only when the scan reaches the row
// that causes it.
func TestQuery_Filter_ErrorSurfaces(t *testing.T) {
	errPredicate := errors.New("predicate failed")
	cases := []struct {
		name string
		add  func(q *livedb.Query) *livedb.Query
		// Each filter fails on the first row in by_n order.
		check func(t *testing.T, err error)
	}{
		{
			name: "mixed-type arithmetic",
			add: func(q *livedb.Query) *livedb.Query {
				// attempt is an Int64: adding a Float64 is a type error, met
				// at n = 0 (the first row with an attempt).
				return q.Filter(func(f livedb.FilterBuilder) livedb.Expr {
					return f.Eq(f.Add(f.Field("attempt"), 1.0), 2.0)
				})
			},
			check: func(t *testing.T, err error) {
				var ee *livedb.EvalError
				require.ErrorAs(t, err, &ee)
				assert.Equal(t, "Cannot add 1 (type Int64) and 1.0 (type Float64)", ee.Message)
			},
		},
		{
			name: "non-Boolean result",
			add: func(q *livedb.Query) *livedb.Query {
				return q.Filter(func(f livedb.FilterBuilder) livedb.Expr { return f.Field("status") })
			},
			check: func(t *testing.T, err error) {
				var ee *livedb.EvalError
				require.ErrorAs(t, err, &ee)
				assert.Equal(t, `Cannot use value "running" (type String) as a Boolean`, ee.Message)
			},
		},
		{
			name: "missing Boolean field",
			add: func(q *livedb.Query) *livedb.Query {
				return q.Filter(func(f livedb.FilterBuilder) livedb.Expr { return f.Field("meta.missing") })
			},
			check: func(t *testing.T, err error) {
				var ee *livedb.EvalError
				require.ErrorAs(t, err, &ee)
				assert.Contains(t, ee.Message, "undefined")
			},
		},
		{
			name: "non-Boolean literal",
			add: func(q *livedb.Query) *livedb.Query {
				return q.Filter(func(f livedb.FilterBuilder) livedb.Expr { return f.Literal(1.0) })
			},
			check: func(t *testing.T, err error) {
				var ee *livedb.EvalError
				require.ErrorAs(t, err, &ee)
				assert.Contains(t, ee.Message, "as a Boolean")
			},
		},
		{
			name: "predicate error",
			add: func(q *livedb.Query) *livedb.Query {
				return q.FilterFunc(func(d livedb.Doc) (bool, error) { return false, errPredicate })
			},
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, errPredicate) },
		},
	}
	forEachBackend(t, qfSchema(), func(t *testing.T, db *livedb.DB) {
		qtInsert(t, db, "tasks", qfTasks())
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				mk := func(r *livedb.Reader) *livedb.Query { return tc.add(r.Query("tasks").WithIndex("by_n", nil)) }
				terminals := map[string]func(q *livedb.Query) error{
					"Collect": func(q *livedb.Query) error { _, err := q.Collect(); return err },
					"Take":    func(q *livedb.Query) error { _, err := q.Take(3); return err },
					"First":   func(q *livedb.Query) error { _, _, err := q.First(); return err },
					"Unique":  func(q *livedb.Query) error { _, _, err := q.Unique(); return err },
					"All": func(q *livedb.Query) error {
						for _, err := range q.All() {
							if err != nil {
								return err
							}
						}
						return nil
					},
					"Paginate": func(q *livedb.Query) error {
						_, err := q.Paginate(livedb.PaginationOptions{NumItems: 3})
						return err
					},
				}
				for name, run := range terminals {
					err := db.Query(context.Background(), func(q *livedb.QueryCtx) error { return run(mk(q.DB)) })
					require.Error(t, err, name)
					tc.check(t, err)
				}
				// In a mutation, the error aborts it and nothing is written.
				err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					if _, err := m.DB.Insert("tasks", livedb.Doc{"n": 100.0, "status": "x"}); err != nil {
						return err
					}
					_, err := mk(&m.DB.Reader).Collect()
					return err
				})
				tc.check(t, err)
				assert.Len(t, mustCollect(t, db, "tasks"), 10)
			})
		}
		// A failing row that the scan does not reach is not an error.
		qtRead(t, db, func(r *livedb.Reader) error {
			// n = 2 lacks attempt; the first row is fine, and Take(1) stops.
			got, err := r.Query("tasks").WithIndex("by_n", nil).Filter(func(f livedb.FilterBuilder) livedb.Expr {
				return f.Gt(f.Add(f.Field("attempt"), int64(1)), int64(0))
			}).Take(1)
			require.NoError(t, err)
			assert.Equal(t, []float64{0}, qfNs(got))
			_, err = r.Query("tasks").WithIndex("by_n", nil).Filter(func(f livedb.FilterBuilder) livedb.Expr {
				return f.Gt(f.Add(f.Field("attempt"), int64(1)), int64(0))
			}).Take(3)
			var ee *livedb.EvalError
			require.ErrorAs(t, err, &ee, "n = 2 has no attempt: undefined + 1")
			return nil
		})
	})
}

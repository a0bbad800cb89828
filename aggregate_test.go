package livedb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// aggSchema has tasks with an aggregate on (wf, status) that sums cost and
// tokens, and an index on wf without one.
func aggSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"tasks": livedb.DefineTable(v.Object(v.Fields{
			"wf":     v.String(),
			"status": v.String(),
			"cost":   v.Optional(v.Union(v.Float64(), v.String())),
			"tokens": v.Optional(v.Int64()),
			"note":   v.Optional(v.String()),
		})).Index("by_wf_status", "wf", "status").Aggregate("cost", "tokens").
			Index("by_wf", "wf"),
	})
}

// aggQuery is one Count or Sum the tests ask, evaluated on the database and
// on a naive reference.
type aggQuery struct {
	name  string
	index string
	rng   func(livedb.IndexRange) livedb.IndexRange
	match func(d livedb.Doc) bool // the range, on a document
	sum   string                  // "" for Count
	note  string                  // keep only documents with this note, through a filter ("" for none)
}

func (aq aggQuery) run(r *livedb.Reader) (float64, error) {
	q := r.Query("tasks").WithIndex(aq.index, aq.rng)
	if aq.note != "" {
		q = q.Filter(func(f livedb.FilterBuilder) livedb.Expr { return f.Eq(f.Field("note"), f.Literal(aq.note)) })
	}
	if aq.sum == "" {
		n, err := q.Count()
		return float64(n), err
	}
	return q.Sum(aq.sum)
}

func (aq aggQuery) want(docs map[livedb.ID]livedb.Doc) float64 {
	var out float64
	for _, d := range docs {
		if !aq.match(d) || aq.note != "" && d["note"] != aq.note {
			continue
		}
		if aq.sum == "" {
			out++
			continue
		}
		switch x := d[aq.sum].(type) {
		case float64:
			out += x
		case int64:
			out += float64(x)
		}
	}
	return out
}

// aggQueries returns the queries the tests ask: every kind of range on the
// aggregate index (Eq prefixes, bounds on the next field, bounds that reach
// _creationTime, which the rows cannot answer), the index without an
// aggregate, a summed field the aggregate does not keep, and a filter.
func aggQueries() []aggQuery {
	str := func(d livedb.Doc, f string) string { s, _ := d[f].(string); return s }
	var qs []aggQuery
	for _, sum := range []string{"", "cost", "tokens", "note"} {
		qs = append(qs,
			aggQuery{name: "all", index: "by_wf_status", rng: nil, match: func(livedb.Doc) bool { return true }, sum: sum},
			aggQuery{name: "wf=w1", index: "by_wf_status", rng: func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("wf", "w1") },
				match: func(d livedb.Doc) bool { return str(d, "wf") == "w1" }, sum: sum},
			aggQuery{name: "wf=w2,status=b", index: "by_wf_status", rng: func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("wf", "w2").Eq("status", "b") },
				match: func(d livedb.Doc) bool { return str(d, "wf") == "w2" && str(d, "status") == "b" }, sum: sum},
			aggQuery{name: "wf=w1,status in (a,c]", index: "by_wf_status", rng: func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("wf", "w1").Gt("status", "a").Lte("status", "c")
			},
				match: func(d livedb.Doc) bool { s := str(d, "status"); return str(d, "wf") == "w1" && s > "a" && s <= "c" }, sum: sum},
			aggQuery{name: "wf=w3,status>=b", index: "by_wf_status", rng: func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("wf", "w3").Gte("status", "b") },
				match: func(d livedb.Doc) bool { return str(d, "wf") == "w3" && str(d, "status") >= "b" }, sum: sum},
			aggQuery{name: "wf<w3", index: "by_wf_status", rng: func(r livedb.IndexRange) livedb.IndexRange { return r.Lt("wf", "w3") },
				match: func(d livedb.Doc) bool { return str(d, "wf") < "w3" }, sum: sum},
			aggQuery{name: "wf=w1,status=a,ct>0", index: "by_wf_status", rng: func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("wf", "w1").Eq("status", "a").Gt("_creationTime", 0.0)
			},
				match: func(d livedb.Doc) bool { return str(d, "wf") == "w1" && str(d, "status") == "a" }, sum: sum},
			aggQuery{name: "by_wf wf=w2", index: "by_wf", rng: func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("wf", "w2") },
				match: func(d livedb.Doc) bool { return str(d, "wf") == "w2" }, sum: sum},
			aggQuery{name: "wf=w1 note=x", index: "by_wf_status", rng: func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("wf", "w1") },
				match: func(d livedb.Doc) bool { return str(d, "wf") == "w1" }, sum: sum, note: "x"},
		)
	}
	return qs
}

// aggRandomDoc returns random task fields; costs are multiples of 0.5, so
// that every order of summing them gives the same float64.
func aggRandomDoc(rng *rand.Rand) livedb.Doc {
	d := livedb.Doc{
		"wf":     fmt.Sprintf("w%d", 1+rng.IntN(3)),
		"status": string(rune('a' + rng.IntN(4))),
	}
	switch rng.IntN(4) {
	case 0:
	case 1:
		d["cost"] = "n/a" // not a number: skipped
	default:
		d["cost"] = float64(rng.IntN(40)-10) / 2
	}
	if rng.IntN(3) > 0 {
		d["tokens"] = int64(rng.IntN(1000))
	}
	if rng.IntN(2) == 0 {
		d["note"] = string(rune('x' + rng.IntN(2)))
	}
	return d
}

// aggCheckAll compares every query of aggQueries with the reference, in r.
func aggCheckAll(t *testing.T, r *livedb.Reader, ref map[livedb.ID]livedb.Doc, step string) {
	t.Helper()
	for _, aq := range aggQueries() {
		got, err := aq.run(r)
		require.NoError(t, err, "%s: %s sum=%q", step, aq.name, aq.sum)
		require.Equal(t, aq.want(ref), got, "%s: %s sum=%q", step, aq.name, aq.sum)
	}
}

// TestQuery_Count_RandomAgainstReference runs random writes, several per
// mutation, and checks every Count and Sum against a naive reference
// after each mutation and, for the mutation's own writes, inside it.
func TestQuery_Count_RandomAgainstReference(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	forEachBackend(t, aggSchema(), func(t *testing.T, db *livedb.DB) {
		rng := rand.New(rand.NewPCG(seed, 21))
		ref := map[livedb.ID]livedb.Doc{}
		for step := range 40 {
			next := map[livedb.ID]livedb.Doc{}
			for id, d := range ref {
				next[id] = d
			}
			mustMutate(t, db, func(m *livedb.MutationCtx) error {
				clear(next)
				for id, d := range ref {
					next[id] = d
				}
				for range 1 + rng.IntN(4) {
					ids := slices.Sorted(func(yield func(livedb.ID) bool) {
						for id := range next {
							if !yield(id) {
								return
							}
						}
					})
					switch op := rng.IntN(5); {
					case op <= 1 || len(ids) == 0:
						d := aggRandomDoc(rng)
						id, err := m.DB.Insert("tasks", d)
						if err != nil {
							return err
						}
						next[id] = d
					case op <= 3:
						id := ids[rng.IntN(len(ids))]
						d := aggRandomDoc(rng)
						if err := m.DB.Replace(id, d); err != nil {
							return err
						}
						next[id] = d
					default:
						id := ids[rng.IntN(len(ids))]
						if err := m.DB.Delete(id); err != nil {
							return err
						}
						delete(next, id)
					}
				}
				if step%5 == 0 {
					aggCheckAll(t, &m.DB.Reader, next, fmt.Sprintf("step %d, inside the mutation", step))
				}
				return nil
			})
			ref = next
			require.NoError(t, db.Query(context.Background(), func(q *livedb.QueryCtx) error {
				aggCheckAll(t, q.DB, ref, fmt.Sprintf("step %d", step))
				return nil
			}))
		}
	})
}

// TestQuery_Count_TypedQuery: Count and Sum on a typed table.
func TestQuery_Count_TypedQuery(t *testing.T) {
	type task struct {
		Wf     string  `json:"wf"`
		Status string  `json:"status"`
		Cost   float64 `json:"cost"`
	}
	forEachBackend(t, aggSchema(), func(t *testing.T, db *livedb.DB) {
		tasks := livedb.NewTable[task]("tasks")
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			for i := range 5 {
				if _, err := tasks.Insert(m.DB, task{Wf: "w1", Status: "a", Cost: float64(i)}); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, db.Query(context.Background(), func(q *livedb.QueryCtx) error {
			n, err := tasks.Query(q.DB).WithIndex("by_wf_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("wf", "w1") }).Count()
			require.NoError(t, err)
			assert.Equal(t, int64(5), n)
			s, err := tasks.Query(q.DB).WithIndex("by_wf_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("wf", "w1") }).Sum("cost")
			require.NoError(t, err)
			assert.Equal(t, 10.0, s)
			_, err = tasks.Query(q.DB).WithIndex("nope", nil).Count()
			assert.ErrorIs(t, err, livedb.ErrIndexNotFound)
			return nil
		}))
	})
}

// TestQuery_Count_ReadsRowsNotDocuments: a count from the aggregate reads
// no document, so it goes past the documents-read limit that Collect
// hits; an undeclared count reads keys only, and so does it.
func TestQuery_Count_ReadsRowsNotDocuments(t *testing.T) {
	forEachBackendOptions(t, aggSchema(), &livedb.Options{Limits: livedb.Limits{DocumentsRead: 50}}, func(t *testing.T, db *livedb.DB) {
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			for i := range 120 {
				if _, err := m.DB.Insert("tasks", livedb.Doc{"wf": "w1", "status": string(rune('a' + i%3)), "cost": 1.0}); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, db.Query(context.Background(), func(q *livedb.QueryCtx) error {
			n, err := q.DB.Query("tasks").WithIndex("by_wf_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("wf", "w1") }).Count()
			require.NoError(t, err)
			assert.Equal(t, int64(120), n)
			s, err := q.DB.Query("tasks").WithIndex("by_wf_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("wf", "w1").Gte("status", "b") }).Sum("cost")
			require.NoError(t, err)
			assert.Equal(t, 80.0, s)
			n, err = q.DB.Query("tasks").WithIndex("by_wf", nil).Count()
			require.NoError(t, err)
			assert.Equal(t, int64(120), n)
			_, err = q.DB.Query("tasks").WithIndex("by_wf", nil).Collect()
			require.ErrorIs(t, err, livedb.ErrLimit, "Collect reads documents")
			return nil
		}))
	})
}

// TestOpen_AggregateBackfillAndDrop: an aggregate added to an existing
// index is backfilled, one whose sums change is rebuilt, and a removed one
// is dropped; Check verifies the rows each time (MustCheckClose too).
func TestOpen_AggregateBackfillAndDrop(t *testing.T) {
	fields := v.Object(v.Fields{"wf": v.String(), "cost": v.Optional(v.Float64()), "tokens": v.Optional(v.Float64())})
	plain := livedb.DefineSchema(livedb.Tables{"tasks": livedb.DefineTable(fields).Index("by_wf", "wf")})
	counted := livedb.DefineSchema(livedb.Tables{"tasks": livedb.DefineTable(fields).Index("by_wf", "wf").Aggregate("cost")})
	resummed := livedb.DefineSchema(livedb.Tables{"tasks": livedb.DefineTable(fields).Index("by_wf", "wf").Aggregate("tokens")})
	path := filepath.Join(t.TempDir(), "a.db")
	open := func(s *livedb.Schema) *livedb.DB {
		db, err := livedb.Open(path, s, &livedb.Options{NoSync: true})
		require.NoError(t, err)
		return db
	}
	db := open(plain)
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		for i := range 10 {
			if _, err := m.DB.Insert("tasks", livedb.Doc{"wf": fmt.Sprintf("w%d", i%2), "cost": float64(i), "tokens": 1.0}); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, db.Close())
	sumW0 := func(db *livedb.DB, field string) float64 {
		s, err := livedb.QueryValue(context.Background(), db, func(q *livedb.QueryCtx) (float64, error) {
			return q.DB.Query("tasks").WithIndex("by_wf", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("wf", "w0") }).Sum(field)
		})
		require.NoError(t, err)
		return s
	}
	for _, s := range []*livedb.Schema{counted, resummed, plain, counted} {
		db = open(s)
		require.NoError(t, db.Check(context.Background()))
		assert.Equal(t, 20.0, sumW0(db, "cost"))
		assert.Equal(t, 5.0, sumW0(db, "tokens"))
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("tasks", livedb.Doc{"wf": "w9", "cost": 1.0})
			return err
		})
		require.NoError(t, db.Check(context.Background()))
		require.NoError(t, db.Close())
	}
}

// TestShared_AggregateRowsSameInEveryProcess: two processes write to one
// aggregate; each one's counts and sums match the documents (Check
// verifies the rows against them at cleanup) and the other's.
func TestShared_AggregateRowsSameInEveryProcess(t *testing.T) {
	forEachShared(t, func(t *testing.T, open sharedOpener) {
		a, b := open(t, aggSchema(), nil), open(t, aggSchema(), nil)
		var ts uint64
		for i := range 20 {
			db := a
			if i%2 == 1 {
				db = b
			}
			var err error
			ts, err = db.MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
				_, err := m.DB.Insert("tasks", livedb.Doc{"wf": "w1", "status": string(rune('a' + i%3)), "cost": float64(i)})
				return err
			})
			require.NoError(t, err)
		}
		for _, db := range []*livedb.DB{a, b} {
			require.NoError(t, db.CatchUp(boundedCtx(t), ts))
			require.NoError(t, db.Check(context.Background()))
			n, err := livedb.QueryValue(context.Background(), db, func(q *livedb.QueryCtx) (float64, error) {
				return q.DB.Query("tasks").WithIndex("by_wf_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("wf", "w1").Eq("status", "a") }).Sum("cost")
			})
			require.NoError(t, err)
			assert.Equal(t, 0.0+3+6+9+12+15+18, n)
		}
	})
}

// TestSubscribe_CountRerunsOnlyWhenItChanges: a subscription to a Count
// re-runs when a document enters or leaves the range, and one to a Sum
// when a summed value in the range changes too; writes to other fields,
// moves inside the range and writes outside it re-run neither.
func TestSubscribe_CountRerunsOnlyWhenItChanges(t *testing.T) {
	forEachBackendBubble(t, aggSchema(), nil, func(t *testing.T, db *livedb.DB) {
		w1 := func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("wf", "w1") }
		count, err := livedb.Subscribe(context.Background(), db, func(q *livedb.QueryCtx) (int64, error) {
			return q.DB.Query("tasks").WithIndex("by_wf_status", w1).Count()
		})
		require.NoError(t, err)
		defer count.Close()
		sum, err := livedb.Subscribe(context.Background(), db, func(q *livedb.QueryCtx) (float64, error) {
			return q.DB.Query("tasks").WithIndex("by_wf_status", w1).Sum("cost")
		})
		require.NoError(t, err)
		defer sum.Close()
		require.Equal(t, int64(0), rxNext(t, count).Value)
		require.Equal(t, 0.0, rxNext(t, sum).Value)

		var in, out livedb.ID
		wantN, wantS := int64(0), 0.0
		steps := []struct {
			name                 string
			write                func(w *livedb.Writer) error
			countRerun, sumRerun bool
			apply                func()
		}{
			{"insert into the range", func(w *livedb.Writer) (err error) {
				in, err = w.Insert("tasks", livedb.Doc{"wf": "w1", "status": "a", "cost": 2.0})
				return err
			}, true, true, func() { wantN, wantS = 1, 2 }},
			{"insert outside the range", func(w *livedb.Writer) (err error) {
				out, err = w.Insert("tasks", livedb.Doc{"wf": "w2", "status": "a", "cost": 5.0})
				return err
			}, false, false, nil},
			{"patch another field in the range", func(w *livedb.Writer) error {
				return w.Patch(in, livedb.Doc{"note": "x"})
			}, false, false, nil},
			{"move inside the range", func(w *livedb.Writer) error {
				return w.Patch(in, livedb.Doc{"status": "b"})
			}, false, false, nil},
			{"patch the summed field in the range", func(w *livedb.Writer) error {
				return w.Patch(in, livedb.Doc{"cost": 3.0})
			}, false, true, func() { wantS = 3 }},
			{"patch the summed field outside the range", func(w *livedb.Writer) error {
				return w.Patch(out, livedb.Doc{"cost": 6.0})
			}, false, false, nil},
			{"insert without the summed field into the range", func(w *livedb.Writer) error {
				_, err := w.Insert("tasks", livedb.Doc{"wf": "w1", "status": "c"})
				return err
			}, true, false, func() { wantN = 2 }},
			{"move a document into the range", func(w *livedb.Writer) error {
				return w.Patch(out, livedb.Doc{"wf": "w1"})
			}, true, true, func() { wantN, wantS = 3, 9 }},
			{"delete a document of the range", func(w *livedb.Writer) error {
				return w.Delete(in)
			}, true, true, func() { wantN, wantS = 2, 6 }},
		}
		for _, st := range steps {
			beforeN, beforeS := livedb.SubscriptionReruns(count), livedb.SubscriptionReruns(sum)
			_, err := db.MutationTS(context.Background(), func(m *livedb.MutationCtx) error { return st.write(m.DB) })
			require.NoError(t, err, st.name)
			if st.apply != nil {
				st.apply()
			}
			if st.countRerun {
				assert.Equal(t, wantN, rxNext(t, count).Value, st.name)
				assert.Equal(t, beforeN+1, livedb.SubscriptionReruns(count), "%s: count re-runs once", st.name)
			} else {
				rxNone(t, count)
				assert.Equal(t, beforeN, livedb.SubscriptionReruns(count), "%s: count re-ran", st.name)
			}
			if st.sumRerun {
				assert.Equal(t, wantS, rxNext(t, sum).Value, st.name)
				assert.Equal(t, beforeS+1, livedb.SubscriptionReruns(sum), "%s: sum re-runs once", st.name)
			} else {
				rxNone(t, sum)
				assert.Equal(t, beforeS, livedb.SubscriptionReruns(sum), "%s: sum re-ran", st.name)
			}
		}
	})
}

// TestQuery_Count_ConcurrentInsertsDoNotConflict: mutations that insert
// into one aggregate's range at the same time all commit without a re-run
// (the rows are blind writes of the committer), while a mutation that
// read the count conflicts with them.
func TestQuery_Count_ConcurrentInsertsDoNotConflict(t *testing.T) {
	forEachBackend(t, aggSchema(), func(t *testing.T, db *livedb.DB) {
		const n = 4
		var ready sync.WaitGroup
		ready.Add(n)
		var once [n]sync.Once
		before := db.Stats().Retries
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					_, err := m.DB.Insert("tasks", livedb.Doc{"wf": "w1", "status": "a", "cost": 1.0})
					once[i].Do(func() { ready.Done(); ready.Wait() })
					return err
				})
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		assert.Equal(t, before, db.Stats().Retries, "an insert re-ran")
		got, err := livedb.QueryValue(context.Background(), db, func(q *livedb.QueryCtx) (int64, error) {
			return q.DB.Query("tasks").WithIndex("by_wf_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("wf", "w1") }).Count()
		})
		require.NoError(t, err)
		assert.Equal(t, int64(n), got)

		// A mutation that counted, then an insert commits before it: it
		// re-runs and sees the insert.
		runs := 0
		var seen int64
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			runs++
			c, err := m.DB.Query("tasks").WithIndex("by_wf_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("wf", "w1").Eq("status", "a") }).Count()
			if err != nil {
				return err
			}
			seen = c
			if runs == 1 {
				mustMutate(t, db, func(m *livedb.MutationCtx) error {
					_, err := m.DB.Insert("tasks", livedb.Doc{"wf": "w1", "status": "a"})
					return err
				})
			}
			_, err = m.DB.Insert("tasks", livedb.Doc{"wf": "w2", "status": "a", "note": fmt.Sprint(c)})
			return err
		})
		assert.Equal(t, 2, runs, "the counting mutation conflicts once")
		assert.Equal(t, int64(n+1), seen)
	})
}

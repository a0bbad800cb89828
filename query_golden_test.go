package livedb

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/internal/kv/memkv"
	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/v"
)

// The golden query tests read testdata/query/*.txt: blocks of "key: value"
// lines, a "----" line and the expected output, separated by blank lines.
// Keys: table (default items; strs holds strings, bytes and objects whose
// keys extend one another), index (default by_creation_time), order
// (asc|desc), range (terms separated by ";", each "op field value" with op
// eq|gt|gte|lt|lte and a value in Convex-JSON, or 5n for an int64, or
// undefined), filter (an expression in the language of testdata/filter,
// e.g. (eq (field a) 1)), take, paginate (space-separated numItems=N,
// maxRows=M, maxBytes=B). A paginate case walks the pages until done and,
// for each page, checks that re-running it with EndCursor set to its
// ContinueCursor, and splitting it at its SplitCursor, give the same page.
// Run with -update to rewrite the expected outputs.

// goldenSchema indexes a table of mixed values.
func goldenSchema() *Schema {
	return DefineSchema(Tables{
		"items": DefineTable(v.Any()).Index("by_a", "a").Index("by_a_b", "a", "b").Index("by_nested", "m.k"),
		"strs":  DefineTable(v.Any()).Index("by_s", "s").Index("by_s_t", "s", "t"),
	})
}

// goldenStrs are the rows of table strs: values whose sort keys are
// prefixes of one another's ("run" is 'run' 00, "run\x00x" is 'run' 00 FF
// 'x' 00; {} is 15 00, {"": 1} is 15 00 FF ...).
var goldenStrs = []map[string]any{
	{"n": "missing"},
	{"n": "empty", "s": ""},
	{"n": "nul", "s": "\x00"},
	{"n": "run", "s": "run", "t": int64(1)},
	{"n": "run2", "s": "run", "t": int64(2)},
	{"n": "run-nul", "s": "run\x00"},
	{"n": "run-nul-x", "s": "run\x00x", "t": int64(1)},
	{"n": "run-nul-nul", "s": "run\x00\x00"},
	{"n": "run-x", "s": "runx"},
	{"n": "bytes", "s": []byte{}},
	{"n": "bytes-0", "s": []byte{0}},
	{"n": "bytes-00", "s": []byte{0, 0}},
	{"n": "bytes-01", "s": []byte{0, 1}},
	{"n": "bytes-1", "s": []byte{1}},
	{"n": "arr-run", "s": []any{"run"}},
	{"n": "arr-run-nul-x", "s": []any{"run\x00x"}},
	{"n": "obj", "s": map[string]any{}},
	{"n": "obj-empty-name", "s": map[string]any{"": 1.0}},
	{"n": "obj-a", "s": map[string]any{"a": 1.0}},
}

// goldenDocs are the rows of the golden tests; each has a label n.
var goldenDocs = []map[string]any{
	{"n": "missing"},
	{"n": "null", "a": nil},
	{"n": "int-1", "a": int64(-1)},
	{"n": "int0", "a": int64(0), "b": "x"},
	{"n": "int0b", "a": int64(0), "b": "y"},
	{"n": "int1", "a": int64(1)},
	{"n": "float-0", "a": math.Copysign(0, -1)},
	{"n": "float0", "a": 0.0},
	{"n": "inf", "a": math.Inf(1)},
	{"n": "nan", "a": math.NaN()},
	{"n": "float1", "a": 1.0, "b": int64(5)},
	{"n": "float1b", "a": 1.0, "b": int64(7)},
	{"n": "false", "a": false},
	{"n": "true", "a": true},
	{"n": "str-a", "a": "a", "m": map[string]any{"k": "deep"}},
	{"n": "str-b", "a": "b", "m": "not an object"},
	{"n": "bytes", "a": []byte{0, 1}},
	{"n": "arr", "a": []any{int64(1)}},
	{"n": "arr2", "a": []any{int64(1), int64(2)}},
	{"n": "obj", "a": map[string]any{"x": 1.0}},
}

func parseGoldenValue(s string) (any, error) {
	switch {
	case s == "undefined":
		return value.Undefined, nil
	case strings.HasSuffix(s, "n"):
		if i, err := strconv.ParseInt(strings.TrimSuffix(s, "n"), 10, 64); err == nil {
			return i, nil
		}
	}
	return convexjson.Decode([]byte(s))
}

func parseGoldenRange(spec string) (func(IndexRange) IndexRange, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	var terms []rangeTerm
	for _, t := range strings.Split(spec, ";") {
		parts := strings.SplitN(strings.TrimSpace(t), " ", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("bad range term %q", t)
		}
		x, err := parseGoldenValue(parts[2])
		if err != nil {
			return nil, err
		}
		op := map[string]rangeOp{"eq": rangeEq, "gt": rangeGt, "gte": rangeGte, "lt": rangeLt, "lte": rangeLte}[parts[0]]
		terms = append(terms, rangeTerm{op: op, field: parts[1], value: x})
	}
	return func(r IndexRange) IndexRange {
		for _, t := range terms {
			r = r.with(t.op, t.field, t.value)
		}
		return r
	}, nil
}

type goldenCase struct {
	header []string
	keys   map[string]string
	want   string
}

func readGolden(t *testing.T, path string) []goldenCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	for _, block := range strings.Split(strings.TrimSpace(string(b)), "\n\n") {
		head, want, _ := strings.Cut(block, "----\n")
		head = strings.TrimSuffix(head, "----")
		c := goldenCase{keys: map[string]string{}, want: strings.TrimSpace(want)}
		for _, line := range strings.Split(strings.TrimSpace(head), "\n") {
			c.header = append(c.header, line)
			if strings.HasPrefix(line, "#") {
				continue
			}
			k, val, _ := strings.Cut(line, ":")
			c.keys[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
		cases = append(cases, c)
	}
	return cases
}

func writeGolden(t *testing.T, path string, cases []goldenCase, got []string) {
	t.Helper()
	var b strings.Builder
	for i, c := range cases {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(strings.Join(c.header, "\n"))
		b.WriteString("\n----\n")
		b.WriteString(got[i])
		b.WriteString("\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runGoldenCase runs one case and prints its result.
func runGoldenCase(q *Query, c goldenCase) string {
	labels := func(docs []Doc) string {
		out := make([]string, len(docs))
		for i, d := range docs {
			out[i] = d["n"].(string)
		}
		return "[" + strings.Join(out, " ") + "]"
	}
	if p, ok := c.keys["paginate"]; ok {
		opts, err := parseGoldenPaginate(p)
		if err != nil {
			return "bad paginate: " + err.Error()
		}
		var out []string
		describe := q.describe()
		// again is a new run of the same query.
		again := func() *Query {
			return &Query{tx: q.tx, table: q.table, t: q.t, ix: q.ix, rng: q.rng, order: q.order, orderSet: q.orderSet, filters: q.filters, preds: q.preds}
		}
		for page := 0; page < 20; page++ {
			res, err := q.Paginate(opts)
			if err != nil {
				out = append(out, "error: "+err.Error())
				break
			}
			out = append(out, fmt.Sprintf("page %s isDone=%v status=%q split=%v", labels(res.Page), res.IsDone, res.PageStatus, res.SplitCursor != ""))
			// Re-running the page up to its end cursor, or as two halves
			// split at its split cursor, gives the same page.
			rerun, err := again().Paginate(PaginationOptions{Cursor: opts.Cursor, EndCursor: res.ContinueCursor})
			if err != nil || labels(rerun.Page) != labels(res.Page) || rerun.IsDone != res.IsDone || rerun.ContinueCursor != res.ContinueCursor {
				return fmt.Sprintf("error: page %d re-run to its end cursor gave %s isDone=%v (%v)", page, labels(rerun.Page), rerun.IsDone, err)
			}
			if res.SplitCursor != "" {
				a, errA := again().Paginate(PaginationOptions{Cursor: opts.Cursor, EndCursor: res.SplitCursor})
				b, errB := again().Paginate(PaginationOptions{Cursor: res.SplitCursor, EndCursor: res.ContinueCursor})
				if errA != nil || errB != nil || labels(append(a.Page, b.Page...)) != labels(res.Page) {
					return fmt.Sprintf("error: page %d split into %s and %s (%v, %v)", page, labels(a.Page), labels(b.Page), errA, errB)
				}
			}
			if res.IsDone {
				break
			}
			opts.Cursor = res.ContinueCursor
			nq := again()
			if nq.describe() != describe {
				return "error: query description changed"
			}
			q = nq
		}
		return strings.Join(out, "\n")
	}
	var docs []Doc
	var err error
	if n, ok := c.keys["take"]; ok {
		k, _ := strconv.Atoi(n)
		docs, err = q.Take(k)
	} else {
		docs, err = q.Collect()
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return labels(docs)
}

// parseGoldenPaginate reads "numItems=N maxRows=M maxBytes=B" (any subset,
// any order).
func parseGoldenPaginate(spec string) (PaginationOptions, error) {
	var opts PaginationOptions
	for _, kv := range strings.Fields(spec) {
		k, val, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return opts, fmt.Errorf("%s: %w", kv, err)
		}
		switch k {
		case "numItems":
			opts.NumItems = int(n)
		case "maxRows":
			opts.MaximumRowsRead = int(n)
		case "maxBytes":
			opts.MaximumBytesRead = int(n)
		default:
			return opts, fmt.Errorf("unknown option %q", k)
		}
	}
	return opts, nil
}

func TestQuery_Golden(t *testing.T) {
	files, _ := filepath.Glob("testdata/query/*.txt")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	stores := map[string]func(t *testing.T) *DB{
		"memory": func(t *testing.T) *DB {
			// The golden files query a table that does not exist, under
			// Convex's rule that allows it.
			db, err := open(memkv.New(), "", goldenSchema(), (&Options{AllowUndeclaredTables: true}).withDefaults())
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
		"bbolt": func(t *testing.T) *DB {
			db, err := Open(filepath.Join(t.TempDir(), "g.db"), goldenSchema(), &Options{NoSync: true, AllowUndeclaredTables: true})
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
	}
	for name, openDB := range stores {
		t.Run(name, func(t *testing.T) {
			db := openDB(t)
			defer db.Close()
			ctx := context.Background()
			err := db.Mutation(ctx, func(m *MutationCtx) error {
				for _, d := range goldenDocs {
					if _, err := m.DB.Insert("items", Doc(d)); err != nil {
						return err
					}
				}
				for _, d := range goldenStrs {
					if _, err := m.DB.Insert("strs", Doc(d)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				cases := readGolden(t, f)
				got := make([]string, len(cases))
				for i, c := range cases {
					err := db.Query(ctx, func(qc *QueryCtx) error {
						table := c.keys["table"]
						if table == "" {
							table = "items"
						}
						q := qc.DB.Query(table)
						if ix := c.keys["index"]; ix != "" {
							rng, err := parseGoldenRange(c.keys["range"])
							if err != nil {
								return err
							}
							q = q.WithIndex(ix, rng)
						}
						if c.keys["order"] == "desc" {
							q = q.Order(Desc)
						}
						if f := c.keys["filter"]; f != "" {
							e, err := parseFilterExpr(f)
							if err != nil {
								return fmt.Errorf("filter %s: %w", f, err)
							}
							q = q.Filter(func(FilterBuilder) Expr { return e })
						}
						got[i] = runGoldenCase(q, c)
						return nil
					})
					if err != nil {
						t.Fatalf("%s case %d: %v", f, i, err)
					}
					if !*updateFilter && got[i] != c.want {
						t.Errorf("%s: %s\n got: %s\nwant: %s", f, strings.Join(c.header, " / "), got[i], c.want)
					}
				}
				if *updateFilter && name == "memory" {
					writeGolden(t, f, cases, got)
				}
			}
		})
	}
}

// TestQuery_Order_CreationTimeTiesBrokenByID gives many documents the same
// _creationTime (which inserts never do: the clock is forced) and checks
// that every index breaks the tie by _id, reversed for Desc, on both
// backends and through a mutation's own writes.
func TestQuery_Order_CreationTimeTiesBrokenByID(t *testing.T) {
	const ct = 1700000000000.0
	for _, name := range []string{"memory", "bbolt"} {
		t.Run(name, func(t *testing.T) {
			var db *DB
			var err error
			if name == "memory" {
				db, err = OpenMemory(goldenSchema())
			} else {
				db, err = Open(filepath.Join(t.TempDir(), "ties.db"), goldenSchema(), &Options{NoSync: true})
			}
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := db.Check(context.Background()); err != nil {
					t.Error(err)
				}
				db.Close()
			}()
			var ids []string
			check := func(r *Reader, what string) {
				t.Helper()
				asc := slices.Clone(ids)
				slices.Sort(asc)
				desc := slices.Clone(asc)
				slices.Reverse(desc)
				for _, tc := range []struct {
					index string
					rng   func(IndexRange) IndexRange
					order Order
					want  []string
				}{
					{"by_creation_time", nil, Asc, asc},
					{"by_creation_time", nil, Desc, desc},
					{"by_a", func(r IndexRange) IndexRange { return r.Eq("a", "same") }, Asc, asc},
					{"by_a", func(r IndexRange) IndexRange { return r.Eq("a", "same") }, Desc, desc},
					{"by_a", func(r IndexRange) IndexRange { return r.Eq("a", "same").Eq("_creationTime", ct) }, Desc, desc},
					{"by_a", func(r IndexRange) IndexRange {
						return r.Eq("a", "same").Eq("_creationTime", ct).Gt("_id", asc[2]).Lte("_id", asc[5])
					}, Asc, asc[3:6]},
				} {
					docs, err := r.Query("items").WithIndex(tc.index, tc.rng).Order(tc.order).Collect()
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					got := make([]string, len(docs))
					for i, d := range docs {
						got[i] = string(d.ID())
						if d.CreationTime() != ct {
							t.Fatalf("%s: _creationTime %v, want %v", what, d.CreationTime(), ct)
						}
					}
					if !slices.Equal(got, tc.want) {
						t.Errorf("%s: %s %s:\n got %v\nwant %v", what, tc.index, tc.order, got, tc.want)
					}
				}
			}
			insert := func(m *MutationCtx, n int) {
				for range n {
					m.DB.tx.creationTime = ct // every insert gets the same _creationTime
					id, err := m.DB.Insert("items", Doc{"a": "same"})
					if err != nil {
						t.Fatal(err)
					}
					ids = append(ids, string(id))
				}
			}
			// The mutation functions may be re-run after a conflict: each
			// run starts from the committed IDs.
			if err := db.Mutation(context.Background(), func(m *MutationCtx) error {
				ids = nil
				insert(m, 12)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			committed := slices.Clone(ids)
			if err := db.Mutation(context.Background(), func(m *MutationCtx) error {
				ids = slices.Clone(committed)
				insert(m, 8) // merged with the snapshot's
				check(&m.DB.Reader, "mutation")
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := db.Query(context.Background(), func(q *QueryCtx) error {
				check(q.DB, "query")
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

package livedb

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
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
// Keys: index (default by_creation_time), order (asc|desc), range (terms
// separated by ";", each "op field value" with op eq|gt|gte|lt|lte and a
// value in Convex-JSON, or 5n for an int64, or undefined), take, paginate
// ("numItems=N maxRows=M"), walk (pages to walk, default until done).
// Run with -update to rewrite the expected outputs.

// goldenSchema indexes a table of mixed values.
func goldenSchema() *Schema {
	return DefineSchema(Tables{
		"items": DefineTable(v.Any()).Index("by_a", "a").Index("by_a_b", "a", "b").Index("by_nested", "m.k"),
	})
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
		var opts PaginationOptions
		fmt.Sscanf(p, "numItems=%d maxRows=%d", &opts.NumItems, &opts.MaximumRowsRead)
		var out []string
		describe := q.describe()
		for page := 0; page < 20; page++ {
			res, err := q.Paginate(opts)
			if err != nil {
				out = append(out, "error: "+err.Error())
				break
			}
			out = append(out, fmt.Sprintf("page %s isDone=%v status=%q split=%v", labels(res.Page), res.IsDone, res.PageStatus, res.SplitCursor != ""))
			if res.IsDone {
				break
			}
			opts.Cursor = res.ContinueCursor
			// The next page is a new run of the same query.
			nq := &Query{tx: q.tx, table: q.table, t: q.t, ix: q.ix, rng: q.rng, order: q.order, orderSet: q.orderSet}
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

func TestQuery_Golden(t *testing.T) {
	files, _ := filepath.Glob("testdata/query/*.txt")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	stores := map[string]func(t *testing.T) *DB{
		"memory": func(t *testing.T) *DB {
			db, err := open(memkv.New(), "", goldenSchema(), (*Options)(nil).withDefaults())
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
		"bbolt": func(t *testing.T) *DB {
			db, err := Open(filepath.Join(t.TempDir(), "g.db"), goldenSchema(), &Options{NoSync: true})
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
						q := qc.DB.Query("items")
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

package livedb_test

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// The randomized query test checks queries on random documents against a
// naive model: sort every document by its index tuple with the reference
// order (refCompare, independent of the engine's), keep those in the range
// and passing the filter, reverse for Desc.
//
//	LIVEDB_QUERY_SEED=n  replays one seed (the seed is logged by every run)
//	-long or LIVEDB_LONG=1  runs many more rounds and larger tables

func init() {
	// -long may be defined by another test file of the package too; the
	// first definition wins and every reader uses flag.Lookup.
	if flag.Lookup("long") == nil {
		flag.Bool("long", false, "run the long variants of randomized tests")
	}
}

// qrLong reports whether the long variant was asked for.
func qrLong() bool {
	if os.Getenv("LIVEDB_LONG") == "1" {
		return true
	}
	f := flag.Lookup("long")
	return f != nil && f.Value.String() == "true"
}

// qrSeed returns the seed to use and logs how to replay it.
func qrSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("LIVEDB_QUERY_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "LIVEDB_QUERY_SEED")
		seed = n
	}
	t.Logf("seed %d (replay with LIVEDB_QUERY_SEED=%d)", seed, seed)
	return seed
}

// qrIndexes are the indexes of the random table "r" and their fields.
var qrIndexes = []struct {
	name   string
	fields []string
}{
	{"by_creation_time", nil},
	{"by_a", []string{"a"}},
	{"by_a_b", []string{"a", "b"}},
	{"by_nested", []string{"m.x"}},
}

func qrSchema() *livedb.Schema {
	t := livedb.DefineTable(v.Any())
	for _, ix := range qrIndexes[1:] {
		t = t.Index(ix.name, ix.fields...)
	}
	return livedb.DefineSchema(livedb.Tables{"r": t})
}

// qrPool is the values random fields take: every type, the special floats,
// strings and bytes that extend others with a NUL (their keys extend the
// shorter one's key with the escape byte), and Undefined for a missing
// field. Small, so that equalities hit.
var qrPool = []any{
	livedb.Undefined, nil,
	int64(-1), int64(0), int64(1), int64(7),
	math.Inf(-1), math.Copysign(0, -1), 0.0, 1.0, 2.5, math.Inf(1), math.NaN(),
	false, true,
	"", "\x00", "a", "a\x00", "a\x00b", "ab", "b",
	[]byte{}, []byte{0}, []byte{0, 1}, []byte{1},
	[]any{}, []any{int64(1)}, []any{int64(1), "x"},
	map[string]any{}, map[string]any{"": 1.0}, map[string]any{"x": 1.0},
}

// qrGen makes random documents, ranges and filters.
type qrGen struct {
	rnd *rand.Rand
	c   int64 // next value of field c
}

func (g *qrGen) value() any { return qrPool[g.rnd.IntN(len(qrPool))] }

// doc returns a random document: a, b and m.x from the pool (possibly
// missing), m sometimes not an object, c a distinct Int64, s a string.
func (g *qrGen) doc() livedb.Doc {
	d := livedb.Doc{"c": g.c, "s": strconv.Itoa(g.rnd.IntN(5))}
	g.c++
	for _, f := range []string{"a", "b"} {
		if x := g.value(); x != livedb.Undefined {
			d[f] = x
		}
	}
	switch g.rnd.IntN(4) {
	case 0: // no m
	case 1:
		d["m"] = g.value()
		if d["m"] == livedb.Undefined {
			delete(d, "m")
		}
	default:
		m := map[string]any{}
		if x := g.value(); x != livedb.Undefined {
			m["x"] = x
		}
		d["m"] = m
	}
	return d
}

// qrTerm is one term of a random index range.
type qrTerm struct {
	op    string // eq, gt, gte, lt, lte
	field string
	value any
}

// qrQuery is a random query and what the model needs to answer it.
type qrQuery struct {
	index   int
	terms   []qrTerm
	order   livedb.Order
	filter  *qrExpr
	modFunc int64 // > 0: a FilterFunc keeping c % modFunc != 0
}

func (q qrQuery) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", qrIndexes[q.index].name, q.order)
	for _, t := range q.terms {
		fmt.Fprintf(&b, " .%s(%s, %s)", t.op, t.field, qrFormat(t.value))
	}
	if q.filter != nil {
		fmt.Fprintf(&b, " filter %s", q.filter)
	}
	if q.modFunc > 0 {
		fmt.Fprintf(&b, " func c%%%d!=0", q.modFunc)
	}
	return b.String()
}

func qrFormat(x any) string {
	if x == livedb.Undefined {
		return "undefined"
	}
	return fmt.Sprintf("%T(%v)", x, x)
}

// query picks a random query: an index, an equality prefix, optional
// bounds on the next column, an order and filters. Values come from the
// pool or from existing documents, so that ranges are rarely empty.
func (g *qrGen) query(docs []livedb.Doc) qrQuery {
	q := qrQuery{index: g.rnd.IntN(len(qrIndexes))}
	if g.rnd.IntN(2) == 0 {
		q.order = livedb.Desc
	}
	cols := append(slices.Clone(qrIndexes[q.index].fields), "_creationTime", "_id")
	// Values mostly come from one base document, so that an equality prefix
	// on several columns matches something; bounds from any document.
	var base []any
	if len(docs) > 0 {
		base = qtIndexTuple(docs[g.rnd.IntN(len(docs))], cols[:len(cols)-2])
	}
	pick := func(col int, fromBase bool) any {
		switch {
		case len(docs) > 0 && fromBase && g.rnd.IntN(4) > 0:
			return base[col]
		case len(docs) > 0 && g.rnd.IntN(3) > 0:
			return qtIndexTuple(docs[g.rnd.IntN(len(docs))], cols[:len(cols)-2])[col]
		case cols[col] == "_creationTime":
			return float64(time.Now().UnixMilli()) - float64(g.rnd.IntN(2000))
		case cols[col] == "_id":
			return "j" + strings.Repeat(string(rune('0'+g.rnd.IntN(10))), 31)
		}
		return g.value()
	}
	eqs := g.rnd.IntN(len(cols)) // never every column: _id stays free
	for i := range eqs {
		q.terms = append(q.terms, qrTerm{op: "eq", field: cols[i], value: pick(i, true)})
	}
	var lower, upper *qrTerm
	if g.rnd.IntN(2) == 0 {
		lower = &qrTerm{op: []string{"gt", "gte"}[g.rnd.IntN(2)], field: cols[eqs], value: pick(eqs, false)}
	}
	if g.rnd.IntN(2) == 0 {
		upper = &qrTerm{op: []string{"lt", "lte"}[g.rnd.IntN(2)], field: cols[eqs], value: pick(eqs, false)}
	}
	if lower != nil && upper != nil && refCompare(lower.value, upper.value) > 0 && g.rnd.IntN(4) > 0 {
		lower.value, upper.value = upper.value, lower.value // mostly a non-empty interval
	}
	for _, b := range []*qrTerm{lower, upper} {
		if b != nil {
			q.terms = append(q.terms, *b)
		}
	}
	// Convex's grammar allows the equalities in any order.
	if g.rnd.IntN(4) == 0 {
		g.rnd.Shuffle(len(q.terms), func(i, j int) { q.terms[i], q.terms[j] = q.terms[j], q.terms[i] })
	}
	if g.rnd.IntN(3) > 0 {
		q.filter = g.expr(2, docs)
	}
	if g.rnd.IntN(4) == 0 {
		q.modFunc = int64(2 + g.rnd.IntN(3))
	}
	return q
}

// qrExpr is a random filter expression that never fails: comparisons of a
// field with a literal, c % n == 0, and the logical operators.
type qrExpr struct {
	op    string // eq neq lt lte gt gte mod and or not
	field string
	lit   any
	subs  []*qrExpr
}

func (e *qrExpr) String() string {
	switch e.op {
	case "and", "or", "not":
		parts := make([]string, len(e.subs))
		for i, s := range e.subs {
			parts[i] = s.String()
		}
		return e.op + "(" + strings.Join(parts, ", ") + ")"
	case "mod":
		return fmt.Sprintf("c%%%v==0", e.lit)
	}
	return fmt.Sprintf("%s(%s, %s)", e.op, e.field, qrFormat(e.lit))
}

func (g *qrGen) expr(depth int, docs []livedb.Doc) *qrExpr {
	if depth > 0 && g.rnd.IntN(3) == 0 {
		switch g.rnd.IntN(3) {
		case 0:
			return &qrExpr{op: "not", subs: []*qrExpr{g.expr(depth-1, docs)}}
		case 1:
			return &qrExpr{op: "and", subs: []*qrExpr{g.expr(depth-1, docs), g.expr(depth-1, docs)}}
		default:
			return &qrExpr{op: "or", subs: []*qrExpr{g.expr(depth-1, docs), g.expr(depth-1, docs)}}
		}
	}
	if g.rnd.IntN(5) == 0 {
		return &qrExpr{op: "mod", lit: int64(2 + g.rnd.IntN(3))}
	}
	ops := []string{"eq", "neq", "lt", "lte", "gt", "gte"}
	fields := []string{"a", "b", "m.x", "s", "m"}
	e := &qrExpr{op: ops[g.rnd.IntN(len(ops))], field: fields[g.rnd.IntN(len(fields))], lit: g.value()}
	if len(docs) > 0 && g.rnd.IntN(2) == 0 { // a value some document has
		e.lit = qtIndexTuple(docs[g.rnd.IntN(len(docs))], []string{e.field})[0]
	}
	return e
}

// build turns the expression into a livedb filter.
func (e *qrExpr) build(f livedb.FilterBuilder) livedb.Expr {
	subs := make([]any, len(e.subs))
	for i, s := range e.subs {
		subs[i] = s.build(f)
	}
	switch e.op {
	case "and":
		return f.And(subs...)
	case "or":
		return f.Or(subs...)
	case "not":
		return f.Not(subs[0])
	case "mod":
		return f.Eq(f.Mod(f.Field("c"), e.lit), int64(0))
	}
	l, r := f.Field(e.field), f.Literal(e.lit)
	return map[string]func(a, b any) livedb.Expr{
		"eq": f.Eq, "neq": f.Neq, "lt": f.Lt, "lte": f.Lte, "gt": f.Gt, "gte": f.Gte,
	}[e.op](l, r)
}

// eval is the model of the expression.
func (e *qrExpr) eval(d livedb.Doc) bool {
	switch e.op {
	case "and":
		return e.subs[0].eval(d) && e.subs[1].eval(d)
	case "or":
		return e.subs[0].eval(d) || e.subs[1].eval(d)
	case "not":
		return !e.subs[0].eval(d)
	case "mod":
		return d["c"].(int64)%e.lit.(int64) == 0
	}
	c := refCompare(qtIndexTuple(d, []string{e.field})[0], e.lit)
	return comparisonHolds(e.op, c)
}

// build makes the livedb query.
func (q qrQuery) build(r *livedb.Reader) *livedb.Query {
	lq := r.Query("r")
	if q.index > 0 || len(q.terms) > 0 {
		lq = lq.WithIndex(qrIndexes[q.index].name, func(ir livedb.IndexRange) livedb.IndexRange {
			for _, t := range q.terms {
				switch t.op {
				case "eq":
					ir = ir.Eq(t.field, t.value)
				case "gt":
					ir = ir.Gt(t.field, t.value)
				case "gte":
					ir = ir.Gte(t.field, t.value)
				case "lt":
					ir = ir.Lt(t.field, t.value)
				case "lte":
					ir = ir.Lte(t.field, t.value)
				}
			}
			return ir
		})
	}
	lq = lq.Order(q.order)
	if q.filter != nil {
		lq = lq.Filter(q.filter.build)
	}
	if q.modFunc > 0 {
		lq = lq.FilterFunc(func(d livedb.Doc) (bool, error) { return d["c"].(int64)%q.modFunc != 0, nil })
	}
	return lq
}

// inRange is the model of the index range.
func (q qrQuery) inRange(d livedb.Doc) bool {
	cols := append(slices.Clone(qrIndexes[q.index].fields), "_creationTime", "_id")
	tup := qtIndexTuple(d, cols[:len(cols)-2])
	for _, t := range q.terms {
		c := refCompare(tup[slices.Index(cols, t.field)], t.value)
		ok := map[string]bool{"eq": c == 0, "gt": c > 0, "gte": c >= 0, "lt": c < 0, "lte": c <= 0}[t.op]
		if !ok {
			return false
		}
	}
	return true
}

// matches is the model of range and filters.
func (q qrQuery) matches(d livedb.Doc) bool {
	return q.inRange(d) && (q.filter == nil || q.filter.eval(d)) && (q.modFunc == 0 || d["c"].(int64)%q.modFunc != 0)
}

// want is the model's answer over docs.
func (q qrQuery) want(docs map[livedb.ID]livedb.Doc) []livedb.ID {
	var keep []livedb.Doc
	for _, d := range docs {
		if q.matches(d) {
			keep = append(keep, d)
		}
	}
	q.sort(keep)
	return qtIDs(keep)
}

// sort orders docs as the query's index scan does.
func (q qrQuery) sort(docs []livedb.Doc) {
	fields := qrIndexes[q.index].fields
	slices.SortFunc(docs, func(a, b livedb.Doc) int {
		c := qtCompareTuples(qtIndexTuple(a, fields), qtIndexTuple(b, fields))
		if q.order == livedb.Desc {
			return -c
		}
		return c
	})
}

// qrModel is the database content as the test knows it.
type qrModel struct {
	docs map[livedb.ID]livedb.Doc
}

// insert adds docs through db and records them with their system fields.
func (m *qrModel) insert(t *testing.T, db *livedb.DB, docs []livedb.Doc) []livedb.ID {
	t.Helper()
	var ids []livedb.ID
	mustMutate(t, db, func(mc *livedb.MutationCtx) error {
		ids = ids[:0]
		for _, d := range docs {
			id, err := mc.DB.Insert("r", d)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	qtRead(t, db, func(r *livedb.Reader) error {
		for i, id := range ids {
			got, ok, err := r.Get(id)
			require.NoError(t, err)
			require.True(t, ok)
			for k, x := range docs[i] {
				require.True(t, refEqual(x, got[k]), "field %s of %s: inserted %s, read %s", k, id, qrFormat(x), qrFormat(got[k]))
			}
			m.docs[id] = got
		}
		return nil
	})
	return ids
}

// sorted returns the documents in insertion order (by field c), so that a
// seed replays the same choices. (IDs and creation times still differ from
// run to run.)
func (m *qrModel) sorted() []livedb.Doc {
	docs := make([]livedb.Doc, 0, len(m.docs))
	for _, d := range m.docs {
		docs = append(docs, d)
	}
	slices.SortFunc(docs, func(a, b livedb.Doc) int { return int(a["c"].(int64) - b["c"].(int64)) })
	return docs
}

func (m *qrModel) delete(t *testing.T, db *livedb.DB, ids []livedb.ID) {
	t.Helper()
	mustMutate(t, db, func(mc *livedb.MutationCtx) error {
		for _, id := range ids {
			if err := mc.DB.Delete(id); err != nil {
				return err
			}
		}
		return nil
	})
	for _, id := range ids {
		delete(m.docs, id)
	}
}

// qrParams sizes a run.
type qrParams struct {
	rounds, docs, queries int
}

func TestQuery_Random(t *testing.T) {
	p := qrParams{rounds: 5, docs: 200, queries: 20}
	if qrLong() {
		p = qrParams{rounds: 40, docs: 4000, queries: 50}
	}
	seed := qrSeed(t)
	forEachBackend(t, qrSchema(), func(t *testing.T, db *livedb.DB) {
		rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		g := &qrGen{rnd: rnd}
		m := &qrModel{docs: map[livedb.ID]livedb.Doc{}}
		var st qrStats
		defer func() { t.Logf("%+v", st) }()
		for round := range p.rounds {
			// Grow the table a little each round, and delete some.
			batch := make([]livedb.Doc, p.docs/p.rounds+rnd.IntN(10))
			for i := range batch {
				batch[i] = g.doc()
			}
			m.insert(t, db, batch)
			var victims []livedb.ID
			for _, d := range m.sorted() {
				if rnd.IntN(8) == 0 {
					victims = append(victims, d.ID())
				}
			}
			m.delete(t, db, victims)
			docs := m.sorted()
			for qi := range p.queries {
				q := g.query(docs)
				st.add(qrCheckQuery(t, db, m, q, rnd, fmt.Sprintf("round %d query %d: %s", round, qi, q)))
			}
			q := g.query(docs)
			qrCheckChurn(t, db, m, g, q, rnd, fmt.Sprintf("round %d churn: %s", round, q))
		}
	})
}

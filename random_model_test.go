package livedb_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// Model-based randomized test: random sequences of inserts, patches,
// replaces, deletes, gets and indexed queries (random bounds, orders,
// filters, terminals and pagination, with writes between pages) run
// against each backend and against a deliberately naive model: a map of
// documents; a query sorts every document by its index tuple with
// livedb.Compare, keeps the ones in range, reverses for Desc, filters, and
// slices out pages. Any difference fails with the seed, the shortest
// failing op list found by shrinking, and its log.
//
// The default size runs in CI; -model.ops=100000 (or LIVEDB_MODEL_OPS)
// runs long, -model.seed (or LIVEDB_MODEL_SEED) replays a seed.

var (
	modelOpsFlag  = flag.Int("model.ops", 0, "operations per backend of TestDB_RandomModel (0: LIVEDB_MODEL_OPS or the CI size)")
	modelSeedFlag = flag.Uint64("model.seed", 0, "seed of TestDB_RandomModel (0: LIVEDB_MODEL_SEED or random)")
)

const (
	modelDefaultOps = 2000 // per backend, in CI
	modelSegment    = 2500 // ops per fresh database: keeps reproductions short
	modelTable      = "items"
)

func modelSchema() *livedb.Schema {
	anyOpt := v.Optional(v.Any())
	return livedb.DefineSchema(livedb.Tables{
		modelTable: livedb.DefineTable(v.Object(v.Fields{"a": anyOpt, "b": anyOpt, "c": anyOpt, "n": anyOpt})).
			Index("by_a", "a").
			Index("by_a_b", "a", "b").
			Index("by_cd", "c.d"),
	})
}

// modelIndexCols are the key columns of each index, as the model sorts.
var modelIndexCols = map[string][]string{
	"by_creation_time": {"_creationTime", "_id"},
	"by_id":            {"_id"},
	"by_a":             {"a", "_creationTime", "_id"},
	"by_a_b":           {"a", "b", "_creationTime", "_id"},
	"by_cd":            {"c.d", "_creationTime", "_id"},
}

var modelIndexNames = []string{"by_creation_time", "by_id", "by_a", "by_a_b", "by_cd"}

func TestDB_RandomModel(t *testing.T) {
	ops := *modelOpsFlag
	if ops <= 0 {
		ops, _ = strconv.Atoi(os.Getenv("LIVEDB_MODEL_OPS"))
	}
	if ops <= 0 {
		ops = modelDefaultOps
	}
	seed := *modelSeedFlag
	if seed == 0 {
		seed, _ = strconv.ParseUint(os.Getenv("LIVEDB_MODEL_SEED"), 10, 64)
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	for _, b := range modelBackends {
		t.Run(b.name, func(t *testing.T) {
			start := time.Now()
			var stats modelStats
			for seg := 0; seg*modelSegment < ops; seg++ {
				n := min(modelSegment, ops-seg*modelSegment)
				segSeed := seed + uint64(seg)
				log, err := runModelGenerated(t, b, segSeed, n, &stats)
				if err != nil {
					modelFail(t, b, segSeed, log, err)
				}
			}
			if stats.queries == 0 || stats.pages == 0 || stats.writes == 0 || stats.notFound == 0 {
				t.Fatalf("the run exercised too little: %s", stats)
			}
			t.Logf("seed %d: %d ops (%s) with no divergence in %v", seed, ops, stats, time.Since(start).Round(time.Millisecond))
		})
	}
}

// modelBackend opens a fresh database for one run.
type modelBackend struct {
	name string
	open func(dir string, n int) (*livedb.DB, error)
}

var modelBackends = []modelBackend{
	{"memory", func(string, int) (*livedb.DB, error) { return livedb.OpenMemory(modelSchema()) }},
	{"bbolt", func(dir string, n int) (*livedb.DB, error) {
		return livedb.Open(filepath.Join(dir, fmt.Sprintf("model-%d.db", n)), modelSchema(), &livedb.Options{NoSync: true})
	}},
}

// modelStats counts what a run exercised, so a run that tests little shows.
type modelStats struct {
	queries, pages, rows, writes, notFound int
}

func (s modelStats) String() string {
	return fmt.Sprintf("%d queries returning %d rows, %d pages, %d writes, %d refused writes to missing documents", s.queries, s.rows, s.pages, s.writes, s.notFound)
}

// modelFail shrinks the failing op list and fails the test with the
// shortest reproduction found.
func modelFail(t *testing.T, b modelBackend, seed uint64, log []*mOp, err error) {
	t.Helper()
	dir := t.TempDir()
	short := shrinkModelOps(b, dir, log, 60*time.Second)
	_, serr := runModelOps(b, dir, short, nil)
	var sb strings.Builder
	for i, op := range short {
		fmt.Fprintf(&sb, "  %3d %s\n", i, op)
	}
	t.Fatalf("backend %s, seed %d (replay: -run 'TestDB_RandomModel/%s' -model.seed=%d -model.ops=%d): divergence after %d ops: %v\n"+
		"shortest failing op list (%d ops), which fails with: %v\n%s",
		b.name, seed, b.name, seed, len(log), len(log), err, len(short), serr, sb.String())
}

// shrinkModelOps deletes ops from a failing list while it still fails:
// first the ops after the failure, then chunks of halving size.
func shrinkModelOps(b modelBackend, dir string, ops []*mOp, budget time.Duration) []*mOp {
	deadline := time.Now().Add(budget)
	fails := func(cand []*mOp) bool {
		_, err := runModelOps(b, dir, cand, nil)
		return err != nil
	}
	cur := slices.Clone(ops)
	for chunk := len(cur) / 2; chunk >= 1 && time.Now().Before(deadline); {
		removed := false
		for i := 0; i+chunk <= len(cur) && time.Now().Before(deadline); {
			cand := slices.Concat(cur[:i], cur[i+chunk:])
			if fails(cand) {
				cur, removed = cand, true
				continue
			}
			i += chunk
		}
		if !removed || chunk > len(cur)/2 {
			chunk /= 2
		}
	}
	// Simplify inside multi-op mutations and between pages.
	for _, op := range cur {
		for i := 0; i < len(op.sub) && time.Now().Before(deadline); {
			old := op.sub
			op.sub = slices.Concat(old[:i], old[i+1:])
			if fails(cur) {
				continue
			}
			op.sub = old
			i++
		}
	}
	return cur
}

// mKind is the kind of a model op.
type mKind int

const (
	mInsert mKind = iota
	mPatch
	mReplace
	mDelete
	mGet
	mQuery
	mMutation // several sub-ops in one transaction, possibly aborted
)

// mTerm is a query's terminal method.
type mTerm int

const (
	tCollect mTerm = iota
	tTake
	tFirst
	tUnique
	tAll // iterate, break after n
	tPaginate
)

// mOp is one op of a run. Documents are named by ref: the ref-th ID
// inserted in the run (modulo their count), so an op list stays meaningful
// when ops are deleted from it.
type mOp struct {
	kind   mKind
	ref    int
	badID  string         // get: a malformed ID instead of ref
	fields map[string]any // insert, patch (Undefined removes), replace
	q      *modelQuery
	sub    []*mOp // mMutation's ops; a paginate's writes between pages
	abort  bool   // mMutation: return an error after the ops
}

// modelQuery is a random query.
type modelQuery struct {
	index      string
	withIndex  bool // call WithIndex (by_creation_time is also the default)
	eqs        []any
	lower      *mBound
	upper      *mBound
	desc       bool
	setOrder   bool
	filter     *mFilter
	pred       bool // a FilterFunc keeping IDs whose last character is < 'm'
	term       mTerm
	n          int // Take, All, page size
	maxRows    int // Paginate's MaximumRowsRead
	checkSplit bool
	refetch    bool // re-read an earlier page with its cursors as (Cursor, EndCursor]
}

type mBound struct {
	strict bool
	x      any
}

// mFilter is a filter expression tree.
type mFilter struct {
	op    string // "eq", "neq", "lt", "lte", "gt", "gte", "and", "or", "not"
	field string
	lit   any
	kids  []*mFilter
}

func (op *mOp) String() string {
	var b strings.Builder
	switch op.kind {
	case mInsert:
		fmt.Fprintf(&b, "insert %s", modelFmtFields(op.fields))
	case mPatch:
		fmt.Fprintf(&b, "patch #%d %s", op.ref, modelFmtFields(op.fields))
	case mReplace:
		fmt.Fprintf(&b, "replace #%d %s", op.ref, modelFmtFields(op.fields))
	case mDelete:
		fmt.Fprintf(&b, "delete #%d", op.ref)
	case mGet:
		if op.badID != "" {
			fmt.Fprintf(&b, "get %q", op.badID)
		} else {
			fmt.Fprintf(&b, "get #%d", op.ref)
		}
	case mQuery:
		b.WriteString(op.q.String())
		if len(op.sub) > 0 {
			b.WriteString(" with writes between pages: [")
			for i, s := range op.sub {
				if i > 0 {
					b.WriteString("; ")
				}
				b.WriteString(s.String())
			}
			b.WriteString("]")
		}
	case mMutation:
		b.WriteString("mutation {")
		for i, s := range op.sub {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(s.String())
		}
		b.WriteString("}")
		if op.abort {
			b.WriteString(" then abort")
		}
	}
	return b.String()
}

func (q *modelQuery) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "query %s", q.index)
	cols := modelIndexCols[q.index]
	for i, x := range q.eqs {
		fmt.Fprintf(&b, ".eq(%s, %s)", cols[i], modelFmtVal(x))
	}
	if q.lower != nil {
		fmt.Fprintf(&b, ".%s(%s, %s)", map[bool]string{true: "gt", false: "gte"}[q.lower.strict], cols[len(q.eqs)], modelFmtVal(q.lower.x))
	}
	if q.upper != nil {
		fmt.Fprintf(&b, ".%s(%s, %s)", map[bool]string{true: "lt", false: "lte"}[q.upper.strict], cols[len(q.eqs)], modelFmtVal(q.upper.x))
	}
	if q.desc {
		b.WriteString(" desc")
	}
	if q.filter != nil {
		fmt.Fprintf(&b, " filter %s", q.filter)
	}
	if q.pred {
		b.WriteString(" filterFunc(id<'m')")
	}
	switch q.term {
	case tCollect:
		b.WriteString(" collect")
	case tTake:
		fmt.Fprintf(&b, " take(%d)", q.n)
	case tFirst:
		b.WriteString(" first")
	case tUnique:
		b.WriteString(" unique")
	case tAll:
		fmt.Fprintf(&b, " all/break after %d", q.n)
	case tPaginate:
		fmt.Fprintf(&b, " paginate(%d, maxRows=%d, split=%v, refetch=%v)", q.n, q.maxRows, q.checkSplit, q.refetch)
	}
	return b.String()
}

func (f *mFilter) String() string {
	switch f.op {
	case "and", "or", "not":
		parts := make([]string, len(f.kids))
		for i, k := range f.kids {
			parts[i] = k.String()
		}
		return f.op + "(" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprintf("%s(%s, %s)", f.op, f.field, modelFmtVal(f.lit))
}

func modelFmtVal(x any) string {
	if x == livedb.Undefined {
		return "undefined"
	}
	b, err := livedb.EncodeConvexJSON(x)
	if err != nil {
		return fmt.Sprintf("%#v", x)
	}
	return string(b)
}

func modelFmtFields(m map[string]any) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + modelFmtVal(m[k])
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// ---- generation ----

// modelGen generates ops from a seed, looking at the model's state so that
// most writes name live documents.
type modelGen struct {
	rng *rand.Rand
}

var modelStrings = []string{"", "a", "ab", "b", "ba", "z"}

// modelNULStrings and modelBytes include values equal to another followed
// by a NUL byte ("a\x00" after "a"), whose sort keys extend the other's:
// see TestQuery_WithIndex_NULExtendedValues.
var (
	modelNULStrings = []string{"a\x00", "\x00", "a\x00b"}
	modelBytes      = [][]byte{{}, {0}, {1}, {0, 1}, {1, 0}}
)

func (g *modelGen) value() any {
	r := g.rng
	switch r.IntN(12) {
	case 0:
		return nil
	case 1, 2:
		return int64(r.IntN(5) - 2)
	case 3, 4:
		return []float64{-1.5, 0, math.Copysign(0, -1), 1, 2.5, math.Inf(1), math.Inf(-1), math.NaN()}[r.IntN(8)]
	case 5:
		return r.IntN(2) == 0
	case 6, 7:
		if r.IntN(4) == 0 {
			return modelNULStrings[r.IntN(len(modelNULStrings))]
		}
		return modelStrings[r.IntN(len(modelStrings))]
	case 8:
		return modelBytesClone(modelBytes[r.IntN(len(modelBytes))])
	case 9:
		return [][]any{{}, {int64(1)}, {int64(1), "a"}, {"a"}}[r.IntN(4)]
	case 10:
		return []map[string]any{{}, {"x": int64(1)}, {"x": "a"}}[r.IntN(3)]
	default:
		return int64(r.IntN(3))
	}
}

// bound returns a range value for the column: a domain value for a user
// field, a nearby value for the system columns.
func (g *modelGen) bound(col string, run *modelRun) any {
	r := g.rng
	switch col {
	case "_id":
		if id := run.anyID(r.IntN(1 << 20)); id != "" && r.IntN(4) != 0 {
			return string(id)
		}
		return modelStrings[r.IntN(len(modelStrings))]
	case "_creationTime":
		if d := run.anyDoc(r.IntN(1 << 20)); d != nil && r.IntN(4) != 0 {
			ct := d["_creationTime"].(float64)
			switch r.IntN(3) {
			case 0:
				return math.Nextafter(ct, math.Inf(-1))
			case 1:
				return math.Nextafter(ct, math.Inf(1))
			}
			return ct
		}
		return float64(r.IntN(3)) * 1e12
	}
	return g.value()
}

func modelBytesClone(b []byte) []byte { return append([]byte{}, b...) }

func (g *modelGen) fields(patch bool) map[string]any {
	r := g.rng
	m := map[string]any{}
	for _, f := range []string{"a", "b"} {
		switch k := r.IntN(6); {
		case k < 4:
			m[f] = g.value()
		case k == 4 && patch:
			m[f] = livedb.Undefined
		}
	}
	switch r.IntN(6) {
	case 0, 1, 2:
		c := map[string]any{"d": g.value()}
		if r.IntN(3) == 0 {
			c["e"] = int64(r.IntN(3))
		}
		m["c"] = c
	case 3:
		m["c"] = g.value() // not an object: c.d is undefined
	case 4:
		if patch {
			m["c"] = livedb.Undefined
		}
	}
	if r.IntN(3) == 0 {
		m["n"] = strings.Repeat("n", r.IntN(40))
	}
	return m
}

func (g *modelGen) filter(depth int) *mFilter {
	r := g.rng
	if depth < 2 && r.IntN(3) == 0 {
		switch r.IntN(3) {
		case 0:
			return &mFilter{op: "not", kids: []*mFilter{g.filter(depth + 1)}}
		case 1:
			return &mFilter{op: "and", kids: []*mFilter{g.filter(depth + 1), g.filter(depth + 1)}}
		default:
			return &mFilter{op: "or", kids: []*mFilter{g.filter(depth + 1), g.filter(depth + 1)}}
		}
	}
	ops := []string{"eq", "neq", "lt", "lte", "gt", "gte"}
	fields := []string{"a", "b", "c.d", "c", "n"}
	return &mFilter{op: ops[r.IntN(len(ops))], field: fields[r.IntN(len(fields))], lit: g.value()}
}

func (g *modelGen) query(run *modelRun) *modelQuery {
	r := g.rng
	q := &modelQuery{index: modelIndexNames[r.IntN(len(modelIndexNames))]}
	q.withIndex = q.index != "by_creation_time" || r.IntN(2) == 0
	cols := modelIndexCols[q.index]
	if q.withIndex {
		neq := r.IntN(len(cols)) // never every column: leaves room for a bound
		if r.IntN(3) == 0 {
			neq = 0
		}
		for i := range neq {
			// Eq on a value some document has, most of the time.
			if d := run.anyDoc(r.IntN(1 << 20)); d != nil && r.IntN(3) != 0 {
				q.eqs = append(q.eqs, modelField(d, cols[i]))
			} else {
				q.eqs = append(q.eqs, g.bound(cols[i], run))
			}
		}
		col := cols[len(q.eqs)]
		if r.IntN(2) == 0 {
			q.lower = &mBound{strict: r.IntN(2) == 0, x: g.bound(col, run)}
		}
		if r.IntN(2) == 0 {
			q.upper = &mBound{strict: r.IntN(2) == 0, x: g.bound(col, run)}
		}
		if q.lower != nil && q.upper != nil && livedb.Compare(q.lower.x, q.upper.x) > 0 && r.IntN(4) != 0 {
			q.lower.x, q.upper.x = q.upper.x, q.lower.x
		}
		// An Undefined bound is legal: missing fields sort first.
		if len(q.eqs) == 0 && cols[0] != "_id" && cols[0] != "_creationTime" && r.IntN(10) == 0 {
			q.lower = &mBound{x: livedb.Undefined}
		}
	}
	q.setOrder = r.IntN(3) != 0
	q.desc = q.setOrder && r.IntN(2) == 0
	if r.IntN(3) == 0 {
		q.filter = g.filter(0)
	}
	q.pred = r.IntN(8) == 0
	switch k := r.IntN(10); {
	case k < 3:
		q.term = tCollect
	case k < 4:
		q.term, q.n = tTake, r.IntN(6)
	case k < 5:
		q.term = tFirst
	case k < 6:
		q.term = tUnique
	case k < 7:
		q.term, q.n = tAll, r.IntN(6)
	default:
		q.term, q.n = tPaginate, 1+r.IntN(7)
		if r.IntN(3) == 0 {
			q.maxRows = 1 + r.IntN(6)
		}
		q.checkSplit = r.IntN(2) == 0
		q.refetch = r.IntN(2) == 0
	}
	return q
}

// write generates one write op.
func (g *modelGen) write(run *modelRun, live int) *mOp {
	r := g.rng
	k := r.IntN(10)
	switch {
	case live < 20 && k < 6, live < 80 && k < 3, k < 1:
		return &mOp{kind: mInsert, fields: g.fields(false)}
	}
	op := &mOp{ref: g.ref(run)}
	switch r.IntN(3) {
	case 0:
		op.kind, op.fields = mPatch, g.fields(true)
	case 1:
		op.kind, op.fields = mReplace, g.fields(false)
	default:
		op.kind = mDelete
	}
	return op
}

// ref names a live document most of the time, else any ID of the run.
func (g *modelGen) ref(run *modelRun) int {
	if len(run.ids) == 0 {
		return g.rng.IntN(1 << 20)
	}
	if g.rng.IntN(8) != 0 {
		for range 8 {
			i := g.rng.IntN(len(run.ids))
			if _, ok := run.docs[string(run.ids[i])]; ok {
				return i
			}
		}
	}
	return g.rng.IntN(len(run.ids))
}

func (g *modelGen) op(run *modelRun) *mOp {
	r := g.rng
	live := len(run.docs)
	switch k := r.IntN(20); {
	case k < 7:
		return g.write(run, live)
	case k < 9:
		if r.IntN(10) == 0 {
			return &mOp{kind: mGet, badID: []string{"", "abc", strings.Repeat("z", 32), "0123456789abcdefghijkmnpqrstvwxy"}[r.IntN(4)]}
		}
		return &mOp{kind: mGet, ref: g.ref(run)}
	case k < 17:
		op := &mOp{kind: mQuery, q: g.query(run)}
		if op.q.term == tPaginate {
			for range r.IntN(4) {
				op.sub = append(op.sub, g.write(run, live))
			}
		}
		return op
	default:
		op := &mOp{kind: mMutation, abort: r.IntN(5) == 0}
		for range 1 + r.IntN(6) {
			switch r.IntN(3) {
			case 0:
				sub := &mOp{kind: mQuery, q: g.query(run)}
				if sub.q.term == tPaginate {
					for range r.IntN(3) {
						sub.sub = append(sub.sub, g.write(run, live))
					}
				}
				op.sub = append(op.sub, sub)
			case 1:
				op.sub = append(op.sub, &mOp{kind: mGet, ref: g.ref(run)})
			default:
				op.sub = append(op.sub, g.write(run, live))
			}
		}
		return op
	}
}

// ---- execution ----

// modelRun is one database and its model.
type modelRun struct {
	db    *livedb.DB
	docs  map[string]map[string]any // the committed state
	ids   []livedb.ID               // every ID inserted, in order (even if aborted)
	stats *modelStats
}

// modelDivergence is a difference between the database and the model.
type modelDivergence struct{ msg string }

func (d *modelDivergence) Error() string { return d.msg }

func modelDiverge(format string, args ...any) error {
	return &modelDivergence{msg: fmt.Sprintf(format, args...)}
}

var errModelAbort = errors.New("model: abort this mutation")

func (run *modelRun) refID(ref int) livedb.ID {
	if len(run.ids) == 0 {
		return ""
	}
	return run.ids[ref%len(run.ids)]
}

func (run *modelRun) anyID(k int) livedb.ID { return run.refID(k) }

func (run *modelRun) anyDoc(k int) map[string]any {
	if len(run.docs) == 0 {
		return nil
	}
	for range 4 {
		if d, ok := run.docs[string(run.refID(k))]; ok {
			return d
		}
		k = k*31 + 7
	}
	return nil
}

// runModelGenerated generates and runs n ops from seed, returning the ops
// run so far and the first divergence.
func runModelGenerated(t *testing.T, b modelBackend, seed uint64, n int, stats *modelStats) ([]*mOp, error) {
	db, err := b.open(t.TempDir(), 0)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	run := &modelRun{db: db, docs: map[string]map[string]any{}, stats: stats}
	gen := &modelGen{rng: rand.New(rand.NewPCG(seed, 0x6d6f64656c))}
	var log []*mOp
	for i := range n {
		op := gen.op(run)
		log = append(log, op)
		if err := run.apply(op); err != nil {
			return log, fmt.Errorf("op %d %s: %w", i, op, err)
		}
		if i%500 == 499 {
			if err := run.checkAll(); err != nil {
				return log, fmt.Errorf("after op %d: %w", i, err)
			}
		}
	}
	if err := run.checkAll(); err != nil {
		return log, fmt.Errorf("at the end: %w", err)
	}
	return log, nil
}

// runModelOps replays an op list on a fresh database.
func runModelOps(b modelBackend, dir string, ops []*mOp, stats *modelStats) (int, error) {
	runModelOpsN++
	db, err := b.open(dir, runModelOpsN)
	if err != nil {
		return 0, err
	}
	defer func() {
		_ = db.Close()
		if p := db.Path(); p != "" {
			_ = os.Remove(p)
		}
	}()
	if stats == nil {
		stats = &modelStats{}
	}
	run := &modelRun{db: db, docs: map[string]map[string]any{}, stats: stats}
	for i, op := range ops {
		if err := run.apply(op); err != nil {
			return i, fmt.Errorf("op %d %s: %w", i, op, err)
		}
	}
	return len(ops), run.checkAll()
}

var runModelOpsN int

// checkAll compares every document and runs Check.
func (run *modelRun) checkAll() error {
	ctx := context.Background()
	var got []livedb.Doc
	err := run.db.Query(ctx, func(q *livedb.QueryCtx) error {
		var err error
		got, err = q.DB.Query(modelTable).Collect()
		return err
	})
	if err != nil {
		return modelDiverge("collect: %v", err)
	}
	if len(got) != len(run.docs) {
		return modelDiverge("table has %d documents, the model %d", len(got), len(run.docs))
	}
	for _, d := range got {
		if !relDocsEqual(d, livedb.Doc(run.docs[string(d.ID())])) {
			return modelDiverge("document %s is %s, the model has %s", d.ID(), modelFmtFields(relPlainDoc(d)), modelFmtFields(run.docs[string(d.ID())]))
		}
	}
	if err := run.db.Check(ctx); err != nil {
		return modelDiverge("Check: %v", err)
	}
	return nil
}

// mTx is a transaction as an op sees it: the database side and the model
// state it must agree with.
type mTx struct {
	r    *livedb.Reader
	w    *livedb.Writer // nil in a query
	docs map[string]map[string]any
}

// apply runs a top-level op, each in its own transaction(s).
func (run *modelRun) apply(op *mOp) error {
	ctx := context.Background()
	switch op.kind {
	case mGet, mQuery:
		if op.kind == mQuery && op.q.term == tPaginate {
			return run.paginate(op, nil)
		}
		return run.db.Query(ctx, func(q *livedb.QueryCtx) error {
			return run.step(&mTx{r: q.DB, docs: run.docs}, op)
		})
	}
	subs := []*mOp{op}
	abort := false
	if op.kind == mMutation {
		subs, abort = op.sub, op.abort
	}
	var work map[string]map[string]any
	err := run.db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		work = maps.Clone(run.docs) // documents are replaced, never changed in place
		tx := &mTx{r: &m.DB.Reader, w: m.DB, docs: work}
		for _, s := range subs {
			if err := run.step(tx, s); err != nil {
				return err
			}
		}
		if abort {
			return errModelAbort
		}
		return nil
	})
	switch {
	case abort && errors.Is(err, errModelAbort):
		return nil
	case err != nil:
		var d *modelDivergence
		if errors.As(err, &d) {
			return err
		}
		return modelDiverge("mutation failed: %v", err)
	}
	run.docs = work
	return nil
}

// step runs one op inside tx and compares with the model.
func (run *modelRun) step(tx *mTx, op *mOp) error {
	switch op.kind {
	case mInsert:
		return run.insert(tx, op)
	case mPatch, mReplace, mDelete:
		return run.update(tx, op)
	case mGet:
		return run.get(tx, op)
	case mQuery:
		if op.q.term == tPaginate {
			return run.paginate(op, tx)
		}
		return run.query(tx, op.q)
	}
	return modelDiverge("op %v inside a transaction", op.kind)
}

func (run *modelRun) insert(tx *mTx, op *mOp) error {
	id, err := tx.w.Insert(modelTable, livedb.Doc(maps.Clone(op.fields)))
	if err != nil {
		return modelDiverge("insert: %v", err)
	}
	run.ids = append(run.ids, id)
	got, ok, err := tx.r.Get(id)
	if err != nil || !ok {
		return modelDiverge("get after insert of %s: ok=%v err=%v", id, ok, err)
	}
	ct, isFloat := got["_creationTime"].(float64)
	if !isFloat {
		return modelDiverge("inserted %s has _creationTime %#v", id, got["_creationTime"])
	}
	want := maps.Clone(op.fields)
	want["_id"], want["_creationTime"] = string(id), ct
	if !relDocsEqual(got, livedb.Doc(want)) {
		return modelDiverge("inserted %s reads back as %s, want %s", id, modelFmtFields(relPlainDoc(got)), modelFmtFields(want))
	}
	tx.docs[string(id)] = want
	run.stats.writes++
	return nil
}

func (run *modelRun) update(tx *mTx, op *mOp) error {
	id := run.refID(op.ref)
	if id == "" {
		return nil
	}
	var err error
	switch op.kind {
	case mPatch:
		err = tx.w.Patch(id, livedb.Doc(maps.Clone(op.fields)))
	case mReplace:
		err = tx.w.Replace(id, livedb.Doc(maps.Clone(op.fields)))
	default:
		err = tx.w.Delete(id)
	}
	cur, exists := tx.docs[string(id)]
	if !exists {
		if !errors.Is(err, livedb.ErrNotFound) {
			return modelDiverge("%s of missing document %s: got %v, want ErrNotFound", op, id, err)
		}
		run.stats.notFound++
		return nil
	}
	if err != nil {
		return modelDiverge("%s of %s: %v", op, id, err)
	}
	run.stats.writes++
	var next map[string]any
	switch op.kind {
	case mPatch:
		next = maps.Clone(cur)
		for k, x := range op.fields {
			if x == livedb.Undefined {
				delete(next, k)
			} else {
				next[k] = x
			}
		}
	case mReplace:
		next = maps.Clone(op.fields)
		next["_id"], next["_creationTime"] = cur["_id"], cur["_creationTime"]
	default:
		delete(tx.docs, string(id))
		return nil
	}
	tx.docs[string(id)] = next
	return nil
}

func (run *modelRun) get(tx *mTx, op *mOp) error {
	if op.badID != "" {
		_, ok, err := tx.r.Get(livedb.ID(op.badID))
		if ok || !errors.Is(err, livedb.ErrInvalidID) {
			return modelDiverge("get(%q): ok=%v err=%v, want ErrInvalidID", op.badID, ok, err)
		}
		return nil
	}
	id := run.refID(op.ref)
	if id == "" {
		return nil
	}
	got, ok, err := tx.r.Get(id)
	if err != nil {
		return modelDiverge("get %s: %v", id, err)
	}
	want, exists := tx.docs[string(id)]
	switch {
	case ok != exists:
		return modelDiverge("get %s: found=%v, the model has it=%v", id, ok, exists)
	case ok && !relDocsEqual(got, livedb.Doc(want)):
		return modelDiverge("get %s = %s, the model has %s", id, modelFmtFields(relPlainDoc(got)), modelFmtFields(want))
	}
	return nil
}

// build makes the database query for q.
func (q *modelQuery) build(r *livedb.Reader) *livedb.Query {
	dq := r.Query(modelTable)
	if q.withIndex {
		cols := modelIndexCols[q.index]
		dq = dq.WithIndex(q.index, func(ir livedb.IndexRange) livedb.IndexRange {
			for i, x := range q.eqs {
				ir = ir.Eq(cols[i], x)
			}
			col := cols[len(q.eqs)]
			if b := q.lower; b != nil {
				if b.strict {
					ir = ir.Gt(col, b.x)
				} else {
					ir = ir.Gte(col, b.x)
				}
			}
			if b := q.upper; b != nil {
				if b.strict {
					ir = ir.Lt(col, b.x)
				} else {
					ir = ir.Lte(col, b.x)
				}
			}
			return ir
		})
	}
	if q.setOrder {
		dq = dq.Order(map[bool]livedb.Order{true: livedb.Desc, false: livedb.Asc}[q.desc])
	}
	if q.filter != nil {
		dq = dq.Filter(func(f livedb.FilterBuilder) livedb.Expr { return q.filter.build(f) })
	}
	if q.pred {
		dq = dq.FilterFunc(func(d livedb.Doc) (bool, error) { return modelPredKeep(string(d.ID())), nil })
	}
	return dq
}

func modelPredKeep(id string) bool { return id != "" && id[len(id)-1] < 'm' }

func (f *mFilter) build(fb livedb.FilterBuilder) livedb.Expr {
	switch f.op {
	case "and", "or":
		kids := make([]any, len(f.kids))
		for i, k := range f.kids {
			kids[i] = k.build(fb)
		}
		if f.op == "and" {
			return fb.And(kids...)
		}
		return fb.Or(kids...)
	case "not":
		return fb.Not(f.kids[0].build(fb))
	}
	field, lit := fb.Field(f.field), fb.Literal(f.lit)
	switch f.op {
	case "eq":
		return fb.Eq(field, lit)
	case "neq":
		return fb.Neq(field, lit)
	case "lt":
		return fb.Lt(field, lit)
	case "lte":
		return fb.Lte(field, lit)
	case "gt":
		return fb.Gt(field, lit)
	}
	return fb.Gte(field, lit)
}

// ---- the naive model of queries ----

// mRow is a document with its index tuple.
type mRow struct {
	doc   map[string]any
	tuple []any
}

// modelField reads a column of a document: a dotted path through objects,
// Undefined when missing.
func modelField(d map[string]any, col string) any {
	var cur any = d
	for _, p := range strings.Split(col, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return livedb.Undefined
		}
		if cur, ok = m[p]; !ok {
			return livedb.Undefined
		}
	}
	return cur
}

func modelCompareTuples(a, b []any) int {
	for i := range a {
		if c := livedb.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// rows returns every document in the query's index range, sorted in scan
// order, before filters.
func (q *modelQuery) rows(docs map[string]map[string]any) []mRow {
	cols := modelIndexCols[q.index]
	var out []mRow
	for _, d := range docs {
		t := make([]any, len(cols))
		for i, c := range cols {
			t[i] = modelField(d, c)
		}
		if q.inRange(t) {
			out = append(out, mRow{doc: d, tuple: t})
		}
	}
	slices.SortFunc(out, func(a, b mRow) int { return modelCompareTuples(a.tuple, b.tuple) })
	if q.desc {
		slices.Reverse(out)
	}
	return out
}

func (q *modelQuery) inRange(t []any) bool {
	if !q.withIndex {
		return true
	}
	for i, x := range q.eqs {
		if livedb.Compare(t[i], x) != 0 {
			return false
		}
	}
	k := len(q.eqs)
	if b := q.lower; b != nil {
		c := livedb.Compare(t[k], b.x)
		if c < 0 || b.strict && c == 0 {
			return false
		}
	}
	if b := q.upper; b != nil {
		c := livedb.Compare(t[k], b.x)
		if c > 0 || b.strict && c == 0 {
			return false
		}
	}
	return true
}

func (q *modelQuery) keep(d map[string]any) bool {
	if q.filter != nil && !q.filter.eval(d) {
		return false
	}
	return !q.pred || modelPredKeep(d["_id"].(string))
}

func (f *mFilter) eval(d map[string]any) bool {
	switch f.op {
	case "and":
		return f.kids[0].eval(d) && f.kids[1].eval(d)
	case "or":
		return f.kids[0].eval(d) || f.kids[1].eval(d)
	case "not":
		return !f.kids[0].eval(d)
	}
	c := livedb.Compare(modelField(d, f.field), f.lit)
	switch f.op {
	case "eq":
		return c == 0
	case "neq":
		return c != 0
	case "lt":
		return c < 0
	case "lte":
		return c <= 0
	case "gt":
		return c > 0
	}
	return c >= 0
}

// expected returns the query's full result in the model.
func (q *modelQuery) expected(docs map[string]map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range q.rows(docs) {
		if q.keep(r.doc) {
			out = append(out, r.doc)
		}
	}
	return out
}

func modelSameDocs(what string, got []livedb.Doc, want []map[string]any) error {
	if len(got) != len(want) {
		return modelDiverge("%s: got %d documents %v, the model %d %v", what, len(got), modelDocIDs(got), len(want), modelIDs(want))
	}
	for i := range got {
		if !relDocsEqual(got[i], livedb.Doc(want[i])) {
			return modelDiverge("%s: row %d is %s, the model has %s (got %v, want %v)", what, i, modelFmtFields(relPlainDoc(got[i])), modelFmtFields(want[i]), modelDocIDs(got), modelIDs(want))
		}
	}
	return nil
}

func modelDocIDs(ds []livedb.Doc) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d.ID())[26:]
	}
	return out
}

func modelIDs(ds []map[string]any) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d["_id"].(string)[26:]
	}
	return out
}

// query runs a non-paginated query and compares.
func (run *modelRun) query(tx *mTx, q *modelQuery) error {
	run.stats.queries++
	want := q.expected(tx.docs)
	dq := q.build(tx.r)
	var got []livedb.Doc
	var err error
	switch q.term {
	case tCollect:
		got, err = dq.Collect()
	case tTake:
		got, err = dq.Take(q.n)
		want = want[:min(q.n, len(want))]
	case tFirst:
		d, ok, e := dq.First()
		if ok {
			got = []livedb.Doc{d}
		}
		err = e
		want = want[:min(1, len(want))]
	case tUnique:
		d, ok, e := dq.Unique()
		if len(want) > 1 {
			if !errors.Is(e, livedb.ErrInvalidQuery) || ok {
				return modelDiverge("%s: %d results, Unique gave ok=%v err=%v, want ErrInvalidQuery", q, len(want), ok, e)
			}
			return nil
		}
		if ok {
			got = []livedb.Doc{d}
		}
		err = e
	case tAll:
		for d, e := range dq.All() {
			if e != nil {
				err = e
				break
			}
			if len(got) == q.n {
				break
			}
			got = append(got, d)
		}
		want = want[:min(q.n, len(want))]
	}
	if err != nil {
		return modelDiverge("%s: %v", q, err)
	}
	run.stats.rows += len(got)
	return modelSameDocs(q.String(), got, want)
}

// mPos is a pagination position in the model: before everything, after
// a tuple, or at the end.
type mPos struct {
	tuple []any
	end   bool
}

// modelPage computes a page in the model: the rows after from (or up to
// and including to, when bounded) that pass the filters.
func (q *modelQuery) modelPage(docs map[string]map[string]any, from mPos, to *mPos) (page []map[string]any, next mPos, split livedb.PageStatus, scanned [][]any) {
	if from.end {
		return nil, mPos{end: true}, "", nil
	}
	all := q.rows(docs)
	after := func(t []any, p []any) bool { // t comes after p in scan order
		c := modelCompareTuples(t, p)
		if q.desc {
			return c < 0
		}
		return c > 0
	}
	var rest []mRow
	for _, r := range all {
		if from.tuple == nil || after(r.tuple, from.tuple) {
			if to != nil && !to.end && after(r.tuple, to.tuple) {
				continue
			}
			rest = append(rest, r)
		}
	}
	if to != nil {
		for _, r := range rest {
			scanned = append(scanned, r.tuple)
			if q.keep(r.doc) {
				page = append(page, r.doc)
			}
		}
		return page, *to, "", scanned
	}
	rows, i := 0, 0
	exhausted := false
	for len(page) < q.n {
		if rows > 0 && q.maxRows > 0 && rows >= q.maxRows {
			split = livedb.SplitRequired
			break
		}
		if i >= len(rest) {
			exhausted = true
			break
		}
		r := rest[i]
		i++
		rows++
		scanned = append(scanned, r.tuple)
		if q.keep(r.doc) {
			page = append(page, r.doc)
		}
	}
	if split == "" && q.maxRows > 0 && rows*4 > q.maxRows*3 {
		split = livedb.SplitRecommended
	}
	if exhausted {
		return page, mPos{end: true}, split, scanned
	}
	return page, mPos{tuple: scanned[len(scanned)-1]}, split, scanned
}

// paginate pages through a query to the end, running op.sub's writes
// between pages: each page and write in its own transaction when tx is
// nil, else all inside tx.
func (run *modelRun) paginate(op *mOp, tx *mTx) error {
	q := op.q
	type pageRec struct {
		from, to       mPos
		cursor, contin string
	}
	var pages []pageRec
	read := func(fn func(tx *mTx) error) error {
		if tx != nil {
			return fn(tx)
		}
		return run.db.Query(context.Background(), func(qc *livedb.QueryCtx) error {
			return fn(&mTx{r: qc.DB, docs: run.docs})
		})
	}
	pos, cursor := mPos{}, ""
	for n := 0; ; n++ {
		if n > 500 {
			return modelDiverge("%s: more than 500 pages", q)
		}
		var res livedb.PaginationResult
		var want []map[string]any
		var next mPos
		var status livedb.PageStatus
		var scanned [][]any
		err := read(func(tx *mTx) error {
			var err error
			res, err = q.build(tx.r).Paginate(livedb.PaginationOptions{NumItems: q.n, Cursor: cursor, MaximumRowsRead: q.maxRows})
			want, next, status, scanned = q.modelPage(tx.docs, pos, nil)
			if err != nil {
				return modelDiverge("%s: page %d: %v", q, n, err)
			}
			run.stats.pages++
			run.stats.rows += len(res.Page)
			if err := modelSameDocs(fmt.Sprintf("%s: page %d", q, n), res.Page, want); err != nil {
				return err
			}
			if res.IsDone != next.end || res.PageStatus != status {
				return modelDiverge("%s: page %d: IsDone=%v PageStatus=%q, the model: %v %q", q, n, res.IsDone, res.PageStatus, next.end, status)
			}
			if q.checkSplit {
				return run.checkSplit(tx, q, cursor, pos, res, scanned)
			}
			return nil
		})
		if err != nil {
			return err
		}
		pages = append(pages, pageRec{from: pos, to: next, cursor: cursor, contin: res.ContinueCursor})
		if res.IsDone {
			break
		}
		pos, cursor = next, res.ContinueCursor
		if n < len(op.sub) {
			var err error
			if tx != nil {
				err = run.step(tx, op.sub[n])
			} else {
				err = run.apply(op.sub[n])
			}
			if err != nil {
				return fmt.Errorf("write between pages %d and %d: %w", n, n+1, err)
			}
		}
	}
	if !q.refetch {
		return nil
	}
	// Re-read a page by its cursors, as a subscription does: the page
	// holds (Cursor, EndCursor] of the current state.
	p := pages[len(pages)/2]
	return read(func(tx *mTx) error {
		res, err := q.build(tx.r).Paginate(livedb.PaginationOptions{NumItems: q.n, Cursor: p.cursor, EndCursor: p.contin, MaximumRowsRead: q.maxRows})
		if err != nil {
			return modelDiverge("%s: refetch: %v", q, err)
		}
		want, _, _, _ := q.modelPage(tx.docs, p.from, &p.to)
		if err := modelSameDocs(q.String()+": refetch", res.Page, want); err != nil {
			return err
		}
		if res.ContinueCursor != p.contin || res.IsDone != p.to.end {
			return modelDiverge("%s: refetch: ContinueCursor or IsDone changed (IsDone %v, want %v)", q, res.IsDone, p.to.end)
		}
		return nil
	})
}

// checkSplit checks that a page's SplitCursor splits it where the model
// says: after the middle row scanned.
func (run *modelRun) checkSplit(tx *mTx, q *modelQuery, cursor string, pos mPos, res livedb.PaginationResult, scanned [][]any) error {
	if len(scanned) <= 2 {
		if res.SplitCursor != "" {
			return modelDiverge("%s: SplitCursor on a page of %d rows", q, len(scanned))
		}
		return nil
	}
	if res.SplitCursor == "" {
		return modelDiverge("%s: no SplitCursor on a page of %d rows", q, len(scanned))
	}
	mid := mPos{tuple: scanned[(len(scanned)-1)/2]}
	got, err := q.build(tx.r).Paginate(livedb.PaginationOptions{NumItems: q.n, Cursor: cursor, EndCursor: res.SplitCursor})
	if err != nil {
		return modelDiverge("%s: first half by SplitCursor: %v", q, err)
	}
	want, _, _, _ := q.modelPage(tx.docs, pos, &mid)
	if err := modelSameDocs(q.String()+": first half by SplitCursor", got.Page, want); err != nil {
		return err
	}
	if got.IsDone {
		return modelDiverge("%s: first half by SplitCursor says IsDone", q)
	}
	return nil
}

// TestQuery_WithIndex_NULExtendedValues: a string or bytes value followed
// by a NUL byte ("run" and "run\x00x") must not match Eq("run"), must
// sort after it for Lte and Gt, as Compare orders them. The sort key of
// "run" is a byte prefix of the key of "run\x00x" (the 0x00 terminator
// and the 0x00 0xFF escape share their first byte), so a range end built
// with PrefixSuccessor of a value's key takes in the longer value.
func TestQuery_WithIndex_NULExtendedValues(t *testing.T) {
	s := livedb.DefineSchema(livedb.Tables{"t": livedb.DefineTable(v.Object(v.Fields{
		"s": v.String(),
		"b": v.Bytes(),
	})).Index("by_s", "s").Index("by_b", "b")})
	forEachBackend(t, s, func(t *testing.T, db *livedb.DB) {
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			for _, d := range []livedb.Doc{
				{"s": "run", "b": []byte{}},
				{"s": "run\x00x", "b": []byte{0}},
			} {
				if _, err := m.DB.Insert("t", d); err != nil {
					return err
				}
			}
			return nil
		})
		tests := []struct {
			name  string
			index string
			rng   func(livedb.IndexRange) livedb.IndexRange
			want  []string // values of s, in order
		}{
			{"eq string", "by_s", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("s", "run") }, []string{"run"}},
			{"lte string", "by_s", func(r livedb.IndexRange) livedb.IndexRange { return r.Lte("s", "run") }, []string{"run"}},
			{"gt string", "by_s", func(r livedb.IndexRange) livedb.IndexRange { return r.Gt("s", "run") }, []string{"run\x00x"}},
			{"eq empty bytes", "by_b", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("b", []byte{}) }, []string{"run"}},
			{"gt empty bytes", "by_b", func(r livedb.IndexRange) livedb.IndexRange { return r.Gt("b", []byte{}) }, []string{"run\x00x"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var got []string
				err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					docs, err := q.DB.Query("t").WithIndex(tc.index, tc.rng).Collect()
					for _, d := range docs {
						got = append(got, d["s"].(string))
					}
					return err
				})
				if err != nil {
					t.Fatalf("query: %v", err)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			})
		}
	})
}

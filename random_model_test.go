package livedb_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
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
// documents; a query sorts every document by its index tuple with the
// reference order (refCompare, independent of the engine's), keeps the ones
// in range, reverses for Desc, filters, and slices out pages. Any difference fails with the seed, the shortest
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
		if !refDocsEqual(d, run.docs[string(d.ID())]) {
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
	if !refDocsEqual(got, want) {
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
	case ok && !refDocsEqual(got, want):
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

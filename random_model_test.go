package livedb_test

import (
	"flag"
	"fmt"
	"maps"
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
// The same stream also runs Count and Sum on random ranges, text searches
// and vector searches, and writes that a unique index must refuse, against
// the same model (random_model_ext_test.go); on the shared-memlog backend
// a second process on the log is compared too (random_model_shared_test.go).
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
		modelTable: livedb.DefineTable(v.Object(v.Fields{"a": anyOpt, "b": anyOpt, "c": anyOpt, "n": anyOpt,
			// Fields of the indexes beyond Convex (random_model_ext_test.go).
			"k": anyOpt, "g": anyOpt, "h": anyOpt, "w": anyOpt,
			"body": v.Optional(v.String()), "tag": v.Optional(v.String()),
			"embedding": v.Optional(v.Array(v.Float64())),
		})).
			Index("by_a", "a").
			Index("by_a_b", "a", "b").
			Index("by_cd", "c.d").
			Index("by_k", "k").Unique().
			Index("by_g_h", "g", "h").Aggregate("w").
			SearchIndex("search_body", "body", "tag").
			VectorIndex("by_embedding", "embedding", modelVecDims, "tag"),
	})
}

// modelIndexCols are the key columns of each index, as the model sorts.
var modelIndexCols = map[string][]string{
	"by_creation_time": {"_creationTime", "_id"},
	"by_id":            {"_id"},
	"by_a":             {"a", "_creationTime", "_id"},
	"by_a_b":           {"a", "b", "_creationTime", "_id"},
	"by_cd":            {"c.d", "_creationTime", "_id"},
	"by_k":             {"k", "_creationTime", "_id"},
	"by_g_h":           {"g", "h", "_creationTime", "_id"},
}

var modelIndexNames = []string{"by_creation_time", "by_id", "by_a", "by_a_b", "by_cd", "by_k", "by_g_h"}

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
			if stats.queries == 0 || stats.pages == 0 || stats.writes == 0 || stats.notFound == 0 ||
				stats.counts == 0 || stats.sums == 0 || stats.searches == 0 || stats.vectors == 0 || stats.unique == 0 {
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
	// The default file store with a background checkpoint after nearly
	// every commit: reads merge the log's overlay over bbolt while
	// checkpoints move it into bbolt.
	{"bbolt-checkpoints", func(dir string, n int) (*livedb.DB, error) {
		return livedb.OpenCheckpointing(filepath.Join(dir, fmt.Sprintf("model-ckpt-%d.db", n)), modelSchema(), &livedb.Options{NoSync: true}, 1)
	}},
	{name: "shared-memlog"}, // two processes on one log: see openBoth
}

// modelStats counts what a run exercised, so a run that tests little shows.
type modelStats struct {
	queries, pages, rows, writes, notFound int
	counts, sums, searches, searchHits     int
	vectors, vectorHits, unique, caught    int
}

func (s modelStats) String() string {
	return fmt.Sprintf("%d queries returning %d rows, %d pages, %d writes, %d refused writes to missing documents, "+
		"%d counts, %d sums, %d searches returning %d documents, %d vector searches returning %d, %d unique violations (%d caught by their mutation)",
		s.queries, s.rows, s.pages, s.writes, s.notFound, s.counts, s.sums, s.searches, s.searchHits, s.vectors, s.vectorHits, s.unique, s.caught)
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
	mCount    // Count or Sum of q (random_model_ext_test.go)
	mSearch   // a text search
	mVector   // a vector search
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
	catch  bool   // mMutation: go on after a write refused by a unique index
	ext    *mExt  // mCount, mSearch, mVector
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
		if op.catch {
			b.WriteString(" (catching unique violations)")
		}
	case mCount, mSearch, mVector:
		b.WriteString(op.ext.String(op))
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
	b, err := v.ConvexToJSON(x)
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

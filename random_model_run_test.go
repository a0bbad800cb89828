package livedb_test

// The execution half of TestDB_RandomModel (random_model_test.go): each
// operation runs against the database and its model, and they must agree.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/livedb-go/livedb"
)

// modelRun is one database and its model.
type modelRun struct {
	db    *livedb.DB
	peer  *livedb.DB                // shared-memlog: a second process on the same log
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
	db, peer, err := b.openBoth(t.TempDir(), 0)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if peer != nil {
			if err := peer.Close(); err != nil {
				t.Errorf("close the second process: %v", err)
			}
		}
	}()
	run := &modelRun{db: db, peer: peer, docs: map[string]map[string]any{}, stats: stats}
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
	db, peer, err := b.openBoth(dir, runModelOpsN)
	if err != nil {
		return 0, err
	}
	defer func() {
		if peer != nil {
			_ = peer.Close()
		}
		_ = db.Close()
		if p := db.Path(); p != "" {
			_ = os.Remove(p)
		}
	}()
	if stats == nil {
		stats = &modelStats{}
	}
	run := &modelRun{db: db, peer: peer, docs: map[string]map[string]any{}, stats: stats}
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
	if err := run.checkDocs(); err != nil {
		return err
	}
	if err := run.db.Check(context.Background()); err != nil {
		return modelDiverge("Check: %v", err)
	}
	if run.peer != nil {
		return run.checkPeer()
	}
	return nil
}

// checkDocs compares every document with the model.
func (run *modelRun) checkDocs() error {
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
	case mGet, mQuery, mCount, mSearch, mVector:
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
				if op.catch && errors.As(err, new(*modelUniqueHit)) {
					run.stats.caught++
					continue // the refused write left nothing behind
				}
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
	case errors.As(err, new(*modelUniqueHit)):
		return run.uniqueFailed(err)
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
	case mCount, mSearch, mVector:
		return run.ext(tx, op)
	}
	return modelDiverge("op %v inside a transaction", op.kind)
}

func (run *modelRun) insert(tx *mTx, op *mOp) error {
	id, err := tx.w.Insert(modelTable, livedb.Doc(maps.Clone(op.fields)))
	if dup := modelUniqueDup(tx.docs, "", op.fields); dup != "" {
		return run.uniqueRefused(tx, op, err, "", dup)
	}
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
	}
	if next != nil {
		if dup := modelUniqueDup(tx.docs, string(id), next); dup != "" {
			return run.uniqueRefused(tx, op, err, id, dup)
		}
	}
	if err != nil {
		return modelDiverge("%s of %s: %v", op, id, err)
	}
	run.stats.writes++
	if next == nil {
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

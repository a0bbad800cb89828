package livedb_test

// The shared-memlog backend of TestDB_RandomModel: the ops run on one
// process of a shared database, and at each full check a second process
// on the same log must hold the same documents and the same derived
// state (aggregates, search postings and statistics, vector entries),
// rebuilt from the log groups it applied, not computed by its own commits.

import (
	"context"
	"fmt"
	"time"

	"github.com/livedb-go/livedb"
)

// openBoth opens b's database and, for the shared backend, a second
// process on the same log (peer is nil otherwise).
func (b modelBackend) openBoth(dir string, n int) (db, peer *livedb.DB, err error) {
	if b.open != nil {
		db, err = b.open(dir, n)
		return db, nil, err
	}
	l := livedb.NewSharedMemLog()
	if db, err = livedb.OpenSharedMemLog(l, modelSchema(), nil); err != nil {
		return nil, nil, err
	}
	if peer, err = livedb.OpenSharedMemLog(l, modelSchema(), nil); err != nil {
		_ = db.Close()
		return nil, nil, fmt.Errorf("second process: %w", err)
	}
	return db, peer, nil
}

// checkPeer catches the second process up with the first and compares its
// documents, its Check, and counts, sums and searches over its copy with
// the model.
func (run *modelRun) checkPeer() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ts, err := run.db.MutationTS(ctx, func(*livedb.MutationCtx) error { return nil })
	if err != nil {
		return modelDiverge("timestamp of the first process: %v", err)
	}
	if err := run.peer.CatchUp(ctx, ts); err != nil {
		return modelDiverge("the second process did not catch up with timestamp %d within 30s: %v", ts, err)
	}
	first := run.db
	run.db = run.peer
	defer func() { run.db = first }()
	if err := run.checkDocs(); err != nil {
		return fmt.Errorf("second process: %w", err)
	}
	if err := run.peer.Check(ctx); err != nil {
		return modelDiverge("second process: Check: %v", err)
	}
	err = run.peer.Query(ctx, func(q *livedb.QueryCtx) error {
		tx := &mTx{r: q.DB, docs: run.docs}
		for _, op := range run.peerOps() {
			if err := run.ext(tx, op); err != nil {
				return fmt.Errorf("second process: %w", err)
			}
		}
		return nil
	})
	return err
}

// peerOps are the counts, sums and searches checkPeer runs: whole-index
// and per-group counts and sums from the aggregate, a few searches and
// vector searches.
func (run *modelRun) peerOps() []*mOp {
	var ops []*mOp
	add := func(kind mKind, e *mExt) { ops = append(ops, &mOp{kind: kind, ext: e}) }
	groups := [][]any{nil}
	for k := range 3 {
		if d := run.anyDoc(k * 7); d != nil {
			groups = append(groups, []any{modelField(d, "g")})
		}
	}
	for _, eqs := range groups {
		for _, sum := range []string{"", "w"} {
			add(mCount, &mExt{q: &modelQuery{index: "by_g_h", withIndex: true, eqs: eqs}, sum: sum})
		}
	}
	add(mSearch, &mExt{text: "l"})
	add(mSearch, &mExt{text: "fix bug"})
	add(mSearch, &mExt{text: "agent de", eqs: map[string]any{"tag": "x"}})
	add(mVector, &mExt{vec: []float64{1, 0, 0, 0}, limit: 8})
	add(mVector, &mExt{vec: []float64{0, 1, -1, 0}, limit: 3, tags: []string{"y"}})
	return ops
}

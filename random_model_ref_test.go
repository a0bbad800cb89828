package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

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
		if c := refCompare(a[i], b[i]); c != 0 {
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
		if refCompare(t[i], x) != 0 {
			return false
		}
	}
	k := len(q.eqs)
	if b := q.lower; b != nil {
		c := refCompare(t[k], b.x)
		if c < 0 || b.strict && c == 0 {
			return false
		}
	}
	if b := q.upper; b != nil {
		c := refCompare(t[k], b.x)
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
	c := refCompare(modelField(d, f.field), f.lit)
	return comparisonHolds(f.op, c)
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
		if !refDocsEqual(got[i], want[i]) {
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
func (q *modelQuery) modelPage(docs map[string]map[string]any, from mPos, to *mPos) (page []map[string]any, next mPos, split string, scanned [][]any) {
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
			split = "SplitRequired"
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
		split = "SplitRecommended"
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
		var res livedb.PaginationResult[livedb.Doc]
		var want []map[string]any
		var next mPos
		var status string
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
func (run *modelRun) checkSplit(tx *mTx, q *modelQuery, cursor string, pos mPos, res livedb.PaginationResult[livedb.Doc], scanned [][]any) error {
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

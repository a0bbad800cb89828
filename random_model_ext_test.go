package livedb_test

// The indexes beyond Convex in TestDB_RandomModel: a unique index (by_k),
// an index with an aggregate summing w (by_g_h), a text search index on
// body filtered by tag, and a vector index on embedding filtered by tag.
// Their operations (Count and Sum on random ranges, text searches, vector
// searches) run at the top level and inside mutations after the
// mutation's own writes, against the same naive model: counts and sums
// of the model's query result, refSearch's brute-force BM25
// (search_test.go), vecRefSearch's brute-force cosine (vector_test.go),
// and the model deciding whether a write would duplicate a unique key.

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/livedb-go/livedb"
)

const modelVecDims = 4

// mExt is the payload of an mCount, mSearch or mVector op.
type mExt struct {
	q     *modelQuery    // count: the range (its terminal is unused)
	sum   string         // count: "" for Count, else the field of Sum
	text  string         // search
	eqs   map[string]any // search: tag → value, nil for missing
	vec   []float64      // vector: the query vector
	limit int            // vector
	tags  []string       // vector: none, one Eq, or an Or of two
}

func (e *mExt) String(op *mOp) string {
	switch op.kind {
	case mCount:
		q := *e.q
		q.term = tCollect
		s := strings.TrimSuffix(q.String(), " collect")
		if e.sum == "" {
			return s + " count"
		}
		return s + " sum(" + e.sum + ")"
	case mSearch:
		return fmt.Sprintf("search %q eq %v", e.text, e.eqs)
	}
	return fmt.Sprintf("vectorSearch %v limit %d tags %q", e.vec, e.limit, e.tags)
}

// extFields adds the fields of the extra indexes to a generated write.
func (g *modelGen) extFields(m map[string]any, patch bool) {
	r := g.rng
	set := func(f string, gen func() any) {
		switch k := r.IntN(8); {
		case k < 3:
			m[f] = gen()
		case k == 3 && patch:
			m[f] = livedb.Undefined
		}
	}
	set("k", func() any { // a small domain: duplicates are frequent
		if r.IntN(2) == 0 {
			return int64(r.IntN(6))
		}
		return g.value()
	})
	set("g", g.value)
	set("h", g.value)
	set("w", g.value)
	set("body", func() any {
		words := make([]string, r.IntN(7))
		for i := range words {
			words[i] = searchVocab[r.IntN(len(searchVocab))]
		}
		return strings.Join(words, []string{" ", ", ", "-"}[r.IntN(3)])
	})
	set("tag", func() any { return []string{"x", "y"}[r.IntN(2)] })
	set("embedding", func() any {
		if r.IntN(20) == 0 {
			return []any{0.0, 0.0, 0.0, 0.0} // all zeros: score 0
		}
		return vecRandom(r, modelVecDims)
	})
}

// extOp generates a count, sum, text search or vector search.
func (g *modelGen) extOp(run *modelRun) *mOp {
	r := g.rng
	switch r.IntN(3) {
	case 0:
		index := "by_g_h"
		if r.IntN(3) == 0 {
			index = modelIndexNames[r.IntN(len(modelIndexNames))]
		}
		q := g.queryOn(run, index)
		if r.IntN(3) != 0 { // mostly plain ranges, which the aggregate answers
			q.filter, q.pred = nil, false
		}
		e := &mExt{q: q}
		switch r.IntN(4) {
		case 1, 2:
			e.sum = "w"
		case 3:
			e.sum = []string{"a", "g"}[r.IntN(2)] // not summed by an aggregate
		}
		return &mOp{kind: mCount, ext: e}
	case 1:
		words := make([]string, 1+r.IntN(3))
		for i := range words {
			w := searchVocab[r.IntN(len(searchVocab))]
			if r.IntN(10) == 0 {
				w = "nomatch"
			}
			if r.IntN(5) == 0 {
				w = strings.ToUpper(w)
			}
			words[i] = w
		}
		if last := words[len(words)-1]; r.IntN(2) == 0 {
			n := 1 + r.IntN(utf8.RuneCountInString(last))
			words[len(words)-1] = string([]rune(last)[:n]) // a prefix
		}
		e := &mExt{text: strings.Join(words, []string{" ", "  ", ". "}[r.IntN(3)])}
		if r.IntN(2) == 0 {
			e.eqs = map[string]any{"tag": []any{"x", "y", nil}[r.IntN(3)]}
		}
		return &mOp{kind: mSearch, ext: e}
	}
	e := &mExt{limit: 1 + r.IntN(8)}
	switch {
	case r.IntN(10) == 0:
		e.vec = make([]float64, modelVecDims)
	case r.IntN(3) == 0:
		if d := run.anyDoc(r.IntN(1 << 20)); d != nil {
			if x, ok := d["embedding"].([]any); ok {
				e.vec = vecFloats(x) // an exact hit
			}
		}
	}
	if e.vec == nil {
		e.vec = vecFloats(vecRandom(r, modelVecDims))
	}
	switch r.IntN(4) {
	case 1:
		e.tags = []string{[]string{"x", "y"}[r.IntN(2)]}
	case 2:
		e.tags = []string{"x", "y"}
	}
	return &mOp{kind: mVector, ext: e}
}

// ext runs a count, search or vector search in tx and compares.
func (run *modelRun) ext(tx *mTx, op *mOp) error {
	switch op.kind {
	case mCount:
		return run.count(tx, op.ext)
	case mSearch:
		return run.search(tx, op.ext)
	}
	return run.vector(tx, op.ext)
}

// modelSummable is Sum's rule: Int64 and finite Float64 values, as float64.
func modelSummable(x any) (float64, bool) {
	switch n := x.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, !math.IsNaN(n) && !math.IsInf(n, 0)
	}
	return 0, false
}

func (run *modelRun) count(tx *mTx, e *mExt) error {
	want := e.q.expected(tx.docs)
	dq := e.q.build(tx.r)
	what := e.String(&mOp{kind: mCount, ext: e})
	if e.sum == "" {
		run.stats.counts++
		n, err := dq.Count()
		if err != nil {
			return modelDiverge("%s: %v", what, err)
		}
		if n != int64(len(want)) {
			return modelDiverge("%s = %d, the model counts %d %v", what, n, len(want), modelIDs(want))
		}
		return nil
	}
	run.stats.sums++
	got, err := dq.Sum(e.sum)
	if err != nil {
		return modelDiverge("%s: %v", what, err)
	}
	ref := 0.0 // exact: the generated numbers are small integers and halves
	for _, d := range want {
		if f, ok := modelSummable(d[e.sum]); ok {
			ref += f
		}
	}
	if got != ref {
		return modelDiverge("%s = %v, the model sums %v over %v", what, got, ref, modelIDs(want))
	}
	return nil
}

func (run *modelRun) search(tx *mTx, e *mExt) error {
	run.stats.searches++
	what := e.String(&mOp{kind: mSearch, ext: e})
	docs := make(map[livedb.ID]livedb.Doc, len(tx.docs))
	for id, d := range tx.docs {
		docs[livedb.ID(id)] = livedb.Doc(d)
	}
	want, scores := refSearch(docs, e.text, e.eqs)
	got, err := tx.r.Query(modelTable).WithSearchIndex("search_body", func(s livedb.SearchFilter) livedb.SearchFilter {
		s = s.Search("body", e.text)
		if x, ok := e.eqs["tag"]; ok {
			if x == nil {
				x = livedb.Undefined
			}
			s = s.Eq("tag", x)
		}
		return s
	}).Collect()
	if err != nil {
		return modelDiverge("%s: %v", what, err)
	}
	run.stats.searchHits += len(got)
	wantSet := map[livedb.ID]bool{}
	for _, id := range want {
		wantSet[id] = true
	}
	if len(got) != len(want) {
		return modelDiverge("%s: %d results %v, the reference %d %v", what, len(got), modelDocIDs(got), len(want), want)
	}
	for i, d := range got {
		id := d.ID()
		if !wantSet[id] {
			return modelDiverge("%s: result %d is %s, not a reference result %v", what, i, id, want)
		}
		if !refDocsEqual(d, tx.docs[string(id)]) {
			return modelDiverge("%s: result %s is %s, the model has %s", what, id, modelFmtFields(relPlainDoc(d)), modelFmtFields(tx.docs[string(id)]))
		}
		if i == 0 {
			continue
		}
		// The order the reference's scores allow: equal scores (up to
		// rounding) only newest first.
		a := got[i-1].ID()
		diff := scores[a] - scores[id]
		if diff < -1e-9 || math.Abs(diff) <= 1e-9 && docs[a].CreationTime() < docs[id].CreationTime() {
			return modelDiverge("%s: %s (score %.9f) ranked before %s (score %.9f); the reference order is %v", what, a, scores[a], id, scores[id], want)
		}
	}
	return nil
}

func (run *modelRun) vector(tx *mTx, e *mExt) error {
	run.stats.vectors++
	what := e.String(&mOp{kind: mVector, ext: e})
	docs := make([]livedb.Doc, 0, len(tx.docs))
	for _, d := range tx.docs {
		docs = append(docs, livedb.Doc(d))
	}
	var f livedb.FilterBuilder
	var filter livedb.Expr
	switch len(e.tags) {
	case 1:
		filter = f.Eq(f.Field("tag"), e.tags[0])
	case 2:
		filter = f.Or(f.Eq(f.Field("tag"), e.tags[0]), f.Eq(f.Field("tag"), e.tags[1]))
	}
	keep := func(d livedb.Doc) bool {
		if len(e.tags) == 0 {
			return true
		}
		t, ok := d["tag"].(string)
		return ok && (t == e.tags[0] || t == e.tags[len(e.tags)-1])
	}
	want := vecRefSearch(docs, e.vec, e.limit, keep)
	got, err := tx.r.VectorSearch(modelTable, "by_embedding", e.vec, livedb.VectorSearchOptions{Limit: e.limit, Filter: filter})
	if err != nil {
		return modelDiverge("%s: %v", what, err)
	}
	run.stats.vectorHits += len(got)
	if len(got) != len(want) {
		return modelDiverge("%s: %d results %v, the reference %d %v", what, len(got), got, len(want), want)
	}
	for i := range want {
		if got[i].ID != want[i].ID || math.Abs(got[i].Score-want[i].Score) > 1e-9 {
			return modelDiverge("%s: result %d is %s (%.12f), the reference's %s (%.12f); got %v, want %v", what, i, got[i].ID, got[i].Score, want[i].ID, want[i].Score, got, want)
		}
	}
	return nil
}

// modelUniqueHit is a write that the unique index by_k refused as the
// model said it must: the mutation fails with it unless it catches it.
type modelUniqueHit struct{ err error }

func (h *modelUniqueHit) Error() string { return h.err.Error() }
func (h *modelUniqueHit) Unwrap() error { return h.err }

// modelUniqueDup returns the ID of the document of docs, other than self,
// whose k equals doc's ("" when doc has no k or none does): the model's
// decision that a write of doc must fail. A missing k is exempt.
func modelUniqueDup(docs map[string]map[string]any, self string, doc map[string]any) string {
	k, ok := doc["k"]
	if !ok || k == livedb.Undefined {
		return ""
	}
	for id, d := range docs {
		if dk, ok := d["k"]; ok && id != self && refCompare(dk, k) == 0 {
			return id
		}
	}
	return ""
}

// uniqueRefused checks that a write the model says duplicates dup's k
// failed with a UniqueError naming it, and leaves the model unchanged.
func (run *modelRun) uniqueRefused(tx *mTx, op *mOp, err error, id livedb.ID, dup string) error {
	var ue *livedb.UniqueError
	if !errors.As(err, &ue) || !errors.Is(err, livedb.ErrUniqueViolation) {
		return modelDiverge("%s: the model's %s has the same k %s: got %v, want a UniqueError", op, dup, modelFmtVal(tx.docs[dup]["k"]), err)
	}
	if ue.Table != modelTable || ue.Index != "by_k" || string(ue.Existing) != dup || ue.ID != id {
		return modelDiverge("%s: UniqueError names table %q index %q document %q existing %q, want %q %q %q %q", op, ue.Table, ue.Index, ue.ID, ue.Existing, modelTable, "by_k", id, dup)
	}
	run.stats.unique++
	return &modelUniqueHit{err: err}
}

// uniqueFailed checks a mutation that failed on a unique violation: it
// returned the UniqueError and wrote nothing.
func (run *modelRun) uniqueFailed(err error) error {
	if !errors.Is(err, livedb.ErrUniqueViolation) {
		return modelDiverge("a mutation whose write duplicated k failed with %v, want ErrUniqueViolation", err)
	}
	if err := run.checkDocs(); err != nil {
		return fmt.Errorf("after a mutation refused by the unique index: %w", err)
	}
	return nil
}

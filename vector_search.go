package livedb

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/internal/vecindex"
)

// Vector search limits, as Convex's ctx.vectorSearch sets them.
const (
	vectorDefaultLimit = 10
	vectorMaxLimit     = 256
)

// VectorSearchOptions are the options of [Reader.VectorSearch], Convex's
// {limit, filter}.
type VectorSearchOptions struct {
	// Limit is the number of results, 1 to 256; 0 means 10.
	Limit int
	// Filter restricts the search to documents whose filter fields have
	// given values. It is nil (no filter), an equality on one filter field,
	// f.Eq(f.Field("kind"), "note"), or an Or of such equalities, on one
	// field or several (Convex's q.or(q.eq(...), q.eq(...))), built with a
	// [FilterBuilder]. Anything else is an error wrapping ErrInvalidQuery.
	Filter Expr
}

// VectorResult is one result of [Reader.VectorSearch]: a document's ID and
// the cosine similarity of its vector with the searched one, Convex's
// {_id, _score}.
type VectorResult struct {
	ID    ID
	Score float64
}

// VectorSearch returns the documents of table whose vectors, in the vector
// index named index, are the most similar to vector by cosine similarity
// (1 for the same direction, -1 for the opposite; 0 when either vector is
// all zeros), best first; equal scores are ordered by ID. It is Convex's
// ctx.vectorSearch(table, index, {vector, limit, filter}), but it runs
// inside any transaction: queries, mutations (which see their own
// writes) and subscriptions, which re-run only when a commit writes a
// document that could change the answer (one that passes the filter and
// would rank among the results, or one of the results).
//
// The search is exact: it scores every document of the index that passes
// the filter. An equality on the first filter field narrows the scan to
// that value's entries; one on another field scans the whole index and
// skips the documents that do not match. Documents whose vector field is
// missing are not in the index. Scores are computed from the vectors as
// stored, in float32 (the query is rounded to float32 too), with products
// summed in float64; see [TableDefinition.VectorIndex].
//
// vector must have the index's dimensions and finite components (else an
// error wrapping ErrInvalidVector); an unknown table or index, or a
// database index, is ErrIndexNotFound. Load the documents with [Reader.Get].
func (r *Reader) VectorSearch(table, index string, vector []float64, opts VectorSearchOptions) ([]VectorResult, error) {
	tx := r.tx
	if err := tx.checkUsable(); err != nil {
		return nil, err
	}
	s, err := tx.planVectorSearch(table, index, vector, opts)
	if err != nil {
		return nil, err
	}
	top := vecindex.NewTopK(s.limit)
	for _, iv := range s.ivs {
		err := tx.scanVectorEntries(s.ix, iv, func(key []byte) {
			if len(s.terms) == 0 {
				// Score first and split the entry only for a contender:
				// most entries are dropped after their dot product.
				vec, norm, ok := s.locate(key)
				if !ok {
					return
				}
				score := s.q.CosineNorm(vec, norm)
				if !top.Admits(score) {
					return
				}
				if e, ok := parseVectorEntry(s.ix, key); ok {
					top.Offer(vecindex.Hit{ID: string(e.id), Score: score})
				}
				return
			}
			e, ok := parseVectorEntry(s.ix, key)
			if !ok || !s.matches(e) {
				return
			}
			if score := s.q.CosineNorm(e.vec, e.norm); top.Admits(score) {
				top.Offer(vecindex.Hit{ID: string(e.id), Score: score}) // the ID is copied only for a contender
			}
		})
		if err != nil {
			return nil, wrapErr(fmt.Sprintf("livedb: vector search %s.%s", table, index), err)
		}
		if err := tx.recordRead(iv.Start, iv.End); err != nil {
			return nil, err
		}
	}
	s.full = top.Full()
	if s.full {
		s.worst = top.Worst()
	}
	hits := top.Sorted()
	out := make([]VectorResult, len(hits))
	s.ids = make(map[string]bool, len(hits))
	for i, h := range hits {
		out[i] = VectorResult{ID: ID(h.ID), Score: h.Score}
		s.ids[h.ID] = true
	}
	tx.reads.vec = append(tx.reads.vec, s)
	return out, nil
}

// vectorRead is one vector search: what it scanned and, once it ran, what
// it found, so that a commit's index keys tell whether they change its
// answer (see hit).
type vectorRead struct {
	ix    *indexInfo
	ivs   []interval
	q     *vecindex.Query
	limit int
	// idKeyLen is the length of the _id column of the index's keys.
	idKeyLen int
	// terms are the filter's equalities, or nil when the intervals hold
	// exactly the entries that pass the filter.
	terms []vectorTerm
	// The answer: whether it has limit results, the last one if so, and
	// the IDs of all.
	full  bool
	worst vecindex.Hit
	ids   map[string]bool
}

// locate returns the packed vector and the norm of a present entry of
// the search's index, found from the key's end (the _id column has a
// fixed length per table), without checking the _id: a search checks it
// with parseVectorEntry for the entries that rank. ok is false for an
// absent entry or a key too short to hold a vector.
func (s *vectorRead) locate(key []byte) (vec []byte, norm float64, ok bool) {
	p := len(s.ix.prefix)
	if len(key) <= p || key[p] != vectorPresent {
		return nil, 0, false
	}
	end := len(key) - s.idKeyLen - vecindex.NormBytes
	start := end - s.ix.vec.dims*vecindex.BytesPerDim
	if start < p+1 {
		return nil, 0, false
	}
	return key[start:end], vecindex.ReadNorm(key[end : end+vecindex.NormBytes]), true
}

// vectorTerm is an equality of a filter: the filter field's position in
// the index and the sort key of the value.
type vectorTerm struct {
	pos int
	key []byte
}

// planVectorSearch checks a search's arguments and plans its intervals.
func (tx *txn) planVectorSearch(table, index string, vector []float64, opts VectorSearchOptions) (*vectorRead, error) {
	t, err := tx.table("vectorSearch", table)
	if err != nil {
		return nil, err
	}
	var ix *indexInfo
	if t != nil {
		ix, _ = t.index(index)
	}
	if ix == nil || ix.vec == nil {
		return nil, fmt.Errorf("%w: Vector index %s.%s not found", ErrIndexNotFound, table, index)
	}
	where := fmt.Sprintf("vector search %s.%s", table, index)
	if _, err := checkVectorFloats(vector, ix.vec.dims); err != nil {
		return nil, fmt.Errorf("livedb: %s: %w", where, err)
	}
	limit := opts.Limit
	if limit == 0 {
		limit = vectorDefaultLimit
	}
	if limit < 1 || limit > vectorMaxLimit {
		return nil, fmt.Errorf("%w: %s: limit %d is not between 1 and %d", ErrInvalidQuery, where, opts.Limit, vectorMaxLimit)
	}
	s := &vectorRead{ix: ix, q: vecindex.NewQuery(vector), limit: limit, idKeyLen: idTailLen}
	if opts.Filter != nil {
		if s.terms, err = vectorFilterTerms(ix, opts.Filter); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidQuery, where, err)
		}
	}
	base := append(slices.Clone(ix.prefix), vectorPresent)
	narrow := len(s.terms) > 0 && !slices.ContainsFunc(s.terms, func(t vectorTerm) bool { return t.pos != 0 })
	if !narrow {
		s.ivs = []interval{{Start: base, End: prefixEnd(base)}}
		return s, nil
	}
	slices.SortFunc(s.terms, func(a, b vectorTerm) int { return bytes.Compare(a.key, b.key) })
	s.terms = slices.CompactFunc(s.terms, func(a, b vectorTerm) bool { return bytes.Equal(a.key, b.key) })
	for _, t := range s.terms {
		start := append(slices.Clone(base), t.key...)
		s.ivs = append(s.ivs, interval{Start: start, End: prefixEnd(start)})
	}
	s.terms = nil // the intervals are the filter
	return s, nil
}

// checkVectorFloats checks a search vector like a stored one.
func checkVectorFloats(vec []float64, dims int) ([]float64, error) {
	if len(vec) != dims {
		return nil, vectorErrorf("the vector has %d dimensions, the index %d", len(vec), dims)
	}
	for i, f := range vec {
		if err := checkComponent(i, f); err != nil {
			return nil, err
		}
	}
	return vec, nil
}

// vectorFilterTerms reads a filter: an Eq of a filter field and a value,
// or an Or of such Eqs.
func vectorFilterTerms(ix *indexInfo, e Expr) ([]vectorTerm, error) {
	if l, ok := e.(*logicExpr); ok && !l.and {
		var out []vectorTerm
		for _, x := range l.xs {
			t, err := vectorFilterTerm(ix, x)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("the filter %s is an empty Or", e.String())
		}
		return out, nil
	}
	t, err := vectorFilterTerm(ix, e)
	if err != nil {
		return nil, err
	}
	return []vectorTerm{t}, nil
}

// vectorFilterTerm reads one equality of a filter.
func vectorFilterTerm(ix *indexInfo, e Expr) (vectorTerm, error) {
	b, ok := e.(*binaryExpr)
	if !ok || b.op != opEq {
		return vectorTerm{}, fmt.Errorf("the filter %s is not an Eq of a filter field and a value, nor an Or of such Eqs, as Convex's vector search filters are", e.String())
	}
	f, lit := b.l, b.r
	if _, isField := f.(*fieldExpr); !isField {
		f, lit = lit, f
	}
	fe, ok1 := f.(*fieldExpr)
	le, ok2 := lit.(*literalExpr)
	if !ok1 || !ok2 {
		return vectorTerm{}, fmt.Errorf("the filter %s does not compare a field with a value", e.String())
	}
	if fe.err != nil {
		return vectorTerm{}, fe.err
	}
	if le.err != nil {
		return vectorTerm{}, le.err
	}
	path := fe.path
	pos := slices.Index(ix.fields, path)
	if pos < 0 {
		return vectorTerm{}, fmt.Errorf("the filter compares %q, which is not a filter field of the index (filter fields: %v)", path, ix.fields)
	}
	return vectorTerm{pos: pos, key: value.AppendKey(nil, le.v)}, nil
}

// matches reports whether an entry passes the filter terms (true when the
// intervals alone are the filter).
func (s *vectorRead) matches(e vectorEntry) bool {
	if len(s.terms) == 0 {
		return true
	}
	parts, ok := splitFilters(e.filters, len(s.ix.fields))
	if !ok {
		return false
	}
	for _, t := range s.terms {
		if bytes.Equal(parts[t.pos], t.key) {
			return true
		}
	}
	return false
}

// scanVectorEntries calls fn with every key of iv in vector index ix that
// the transaction sees: the snapshot's, with the transaction's own writes
// applied. Keys are only valid during the call.
func (tx *txn) scanVectorEntries(ix *indexInfo, iv interval, fn func(key []byte)) (err error) {
	defer catchFault(&err, guardFaults())
	var own []overlayEntry
	if tx.writes != nil {
		if ov := tx.writes.indexOverlay(ix.id); ov != nil {
			ov.AscendRange(overlayEntry{key: iv.Start}, overlayEntry{key: iv.End}, func(e overlayEntry) bool {
				own = append(own, e)
				return true
			})
		}
	}
	it := tx.snap.Iter(iv.Start, iv.End, false)
	defer it.Close()
	n := 0
	for it.Next() {
		if n++; n%1024 == 0 {
			if err := tx.checkUsable(); err != nil {
				return err
			}
		}
		k := it.Key()
		if len(own) > 0 {
			if _, found := slices.BinarySearchFunc(own, k, func(e overlayEntry, k []byte) int { return bytes.Compare(e.key, k) }); found {
				continue // the transaction's own write of this key decides
			}
		}
		fn(k)
	}
	if err := it.Err(); err != nil {
		return storeErr(err)
	}
	for _, e := range own {
		if !e.deleted {
			fn(e.key)
		}
	}
	return nil
}

// hit reports whether a write of key k (an old or a new entry of a
// document) could change the search's answer: k lies in the search's
// intervals, passes its filter, and is either one of the results (changed
// or removed) or ranks before the last result (or there are fewer results
// than the limit). A key of a shape the search cannot read counts as a
// hit.
func (s *vectorRead) hit(k []byte) bool {
	e, ok := parseVectorEntry(s.ix, k)
	if !ok {
		return true
	}
	if !s.matches(e) {
		return false
	}
	if s.ids[string(e.id)] || !s.full {
		return true
	}
	return vecindex.Better(vecindex.Hit{ID: string(e.id), Score: s.q.CosineNorm(e.vec, e.norm)}, s.worst)
}

// covers reports whether k lies in one of the search's intervals.
func (s *vectorRead) covers(k []byte) bool {
	for _, iv := range s.ivs {
		if iv.Contains(k) {
			return true
		}
	}
	return false
}

// vectorReadsHit reports whether a committed key k invalidates a
// subscription whose vector searches are vrs: k hits one of them, or lies
// in none of their intervals (it matched another read of the
// subscription).
func vectorReadsHit(vrs []*vectorRead, k []byte) bool {
	covered := false
	for _, s := range vrs {
		if !s.covers(k) {
			continue
		}
		if s.hit(k) {
			return true
		}
		covered = true
	}
	return !covered
}

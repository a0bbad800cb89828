package livedb

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/livedb-go/livedb/internal/textsearch"
	"github.com/livedb-go/livedb/internal/value"
)

// Search query limits, as Convex's (docs/search/text-search.mdx).
const (
	// searchMaxTerms is how many distinct terms a search may have.
	searchMaxTerms = 16
	// searchMaxFilters is how many equality filters a search may have.
	searchMaxFilters = 8
	// searchMaxResults is how many documents a search ranks: the best
	// searchMaxResults, the rest are never returned.
	searchMaxResults = 1024
)

// SearchFilter is a search expression, built in the function given to
// [Query.WithSearchIndex]: exactly one Search on the index's search field,
// and Eq on its filter fields, as Convex's
// q.search("body", "hello hi").eq("channel", "#general").
//
// SearchFilter is a value: each method returns a new filter.
type SearchFilter struct {
	fields []string // the fields Search was called with
	text   string
	eqs    []rangeTerm
}

// Search sets the text to search for in field, which must be the search
// index's search field. The text is split into terms as the documents are
// (letters and digits, lower-cased); the last term matches as a prefix
// ("log" matches "login"), the others exactly.
func (s SearchFilter) Search(field, text string) SearchFilter {
	s.fields = append(slices.Clip(s.fields), field)
	s.text = text
	return s
}

// Eq keeps the documents whose field, one of the index's filter fields,
// equals x. A value may be [Undefined] to match documents lacking the field.
func (s SearchFilter) Eq(field string, x any) SearchFilter {
	s.eqs = append(slices.Clip(s.eqs), rangeTerm{op: rangeEq, field: field, value: x})
	return s
}

// String prints the filter as Convex's builder calls.
func (s SearchFilter) String() string {
	var b strings.Builder
	for _, f := range s.fields {
		fmt.Fprintf(&b, "search(%q, %q)", f, s.text)
	}
	for _, e := range s.eqs {
		fmt.Fprintf(&b, ".eq(%q, %s)", e.field, value.Format(e.value))
	}
	return b.String()
}

// searchSpec is a query's search: its index and filter.
type searchSpec struct {
	si     *searchInfo
	filter SearchFilter
}

// WithSearchIndex makes the query a text search on the named search index
// of the table, as Convex's withSearchIndex:
//
//	q.DB.Query("agentSessions").WithSearchIndex("search_output", func(s livedb.SearchFilter) livedb.SearchFilter {
//		return s.Search("output", "fix login bug").Eq("status", "done")
//	}).Take(10)
//
// The results are the documents whose search field holds at least one of
// the text's terms (the last as a prefix) and that pass the equality
// filters, most relevant first: by BM25 score, ties broken by the newest
// _creationTime first, then by _id. At most the 1,024 best are ever
// returned (Take, Collect and Paginate see no more), as in Convex.
//
// A search cannot be ordered (Order is an error) nor combined with
// WithIndex. Filter and FilterFunc apply to the ranked results, as
// Convex's .filter() after withSearchIndex does. Mistakes (an unknown
// index gives ErrIndexNotFound; no Search, a field that is not the search
// field or a filter field, more than 16 terms or 8 filters wrap
// ErrInvalidQuery) are reported by the terminal method.
//
// A subscription to a search re-runs when a commit adds, removes or
// changes a document whose search field holds one of the terms and whose
// value of the first Eq field matches (without Eq, any document with one
// of the terms), or changes a returned document. It does not re-run when
// unrelated documents only change the corpus statistics BM25 uses (the
// document count and average length), as in Convex: scores can drift from
// what a fresh run would give until the next re-run.
func (q *Query) WithSearchIndex(name string, build func(SearchFilter) SearchFilter) *Query {
	if q.err != nil {
		return q
	}
	if q.search != nil || q.ix != nil && q.ix != q.t.byTime || q.rng.n > 0 {
		q.fail("a query may use one index: WithSearchIndex and WithIndex are called once, and not together")
		return q
	}
	var si *searchInfo
	if q.t != nil {
		si, _ = q.t.searchIndex(name)
	}
	if si == nil {
		q.err = fmt.Errorf("%w: Search index %s.%s not found", ErrIndexNotFound, q.table, name)
		return q
	}
	q.search = &searchSpec{si: si}
	if build != nil {
		q.search.filter = build(SearchFilter{})
	}
	return q
}

// searchHit is one ranked result.
type searchHit struct {
	id    string
	score float64
	ct    float64
}

// rankKey returns a key whose byte order is the ranking order: score
// descending, _creationTime descending, _id ascending.
func (h *searchHit) rankKey() []byte {
	b := binary.BigEndian.AppendUint64(nil, ^orderedFloat(h.score))
	b = binary.BigEndian.AppendUint64(b, ^orderedFloat(h.ct))
	return append(b, h.id...)
}

// orderedFloat maps a float64 to a uint64 of the same order.
func orderedFloat(f float64) uint64 {
	u := math.Float64bits(f)
	if u>>63 == 0 {
		return u | 1<<63
	}
	return ^u
}

func compareHits(a, b *searchHit) int {
	return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(b.ct, a.ct), strings.Compare(a.id, b.id))
}

// searchTerm is a query term: a term, or the last term as a prefix.
type searchTerm struct {
	text  string
	exact bool
}

// searchPlan checks the search and returns its terms and the sort keys of
// its equality values, in filter-field order (nil for a field not
// filtered).
func (q *Query) searchPlan() ([]searchTerm, [][]byte, int, error) {
	if q.err != nil {
		return nil, nil, 0, q.err
	}
	if q.used {
		return nil, nil, 0, fmt.Errorf("%w: a query can only be run once", ErrInvalidQuery)
	}
	q.used = true
	if err := q.tx.checkUsable(); err != nil {
		return nil, nil, 0, err
	}
	sp := q.search
	si, f := sp.si, sp.filter
	fail := func(format string, args ...any) ([]searchTerm, [][]byte, int, error) {
		return nil, nil, 0, fmt.Errorf("%w: search on %s.%s: %s", ErrInvalidQuery, q.table, si.def.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case q.orderSet:
		return fail("a search query cannot specify an order: its results are in relevance order")
	case len(f.fields) == 0:
		return fail("the search filter needs exactly one Search(%q, text)", si.def.SearchField)
	case len(f.fields) > 1:
		return fail("Search may be called once, it was called %d times", len(f.fields))
	case f.fields[0] != si.def.SearchField:
		return fail("Search(%q, …): the index searches field %q", f.fields[0], si.def.SearchField)
	case len(f.eqs) > searchMaxFilters:
		return fail("%d equality filters, at most %d are allowed", len(f.eqs), searchMaxFilters)
	}
	eqs := make([][]byte, len(si.def.FilterFields))
	first := 0
	for i, e := range f.eqs {
		pos := slices.Index(si.def.FilterFields, e.field)
		if pos < 0 {
			return fail("Eq(%q, …): %q is not a filter field of the index (filter fields [%s])", e.field, e.field, strings.Join(si.def.FilterFields, ", "))
		}
		if eqs[pos] != nil {
			return fail("Eq(%q, …) is given twice", e.field)
		}
		x, err := rangeValue(q.t.validator, e.field, e.value)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("%w: search on %s.%s: value for %q: %w", ErrInvalidQuery, q.table, si.def.Name, e.field, err)
		}
		eqs[pos] = value.AppendKey(nil, x)
		if i == 0 {
			first = pos + 1
		}
	}
	var terms []searchTerm
	for _, t := range textsearch.Tokenize(f.text) {
		if !slices.ContainsFunc(terms, func(o searchTerm) bool { return o.text == t }) {
			terms = append(terms, searchTerm{text: t, exact: true})
		}
	}
	if len(terms) > searchMaxTerms {
		return fail("%d terms, at most %d are allowed", len(terms), searchMaxTerms)
	}
	if n := len(terms); n > 0 {
		terms[n-1].exact = false
	}
	return terms, eqs, first, nil
}

// searchRun ranks the documents the search matches, the best
// searchMaxResults of them, and records its reads.
func (q *Query) searchRun() ([]searchHit, error) {
	terms, eqs, slot, err := q.searchPlan()
	if err != nil || len(terms) == 0 {
		return nil, err
	}
	si := q.search.si
	var slotValue []byte
	if slot > 0 {
		slotValue = eqs[slot-1]
	}
	for _, t := range terms {
		k := si.readKey(slot, slotValue, t.text, "", t.exact)
		if err := q.tx.recordRead(k, prefixEnd(k)); err != nil {
			return nil, err
		}
	}
	c, err := q.tx.searchCorpus(si)
	if err != nil {
		return nil, err
	}
	hits, err := c.rank(terms, eqs)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(hits, func(a, b searchHit) int { return compareHits(&a, &b) })
	if len(hits) > searchMaxResults {
		hits = hits[:searchMaxResults]
	}
	return hits, nil
}

// searchDocs loads the ranked hits from position from on, keeping those
// that pass the query's filters, until n are kept (n < 0: all). It returns
// the documents and the hit index after the last one looked at.
func (q *Query) searchDocs(hits []searchHit, from, n int) ([]Doc, int, error) {
	var out []Doc
	i := from
	for ; i < len(hits) && (n < 0 || len(out) < n); i++ {
		d, ok, err := q.tx.get(ID(hits[i].id))
		if err != nil {
			return nil, i, err
		}
		if !ok {
			continue
		}
		pass, err := q.keep(docRow{doc: d})
		if err != nil {
			return nil, i, err
		}
		if pass {
			out = append(out, d)
		}
	}
	return out, i, nil
}

// searchCollect is collect for a search.
func (q *Query) searchCollect(n int) ([]Doc, error) {
	hits, err := q.searchRun()
	if err != nil || n == 0 {
		return nil, err
	}
	docs, _, err := q.searchDocs(hits, 0, n)
	return docs, err
}

// searchPaginate is Paginate for a search: cursors are positions in the
// ranking (score, _creationTime, _id), so a page starts after the last
// result of the one before even when scores moved in between.
func (q *Query) searchPaginate(opts PaginationOptions) (PaginationResult[Doc], error) {
	res := PaginationResult[Doc]{Page: []Doc{}}
	hits, err := q.searchRun()
	if err != nil {
		return res, err
	}
	call := q.tx.paginateCalls
	q.tx.paginateCalls++
	if opts.EndCursor == "" && call < len(q.tx.journalIn) {
		opts.EndCursor = q.tx.journalIn[call]
	}
	from, end := 0, len(hits)
	if opts.Cursor != "" {
		c, err := q.decodeCursor(opts.Cursor)
		if err != nil {
			return res, err
		}
		from = searchAfter(hits, c)
	}
	if opts.EndCursor != "" {
		c, err := q.decodeCursor(opts.EndCursor)
		if err != nil {
			return res, err
		}
		end = max(from, searchAfter(hits, c))
		docs, _, err := q.searchDocs(hits[:end], from, -1)
		if err != nil {
			return res, err
		}
		res.Page = append(res.Page, docs...)
		res.ContinueCursor, res.IsDone = opts.EndCursor, c.end
		q.tx.journalOut = append(q.tx.journalOut, res.ContinueCursor)
		return res, nil
	}
	docs, next, err := q.searchDocs(hits, from, opts.NumItems)
	if err != nil {
		return res, err
	}
	res.Page = append(res.Page, docs...)
	if next >= len(hits) {
		res.IsDone = true
		res.ContinueCursor = q.encodeCursor(cursor{end: true})
	} else {
		res.ContinueCursor = q.encodeCursor(cursor{key: hits[next-1].rankKey()})
	}
	q.tx.journalOut = append(q.tx.journalOut, res.ContinueCursor)
	return res, nil
}

// searchAfter returns the index of the first hit after cursor c.
func searchAfter(hits []searchHit, c cursor) int {
	if c.end {
		return len(hits)
	}
	i, _ := slices.BinarySearchFunc(hits, c.key, func(h searchHit, k []byte) int {
		return bytes.Compare(h.rankKey(), k)
	})
	if i < len(hits) && bytes.Equal(hits[i].rankKey(), c.key) {
		i++
	}
	return i
}

// searchAll is All for a search: the ranking is computed first, the
// documents are loaded as the loop asks for them.
func (q *Query) searchAll(yield func(Doc, error) bool) {
	hits, err := q.searchRun()
	if err != nil {
		yield(nil, err)
		return
	}
	for i := 0; i < len(hits); {
		docs, next, err := q.searchDocs(hits, i, 1)
		if err != nil {
			yield(nil, err)
			return
		}
		for _, d := range docs {
			if !yield(d, nil) {
				return
			}
		}
		i = next
	}
}

// WithSearchIndex makes the query a text search, as
// [Query.WithSearchIndex]. Eq values may be Refs and other Go values that
// [ToDoc] maps.
func (tq *TypedQuery[T]) WithSearchIndex(name string, build func(SearchFilter) SearchFilter) *TypedQuery[T] {
	if tq.q == nil {
		return tq
	}
	var wrapped func(SearchFilter) SearchFilter
	if build != nil {
		wrapped = func(s SearchFilter) SearchFilter {
			s = build(s)
			s.eqs = plainTerms(s.eqs)
			return s
		}
	}
	tq.q.WithSearchIndex(name, wrapped)
	return tq
}

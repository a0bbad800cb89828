package livedb

import (
	"fmt"
	"iter"
)

// Order is the direction of a query's scan.
type Order int

// The orders. Asc is the default.
const (
	Asc Order = iota
	Desc
)

// String returns "asc" or "desc".
func (o Order) String() string {
	if o == Desc {
		return "desc"
	}
	return "asc"
}

// Query is a query on one table, built with [Reader.Query] and run by one
// of its terminal methods (Collect, Take, First, Unique, All, Paginate).
// Without WithIndex it scans the table's by_creation_time index. Filters
// run after the index scan: every document they look at counts toward the
// transaction's read limits and read set, so prefer index ranges.
//
// A Query belongs to its transaction and is run once; building methods
// return the same *Query. Building mistakes are reported by the terminal
// method.
//
// Every document a terminal method returns, and every one a FilterFunc
// predicate gets, is a copy the caller owns and may modify (see [Doc]);
// a [TypedQuery] decodes into structs without those copies.
type Query struct {
	tx       *txn
	table    string
	t        *tableInfo // nil when the table does not exist
	ix       *indexInfo
	rng      IndexRange
	order    Order
	orderSet bool
	filters  []Expr
	preds    []func(Doc) (bool, error)
	err      error
	used     bool
	borrow   bool        // hand out rows uncopied, for a TypedQuery (read_borrow.go)
	search   *searchSpec // set by WithSearchIndex (search_query.go)

	keyBuf [80]byte // room for the keys rng compiles to (index.go's compile)

	fp    [8]byte // fingerprint, once computed (fpSet)
	fpSet bool
}

// Query starts a query on table.
func (r *Reader) Query(table string) *Query { return r.queryIn(new(Query), table) }

// queryIn is Query, starting the query in q, which holds a zero Query
// (read_alloc.go).
func (r *Reader) queryIn(q *Query, table string) *Query {
	q.tx, q.table = r.tx, table
	q.t, q.err = r.tx.table("query", table)
	if q.t != nil {
		q.ix = q.t.byTime
	}
	return q
}

func (q *Query) fail(format string, args ...any) {
	if q.err == nil {
		q.err = fmt.Errorf("%w: %s", ErrInvalidQuery, fmt.Sprintf(format, args...))
	}
}

// WithIndex makes the query scan the named index, restricted by the range
// that rng builds (nil means the whole index): for example
//
//	q.WithIndex("by_workflow_and_status", func(r livedb.IndexRange) livedb.IndexRange {
//		return r.Eq("workflowId", wf).Eq("status", "running")
//	})
//
// "by_id" and "by_creation_time" exist on every table. An unknown index
// gives ErrIndexNotFound, a range that breaks the grammar an
// *IndexRangeError.
func (q *Query) WithIndex(name string, rng func(IndexRange) IndexRange) *Query {
	return q.withIndex(name, rng, false)
}

// withIndex is WithIndex; with plain, range values are converted as a
// TypedQuery's (plainRange).
func (q *Query) withIndex(name string, rng func(IndexRange) IndexRange, plain bool) *Query {
	if q.err != nil {
		return q
	}
	if q.ix != nil && q.ix != q.t.byTime || q.rng.n > 0 || q.search != nil {
		q.fail("WithIndex may be called once, and not with WithSearchIndex")
		return q
	}
	var ix *indexInfo
	if q.t != nil {
		ix, _ = q.t.index(name)
	}
	if ix == nil || ix.vec != nil {
		q.err = fmt.Errorf("%w: Index %s.%s not found", ErrIndexNotFound, q.table, name)
		if ix != nil {
			q.err = fmt.Errorf("%w: %s.%s is a vector index: search it with VectorSearch", ErrIndexNotFound, q.table, name)
		}
		return q
	}
	q.ix = ix
	if rng != nil {
		// compile normalizes the terms in place: give it the query's own
		// copy, since the range rng returns may be shared (a package-level
		// variable used by several goroutines).
		q.rng = rng(IndexRange{})
		if plain {
			q.rng = plainRange(q.rng)
		}
		q.rng.own()
	}
	return q
}

// Order sets the direction of the scan; it may be set once. Desc walks the
// index backwards, so ties on _creationTime are broken by _id, reversed.
func (q *Query) Order(o Order) *Query {
	if q.orderSet {
		q.fail("queries may only specify order at most once")
	}
	q.order, q.orderSet = o, true
	return q
}

// Filter keeps the documents for which the expression that build returns
// evaluates to true, as Convex's .filter(q => ...). An expression that
// does not evaluate to a Boolean is an error (*EvalError).
func (q *Query) Filter(build func(f FilterBuilder) Expr) *Query {
	q.filters = append(q.filters, build(FilterBuilder{}))
	return q
}

// FilterFunc keeps the documents for which keep returns true. It runs after
// the index scan, like Filter; an error it returns ends the query. keep
// must not keep the document it is given.
func (q *Query) FilterFunc(keep func(d Doc) (bool, error)) *Query {
	q.preds = append(q.preds, keep)
	return q
}

// plan validates the query and returns its key interval.
func (q *Query) plan() (compiledRange, error) {
	if q.err != nil {
		return compiledRange{}, q.err
	}
	if q.used {
		return compiledRange{}, fmt.Errorf("%w: a query can only be run once", ErrInvalidQuery)
	}
	q.used = true
	if err := q.tx.checkUsable(); err != nil {
		return compiledRange{}, err
	}
	if q.t == nil {
		return compiledRange{}, nil // a table that does not exist yet is empty
	}
	return q.rng.compile(q.ix, q.t.validator, q.keyBuf[:])
}

// keep applies the filters to a row. Filter expressions only read the
// row's document; each predicate gets a copy of it of its own.
func (q *Query) keep(r docRow) (bool, error) {
	for _, f := range q.filters {
		ok, err := evalFilter(f, r.doc)
		if err != nil || !ok {
			return false, err
		}
	}
	for _, p := range q.preds {
		d := r.shared.cloneOr(r.doc)
		ok, err := p(d)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// rows runs the scan over cr and yields the rows that pass the filters,
// with their keys. The scanner is returned for the caller to close.
func (q *Query) rows(cr compiledRange) (*scanner, func(yield func([]byte, docRow, error) bool)) {
	if q.t == nil {
		return nil, func(func([]byte, docRow, error) bool) {}
	}
	s := q.scan(cr) // read_fixed3.go
	return s, func(yield func([]byte, docRow, error) bool) {
		for {
			key, row, ok, err := q.nextKept(s)
			if err != nil {
				yield(nil, docRow{}, err)
				return
			}
			if !ok || !yield(key, row, nil) {
				return
			}
		}
	}
}

// nextKept returns the scanner's next row that passes the filters, or
// ok == false at the end.
func (q *Query) nextKept(s *scanner) (key []byte, row docRow, ok bool, err error) {
	for {
		key, row, ok, err = s.next()
		if err != nil || !ok {
			return nil, docRow{}, false, err
		}
		pass, err := q.keep(row)
		if err != nil {
			return nil, docRow{}, false, err
		}
		if pass {
			return key, row, true, nil
		}
	}
}

// All returns an iterator over the query's results, reading lazily: rows
// are read from the index as the loop asks for them, so breaking out early
// reads (and depends on) only what was consumed. An error ends the
// iteration as its last pair.
func (q *Query) All() iter.Seq2[Doc, error] {
	return func(yield func(Doc, error) bool) {
		if q.search != nil {
			q.searchAll(yield)
			return
		}
		cr, err := q.plan()
		if err != nil {
			yield(nil, err)
			return
		}
		s, rows := q.rows(cr)
		var failed error
		stopped := false
		rows(func(_ []byte, row docRow, err error) bool {
			if err != nil {
				failed = err
				return false
			}
			if !yield(q.emit(row), nil) {
				stopped = true
				return false
			}
			return true
		})
		if s != nil {
			if err := s.close(); err != nil && failed == nil {
				failed = err
			}
			s.release() // read_fixed2.go
		}
		if failed != nil && !stopped {
			yield(nil, failed)
		}
	}
}

// Take returns the first n results (n ≥ 0).
func (q *Query) Take(n int) ([]Doc, error) {
	if n < 0 {
		q.fail("take(n) needs a non-negative integer, got %d", n)
	}
	return q.collect(n)
}

// Collect returns every result. A scan larger than the transaction's read
// limits fails with a *LimitError: paginate, or use a narrower index range.
func (q *Query) Collect() ([]Doc, error) { return q.collect(-1) }

// First returns the first result and true, or false when there is none.
func (q *Query) First() (Doc, bool, error) {
	docs, err := q.collect(1)
	if err != nil || len(docs) == 0 {
		return nil, false, err
	}
	return docs[0], true, nil
}

// Unique returns the single result and true, false when there is none, and
// an error wrapping ErrInvalidQuery naming two of the IDs when there are
// more.
func (q *Query) Unique() (Doc, bool, error) {
	docs, err := q.collect(2)
	switch {
	case err != nil || len(docs) == 0:
		return nil, false, err
	case len(docs) > 1:
		return nil, false, fmt.Errorf("%w: unique() query returned more than one result from table %s:\n [%s, %s, ...]", ErrInvalidQuery, q.table, string(docs[0].ID()), string(docs[1].ID()))
	}
	return docs[0], true, nil
}

// collect reads up to n results (all when n < 0).
func (q *Query) collect(n int) ([]Doc, error) {
	if q.search != nil {
		return q.searchCollect(n)
	}
	var out []Doc
	err := q.collectRows(n, func(row docRow) error {
		if out == nil {
			out = make([]Doc, 0, collectCap(n))
		}
		out = append(out, q.emit(row))
		return nil
	}, false)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// collectRows passes up to n result rows (all when n < 0) to add, in
// order; add stops the scan with an error. With raw, rows may be raw
// (read_direct.go): add must then not keep them past its return.
func (q *Query) collectRows(n int, add func(docRow) error, raw bool) error {
	cr, err := q.plan()
	if err != nil || n == 0 || q.t == nil {
		return err
	}
	s := q.scan(cr) // read_fixed3.go
	s.raw = raw && q.rawScan(add)
	var failed error
	var row docRow
	for i := 0; n < 0 || i < n; i++ {
		ok, err := q.nextKeptRow(s, &row) // query_scan_memo.go
		if err == nil && ok {
			err = add(row)
		}
		if err != nil || !ok {
			failed = err
			break
		}
	}
	if err := s.close(); err != nil && failed == nil {
		failed = err
	}
	s.release() // read_fixed2.go
	return failed
}

// collectCap is the initial capacity of the result of collect(n): Take(n)
// gets room for its n results, up to 128, so that they need a single
// allocation and no copy as the slice grows; Collect starts at 16.
func collectCap(n int) int {
	if n < 0 {
		return 16
	}
	return min(n, 128)
}

// describe prints the query for fingerprints and messages.
func (q *Query) describe() string { return string(q.appendDescribe(nil)) }

package livedb

import (
	"context"
	"unicode/utf8"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/v"
)

// This file holds what keeps the fixed cost of a read low, the part spent
// before its first row and after its last: a scanner's iterator is reused
// when the store can reuse it (the memory backend's).

// iterOnce opens the iterator of a scanner, which closes it exactly once
// (scanner.closeIter): a reusable one when the store offers it.
func iterOnce(snap kv.Snapshot, start, end []byte, reverse bool) kv.Iterator {
	if rs, ok := snap.(kv.ReuseSnapshot); ok {
		return rs.IterOnce(start, end, reverse)
	}
	return snap.Iter(start, end, reverse)
}

// closeIter closes the scanner's iterator once and drops it: a reusable
// iterator may belong to another scan as soon as it is closed, so the
// scanner keeps an iterator that is always at its end instead.
func (s *scanner) closeIter() {
	if s.it == closedIter {
		return
	}
	s.it.Close()
	s.it, s.mit, s.mn = closedIter, nil, nil
}

// closedIter is the iterator of a closed scanner: at its end, for good.
var closedIter kv.Iterator = endIter{}

// endIter is an iterator with no entries.
type endIter struct{}

func (endIter) Next() bool    { return false }
func (endIter) Key() []byte   { return nil }
func (endIter) Value() []byte { return nil }
func (endIter) Err() error    { return nil }
func (endIter) Close()        {}

// queryTx is a query's transaction with the QueryCtx and Reader its
// function gets, allocated together: three allocations were a third of
// what an empty query allocated.
type queryTx struct {
	tx txn
	r  Reader
	qc QueryCtx
}

// ctx returns the QueryCtx of the transaction, which DB.beginIn opened.
func (qt *queryTx) ctx(ctx context.Context) *QueryCtx {
	qt.r.tx = &qt.tx
	qt.qc = QueryCtx{DB: &qt.r, ctx: ctx}
	return &qt.qc
}

// isIDValidator reports whether fv is an ID validator. rangeValue then
// skips conform (idRangeValue): for an ID validator, conform accepts only
// an ID's text, which it returns as it was given, and rangeValue falls
// back to value.Normalize for everything else, so the result is
// Normalize's in every case; conform's only cost would be decoding the ID
// (its base32, checksum and canonical spelling), a tenth of an index
// query that reads no row.
func isIDValidator(fv v.Validator) bool {
	_, ok := fv.(*v.IDValidator)
	return ok
}

// idRangeValue is value.Normalize(x) for a range value on an ID field,
// without boxing a string again: the usual value, an ID's text, is
// returned as given when it is valid UTF-8.
func idRangeValue(x any) (any, error) {
	if s, ok := x.(string); ok && utf8.ValidString(s) {
		return x, nil
	}
	return value.Normalize(x)
}

package livedb

import (
	"context"

	"github.com/livedb-go/livedb/internal/kv"
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
	s.it, s.mit = closedIter, nil
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


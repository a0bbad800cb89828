package livedb

// This file holds what spares a read allocations beyond those of
// read_fixed.go and read_fixed2.go: a TypedQuery is allocated with its
// Query, a map Paginate's page is allocated at its size once, and a typed
// Collect's result is allocated at its size.

// typedQueryAlloc is a TypedQuery and its Query, allocated together by
// Table.Query: the two allocations were one in six of a typed index
// query that finds no row. The Query lives as long as the TypedQuery
// that points to it, which a caller may keep; a Query whose TypedQuery
// failed before it started (a nil Reader) is left zero and unused.
type typedQueryAlloc[T any] struct {
	tq TypedQuery[T]
	q  Query
}

// pageCap is the initial capacity of a Paginate's page: room for the
// NumItems rows it asks for, up to 64 (a larger page grows by append), so
// that a page of 20 is one allocation where growing it from empty was six.
// A page bounded by its EndCursor, which ignores NumItems, starts empty
// and grows.
func pageCap(opts PaginationOptions, bounded bool) int {
	if bounded {
		return 0
	}
	return min(max(opts.NumItems, 0), 64)
}

// maxScratch is the most rows a Table keeps room for in its scratch
// slices: a Collect of more gives its slice back to the collector.
const maxScratch = 256

// collectSized is collect for Collect (n < 0) and Take(n > 1): the rows
// are decoded, as the scan reads them, into a scratch slice the Table
// keeps for its reads, and the result is a copy of them made once their
// number is known. Decoding into a result grown by append made it 16 rows
// long for a Collect of 10 (and n long for a Take(n) that finds fewer),
// 1,792 bytes where 1,152 hold the 10 rows of bench's session; a Collect
// of 17 to 32 rows allocated twice. The scratch is cleared before it goes
// back, so that it keeps no string or value of a result alive, and the
// result shares nothing with it: T's values are copied as T is (a decoded
// T holds arrays and objects of its own, which the scratch's copy drops).
func (tq *TypedQuery[T]) collectSized(n int) ([]T, error) {
	sp, _ := tq.t.scratch.Get().(*[]T)
	if sp == nil {
		sp = new([]T)
	}
	rows := (*sp)[:0]
	err := tq.q.collectRows(n, func(row docRow) error {
		rows = append(rows, *new(T))
		return tq.t.decodeRow(row, &rows[len(rows)-1])
	}, true)
	if cap(rows) > maxScratch {
		// Too large to keep: the rows are the result, without a copy.
		if err != nil {
			return nil, err
		}
		return rows, nil
	}
	var out []T
	if err == nil {
		out = make([]T, len(rows)) // []T{} when there are none, as decodeAll returns
		copy(out, rows)
	}
	clear(rows)
	*sp = rows[:0]
	tq.t.scratch.Put(sp)
	return out, err
}

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

// collectScratch is where a Table's Collects gather their rows before the
// result is sized (Table.scratch): the T kept with each row's cached
// version while every row has one (read_typed_cache.go), else the rows
// decoded.
type collectScratch[T any] struct {
	kept []*T
	rows []T
}

// collectSized is collect for Collect (n < 0) and Take(n > 1): the result
// is allocated once the number of rows is known. Growing it by append
// made it 16 rows long for a Collect of 10 (and n long for a Take(n) that
// finds fewer), 1,792 bytes where 1,152 hold the 10 rows of bench's
// session; a Collect of 17 to 32 rows allocated twice.
//
// While every row read has a T kept with its cached version (the usual
// case on the memory backend: a flat T, versions read before), the scan
// only gathers pointers to those T, which are never changed, and each is
// copied once, into the result, as appendRow copies it. From the first
// row without one, the rows are decoded, as the scan reads them, into a
// scratch slice (the kept ones gathered so far copied first), and the
// result is a copy of them: T's values are copied as T is (a decoded T
// holds arrays and objects of its own, which the scratch's copy drops).
// The scratch is cleared before it goes back, so that it keeps no string
// or value of a result alive. A kept T spares the copy into the scratch
// and its clearing, which cost more than the copy into the result (the
// GC's write barriers on each).
func (tq *TypedQuery[T]) collectSized(n int) ([]T, error) {
	sc, _ := tq.t.scratch.Get().(*collectScratch[T])
	if sc == nil {
		sc = new(collectScratch[T])
	}
	kept, rows := sc.kept[:0], sc.rows[:0]
	allKept := true
	err := tq.q.collectRows(n, func(row docRow) error {
		if allKept {
			if k := tq.t.keptOf(row); k != nil { // read_typed_append.go
				kept = append(kept, k)
				return nil
			}
			allKept = false
			for _, k := range kept {
				rows = append(rows, *k)
			}
		}
		rows = append(rows, *new(T))
		return tq.t.decodeRow(row, &rows[len(rows)-1])
	}, true)
	var out []T
	switch {
	case err != nil:
	case allKept:
		out = make([]T, len(kept)) // []T{} when there are none, as decodeAll returns
		for i, k := range kept {
			out[i] = *k
		}
	case cap(rows) > maxScratch:
		out, rows = rows, nil // too large to keep: the rows are the result, without a copy
	default:
		out = make([]T, len(rows))
		copy(out, rows)
	}
	clear(kept)
	clear(rows)
	sc.kept, sc.rows = kept[:0], rows[:0]
	if cap(kept) > maxScratch {
		sc.kept = nil
	}
	if cap(rows) > maxScratch {
		sc.rows = nil
	}
	tq.t.scratch.Put(sc)
	return out, err
}

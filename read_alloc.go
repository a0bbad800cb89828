package livedb

// This file holds what spares a read allocations beyond those of
// read_fixed.go and read_fixed2.go: a TypedQuery is allocated with its
// Query, and a map Paginate's page is allocated at its size once.

// typedQueryAlloc is a TypedQuery and its Query, allocated together by
// Table.Query: the two allocations were one in six of a typed index
// query that finds no row. The Query lives as long as the TypedQuery
// that points to it, which a caller may keep; a Query whose TypedQuery
// failed before it started (a nil Reader) is left zero and unused.
type typedQueryAlloc[T any] struct {
	tq TypedQuery[T]
	q  Query
}

// pageCap is the initial capacity of a map Paginate's page: room for the
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

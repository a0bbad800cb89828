package livedb

// PaginationOpts is Convex's paginationOpts argument as a remote Convex
// client sends it (usePaginatedQuery, and the page queries of
// ConvexClient): a paginated query served by package server takes it as
// a field of its arguments,
//
//	type listArgs struct {
//		Status         string                `json:"status"`
//		PaginationOpts livedb.PaginationOpts `json:"paginationOpts"`
//	}
//
// with [v.PaginationOpts] in its args validator, and passes
// [PaginationOpts.Options] to [Query.Paginate]. Cursor is null on the
// first page, hence a pointer.
type PaginationOpts struct {
	NumItems         int     `json:"numItems"`
	Cursor           *string `json:"cursor"`
	EndCursor        *string `json:"endCursor,omitempty"`
	MaximumRowsRead  int     `json:"maximumRowsRead,omitempty"`
	MaximumBytesRead int64   `json:"maximumBytesRead,omitempty"`
	// ID is the client's number for one use of a paginated query; the
	// server does not read it.
	ID float64 `json:"id,omitempty"`
}

// Options returns the options for [Query.Paginate]: a null cursor or end
// cursor is "".
func (p PaginationOpts) Options() PaginationOptions {
	o := PaginationOptions{NumItems: p.NumItems, MaximumRowsRead: p.MaximumRowsRead, MaximumBytesRead: p.MaximumBytesRead}
	if p.Cursor != nil {
		o.Cursor = *p.Cursor
	}
	if p.EndCursor != nil {
		o.EndCursor = *p.EndCursor
	}
	return o
}

package livedb

import "github.com/livedb-go/livedb/v"

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
// with [PaginationOptsValidator] in its args validator, and passes
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

// PaginationOptsValidator returns the validator of [PaginationOpts]
// (Convex's paginationOptsValidator): numItems a number, cursor a string
// or null, and the optional endCursor, maximumRowsRead, maximumBytesRead
// and id. Unlike Convex's, it also lets cursor be absent, meaning null,
// because [ToDoc] leaves a nil pointer out and a function called in-process
// validates its arguments in that form.
func PaginationOptsValidator() *v.ObjectValidator {
	return v.Object(v.Fields{
		"numItems":         v.Float64(),
		"cursor":           v.Optional(v.Union(v.String(), v.Null())),
		"endCursor":        v.Optional(v.Union(v.String(), v.Null())),
		"maximumRowsRead":  v.Optional(v.Float64()),
		"maximumBytesRead": v.Optional(v.Float64()),
		"id":               v.Optional(v.Float64()),
	})
}

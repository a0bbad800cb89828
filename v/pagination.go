package v

// PaginationOpts returns the validator of Convex's paginationOpts argument
// (Convex's paginationOptsValidator), as a remote Convex client sends it
// and livedb.PaginationOptions decodes it: numItems a number, cursor a
// string or null, and the optional endCursor, maximumRowsRead,
// maximumBytesRead and id. Unlike Convex's, it also lets cursor be absent,
// meaning null, because livedb.ToDoc leaves an empty cursor out and a
// function called in-process validates its arguments in that form.
func PaginationOpts() *ObjectValidator {
	return Object(Fields{
		"numItems":         Float64(),
		"cursor":           Optional(Union(String(), Null())),
		"endCursor":        Optional(Union(String(), Null())),
		"maximumRowsRead":  Optional(Float64()),
		"maximumBytesRead": Optional(Float64()),
		"id":               Optional(Float64()),
	})
}

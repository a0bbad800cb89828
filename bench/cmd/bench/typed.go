package main

// This file holds what the report does for the livedb-memory-typed column:
// livedb in memory written and read through Table[T], beside livedb-memory
// through livedb.Doc, both against go-memdb in the same run.

import (
	"github.com/livedb-go/livedb/bench/internal/stores"
)

// comparedToMemdb reports whether a store's cells carry a ratio to
// go-memdb: livedb in memory, through either read API.
func comparedToMemdb(store string) bool {
	return store == stores.LivedbMemory || store == stores.LivedbMemoryTyped
}

// apiName names the API a livedb store used in this run.
func apiName(store string) string {
	if typedReads(store) {
		return "typed API, `Table[T]`"
	}
	return "map API, `livedb.Doc`"
}

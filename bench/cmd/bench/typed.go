package main

// This file holds what the report does for the livedb-memory-typed column:
// livedb in memory read through Table[T], beside livedb-memory read
// through livedb.Doc, both against go-memdb in the same run.

import (
	"strings"

	"github.com/livedb-go/livedb/bench/internal/stores"
)

// comparedToMemdb reports whether a store's cells carry a ratio to
// go-memdb: livedb in memory, through either read API.
func comparedToMemdb(store string) bool {
	return store == stores.LivedbMemory || store == stores.LivedbMemoryTyped
}

// readKeys are the prefixes of the figures that depend on the read API:
// W3, W4, W5 and W8 (whose subscriptions read through it).
var readKeys = []string{"W3.", "W4.", "W5", "W8"}

// shown reports whether the time, allocation and W8 tables show a
// figure of store. livedb-memory-typed differs from livedb-memory only in
// its reads: its writes (W1, W2, W6) are livedb-memory's, measured again,
// and are left to the "Every figure" table.
func shown(store, key string) bool {
	if store != stores.LivedbMemoryTyped {
		return true
	}
	for _, p := range readKeys {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// apiName names the read API a livedb store used in this run.
func apiName(store string) string {
	if typedReads(store) {
		return "typed API, `Table[T]`"
	}
	return "map API, `livedb.Doc`"
}

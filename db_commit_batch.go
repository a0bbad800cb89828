package livedb

// groupOps returns about how many storage writes a commit group makes, so
// that commitGroup allocates its batch once: appended from empty, the
// batch of one insert into a table of five indexes (about nine writes)
// was grown four times, 1,200 bytes in four allocations, for 720 bytes
// used. It counts the index writes of each document as writeBatch makes
// them (a delete of an old entry that changed, a put of a new entry that
// changed and of the by_id entry), the change feed's piece and
// later-change key, and the writes of the group's end (storeGroup: the
// last timestamp, maybe the catalog and the change feed's prune point).
// Aggregates, search indexes and pruning may add writes beyond it; the
// batch then grows as before.
func groupOps(group []*commitReq) int {
	n := 3
	for _, req := range group {
		ws := req.tx.writes
		if ws == nil {
			continue
		}
		n++ // the change feed's piece
		for _, docID := range ws.order {
			n += docOps(ws.docs[docID])
		}
	}
	return n
}

// docOps returns the number of writes writeBatch and putChanges make for
// pd.
func docOps(pd *pendingDoc) int {
	n := 0
	if pd.oldKeys != nil {
		n++ // the later-change key
	}
	for i := range pd.table.indexes {
		_, _, del, put := entryWrites(pd, i)
		if del {
			n++
		}
		if put {
			n++
		}
	}
	return n
}

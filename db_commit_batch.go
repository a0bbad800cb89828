package livedb

// groupOps returns about how many storage writes a commit group makes, so
// that commitGroup allocates its batch once: appended from empty, the
// batch of one insert into a table of five indexes (about nine writes)
// was grown four times, 1,200 bytes in four allocations, for 720 bytes
// used. It counts a put and a delete of every index entry of each written
// document (writeBatch writes at most that), the change feed's piece and
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
			pd := ws.docs[docID]
			if pd.newKeys != nil {
				n += len(pd.table.indexes)
			}
			if pd.oldKeys != nil {
				n += len(pd.table.indexes) + 1 // deletes, the later-change key
			}
		}
	}
	return n
}

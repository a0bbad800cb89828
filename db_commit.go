package livedb

import (
	"encoding/binary"
	"errors"

	"github.com/livedb-go/livedb/internal/kv"
)

// commitRecord is one committed mutation as the OCC validator and the
// subscription manager see it: its timestamp and the documents it wrote,
// with their old and new index keys.
type commitRecord struct {
	ts     uint64
	writes []*pendingDoc
}

// commitReq asks the committer to validate and commit a mutation.
type commitReq struct {
	tx   *txn
	done chan commitResult
}

type commitResult struct {
	ts       uint64
	err      error
	conflict *pendingDoc // the write that conflicted, when err is errConflict
}

var errConflict = errors.New("livedb: conflict")

// maxGroup bounds how many mutations one storage commit carries.
const maxGroup = 256

// committer is the single goroutine that validates and writes commits. It
// takes every queued request at once (group commit): each is checked against
// the commits after its snapshot and against the ones accepted before it in
// the group, so the group is serializable in queue order; then one storage
// commit (one fsync) writes all accepted mutations, and each caller is told
// its own timestamp.
//
// Order of effects for a group: storage commit, publish the commit records
// (OCC log, last timestamp), wake subscriptions, then answer the callers.
func (db *DB) committer() {
	defer db.wg.Done()
	var group []*commitReq
	for {
		select {
		case req := <-db.commitCh:
			group = append(group[:0], req)
		drain:
			for len(group) < maxGroup {
				select {
				case r := <-db.commitCh:
					group = append(group, r)
				default:
					break drain
				}
			}
			db.commitGroup(group)
		case <-db.closing:
			return // submit gives up on a send once closing is closed
		}
	}
}

func (db *DB) commitGroup(group []*commitReq) {
	db.activeMu.Lock()
	log := db.log
	db.activeMu.Unlock()

	var accepted []*commitReq
	var records []*commitRecord
	var batch kv.Batch
	ts := db.lastTS.Load()
	for _, req := range group {
		tx := req.tx
		tx.reads.normalize()
		if pd := conflictIn(&tx.reads, tx.ts, log, records); pd != nil {
			req.done <- commitResult{err: errConflict, conflict: pd}
			continue
		}
		ts = max(ts+1, uint64(timeNow().UnixNano()))
		rec := &commitRecord{ts: ts}
		for i, docID := range tx.writes.order {
			pd := tx.writes.docs[docID]
			rec.writes = append(rec.writes, pd)
			writeBatch(&batch, pd)
			batch.Put(changeKey(ts, uint32(i)), encodeChange(pd))
		}
		accepted = append(accepted, req)
		records = append(records, rec)
	}
	if len(accepted) == 0 {
		return
	}
	batch.Put(keyLastTS, binary.BigEndian.AppendUint64(nil, ts))
	db.pruneChanges(&batch, ts)
	if err := db.store.Commit(&batch); err != nil {
		for _, req := range accepted {
			req.done <- commitResult{err: err}
		}
		return
	}

	db.activeMu.Lock()
	db.log = append(db.log, records...)
	db.trimLogLocked()
	db.activeMu.Unlock()
	db.lastTS.Store(ts)
	db.signalCommit()
	db.subs.notify(records)
	for i, req := range accepted {
		req.done <- commitResult{ts: records[i].ts}
	}
}

// conflictIn returns a write committed after snapshot ts (in the log or
// earlier in the group) whose old or new index key lies in the read set.
func conflictIn(rs *readSet, snapTS uint64, log, group []*commitRecord) *pendingDoc {
	check := func(recs []*commitRecord) *pendingDoc {
		for _, rec := range recs {
			if rec.ts <= snapTS {
				continue
			}
			for _, pd := range rec.writes {
				if _, ok := rs.overlapsAny(pd.oldKeys); ok {
					return pd
				}
				if _, ok := rs.overlapsAny(pd.newKeys); ok {
					return pd
				}
			}
		}
		return nil
	}
	if pd := check(log); pd != nil {
		return pd
	}
	return check(group)
}

// writeBatch adds a pending document's storage writes: the by_id entry
// holds the document, every other index entry holds the _id.
func writeBatch(b *kv.Batch, pd *pendingDoc) {
	for i, ix := range pd.table.indexes {
		var oldK, newK []byte
		if pd.oldKeys != nil {
			oldK = pd.oldKeys[i]
		}
		if pd.newKeys != nil {
			newK = pd.newKeys[i]
		}
		if oldK != nil && (newK == nil || string(oldK) != string(newK)) {
			b.Delete(oldK)
		}
		if newK == nil {
			continue
		}
		if ix == pd.table.byID {
			b.Put(newK, pd.newEnc)
		} else if oldK == nil || string(oldK) != string(newK) {
			b.Put(newK, []byte(pd.id))
		}
	}
}

// trimLogLocked drops commit records that no running mutation can conflict
// with: those at or before the oldest active snapshot. Caller holds activeMu.
func (db *DB) trimLogLocked() {
	minActive := db.lastTS.Load()
	if n := len(db.log); n > 0 {
		minActive = max(minActive, db.log[n-1].ts)
	}
	for ts := range db.active {
		minActive = min(minActive, ts)
	}
	i := 0
	for i < len(db.log) && db.log[i].ts <= minActive {
		i++
	}
	if i > 0 {
		db.log = append(db.log[:0:0], db.log[i:]...)
	}
}

// submit hands a mutation to the committer and waits for its outcome. The
// mutation's snapshot must already be released; its registration as active
// is kept until the committer answered.
func (db *DB) submit(tx *txn) commitResult {
	req := &commitReq{tx: tx, done: make(chan commitResult, 1)}
	select {
	case db.commitCh <- req:
	case <-db.closing:
		return commitResult{err: ErrClosed}
	}
	return <-req.done // the committer answers every request it took
}

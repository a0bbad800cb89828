package livedb

import (
	"context"
	"errors"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
)

// commitRecord is one committed mutation as the OCC validator and the
// subscription manager see it: its timestamp and the documents it wrote,
// with their old and new index keys.
type commitRecord struct {
	ts     uint64
	writes []*pendingDoc
	// tableKeys are the read-set keys of the catalog entries the commit
	// wrote (tableKeys in keys.go): tables created or renumbered; and the
	// aggregate rows it changed (aggregate.go).
	tableKeys [][]byte
	// all says that the commit may have changed anything: a copy of a
	// shared database that was loaded anew (rebootstrap). It conflicts
	// with every mutation whose snapshot is older and re-runs every
	// subscription.
	all bool
}

// commitReq asks the committer to validate and commit a mutation.
type commitReq struct {
	tx   *txn
	done chan commitResult
}

type commitResult struct {
	ts       uint64
	err      error
	conflict *conflict // what conflicted, when err is errConflict
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
// (OCC log, last timestamp), answer the callers, wake the subscriptions,
// then answer the conflicting callers. On a memory database a mutation
// that finds no commit in progress commits a group of one on its own
// goroutine instead (db_commit_inline.go); commitMu keeps commits one at
// a time.
func (db *DB) committer() {
	defer db.wg.Done()
	var g grouper
	for {
		select {
		case req := <-db.commitCh:
			group := g.gather(db, req)
			db.commitMu.Lock() // an inline commit may be in progress (db_commit_inline.go)
			start := time.Now()
			db.commitGroup(group)
			g.lastDur = time.Since(start)
			db.commitMu.Unlock()
			clear(group) // do not keep the last group's writes alive
		case p := <-db.pauses:
			db.commitMu.Lock() // no inline commit during the pause
			ok := db.paused(p)
			db.commitMu.Unlock()
			if !ok {
				return
			}
		case <-db.shared.wakeups():
			db.follow()
		case <-db.shared.asked():
			db.follow()
		case <-db.shared.ticks():
			db.follow()
		case <-db.closing:
			return // submit gives up on a send once closing is closed
		}
	}
}

// commitDelayMax bounds how long the committer waits for running
// mutations to join a group.
const commitDelayMax = 2 * time.Millisecond

// grouper gathers the requests of one group commit. It takes every request
// already queued and then, when other mutations are running (registered as
// active, not queued yet), waits a little for theirs: at most half the last
// storage commit's duration and at most commitDelayMax, as PostgreSQL's
// commit_delay does. Without the wait, writers that each wait for their
// commit split into two alternating half groups, one syncing while the
// other runs. A wait that gains nothing makes the next ones rarer (1, 3, 7,
// ... 63 groups without waiting), so that long-running mutations do not
// delay every commit. Used by the committer only.
type grouper struct {
	group   []*commitReq
	lastDur time.Duration // how long the last storage commit took
	skip    int           // groups left to gather without waiting
	misses  int           // waits in a row that gained nothing
}

// gather returns the group that starts with first.
func (g *grouper) gather(db *DB, first *commitReq) []*commitReq {
	g.group = append(g.group[:0], first)
	for len(g.group) < maxGroup {
		select {
		case r := <-db.commitCh:
			g.group = append(g.group, r)
		default:
			return g.wait(db)
		}
	}
	return g.group
}

// wait waits for the running mutations' requests, unless skipping. (On a
// memory database those mutations often commit inline instead; a wait
// that gains nothing makes the next ones rarer, see grouper.)
func (g *grouper) wait(db *DB) []*commitReq {
	if g.skip > 0 || g.lastDur == 0 {
		g.skip = max(g.skip-1, 0)
		return g.group
	}
	db.activeMu.Lock()
	running := 0
	for _, n := range db.active {
		running += n // every queued request's mutation is still registered
	}
	db.activeMu.Unlock()
	if running <= len(g.group) {
		return g.group
	}
	n := len(g.group)
	t := time.NewTimer(min(g.lastDur/2, commitDelayMax))
	defer t.Stop()
wait:
	for len(g.group) < running && len(g.group) < maxGroup {
		select {
		case r := <-db.commitCh:
			g.group = append(g.group, r)
		case <-t.C:
			break wait
		case <-db.closing:
			break wait
		}
	}
	if len(g.group) > n {
		g.misses = 0
	} else {
		g.misses = min(g.misses+1, 6)
		g.skip = 1<<g.misses - 1
	}
	return g.group
}

func (db *DB) commitGroup(group []*commitReq) {
	// A shared database's log is locked first, and the commits of other
	// processes after this copy's last one applied: the group is then
	// checked against them as against local commits.
	var lt *sharedLock
	switch {
	case db.shared == nil:
	case db.shared.held != nil: // held for a mutation that runs alone
		lt, db.shared.held = db.shared.held, nil
		defer lt.release()
	default:
		var err error
		if lt, err = db.lockShared(); err != nil {
			for _, req := range group {
				req.done <- commitResult{err: err}
			}
			return
		}
		defer lt.release()
	}
	db.activeMu.Lock()
	log := db.log
	db.activeMu.Unlock()

	var accepted, conflicted []*commitReq
	var conflicts []*conflict
	var records []*commitRecord
	var batch kv.Batch
	var aggs aggBatch      // aggregate rows the group changes (aggregate.go)
	var search searchGroup // the search indexes' writes (search_index.go)
	batch.Ops = make([]kv.Op, 0, groupOps(group))
	ts := db.lastTS.Load()
	base := db.cat.Load()
	cat := base // with the tables of the mutations accepted so far
	// Conflicting mutations are answered after the group's commit, so that
	// their retry reads a snapshot with the writes they conflicted with
	// instead of conflicting with them again.
	defer func() {
		for i, req := range conflicted {
			req.done <- commitResult{err: errConflict, conflict: conflicts[i]}
		}
	}()
	for _, req := range group {
		tx := req.tx
		tx.reads.normalize()
		next, c := cat, conflictIn(&tx.reads, tx.ts, log, records)
		if c == nil {
			next, c = cat.admit(tx)
		}
		if c != nil {
			conflicted = append(conflicted, req)
			conflicts = append(conflicts, c)
			continue
		}
		ts = max(ts+1, uint64(timeNow().UnixNano()))
		rec := &commitRecord{ts: ts}
		for _, t := range tx.writes.tables {
			rec.tableKeys = append(rec.tableKeys, tableKeys(t, cat.tables[t.name])...)
		}
		cat = next
		for _, docID := range tx.writes.order {
			pd := tx.writes.docs[docID]
			rec.writes = append(rec.writes, pd)
			writeBatch(&batch, pd)
			search.add(&batch, rec, pd)
		}
		putChanges(&batch, ts, rec.writes)
		aggs.record(rec)
		accepted = append(accepted, req)
		records = append(records, rec)
	}
	if len(accepted) == 0 {
		return
	}
	start := time.Now()
	err := db.writeAggregates(&aggs, &batch)
	if err == nil {
		err = search.flush(db.store, &batch)
	}
	if err == nil && lt != nil {
		err = lt.append(&logGroup{records: records, ops: batch.Ops[:len(batch.Ops):len(batch.Ops)]}, base, cat)
	}
	if err == nil {
		err = storeErr(db.storeGroup(&batch, ts, base, cat))
	}
	db.stats.grouped(len(accepted), time.Since(start))
	if err != nil {
		for _, req := range accepted {
			req.done <- commitResult{err: err}
		}
		return
	}
	db.published(records, ts)
	for i, req := range accepted {
		req.done <- commitResult{ts: records[i].ts}
	}
	// The subscription manager is woken last: the goroutine readied last
	// runs next on this P once the committer blocks, while the others are
	// taken by idle Ps. Woken before the callers, the manager waited for
	// them. (An inline commit of a memory database does not block here:
	// its caller goes on, and the manager waits for an idle P or for the
	// caller to block; yielding to it was measured and made the writer
	// pay for the re-run.)
	db.subs.notify(records)
}

// published makes committed records visible, once they are in storage: to
// the conflict checks of running mutations, as the last timestamp, and to
// the waiters of commitSignal.
func (db *DB) published(records []*commitRecord, ts uint64) {
	db.activeMu.Lock()
	db.log = append(db.log, records...)
	db.trimLogLocked()
	db.activeMu.Unlock()
	db.lastTS.Store(ts)
	db.signalCommit()
}

// storeGroup commits a group's batch, whose last commit has timestamp ts,
// to storage. When the group changed the catalog from base to cat, the
// batch stores cat too, and cat is published once the storage commit is
// done: catMu is held in between, so that a snapshot that holds cat waits
// for it to be published (view).
func (db *DB) storeGroup(batch *kv.Batch, ts uint64, base, cat *catalog) error {
	if cat != base {
		cat.gen = base.gen + 1
		b, err := cat.marshal()
		if err != nil {
			return err
		}
		batch.Put(keyCatalog, b)
		db.catMu.Lock()
		defer db.catMu.Unlock()
	}
	batch.Put(keyLastTS, encodeLastTS(ts, cat.gen))
	db.pruneChanges(batch, ts)
	if err := db.commitStore(batch); err != nil {
		if cat != base {
			// The store may hold cat now (the outcome of a failed commit
			// is unknown): snapshots that do must still find it.
			db.doubtCat.Store(cat)
		}
		return err
	}
	if cat != base {
		db.publishCatalog(cat)
	}
	return nil
}

// admit returns the catalog that committing tx on cat gives, or a write of
// tx that cat makes invalid. The tables tx creates or renumbers must leave
// every table with a number of its own (an import may have given a number
// to another table since tx allocated it); a document tx writes must be in
// the table that cat lists by that name (an import may have renumbered
// it). Read-set keys catch the rest: a table created twice, a missing
// table read and then created.
func (cat *catalog) admit(tx *txn) (*catalog, *conflict) {
	ws := tx.writes
	next := cat
	if len(ws.tables) > 0 {
		next = cat.with(ws.tables...)
		for _, t := range next.tables {
			if next.byNumber[t.number] != t {
				return nil, &conflict{table: t, key: tableNumberKey(t.number)}
			}
		}
	}
	if cat == tx.base {
		return next, nil // no table changed since the snapshot
	}
	for _, docID := range ws.order {
		pd := ws.docs[docID]
		if next.tables[pd.table.name] != pd.table {
			return nil, &conflict{table: pd.table, id: pd.id, key: tableNameKey(pd.table.name)}
		}
	}
	return next, nil
}

// conflictIn returns what a commit after snapshot ts (in the log or
// earlier in the group) wrote inside the read set: a document's old or new
// index key, or a catalog entry.
func conflictIn(rs *readSet, snapTS uint64, log, group []*commitRecord) *conflict {
	check := func(recs []*commitRecord) *conflict {
		for _, rec := range recs {
			if rec.ts <= snapTS {
				continue
			}
			if rec.all {
				return &conflict{}
			}
			if k, ok := rs.overlapsAny(rec.tableKeys); ok {
				return &conflict{key: k, iv: rs.find(k)}
			}
			for _, pd := range rec.writes {
				// The table's own indexes first: a conflict is reported on
				// the range a query read rather than on the document's ID.
				for i := len(pd.table.indexes) - 1; i >= 0; i-- {
					for _, keys := range [2][][]byte{pd.oldKeys, pd.newKeys} {
						if keys != nil && keys[i] != nil && rs.contains(keys[i]) {
							return &conflict{table: pd.table, id: pd.id, key: keys[i], iv: rs.find(keys[i])}
						}
					}
				}
			}
		}
		return nil
	}
	if c := check(log); c != nil {
		return c
	}
	return check(group)
}

// writeBatch adds a pending document's storage writes: the by_id entry
// holds the document, every other index entry is its key alone (its key
// ends with the _id: see indexEntryID).
func writeBatch(b *kv.Batch, pd *pendingDoc) {
	for i, ix := range pd.table.indexes {
		oldK, newK, del, put := entryWrites(pd, i)
		if del {
			b.Delete(oldK)
		}
		switch {
		case !put:
		case ix == pd.table.byID:
			putDocMemo(b, newK, pd) // read_precache.go
		default:
			putEntryMemo(b, newK, pd)
		}
	}
}

// entryWrites returns the old and new keys of pd's entry in index i, and
// whether writeBatch deletes the old one and puts the new one: an entry
// is written only when its key changed, except the by_id entry, which
// holds the document and is put at every write of it.
func entryWrites(pd *pendingDoc, i int) (oldK, newK []byte, del, put bool) {
	if pd.oldKeys != nil {
		oldK = pd.oldKeys[i]
	}
	if pd.newKeys != nil {
		newK = pd.newKeys[i]
	}
	moved := oldK == nil || newK == nil || string(oldK) != string(newK)
	return oldK, newK, oldK != nil && moved, newK != nil && (moved || pd.table.indexes[i] == pd.table.byID)
}

// noValue is the value of an index entry.
var noValue = []byte{}

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

// submit commits a mutation and returns its outcome: on a memory database
// that no other commit holds, on the caller's goroutine
// (db_commit_inline.go), else through the committer. The mutation's
// snapshot must already be released; its registration as active is kept
// until the commit answered. A ctx that ends before the committer took the
// request ends the wait (an inline commit does not wait).
func (db *DB) submit(ctx context.Context, tx *txn) commitResult {
	if res, ok := db.submitInline(tx); ok { // db_commit_inline.go
		return res
	}
	req := &commitReq{tx: tx, done: make(chan commitResult, 1)}
	db.startCommitter()
	select {
	case db.commitCh <- req:
	case <-db.closing:
		return commitResult{err: ErrClosed}
	case <-ctx.Done():
		return commitResult{err: ctx.Err()}
	}
	return <-req.done // the committer answers every request it took
}

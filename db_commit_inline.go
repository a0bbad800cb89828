package livedb

// A memory database's commit needs no fsync: it is a few microseconds of
// CPU, less than the two goroutine hand-offs of the committer (the caller
// wakes the committer, the committer wakes the caller), each of which
// costs 5–30 µs when it wakes an idle P. So a mutation of a memory
// database that finds no other commit in progress commits on its own
// goroutine, as a group of one: the same commitGroup, under commitMu,
// which the committer holds too while it commits a group or serves a
// pause. Mutations that find the slot taken go to the committer as before
// and are grouped there. A bbolt or shared database always commits on the
// committer: there, grouping saves fsyncs and log round trips. A memory
// database with subscriptions commits inline too: the writer hands the
// records to the subscription manager (notify, which takes only the
// manager's pendMu, never the mu it matches and re-runs under) and
// returns; the manager runs on an idle P, or on the writer's once the
// writer blocks. Through the committer, the writer paid two hand-offs
// more (BenchmarkSubscriptionFanout memory/readers=first, 3000 commits,
// alternated 3 times: writer p50 17-32 µs inline against 21-53 µs).
//
// What holds: commits stay one at a time (commitMu), each checked against
// every commit after its snapshot; a mutation running alone (runAlone)
// still has no commit land beside it, since the committer holds commitMu
// for the whole pause; Close waits for a commit in progress.

// commitsInline reports whether a mutation may commit on its own
// goroutine: a memory database, not shared.
func (db *DB) commitsInline() bool {
	return db.shared == nil && db.path == ""
}

// submitInline commits tx on the calling goroutine, as a group of one,
// when db commits inline and no other commit is in progress; ok is false
// when the caller must hand tx to the committer.
func (db *DB) submitInline(tx *txn) (res commitResult, ok bool) {
	if !db.commitsInline() || !db.commitMu.TryLock() {
		return commitResult{}, false
	}
	defer db.commitMu.Unlock()
	if db.isClosed() {
		return commitResult{err: ErrClosed}, true
	}
	req := &commitReq{tx: tx, done: make(chan commitResult, 1)}
	db.commitGroup([]*commitReq{req})
	return <-req.done, true // commitGroup answers every request of its group
}

// waitInlineCommit waits for an inline commit in progress to end. Called
// by Close once db.closing is closed: later inline commits see it and
// fail with ErrClosed.
func (db *DB) waitInlineCommit() {
	db.commitMu.Lock()
	db.commitMu.Unlock() //nolint:staticcheck // an empty critical section: only waits
}

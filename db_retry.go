package livedb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/livedb-go/livedb/internal/value"
)

// Progress under contention. A mutation runs optimistically: on its own
// snapshot, checked at commit against what committed since. Under heavy
// contention on one key (N workers claiming "the oldest pending task"),
// the same mutation can lose that race again and again. So after
// exclusiveAfter conflicts it runs alone: the committer pauses, the
// mutation takes a fresh snapshot, runs and commits, and no other commit
// can land in between, so it cannot conflict. Other mutations run
// meanwhile and their commits wait for the pause to end. Mutations that
// run alone take turns (one at a time, in arrival order).
//
// A pause is bounded: when other commits have waited exclusivePause and
// the mutation has not committed yet (it runs long, or it waits for
// another mutation of the same DB, which the pause would otherwise block
// forever), the pause ends and the mutation goes on optimistically. Each
// further attempt of the same mutation doubles the bound, so a mutation of
// any finite length gets a pause long enough in the end.
const (
	exclusiveAfter = 3
	exclusivePause = 100 * time.Millisecond
)

// submitter hands a transaction to the committer and waits for its
// outcome: the DB itself (the optimistic path), or a pause (the mutation
// runs alone).
type submitter interface {
	submit(ctx context.Context, tx *txn) commitResult
}

// retry runs once until it commits or fails for another reason than a
// conflict, with backoff, and runs it alone after exclusiveAfter
// conflicts. It returns a *ConflictError only when Options.MaxRetries
// limits the attempts or when ctx ends while it retries.
func (db *DB) retry(ctx context.Context, once func(submitter) (uint64, *conflict, error)) (uint64, error) {
	backoff := time.Millisecond
	for attempt := 0; ; attempt++ {
		var ts uint64
		var c *conflict
		var err error
		if attempt < exclusiveAfter {
			ts, c, err = once(db)
		} else {
			ts, c, err = db.runAlone(ctx, attempt-exclusiveAfter, once)
		}
		if err != errConflict {
			return ts, err
		}
		db.stats.conflicted(c)
		if attempt >= db.opts.MaxRetries {
			db.stats.conflictErrors.Add(1)
			return 0, c.error(attempt+1, nil)
		}
		db.stats.retries.Add(1)
		if attempt+1 >= exclusiveAfter {
			continue // the next attempt runs alone: no backoff
		}
		t := time.NewTimer(backoff/2 + time.Duration(rand.Int64N(int64(backoff))))
		select {
		case <-ctx.Done():
			t.Stop()
			db.stats.conflictErrors.Add(1)
			return 0, c.error(attempt+1, ctx.Err())
		case <-db.closing:
			t.Stop()
			return 0, ErrClosed
		case <-t.C:
		}
		backoff = min(backoff*2, 100*time.Millisecond)
	}
}

// pause is a mutation running alone: the committer serves its commit and
// keeps the others' waiting, for at most max while others wait.
type pause struct {
	db     *DB
	max    time.Duration
	commit chan *commitReq // the mutation's commit
	done   chan struct{}   // closed when the mutation's attempt ends
	ended  chan struct{}   // closed by the committer when the pause ends
	// ready is closed by the committer once the mutation may take its
	// snapshot: at once, or on a shared database once the committer holds
	// the log and has applied every other process's commits, so that no
	// process commits while the mutation runs.
	ready chan struct{}
}

// runAlone runs once with the committer paused for it. n counts the
// earlier attempts that ran alone.
func (db *DB) runAlone(ctx context.Context, n int, once func(submitter) (uint64, *conflict, error)) (uint64, *conflict, error) {
	select { // one at a time
	case db.alone <- struct{}{}:
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	case <-db.closing:
		return 0, nil, ErrClosed
	}
	defer func() { <-db.alone }()
	p := &pause{db: db, max: exclusivePause << min(n, 10), commit: make(chan *commitReq),
		done: make(chan struct{}), ended: make(chan struct{}), ready: make(chan struct{})}
	db.startCommitter()
	select {
	case db.pauses <- p:
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	case <-db.closing:
		return 0, nil, ErrClosed
	}
	db.stats.alone.Add(1)
	defer close(p.done)
	select {
	case <-p.ready:
	case <-p.ended: // the committer could not hold the shared log: run as usual
	}
	return once(p)
}

// submit hands the paused mutation's transaction to the committer; when
// the pause has ended, it goes the usual way.
func (p *pause) submit(ctx context.Context, tx *txn) commitResult {
	req := &commitReq{tx: tx, done: make(chan commitResult, 1)}
	select {
	case p.commit <- req:
		return <-req.done // the committer answers every request it took
	case <-p.ended:
		return p.db.submit(ctx, tx)
	}
}

// paused is the committer during a pause: it commits the paused
// mutation's transaction alone and keeps the requests of others for after
// the pause. It reports false when the DB is closing.
func (db *DB) paused(p *pause) bool {
	if db.shared != nil {
		// Other processes are held too: the log stays locked until the
		// mutation's commit, or the end of the pause.
		if lt, err := db.lockSharedFor(p.max + sharedTimeout); err == nil {
			db.shared.held = lt
			defer func() {
				if db.shared.held != nil {
					db.shared.held.release()
					db.shared.held = nil
				}
			}()
		}
	}
	close(p.ready)
	var waiting []*commitReq
	t := time.NewTimer(p.max)
	defer t.Stop()
	expired := false
	defer close(p.ended)
	for {
		select {
		case req := <-p.commit:
			db.commitGroup([]*commitReq{req})
		case <-p.done:
		case req := <-db.commitCh:
			waiting = append(waiting, req)
			if !expired {
				continue
			}
		case <-t.C:
			expired = true
			if len(waiting) == 0 {
				continue
			}
		case <-db.closing:
			for _, req := range waiting {
				req.done <- commitResult{err: ErrClosed}
			}
			return false
		}
		if len(waiting) > 0 {
			db.commitGroup(waiting)
		}
		return true
	}
}

// conflict is what made a transaction conflict: a key that a commit after
// its snapshot wrote inside an interval it read, or a table that the
// commit's catalog does not admit.
type conflict struct {
	table *tableInfo
	id    string   // the document written; "" for a catalog entry
	key   []byte   // the key written
	iv    interval // the interval read that holds key; zero for the catalog
}

// error returns the ConflictError of a mutation that made attempts runs
// and conflicted on c in the last; cause is the context's error that
// ended its retries, or nil.
func (c *conflict) error(attempts int, cause error) *ConflictError {
	e := &ConflictError{ID: ID(c.id), Retries: attempts - 1, Cause: cause}
	if c.table != nil {
		e.Table = c.table.name
	}
	if c.key != nil && c.key[0] == tagTable {
		e.Table = tableKeyName(c.key)
		return e
	}
	if ix := c.index(); ix != nil {
		e.Index = ix.name
		e.Range = describeInterval(ix, c.iv)
	}
	return e
}

// where names what conflicted: "table.index", or "table" for a table's
// existence.
func (c *conflict) where() string {
	if c.key != nil && c.key[0] == tagTable {
		return tableKeyName(c.key)
	}
	name := ""
	if c.table != nil {
		name = c.table.name
	}
	if ix := c.index(); ix != nil {
		name += "." + ix.name
	}
	return name
}

// index returns the index of the key written, or nil.
func (c *conflict) index() *indexInfo {
	if c.table == nil || c.key == nil {
		return nil
	}
	for _, ix := range c.table.indexes {
		if strings.HasPrefix(string(c.key), string(ix.prefix)) {
			return ix
		}
	}
	return nil
}

// describeInterval prints a read interval of index ix with the values its
// bounds hold, e.g. `["pending"] to ["pending", …]`; a point read prints
// its one key.
func describeInterval(ix *indexInfo, iv interval) string {
	if iv.Start == nil {
		return ""
	}
	if string(iv.End) == string(keySuccessor(iv.Start)) {
		return "= " + describeKey(ix, iv.Start)
	}
	return describeKey(ix, iv.Start) + " to " + describeKey(ix, iv.End)
}

// describeKey prints the values of an index key (or a bound of a range
// of one), "…" for a part that is not a whole value, "(end)" past the
// index.
func describeKey(ix *indexInfo, k []byte) string {
	if !strings.HasPrefix(string(k), string(ix.prefix)) {
		return "(end)"
	}
	rest := k[len(ix.prefix):]
	var parts []string
	for len(rest) > 0 {
		x, r, err := value.DecodeKey(rest)
		if err != nil {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, value.Format(x))
		rest = r
	}
	return fmt.Sprintf("[%s]", strings.Join(parts, ", "))
}

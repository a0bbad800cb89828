package livedb

import (
	"context"
	"fmt"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
)

// pruneEvery is how many commits pass between two prunings of the change
// feed; pruneMax bounds how many records one commit deletes.
const (
	pruneEvery = 256
	pruneMax   = 4096
)

// pruneChanges adds to b the deletion of change records older than the
// retention, about pruneMax at a time, whole commits only: after it, every
// change at or before the timestamp recorded at keyPrunedThrough is gone
// and every later one is kept, which is what a feed checks to never skip
// pruned changes silently. Runs in the committer.
func (db *DB) pruneChanges(b *kv.Batch, now uint64) {
	if db.opts.ChangeRetention < 0 {
		return
	}
	db.sincePrune++
	if db.sincePrune < pruneEvery {
		return
	}
	db.sincePrune = 0
	cutoff := now - uint64(min(db.opts.ChangeRetention, time.Duration(now)))
	snap, err := db.store.Snapshot()
	if err != nil {
		return
	}
	defer snap.Release()
	it := snap.Iter([]byte{tagChange}, changeKey(cutoff, 0), false)
	defer it.Close()
	n, last := 0, uint64(0)
	for it.Next() {
		k := it.Key()
		ts, _, _ := changeKeyTS(k)
		if n >= pruneMax && ts != last {
			break // never split a commit: its remaining changes would be skipped
		}
		n += deleteChange(b, k, it.Value())
		last = ts
	}
	if n > 0 {
		// Every change at or before last is gone; later ones are kept.
		b.Put(keyPrunedThrough, encodePrunedThrough(last))
	}
}

// Change is one committed write, as the change feed delivers it. Old is nil
// for an insert and New is nil for a delete. All changes of one mutation
// share its commit Timestamp and come in the order it wrote them.
type Change struct {
	Timestamp uint64
	Op        string // "insert", "update" or "delete"
	Table     string
	ID        ID
	Old       Doc
	New       Doc

	seq uint32 // position within the commit
}

// ChangeFeed reads the change feed: every committed insert, update and
// delete, in commit order, optionally of some tables only. It is pulled
// with Next, which waits for new commits, so a slow reader never holds up a
// writer and nothing is buffered beyond one batch. The feed is stored in
// the database (bbolt: on disk) for Options.ChangeRetention, so a reader
// can stop, and resume after a restart from the last Timestamp it handled.
//
// A reader that falls behind the retention (the changes it has not read
// yet are pruned) gets ErrChangesPruned from Next, never a silent gap.
//
// A ChangeFeed is not safe for concurrent use. It holds no goroutine.
type ChangeFeed struct {
	db    *DB
	after uint64 // position: the next change is at or after (after, seq)
	seq   int
	// through is how far the feed has read the stored changes: every
	// change at or before it has been returned, buffered or skipped. A
	// pruning past it would make the feed skip changes.
	through uint64
	tables  map[string]bool
	buf     []Change
	err     error
	oldest  bool // the feed starts from the oldest change kept
}

// Changes returns a feed of the changes committed after timestamp after (0
// means from the oldest change kept), of the given tables (none means all).
// Use [DB.LastTimestamp] to follow only new changes.
func (db *DB) Changes(after uint64, tables ...string) *ChangeFeed {
	f := &ChangeFeed{db: db, through: after, oldest: after == 0}
	if after > 0 {
		f.after = after + 1 // strictly after: skip the whole commit at `after`
	}
	if len(tables) > 0 {
		f.tables = map[string]bool{}
		for _, t := range tables {
			f.tables[t] = true
		}
	}
	return f
}

// LastTimestamp returns the timestamp of the last commit.
func (db *DB) LastTimestamp() uint64 { return db.lastTS.Load() }

// changeBatch bounds how many change records one read fetches; a read
// takes whole pieces (changerec.go), so it may fetch up to a piece more.
const changeBatch = 256

// Next returns the next change, waiting for one to be committed if needed.
// It returns ctx's error when ctx is done, ErrClosed when the DB closes, and
// ErrChangesPruned when the feed would have to skip pruned changes (then
// and after ErrClosed, every later call returns the same error).
func (f *ChangeFeed) Next(ctx context.Context) (Change, error) {
	for len(f.buf) == 0 {
		if f.err != nil {
			return Change{}, f.err
		}
		wait := f.db.commitSignal()
		more, err := f.fill()
		if err != nil {
			f.err = err
			return Change{}, err
		}
		if len(f.buf) > 0 {
			break
		}
		if more { // a batch of changes of other tables: read on
			if err := ctx.Err(); err != nil {
				return Change{}, err
			}
			continue
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return Change{}, ctx.Err()
		case <-f.db.closing:
			return Change{}, ErrClosed
		}
	}
	c := f.buf[0]
	f.buf = f.buf[1:]
	f.advance(c.Timestamp, c.seq)
	return c, nil
}

// TryNext returns the next change without waiting: ok is false when the
// feed is caught up.
func (f *ChangeFeed) TryNext() (c Change, ok bool, err error) {
	for len(f.buf) == 0 {
		if f.err != nil {
			return Change{}, false, f.err
		}
		more, err := f.fill()
		if err != nil {
			f.err = err
			return Change{}, false, err
		}
		if len(f.buf) == 0 && !more {
			return Change{}, false, nil
		}
	}
	c, err = f.Next(context.Background())
	return c, err == nil, err
}

// fill reads the next batch of changes after f.after into f.buf. more
// reports that it stopped at the batch size, before the end of the feed
// (f.buf may still be empty when the feed is filtered).
func (f *ChangeFeed) fill() (more bool, err error) {
	defer catchFault(&err, guardFaults())
	if f.db.isClosed() {
		return false, ErrClosed
	}
	snap, err := f.db.store.Snapshot()
	if err != nil {
		return false, storeErr(err)
	}
	defer snap.Release()
	pruned, err := prunedThrough(snap)
	if err != nil {
		return false, err
	}
	if f.oldest {
		f.oldest = false
		f.through = max(f.through, pruned)
	}
	if pruned > f.through {
		return false, fmt.Errorf("%w: the feed has read the changes through %d, the retention dropped those through %d", ErrChangesPruned, f.through, pruned)
	}
	snapTS, _, err := snapshotTS(snap)
	if err != nil {
		return false, err
	}
	start, err := pieceStart(snap, f.after, uint32(f.seq))
	if err != nil {
		return false, err
	}
	it := snap.Iter(start, []byte{tagChange + 1}, false)
	defer it.Close()
	n := 0
	for n < changeBatch && it.Next() {
		ts, seq, ok := changeKeyTS(it.Key())
		if !ok {
			return false, fmt.Errorf("%w: change key %x", ErrNotLivedb, it.Key())
		}
		// A piece is read whole: it holds a bounded number of changes.
		for p := newChangePiece(seq, it.Value()); ; n++ {
			more, err := p.next()
			if err != nil {
				return false, badChange(ts, seq, err)
			}
			if !more {
				break
			}
			if ts == f.after && int(p.seq) < f.seq {
				continue // before the position, in the piece it starts in
			}
			if err := f.read(snap, ts, p); err != nil {
				return false, err
			}
		}
	}
	if err := it.Err(); err != nil {
		return false, storeErr(err)
	}
	if n >= changeBatch {
		return true, nil
	}
	f.through = max(f.through, snapTS) // read to the end of the snapshot
	return false, nil
}

// read adds to f.buf the change of the record p holds, the p.seq-th of
// the commit at ts, or moves past it when the feed skips its table.
func (f *ChangeFeed) read(snap kv.Snapshot, ts uint64, p *changePiece) error {
	// Every change before this commit has been read.
	f.through = max(f.through, ts-1)
	if f.tables != nil && !f.tables[string(p.rec.table)] {
		f.advance(ts, p.seq) // skipped changes still move the position, decoded or not
		return nil
	}
	c, err := decodeChange(snap, ts, p.seq, &p.rec)
	if err != nil {
		return err
	}
	f.buf = append(f.buf, c)
	return nil
}

// prunedThrough returns the timestamp through which the retention deleted
// the change feed (0 when it never did).
func prunedThrough(snap kv.Snapshot) (uint64, error) {
	b, ok, err := snap.Get(keyPrunedThrough)
	if err != nil || !ok {
		return 0, storeErr(err)
	}
	return decodePrunedThrough(b)
}

// advance moves the feed's position past the change (ts, seq), never back.
func (f *ChangeFeed) advance(ts uint64, seq uint32) {
	if ts > f.after || ts == f.after && int(seq) >= f.seq {
		f.after, f.seq = ts, int(seq)+1
	}
}

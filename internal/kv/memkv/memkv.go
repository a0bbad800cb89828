// Package memkv is the in-memory implementation of [kv.Store]: a B-tree
// of its own (tree.go) whose committed version is immutable, copy-on-write
// by epoch, so that a snapshot costs one atomic load and never copies
// data. It replaced google/btree, whose node copies (three allocations of
// a full node's size each) were most of a commit's cost (tree.go says
// what changed).
//
// # Limits
//
// Keys are limited to [MaxKeySize] bytes, the same limit as the durable
// bbolt store, so that code tested on memory behaves the same on disk.
package memkv

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/livedb-go/livedb/internal/kv"
)

// MaxKeySize is the longest key, in bytes, that [Store.Commit] accepts. It
// equals bbolt's limit.
const MaxKeySize = kv.MaxKeySize

// Store is an in-memory [kv.Store]. It is safe for concurrent use by
// multiple goroutines; its snapshots and iterators are not.
//
// Copy-on-write: the writer owns a tree, w. Commit applies the batch to w
// and then publishes w's root through cur, which ends w's epoch: the
// writer's later changes copy every node of an earlier epoch before
// touching it, so a published tree is never written again by anyone. A
// snapshot is just a published root, read concurrently with the writer's
// changes to w. Only Commit, under mu, writes w.
//
// Example: commit 1 inserts a and b into w, then publishes its root R1. A
// snapshot S loads R1. Commit 2 deletes a from w: w copies the root it
// shared with R1 and removes a from the copy. S still sees a and b; commit
// 2 publishes the copy, which holds only b.
type Store struct {
	cur    atomic.Pointer[published] // the last committed tree; read-only
	closed atomic.Bool

	mu  sync.Mutex // serialises Commit and Close
	w   *tree      // guarded by mu; the writer's tree
	seq uint64     // guarded by mu; number of the last commit
	// written is guarded by mu: Commit's new version of each op (nil for
	// a delete), kept between commits so that it is not allocated again.
	written []*entry

	// hints maps a key that Get found to the newest version of it a
	// reader has found (from the version's second lookup on: the first
	// only marks it, entry.looked), so that the next Get of the key usually skips the
	// descent of the tree (bytes.Compare of long shared prefixes at every
	// level). A hint is only used when its version is current at the
	// reader's snapshot (kv.Memo.CurrentAt); any version current at a
	// snapshot is the one the tree holds, so a stale hint costs a descent,
	// never a wrong answer. Commit moves the hint of a key it writes to the
	// new version (deletes it with the key), so hints hold no dead
	// versions; a reader replaces a hint older than what it found.
	hintMu sync.RWMutex
	hints  map[string]*entry
}

// published is the root of a committed tree (nil when empty) and the
// number of the commit that made it. Every version in it has
// memo.CurrentAt(seq).
type published struct {
	root *node
	seq  uint64
}

var (
	_ kv.Store        = (*Store)(nil)
	_ kv.MemoSnapshot = (*snapshot)(nil)
	_ kv.MemoIterator = (*iterator)(nil)
)

// New returns an empty in-memory store.
func New() *Store {
	s := &Store{w: &tree{epoch: 1}, hints: map[string]*entry{}}
	s.cur.Store(&published{})
	return s
}

// Snapshot returns the current committed tree as a read view, in O(1).
func (s *Store) Snapshot() (kv.Snapshot, error) {
	if s.closed.Load() {
		return nil, kv.ErrClosed
	}
	p := s.cur.Load()
	if p == nil {
		return nil, kv.ErrClosed
	}
	return &snapshot{s: s, root: p.root, seq: p.seq}, nil
}

// Commit applies the batch atomically. The keys and values are copied, so
// the caller may reuse the batch's buffers once Commit returns. It returns
// [ErrEmptyKey] or [ErrKeyTooLarge], wrapping [kv.ErrRejected] (and
// applies nothing), when an operation is invalid, and [kv.ErrClosed] after
// Close.
func (s *Store) Commit(b *kv.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return kv.ErrClosed
	}
	if b == nil || len(b.Ops) == 0 {
		return nil
	}
	if err := validate(b); err != nil {
		return kv.Reject(err)
	}
	seq := s.seq + 1
	written := s.written[:0]
	for _, op := range b.Ops {
		var old, nu item
		var found bool
		if op.Delete {
			b := newBound(op.Key)
			old, found = s.w.delete(&b)
		} else {
			nu = newItem(op.Key, op.Value, seq)
			withMemo(nu.e, op)
			b := bound{hi: nu.hi, lo: nu.lo, key: nu.e.key()}
			old, found = s.w.set(nu, &b)
		}
		if found {
			old.e.memo.Supersede(seq)
		}
		written = append(written, nu.e)
	}
	// A hint moves to the new version (or goes with the key), so that
	// hints never keep a replaced or deleted version alive. This pass
	// holds hintMu, the tree changes above did not: a reader's Get waits
	// for this loop only, not for the copies and allocations of the
	// commit. Meanwhile a hint of a written key still leads to the version
	// the commit replaced, which is current at every snapshot a reader can
	// hold until the tree below is published.
	s.hintMu.Lock()
	for i, op := range b.Ops {
		if _, hinted := s.hints[string(op.Key)]; hinted {
			if op.Delete {
				delete(s.hints, string(op.Key))
			} else {
				s.hints[string(op.Key)] = written[i]
			}
		}
	}
	s.hintMu.Unlock()
	clear(written) // keeps no version alive until the next commit
	s.written = written[:0]
	s.seq = seq
	s.cur.Store(&published{root: s.w.publish(), seq: seq})
	return nil
}

// validate checks every operation of b before any is applied.
func validate(b *kv.Batch) error {
	for i, op := range b.Ops {
		switch {
		case len(op.Key) == 0:
			return fmt.Errorf("commit: op %d: %w", i, ErrEmptyKey)
		case len(op.Key) > MaxKeySize:
			return fmt.Errorf("commit: op %d: %w (%d bytes, max %d)", i, ErrKeyTooLarge, len(op.Key), MaxKeySize)
		}
	}
	return nil
}

// newItem copies key and value into one new array, as a version written by
// commit number seq. Small entries are one allocation, the entry followed by
// its bytes, so that a scan that reads an item's key finds its memo in the
// same or the next cache line; larger ones are two. Each of the sizes,
// with the 64-byte entry, is one of the Go allocator's size classes.
func newItem(key, value []byte, seq uint64) item {
	n := len(key) + len(value)
	var e *entry
	var buf []byte
	switch {
	case n <= 64:
		x := new(struct {
			entry
			b [64]byte
		})
		e, buf = &x.entry, x.b[:n:n]
	case n <= 128:
		x := new(struct {
			entry
			b [128]byte
		})
		e, buf = &x.entry, x.b[:n:n]
	case n <= 192:
		x := new(struct {
			entry
			b [192]byte
		})
		e, buf = &x.entry, x.b[:n:n]
	case n <= 320:
		x := new(struct {
			entry
			b [320]byte
		})
		e, buf = &x.entry, x.b[:n:n]
	case n <= 448:
		x := new(struct {
			entry
			b [448]byte
		})
		e, buf = &x.entry, x.b[:n:n]
	case n <= 576:
		x := new(struct {
			entry
			b [576]byte
		})
		e, buf = &x.entry, x.b[:n:n]
	default:
		e, buf = new(entry), make([]byte, n)
	}
	k := copy(buf, key)
	copy(buf[k:], value)
	e.kv, e.klen = buf, uint32(k) // k <= MaxKeySize (validate)
	e.memo.Init(seq)
	return e.item()
}

// withMemo stores the memo a Put hands over (kv.Op.Memo) in its new
// version e, before the version is published.
func withMemo(e *entry, op kv.Op) {
	if op.Memo == nil {
		return
	}
	if b, ok := op.Memo.(kv.MemoBinder); ok && op.Bind {
		b.BindMemo(&e.memo)
	}
	e.memo.Store(op.Memo)
}

// Close waits for a running Commit and releases the store. Snapshots still
// open return [kv.ErrClosed] from then on. Close is idempotent and always
// returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	s.w = nil
	s.cur.Store(nil)
	s.hintMu.Lock()
	s.hints = nil
	s.hintMu.Unlock()
	return nil
}

// snapshot is a read view of one published tree. Its tree is never
// modified, so it needs no locking; the struct itself is used by one
// goroutine at a time, as the kv contract requires.
type snapshot struct {
	s        *Store
	root     *node  // nil when the tree is empty
	seq      uint64 // the commit root is the result of
	released bool
}

// check returns the error that stops every use of the snapshot, if any.
func (sn *snapshot) check() error {
	switch {
	case sn.s.closed.Load():
		return kv.ErrClosed
	case sn.released:
		return ErrReleased
	}
	return nil
}

// Get returns the value at key. The returned slice is shared with the
// store: it must not be modified. It stays valid even after Release.
func (sn *snapshot) Get(key []byte) ([]byte, bool, error) {
	if err := sn.check(); err != nil {
		return nil, false, err
	}
	e := sn.lookup(key)
	if e == nil {
		return nil, false, nil
	}
	return e.value(), true, nil
}

// GetMemo is Get that also returns the memo of the version found.
func (sn *snapshot) GetMemo(key []byte) ([]byte, *kv.Memo, bool, error) {
	if err := sn.check(); err != nil {
		return nil, nil, false, err
	}
	e := sn.lookup(key)
	if e == nil {
		return nil, nil, false, nil
	}
	return e.value(), &e.memo, true, nil
}

// lookup finds the version of key this snapshot sees, or nil: from the
// store's hints when the hinted version is current here, else by a descent
// of the tree, which then updates the hint (from the version's second
// lookup on).
func (sn *snapshot) lookup(key []byte) *entry {
	s := sn.s
	s.hintMu.RLock()
	h := s.hints[string(key)]
	s.hintMu.RUnlock()
	if h != nil && h.memo.CurrentAt(sn.seq) {
		return h
	}
	b := newBound(key)
	it, ok := sn.root.get(&b)
	switch {
	case ok && h == nil && it.e.firstLookup():
		// The version's first lookup makes no hint, its second does: a
		// point read of one document among many (a random one) is
		// mostly the first of its version, and a hint of it (a copy of
		// the key, the map's growth, the write lock) cost about as much
		// as the descent.
	case ok && (h == nil || it.e.memo.Born() > h.memo.Born()):
		s.hintMu.Lock()
		if cur := s.hints[string(key)]; s.hints != nil && (cur == nil || it.e.memo.Born() > cur.memo.Born()) {
			s.hints[string(key)] = it.e
		}
		s.hintMu.Unlock()
	case !ok && h != nil && h.memo.Born() <= sn.seq:
		// The hinted version was deleted by this snapshot's time: drop
		// the hint, unless a newer one replaced it meanwhile.
		s.hintMu.Lock()
		if s.hints[string(key)] == h {
			delete(s.hints, string(key))
		}
		s.hintMu.Unlock()
	}
	if !ok {
		return nil
	}
	return it.e
}

// Current reports whether m is the memo of a version this snapshot sees.
func (sn *snapshot) Current(m *kv.Memo) bool { return m.CurrentAt(sn.seq) }

// Visible reports whether a version written by commit number born is old
// enough for this snapshot to see.
func (sn *snapshot) Visible(born uint64) bool { return born <= sn.seq }

// Iter returns an iterator over [start, end).
func (sn *snapshot) Iter(start, end []byte, reverse bool) kv.Iterator {
	return sn.startIter(&iterator{sn: sn, start: start, end: end, reverse: reverse, chunk: firstChunk})
}

// startIter readies a new iterator over [it.start, it.end): one that is
// done at once when the snapshot cannot be read or the interval is empty.
func (sn *snapshot) startIter(it *iterator) kv.Iterator {
	if err := sn.check(); err != nil {
		it.err = err
		it.done = true
	}
	if it.start != nil && it.end != nil && bytes.Compare(it.start, it.end) >= 0 {
		it.done = true
	}
	it.lo, it.hi = newBound(it.start), newBound(it.end)
	return it
}

// Release ends the snapshot. It is idempotent.
func (sn *snapshot) Release() {
	sn.released = true
	sn.root = nil
}

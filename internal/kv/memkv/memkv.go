// Package memkv is the in-memory implementation of [kv.Store]: a
// google/btree B-tree whose committed version is an immutable copy-on-write
// clone, so that a snapshot costs one atomic load and never copies data.
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

	"github.com/google/btree"

	"github.com/livedb-go/livedb/internal/kv"
)

// MaxKeySize is the longest key, in bytes, that [Store.Commit] accepts. It
// equals bbolt's limit.
const MaxKeySize = 32768

// degree is the B-tree degree: nodes hold up to 2*degree-1 items.
const degree = 32

// item is one entry of the tree. key and value are owned by the tree and are
// never modified after insertion; they are usually one allocation (value
// follows key in the same array).
type item struct {
	key, value []byte
}

func lessItem(a, b item) bool { return bytes.Compare(a.key, b.key) < 0 }

// Store is an in-memory [kv.Store]. It is safe for concurrent use by
// multiple goroutines; its snapshots and iterators are not.
//
// Copy-on-write: the writer owns a private mutable tree, w. Commit applies
// the batch to w and then publishes w.Clone() through cur. btree.Clone gives
// the writer and the clone fresh copy-on-write contexts, so the writer's
// later changes copy every shared node before touching it, and a published
// tree is never written again by anyone. A snapshot is just the published
// tree pointer, read concurrently with the writer's changes to w, which
// google/btree documents as safe ("the original tree (t) and the new tree
// (t2) can be used concurrently"). Clone is only ever called on w, under mu.
//
// Example: commit 1 inserts a and b into w, then publishes T1 = w.Clone().
// A snapshot S loads T1. Commit 2 deletes a from w: w copies the root it
// shared with T1 and removes a from the copy. S still sees a and b; commit
// 2 publishes T2 = w.Clone(), which holds only b.
type Store struct {
	cur    atomic.Pointer[btree.BTreeG[item]] // the last committed tree; read-only
	closed atomic.Bool

	mu sync.Mutex          // serialises Commit and Close
	w  *btree.BTreeG[item] // guarded by mu; the writer's private tree
}

var _ kv.Store = (*Store)(nil)

// New returns an empty in-memory store.
func New() *Store {
	s := &Store{w: btree.NewG(degree, lessItem)}
	s.cur.Store(s.w.Clone())
	return s
}

// Snapshot returns the current committed tree as a read view, in O(1).
func (s *Store) Snapshot() (kv.Snapshot, error) {
	if s.closed.Load() {
		return nil, kv.ErrClosed
	}
	return &snapshot{s: s, t: s.cur.Load()}, nil
}

// Commit applies the batch atomically. The keys and values are copied, so
// the caller may reuse the batch's buffers once Commit returns. It returns
// [ErrEmptyKey] or [ErrKeyTooLarge] (and applies nothing) when an operation
// is invalid, and [kv.ErrClosed] after Close.
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
		return err
	}
	for _, op := range b.Ops {
		if op.Delete {
			s.w.Delete(item{key: op.Key})
			continue
		}
		s.w.ReplaceOrInsert(newItem(op.Key, op.Value))
	}
	s.cur.Store(s.w.Clone())
	return nil
}

// validate checks every operation of b before any is applied.
func validate(b *kv.Batch) error {
	for i, op := range b.Ops {
		switch {
		case len(op.Key) == 0:
			return fmt.Errorf("memkv: commit: op %d: %w", i, ErrEmptyKey)
		case len(op.Key) > MaxKeySize:
			return fmt.Errorf("memkv: commit: op %d: %w (%d bytes, max %d)", i, ErrKeyTooLarge, len(op.Key), MaxKeySize)
		}
	}
	return nil
}

// newItem copies key and value into one new array.
func newItem(key, value []byte) item {
	buf := make([]byte, len(key)+len(value))
	n := copy(buf, key)
	copy(buf[n:], value)
	return item{key: buf[:n:n], value: buf[n:]}
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
	return nil
}

// snapshot is a read view of one published tree. Its tree is never
// modified, so it needs no locking; the struct itself is used by one
// goroutine at a time, as the kv contract requires.
type snapshot struct {
	s        *Store
	t        *btree.BTreeG[item]
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
	it, ok := sn.t.Get(item{key: key})
	if !ok {
		return nil, false, nil
	}
	return it.value, true, nil
}

// Iter returns an iterator over [start, end).
func (sn *snapshot) Iter(start, end []byte, reverse bool) kv.Iterator {
	it := &iterator{sn: sn, start: start, end: end, reverse: reverse, chunk: firstChunk}
	if err := sn.check(); err != nil {
		it.err = err
		it.done = true
	}
	if start != nil && end != nil && bytes.Compare(start, end) >= 0 {
		it.done = true
	}
	return it
}

// Release ends the snapshot. It is idempotent.
func (sn *snapshot) Release() {
	sn.released = true
	sn.t = nil
}

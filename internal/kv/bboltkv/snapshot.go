package bboltkv

import (
	"bytes"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"

	"github.com/livedb-go/livedb/internal/kv"
)

// snapshot is a bbolt read transaction. b is nil when the file has no
// BucketName bucket yet: the snapshot is then empty.
type snapshot struct {
	s        *Store
	tx       *bolt.Tx
	b        *bolt.Bucket
	segs     segments
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

// Get returns the value at key. The slice points into bbolt's read-only
// memory map: it is valid until Release and must not be modified.
func (sn *snapshot) Get(key []byte) (value []byte, ok bool, err error) {
	if err := sn.check(); err != nil {
		return nil, false, err
	}
	if sn.b == nil || len(key) == 0 {
		return nil, false, nil
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			value, ok, err = nil, false, panicError(sn.s.path, "get", r)
		}
	}()
	b := sn.b
	if p := segmentOf(key); p != nil {
		if b = sn.segs.get(sn.tx, p); b == nil {
			return nil, false, nil
		}
		key = key[len(p):] // as the segment stores it
	}
	// A cursor rather than Bucket.Get, which cannot tell an empty value
	// from an absent key.
	k, v := b.Cursor().Seek(key)
	if !bytes.Equal(k, key) {
		return nil, false, nil
	}
	return v, true, nil
}

// Iter returns an iterator over [start, end): over one segment when the
// range lies in it (an index's range), else over the main bucket and the
// segments side by side (segments.go).
func (sn *snapshot) Iter(start, end []byte, reverse bool) kv.Iterator {
	it := &iterator{sn: sn, start: start, end: end, reverse: reverse}
	switch err := sn.check(); {
	case err != nil:
		it.err, it.done = err, true
		return it
	case sn.b == nil, start != nil && end != nil && bytes.Compare(start, end) >= 0:
		it.done = true
		return it
	}
	if p := sn.soleSegment(start, end); p != nil {
		b, err := sn.segment(p)
		switch {
		case err != nil:
			it.err, it.done = err, true
		case b == nil:
			it.done = true
		default:
			var ok bool
			if it.start, it.end, ok = segmentBounds(p, start, end); !ok {
				it.done = true // no key of the segment, hence none at all, in [start, end)
				break
			}
			it.prefix, it.c = p, b.Cursor()
		}
		return it
	}
	segs, err := sn.listSegments(start, end, reverse)
	if err != nil {
		it.err, it.done = err, true
		return it
	}
	it.c = sn.b.Cursor()
	if len(segs) == 0 {
		return it
	}
	return &mergeIter{sn: sn, main: it, segs: segs, start: start, end: end, reverse: reverse}
}

// segment returns the segment bucket with prefix p, or nil, with a damaged
// page turned into an error.
func (sn *snapshot) segment(p []byte) (b *bolt.Bucket, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, panicError(sn.s.path, "iterate", r)
		}
	}()
	return sn.segs.get(sn.tx, p), nil
}

// Release rolls the read transaction back. It is idempotent.
func (sn *snapshot) Release() {
	if sn.released {
		return
	}
	sn.released = true
	_ = sn.tx.Rollback()
}

// iterator walks [start, end) with a bbolt cursor. Its keys and values
// stay valid until the snapshot is released (longer than the kv contract
// requires): values and the main bucket's keys point into the memory map,
// a segment's keys are rebuilt in buffers never reused (keyOf).
type iterator struct {
	sn         *snapshot
	c          *bolt.Cursor
	start, end []byte // as the bucket stores keys: a segment's without prefix
	reverse    bool
	started    bool
	done       bool
	k, v       []byte
	err        error

	prefix []byte    // the segment's prefix, given back to each key; nil in the main bucket
	keys   []byte    // where keyOf rebuilds keys
	inline [256]byte // keys' first buffer: a few index keys of a typical size
}

// Next advances to the next entry.
func (it *iterator) Next() (ok bool) {
	if it.done {
		it.k, it.v = nil, nil
		return false
	}
	if err := it.sn.check(); err != nil {
		it.stop(err)
		return false
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			it.stop(panicError(it.sn.s.path, "iterate", r))
			ok = false
		}
	}()
	var k, v []byte
	switch {
	case !it.started:
		it.started = true
		k, v = it.first()
	case it.reverse:
		k, v = it.c.Prev()
	default:
		k, v = it.c.Next()
	}
	if k == nil ||
		!it.reverse && it.end != nil && bytes.Compare(k, it.end) >= 0 ||
		it.reverse && it.start != nil && bytes.Compare(k, it.start) < 0 {
		it.stop(nil)
		return false
	}
	if it.prefix != nil {
		k = it.keyOf(k)
	}
	it.k, it.v = k, v
	return true
}

// first positions the cursor on the first entry of the walk: the lowest key
// >= start, or the highest key < end.
func (it *iterator) first() ([]byte, []byte) {
	switch {
	case !it.reverse && it.start == nil:
		return it.c.First()
	case !it.reverse:
		return it.c.Seek(it.start)
	case it.end == nil:
		return it.c.Last()
	}
	// Seek lands on the lowest key >= end, or past the last key.
	if k, _ := it.c.Seek(it.end); k == nil {
		return it.c.Last()
	}
	return it.c.Prev()
}

func (it *iterator) stop(err error) {
	it.done = true
	it.err = err
	it.k, it.v = nil, nil
	it.c = nil
}

// Key returns the current key; it must not be modified.
func (it *iterator) Key() []byte { return it.k }

// Value returns the current value; it must not be modified.
func (it *iterator) Value() []byte { return it.v }

// Err returns the error that stopped the iteration.
func (it *iterator) Err() error { return it.err }

// Close releases the iterator. It is idempotent.
func (it *iterator) Close() {
	if !it.done {
		it.stop(nil)
	}
}

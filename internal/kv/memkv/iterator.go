package memkv

import (
	"github.com/livedb-go/livedb/internal/kv"
)

// Chunk sizes of the iterator: the first refill buffers firstChunk
// entries, each later one twice as many, up to maxChunk. The buffer is
// what touchAhead reads ahead over; the first chunk holds a typical page
// (20 rows) or small result.
const (
	firstChunk = 24
	maxChunk   = 128
)

// iterator walks [start, end) of a snapshot's tree with a cursor (its
// path from the root, cursor.go), which the first refill seeks and every
// refill moves on from: the tree is immutable, so the path stays exact.
// Each refill copies the next few items into buf, so that touchAhead can
// read their entries ahead before the caller reads them one by one.
//
// Example, ascending over [b, nil) of {a b c d e} with chunk 2: the first
// refill seeks b and buffers b, c; the second buffers d, e; the third
// finds the cursor past the end.
type iterator struct {
	sn         *snapshot
	start, end []byte
	reverse    bool

	buf     []item  // current chunk
	pos     int     // index in buf of the current entry, after the first Next
	touched uintptr // the sum touchAhead read, kept so that its loads stay
	chunk   int     // size of the next refill
	sought  bool    // the cursor was positioned by the first refill
	done    bool    // no refill is needed any more: the interval is exhausted
	err     error
	cur     cursor           // the next item to buffer
	lo      bound            // start, with its words
	hi      bound            // end, with its words
	first   [firstChunk]item // buf of the first refill, allocated with the iterator

	// pooled marks an iterator of IterOnce: Close recycles it (iterpool.go).
	pooled bool
}

// Next advances to the next entry.
func (it *iterator) Next() bool {
	if it.err != nil {
		return false
	}
	if err := it.sn.check(); err != nil {
		it.fail(err)
		return false
	}
	if it.pos+1 < len(it.buf) {
		it.pos++
		return true
	}
	if it.done {
		it.buf = it.buf[:0]
		return false
	}
	it.refill()
	if len(it.buf) == 0 {
		it.done = true
		return false
	}
	it.pos = 0
	return true
}

// refill loads the next chunk into buf: the items from the cursor on, up
// to the interval's bound. It reads only the items, not their entries,
// unless a bound's words equal an item's: the entries of the chunk past
// what the caller reads (a query of 10 rows reads 10 of the first chunk's
// 24) are never reached.
func (it *iterator) refill() {
	want := it.chunk
	if it.chunk < maxChunk {
		it.chunk *= 2
	}
	switch {
	case it.buf == nil && want <= len(it.first):
		it.buf = it.first[:0]
	case cap(it.buf) < want:
		it.buf = make([]item, 0, want)
	}
	it.buf = it.buf[:0]
	c := &it.cur
	if !it.sought {
		it.sought = true
		switch {
		case !it.reverse && it.start != nil:
			c.seekGE(it.sn.root, &it.lo)
		case !it.reverse:
			c.seekGE(it.sn.root, nil)
		case it.end != nil:
			c.seekLT(it.sn.root, &it.hi)
		default:
			c.seekLT(it.sn.root, nil)
		}
	}
	for len(it.buf) < want && c.valid() && !it.done {
		if it.takeRun(want) { // iterator_run.go: a leaf's items in one copy
			continue
		}
		f := c.path[len(c.path)-1]
		x := f.n.items[f.i]
		if it.reverse {
			if it.start != nil && it.lo.compareIn(f.n, x) < 0 {
				it.done = true
				break
			}
			c.prev()
		} else {
			if it.end != nil && it.hi.compareIn(f.n, x) >= 0 {
				it.done = true
				break
			}
			c.next()
		}
		it.buf = append(it.buf, x)
	}
	if !c.valid() {
		it.done = true
	}
	it.touchAhead()
}

// touchAhead reads ahead, in one loop, what the caller will read of each
// buffered entry: the entry itself and what its memo leads to
// (kv.Toucher). Each is an allocation of its own, a cache miss; loads
// that do not depend on each other overlap, where the caller's row-by-row
// reads wait for each in turn.
func (it *iterator) touchAhead() {
	var n uintptr
	for _, x := range it.buf {
		if t, ok := x.e.memo.Load().(kv.Toucher); ok {
			n += t.Touch()
		}
	}
	it.touched = n
}

func (it *iterator) fail(err error) {
	it.err = err
	it.done = true
	it.buf = nil
}

// Key returns the current key. It is shared with the store and must not be
// modified.
func (it *iterator) Key() []byte {
	if it.pos < len(it.buf) {
		return it.buf[it.pos].e.key()
	}
	return nil
}

// Value returns the current value. It is shared with the store and must not
// be modified.
func (it *iterator) Value() []byte {
	if it.pos < len(it.buf) {
		return it.buf[it.pos].e.value()
	}
	return nil
}

// Memo returns the memo of the current entry's version, nil when there is
// no current entry.
func (it *iterator) Memo() *kv.Memo {
	if it.pos < len(it.buf) {
		return &it.buf[it.pos].e.memo
	}
	return nil
}

// Err returns the error that stopped the iteration.
func (it *iterator) Err() error { return it.err }

// Close releases the iterator. It is idempotent.
func (it *iterator) Close() {
	it.done = true
	it.buf = nil
	if it.pooled {
		it.recycle()
	}
}

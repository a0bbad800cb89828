package memkv

import (
	"github.com/livedb-go/livedb/internal/kv"
)

// Chunk sizes of the iterator: the first refill fetches firstChunk entries,
// each later one twice as many, up to maxChunk. Every refill is a descent
// of the tree, which costs far more than buffering a few more entries, so
// the first chunk holds a typical page (20 rows) or small result in one
// descent; long scans re-seek only every maxChunk entries.
const (
	firstChunk = 24
	maxChunk   = 128
)

// iterator walks [start, end) of a snapshot's tree. google/btree only offers
// callback iteration, so the iterator pulls entries in chunks: each refill
// re-seeks the tree from the last key it returned and copies the next few
// items into buf. The tree is immutable, so re-seeking is exact, and no
// goroutine is needed.
//
// Example, ascending over [b, nil) of {a b c d e} with chunk 2: the first
// refill seeks b and buffers b, c; the second seeks c, skips c (already
// returned) and buffers d, e; the third seeks e, skips e and finds nothing.
type iterator struct {
	sn         *snapshot
	start, end []byte
	reverse    bool

	buf     []item  // current chunk
	pos     int     // index in buf of the current entry, after the first Next
	touched uintptr // the sum touchAhead read, kept so that its loads stay
	chunk   int     // size of the next refill
	want    int     // size of the refill in progress
	last    item    // the last entry of the previous chunk; last.e is nil at first
	more    bool    // the refill in progress stopped because buf was full
	done    bool    // no refill is needed any more: the interval is exhausted
	err     error
	visit   func(item) bool  // the refill callback, allocated once
	probe   probe            // the search item of refill
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

// refill loads the next chunk after it.last into buf.
func (it *iterator) refill() {
	if len(it.buf) > 0 {
		it.last = it.buf[len(it.buf)-1]
	}
	if it.visit == nil {
		it.visit = it.add
	}
	it.want = it.chunk
	if it.chunk < maxChunk {
		it.chunk *= 2
	}
	switch {
	case it.buf == nil && it.want <= len(it.first):
		it.buf = it.first[:0]
	case cap(it.buf) < it.want:
		it.buf = make([]item, 0, it.want)
	}
	it.buf = it.buf[:0]
	it.more = false
	t := it.sn.t
	switch {
	case !it.reverse && it.last.e != nil:
		t.AscendGreaterOrEqual(it.last, it.visit)
	case !it.reverse && it.start != nil:
		t.AscendGreaterOrEqual(it.probe.item(it.start), it.visit)
	case !it.reverse:
		t.Ascend(it.visit)
	case it.last.e != nil:
		t.DescendLessOrEqual(it.last, it.visit)
	case it.end != nil:
		t.DescendLessOrEqual(it.probe.item(it.end), it.visit)
	default:
		t.Descend(it.visit)
	}
	it.probe.clear()
	if !it.more {
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

// add is the refill callback: it skips the pivot of the seek when that key
// was already returned or is the exclusive end, stops at the interval's
// bound, and stops when the chunk is full.
//
// It reads only the item, not its entry, unless a bound's words equal the
// item's: the entries of the chunk past what the caller reads (a query of
// 10 rows reads 10 of the first chunk's 24) are never reached. The tree
// holds one item per key, so the pivot already returned is the item whose
// entry is last's.
func (it *iterator) add(x item) bool {
	if x.e == it.last.e {
		return true
	}
	if it.reverse {
		if it.end != nil && it.hi.compareItem(x) >= 0 {
			return true // the pivot equal to the exclusive end
		}
		if it.start != nil && it.lo.compareItem(x) < 0 {
			return false
		}
	} else if it.end != nil && it.hi.compareItem(x) >= 0 {
		return false
	}
	it.buf = append(it.buf, x)
	if len(it.buf) == it.want {
		it.more = true
		return false
	}
	return true
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

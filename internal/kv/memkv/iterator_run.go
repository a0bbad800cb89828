package memkv

import (
	"sort"

	"github.com/livedb-go/livedb/internal/kv"
)

// takeRun is one step of refill when the cursor is in a leaf: it appends
// to it.buf, in one copy, the leaf's items from the cursor on (back to the
// leaf's start, going backward), up to want items in buf, and moves the
// cursor past them. A leaf's items are in order, so the run's last item
// (its first, going backward) decides for all of it: when it is inside the
// interval, the bound is compared once for the run instead of once per
// item; when it is not, the run is cut where the bound falls (a binary
// search over the run) and the interval is exhausted.
//
// Example, forward over [b, d) with the cursor at b in a leaf [a b c d e]
// and room for 8: the run is b c d e; e is past d, so the search keeps b c
// and the iterator is done. It reports false, taking nothing, when the
// cursor is at an inner item, which refill steps over one at a time.
func (it *iterator) takeRun(want int) bool {
	c := &it.cur
	f := &c.path[len(c.path)-1]
	if !f.n.leaf() {
		return false
	}
	room := want - len(it.buf)
	if it.reverse {
		n := min(f.i+1, room)
		run := f.n.items[f.i+1-n : f.i+1]
		if it.start != nil {
			// lo is start relative to the leaf's prefix (prefix.go): start
			// sorts after all the leaf (where > 0), before it, or among it.
			lo, where := f.n.relBound(&it.lo)
			switch {
			case where > 0:
				run = run[len(run):]
				it.done = true
			case where == 0 && lo.compareItem(run[0]) < 0:
				// The items at and after the first not less than start are in.
				k := sort.Search(len(run), func(j int) bool { return lo.compareItem(run[j]) >= 0 })
				run = run[k:]
				it.done = true
			}
		}
		for j := len(run) - 1; j >= 0; j-- {
			it.buf = append(it.buf, run[j])
		}
		f.i -= n
		c.popBackward()
		return true
	}
	n := min(len(f.n.items)-f.i, room)
	run := f.n.items[f.i : f.i+n]
	if it.end != nil {
		hi, where := f.n.relBound(&it.hi)
		switch {
		case where < 0:
			run = run[:0]
			it.done = true
		case where == 0 && hi.compareItem(run[n-1]) >= 0:
			// The items before the first not less than end are in.
			k := sort.Search(len(run), func(j int) bool { return hi.compareItem(run[j]) >= 0 })
			run = run[:k]
			it.done = true
		}
	}
	it.buf = append(it.buf, run...)
	f.i += n
	c.popForward()
	return true
}

// NextMemo is Next followed by Key, Value and Memo, in one call: a scan of
// livedb on the memory backend reads all three of every entry it steps to.
// At the end (or on an error, which Err returns) it returns ok == false.
func (it *iterator) NextMemo() (key, value []byte, m *kv.Memo, ok bool) {
	if !it.Next() {
		return nil, nil, nil, false
	}
	e := it.buf[it.pos].e
	return e.key(), e.value(), &e.memo, true
}

// Package intervals owns the index that answers "which members read an
// interval containing key k": the structure that matches a commit's keys
// against the read sets of every subscription.
//
// A member is one set of half-open key intervals [Start, End) with a
// payload (for livedb, a subscription). Members are added, given new
// interval sets and removed cheaply and lazily; [Index.Stab] calls a
// function with every member that has an interval containing a key.
//
// Most intervals live in one array sorted by start, read as an implicit
// balanced search tree (the node of entries[lo:hi] is its middle element)
// in which maxEnd[i] is the largest end in the subtree rooted at i: a key
// is stabbed in O(log n + matches). A member added, or given a new set,
// since the last [Index.Rebuild] is fresh: its intervals are not in the
// array, and Stab checks them member by member. The array entries of a
// member that changed or left are stale: each entry carries the
// generation of its member's set it was built from, and one that no
// longer matches (or whose member is removed) is skipped. [Index.Rebuild]
// puts every member into the array again; [Index.NeedRebuild] says when
// the fresh members or the stale entries have grown past a fraction of the
// array, so that a change costs amortized O(√n log n), not a rebuild per
// change. Giving a member the intervals it already has changes nothing.
//
// An Index is not safe for concurrent use: its user serialises every call
// (livedb's subscription manager calls it under its mutex).
package intervals

import (
	"bytes"
	"slices"
)

// Interval is the half-open key interval [Start, End): the keys k with
// Start <= k < End in bytes.Compare order. It is empty when End <= Start.
type Interval struct {
	Start, End []byte
}

// Contains reports whether k lies in iv.
func (iv Interval) Contains(k []byte) bool {
	return bytes.Compare(k, iv.Start) >= 0 && bytes.Compare(k, iv.End) < 0
}

// Member is one set of intervals in an [Index], with its payload. It is
// created by [Index.Add] and belongs to that index.
type Member[T any] struct {
	value    T
	ivs      []Interval // sorted by start, disjoint, none empty
	gen      uint32     // bumped whenever ivs change; tags ivs' entries in the array
	indexed  bool       // ivs (as of gen) are in the array; else the member is fresh
	removed  bool
	pos      int // position in Index.members
	freshPos int // position in Index.fresh while fresh
}

// Value returns the member's payload.
func (m *Member[T]) Value() T { return m.value }

// Intervals returns the member's intervals: sorted by start, disjoint and
// not empty. The caller must not modify them.
func (m *Member[T]) Intervals() []Interval { return m.ivs }

// entry is one interval of one member, as of the member's generation gen.
type entry[T any] struct {
	Interval
	m   *Member[T]
	gen uint32
}

// Index is a set of members, each a set of intervals, that finds the
// members with an interval containing a given key. The zero Index is
// empty and ready to use. See the package documentation for how it works.
type Index[T any] struct {
	entries []entry[T] // sorted by start; an implicit search tree
	maxEnd  [][]byte   // maxEnd[i]: the largest end of the subtree rooted at i
	stale   int        // entries that no longer count
	members []*Member[T]
	fresh   []*Member[T] // members whose intervals are not in entries
}

// Add adds a member with payload v and the intervals ivs, and returns it.
// The member is fresh until the next [Index.Rebuild]. ivs are used as
// given when they are sorted by start and disjoint (a normalized read
// set); otherwise a sorted, merged copy is. The index keeps ivs: the
// caller must not modify them afterwards.
func (x *Index[T]) Add(v T, ivs []Interval) *Member[T] {
	m := &Member[T]{value: v, pos: len(x.members)}
	x.members = append(x.members, m)
	m.ivs = normalize(ivs)
	x.addFresh(m)
	return m
}

// Set gives m the intervals ivs, under the terms of [Index.Add]. When m is
// in the array and ivs are the intervals it has, nothing changes (the
// usual case: a query re-run that reads what it read before); otherwise m
// becomes fresh and its entries in the array stale. Set on a removed
// member does nothing.
func (x *Index[T]) Set(m *Member[T], ivs []Interval) {
	if m.removed {
		return
	}
	ivs = normalize(ivs)
	if m.has(ivs) {
		return
	}
	if m.indexed {
		x.stale += len(m.ivs)
		m.indexed = false
		x.addFresh(m)
	}
	m.gen++
	m.ivs = ivs
}

// Same reports whether [Index.Set] of ivs would leave m as it is: m is
// removed, or in the array with those intervals. A caller that copies the
// intervals it gives Set can skip the copy then.
func (x *Index[T]) Same(m *Member[T], ivs []Interval) bool {
	return m.removed || m.has(normalize(ivs))
}

// has reports whether m is in the array with the normalized intervals ivs.
func (m *Member[T]) has(ivs []Interval) bool {
	return m.indexed && slices.EqualFunc(m.ivs, ivs, func(a, b Interval) bool {
		return bytes.Equal(a.Start, b.Start) && bytes.Equal(a.End, b.End)
	})
}

// Remove takes m out of the index: Stab no longer reports it, and its
// entries in the array are stale. Removing a member twice does nothing.
func (x *Index[T]) Remove(m *Member[T]) {
	if m.removed {
		return
	}
	m.removed = true
	last := x.members[len(x.members)-1]
	x.members[m.pos], last.pos = last, m.pos
	x.members[len(x.members)-1] = nil
	x.members = x.members[:len(x.members)-1]
	if m.indexed {
		x.stale += len(m.ivs)
	} else {
		x.removeFresh(m)
	}
}

func (x *Index[T]) addFresh(m *Member[T]) {
	m.freshPos = len(x.fresh)
	x.fresh = append(x.fresh, m)
}

func (x *Index[T]) removeFresh(m *Member[T]) {
	last := x.fresh[len(x.fresh)-1]
	x.fresh[m.freshPos], last.freshPos = last, m.freshPos
	x.fresh[len(x.fresh)-1] = nil
	x.fresh = x.fresh[:len(x.fresh)-1]
}

// Stats describes the index's parts: Entries intervals in the array, of
// which Stale no longer count, and Fresh members checked one by one.
type Stats struct {
	Entries, Stale, Fresh int
}

// Stats returns the sizes of the index's parts (for tests and
// monitoring).
func (x *Index[T]) Stats() Stats {
	return Stats{Entries: len(x.entries), Stale: x.stale, Fresh: len(x.fresh)}
}

// NeedRebuild reports whether the fresh or stale parts have grown enough
// to rebuild the array: beyond about √n fresh members, or half of the n
// entries stale.
func (x *Index[T]) NeedRebuild() bool {
	n := len(x.entries)
	limit := 16
	for limit*limit < n {
		limit *= 2
	}
	return len(x.fresh) > limit || x.stale > 16+n/2
}

// Rebuild puts the intervals of every member into the array: afterwards no
// member is fresh and no entry stale.
func (x *Index[T]) Rebuild() {
	x.entries = x.entries[:0]
	for _, m := range x.members {
		for _, iv := range m.ivs {
			x.entries = append(x.entries, entry[T]{Interval: iv, m: m, gen: m.gen})
		}
		m.indexed = true
	}
	clear(x.fresh)
	x.fresh = x.fresh[:0]
	x.stale = 0
	slices.SortFunc(x.entries, func(a, b entry[T]) int { return bytes.Compare(a.Start, b.Start) })
	x.maxEnd = slices.Grow(x.maxEnd[:0], len(x.entries))[:len(x.entries)]
	x.buildMaxEnd(0, len(x.entries))
}

// buildMaxEnd fills maxEnd for the subtree of entries[lo:hi] and returns
// its largest end (nil when empty).
func (x *Index[T]) buildMaxEnd(lo, hi int) []byte {
	if lo >= hi {
		return nil
	}
	mid := int(uint(lo+hi) >> 1)
	best := x.entries[mid].End
	for _, e := range [2][]byte{x.buildMaxEnd(lo, mid), x.buildMaxEnd(mid+1, hi)} {
		if bytes.Compare(e, best) > 0 {
			best = e
		}
	}
	x.maxEnd[mid] = best
	return best
}

// Stab calls hit with the payload of every member that has an interval
// containing k: once for each such interval of a member in the array,
// which is once per member since a member's intervals are disjoint. The
// members in the array come first, in no set order, then the fresh ones.
// hit must not change the index.
func (x *Index[T]) Stab(k []byte, hit func(T)) {
	x.stab(0, len(x.entries), k, hit)
	for _, m := range x.fresh {
		if contains(m.ivs, k) {
			hit(m.value)
		}
	}
}

// stab calls hit with every current entry of entries[lo:hi] whose interval
// contains k.
func (x *Index[T]) stab(lo, hi int, k []byte, hit func(T)) {
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if bytes.Compare(x.maxEnd[mid], k) <= 0 {
			return // every interval of this subtree ends at or before k
		}
		x.stab(lo, mid, k, hit)
		e := &x.entries[mid]
		if bytes.Compare(e.Start, k) > 0 {
			return // the right subtree starts after k too
		}
		if bytes.Compare(k, e.End) < 0 && e.gen == e.m.gen && !e.m.removed {
			hit(e.m.value)
		}
		lo = mid + 1
	}
}

// contains reports whether k lies in one of ivs, which are sorted by start
// and disjoint.
func contains(ivs []Interval, k []byte) bool {
	i, _ := slices.BinarySearchFunc(ivs, k, func(iv Interval, k []byte) int {
		return bytes.Compare(iv.Start, k)
	})
	// ivs[i-1] is the last interval starting at or before k, unless ivs[i]
	// starts exactly at k.
	if i < len(ivs) && bytes.Equal(ivs[i].Start, k) {
		return true
	}
	return i > 0 && ivs[i-1].Contains(k)
}

// normalize returns ivs when they are sorted by start, disjoint and not
// empty, and otherwise a sorted copy without the empty ones in which
// overlapping or adjacent intervals are merged.
func normalize(ivs []Interval) []Interval {
	ok := true
	for i, iv := range ivs {
		if bytes.Compare(iv.Start, iv.End) >= 0 || i > 0 && bytes.Compare(ivs[i-1].End, iv.Start) > 0 {
			ok = false
			break
		}
	}
	if ok {
		return ivs
	}
	in := slices.Clone(ivs)
	slices.SortFunc(in, func(a, b Interval) int { return bytes.Compare(a.Start, b.Start) })
	out := in[:0]
	for _, iv := range in {
		if bytes.Compare(iv.Start, iv.End) >= 0 {
			continue
		}
		if n := len(out); n > 0 && bytes.Compare(iv.Start, out[n-1].End) <= 0 {
			if bytes.Compare(iv.End, out[n-1].End) > 0 {
				out[n-1].End = iv.End
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

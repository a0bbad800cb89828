package livedb

import (
	"bytes"
	"slices"

	"github.com/livedb-go/livedb/internal/intervals"
)

// interval is a half-open key interval [Start, End) of the keyspace. Index
// prefixes make every interval lie within one index. It is the subscription
// index's type, so that a read set's intervals go into the index uncopied.
type interval = intervals.Interval

// readSet records the key intervals a transaction depended on
// (docs/semantics.md#read-sets): a
// point for a get, and for a range scan the interval from the range start up
// to the last row it consumed (or the whole range once exhausted). OCC
// validation and subscription invalidation both ask whether a committed
// write's old or new index key lies inside one of these intervals.
type readSet struct {
	ivs    []interval
	sorted bool
	// vec are the vector searches among the reads (vector_search.go),
	// whose intervals are in ivs: a subscription re-runs on a key in one
	// of them only when the search says the key could change its answer.
	vec []*vectorRead

	// first backs ivs up to its first interval, which is all that most
	// transactions record (a Get, or one query), sparing them an
	// allocation.
	first [1]interval
}

func (rs *readSet) add(start, end []byte) {
	if bytes.Compare(start, end) >= 0 {
		return
	}
	if rs.ivs == nil {
		rs.ivs = rs.first[:0]
	}
	rs.ivs = append(rs.ivs, interval{Start: start, End: end})
	rs.sorted = false
}

func (rs *readSet) addPoint(k []byte) { rs.add(k, keySuccessor(k)) }

func (rs *readSet) len() int { return len(rs.ivs) }

// normalize sorts and merges overlapping or adjacent intervals.
func (rs *readSet) normalize() {
	if rs.sorted {
		return
	}
	slices.SortFunc(rs.ivs, func(a, b interval) int { return bytes.Compare(a.Start, b.Start) })
	out := rs.ivs[:0]
	for _, iv := range rs.ivs {
		if n := len(out); n > 0 && bytes.Compare(iv.Start, out[n-1].End) <= 0 {
			if bytes.Compare(iv.End, out[n-1].End) > 0 {
				out[n-1].End = iv.End
			}
			continue
		}
		out = append(out, iv)
	}
	rs.ivs = out
	rs.sorted = true
}

// contains reports whether k lies in one of the intervals. The set must be
// normalized.
func (rs *readSet) contains(k []byte) bool {
	i, _ := slices.BinarySearchFunc(rs.ivs, k, func(iv interval, k []byte) int {
		return bytes.Compare(iv.Start, k)
	})
	// ivs[i-1] is the last interval starting at or before k, unless ivs[i]
	// starts exactly at k.
	if i < len(rs.ivs) && bytes.Equal(rs.ivs[i].Start, k) {
		return true
	}
	return i > 0 && rs.ivs[i-1].Contains(k)
}

// overlaps reports whether any of keys lies in the set. The set must be
// normalized.
func (rs *readSet) overlapsAny(keys [][]byte) ([]byte, bool) {
	for _, k := range keys {
		if k != nil && rs.contains(k) {
			return k, true
		}
	}
	return nil, false
}

// find returns the interval that holds k, which must lie in the set. The
// set must be normalized.
func (rs *readSet) find(k []byte) interval {
	i, _ := slices.BinarySearchFunc(rs.ivs, k, func(iv interval, k []byte) int {
		return bytes.Compare(iv.Start, k)
	})
	if i < len(rs.ivs) && bytes.Equal(rs.ivs[i].Start, k) {
		return rs.ivs[i]
	}
	if i > 0 {
		return rs.ivs[i-1]
	}
	return interval{}
}

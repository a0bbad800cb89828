package bboltkv

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// Segment keys: a segment's bucket stores its keys without the 6-byte
// prefix its name holds (segments.go). Every read converts at the edge:
// Get and Commit drop the prefix of the key they are given, an iterator
// over a segment translates its bounds into the segment's stored keys
// (segmentBounds) and gives each key it returns its prefix back (keyOf).
//
// Worked example: the index entry 01 00 00 00 03 10 'a' 00 … of index 3
// (a string column first: tag 10) is stored in the bucket "livedb" 01 00
// 00 00 03 10 under the key 'a' 00 …; a scan of [01 00 00 00 03 10 'a',
// 01 00 00 00 04) walks that bucket from 'a' to its end, and a scan of
// the whole index, [01 00 00 00 03, 01 00 00 00 04), walks it alone when
// it is the index's only segment and the main bucket holds no key there
// (soleSegment, segset.go).

// segment is a segment bucket and its prefix.
type segment struct {
	p []byte
	b *bolt.Bucket
}

// keyChunk is the largest buffer in which an iterator rebuilds a
// segment's keys: after its inline one (iterator.inline), each buffer is
// twice the size of the one before, up to keyChunk, so that a short scan
// allocates little and a long one once per keyChunk bytes of keys.
const keyChunk = 4096

// segmentBounds returns the interval [start, end) of keys in the stored
// keys of the segment with prefix p (a nil bound is open), and false when
// no key of the segment lies in the interval.
func segmentBounds(p, start, end []byte) (s, e []byte, ok bool) {
	switch {
	case start == nil || bytes.Compare(start, p) <= 0:
		// from the segment's first key
	case bytes.HasPrefix(start, p):
		s = start[len(p):] // not empty: start > p
	default:
		return nil, nil, false // start is after every key of the segment
	}
	switch {
	case end == nil:
	case bytes.Compare(end, p) <= 0:
		return nil, nil, false // every key of the segment is longer than p
	case bytes.HasPrefix(end, p):
		e = end[len(p):]
	}
	return s, e, true
}

// endWithin reports whether end is at most the first key after every key
// that begins with p.
func endWithin(p, end []byte) bool {
	if bytes.HasPrefix(end, p) {
		return true
	}
	var after [segmentPrefix]byte
	n := copy(after[:], p)
	i := n - 1
	for ; i >= 0; i-- {
		if after[i]++; after[i] != 0 {
			break
		}
	}
	return i < 0 || bytes.Compare(end, after[:i+1]) <= 0
}

// newSegmentIter returns an iterator over the keys of segment sg in
// [start, end), or nil when none can lie there.
func newSegmentIter(sn *snapshot, sg segment, start, end []byte, reverse bool) *iterator {
	s, e, ok := segmentBounds(sg.p, start, end)
	if !ok {
		return nil
	}
	return &iterator{sn: sn, start: s, end: e, reverse: reverse, prefix: sg.p, c: sg.b.Cursor()}
}

// keyOf returns the key k of the iterator's segment with its prefix given
// back. The keys are rebuilt in buffers that are only ever appended to, so
// that each stays valid until the snapshot is released, as the main
// bucket's do, at the cost of an allocation per keyChunk bytes of keys
// (fewer in a short scan), not one per key.
func (it *iterator) keyOf(k []byte) []byte {
	n := len(it.prefix) + len(k)
	if it.keys == nil {
		it.keys = it.inline[:0]
	}
	if cap(it.keys)-len(it.keys) < n {
		it.keys = make([]byte, 0, max(n, min(2*cap(it.keys), keyChunk)))
	}
	i := len(it.keys)
	it.keys = append(append(it.keys, it.prefix...), k...)
	return it.keys[i:len(it.keys):len(it.keys)]
}

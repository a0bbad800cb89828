package bboltkv

import (
	"bytes"
	"runtime/debug"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Segments: the keys of one index in a bucket of their own.
//
// bbolt splits a page that a commit filled past the bucket's FillPercent,
// and a bucket has one FillPercent. A livedb file has ranges written at
// their end (by_id, whose IDs start with the time; by_creation_time; the
// change feed) and ranges written all over (an index on a field whose
// values come in any order): at 0.9 the first stay 89% full, the second
// fall to about half (a page split at 90% leaves a nearly full page that
// the next insert splits again); at 1.0 the first are full and the second
// at a third; at 0.7 both near two thirds. So the keys of each index (the
// first byte segmentTag1 or segmentTag2, then 4 bytes of index id) live
// in buckets of their own, one per segment prefix: those 5 bytes and the
// next one (the value-type tag of the index's first column, or the first
// byte of a document's internal id, which starts with the time and
// changes every 35 years), so an index has one segment but for the
// columns that mix types. A segment is named BucketName + prefix, and
// every commit sets each bucket's FillPercent from how its new keys fall
// (fillFor): at the end or in a few places, pages split full; spread out,
// they split at 70% (at a million documents, 0.6 to 0.9 and 1.0 all left
// bench's two spread indexes larger). The other keys stay in the
// BucketName bucket.
//
// A segment stores its keys without their prefix, which its name holds
// (6 bytes of every index key: 29 MiB of keys in a file of a million
// documents with five indexes); reads give the prefix back (segkeys.go). A key that
// is the prefix alone, or shorter, stays in the main bucket (a bbolt key
// cannot be empty). Stripping a common prefix keeps the order, so a
// segment's keys and the main bucket's still merge in key order: a scan
// walks the main bucket and the segments its range meets, in name order,
// side by side (mergeIter).
const (
	segmentTag1   = 0x01 // livedb's index entries
	segmentTag2   = 0x05 // livedb's later-change keys, by table
	segmentPrefix = 6    // a segment's prefix: tag, 4 bytes of index id, the first byte after them
	indexPrefix   = 5    // the prefix of all of an index's keys: tag and index id

	fillAppend = 1.0 // a bucket whose new keys cluster
	fillSpread = 0.7 // a bucket whose new keys are spread out
)

// segmentOf returns the prefix of key's segment, or nil for a key of the
// main bucket (which holds a key that is a prefix alone).
func segmentOf(key []byte) []byte {
	if len(key) > segmentPrefix && isSegmentPrefix(key[:segmentPrefix]) {
		return key[:segmentPrefix]
	}
	return nil
}

// isSegmentPrefix reports whether p is the prefix of a segment.
func isSegmentPrefix(p []byte) bool {
	return len(p) == segmentPrefix && isSegmentTag(p[0])
}

// isSegmentTag reports whether keys that begin with tag go to segments.
func isSegmentTag(tag byte) bool { return tag == segmentTag1 || tag == segmentTag2 }

// segmentName returns the bucket name of the segment with prefix p.
func segmentName(p []byte) []byte {
	return append([]byte(BucketName), p...)
}

// isSegmentName reports whether a bucket name is a segment's.
func isSegmentName(name []byte) bool {
	return len(name) == len(BucketName)+segmentPrefix && bytes.HasPrefix(name, bucketName) &&
		isSegmentPrefix(name[len(BucketName):])
}

// fillFor returns the FillPercent of a bucket for a commit whose puts to it
// are puts (sorted), judged before any is applied: fillAppend when the new
// keys fall in at most a tenth as many gaps between existing keys as there
// are new keys (a load at the end of by_id, of each status of an index on
// a status) or all after the last key; fillSpread when they are spread out;
// bbolt's split at 0.9 (fillPercent) when no key is new.
func fillFor(b *bolt.Bucket, puts [][]byte) float64 {
	c := b.Cursor()
	var gap []byte // the first existing key after the last new key
	have := false  // gap is current: no existing key was put since
	gaps, added, atEnd := 0, 0, 0
	for _, k := range puts {
		if !have || gap != nil && bytes.Compare(k, gap) >= 0 {
			next, _ := c.Seek(k)
			if bytes.Equal(next, k) {
				have = false // an existing key: no insert
				continue
			}
			gap, have = next, true
			gaps++
		}
		added++
		if gap == nil {
			atEnd++
		}
		if gaps*10 > len(puts) && atEnd < added {
			return fillSpread
		}
	}
	switch {
	case added == 0:
		return fillPercent
	case atEnd == added, gaps*10 <= added:
		return fillAppend
	}
	return fillSpread
}

// segments caches a snapshot's segment buckets by prefix: the first few
// in an array (a point read of a document takes no allocation for its
// bucket after the first), the rest in a map. A snapshot may be read by
// several goroutines at once, so it is guarded.
type segments struct {
	mu     sync.Mutex
	n      int
	prefix [4][segmentPrefix]byte
	bucket [4]*bolt.Bucket         // nil: no such segment
	more   map[string]*bolt.Bucket // beyond the array
}

// get returns the segment bucket with prefix p in tx, or nil.
func (s *segments) get(tx *bolt.Tx, p []byte) *bolt.Bucket {
	key := [segmentPrefix]byte(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.n {
		if s.prefix[i] == key {
			return s.bucket[i]
		}
	}
	if b, ok := s.more[string(p)]; ok {
		return b
	}
	var name [len(BucketName) + segmentPrefix]byte
	copy(name[copy(name[:], BucketName):], p)
	b := tx.Bucket(name[:])
	if s.n < len(s.prefix) {
		s.prefix[s.n], s.bucket[s.n] = key, b
		s.n++
		return b
	}
	if s.more == nil {
		s.more = make(map[string]*bolt.Bucket)
	}
	s.more[string(p)] = b
	return b
}

// segmentsIn returns the segment buckets of tx that can hold keys of
// [start, end), in key order.
func segmentsIn(tx *bolt.Tx, start, end []byte) []segment {
	var out []segment
	c := tx.Cursor()
	seek := bucketName
	if start != nil {
		seek = segmentName(start[:min(len(start), segmentPrefix)])
	}
	for name, _ := c.Seek(seek); name != nil && bytes.HasPrefix(name, bucketName); name, _ = c.Next() {
		if !isSegmentName(name) {
			continue
		}
		p := name[len(BucketName):]
		if end != nil && bytes.Compare(p, end) >= 0 {
			break
		}
		if start != nil && len(start) >= segmentPrefix && bytes.Compare(p, start[:segmentPrefix]) < 0 {
			continue
		}
		if b := tx.Bucket(name); b != nil {
			out = append(out, segment{p: p, b: b})
		}
	}
	return out
}

// mergeIter walks [start, end) of a snapshot: the main bucket and the
// segments side by side, each in key order, the smaller key first (the
// larger in reverse).
type mergeIter struct {
	sn      *snapshot
	main    *iterator // nil without a main bucket
	segs    []segment // segments not yet begun, in walk order
	seg     *iterator // the current segment's walk
	start   []byte
	end     []byte
	reverse bool
	started bool
	mainOK  bool // main is on an entry
	segOK   bool // seg is on an entry
	fromSeg bool // the current entry is seg's
	done    bool
	k, v    []byte
	err     error
}

// Next advances to the next entry.
func (m *mergeIter) Next() bool {
	if m.done {
		return false
	}
	switch {
	case !m.started:
		m.started = true
		m.mainOK = m.main != nil && m.main.Next()
		m.segOK = m.nextSeg()
	case m.fromSeg:
		m.segOK = m.nextSeg()
	default:
		m.mainOK = m.main.Next()
	}
	if m.main != nil && m.main.Err() != nil {
		return m.stop(m.main.Err())
	}
	if m.err != nil {
		return m.stop(m.err)
	}
	switch {
	case m.mainOK && m.segOK:
		c := bytes.Compare(m.main.k, m.seg.k)
		m.fromSeg = c > 0 != m.reverse
	case m.mainOK:
		m.fromSeg = false
	case m.segOK:
		m.fromSeg = true
	default:
		return m.stop(nil)
	}
	if m.fromSeg {
		m.k, m.v = m.seg.k, m.seg.v
	} else {
		m.k, m.v = m.main.k, m.main.v
	}
	return true
}

// nextSeg advances the walk of the segments, beginning the next segment
// when one ends.
func (m *mergeIter) nextSeg() bool {
	for {
		if m.seg != nil {
			if m.seg.Next() {
				return true
			}
			if err := m.seg.Err(); err != nil {
				m.err = err
				return false
			}
		}
		if len(m.segs) == 0 {
			m.seg = nil
			return false
		}
		sg := m.segs[0]
		m.segs = m.segs[1:]
		if m.seg = newSegmentIter(m.sn, sg, m.start, m.end, m.reverse); m.seg == nil {
			continue // no key of the segment lies in [start, end)
		}
	}
}

func (m *mergeIter) stop(err error) bool {
	m.done, m.err = true, err
	m.k, m.v = nil, nil
	if m.main != nil {
		m.main.Close()
	}
	if m.seg != nil {
		m.seg.Close()
	}
	m.segs = nil
	return false
}

// Key returns the current key; it must not be modified.
func (m *mergeIter) Key() []byte { return m.k }

// Value returns the current value; it must not be modified.
func (m *mergeIter) Value() []byte { return m.v }

// Err returns the error that stopped the iteration.
func (m *mergeIter) Err() error { return m.err }

// Close releases the iterator. It is idempotent.
func (m *mergeIter) Close() {
	if !m.done {
		m.stop(nil)
	}
}

// listSegments is segmentsIn with a damaged root page turned into an error.
func (sn *snapshot) listSegments(start, end []byte, reverse bool) (segs []segment, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			segs, err = nil, panicError(sn.s.path, "iterate", r)
		}
	}()
	segs = segmentsIn(sn.tx, start, end)
	if reverse {
		for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
			segs[i], segs[j] = segs[j], segs[i]
		}
	}
	return segs, nil
}

// bucketGroup is a bucket a commit writes and the keys it puts there, in
// order.
type bucketGroup struct {
	b    *bolt.Bucket
	puts [][]byte
}

// bucketGroups returns the buckets the sorted ops write, by segment prefix
// ("" for main), creating the segments that a put needs; a segment that
// only deletes would touch and that does not exist has a nil bucket.
func bucketGroups(tx *bolt.Tx, main *bolt.Bucket, ops []seqOp) (map[string]*bucketGroup, error) {
	groups := map[string]*bucketGroup{"": {b: main}}
	for _, op := range ops {
		p := segmentOf(op.Key)
		g := groups[string(p)]
		if g == nil {
			g = &bucketGroup{b: tx.Bucket(segmentName(p))}
			groups[string(p)] = g
		}
		if op.Delete {
			continue
		}
		if g.b == nil {
			b, err := tx.CreateBucket(segmentName(p))
			if err != nil {
				return nil, err
			}
			g.b = b
		}
		g.puts = append(g.puts, op.Key[len(p):]) // the keys as the bucket stores them
	}
	return groups, nil
}

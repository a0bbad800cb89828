package bboltkv

import (
	"bytes"
	"runtime/debug"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// segSet is what a Store knows of its segments, so that a scan can tell
// without reading the file that one segment holds every key of its
// interval (soleSegment): the prefix of every segment that exists or that
// a running commit may create, in order, and whether the main bucket may
// hold a key of a segment tag (one of 6 bytes or fewer, which livedb never
// writes). Both only grow: a commit adds to them before its transaction
// begins, so no snapshot holds a segment or such a key that the set a
// later scan loads lacks. A segment the set names that a snapshot lacks
// (one created later, or by a commit that failed) only makes a scan merge
// or find an empty bucket.
type segSet struct {
	prefixes [][]byte
	short    bool
}

// loadSegSet returns the segSet of the file: its segment buckets, and a
// look for keys of segment tags in its main bucket. A damaged page gives
// the set that never lets a scan skip the merge.
func loadSegSet(db *bolt.DB) (set *segSet) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			set = &segSet{short: true}
		}
	}()
	set = &segSet{}
	err := db.View(func(tx *bolt.Tx) error {
		c := tx.Cursor()
		for name, _ := c.Seek(bucketName); name != nil && bytes.HasPrefix(name, bucketName); name, _ = c.Next() {
			if isSegmentName(name) {
				set.prefixes = append(set.prefixes, bytes.Clone(name[len(BucketName):]))
			}
		}
		if main := tx.Bucket(bucketName); main != nil {
			mc := main.Cursor()
			for _, tag := range []byte{segmentTag1, segmentTag2} {
				if k, _ := mc.Seek([]byte{tag}); len(k) > 0 && k[0] == tag {
					set.short = true
				}
			}
		}
		return nil
	})
	if err != nil {
		return &segSet{short: true}
	}
	return set
}

// noteCommit adds to the store's segSet what the sorted ops may create,
// before their transaction begins. Only Commit calls it, under s.mu.
func (s *Store) noteCommit(ops []seqOp) {
	cur := s.segSet.Load()
	var next *segSet
	var last []byte // the prefix of the previous put, known to be in the set
	for _, op := range ops {
		if op.Delete {
			continue
		}
		p := segmentOf(op.Key)
		switch {
		case p == nil && !isSegmentTag(op.Key[0]):
			continue
		case p == nil: // a key of a segment tag in the main bucket
			if !cur.short && (next == nil || !next.short) {
				next = cur.grown(next)
				next.short = true
			}
			continue
		case bytes.Equal(p, last):
			continue
		}
		last = p
		set := cur
		if next != nil {
			set = next
		}
		if i, found := slices.BinarySearchFunc(set.prefixes, p, bytes.Compare); !found {
			next = cur.grown(next)
			next.prefixes = slices.Insert(next.prefixes, i, bytes.Clone(p))
		}
	}
	if next != nil {
		s.segSet.Store(next)
	}
}

// grown returns next, or when it is nil a copy of set to add to.
func (set *segSet) grown(next *segSet) *segSet {
	if next != nil {
		return next
	}
	return &segSet{prefixes: slices.Clone(set.prefixes), short: set.short}
}

// soleSegment returns the prefix of the one segment that holds every key
// of the store in [start, end), or nil. It answers for intervals inside
// one index (a range of an index, to its end or not, or the whole index)
// from the store's segSet: when the main bucket holds no key of a segment
// tag, the keys of the interval are those of the index's segments that
// meet it; nil when there are several, or none.
func (sn *snapshot) soleSegment(start, end []byte) []byte {
	if len(start) < indexPrefix || end == nil || !isSegmentTag(start[0]) || !endWithin(start[:indexPrefix], end) {
		return nil
	}
	set := sn.s.segSet.Load()
	if set.short {
		return nil
	}
	// The segments that meet the interval: the one of start's first 6
	// bytes or any after it (all of the index's when start is 5 bytes),
	// before end, of the same index.
	from := start[:min(len(start), segmentPrefix)]
	i, _ := slices.BinarySearchFunc(set.prefixes, from, bytes.Compare)
	meets := func(i int) bool {
		return i < len(set.prefixes) && bytes.HasPrefix(set.prefixes[i], start[:indexPrefix]) && bytes.Compare(set.prefixes[i], end) < 0
	}
	if !meets(i) || meets(i+1) {
		return nil
	}
	return set.prefixes[i]
}

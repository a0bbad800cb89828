package livedb

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/livedb-go/livedb/internal/kv"
)

// scanner walks one index interval [start, end) of a transaction: the
// snapshot merged with the transaction's own writes (the overlay wins on
// equal keys; a deleted overlay entry hides the snapshot's). It decodes each
// row's document, charges the read limits, and remembers the last key it
// consumed so that the read set covers exactly what was read
// (docs/semantics.md#read-sets).
type scanner struct {
	tx         *txn
	ix         *indexInfo
	start, end []byte
	reverse    bool

	it       kv.Iterator
	mit      kv.MemoIterator // it, when the store has memos (memory backend)
	mn       memoNexter      // it, when it steps in one call (query_scan_memo.go)
	ms       kv.MemoSnapshot // the snapshot, when mit is set
	snapKey  []byte          // current snapshot entry (copied unless mit), nil when none
	snapVal  []byte
	snapMemo *kv.Memo // memo of the current snapshot entry, when mit is set
	snapDone bool
	ov       []overlayEntry
	oi       int

	docKeyBuf []byte // by_id key of the last row looked up, reused
	idBuf     []byte // text _id of the last row read, reused (idkey.go)
	lastKey   []byte // last key consumed
	exhausted bool   // the scan ran off the end of the interval
	recorded  bool
	raw       bool // rows may be raw, for a typed read (read_direct.go)

	pageKeys [][]byte // a page's keys, kept by the pool (paginate.go, read_fixed2.go)
	room     []byte   // spare room of the Query's key buffer, for the read set's keys (read_fixed3.go)
}

func (tx *txn) newScanner(ix *indexInfo, start, end []byte, reverse bool) *scanner {
	s := pooledScanner() // read_fixed2.go: keeps its buffers; s.release gives it back
	s.tx, s.ix, s.start, s.end, s.reverse = tx, ix, start, end, reverse
	s.it = iterOnce(tx.snap, start, end, reverse) // read_fixed.go
	if mit, ok := s.it.(kv.MemoIterator); ok {
		if ms, ok := tx.snap.(kv.MemoSnapshot); ok {
			s.mit, s.ms = mit, ms
			s.mn, _ = s.it.(memoNexter)
		}
	}
	if tx.writes != nil {
		if ov := tx.writes.indexOverlay(ix.id); ov != nil {
			ov.AscendRange(overlayEntry{key: start}, overlayEntry{key: end}, func(e overlayEntry) bool {
				s.ov = append(s.ov, e)
				return true
			})
			if reverse {
				slices.Reverse(s.ov)
			}
		}
	}
	return s
}

// before reports whether key a comes before key b in scan order.
func (s *scanner) before(a, b []byte) bool {
	c := bytes.Compare(a, b)
	if s.reverse {
		return c > 0
	}
	return c < 0
}

func (s *scanner) fillSnap() error {
	if s.snapKey != nil || s.snapDone {
		return nil
	}
	if !s.it.Next() {
		s.snapDone = true
		return storeErr(s.it.Err())
	}
	if s.mit != nil {
		s.snapKey = s.it.Key() // immutable, valid while the store is open
		s.snapMemo = s.mit.Memo()
	} else {
		s.snapKey = append([]byte(nil), s.it.Key()...)
	}
	s.snapVal = s.it.Value()
	return nil
}

// next returns the next row's key and document, or ok == false at the end.
// The row's document may be shared (see docRow): it must not be modified.
func (s *scanner) next() (key []byte, row docRow, ok bool, err error) {
	if s.mit != nil {
		// The memory backend maps no file, so a read cannot fault: the
		// guard's two runtime calls and deferred recover per row are
		// spared.
		if s.memoScan() {
			return s.advanceMemo() // query_scan_memo.go
		}
		return s.advance()
	}
	defer catchFault(&err, guardFaults())
	return s.advance()
}

// advance is next without the guard against faults of a mapped file.
func (s *scanner) advance() (key []byte, row docRow, ok bool, err error) {
	for {
		if err := s.tx.checkUsable(); err != nil {
			return nil, docRow{}, false, err
		}
		if err := s.fillSnap(); err != nil {
			return nil, docRow{}, false, err
		}
		switch {
		case s.oi < len(s.ov) && (s.snapKey == nil || !s.before(s.snapKey, s.ov[s.oi].key)):
			e := s.ov[s.oi]
			s.oi++
			if s.snapKey != nil && bytes.Equal(s.snapKey, e.key) {
				s.snapKey = nil // shadowed
			}
			if e.deleted {
				continue
			}
			key = e.key
			if enc := s.tx.writes.docs[e.id].newEnc; s.raw {
				row = docRow{size: len(enc), enc: enc, id: []byte(e.id)}
			} else {
				row, err = privateRow(enc, e.id)
			}
		case s.snapKey != nil:
			key = s.snapKey
			s.snapKey = nil
			row, err = s.snapRow(key)
		default:
			s.exhausted = true
			return nil, docRow{}, false, nil
		}
		if err != nil {
			return nil, docRow{}, false, err
		}
		s.lastKey = key
		if err := s.tx.countRead(row.size); err != nil {
			return nil, docRow{}, false, err
		}
		return key, row, true, nil
	}
}

// snapRow returns the document of the current snapshot entry, whose key is
// key. On the memory backend an index entry's memo remembers the cached
// decoding of the document version it led to, so that while that version
// is current the by_id lookup is skipped.
func (s *scanner) snapRow(key []byte) (docRow, error) {
	if s.raw {
		return s.rawRow(key) // read_direct.go
	}
	t := s.ix.table
	if s.ix == t.byID {
		id, _, ok := appendIndexEntryID(s.idBuf[:0], s.ix, key)
		if !ok {
			return docRow{}, fmt.Errorf("%w: by_id key %x of table %s does not end with an ID of the table", ErrCorrupt, key, t.name)
		}
		s.idBuf = id
		if s.mit != nil {
			return memoDoc(s.snapVal, s.snapMemo, id)
		}
		return privateRow(s.snapVal, id)
	}
	if r, ok := s.linkedRow(); ok { // read_precache.go
		return r, nil
	}
	docID, idKey, ok := appendIndexEntryID(s.idBuf[:0], s.ix, key)
	if !ok {
		return docRow{}, fmt.Errorf("%w: index %s.%s has entry %x that does not end with an ID of the table", ErrCorrupt, t.name, s.ix.name, key)
	}
	s.idBuf = docID
	memo := s.mit != nil && (s.tx.writes == nil || s.tx.writes.docs[string(docID)] == nil)
	if memo && s.tx.writes != nil { // without writes, linkedRow checked the link already
		if c := currentLink(s.ms, s.snapMemo); c != nil {
			return sharedRow(c), nil
		}
	}
	s.docKeyBuf = append(append(s.docKeyBuf[:0], t.byID.prefix...), idKey...)
	var r docRow
	var found bool
	var err error
	if memo {
		// Link only a cached decoding: a version read once has none yet,
		// and its next read caches it and links it.
		if r, found, err = memoRow(s.ms, s.docKeyBuf, docID); found && r.shared != nil {
			linkEntry(s.snapMemo, r.shared)
		}
	} else {
		r, found, err = s.tx.loadDoc(t, string(docID), s.docKeyBuf)
	}
	if err != nil {
		return docRow{}, err
	}
	if !found {
		return docRow{}, errIndexDrift(s.ix, key)
	}
	return r, nil
}

// close records the read interval and releases the iterator.
func (s *scanner) close() error {
	s.closeIter() // read_fixed.go
	if s.recorded {
		return nil
	}
	s.recorded = true
	switch {
	case s.exhausted:
		return s.tx.recordRead(s.start, s.end)
	case s.lastKey == nil:
		return nil
	case s.reverse:
		return s.tx.recordRead(s.lastKey, s.end)
	default:
		return s.tx.recordRead(s.start, s.successor(s.lastKey)) // read_fixed3.go
	}
}

package livedb

import (
	"bytes"
	"slices"

	"github.com/livedb-go/livedb/internal/kv"
)

// scanner walks one index interval [start, end) of a transaction: the
// snapshot merged with the transaction's own writes (the overlay wins on
// equal keys; a deleted overlay entry hides the snapshot's). It decodes each
// row's document, charges the read limits, and remembers the last key it
// consumed so that the read set covers exactly what was read (§7.5).
type scanner struct {
	tx         *txn
	ix         *indexInfo
	start, end []byte
	reverse    bool

	it       kv.Iterator
	snapKey  []byte // current snapshot entry (copied), nil when none
	snapVal  []byte
	snapDone bool
	ov       []overlayEntry
	oi       int

	lastKey   []byte // last key consumed
	exhausted bool   // the scan ran off the end of the interval
	recorded  bool
}

func (tx *txn) newScanner(ix *indexInfo, start, end []byte, reverse bool) *scanner {
	s := &scanner{tx: tx, ix: ix, start: start, end: end, reverse: reverse}
	s.it = tx.snap.Iter(start, end, reverse)
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
	s.snapKey = append([]byte(nil), s.it.Key()...)
	s.snapVal = s.it.Value()
	return nil
}

// next returns the next row's key and document, or ok == false at the end.
func (s *scanner) next() (key []byte, doc map[string]any, ok bool, err error) {
	defer catchFault(&err, guardFaults())
	for {
		if err := s.tx.checkUsable(); err != nil {
			return nil, nil, false, err
		}
		if err := s.fillSnap(); err != nil {
			return nil, nil, false, err
		}
		var enc []byte
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
			key, enc = e.key, s.tx.writes.docs[e.id].newEnc
		case s.snapKey != nil:
			key = s.snapKey
			s.snapKey = nil
			if s.ix == s.ix.table.byID {
				enc = s.snapVal
			} else {
				var found bool
				enc, found, err = s.tx.loadEncoded(s.ix.table, string(s.snapVal))
				if err != nil {
					return nil, nil, false, err
				}
				if !found {
					return nil, nil, false, errIndexDrift(s.ix, key)
				}
			}
		default:
			s.exhausted = true
			return nil, nil, false, nil
		}
		s.lastKey = key
		if err := s.tx.countRead(len(enc)); err != nil {
			return nil, nil, false, err
		}
		doc, err := decodeDoc(enc)
		if err != nil {
			return nil, nil, false, err
		}
		return key, doc, true, nil
	}
}

// close records the read interval and releases the iterator.
func (s *scanner) close() error {
	s.it.Close()
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
		return s.tx.recordRead(s.start, keySuccessor(s.lastKey))
	}
}

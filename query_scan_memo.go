package livedb

import "github.com/livedb-go/livedb/internal/kv"

// The scan of the memory backend without merging.
//
// A scanner merges the snapshot with the transaction's own writes in the
// interval (scanner.advance). When the transaction has none there (every
// query; a mutation that wrote nothing in the index's interval), the merge
// only hands out the snapshot's entries in order: advanceMemo does that
// alone, with one call to the memory iterator per entry (memoNexter)
// instead of Next, Key, Value and Memo, and without keeping the entry as
// the merge's current snapshot key. The row of each entry is found as
// advance finds it (snapRow: the link first, which a query on an index
// other than by_id follows; then the by_id lookup), and the read is
// counted and remembered as advance does, so that the rows, their order,
// the read set and the limits are those of advance.

// memoNexter is implemented by the memory backend's iterators (memkv's
// NextMemo): Next, then Key, Value and Memo of the new entry, in one call;
// ok is false at the end or on an error, which Err then returns.
type memoNexter interface {
	NextMemo() (key, value []byte, m *kv.Memo, ok bool)
}

// memoScan reports whether next may take advanceMemo: a memory iterator
// and no write of the transaction in the interval.
func (s *scanner) memoScan() bool { return s.mn != nil && len(s.ov) == 0 }

// advanceMemo is advance for a scan that memoScan allows.
func (s *scanner) advanceMemo() (key []byte, row docRow, ok bool, err error) {
	if err := s.tx.checkUsable(); err != nil {
		return nil, docRow{}, false, err
	}
	key, s.snapVal, s.snapMemo, ok = s.mn.NextMemo()
	if !ok {
		if err := storeErr(s.it.Err()); err != nil {
			return nil, docRow{}, false, err
		}
		s.snapDone, s.exhausted = true, true
		return nil, docRow{}, false, nil
	}
	var found bool
	if s.ix != s.ix.table.byID {
		row, found = s.linkedRow() // read_precache.go; snapRow starts with it too
	}
	if !found {
		if row, err = s.snapRow(key); err != nil {
			return nil, docRow{}, false, err
		}
	}
	s.lastKey = key
	if err := s.tx.countRead(row.size); err != nil {
		return nil, docRow{}, false, err
	}
	return key, row, true, nil
}

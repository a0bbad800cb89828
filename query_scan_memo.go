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
// the read set and the limits are those of advance. A caller that reads
// the key from s.lastKey (collectRows, page) takes the row by pointer
// (nextRow), one call per row where next, advanceMemo and nextKept each
// returned the key and the row (72 bytes) up the stack.

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
	if ok, err = s.advanceMemoInto(&row); !ok {
		return nil, docRow{}, false, err
	}
	return s.lastKey, row, true, nil
}

// nextRow is next for a caller that takes the key from s.lastKey: the
// row is stored in *row, and a scan that memoScan allows steps with
// advanceMemoInto, without returning the key and the row through next
// and advanceMemo.
func (s *scanner) nextRow(row *docRow) (ok bool, err error) {
	if s.memoScan() {
		return s.advanceMemoInto(row)
	}
	_, *row, ok, err = s.next()
	return ok, err
}

// advanceMemoInto is advanceMemo, storing the row in *row (unchanged at
// the end or on an error); the key is s.lastKey.
func (s *scanner) advanceMemoInto(row *docRow) (ok bool, err error) {
	if err := s.tx.checkUsable(); err != nil {
		return false, err
	}
	var key []byte
	key, s.snapVal, s.snapMemo, ok = s.mn.NextMemo()
	if !ok {
		if err := storeErr(s.it.Err()); err != nil {
			return false, err
		}
		s.snapDone, s.exhausted = true, true
		return false, nil
	}
	var r docRow
	var found bool
	if s.ix != s.ix.table.byID {
		r, found = s.linkedRow() // read_precache.go; snapRow starts with it too
	}
	if !found {
		if r, err = s.snapRow(key); err != nil {
			return false, err
		}
	}
	s.lastKey = key
	if err := s.tx.countRead(r.size); err != nil {
		return false, err
	}
	*row = r
	return true, nil
}

// nextKeptRow is nextKept for collectRows: without filters, the
// scanner's nextRow.
func (q *Query) nextKeptRow(s *scanner, row *docRow) (ok bool, err error) {
	if len(q.filters) == 0 && len(q.preds) == 0 {
		return s.nextRow(row)
	}
	_, *row, ok, err = q.nextKept(s)
	return ok, err
}

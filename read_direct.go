package livedb

import (
	"fmt"
	"reflect"

	"github.com/livedb-go/livedb/internal/codec"
	"github.com/livedb-go/livedb/internal/kv"
)

// Typed reads straight from the stored bytes.
//
// A typed read (Table.Get, and the TypedQuery terminals Collect, Take and
// Paginate without filters) does not need a document map: for a version
// that is not cached (every read on bbolt; a version's first read on the
// memory backend) it reads the stored encoding field by field into the
// caller's T (codec.DecodeStored) and builds no map at all; the _id, which
// a stored version does not hold, is the one its key names (docRow.id).
// Strings in T are sliced from one string copy of the _id and the
// version's bytes, made for this read; arrays, objects and bytes are decoded into values of T's own, as
// FromDoc does, so T shares nothing mutable with the store. A version the
// memory backend has cached (cachedDoc) is read from its map, as before:
// its fields found by name cost less than walking and checking the bytes
// again.
//
// The rows of such a read are raw (docRow.enc set, doc nil) when the
// version is not cached; a scan hands them out only when its query has no
// filters, which read maps (scanner.raw). Whenever the direct decoding
// cannot store a document (a value that does not fit T, a damaged
// encoding), the read takes the
// map path, which makes the error as an untyped read followed by FromDoc
// would: the two paths give the same T or the same error.

// memoRaw returns the row of the stored version enc whose memo is m, for a
// typed read, as memoDoc does for a map read: the cached decoding when
// there is one; on the version's first read a raw row (enc, nothing
// decoded); on its second the decoding memoDoc caches. id is the _id the
// version's key names.
func memoRaw(enc []byte, m *kv.Memo, id []byte) (docRow, error) {
	c, _ := m.Load().(*cachedDoc)
	if c == nil {
		markReadOnce(m)
		return docRow{size: len(enc), enc: enc, id: id}, nil
	}
	r, err := memoDoc(enc, m, id)
	if err != nil {
		return docRow{}, err
	}
	r.id = id
	return r, nil
}

// getRawIn is getRow for a typed read of docID, which the caller
// resolved to its table t: the row may be raw (see docRow).
func (tx *txn) getRawIn(t *tableInfo, docID ID) (docRow, bool, error) {
	return tx.readRowIn(t, docID, true)
}

// loadRaw is loadDoc for a typed read: the row may be raw. key is the
// document's by_id key.
func (tx *txn) loadRaw(t *tableInfo, docID string, key []byte) (docRow, bool, error) {
	if tx.writes != nil {
		if pd, ok := tx.writes.docs[docID]; ok {
			if pd.newEnc == nil {
				return docRow{}, false, nil
			}
			return docRow{size: len(pd.newEnc), enc: pd.newEnc, id: []byte(docID)}, true, nil
		}
	}
	if ms, ok := tx.snap.(kv.MemoSnapshot); ok {
		enc, m, found, err := ms.GetMemo(key)
		if err != nil || !found {
			return docRow{}, false, storeErr(err)
		}
		if c, _ := m.Load().(*cachedDoc); c != nil && c != readOnce {
			return sharedRow(c), true, nil // a cached row needs no _id bytes
		}
		r, err := memoRaw(enc, m, []byte(docID))
		return r, err == nil, err
	}
	enc, found, err := tx.snap.Get(key)
	if err != nil || !found {
		return docRow{}, false, storeErr(err)
	}
	return docRow{size: len(enc), enc: enc, id: []byte(docID)}, true, nil
}

// rawRow is scanner.snapRow for a scan whose rows may be raw (s.raw): the
// row of the current snapshot entry, whose key is key, without decoding a
// version that is not cached.
func (s *scanner) rawRow(key []byte) (docRow, error) {
	t := s.ix.table
	if s.ix != t.byID {
		if r, ok := s.linkedRow(); ok { // read_precache.go
			return r, nil
		}
	}
	docID, idKey, ok := appendIndexEntryID(nil, s.ix, key)
	if !ok {
		return docRow{}, fmt.Errorf("%w: index %s.%s has entry %x that does not end with an ID of the table", ErrCorrupt, t.name, s.ix.name, key)
	}
	if s.ix == t.byID {
		if s.mit != nil {
			return memoRaw(s.snapVal, s.snapMemo, docID)
		}
		return docRow{size: len(s.snapVal), enc: s.snapVal, id: docID}, nil
	}
	memo := s.mit != nil && (s.tx.writes == nil || s.tx.writes.docs[string(docID)] == nil)
	if memo && s.tx.writes != nil { // without writes, linkedRow checked the link already
		if c := currentLink(s.ms, s.snapMemo); c != nil {
			r := sharedRow(c)
			r.id = docID
			return r, nil
		}
	}
	s.docKeyBuf = append(append(s.docKeyBuf[:0], t.byID.prefix...), idKey...)
	var r docRow
	var found bool
	var err error
	if memo {
		var enc []byte
		var m *kv.Memo
		enc, m, found, err = s.ms.GetMemo(s.docKeyBuf)
		err = storeErr(err)
		if found && err == nil {
			// As snapRow: link only a cached decoding.
			if r, err = memoRaw(enc, m, docID); err == nil && r.shared != nil {
				linkEntry(s.snapMemo, r.shared)
			}
		}
	} else {
		r, found, err = s.tx.loadRaw(t, string(docID), s.docKeyBuf)
	}
	if err != nil {
		return docRow{}, err
	}
	if !found {
		return docRow{}, errIndexDrift(s.ix, key)
	}
	return r, nil
}

// decodeRow stores the document of a row into *out, which holds T's zero
// value: straight from the stored bytes when it can, else by the map
// path (see the top of this file).
func (t *Table[T]) decodeRow(row docRow, out *T) error {
	rv := reflect.ValueOf(out).Elem()
	if row.shared != nil {
		// A cached version: its map is checked and decoded, and reading
		// its fields by name is faster than walking (and checking) the
		// bytes again; a flat T is copied from the one kept with it.
		if t.flat && row.shared != readOnce {
			return t.decodeCached(row.shared, out) // read_typed_cache.go
		}
		return t.decodeInto(Doc(row.doc), out)
	}
	if enc := row.enc; enc != nil {
		if codec.DecodeStored(enc, row.id, rv) {
			return nil
		}
		rv.SetZero()
	}
	doc := row.doc
	if doc == nil {
		r, err := privateRow(row.enc, row.id)
		if err != nil {
			return err
		}
		doc = r.doc
	}
	return t.decodeInto(Doc(doc), out)
}

// rawScan reports whether a scan of q may hand out raw rows to add: only
// for a typed read (add set) of a query without filters, which read maps.
func (q *Query) rawScan(add func(docRow) error) bool {
	return add != nil && len(q.filters) == 0 && len(q.preds) == 0
}

// collect is Collect (n < 0) and Take(n) of a query that is not a search:
// the rows are decoded into the result as the scan reads them.
func (tq *TypedQuery[T]) collect(n int) ([]T, error) {
	if n < 0 || n > 1 {
		return tq.collectSized(n) // read_alloc.go
	}
	var out []T
	err := tq.q.collectRows(n, func(row docRow) error {
		if out == nil {
			out = make([]T, 0, collectCap(n))
		}
		out = append(out, *new(T))
		return tq.t.decodeRow(row, &out[len(out)-1])
	}, true)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []T{} // as decodeAll returns
	}
	return out, nil
}

// paginate is Paginate of a query that is not a search.
func (tq *TypedQuery[T]) paginate(opts PaginationOptions) (PaginationResult[T], error) {
	page := make([]T, 0, pageCap(opts, opts.EndCursor != "")) // read_alloc.go
	res, err := tq.q.paginate(opts, func(row docRow) (err error) {
		page, err = tq.t.appendRow(page, row) // read_typed_append.go
		return err
	})
	if err != nil {
		return PaginationResult[T]{}, err
	}
	return withPage(res, page), nil
}

package livedb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"
	"time"

	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/value"
)

// txn is the state shared by query and mutation transactions: one snapshot,
// the catalog it was opened with, the read set, the limit counters and, for
// a mutation, the write buffer.
//
// A txn is used by one goroutine: the one running the user's function.
type txn struct {
	db     *DB
	ctx    context.Context
	snap   kv.Snapshot
	ts     uint64   // commit timestamp of the snapshot
	base   *catalog // the catalog the snapshot holds
	cat    *catalog // base, plus the tables this mutation creates
	limits *Limits
	reads  readSet
	writes *writeSet // nil in a query
	done   bool      // the user's function returned: no more reads or writes
	ended  bool      // DB.end released the snapshot and registration
	plain  bool      // DB.query's: no one reads its journal (read_fixed3.go)

	// Time and work (systables.go, scheduler.go).
	system    bool // livedb's own code is writing: system tables are writable (asSystem)
	scheduled int  // functions this mutation scheduled, for their limit

	docsRead     int
	bytesRead    int64
	docsWritten  int
	bytesWritten int64
	creationTime float64 // next _creationTime to hand out, in ms
	// Pagination journal: the page ends a subscription fixed for the
	// Paginate calls of this run, in call order, and the ones it produced.
	paginateCalls int
	journalIn     []string
	journalOut    []string

	pointRoom     [32]byte // the keys of the first Get (read_fixed2.go)
	pointRoomUsed bool
}

func (tx *txn) checkUsable() error {
	if tx.done {
		return ErrTxDone
	}
	if tx.db.isClosed() {
		return ErrClosed
	}
	if err := tx.ctx.Err(); err != nil {
		return err
	}
	return nil
}

// countRead charges one document of n bytes against the read limits.
func (tx *txn) countRead(n int) error {
	tx.docsRead++
	tx.bytesRead += int64(n)
	if tx.docsRead > tx.limits.DocumentsRead {
		return &LimitError{Limit: "documents read", Max: int64(tx.limits.DocumentsRead)}
	}
	if tx.bytesRead > tx.limits.BytesRead {
		return &LimitError{Limit: "bytes read", Max: tx.limits.BytesRead}
	}
	return nil
}

// recordRead adds an interval to the read set, charging the interval limit.
func (tx *txn) recordRead(start, end []byte) error {
	tx.reads.add(start, end)
	if tx.reads.len() > tx.limits.ReadIntervals {
		tx.reads.normalize() // adjacent intervals merge, as in Convex
		if tx.reads.len() > tx.limits.ReadIntervals {
			return &LimitError{Limit: "read intervals", Max: int64(tx.limits.ReadIntervals)}
		}
	}
	return nil
}

// resolveID decodes an ID and finds its table. A well-formed ID of a table
// that does not exist gives ok == false and no error, like Convex's get,
// and records the read of the table's absence.
func (tx *txn) resolveID(docID ID) (*tableInfo, bool, error) {
	n, _, err := id.Decode(string(docID))
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrInvalidID, err)
	}
	t, ok := tx.cat.byNumber[n]
	if !ok {
		k := tableNumberKey(n)
		return nil, false, tx.recordRead(k, keySuccessor(k))
	}
	return t, true, nil
}

// table returns the table named name, or nil when it does not exist; then
// the read of its absence is recorded, so that a commit that creates it
// conflicts with this transaction and re-runs a subscription. op names
// the operation for errors: a name that is not a table name, with a strict
// schema a table the schema does not declare, and an insert into a system
// table are errors (checkTableAccess).
func (tx *txn) table(op, name string) (*tableInfo, error) {
	if err := tx.checkTableAccess(op, name); err != nil {
		return nil, err
	}
	if t, ok := tx.cat.tables[name]; ok {
		return t, nil
	}
	k := tableNameKey(name)
	return nil, tx.recordRead(k, keySuccessor(k))
}

// createTable adds a table that this mutation creates: it exists for the
// mutation's own reads at once, and for everybody else when the mutation
// commits. Nothing is written to storage before then.
func (tx *txn) createTable(t *tableInfo) {
	tx.cat = tx.cat.with(t)
	tx.writes.tables = append(tx.writes.tables, t)
}

// loadEncoded returns the current encoded version of a document as this
// transaction sees it (its own writes first), without recording a read.
func (tx *txn) loadEncoded(t *tableInfo, docID string) ([]byte, bool, error) {
	if tx.writes != nil {
		if pd, ok := tx.writes.docs[docID]; ok {
			return pd.newEnc, pd.newEnc != nil, nil
		}
	}
	b, ok, err := tx.snap.Get(docKey(t, docID))
	if err != nil || !ok {
		return nil, false, storeErr(err)
	}
	return b, true, nil
}

// get reads a document by ID, recording the point read.
func (tx *txn) get(docID ID) (Doc, bool, error) {
	r, ok, err := tx.getRow(docID)
	if err != nil || !ok {
		return nil, false, err
	}
	return r.own(), true, nil
}

// getRow is get returning the row as read, which may be shared (see
// docRow): the caller copies it (own) or only reads it.
func (tx *txn) getRow(docID ID) (_ docRow, _ bool, err error) {
	defer catchFault(&err, guardFaults())
	if err := tx.checkUsable(); err != nil {
		return docRow{}, false, err
	}
	t, ok, err := tx.resolveID(docID)
	if err != nil {
		return docRow{}, false, idError("get", docID, err)
	}
	if !ok {
		return docRow{}, false, nil
	}
	return tx.readResolved(t, docID, false)
}

// readRowIn is getRow for a docID the caller resolved to its table t
// (Table.Get, which checks the table first): the ID is not decoded again;
// raw rows (see docRow) are for typed reads, which may decode the stored
// bytes.
func (tx *txn) readRowIn(t *tableInfo, docID ID, raw bool) (_ docRow, _ bool, err error) {
	defer catchFault(&err, guardFaults())
	if err := tx.checkUsable(); err != nil {
		return docRow{}, false, err
	}
	return tx.readResolved(t, docID, raw)
}

// readResolved is readRow's read of docID, of table t.
func (tx *txn) readResolved(t *tableInfo, docID ID, raw bool) (docRow, bool, error) {
	k, succ := tx.pointKeys(t, string(docID)) // read_fixed2.go
	if err := tx.recordRead(k, succ); err != nil {
		return docRow{}, false, err
	}
	var r docRow
	var ok bool
	var err error
	if raw {
		r, ok, err = tx.loadRaw(t, string(docID), k)
	} else {
		r, ok, err = tx.loadDoc(t, string(docID), k)
	}
	if err != nil || !ok {
		return docRow{}, false, err
	}
	if err := tx.countRead(r.size); err != nil {
		return docRow{}, false, err
	}
	return r, true, nil
}

// docRow is a decoded document as a read found it: either private (shared
// nil: a fresh decoding the caller may hand out) or the memory backend's
// cached decoding of the stored version (shared non-nil: doc is
// shared.doc, seen by every reader of that version, and must not be
// modified; own copies it). Its _id is an ID.
type docRow struct {
	doc    map[string]any
	size   int // encoded size, for the read limits
	shared *cachedDoc

	// A raw row of a typed read (read_direct.go): doc is nil unless
	// shared is set; enc is the stored version, id the _id its key names
	// (a stored version does not hold it).
	enc []byte
	id  []byte
}

// own returns the row's document for a caller to keep and modify.
func (r docRow) own() Doc {
	if r.shared == nil {
		return Doc(r.doc)
	}
	return r.shared.clone()
}

// cachedDoc is the decoded form of one stored version of a document, kept
// in the version's [kv.Memo] on the memory backend so that a read does not
// decode the bytes again. The bytes of a committed version never change,
// and nobody modifies doc after it is stored: every reader gets a copy
// (clone), so no caller can change what the next read returns.
//
// *cachedDoc is the only type livedb stores in a memo (see the kv package
// doc): a by_id entry's memo holds the decoding of its own version, and an
// index entry's memo holds the decoding of the document version it led to,
// valid while memo is current (see scanner.snapRow).
type cachedDoc struct {
	doc  map[string]any // _id is an ID
	size int            // encoded size
	deep bool           // doc holds arrays, objects or bytes, which clone copies
	born uint64         // commit that wrote the by_id version decoded (kv.Memo.Born)
	link *docLink       // what index entries leading here hold (read_precache.go); nil for readOnce

	typed typedSlot // a Table's T of doc (read_typed_cache.go)
}

// clone returns a copy of the document that shares nothing mutable with
// it: the top-level map is copied, and so is every array, object and
// []byte inside (strings and numbers are immutable and shared).
func (c *cachedDoc) clone() Doc { return cloneDoc(c.doc, c.deep) }

// cloneDoc copies doc as cachedDoc.clone does; deep says whether doc holds
// arrays, objects or bytes (hasMutable).
func cloneDoc(doc map[string]any, deep bool) Doc {
	out := maps.Clone(doc)
	if deep {
		for k, x := range out {
			switch x.(type) {
			case []any, map[string]any, []byte:
				out[k] = deepCopy(x)
			}
		}
	}
	return Doc(out)
}

// cloneOr returns a copy of the cached document, or, when c is nil, of the
// private document doc; the copy shares nothing mutable with either.
func (c *cachedDoc) cloneOr(doc map[string]any) Doc {
	if c != nil {
		return c.clone()
	}
	return cloneDoc(doc, hasMutable(doc))
}

// deepCopy copies the arrays, objects and []byte of a canonical value.
func deepCopy(x any) any {
	switch t := x.(type) {
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopy(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = deepCopy(e)
		}
		return out
	case []byte:
		return bytes.Clone(t)
	}
	return x
}

// hasMutable reports whether a document holds a value that a copy must
// duplicate: an array, an object or bytes.
func hasMutable(doc map[string]any) bool {
	for _, x := range doc {
		switch x.(type) {
		case []any, map[string]any, []byte:
			return true
		}
	}
	return false
}

// readOnce marks, in a version's memo, a document version read once and
// not cached: most versions of a large database are read once or never, so
// a version is cached on its second read, sparing one-time reads the copy
// that a cached document costs every reader.
var readOnce = &cachedDoc{}

// memoDoc returns the row of the stored version enc whose memo is m and
// whose _id is docID: the cached decoding when there is one; else a fresh
// decoding, which is cached when the version was read before.
func memoDoc[S ~string | []byte](enc []byte, m *kv.Memo, docID S) (docRow, error) {
	c, _ := m.Load().(*cachedDoc)
	if c != nil && c != readOnce {
		return sharedRow(c), nil
	}
	doc, err := decodePublicDoc(enc, docID)
	if err != nil {
		return docRow{}, err
	}
	if c == nil {
		markReadOnce(m)
		return docRow{doc: doc, size: len(enc)}, nil
	}
	c = newCachedDoc(doc, len(enc), hasMutable(doc), m.Born())
	if !m.CompareAndSwap(readOnce, c) {
		c = m.Load().(*cachedDoc) // another reader cached it first: one decoding per version (read_precache.go)
	}
	return sharedRow(c), nil
}

// markReadOnce marks the version of memo m read once, unless a reader
// cached its decoding since this one found the memo empty: that decoding
// must stay, as the one decoding of the version, which index entries link
// to and the store empties when the version is replaced (read_precache.go).
func markReadOnce(m *kv.Memo) { m.CompareAndSwap(nil, readOnce) }

// sharedRow returns the row of a cached decoding.
func sharedRow(c *cachedDoc) docRow { return docRow{doc: c.doc, size: c.size, shared: c} }

// privateRow decodes enc, the stored version of the document docID, into
// a row of its own.
func privateRow[S ~string | []byte](enc []byte, docID S) (docRow, error) {
	doc, err := decodePublicDoc(enc, docID)
	if err != nil {
		return docRow{}, err
	}
	return docRow{doc: doc, size: len(enc)}, nil
}

// loadDoc returns the current version of a document as this transaction
// sees it (its own writes first), decoded, without recording a read. key
// is its by_id key (docKey); it is not kept, so the caller may reuse it.
func (tx *txn) loadDoc(t *tableInfo, docID string, key []byte) (docRow, bool, error) {
	if tx.writes != nil {
		if pd, ok := tx.writes.docs[docID]; ok {
			if pd.newEnc == nil {
				return docRow{}, false, nil
			}
			r, err := privateRow(pd.newEnc, docID)
			return r, err == nil, err
		}
	}
	if ms, ok := tx.snap.(kv.MemoSnapshot); ok {
		r, ok, err := memoRow(ms, key, docID)
		return r, ok, err
	}
	enc, ok, err := tx.snap.Get(key)
	if err != nil || !ok {
		return docRow{}, false, storeErr(err)
	}
	r, err := privateRow(enc, docID)
	return r, err == nil, err
}

// memoRow reads the stored version of the document whose by_id key is key
// on the memory backend, through the version's memo (see memoDoc).
func memoRow[S ~string | []byte](ms kv.MemoSnapshot, key []byte, docID S) (docRow, bool, error) {
	enc, m, ok, err := ms.GetMemo(key)
	if err != nil || !ok {
		return docRow{}, false, storeErr(err)
	}
	r, err := memoDoc(enc, m, docID)
	return r, err == nil, err
}

// decodeDoc decodes a stored document for the engine's own use (writes,
// Check, backfills, import): as decodePublicDoc, with _id a string.
func decodeDoc[S ~string | []byte](enc []byte, docID S) (map[string]any, error) {
	m, err := decodePublicDoc(enc, docID)
	if err != nil {
		return nil, err
	}
	m[fieldID] = string(m[fieldID].(ID))
	return m, nil
}

// decodePublicDoc decodes a stored document for a reader; its _id is an
// ID, docID, which the document's key gives (a stored document does not
// hold it: value.EncodeStoredDocument).
func decodePublicDoc[S ~string | []byte](enc []byte, docID S) (map[string]any, error) {
	m, err := value.DecodeStoredDocument(enc, docID)
	if err != nil {
		// A copy of docID in the message, so that docID does not escape:
		// a caller's string(docID) of a 32-byte ID stays on its stack.
		return nil, fmt.Errorf("%w: corrupt document %s: %w", ErrCorrupt, strings.Clone(string(docID)), err)
	}
	return m, nil
}

// idError returns the error of an operation on docID that resolveID
// refused: an ID that does not decode, or a limit reached.
func idError(op string, docID ID, err error) error {
	if !errors.Is(err, ErrInvalidID) {
		return err
	}
	return &DocumentError{Op: op, ID: docID, Kind: ErrInvalidID, Err: unwrapKind(err, ErrInvalidID)}
}

// unwrapKind strips the kind sentinel from an error built as "%w: %w".
func unwrapKind(err, kind error) error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range u.Unwrap() {
			if e != kind {
				return e
			}
		}
	}
	return err
}

// nextCreationTime hands out the _creationTime of an insert: at least the
// snapshot's timestamp and the wall clock, strictly increasing within the
// transaction (docs/semantics.md#creation-time).
func (tx *txn) nextCreationTime() float64 {
	if tx.creationTime == 0 {
		now := float64(time.Now().UnixNano()) / 1e6
		tx.creationTime = max(now, float64(tx.ts)/1e6)
	}
	ct := tx.creationTime
	tx.creationTime = math.Nextafter(ct, math.Inf(1))
	return ct
}

// Reader is the read access of a transaction: Convex's ctx.db in a query.
// It is only valid inside the function it was given to and is not safe for
// concurrent use.
type Reader struct {
	tx *txn
}

// Get returns the document with the given ID and true, or nil and false
// when it does not exist (including when the ID's table does not exist). An
// ID that does not decode is an error wrapping ErrInvalidID. Inside a
// mutation, Get sees the mutation's own writes. The Doc is the caller's
// own to modify (see [Doc]); [Table.Get] reads into a struct without
// copying a map.
func (r *Reader) Get(id ID) (Doc, bool, error) {
	return r.tx.get(id)
}

// NormalizeID returns s as an ID of table when it is a well-formed ID of
// that table, and false otherwise (also when the table does not exist). It
// does not check that the document exists.
func (r *Reader) NormalizeID(table string, s string) (ID, bool) {
	n, _, err := id.Decode(s)
	if err != nil {
		return "", false
	}
	// A table that is not there is recorded as read; an error (a bad or
	// undeclared table name) is an ID of no table.
	t, err := r.tx.table("normalizeId", table)
	if err != nil || t == nil || t.number != n {
		return "", false
	}
	return ID(s), true
}

// Timestamp returns the commit timestamp of the snapshot the transaction
// reads: the results it sees reflect every commit up to and including it.
func (r *Reader) Timestamp() uint64 { return r.tx.ts }

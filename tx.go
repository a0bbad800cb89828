package livedb

import (
	"context"
	"fmt"
	"math"
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
	ts     uint64 // commit timestamp of the snapshot
	cat    *catalog
	limits *Limits
	reads  readSet
	writes *writeSet // nil in a query
	done   bool

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
// that does not exist gives ok == false and no error, like Convex's get.
func (tx *txn) resolveID(docID ID) (*tableInfo, bool, error) {
	n, _, err := id.Decode(string(docID))
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrInvalidID, err)
	}
	t, ok := tx.cat.byNumber[n]
	return t, ok, nil
}

// docKey returns the by_id key of a document.
func docKey(t *tableInfo, docID string) []byte {
	return value.AppendKey(append([]byte(nil), t.byID.prefix...), docID)
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
func (tx *txn) get(docID ID) (_ Doc, _ bool, err error) {
	defer catchFault(&err, guardFaults())
	if err := tx.checkUsable(); err != nil {
		return nil, false, err
	}
	t, ok, err := tx.resolveID(docID)
	if err != nil {
		return nil, false, &DocumentError{Op: "get", ID: docID, Kind: ErrInvalidID, Err: unwrapKind(err, ErrInvalidID)}
	}
	if !ok {
		return nil, false, nil
	}
	k := docKey(t, string(docID))
	if err := tx.recordRead(k, keySuccessor(k)); err != nil {
		return nil, false, err
	}
	enc, ok, err := tx.loadEncoded(t, string(docID))
	if err != nil || !ok {
		return nil, false, err
	}
	if err := tx.countRead(len(enc)); err != nil {
		return nil, false, err
	}
	m, err := decodeDoc(enc)
	if err != nil {
		return nil, false, err
	}
	return publicDoc(m), true, nil
}

// decodeDoc decodes a stored document and checks its system fields.
func decodeDoc(enc []byte) (map[string]any, error) {
	x, err := value.Decode(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: corrupt document: %w", ErrCorrupt, err)
	}
	m, ok := x.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: corrupt document: not an object", ErrCorrupt)
	}
	if _, ok := m[fieldID].(string); !ok {
		return nil, fmt.Errorf("%w: corrupt document: no string _id", ErrCorrupt)
	}
	if _, ok := m[fieldCreationTime].(float64); !ok {
		return nil, fmt.Errorf("%w: corrupt document %v: no float64 _creationTime", ErrCorrupt, m[fieldID])
	}
	return m, nil
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
// transaction (§3.2).
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
// mutation, Get sees the mutation's own writes.
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
	t, ok := r.tx.cat.tables[table]
	if !ok || t.number != n {
		return "", false
	}
	return ID(s), true
}

// Timestamp returns the commit timestamp of the snapshot the transaction
// reads: the results it sees reflect every commit up to and including it.
func (r *Reader) Timestamp() uint64 { return r.tx.ts }

// Context returns the context the transaction runs under.
func (r *Reader) Context() context.Context { return r.tx.ctx }

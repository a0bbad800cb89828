package livedb

import (
	"errors"
	"fmt"
)

// Errors of opening and closing.
var (
	// ErrClosed is returned by every operation on a DB after Close.
	ErrClosed = errors.New("livedb: database is closed")
	// ErrLocked is returned by Open when another process holds the file.
	ErrLocked = errors.New("livedb: database file is locked by another process")
	// ErrNotLivedb is returned by Open for a file that is not a livedb
	// database, or is corrupted.
	ErrNotLivedb = errors.New("livedb: not a livedb database")
	// ErrSchemaMismatch is returned by Open when stored documents do not
	// match the new schema; see *SchemaMismatchError.
	ErrSchemaMismatch = errors.New("livedb: documents do not match the schema")
)

// Errors of reading and writing documents.
var (
	// ErrNotFound is returned when a write names a document that does not
	// exist (Convex: "Update on nonexistent document ID").
	ErrNotFound = errors.New("livedb: nonexistent document")
	// ErrInvalidID is returned for a string that is not a well-formed ID, or
	// an ID of another table than the one expected.
	ErrInvalidID = errors.New("livedb: invalid document ID")
	// ErrInvalidTable is returned for a table name that is not an
	// identifier or names a system table.
	ErrInvalidTable = errors.New("livedb: invalid table name")
	// ErrInvalidDocument is returned for a document that is not a valid
	// Convex object: a bad field name, a value of an unsupported type, a
	// system field that does not match, or a limit exceeded.
	ErrInvalidDocument = errors.New("livedb: invalid document")
	// ErrSchemaEnforcement is returned when a document does not match its
	// table's validator; the wrapped *v.ValidationError has the path.
	ErrSchemaEnforcement = errors.New("livedb: document does not match the schema")
	// ErrReadOnly is returned for a write attempted inside a query.
	ErrReadOnly = errors.New("livedb: write in a read-only transaction")
	// ErrTxDone is returned when a transaction context is used after its
	// function returned.
	ErrTxDone = errors.New("livedb: transaction has already ended")
)

// Errors of transactions.
var (
	// ErrConflict is returned when a mutation kept conflicting with
	// concurrent commits on every retry; see *ConflictError.
	ErrConflict = errors.New("livedb: optimistic concurrency control failure")
	// ErrLimit is returned when a transaction exceeds one of its limits;
	// see *LimitError.
	ErrLimit = errors.New("livedb: transaction limit exceeded")
	// ErrStorageFailed is returned when a storage commit failed in a way
	// that leaves its outcome unknown (an I/O or fsync error: the commit
	// may or may not be on disk), and from then on by every write of the
	// DB (Mutation, MutationTS, Import, the creation of a table): the DB
	// fails closed. The error also wraps the storage error. Queries,
	// subscriptions and the change feed keep working on what the storage
	// holds, which may or may not include the commit in doubt; Close and
	// Open again to recover the state that reached the disk.
	ErrStorageFailed = errors.New("livedb: storage commit failed")
)

// ConflictError says which write made a mutation fail after its retries.
// It wraps ErrConflict.
type ConflictError struct {
	Table   string // table of the document that changed
	ID      ID     // the document that changed
	Retries int    // how many times the mutation was re-run
}

// Error describes the failure.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("livedb: documents read from or written to the %q table changed while this mutation was being run and on every subsequent retry (%d); another mutation changed the document with ID %q", e.Table, e.Retries, e.ID)
}

// Unwrap returns ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// LimitError says which transaction limit was exceeded. It wraps ErrLimit.
type LimitError struct {
	Limit string // e.g. "documents read"
	Max   int64
}

// Error describes the failure.
func (e *LimitError) Error() string {
	hint := ""
	switch e.Limit {
	case "documents read", "bytes read", "read intervals":
		hint = ". Consider using smaller limits in your queries, paginating your queries, or using indexed queries with a selective index range expression"
	case "documents written", "bytes written":
		hint = ". Consider splitting the work into several mutations"
	}
	return fmt.Sprintf("livedb: too many %s in a single transaction (limit: %d)%s", e.Limit, e.Max, hint)
}

// Unwrap returns ErrLimit.
func (e *LimitError) Unwrap() error { return ErrLimit }

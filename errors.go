package livedb

import (
	"errors"
	"fmt"
	"strings"
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
	// ErrUndeclaredTable is returned for a read or write of a table that
	// the schema does not declare, unless the database was opened with
	// Options.AllowUndeclaredTables (or without a schema); the error names
	// the declared tables and the nearest one.
	ErrUndeclaredTable = errors.New("livedb: table not declared in the schema")
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
	// concurrent commits until Options.MaxRetries or its context ended
	// its retries; see *ConflictError.
	ErrConflict = errors.New("livedb: optimistic concurrency control failure")
	// ErrLimit is returned when a transaction exceeds one of its limits;
	// see *LimitError.
	ErrLimit = errors.New("livedb: transaction limit exceeded")
)

// ConflictError says what kept changing under a mutation that ran out of
// attempts: a commit of another mutation wrote inside what it read. It is
// returned only when Options.MaxRetries limits the attempts, or when the
// mutation's context ended while it retried (Cause is then the context's
// error). It wraps ErrConflict and Cause.
type ConflictError struct {
	Table   string // the table written
	Index   string // the index whose range was read and written; "" for a table's existence
	Range   string // that range, with the values of its bounds
	ID      ID     // the document written; "" when a table was created
	Retries int    // how many times the mutation was re-run
	Cause   error  // the context's error when it ended the retries; nil otherwise
}

// Error describes the failure.
func (e *ConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "livedb: conflict after %d attempts: ", e.Retries+1)
	switch {
	case e.Index == "":
		fmt.Fprintf(&b, "another mutation created or renumbered table %q, which this one read or wrote", e.Table)
	default:
		fmt.Fprintf(&b, "another mutation wrote document %q of table %q inside the range of index %s.%s that this one read, %s", e.ID, e.Table, e.Table, e.Index, e.Range)
	}
	if e.Cause != nil {
		fmt.Fprintf(&b, "; retries ended: %v", e.Cause)
	}
	return b.String()
}

// Unwrap returns ErrConflict, and Cause when it is set.
func (e *ConflictError) Unwrap() []error {
	if e.Cause == nil {
		return []error{ErrConflict}
	}
	return []error{ErrConflict, e.Cause}
}

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

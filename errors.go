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
	// ErrNotLivedb is returned by Open for a file it cannot use as a
	// livedb database: not a bbolt file, a bbolt file without a livedb
	// catalog, a catalog of another format version, or a file whose pages
	// are damaged where Open reads them (then it wraps ErrCorrupt too).
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
	// identifier, and for a write to a system table (a name that starts
	// with "_"), which only livedb's scheduler, crons and work pools write.
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
	// ErrInvalidVector is returned for a vector a vector index cannot hold
	// or be searched with: not an array of Float64, the wrong number of
	// dimensions, or a component that is not a finite float32.
	ErrInvalidVector = errors.New("livedb: invalid vector")
	// ErrReadOnly is returned for a write attempted inside a query.
	ErrReadOnly = errors.New("livedb: write in a read-only transaction")
	// ErrTxDone is returned when a transaction context is used after its
	// function returned.
	ErrTxDone = errors.New("livedb: transaction has already ended")
	// ErrUniqueViolation is returned when a write would give two documents
	// the same values of a unique index's fields; see *UniqueError.
	ErrUniqueViolation = errors.New("livedb: unique index violated")
)

// Errors of the stored data.
var (
	// ErrCorrupt is returned when stored data is damaged: by Check, for
	// every disagreement between an index and the documents (the error
	// lists them); by a read that meets a document whose bytes do not
	// decode or whose _id is not its key's; and by Open, wrapped with
	// ErrNotLivedb, when a page it reads is damaged. Nothing is repaired.
	ErrCorrupt = errors.New("livedb: database is inconsistent")
	// ErrChangesPruned is returned by a change feed asked to start before
	// the oldest change the retention kept: some changes after that point
	// are gone, and the feed never skips them silently.
	ErrChangesPruned = errors.New("livedb: changes before this timestamp were pruned by the retention")
)

// Errors of schemas.
var (
	// ErrInvalidSchema is wrapped by every error that reports a mistake in a
	// schema definition, whether found by [DefineSchema] (and returned by
	// [Schema.Err]) or by [SchemaFromJSON]. The error is a *[SchemaError].
	ErrInvalidSchema = errors.New("livedb: invalid schema")
)

// Errors of queries.
var (
	// ErrIndexNotFound is returned by a query on an index (or a table) that
	// does not exist (Convex's IndexNotFoundError).
	ErrIndexNotFound = errors.New("livedb: index not found")
	// ErrInvalidQuery is returned for a query used wrongly: run twice, order
	// set twice, a negative Take, bad pagination options, Unique on more
	// than one match, bad search or vector search arguments, and (wrapped
	// by *IndexRangeError) an index range that breaks the grammar of
	// WithIndex.
	ErrInvalidQuery = errors.New("livedb: invalid query")
	// ErrInvalidCursor is returned by Paginate for a cursor that another
	// query produced, or that was altered (Convex's InvalidCursor).
	ErrInvalidCursor = errors.New("livedb: invalid cursor")
)

// Errors of functions.
var (
	// ErrInternalFunction is returned when a public entry point (such as
	// [Registry.CallPublic]) is asked to run an internal function.
	ErrInternalFunction = errors.New("livedb: internal function cannot be called publicly")
	// ErrUnknownFunction is returned by a Registry for a name it lacks.
	ErrUnknownFunction = errors.New("livedb: unknown function")
	// ErrWrongFunctionKind is returned when a Registry is asked to run a
	// query as a mutation or a mutation as a query (see [FunctionInfo].Mutation).
	ErrWrongFunctionKind = errors.New("livedb: function is of another kind")
	// ErrInvalidFunction is returned for a function definition that
	// cannot be run: no handler, or an args validator that is neither an
	// object nor any.
	ErrInvalidFunction = errors.New("livedb: invalid function definition")
)

// Errors of the scheduler, crons and work pools.
var (
	// ErrInvalidSchedule is returned for work that cannot be scheduled as
	// asked: a negative delay, a time more than five years from now, an
	// empty function name, a cron spec that does not parse, a job
	// registered twice, a scheduled function that cancels itself, or a
	// second Runner on one DB.
	ErrInvalidSchedule = errors.New("livedb: invalid schedule")
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
	// ErrStorageFailed is returned when a storage commit failed in a way
	// that leaves its outcome unknown (an I/O or fsync error: the commit
	// may or may not be on disk), and from then on by every write of the
	// DB (Mutation, MutationTS, snapshot.Import, the creation of a table): the DB
	// fails closed. The error also wraps the storage error. Queries,
	// subscriptions and the change feed keep working on what the storage
	// holds, which may or may not include the commit in doubt; Close and
	// Open again to recover the state that reached the disk.
	ErrStorageFailed = errors.New("livedb: storage commit failed")
	// ErrUnavailable is returned by the writes of a shared database
	// (OpenShared) when its PostgreSQL server cannot be reached: nothing
	// was written, and the write may be retried. Reads go on on the
	// process's copy, which catches up by itself once the server is back.
	ErrUnavailable = errors.New("livedb: shared database unavailable")
	// ErrOutcomeUnknown is returned by a write of a shared database whose
	// connection broke while PostgreSQL committed it: it may or may not
	// have committed. If it did, the process applies it like any other
	// commit once the server is back (CatchUp waits for that); do not
	// retry a write that is not idempotent without checking. It does not
	// wrap ErrUnavailable, which means that nothing was written.
	ErrOutcomeUnknown = errors.New("livedb: outcome of the commit unknown")
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

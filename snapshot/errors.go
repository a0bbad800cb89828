package snapshot

import (
	"errors"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/engine"
)

// Errors of import (see [ImportError] for where). They were livedb's
// ErrImportFormat, ErrTableNotEmpty, ErrTableNumber and ErrDuplicateID;
// the import's own sentinel lost the stutter (snapshot.ErrFormat), the
// others kept their names, which say what conflicts. Their texts are
// unchanged, "livedb: " prefix included.
var (
	// ErrFormat is returned by Import, ImportTable and ReadSchema for input
	// that is not in the expected format: not a ZIP, a line that is not
	// JSON, a value that is not a Convex value, a document that is not an
	// object, two tables with one table number.
	ErrFormat = engine.ErrImportFormat
	// ErrTableNotEmpty is returned in RequireEmpty mode for a table that
	// already has documents.
	ErrTableNotEmpty = engine.ErrTableNotEmpty
	// ErrTableNumber is returned by an import that gives a table the
	// number another table of the database has, or by an append that would
	// keep documents whose IDs carry another number. The engine also
	// returns it when it creates a system table (the scheduler's, at
	// livedb.DB.StartScheduler or a first scheduled function; a work
	// pool's, at a first enqueue) whose number a table that an import
	// numbered holds.
	ErrTableNumber = engine.ErrTableNumber
	// ErrDuplicateID is returned for an _id that appears twice in an
	// import, or that an append finds already in the table.
	ErrDuplicateID = engine.ErrDuplicateID
)

// ImportError describes why an import failed and where: the file (a ZIP
// entry such as "workflows/documents.jsonl"; "" for ImportTable, whose
// errors name the table), the line, the document's _id and the path of
// the offending field inside it. Nothing was written. It wraps Kind and
// Err for errors.Is and errors.As (Err is often a *v.ValidationError).
type ImportError struct {
	File  string    // "" when the error is not about a file
	Line  int       // 1-based line of the document; 0 when not about a line
	Table string    // "" when not about a table
	ID    livedb.ID // the document's _id, when known
	Path  string    // Convex-style path of the offending field, such as ".status"; "" when unknown
	// Kind is ErrFormat, ErrTableNotEmpty, ErrTableNumber, ErrDuplicateID,
	// or livedb's ErrSchemaEnforcement, ErrInvalidDocument, ErrInvalidID,
	// ErrInvalidTable, ErrUndeclaredTable.
	Kind error
	Err  error // the cause
}

// Error returns "livedb: import <file>:<line> (_id "..."): <kind>: <cause>",
// or "livedb: import into table "<table>" line <line> ..." when the error
// is not about a file.
func (e *ImportError) Error() string {
	return engine.FormatImportError(e.File, e.Line, e.Table, string(e.ID), e.Kind, e.Err)
}

// Unwrap returns the kind and the cause.
func (e *ImportError) Unwrap() []error { return engine.UnwrapImportError(e.Kind, e.Err) }

// fromEngine returns err with the engine's *engine.ImportError (which the
// engine returns unwrapped) as an *ImportError; other errors are returned
// as they are.
func fromEngine(err error) error {
	var ie *engine.ImportError
	if !errors.As(err, &ie) {
		return err
	}
	return &ImportError{File: ie.File, Line: ie.Line, Table: ie.Table, ID: livedb.ID(ie.ID), Path: ie.Path, Kind: ie.Kind, Err: ie.Err}
}

package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/livedb-go/livedb/internal/snapfile"
)

// The engine's part of export and import, for package snapshot: an import
// writes documents with the _id, _creationTime and table numbers they
// carry, in one commit, which no user mutation can; an export reads every
// table at one snapshot without the per-transaction read limits. Package
// snapshot owns the rest (options, the ZIP layout, which tables, the
// public errors) and reaches these through [Snapshot], which package
// livedb sets at init (snapshot_bridge.go).

// SnapshotHooks are the engine's functions that package snapshot calls. In
// each, db is a *livedb.DB.
type SnapshotHooks struct {
	// Progress returns the progress callback of a long operation: f (a
	// func(livedb.Progress), or nil) when it is not nil, else db's
	// Options.Progress; nil when neither is set.
	Progress func(db any, f any) any
	// CheckTableName returns the error of creating a table called name
	// (not an identifier, or a system table's "_" prefix), or nil.
	CheckTableName func(name string) error
	// Import validates every document of job against db's schema and
	// catalog and writes them, with the catalog change, as one commit,
	// retrying on conflicts like a mutation. Nothing is written when it
	// fails. A problem with the input is returned as an *ImportError,
	// never wrapped; other errors (ErrClosed, ErrReadOnly, a cancelled
	// ctx, a storage error) are returned as they are.
	Import func(ctx context.Context, db any, job *ImportJob) error
	// BeginExport opens a view of db at one snapshot. The caller ends it.
	BeginExport func(ctx context.Context, db any) (ExportView, error)
}

// Snapshot holds the engine's hooks for export and import. Package livedb
// sets it in an init function; it is not changed afterwards.
var Snapshot SnapshotHooks

// ImportMode says what an import does with a table that already holds
// documents (package snapshot's Mode, with the same values).
type ImportMode int

// The import modes.
const (
	ImportRequireEmpty ImportMode = iota
	ImportReplace
	ImportAppend
)

// ImportJob is one import as the engine runs it.
type ImportJob struct {
	Mode ImportMode
	// Tables are written in this order.
	Tables []*ImportTable
	// Progress, when not nil, is the func(livedb.Progress) that the engine
	// calls with Op "import" as documents are read and checked.
	Progress any
}

// ImportTable is one table of an import.
type ImportTable struct {
	Name string
	// File is the file its documents come from, for messages ("" for a
	// single-table import, whose errors name the table).
	File string
	// Number is the table number its documents' IDs carry, or 0 when the
	// input does not say; the engine then keeps the table's number or
	// gives it a fresh one.
	Number uint32
	// Src yields the documents. The engine reads it once; the caller
	// closes it.
	Src snapfile.Source
}

// Errors of import, shared by the engine that returns them and package
// snapshot that exports them under the same names without the prefix
// (snapshot.ErrFormat, ...).
var (
	ErrImportFormat  = errors.New("livedb: malformed import")
	ErrTableNotEmpty = errors.New("livedb: table is not empty")
	ErrTableNumber   = errors.New("livedb: table number conflict")
	ErrDuplicateID   = errors.New("livedb: duplicate _id")
)

// ImportError is the engine's form of package snapshot's ImportError, with
// the same fields (ID is a livedb.ID there) and the same text; package
// snapshot converts one to the other at its boundary.
type ImportError struct {
	File  string
	Line  int
	Table string
	ID    string
	Path  string
	Kind  error
	Err   error
}

// Error returns "livedb: import <file>:<line> (_id "..."): <kind>: <cause>".
func (e *ImportError) Error() string {
	return FormatImportError(e.File, e.Line, e.Table, e.ID, e.Kind, e.Err)
}

// Unwrap returns the kind and the cause.
func (e *ImportError) Unwrap() []error { return UnwrapImportError(e.Kind, e.Err) }

// FormatImportError returns the text of an import error: "livedb: import",
// where (the file and line, else the table and line), the document's _id,
// the kind without its "livedb: " prefix, and the cause.
func FormatImportError(file string, line int, table, id string, kind, err error) string {
	var b strings.Builder
	b.WriteString("livedb: import")
	switch {
	case file != "":
		b.WriteString(" " + file)
		if line > 0 {
			b.WriteString(":" + strconv.Itoa(line))
		}
	case table != "":
		fmt.Fprintf(&b, " into table %q", table)
		if line > 0 {
			b.WriteString(" line " + strconv.Itoa(line))
		}
	}
	if id != "" {
		fmt.Fprintf(&b, " (_id %q)", id)
	}
	if kind != nil {
		b.WriteString(": " + strings.TrimPrefix(kind.Error(), "livedb: "))
	}
	if err != nil {
		b.WriteString(": " + err.Error())
	}
	return b.String()
}

// UnwrapImportError returns kind and err, leaving out the nil ones.
func UnwrapImportError(kind, err error) []error {
	var out []error
	for _, e := range []error{kind, err} {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// ExportView is one snapshot of a database read without the
// per-transaction limits. It is used by one goroutine, and ended once.
type ExportView interface {
	// Timestamp returns the commit timestamp of the snapshot.
	Timestamp() uint64
	// Schema returns the *livedb.Schema the snapshot's catalog was opened
	// with, or nil (an untyped nil).
	Schema() any
	// Tables returns the snapshot's tables, system tables included, by
	// table number.
	Tables() []ExportTable
	// Count returns the number of documents of table t.
	Count(ctx context.Context, t ExportTable) (int64, error)
	// ForEach calls fn with every document of table t in _id order. The
	// document is fn's to keep. An error of fn ends the walk and is
	// returned.
	ForEach(ctx context.Context, t ExportTable, fn func(doc map[string]any) error) error
	// End releases the snapshot.
	End()
}

// ExportTable is a table as an export sees it.
type ExportTable struct {
	Name   string
	Number uint32
	// Handle is the engine's own description of the table, for Count and
	// ForEach.
	Handle any
}

// Package snapfile reads and writes the file formats of livedb's export and
// import: the ZIP of a Convex snapshot export, with livedb's additions, and
// the JSONL and JSON arrays of documents that a single-table import reads.
// It owns files, entries and lines; it knows nothing of databases. The
// public package snapshot decides what to export and what to import, and
// the engine (package livedb) checks and commits what is imported. It is
// not named snapshot so that the public package can import it without a
// rename.
//
// The ZIP layout, as [Writer] writes it and [ReadZip] reads it:
//
//	README.md                       what the ZIP is (ReadZip ignores it)
//	_tables/documents.jsonl         {"name":"<table>","id":<number>} per table
//	_livedb/schema.json             livedb's schema, in Convex's schema.export() JSON
//	<table>/generated_schema.jsonl  "uniform": the documents are in export JSON
//	<table>/documents.jsonl         one document per line
//
// As in Convex, a table's files may sit under a common prefix
// ("snapshot/users/documents.jsonl").
//
// Errors about the input are *[Error]s naming the file and line.
package snapfile

import "strconv"

// The entries of a snapshot ZIP.
const (
	// TablesFile lists the tables with their numbers.
	TablesFile = "_tables/documents.jsonl"
	// SchemaFile holds livedb's schema; Convex's import ignores it.
	SchemaFile = "_livedb/schema.json"
	// ReadmeFile says what the ZIP is.
	ReadmeFile = "README.md"
	// DocumentsFile is the base name of a table's documents.
	DocumentsFile = "documents.jsonl"
	// GeneratedSchemaFile is the base name of the file that says how a
	// table's documents are written.
	GeneratedSchemaFile = "generated_schema.jsonl"
	// Uniform is the only generated schema read and written: the documents
	// are in export JSON (docs/semantics.md#export-format).
	Uniform = "uniform"
)

// Readme is the README.md of an export.
const Readme = `# livedb snapshot export

This ZIP file holds a snapshot of the tables of a livedb database, taken at
one commit, in the layout of a Convex snapshot export:

- _tables/documents.jsonl lists each table with its table number.
- <table>/documents.jsonl holds the table's documents, one JSON object per
  line, in _id order. Int64 values are bare integers, Float64 values always
  have a '.' or an exponent, and NaN, Infinity and bytes use {"$float": ...}
  and {"$bytes": ...}.
- <table>/generated_schema.jsonl says "uniform": the documents use that
  format throughout.
- _livedb/schema.json, when present, is the database's schema in the JSON
  of Convex's schema.export(). Convex's import ignores it; "livedb import"
  uses it to create a new database.

Load it with "livedb import", snapshot.Import in Go, or "npx convex import".
`

// Error reports input that is not in the expected format: where (File,
// Line, Table, as far as they are known) and why (Err).
type Error struct {
	File  string // the ZIP entry or the name of the input; "" when not about a file
	Line  int    // 1-based; 0 when not about a line
	Table string // "" when not about a table
	Err   error
}

// Error returns "<file>:<line>: <cause>".
func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	if s == "" {
		return e.Err.Error()
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

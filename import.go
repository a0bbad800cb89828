package livedb

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/internal/snapshot"
	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/v"
)

// ImportMode says what an import does with a table that already holds
// documents. The zero value is Convex's default, ImportRequireEmpty.
type ImportMode int

// The import modes, as in `npx convex import` (--replace, --append).
const (
	// ImportRequireEmpty fails with ErrTableNotEmpty when a table of the
	// import already has documents.
	ImportRequireEmpty ImportMode = iota
	// ImportReplace deletes the table's documents and writes the imported
	// ones, in the same commit. The table takes the table number of the
	// import, so that the imported IDs stay valid.
	ImportReplace
	// ImportAppend adds the imported documents to the table's; an imported
	// _id that already exists is an error (ErrDuplicateID).
	ImportAppend
)

// String returns "require-empty", "replace" or "append".
func (m ImportMode) String() string {
	switch m {
	case ImportRequireEmpty:
		return "require-empty"
	case ImportReplace:
		return "replace"
	case ImportAppend:
		return "append"
	}
	return "ImportMode(" + strconv.Itoa(int(m)) + ")"
}

// ImportFormat is the format of a single-table import ([DB.ImportTable]).
// The zero value is ImportJSONL.
type ImportFormat int

// The single-table formats. JSONL and JSON arrays hold Convex-JSON, as
// `npx convex import --table` reads them: every plain JSON number is a
// float64 and an int64 must be written {"$integer": ...}.
const (
	// ImportJSONL is one Convex-JSON object per line.
	ImportJSONL ImportFormat = iota
	// ImportJSONArray is one JSON array of Convex-JSON objects.
	ImportJSONArray
	// ImportExportJSONL is one object per line in the export JSON of a
	// snapshot's <table>/documents.jsonl ("uniform"): a number without '.'
	// or exponent is an int64. It reads back a table file of [DB.Export]
	// exactly.
	ImportExportJSONL
)

// String returns "jsonl", "json" or "export-jsonl".
func (f ImportFormat) String() string {
	switch f {
	case ImportJSONL:
		return "jsonl"
	case ImportJSONArray:
		return "json"
	case ImportExportJSONL:
		return "export-jsonl"
	}
	return "ImportFormat(" + strconv.Itoa(int(f)) + ")"
}

// ImportOptions configures [DB.Import] and [DB.ImportTable]. A nil
// *ImportOptions means ImportRequireEmpty, ImportJSONL and the DB's
// Options.Progress.
type ImportOptions struct {
	// Mode says what happens to the documents a table already has.
	Mode ImportMode
	// Format is the format of ImportTable's input. Import reads a ZIP and
	// ignores it.
	Format ImportFormat
	// Progress, when set, is called with Op "import" as documents are read
	// and checked, instead of Options.Progress. It must not call back into
	// the DB.
	Progress func(Progress)
}

// Errors of import. An *ImportError wraps one of them, or one of
// ErrSchemaEnforcement, ErrInvalidDocument and ErrInvalidID.
// ImportError describes why an import failed and where: the file (a ZIP
// entry such as "workflows/documents.jsonl", or the name given to
// ImportTable), the line, the document's _id and the path of the offending
// field inside it. Nothing was written. It wraps Kind and Err for
// errors.Is and errors.As (Err is often a *v.ValidationError).
type ImportError struct {
	File  string // "" when the error is not about a file
	Line  int    // 1-based line of the document; 0 when not about a line
	Table string
	ID    ID     // the document's _id, when known
	Path  string // Convex-style path of the offending field, such as ".status"; "" when unknown
	Kind  error  // ErrImportFormat, ErrSchemaEnforcement, ErrInvalidDocument, ErrInvalidID, ...
	Err   error  // the cause
}

// Error returns "livedb: import <file>:<line> (_id "..."): <kind>: <cause>".
func (e *ImportError) Error() string {
	var b strings.Builder
	b.WriteString("livedb: import")
	switch {
	case e.File != "":
		b.WriteString(" " + e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
	case e.Table != "":
		fmt.Fprintf(&b, " into table %q", e.Table)
		if e.Line > 0 {
			b.WriteString(" line " + strconv.Itoa(e.Line))
		}
	}
	if e.ID != "" {
		fmt.Fprintf(&b, " (_id %q)", string(e.ID))
	}
	if e.Kind != nil {
		b.WriteString(": " + strings.TrimPrefix(e.Kind.Error(), "livedb: "))
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the kind and the cause.
func (e *ImportError) Unwrap() []error {
	var out []error
	for _, err := range []error{e.Kind, e.Err} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// errorPath finds the field path an error names, or "".
func errorPath(err error) string {
	var ve *v.ValidationError
	var je *convexjson.Error
	var le *value.LimitError
	var ne *value.NameError
	var nv *value.NotValueError
	var fe *importFieldError
	switch {
	case errors.As(err, &fe):
		return fe.path
	case errors.As(err, &ve):
		return ve.Path
	case errors.As(err, &je):
		return je.Path
	case errors.As(err, &ne):
		return ne.Path
	case errors.As(err, &le):
		return le.Path
	case errors.As(err, &nv):
		return nv.Path
	}
	return ""
}

// Import reads a snapshot ZIP in Convex's layout (as [DB.Export] and
// Convex's `npx convex export` write it) and writes its tables in one
// atomic commit:
//
//   - _tables/documents.jsonl gives each table its number, and the
//     documents keep their _id and _creationTime, so IDs stay valid and
//     references between tables still resolve. A document without them
//     gets new ones. A table number that another table of this database
//     has is an error (ErrTableNumber).
//   - <table>/documents.jsonl holds the documents, one per line, in export
//     JSON when <table>/generated_schema.jsonl says "uniform", else in
//     Convex-JSON (as Convex reads a file without it). An inferred shape
//     of older Convex exports is not supported.
//   - A table's files may sit under a common prefix (a top directory), as
//     Convex accepts. _storage (file storage) and other system tables are
//     skipped with a log message; _components is refused. Other files
//     (README.md, _livedb/schema.json) are ignored: the database keeps its
//     schema (see [ExportedSchema] to create a database with the exported
//     one).
//
// Every document is checked against its table's validator (when the
// schema validates) and the document limits before anything is written;
// the first failure is returned as an *ImportError naming the file, line
// and field path, and nothing is written. The import is not a mutation:
// the per-transaction write limits do not apply, but every document holds
// memory until the commit. Tables keep their indexes, and the commit feeds
// the change feed and subscriptions like any other.
//
// The import is one commit: its new tables, renumbered tables and
// documents become visible together, or not at all. Mutations may run
// meanwhile: a write to an imported table that commits before the import
// makes the import start its commit again (a replace then deletes that
// document too), and a mutation that wrote to a table the import
// renumbered is re-run on the new catalog.
//
// size is the ZIP's length; r may be an *os.File.
func (db *DB) Import(ctx context.Context, r io.ReaderAt, size int64, opts *ImportOptions) error {
	var o ImportOptions
	if opts != nil {
		o = *opts
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return &ImportError{Kind: ErrImportFormat, Err: fmt.Errorf("not a ZIP file: %w", err)}
	}
	job := &importJob{mode: o.Mode, report: db.progressFunc(o.Progress), hasProgress: o.Progress != nil}
	tables, err := db.zipTables(zr, job)
	defer func() {
		for _, it := range tables {
			it.src.Close()
		}
	}()
	if err != nil {
		return err
	}
	job.tables = tables
	return db.runImport(ctx, job)
}

// progressFunc returns the progress callback to use: f, else the DB's.
func (db *DB) progressFunc(f func(Progress)) func(Progress) {
	if f == nil {
		f = db.opts.Progress
	}
	if f == nil {
		f = func(Progress) {}
	}
	return f
}

// zipTables reads the layout of a snapshot ZIP and returns its tables in
// table-number order (the tables without a number last, by name), each
// with a document source. System tables are skipped, with a log line when
// they hold something.
func (db *DB) zipTables(zr *zip.Reader, job *importJob) ([]*importTable, error) {
	zts, err := snapshot.ReadZip(zr)
	if err != nil {
		return nil, importFormatError(err)
	}
	var tables []*importTable
	for _, zt := range zts {
		if strings.HasPrefix(zt.Name, "_") {
			if zt.Docs.UncompressedSize64 > 0 {
				db.opts.Logger.Info("livedb: import: skipping system table (livedb has no file storage or system tables)", slog.String("table", zt.Name))
			}
			continue
		}
		if err := checkTableName(zt.Name); err != nil {
			return tables, &ImportError{File: zt.Docs.Name, Table: zt.Name, Kind: ErrInvalidTable, Err: err}
		}
		src, err := zt.Source()
		if err != nil {
			return tables, importFormatError(err)
		}
		src.Reopenable = db.opts.Progress != nil || job.hasProgress // Total counts the lines first
		it := &importTable{name: zt.Name, file: zt.Docs.Name, number: zt.Number, src: src}
		tables = append(tables, it)
		if it.number == 0 {
			it.number = src.PeekTableNumber()
		}
	}
	// Numbered tables first, by number; the others by name.
	slices.SortStableFunc(tables, func(a, b *importTable) int {
		switch {
		case a.number == 0 && b.number != 0:
			return 1
		case a.number != 0 && b.number == 0:
			return -1
		}
		return cmpUint32(a.number, b.number)
	})
	return tables, nil
}

// importFormatError returns err, an error of package snapshot, as an
// *ImportError of kind ErrImportFormat with the same coordinates.
func importFormatError(err error) error {
	var se *snapshot.Error
	if !errors.As(err, &se) {
		return &ImportError{Kind: ErrImportFormat, Err: err}
	}
	return &ImportError{File: se.File, Line: se.Line, Table: se.Table, Kind: ErrImportFormat, Err: se.Err}
}

// ImportTable imports documents into one table from r, as `npx convex
// import --table` does: opts.Format says whether r holds JSONL (the
// default), a JSON array or export JSONL, and opts.Mode whether the
// table's documents are replaced, appended to, or must not exist (the
// default). Documents keep their _id and _creationTime when they have
// them; the table takes the table number of the first document's _id when
// it is created or replaced. Like [DB.Import], it is atomic, and a bad
// document is reported as an *ImportError with its line and field path
// (for a JSON array, the line where the element starts). r is read as a
// stream, once. opts may be nil.
func (db *DB) ImportTable(ctx context.Context, table string, r io.Reader, opts *ImportOptions) error {
	var o ImportOptions
	if opts != nil {
		o = *opts
	}
	if err := checkTableName(table); err != nil {
		return &ImportError{Table: table, Kind: ErrInvalidTable, Err: err}
	}
	var src snapshot.Source
	switch format := o.Format; format {
	case ImportJSONL:
		src = snapshot.NewStreamSource(table, r, convexjson.Decode)
	case ImportExportJSONL:
		src = snapshot.NewStreamSource(table, r, convexjson.DecodeExport)
	case ImportJSONArray:
		as, err := snapshot.NewArraySource(r)
		if err != nil {
			_, line, _ := as.Next()
			return &ImportError{Table: table, Line: line, Kind: ErrImportFormat, Err: err}
		}
		src = as
	default:
		return fmt.Errorf("livedb: import into table %q: unknown format %v", table, format)
	}
	defer src.Close()
	it := &importTable{name: table, src: src, number: src.PeekTableNumber()}
	job := &importJob{mode: o.Mode, tables: []*importTable{it}, report: db.progressFunc(o.Progress), hasProgress: o.Progress != nil}
	return db.runImport(ctx, job)
}

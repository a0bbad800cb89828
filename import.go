package livedb

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/livedb-go/livedb/internal/convexjson"
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
			it.src.close()
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

// zipTable collects the files of one table directory of a snapshot ZIP.
type zipTable struct {
	docs, schema *zip.File
}

const (
	zipTablesFile    = "_tables/documents.jsonl"
	zipDocumentsFile = "documents.jsonl"
	zipSchemaFile    = "generated_schema.jsonl"
	zipUniform       = "uniform"
)

// zipTables reads the layout of a snapshot ZIP and returns its tables in
// table-number order, each with a document source.
func (db *DB) zipTables(zr *zip.Reader, job *importJob) ([]*importTable, error) {
	// As Convex does, a table's files may sit under any prefix
	// ("snapshot/users/documents.jsonl"); other files are ignored.
	dirs := map[string]*zipTable{}
	var tablesFile *zip.File
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		dir, base := path.Split(f.Name)
		prefix, table := path.Split(strings.TrimSuffix(dir, "/"))
		if table == "" || base != zipDocumentsFile && base != zipSchemaFile {
			continue // README.md, _livedb/schema.json, _storage/<id> files
		}
		if strings.Contains("/"+prefix, "/_components/") {
			return nil, &ImportError{File: f.Name, Kind: ErrImportFormat, Err: errors.New("components are not supported")}
		}
		if table == "_tables" && base == zipDocumentsFile {
			tablesFile = f
			continue
		}
		zt := dirs[table]
		if zt == nil {
			zt = &zipTable{}
			dirs[table] = zt
		}
		if base == zipDocumentsFile {
			if zt.docs != nil {
				return nil, &ImportError{File: f.Name, Table: table, Kind: ErrImportFormat, Err: fmt.Errorf("table %q appears twice (also in %s)", table, zt.docs.Name)}
			}
			zt.docs = f
		} else {
			zt.schema = f
		}
	}
	numbers, err := readZipTableNumbers(tablesFile)
	if err != nil {
		return nil, err
	}
	var tables []*importTable
	for dir, zt := range dirs {
		if zt.docs == nil {
			continue
		}
		if strings.HasPrefix(dir, "_") {
			if zt.docs.UncompressedSize64 > 0 {
				db.opts.Logger.Info("livedb: import: skipping system table (livedb has no file storage or system tables)", slog.String("table", dir))
			}
			continue
		}
		if err := checkTableName(dir); err != nil {
			return tables, &ImportError{File: zt.docs.Name, Table: dir, Kind: ErrInvalidTable, Err: err}
		}
		decode, err := zipDecoder(zt.schema)
		if err != nil {
			return tables, err
		}
		src := newLineSource(zt.docs.Name, zipOpener(zt.docs), decode)
		src.counts = db.opts.Progress != nil || job.hasProgress
		it := &importTable{name: dir, file: zt.docs.Name, number: numbers[dir], src: src}
		tables = append(tables, it)
		if it.number == 0 {
			it.number = src.peekTableNumber()
		}
	}
	// Numbered tables first, by number; the others by name.
	slices.SortFunc(tables, func(a, b *importTable) int {
		switch {
		case a.number == 0 && b.number != 0:
			return 1
		case a.number != 0 && b.number == 0:
			return -1
		case a.number != b.number:
			return cmpUint32(a.number, b.number)
		}
		return strings.Compare(a.name, b.name)
	})
	return tables, nil
}

// readZipTableNumbers reads _tables/documents.jsonl: {"name":..,"id":..}
// per line. A ZIP without it gives no numbers.
func readZipTableNumbers(f *zip.File) (map[string]uint32, error) {
	numbers := map[string]uint32{}
	if f == nil {
		return numbers, nil
	}
	src := newLineSource(f.Name, zipOpener(f), nil)
	defer src.close()
	for {
		raw, line, err := src.next()
		if err != nil {
			return nil, &ImportError{File: f.Name, Line: line, Kind: ErrImportFormat, Err: err}
		}
		if raw == nil {
			return numbers, nil
		}
		var e struct {
			Name *string `json:"name"`
			ID   *uint32 `json:"id"`
		}
		if err := json.Unmarshal(raw, &e); err != nil || e.Name == nil || e.ID == nil || *e.ID == 0 {
			if err == nil {
				err = errors.New(`want {"name": <table>, "id": <table number>}`)
			}
			return nil, &ImportError{File: f.Name, Line: line, Kind: ErrImportFormat, Err: err}
		}
		numbers[*e.Name] = *e.ID
	}
}

// zipDecoder returns the value decoder that a table's
// generated_schema.jsonl calls for.
func zipDecoder(f *zip.File) (func([]byte) (any, error), error) {
	if f == nil {
		return convexjson.Decode, nil
	}
	src := newLineSource(f.Name, zipOpener(f), nil)
	defer src.close()
	raw, line, err := src.next()
	if err != nil {
		return nil, &ImportError{File: f.Name, Line: line, Kind: ErrImportFormat, Err: err}
	}
	var shape string
	if raw != nil {
		if err := json.Unmarshal(raw, &shape); err != nil {
			return nil, &ImportError{File: f.Name, Line: line, Kind: ErrImportFormat, Err: fmt.Errorf("want a JSON string: %w", err)}
		}
	}
	if shape != zipUniform {
		return nil, &ImportError{File: f.Name, Line: line, Kind: ErrImportFormat,
			Err: fmt.Errorf("the generated schema is %q: only %q is supported (an inferred shape from an older Convex export is not; export again with a current Convex)", shape, zipUniform)}
	}
	return convexjson.DecodeExport, nil
}

func zipOpener(f *zip.File) func() (io.ReadCloser, error) {
	return f.Open
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
	var src importSource
	switch format := o.Format; format {
	case ImportJSONL:
		src = newLineSource(table, readerOpener(r), convexjson.Decode)
	case ImportExportJSONL:
		src = newLineSource(table, readerOpener(r), convexjson.DecodeExport)
	case ImportJSONArray:
		as, err := newArraySource(r)
		if err != nil {
			return &ImportError{Table: table, Line: as.line, Kind: ErrImportFormat, Err: err}
		}
		src = as
	default:
		return fmt.Errorf("livedb: import into table %q: unknown format %v", table, format)
	}
	defer src.close()
	it := &importTable{name: table, src: src, number: src.peekTableNumber()}
	job := &importJob{mode: o.Mode, tables: []*importTable{it}, report: db.progressFunc(o.Progress), hasProgress: o.Progress != nil}
	return db.runImport(ctx, job)
}

func readerOpener(r io.Reader) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(r), nil }
}

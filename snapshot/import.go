package snapshot

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

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/internal/engine"
	"github.com/livedb-go/livedb/internal/snapfile"
)

// Mode says what an import does with a table that already holds
// documents. The zero value is Convex's default, RequireEmpty.
type Mode int

// The import modes, as in `npx convex import` (--replace, --append). The
// engine's modes (engine.ImportMode) have the same values.
const (
	// RequireEmpty fails with ErrTableNotEmpty when a table of the import
	// already has documents.
	RequireEmpty Mode = iota
	// Replace deletes the table's documents and writes the imported ones,
	// in the same commit. The table takes the table number of the import,
	// so that the imported IDs stay valid.
	Replace
	// Append adds the imported documents to the table's; an imported _id
	// that already exists is an error (ErrDuplicateID).
	Append
)

// String returns "require-empty", "replace" or "append".
func (m Mode) String() string {
	switch m {
	case RequireEmpty:
		return "require-empty"
	case Replace:
		return "replace"
	case Append:
		return "append"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Format is the format of a single-table import ([ImportTable]). The zero
// value is JSONL.
type Format int

// The single-table formats. JSONL and JSON arrays hold Convex-JSON, as
// `npx convex import --table` reads them: every plain JSON number is a
// float64 and an int64 must be written {"$integer": ...}.
const (
	// JSONL is one Convex-JSON object per line.
	JSONL Format = iota
	// JSONArray is one JSON array of Convex-JSON objects.
	JSONArray
	// ExportJSONL is one object per line in the export JSON of a
	// snapshot's <table>/documents.jsonl ("uniform"): a number without '.'
	// or exponent is an int64. It reads back a table file of [Export]
	// exactly.
	ExportJSONL
)

// String returns "jsonl", "json" or "export-jsonl".
func (f Format) String() string {
	switch f {
	case JSONL:
		return "jsonl"
	case JSONArray:
		return "json"
	case ExportJSONL:
		return "export-jsonl"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// ImportOptions configures [Import] and [ImportTable]. A nil
// *ImportOptions means RequireEmpty, JSONL and the database's
// livedb.Options.Progress.
type ImportOptions struct {
	// Mode says what happens to the documents a table already has.
	Mode Mode
	// Format is the format of ImportTable's input. Import reads a ZIP and
	// ignores it.
	Format Format
	// Progress, when set, is called with Op "import" as documents are read
	// and checked, instead of livedb.Options.Progress. It must not call
	// back into the database.
	Progress func(livedb.Progress)
}

// Import reads a snapshot ZIP in Convex's layout (as [Export] and Convex's
// `npx convex export` write it) and writes its tables into db in one
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
//     schema (see [ReadSchema] to create a database with the exported
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
// size is the ZIP's length; r may be an *os.File. opts may be nil.
func Import(ctx context.Context, db *livedb.DB, r io.ReaderAt, size int64, opts *ImportOptions) error {
	var o ImportOptions
	if opts != nil {
		o = *opts
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return &ImportError{Kind: ErrFormat, Err: fmt.Errorf("not a ZIP file: %w", err)}
	}
	report := progress(db, o.Progress)
	tables, err := zipTables(db, zr, report != nil)
	defer func() {
		for _, it := range tables {
			it.Src.Close()
		}
	}()
	if err != nil {
		return err
	}
	return run(ctx, db, &engine.ImportJob{Mode: engine.ImportMode(o.Mode), Tables: tables, Progress: report})
}

// ImportTable imports documents into one table of db from r, as `npx
// convex import --table` does: opts.Format says whether r holds JSONL (the
// default), a JSON array or export JSONL, and opts.Mode whether the
// table's documents are replaced, appended to, or must not exist (the
// default). Documents keep their _id and _creationTime when they have
// them; the table takes the table number of the first document's _id when
// it is created or replaced. Like [Import], it is atomic, and a bad
// document is reported as an *ImportError with its line and field path
// (for a JSON array, the line where the element starts). r is read as a
// stream, once. opts may be nil.
func ImportTable(ctx context.Context, db *livedb.DB, table string, r io.Reader, opts *ImportOptions) error {
	var o ImportOptions
	if opts != nil {
		o = *opts
	}
	if err := engine.Snapshot.CheckTableName(table); err != nil {
		return &ImportError{Table: table, Kind: livedb.ErrInvalidTable, Err: err}
	}
	var src snapfile.Source
	switch format := o.Format; format {
	case JSONL:
		src = snapfile.NewStreamSource(table, r, convexjson.Decode)
	case ExportJSONL:
		src = snapfile.NewStreamSource(table, r, convexjson.DecodeExport)
	case JSONArray:
		as, err := snapfile.NewArraySource(r)
		if err != nil {
			_, line, _ := as.Next()
			return &ImportError{Table: table, Line: line, Kind: ErrFormat, Err: err}
		}
		src = as
	default:
		return fmt.Errorf("livedb: import into table %q: unknown format %v", table, format)
	}
	defer src.Close()
	it := &engine.ImportTable{Name: table, Src: src, Number: src.PeekTableNumber()}
	job := &engine.ImportJob{Mode: engine.ImportMode(o.Mode), Tables: []*engine.ImportTable{it}, Progress: progress(db, o.Progress)}
	return run(ctx, db, job)
}

// run hands job to the engine.
func run(ctx context.Context, db *livedb.DB, job *engine.ImportJob) error {
	return fromEngine(engine.Snapshot.Import(ctx, db, job))
}

// progress returns the progress callback of an export or import: f, else
// db's Options.Progress; nil when neither is set.
func progress(db *livedb.DB, f func(livedb.Progress)) func(livedb.Progress) {
	var x any
	if f != nil {
		x = f
	}
	p, _ := engine.Snapshot.Progress(db, x).(func(livedb.Progress))
	return p
}

// zipTables reads the layout of a snapshot ZIP and returns its tables in
// table-number order (the tables without a number last, by name), each
// with a document source. System tables are skipped, with a log line when
// they hold something. count says that progress is reported, so that the
// documents are worth counting before they are read.
func zipTables(db *livedb.DB, zr *zip.Reader, count bool) ([]*engine.ImportTable, error) {
	zts, err := snapfile.ReadZip(zr)
	if err != nil {
		return nil, formatError(err)
	}
	var tables []*engine.ImportTable
	for _, zt := range zts {
		if strings.HasPrefix(zt.Name, "_") {
			if zt.Docs.UncompressedSize64 > 0 {
				engine.Bridge.Logger(db).Info("livedb: import: skipping system table (livedb has no file storage or system tables)", slog.String("table", zt.Name))
			}
			continue
		}
		if err := engine.Snapshot.CheckTableName(zt.Name); err != nil {
			return tables, &ImportError{File: zt.Docs.Name, Table: zt.Name, Kind: livedb.ErrInvalidTable, Err: err}
		}
		src, err := zt.Source()
		if err != nil {
			return tables, formatError(err)
		}
		src.Reopenable = count // Total counts the lines first
		it := &engine.ImportTable{Name: zt.Name, File: zt.Docs.Name, Number: zt.Number, Src: src}
		tables = append(tables, it)
		if it.Number == 0 {
			it.Number = src.PeekTableNumber()
		}
	}
	// Numbered tables first, by number; the others by name.
	slices.SortStableFunc(tables, func(a, b *engine.ImportTable) int {
		switch {
		case a.Number == 0 && b.Number != 0:
			return 1
		case a.Number != 0 && b.Number == 0:
			return -1
		}
		return cmpUint32(a.Number, b.Number)
	})
	return tables, nil
}

func cmpUint32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// formatError returns err, an error of package snapfile, as an
// *ImportError of kind ErrFormat with the same coordinates.
func formatError(err error) error {
	var se *snapfile.Error
	if !errors.As(err, &se) {
		return &ImportError{Kind: ErrFormat, Err: err}
	}
	return &ImportError{File: se.File, Line: se.Line, Table: se.Table, Kind: ErrFormat, Err: se.Err}
}

package livedb

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/livedb-go/livedb/internal/convexjson"
)

// ExportOptions configures [DB.Export]. A nil *ExportOptions exports every
// table and reports progress to Options.Progress.
type ExportOptions struct {
	// Tables, when not empty, limits the export to these tables. A name
	// that is not a table of the database is an error.
	Tables []string
	// Progress, when set, is called with Op "export" as documents are
	// written, instead of Options.Progress. It must not call back into the
	// DB.
	Progress func(Progress)
}

// exportReadme is the README.md of an export.
const exportReadme = `# livedb snapshot export

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

Load it with "livedb import", DB.Import, or "npx convex import".
`

// Export writes a snapshot of the database to w as a ZIP in Convex's
// snapshot-export layout (docs/semantics.md#export-format), so that Convex's
// `npx convex import` and [DB.Import] read it back with the same _id,
// _creationTime and table numbers:
//
//	README.md
//	_tables/documents.jsonl         {"name":"<table>","id":<number>} per table, by number
//	_livedb/schema.json             the schema (Convex's schema.export() JSON), when it has tables
//	<table>/generated_schema.jsonl  "uniform"
//	<table>/documents.jsonl         one document per line in export JSON, in _id order
//
// Convex's import ignores _livedb/schema.json; [ExportedSchema] reads it.
//
// Every table is read at one snapshot (one commit timestamp), without the
// per-transaction read limits, and streamed: memory use does not grow with
// the database. Writers are not blocked (on bbolt the snapshot pins the
// pages it reads until the export ends). Progress is reported with Op
// "export" per table.
func (db *DB) Export(ctx context.Context, w io.Writer, opts *ExportOptions) error {
	_, err := db.ExportTS(ctx, w, opts)
	return err
}

// ExportTS is Export that also returns the commit timestamp of the
// snapshot: a change feed started after it ([DB.Changes]) has every change
// that the export does not.
func (db *DB) ExportTS(ctx context.Context, w io.Writer, opts *ExportOptions) (uint64, error) {
	var o ExportOptions
	if opts != nil {
		o = *opts
	}
	report := db.progressFunc(o.Progress)
	ev, err := db.beginExport(ctx)
	if err != nil {
		return 0, err
	}
	defer ev.end()
	tables, err := exportSelect(ev.tables(), o.Tables)
	if err != nil {
		return 0, err
	}
	ts := ev.timestamp()
	zw := zip.NewWriter(w)
	e := &exporter{zw: zw, modified: time.Unix(0, int64(ts))}
	if err := e.file("README.md", func(w *bufio.Writer) error {
		_, err := w.WriteString(exportReadme)
		return err
	}); err != nil {
		return 0, err
	}
	if err := e.file("_tables/documents.jsonl", func(w *bufio.Writer) error {
		return exportTableList(w, tables)
	}); err != nil {
		return 0, err
	}
	if s := ev.schema(); s != nil && len(s.TableNames()) > 0 {
		b, err := s.MarshalJSON()
		if err != nil {
			return 0, wrapErr("livedb: export: schema", err)
		}
		if err := e.file(exportSchemaFile, func(w *bufio.Writer) error {
			_, err := w.Write(append(b, '\n'))
			return err
		}); err != nil {
			return 0, err
		}
	}
	for _, et := range tables {
		if err := e.table(ctx, ev, et, report); err != nil {
			return 0, err
		}
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("livedb: export: %w", err)
	}
	return ts, nil
}

// exportSchemaFile is the ZIP entry that holds the schema.
const exportSchemaFile = "_livedb/schema.json"

// ExportedSchema returns the schema stored in an export ZIP of [DB.Export]
// (its _livedb/schema.json), or nil and no error when the ZIP has none, as
// Convex's exports do not. A tool restoring a backup into a new file opens
// it with this schema before [DB.Import], so that the indexes and
// validators come back too.
func ExportedSchema(r io.ReaderAt, size int64) (*Schema, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, &ImportError{Kind: ErrImportFormat, Err: fmt.Errorf("not a ZIP file: %w", err)}
	}
	for _, f := range zr.File {
		if f.Name != exportSchemaFile && !strings.HasSuffix(f.Name, "/"+exportSchemaFile) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, &ImportError{File: f.Name, Kind: ErrImportFormat, Err: err}
		}
		b, err := io.ReadAll(io.LimitReader(rc, 64<<20))
		_ = rc.Close()
		if err != nil {
			return nil, &ImportError{File: f.Name, Kind: ErrImportFormat, Err: err}
		}
		s, err := SchemaFromJSON(b)
		if err != nil {
			return nil, &ImportError{File: f.Name, Kind: ErrImportFormat, Err: err}
		}
		return s, nil
	}
	return nil, nil
}

// exportSelect keeps the tables named in names (all when names is empty).
// System tables are never exported: an import skips them.
func exportSelect(all []exportTable, names []string) ([]exportTable, error) {
	all = slices.DeleteFunc(all, func(et exportTable) bool { return isSystemTable(et.name) })
	if len(names) == 0 {
		return all, nil
	}
	var out []exportTable
	for _, n := range names {
		i := slices.IndexFunc(all, func(et exportTable) bool { return et.name == n })
		if i < 0 {
			return nil, fmt.Errorf("%w: export: table %q does not exist", ErrInvalidTable, n)
		}
		if !slices.ContainsFunc(out, func(et exportTable) bool { return et.name == n }) {
			out = append(out, all[i])
		}
	}
	slices.SortFunc(out, func(a, b exportTable) int { return cmpUint32(a.number, b.number) })
	return out, nil
}

// exportTableList writes _tables/documents.jsonl.
func exportTableList(w *bufio.Writer, tables []exportTable) error {
	for _, et := range tables {
		name, err := json.Marshal(et.name)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "{\"name\":%s,\"id\":%d}\n", name, et.number); err != nil {
			return err
		}
	}
	return nil
}

// exporter writes the entries of an export ZIP.
type exporter struct {
	zw       *zip.Writer
	modified time.Time
	buf      *bufio.Writer
}

// file writes one ZIP entry through a buffered writer.
func (e *exporter) file(name string, fill func(w *bufio.Writer) error) error {
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: e.modified}
	h.SetMode(0o644)
	fw, err := e.zw.CreateHeader(h)
	if err != nil {
		return fmt.Errorf("livedb: export %s: %w", name, err)
	}
	if e.buf == nil {
		e.buf = bufio.NewWriterSize(fw, 64<<10)
	} else {
		e.buf.Reset(fw)
	}
	if err := fill(e.buf); err != nil {
		return wrapErr("livedb: export "+name, err) // err may be a livedb error
	}
	if err := e.buf.Flush(); err != nil {
		return fmt.Errorf("livedb: export %s: %w", name, err)
	}
	return nil
}

// table writes a table's generated_schema.jsonl and documents.jsonl.
func (e *exporter) table(ctx context.Context, ev *exportView, et exportTable, report func(Progress)) error {
	if err := e.file(et.name+"/generated_schema.jsonl", func(w *bufio.Writer) error {
		_, err := w.WriteString(strconv.Quote(zipUniform) + "\n")
		return err
	}); err != nil {
		return err
	}
	total, err := ev.count(ctx, et)
	if err != nil {
		return err
	}
	report(Progress{Op: "export", Table: et.name, Done: 0, Total: total})
	var done int64
	err = e.file(et.name+"/documents.jsonl", func(w *bufio.Writer) error {
		return ev.forEach(ctx, et, func(doc map[string]any) error {
			b, err := convexjson.EncodeExport(doc)
			if err != nil {
				return fmt.Errorf("document %v: %w", doc[fieldID], err)
			}
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				return err
			}
			if done++; done%1000 == 0 {
				report(Progress{Op: "export", Table: et.name, Done: done, Total: total})
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	report(Progress{Op: "export", Table: et.name, Done: done, Total: done})
	return nil
}

// TableStat describes one table of the database, as [DB.TableStats]
// reports it.
type TableStat struct {
	Name      string
	Number    uint32 // the table number that its documents' IDs carry
	Documents int64
	// Indexes lists the table's own indexes, in definition order; every
	// table also has by_id and by_creation_time.
	Indexes []IndexDefinition
}

// TableStats returns every table of the database with its number and its
// document count, in table-number order, read at one snapshot. Counting
// walks each table's by_creation_time index, without the per-transaction
// read limits.
func (db *DB) TableStats(ctx context.Context) ([]TableStat, error) {
	ev, err := db.beginExport(ctx)
	if err != nil {
		return nil, err
	}
	defer ev.end()
	var out []TableStat
	for _, et := range ev.tables() {
		n, err := ev.count(ctx, et)
		if err != nil {
			return nil, err
		}
		out = append(out, TableStat{Name: et.name, Number: et.number, Documents: n, Indexes: et.indexes})
	}
	return out, nil
}

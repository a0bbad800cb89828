package livedb

import (
	"archive/zip"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/internal/snapshot"
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
	if err := exportZip(ctx, ev, tables, snapshot.NewWriter(w, time.Unix(0, int64(ts))), report); err != nil {
		return 0, exportErr(err)
	}
	return ts, nil
}

// exportZip writes the snapshot ZIP of tables, read through ev, to zw.
func exportZip(ctx context.Context, ev *exportView, tables []exportTable, zw *snapshot.Writer, report func(Progress)) error {
	if err := zw.File(snapshot.ReadmeFile, func(w *bufio.Writer) error {
		_, err := w.WriteString(snapshot.Readme)
		return err
	}); err != nil {
		return err
	}
	entries := make([]snapshot.TableEntry, len(tables))
	for i, et := range tables {
		entries[i] = snapshot.TableEntry{Name: et.name, Number: et.number}
	}
	if err := zw.Tables(entries); err != nil {
		return err
	}
	if s := ev.schema(); s != nil && len(s.TableNames()) > 0 {
		b, err := s.MarshalJSON()
		if err != nil {
			return wrapErr("livedb: export: schema", err)
		}
		if err := zw.File(snapshot.SchemaFile, func(w *bufio.Writer) error {
			_, err := w.Write(append(b, '\n'))
			return err
		}); err != nil {
			return err
		}
	}
	for _, et := range tables {
		if err := exportTableFiles(ctx, zw, ev, et, report); err != nil {
			return err
		}
	}
	return zw.Close()
}

// exportErr returns err, an error of package snapshot naming the ZIP entry
// being written, as "livedb: export <entry>: <cause>", wrapping the cause.
// Another error is returned as it is.
func exportErr(err error) error {
	var se *snapshot.Error
	if !errors.As(err, &se) {
		return err
	}
	if se.File == "" {
		return wrapErr("livedb: export", se.Err)
	}
	return wrapErr("livedb: export "+se.File, se.Err) // se.Err may be a livedb error
}

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
	if f := snapshot.FindSchema(zr); f != nil {
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

// exportTableFiles writes a table's generated_schema.jsonl and
// documents.jsonl.
func exportTableFiles(ctx context.Context, zw *snapshot.Writer, ev *exportView, et exportTable, report func(Progress)) error {
	if err := zw.GeneratedSchema(et.name); err != nil {
		return err
	}
	total, err := ev.count(ctx, et)
	if err != nil {
		return err
	}
	report(Progress{Op: "export", Table: et.name, Done: 0, Total: total})
	var done int64
	err = zw.File(et.name+"/"+snapshot.DocumentsFile, func(w *bufio.Writer) error {
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

// exportView is one snapshot of the database read without limits: the
// engine hook of export and of TableStats.
type exportView struct {
	db *DB
	tx *txn
}

// beginExport opens a snapshot for an export. Close it with end.
func (db *DB) beginExport(ctx context.Context) (*exportView, error) {
	tx, err := db.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	return &exportView{db: db, tx: tx}, nil
}

func (ev *exportView) end() { ev.db.end(ev.tx) }

// schema returns the schema the snapshot's catalog was opened with, or nil.
func (ev *exportView) schema() *Schema { return ev.tx.cat.schema }

// timestamp returns the commit timestamp of the snapshot.
func (ev *exportView) timestamp() uint64 { return ev.tx.ts }

// exportTable is a table as an export sees it.
type exportTable struct {
	name    string
	number  uint32
	indexes []IndexDefinition
	t       *tableInfo
}

// tables returns the snapshot's tables sorted by table number.
func (ev *exportView) tables() []exportTable {
	out := make([]exportTable, 0, len(ev.tx.cat.tables))
	for _, t := range ev.tx.cat.tables {
		et := exportTable{name: t.name, number: t.number, t: t}
		for _, ix := range t.userIndexes() {
			if ix.vec != nil {
				continue // listed by the schema's vectorIndexes, not as a database index
			}
			et.indexes = append(et.indexes, IndexDefinition{Name: ix.name, Fields: slices.Clone(ix.fields)})
		}
		out = append(out, et)
	}
	slices.SortFunc(out, func(a, b exportTable) int { return cmpUint32(a.number, b.number) })
	return out
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

// count returns the number of documents of a table, walking the keys of
// its by_creation_time index (no document is decoded).
func (ev *exportView) count(ctx context.Context, et exportTable) (int64, error) {
	p := et.t.byTime.prefix
	it := ev.tx.snap.Iter(p, prefixEnd(p), false)
	defer it.Close()
	var n int64
	for it.Next() {
		n++
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
	}
	return n, it.Err()
}

// forEach calls fn with every document of a table in by_id order (the
// order of the _id strings). The document is fn's to keep.
func (ev *exportView) forEach(ctx context.Context, et exportTable, fn func(doc map[string]any) error) error {
	n := 0
	return forEachDoc(ev.tx.snap, et.t, func(doc map[string]any) error {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return fn(doc)
	})
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

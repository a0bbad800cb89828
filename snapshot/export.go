package snapshot

import (
	"archive/zip"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/internal/engine"
	"github.com/livedb-go/livedb/internal/snapfile"
)

// ExportOptions configures [Export]. A nil *ExportOptions exports every
// table and reports progress to livedb.Options.Progress.
type ExportOptions struct {
	// Tables, when not empty, limits the export to these tables. A name
	// that is not a table of the database is an error
	// (livedb.ErrInvalidTable).
	Tables []string
	// Progress, when set, is called with Op "export" as documents are
	// written, instead of livedb.Options.Progress. It must not call back
	// into the database.
	Progress func(livedb.Progress)
}

// Export writes a snapshot of db to w as a ZIP in Convex's snapshot-export
// layout (see the package doc and docs/semantics.md#export-format), so
// that Convex's `npx convex import` and [Import] read it back with the
// same _id, _creationTime and table numbers. System tables are not
// exported.
//
// Every table is read at one snapshot, without the per-transaction read
// limits, and streamed: memory use does not grow with the database.
// Writers are not blocked (on bbolt the snapshot pins the pages it reads
// until the export ends). Progress is reported with Op "export" per table.
//
// ts is the commit timestamp of that snapshot: the export holds every
// commit up to ts and none after, so a change feed started after it
// (livedb.DB.Changes(ts)) has every change that the export does not. On
// an error, ts is 0 and what was written to w is not a whole ZIP.
func Export(ctx context.Context, db *livedb.DB, w io.Writer, opts *ExportOptions) (ts uint64, err error) {
	var o ExportOptions
	if opts != nil {
		o = *opts
	}
	report := progress(db, o.Progress)
	if report == nil {
		report = func(livedb.Progress) {}
	}
	ev, err := engine.Snapshot.BeginExport(ctx, db)
	if err != nil {
		return 0, err
	}
	defer ev.End()
	tables, err := exportSelect(ev.Tables(), o.Tables)
	if err != nil {
		return 0, err
	}
	ts = ev.Timestamp()
	if err := exportZip(ctx, ev, tables, snapfile.NewWriter(w, time.Unix(0, int64(ts))), report); err != nil {
		return 0, exportErr(err)
	}
	return ts, nil
}

// exportZip writes the snapshot ZIP of tables, read through ev, to zw.
func exportZip(ctx context.Context, ev engine.ExportView, tables []engine.ExportTable, zw *snapfile.Writer, report func(livedb.Progress)) error {
	if err := zw.File(snapfile.ReadmeFile, func(w *bufio.Writer) error {
		_, err := w.WriteString(snapfile.Readme)
		return err
	}); err != nil {
		return err
	}
	entries := make([]snapfile.TableEntry, len(tables))
	for i, et := range tables {
		entries[i] = snapfile.TableEntry{Name: et.Name, Number: et.Number}
	}
	if err := zw.Tables(entries); err != nil {
		return err
	}
	if s, _ := ev.Schema().(*livedb.Schema); s != nil && len(s.TableNames()) > 0 {
		b, err := s.MarshalJSON()
		if err != nil {
			return engine.Bridge.Wrap("livedb: export: schema", err)
		}
		if err := zw.File(snapfile.SchemaFile, func(w *bufio.Writer) error {
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

// exportErr returns err, an error of package snapfile naming the ZIP entry
// being written, as "livedb: export <entry>: <cause>", wrapping the cause.
// Another error is returned as it is.
func exportErr(err error) error {
	var se *snapfile.Error
	if !errors.As(err, &se) {
		return err
	}
	if se.File == "" {
		return engine.Bridge.Wrap("livedb: export", se.Err)
	}
	return engine.Bridge.Wrap("livedb: export "+se.File, se.Err) // se.Err may be a livedb error
}

// ReadSchema returns the schema stored in a ZIP of [Export] (its
// _livedb/schema.json), or nil and no error when the ZIP has none, as
// Convex's exports do not. A tool restoring a backup into a new file opens
// it with this schema before [Import], so that the indexes and validators
// come back too. Errors are *ImportErrors of kind ErrFormat.
func ReadSchema(r io.ReaderAt, size int64) (*livedb.Schema, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, &ImportError{Kind: ErrFormat, Err: fmt.Errorf("not a ZIP file: %w", err)}
	}
	f := snapfile.FindSchema(zr)
	if f == nil {
		return nil, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, &ImportError{File: f.Name, Kind: ErrFormat, Err: err}
	}
	b, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	_ = rc.Close()
	if err != nil {
		return nil, &ImportError{File: f.Name, Kind: ErrFormat, Err: err}
	}
	s, err := livedb.SchemaFromJSON(b)
	if err != nil {
		return nil, &ImportError{File: f.Name, Kind: ErrFormat, Err: err}
	}
	return s, nil
}

// exportSelect keeps the tables named in names (all when names is empty).
// System tables are never exported: an import skips them.
func exportSelect(all []engine.ExportTable, names []string) ([]engine.ExportTable, error) {
	all = slices.DeleteFunc(all, func(et engine.ExportTable) bool { return strings.HasPrefix(et.Name, "_") })
	if len(names) == 0 {
		return all, nil
	}
	var out []engine.ExportTable
	for _, n := range names {
		i := slices.IndexFunc(all, func(et engine.ExportTable) bool { return et.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("%w: export: table %q does not exist", livedb.ErrInvalidTable, n)
		}
		if !slices.ContainsFunc(out, func(et engine.ExportTable) bool { return et.Name == n }) {
			out = append(out, all[i])
		}
	}
	slices.SortFunc(out, func(a, b engine.ExportTable) int { return cmpUint32(a.Number, b.Number) })
	return out, nil
}

// exportTableFiles writes a table's generated_schema.jsonl and
// documents.jsonl.
func exportTableFiles(ctx context.Context, zw *snapfile.Writer, ev engine.ExportView, et engine.ExportTable, report func(livedb.Progress)) error {
	if err := zw.GeneratedSchema(et.Name); err != nil {
		return err
	}
	total, err := ev.Count(ctx, et)
	if err != nil {
		return err
	}
	report(livedb.Progress{Op: "export", Table: et.Name, Done: 0, Total: total})
	var done int64
	err = zw.File(et.Name+"/"+snapfile.DocumentsFile, func(w *bufio.Writer) error {
		return ev.ForEach(ctx, et, func(doc map[string]any) error {
			b, err := convexjson.EncodeExport(doc)
			if err != nil {
				return fmt.Errorf("document %v: %w", doc["_id"], err)
			}
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				return err
			}
			if done++; done%1000 == 0 {
				report(livedb.Progress{Op: "export", Table: et.Name, Done: done, Total: total})
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	report(livedb.Progress{Op: "export", Table: et.Name, Done: done, Total: done})
	return nil
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/snapshot"
	"github.com/livedb-go/livedb/v"
)

// parseValue reads a value given on the command line: JSON when it parses
// (Convex-JSON, so a number is a float64 as in Convex), an int64 when it is
// an integer followed by n ("5n"), else the string itself.
func parseValue(s string) any {
	if digits, ok := strings.CutSuffix(s, "n"); ok {
		if n, err := strconv.ParseInt(digits, 10, 64); err == nil {
			return n
		}
	}
	if x, err := v.JSONToConvex([]byte(s)); err == nil {
		return x
	}
	return s
}

// queryFlags are the flags of the query command.
type queryFlags struct {
	index                string
	eq, gt, gte, lt, lte pairs
	filter               pairs
	order                string
	limit                int
}

func (q *queryFlags) check() error {
	if q.order != "asc" && q.order != "desc" {
		return usagef("-order is asc or desc, not %q", q.order)
	}
	if q.limit < 0 {
		return usagef("-limit must be 0 (all) or more")
	}
	if q.index == "" && len(q.eq)+len(q.gt)+len(q.gte)+len(q.lt)+len(q.lte) > 0 {
		return usagef("-eq, -gt, -gte, -lt and -lte bound the fields of an index: add -index (\"livedb tables\" lists them), or use -filter")
	}
	if len(q.gt)+len(q.gte) > 1 || len(q.lt)+len(q.lte) > 1 {
		return usagef("an index range has at most one lower bound (-gt or -gte) and one upper bound (-lt or -lte)")
	}
	return nil
}

// indexRange builds the range of the query's flags.
func (q *queryFlags) indexRange(r livedb.IndexRange) livedb.IndexRange {
	for _, p := range q.eq {
		r = r.Eq(p.field, p.value)
	}
	for _, p := range q.gt {
		r = r.Gt(p.field, p.value)
	}
	for _, p := range q.gte {
		r = r.Gte(p.field, p.value)
	}
	for _, p := range q.lt {
		r = r.Lt(p.field, p.value)
	}
	for _, p := range q.lte {
		r = r.Lte(p.field, p.value)
	}
	return r
}

// runQuery runs the query command against the open database.
func runQuery(e *env, table string, q *queryFlags) error {
	out := newDocWriter(e)
	err := e.db.Query(e.ctx, func(qc *livedb.QueryCtx) error {
		query := qc.DB.Query(table)
		if q.index != "" {
			query = query.WithIndex(q.index, q.indexRange)
		}
		if q.order == "desc" {
			query = query.Order(livedb.Desc)
		}
		for _, p := range q.filter {
			query = query.Filter(func(f livedb.FilterBuilder) livedb.Expr { return f.Eq(f.Field(p.field), p.value) })
		}
		for doc, err := range query.All() {
			if err != nil {
				return err
			}
			if err := out.add(doc); err != nil {
				return err
			}
			if q.limit > 0 && out.n >= q.limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, livedb.ErrIndexNotFound) {
			return fmt.Errorf("%w (\"livedb tables %s\" lists the indexes)", err, e.name)
		}
		return err
	}
	if out.n == 0 {
		if err := e.tableExists(table); err != nil {
			return err
		}
	}
	return out.finish()
}

// tableExists returns an error when the database has no such table.
func (e *env) tableExists(table string) error {
	stats, err := e.db.TableStats(e.ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, st := range stats {
		if st.Name == table {
			return nil
		}
		names = append(names, st.Name)
	}
	return fmt.Errorf("livedb: %s has no table %q (its tables: %s)", e.name, table, strings.Join(names, ", "))
}

// docWriter prints query results: a JSON array streamed document by
// document with --json, else a table once all rows are in.
type docWriter struct {
	e    *env
	n    int
	docs []livedb.Doc
}

func newDocWriter(e *env) *docWriter { return &docWriter{e: e} }

func (w *docWriter) add(doc livedb.Doc) error {
	w.n++
	if !w.e.json {
		w.docs = append(w.docs, doc)
		return nil
	}
	b, err := convexjson.EncodeExport(map[string]any(doc))
	if err != nil {
		return err
	}
	sep := ",\n  "
	if w.n == 1 {
		sep = "[\n  "
	}
	_, err = io.WriteString(w.e.stdout, sep+string(b))
	return err
}

func (w *docWriter) finish() error {
	if w.e.json {
		end := "\n]\n"
		if w.n == 0 {
			end = "[]\n"
		}
		_, err := io.WriteString(w.e.stdout, end)
		return err
	}
	if w.n == 0 {
		_, err := fmt.Fprintln(w.e.stdout, "no documents")
		return err
	}
	return printTable(w.e.stdout, w.docs, w.e.times)
}

// printTable prints documents as a table: _id, _creationTime, then every
// other top-level field in name order, those of times as times.
func printTable(out io.Writer, docs []livedb.Doc, times timeFields) error {
	seen := map[string]bool{}
	var fields []string
	for _, d := range docs {
		for k := range d {
			if !seen[k] && k != "_id" && k != "_creationTime" {
				seen[k] = true
				fields = append(fields, k)
			}
		}
	}
	slices.Sort(fields)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "_id\t_creationTime\t%s\n", strings.Join(fields, "\t"))
	for _, d := range docs {
		row := []string{string(d.ID()), formatTime(d.CreationTime())}
		for _, f := range fields {
			x, ok := d[f]
			if !ok {
				row = append(row, "")
				continue
			}
			if s, ok := times.format(f, x); ok {
				row = append(row, s)
				continue
			}
			row = append(row, truncate(cell(x), 40))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	noun := "documents"
	if len(docs) == 1 {
		noun = "document"
	}
	_, err := fmt.Fprintf(out, "(%d %s)\n", len(docs), noun)
	return err
}

// cell renders a value for a table: a string as itself (quoted when it
// holds control characters or tabs), anything else in export JSON.
func cell(x any) string {
	switch s := x.(type) {
	case string:
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return strconv.Quote(s)
		}
		return s
	case livedb.ID:
		return string(s)
	}
	b, err := convexjson.EncodeExport(x)
	if err != nil {
		return fmt.Sprint(x)
	}
	return string(b)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// formatTime renders a _creationTime (ms since the epoch) in UTC.
func formatTime(ms float64) string {
	return time.UnixMicro(int64(ms * 1000)).UTC().Format("2006-01-02 15:04:05.000")
}

// printDocument prints one document as field / value lines, the value of
// a field of times followed by its time.
func printDocument(out io.Writer, doc livedb.Doc, times timeFields) error {
	keys := make([]string, 0, len(doc))
	for k := range doc {
		if k != "_id" && k != "_creationTime" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "_id\t%s\n", doc.ID())
	fmt.Fprintf(tw, "_creationTime\t%s (%s UTC)\n", cell(doc.CreationTime()), formatTime(doc.CreationTime()))
	for _, k := range keys {
		b, err := convexjson.EncodeExport(doc[k])
		if err != nil {
			return err
		}
		if s, ok := times.format(k, doc[k]); ok {
			fmt.Fprintf(tw, "%s\t%s (%s)\n", k, b, s)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\n", k, b)
	}
	return tw.Flush()
}

// writeDocLine writes a document in export JSON and a newline.
func writeDocLine(out io.Writer, doc livedb.Doc) error {
	b, err := convexjson.EncodeExport(map[string]any(doc))
	if err != nil {
		return err
	}
	_, err = out.Write(append(b, '\n'))
	return err
}

func indentJSON(out *strings.Builder, b []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return err
	}
	out.Write(buf.Bytes())
	return nil
}

// runExport writes the export ZIP.
func runExport(e *env, out string, tables []string) error {
	if out == "" {
		out = fmt.Sprintf("snapshot_%d.zip", e.db.LastTimestamp())
	}
	bar := newProgressBar(e.stderr, "exporting")
	opts := &snapshot.ExportOptions{Tables: tables, Progress: bar.report}
	var ts uint64
	var err error
	if out == "-" {
		ts, err = snapshot.Export(e.ctx, e.db, e.stdout, opts)
	} else {
		err = createAtomic(out, func(f *os.File) error {
			ts, err = snapshot.Export(e.ctx, e.db, f, opts)
			return err
		})
	}
	bar.finish()
	if err != nil {
		return err
	}
	docs := bar.total()
	switch {
	case e.json && out != "-":
		return writeJSON(e.stdout, map[string]any{"file": out, "timestamp": ts, "tables": len(bar.tables), "documents": docs})
	case !e.json:
		fmt.Fprintf(e.stderr, "exported %s (%s) at commit %d to %s\n", plural(len(bar.tables), "table"), plural(int(docs), "document"), ts, out)
	}
	return nil
}

// importFlags are the flags of the import command.
type importFlags struct {
	replace, append bool
	table, format   string
}

func (o *importFlags) mode() snapshot.Mode {
	switch {
	case o.replace:
		return snapshot.Replace
	case o.append:
		return snapshot.Append
	}
	return snapshot.RequireEmpty
}

// tableFormat picks the format of a single-table import.
func (o *importFlags) tableFormat(path string) (snapshot.Format, error) {
	name := o.format
	if name == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".jsonl", ".ndjson":
			name = "jsonl"
		case ".json":
			name = "json"
		default:
			return 0, usagef("cannot tell the format of %s from its extension: add -format jsonl, json or export-jsonl", path)
		}
	}
	switch name {
	case "jsonl":
		return snapshot.JSONL, nil
	case "json":
		return snapshot.JSONArray, nil
	case "export-jsonl":
		return snapshot.ExportJSONL, nil
	}
	return 0, usagef("-format is jsonl, json or export-jsonl, not %q", name)
}

// runImport imports a file. The input is opened first, so that a missing
// file does not leave an empty database behind.
func runImport(e *env, path string, o *importFlags) error {
	var format snapshot.Format
	if o.table != "" {
		var err error
		if format, err = o.tableFormat(path); err != nil {
			return err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("livedb: %s is a directory: import reads a ZIP file (zip the export's files with README.md and _tables/ at the root) or, with -table, one JSONL or JSON file", path)
	}
	if o.table == "" && isNewDatabase(e.path) {
		// A new file gets the schema of a livedb export, so that indexes
		// and validators come back with the documents.
		if e.schema, err = snapshot.ReadSchema(f, fi.Size()); err != nil {
			return err
		}
	}
	bar := newProgressBar(e.stderr, "importing")
	e.progress = bar.report
	if err := e.open(false); err != nil {
		return err
	}
	defer e.close()
	if o.table != "" {
		err = snapshot.ImportTable(e.ctx, e.db, o.table, f, &snapshot.ImportOptions{Format: format, Mode: o.mode()})
	} else {
		err = snapshot.Import(e.ctx, e.db, f, fi.Size(), &snapshot.ImportOptions{Mode: o.mode(), Progress: bar.report})
	}
	bar.finish()
	if err != nil {
		if errors.Is(err, snapshot.ErrFormat) && strings.Contains(err.Error(), "not a ZIP") {
			return fmt.Errorf("%w\n(to import one table from JSONL or a JSON array, add -table <name>)", err)
		}
		if errors.Is(err, snapshot.ErrTableNotEmpty) {
			return fmt.Errorf("%w\n(-replace replaces the table's documents, -append adds to them)", err)
		}
		return err
	}
	if e.json {
		return writeJSON(e.stdout, map[string]any{"tables": len(bar.tables), "documents": bar.total(), "mode": o.mode().String()})
	}
	fmt.Fprintf(e.stderr, "imported %s into %s (%s)\n", plural(int(bar.total()), "document"), plural(len(bar.tables), "table"), o.mode())
	return nil
}

// plural returns "1 table" or "2 tables".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// isNewDatabase reports whether path is a file that does not exist yet or
// is empty. A shared database (a DSN) is never new here: its schema is the
// one its programs open it with, which an import must not replace.
func isNewDatabase(path string) bool {
	if isDSN(path) {
		return false
	}
	fi, err := os.Stat(path)
	return errors.Is(err, os.ErrNotExist) || err == nil && fi.Size() == 0
}

// progressBar draws a one-line progress bar on a terminal and tallies the
// documents of each table either way.
type progressBar struct {
	w      io.Writer
	on     bool
	verb   string
	last   time.Time
	shown  bool
	tables []string
	done   map[string]int64
}

func newProgressBar(w io.Writer, verb string) *progressBar {
	return &progressBar{w: w, on: isTerminal(w), verb: verb, done: map[string]int64{}}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (b *progressBar) report(p livedb.Progress) {
	if p.Op != "export" && p.Op != "import" {
		return
	}
	if _, ok := b.done[p.Table]; !ok {
		b.tables = append(b.tables, p.Table)
	}
	b.done[p.Table] = p.Done
	if !b.on {
		return
	}
	if now := time.Now(); now.Sub(b.last) >= 100*time.Millisecond || p.Done == p.Total {
		b.last = now
		fmt.Fprintf(b.w, "\r%s\x1b[K", b.line(p))
		b.shown = true
	}
}

// line renders the bar for one report.
func (b *progressBar) line(p livedb.Progress) string {
	if p.Total <= 0 {
		return fmt.Sprintf("%s %s: %d documents", b.verb, p.Table, p.Done)
	}
	const width = 24
	filled := int(min(p.Done, p.Total) * width / p.Total)
	return fmt.Sprintf("%s %s [%s%s] %d/%d %d%%", b.verb, p.Table,
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), p.Done, p.Total, p.Done*100/p.Total)
}

func (b *progressBar) finish() {
	if b.shown {
		fmt.Fprint(b.w, "\r\x1b[K")
	}
}

// total returns the documents counted over every table.
func (b *progressBar) total() int64 {
	var n int64
	for _, d := range b.done {
		n += d
	}
	return n
}

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/livedb-go/livedb"
)

var tablesCommand = &command{
	name:    "tables",
	summary: "list the tables with their table numbers, document counts and indexes",
	flags: func(fs *flag.FlagSet) func(e *env, args []string) error {
		return func(e *env, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q", args[0])
			}
			if err := e.open(false); err != nil {
				return err
			}
			defer e.close()
			stats, err := e.db.TableStats(e.ctx)
			if err != nil {
				return err
			}
			if e.json {
				type indexJSON struct {
					Name   string   `json:"name"`
					Fields []string `json:"fields"`
				}
				type tableJSON struct {
					Name      string      `json:"name"`
					Number    uint32      `json:"number"`
					Documents int64       `json:"documents"`
					Indexes   []indexJSON `json:"indexes"`
				}
				out := []tableJSON{}
				for _, st := range stats {
					tj := tableJSON{Name: st.Name, Number: st.Number, Documents: st.Documents, Indexes: []indexJSON{}}
					for _, ix := range st.Indexes {
						tj.Indexes = append(tj.Indexes, indexJSON{ix.Name, ix.Fields})
					}
					out = append(out, tj)
				}
				return writeJSON(e.stdout, out)
			}
			if len(stats) == 0 {
				fmt.Fprintln(e.stdout, "no tables")
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TABLE\tNUMBER\tDOCUMENTS\tINDEXES")
			for _, st := range stats {
				var ixs []string
				for _, ix := range st.Indexes {
					ixs = append(ixs, ix.Name+"("+strings.Join(ix.Fields, ", ")+")")
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", st.Name, st.Number, st.Documents, strings.Join(ixs, " "))
			}
			return tw.Flush()
		}
	},
}

var schemaCommand = &command{
	name:    "schema",
	summary: "print the stored schema as Convex schema JSON (schema.export())",
	flags: func(fs *flag.FlagSet) func(e *env, args []string) error {
		return func(e *env, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q", args[0])
			}
			if err := e.open(false); err != nil {
				return err
			}
			defer e.close()
			b, err := e.db.Schema().MarshalJSON()
			if err != nil {
				return err
			}
			if e.json {
				_, err = fmt.Fprintf(e.stdout, "%s\n", b)
				return err
			}
			var out strings.Builder
			if err := indentJSON(&out, b); err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stdout, out.String())
			return err
		}
	},
}

var getCommand = &command{
	name:    "get",
	args:    "<id>",
	summary: "print the document with an ID",
	detail:  timeFieldsDetail,
	flags: func(fs *flag.FlagSet) func(e *env, args []string) error {
		var times timeFields
		fs.Var(&times, "time-fields", timeFieldsUsage)
		return func(e *env, args []string) error {
			e.times = times
			if len(args) != 1 {
				return usagef("want one document ID, got %d arguments", len(args))
			}
			if err := e.open(false); err != nil {
				return err
			}
			defer e.close()
			var doc livedb.Doc
			var found bool
			err := e.db.Query(e.ctx, func(q *livedb.QueryCtx) error {
				var err error
				doc, found, err = q.DB.Get(livedb.ID(args[0]))
				return err
			})
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("livedb: no document with ID %q in %s", args[0], e.name)
			}
			if e.json {
				return writeDocLine(e.stdout, doc)
			}
			return printDocument(e.stdout, doc, e.times)
		}
	},
}

// pairs is a repeatable field=value flag.
type pairs []fieldValue

type fieldValue struct {
	field string
	value any
}

func (p *pairs) String() string { return "" }

func (p *pairs) Set(s string) error {
	field, raw, ok := strings.Cut(s, "=")
	if !ok || field == "" {
		return fmt.Errorf("want field=value, got %q", s)
	}
	*p = append(*p, fieldValue{field, parseValue(raw)})
	return nil
}

const queryDetail = `
Values on the command line are read as JSON when they parse (a number is a
float64, as in Convex: -eq n=5), as an int64 when they end in n (-eq n=5n),
and as a string otherwise (-eq status=running).

-eq, -gt, -gte, -lt and -lte bound the fields of -index in Convex's range
grammar: equalities on its first fields in order, then at most one lower and
one upper bound on the next field. -filter keeps documents whose field equals
the value, after the index range.

Examples:
  livedb query state.db workflows -index by_status -eq status=running
  livedb query state.db agentSessions -index by_workflow -eq workflowId=jd7... -order desc -limit 5
  livedb query state.db workflows -filter status=failed --json
  livedb query state.db agentSessions -time-fields startedAt,completedAt
` + timeFieldsDetail

var queryCommand = &command{
	name:    "query",
	args:    "<table>",
	summary: "list documents of a table, by index range, order, limit and filters",
	detail:  queryDetail,
	flags: func(fs *flag.FlagSet) func(e *env, args []string) error {
		var q queryFlags
		fs.StringVar(&q.index, "index", "", "scan this `index` (default by_creation_time)")
		fs.Var(&q.eq, "eq", "bound the index: `field=value`, equal (repeatable, in index order)")
		fs.Var(&q.gt, "gt", "bound the index: `field=value`, greater than")
		fs.Var(&q.gte, "gte", "bound the index: `field=value`, greater than or equal")
		fs.Var(&q.lt, "lt", "bound the index: `field=value`, less than")
		fs.Var(&q.lte, "lte", "bound the index: `field=value`, less than or equal")
		fs.Var(&q.filter, "filter", "keep documents where `field=value` (repeatable)")
		fs.StringVar(&q.order, "order", "asc", "`asc` or desc")
		fs.IntVar(&q.limit, "limit", 0, "return at most `N` documents (0: all)")
		var times timeFields
		fs.Var(&times, "time-fields", timeFieldsUsage)
		return func(e *env, args []string) error {
			e.times = times
			if len(args) != 1 {
				return usagef("want one table, got %d arguments", len(args))
			}
			if err := q.check(); err != nil {
				return err
			}
			if err := e.open(true); err != nil {
				return err
			}
			defer e.close()
			return runQuery(e, args[0], &q)
		}
	},
}

var exportCommand = &command{
	name:    "export",
	summary: "write a snapshot ZIP in Convex's export layout (npx convex import reads it)",
	detail: `
The snapshot is taken at one commit. Without -o the file is named
snapshot_<timestamp>.zip, as Convex names its exports; -o - writes to stdout.`,
	flags: func(fs *flag.FlagSet) func(e *env, args []string) error {
		var out string
		var tables multiString
		fs.StringVar(&out, "o", "", "write the ZIP to `file` (- for stdout)")
		fs.Var(&tables, "table", "export only this `table` (repeatable)")
		return func(e *env, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q (the output file goes after -o)", args[0])
			}
			if err := e.open(false); err != nil {
				return err
			}
			defer e.close()
			return runExport(e, out, tables)
		}
	},
}

var importCommand = &command{
	name:    "import",
	args:    "<file.zip> | -table <table> <file>",
	summary: "load a snapshot ZIP, or one table from JSONL or a JSON array, atomically",
	write:   true,
	detail: `
A ZIP in Convex's snapshot layout keeps each document's _id and _creationTime
and each table's number. The file is created when it does not exist, with
the schema of a livedb export (its indexes and validators). By
default every table of the import must be empty; -replace replaces the
tables' documents, -append adds to them. Nothing is written when a document
is bad: the error names its file, line and field.

With -table, one file is loaded into one table: .jsonl (one Convex-JSON
object per line) or .json (a JSON array), or -format export-jsonl for a
table file of a snapshot ZIP (int64 as bare integers).

A shared database (a postgres:// URL) keeps the schema its programs gave
it: the import goes into the tables that schema declares, or tables it
creates where the schema allows them.`,
	flags: func(fs *flag.FlagSet) func(e *env, args []string) error {
		var o importFlags
		fs.BoolVar(&o.replace, "replace", false, "replace the documents of the imported tables")
		fs.BoolVar(&o.append, "append", false, "add to the documents of the imported tables")
		fs.StringVar(&o.table, "table", "", "import one file into this `table`")
		fs.StringVar(&o.format, "format", "", "with -table: `jsonl`, json or export-jsonl (default from the file's extension)")
		return func(e *env, args []string) error {
			if len(args) != 1 {
				return usagef("want one file to import, got %d arguments", len(args))
			}
			if o.replace && o.append {
				return usagef("-replace and -append exclude each other")
			}
			if o.format != "" && o.table == "" {
				return usagef("-format needs -table")
			}
			return runImport(e, args[0], &o)
		}
	},
}

var watchCommand = &command{
	name:    "watch",
	args:    "[table...]",
	summary: "print committed changes as they appear, until Ctrl-C",
	detail: `
watch polls the file: it opens it read-only, prints the changes committed
since it last looked, closes it and waits -interval. bbolt gives a process
that writes the file exclusive use of it, so while your program runs, watch
waits, and prints that run's changes once the program closes the file.
-since 0 starts from the oldest change the database kept.

A shared database (a postgres:// URL) is watched live: watch opens it once,
as one more process beside the programs that write it, and prints each
commit of any process as its copy applies it, within milliseconds; -interval
does not apply. Its copy is loaded when watch starts, so -all and -since
reach back only to then.`,
	flags: func(fs *flag.FlagSet) func(e *env, args []string) error {
		var w watchFlags
		fs.Uint64Var(&w.since, "since", 0, "start after this commit `timestamp` (0 with -all: from the oldest change kept)")
		fs.BoolVar(&w.all, "all", false, "start from the oldest change kept")
		fs.DurationVar(&w.interval, "interval", defaultWatchInterval, "how often to look for new changes")
		return func(e *env, args []string) error {
			if !e.readonly {
				return usagef("watch only reads: it cannot run with -readonly=false")
			}
			return runWatch(e, args, &w)
		}
	},
}

var checkCommand = &command{
	name:    "check",
	summary: "verify that every index agrees with the documents",
	flags: func(fs *flag.FlagSet) func(e *env, args []string) error {
		return func(e *env, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q", args[0])
			}
			if err := e.open(false); err != nil {
				return err
			}
			defer e.close()
			checkErr := e.db.Check(e.ctx)
			stats, err := e.db.TableStats(e.ctx)
			if err != nil {
				return err
			}
			var docs int64
			for _, st := range stats {
				docs += st.Documents
			}
			if e.json {
				res := map[string]any{"ok": checkErr == nil, "tables": len(stats), "documents": docs}
				if checkErr != nil {
					res["error"] = checkErr.Error()
				}
				if err := writeJSON(e.stdout, res); err != nil {
					return err
				}
			} else if checkErr == nil {
				fmt.Fprintf(e.stdout, "ok: %d tables, %d documents, every index consistent\n", len(stats), docs)
			}
			if checkErr != nil {
				return fmt.Errorf("%s: %w", e.name, checkErr)
			}
			return nil
		}
	},
}

// multiString is a repeatable string flag.
type multiString []string

func (m *multiString) String() string     { return strings.Join(*m, ",") }
func (m *multiString) Set(s string) error { *m = append(*m, s); return nil }

// writeJSON writes x as indented JSON and a newline.
func writeJSON(w interface{ Write([]byte) (int, error) }, x any) error {
	b, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// createAtomic writes a file through a temporary file in the same
// directory, renamed into place only when fill succeeds.
func createAtomic(path string, fill func(f *os.File) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := fill(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

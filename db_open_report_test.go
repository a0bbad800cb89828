package livedb_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

// logRecorder is a slog.Handler that keeps every record as one line,
// "message key=value ...".
type logRecorder struct {
	mu    *sync.Mutex
	lines *[]string
	attrs []slog.Attr
}

func newLogRecorder() *logRecorder {
	return &logRecorder{mu: &sync.Mutex{}, lines: new([]string)}
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%s", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.lines = append(*h.lines, b.String())
	return nil
}

func (h *logRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logRecorder{mu: h.mu, lines: h.lines, attrs: append(slices.Clip(h.attrs), attrs...)}
}

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

// Lines returns the recorded lines, sorted.
func (h *logRecorder) Lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(slices.Values(*h.lines))
}

// mustRecordDefaultLog makes slog.Default record into the returned
// recorder until the test ends.
func mustRecordDefaultLog(t *testing.T) *logRecorder {
	t.Helper()
	rec := newLogRecorder()
	old := slog.Default()
	slog.SetDefault(slog.New(rec))
	t.Cleanup(func() { slog.SetDefault(old) })
	return rec
}

// reportSchema is the schema of the OpenReport tests. The second version
// makes tasks.status required (so tasks are checked), changes by_title's
// fields (dropped and added), adds tasks.by_owner and notes.by_body, and
// adds the table people.
func reportSchema(second bool) *livedb.Schema {
	if !second {
		return livedb.DefineSchema(livedb.Tables{
			"tasks": livedb.DefineTable(v.Object(v.Fields{
				"title":  v.String(),
				"status": v.Optional(v.String()),
			})).Index("by_status", "status").Index("by_title", "title"),
			"notes": livedb.DefineTable(v.Object(v.Fields{"body": v.String()})),
		})
	}
	return livedb.DefineSchema(livedb.Tables{
		"tasks": livedb.DefineTable(v.Object(v.Fields{
			"title":  v.String(),
			"status": v.String(),
			"owner":  v.Optional(v.String()),
		})).Index("by_status", "status").Index("by_title", "title", "status").Index("by_owner", "owner"),
		"notes":  livedb.DefineTable(v.Object(v.Fields{"body": v.String()})).Index("by_body", "body"),
		"people": livedb.DefineTable(v.Object(v.Fields{"name": v.String()})).Index("by_name", "name"),
	})
}

// mustReportDB creates a database of the first reportSchema at path, with
// 5 tasks and 2 notes, and closes it.
func mustReportDB(t *testing.T, path string) livedb.OpenReport {
	t.Helper()
	db := mustOpenFile(t, path, reportSchema(false), &livedb.Options{NoSync: true})
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		for i := range 5 {
			if _, err := m.DB.Insert("tasks", livedb.Doc{"title": fmt.Sprint("t", i), "status": "open"}); err != nil {
				return err
			}
		}
		for i := range 2 {
			if _, err := m.DB.Insert("notes", livedb.Doc{"body": fmt.Sprint("n", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	r := db.OpenReport()
	livedbtest.MustCheckClose(t, db)
	return r
}

// storageZip is an export with one document in a user table and one in
// the system table _storage, which Import skips (and logs that it did).
func storageZip(t *testing.T) []byte {
	t.Helper()
	const id = "jd78b4mznjwwdmz0xqx0e5115s720d5j" // table 10003
	return mustZip(t,
		zipEntry{"things/documents.jsonl", `{"_id":"` + id + `","_creationTime":5.5,"n":5}` + "\n"},
		zipEntry{"_storage/documents.jsonl", `{"_id":"` + id + `","_creationTime":5.5}` + "\n"},
	)
}

func TestDB_OpenReport_SchemaChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.db")
	created := mustReportDB(t, path)
	wantCreated := livedb.OpenReport{
		TablesCreated: []string{"notes", "tasks"},
		IndexesAdded: []livedb.IndexChange{
			{Table: "tasks", Index: "by_status", Fields: []string{"status"}},
			{Table: "tasks", Index: "by_title", Fields: []string{"title"}},
		},
	}
	if !reflect.DeepEqual(created, wantCreated) {
		t.Errorf("report of the creating Open = %+v, want %+v", created, wantCreated)
	}

	db := mustOpenFile(t, path, reportSchema(true), &livedb.Options{NoSync: true})
	got := db.OpenReport()
	want := livedb.OpenReport{
		TablesCreated: []string{"people"},
		IndexesAdded: []livedb.IndexChange{
			{Table: "notes", Index: "by_body", Fields: []string{"body"}, Entries: 2},
			{Table: "people", Index: "by_name", Fields: []string{"name"}, Entries: 0},
			{Table: "tasks", Index: "by_owner", Fields: []string{"owner"}, Entries: 5},
			{Table: "tasks", Index: "by_title", Fields: []string{"title", "status"}, Entries: 5},
		},
		IndexesDropped: []livedb.IndexChange{
			{Table: "tasks", Index: "by_title", Fields: []string{"title"}, Entries: 5},
		},
		TablesChecked: []livedb.TableCheck{{Table: "tasks", Documents: 5}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("OpenReport = %+v\nwant %+v", got, want)
	}
	// The report is a copy: changing it does not change the next one.
	got.IndexesAdded[0].Fields[0] = "changed"
	got.TablesCreated[0] = "changed"
	if again := db.OpenReport(); !reflect.DeepEqual(again, want) {
		t.Errorf("OpenReport after changing the returned value = %+v", again)
	}
	livedbtest.MustCheckClose(t, db)

	db = mustOpenFile(t, path, reportSchema(true), &livedb.Options{NoSync: true})
	defer livedbtest.MustCheckClose(t, db)
	if got := db.OpenReport(); !reflect.DeepEqual(got, livedb.OpenReport{}) {
		t.Errorf("OpenReport with the stored schema = %+v, want it empty", got)
	}
}

func TestOpen_NilLogger_LogsNothing(t *testing.T) {
	rec := mustRecordDefaultLog(t)
	path := filepath.Join(t.TempDir(), "quiet.db")
	mustReportDB(t, path)
	db := mustOpenFile(t, path, reportSchema(true), &livedb.Options{NoSync: true})
	if r := db.OpenReport(); len(r.IndexesAdded) == 0 || len(r.IndexesDropped) == 0 || len(r.TablesChecked) == 0 {
		t.Fatalf("the schema change did no work to log: %+v", r)
	}
	livedbtest.MustCheckClose(t, db)

	mem := livedbtest.New(t, nil)
	if err := importZip(mem, storageZip(t), nil); err != nil {
		t.Fatalf("Import: %v", err)
	}
	if lines := rec.Lines(); len(lines) != 0 {
		t.Errorf("with a nil Logger, livedb wrote to slog.Default:\n%s", strings.Join(lines, "\n"))
	}
}

func TestOpen_Logger_GetsLines(t *testing.T) {
	def := mustRecordDefaultLog(t)
	rec := newLogRecorder()
	opts := &livedb.Options{NoSync: true, Logger: slog.New(rec)}
	path := filepath.Join(t.TempDir(), "logged.db")
	mustReportDB(t, path)
	db := mustOpenFile(t, path, reportSchema(true), opts)
	livedbtest.MustCheckClose(t, db)
	mem := livedbtest.NewOptions(t, nil, opts)
	if err := importZip(mem, storageZip(t), nil); err != nil {
		t.Fatalf("Import: %v", err)
	}

	want := []string{
		"livedb: backfilling index table=notes index=by_body",
		"livedb: backfilling index table=tasks index=by_title,by_owner",
		"livedb: checking documents against the new schema table=tasks",
		"livedb: dropping index table=tasks index=by_title",
		"livedb: import: skipping system table (livedb has no file storage or system tables) table=_storage",
	}
	if got := rec.Lines(); !slices.Equal(got, want) {
		t.Errorf("Logger got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if lines := def.Lines(); len(lines) != 0 {
		t.Errorf("with a Logger, livedb also wrote to slog.Default:\n%s", strings.Join(lines, "\n"))
	}
}

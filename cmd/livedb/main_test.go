package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/snapshot"
	"github.com/livedb-go/livedb/v"
)

func testSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"workflows": livedb.DefineTable(v.Object(v.Fields{
			"task":   v.String(),
			"status": v.String(),
			"n":      v.Float64(),
			"big":    v.Optional(v.Int64()),
		})).Index("by_status", "status").Index("by_n", "n"),
		"notes": livedb.DefineTable(v.Object(v.Fields{
			"workflowId": v.ID("workflows"),
			"text":       v.String(),
		})).Index("by_workflow", "workflowId"),
	})
}

// MustTestDB creates a database file with five workflows (n = 0..4,
// statuses alternating running / done, big = n as int64 on even n) and a
// note, closes it, and returns its path and the workflow IDs in n order.
func MustTestDB(t *testing.T) (string, []livedb.ID) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := livedb.Open(path, testSchema(), &livedb.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var ids []livedb.ID
	err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		for i := range 5 {
			doc := livedb.Doc{"task": "task " + string(rune('a'+i)), "status": []string{"running", "done"}[i%2], "n": float64(i)}
			if i%2 == 0 {
				doc["big"] = int64(i)
			}
			id, err := m.DB.Insert("workflows", doc)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		_, err := m.DB.Insert("notes", livedb.Doc{"workflowId": ids[0], "text": "tab\there"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path, ids
}

// cli runs the command in-process.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// mustCLI runs the command and fails the test unless it exits 0.
func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := cli(t, args...)
	if code != exitOK {
		t.Fatalf("livedb %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func TestRun_Help(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string // in stdout
		wantErr  string // in stderr
	}{
		{[]string{"--help"}, exitOK, "Commands:", ""},
		{[]string{"help"}, exitOK, "export", ""},
		{[]string{"help", "query"}, exitOK, "-index", ""},
		{[]string{"query", "--help"}, exitOK, "-filter", ""},
		{[]string{"import", "-h"}, exitOK, "-replace", ""},
		{[]string{"watch", "--help"}, exitOK, "polls the file", ""},
		{nil, exitUsage, "", "Commands:"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := cli(t, tc.args...)
			if code != tc.wantCode || !strings.Contains(out, tc.wantOut) || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, %q, %q", code, out, errOut, tc.wantCode, tc.wantOut, tc.wantErr)
			}
		})
	}
}

func TestRun_Usage(t *testing.T) {
	path, _ := MustTestDB(t)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown command", []string{"frobnicate", path}, `unknown command "frobnicate"`},
		{"no database", []string{"tables"}, "no database"},
		{"query without table", []string{"query", path}, "want one table"},
		{"bad order", []string{"query", path, "workflows", "-order", "sideways"}, "-order is asc or desc"},
		{"range without index", []string{"query", path, "workflows", "-eq", "status=running"}, "add -index"},
		{"two lower bounds", []string{"query", path, "workflows", "-index", "by_n", "-gt", "n=1", "-gte", "n=2"}, "at most one lower bound"},
		{"bad pair", []string{"query", path, "workflows", "-filter", "status"}, "want field=value"},
		{"unknown flag", []string{"tables", path, "-verbose"}, "flag provided but not defined"},
		{"get without id", []string{"get", path}, "want one document ID"},
		{"replace and append", []string{"import", path, "x.zip", "-replace", "-append"}, "exclude each other"},
		{"format without table", []string{"import", path, "x.jsonl", "-format", "jsonl"}, "-format needs -table"},
		{"unknown extension", []string{"import", path, "x.txt", "-table", "t"}, "cannot tell the format"},
		{"extra argument", []string{"check", path, "more"}, "unexpected argument"},
		{"watch read-write", []string{"watch", path, "-readonly=false"}, "watch only reads"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := cli(t, tc.args...)
			if code != exitUsage || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, errOut, tc.wantErr)
			}
		})
	}
}

func TestRun_Tables(t *testing.T) {
	path, _ := MustTestDB(t)
	out := mustCLI(t, "tables", path)
	for _, want := range []string{"TABLE", "workflows", "10001", "by_status(status)", "by_workflow(workflowId)"} {
		if !strings.Contains(out, want) {
			t.Errorf("tables output lacks %q:\n%s", want, out)
		}
	}
	var got []struct {
		Name      string `json:"name"`
		Number    uint32 `json:"number"`
		Documents int64  `json:"documents"`
		Indexes   []struct {
			Name   string   `json:"name"`
			Fields []string `json:"fields"`
		} `json:"indexes"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "--json", "tables", "-db", path)), &got); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, tb := range got {
		counts[tb.Name] = tb.Documents
	}
	if len(got) != 2 || counts["workflows"] != 5 || counts["notes"] != 1 || got[0].Number != 10001 || len(got[0].Indexes) == 0 {
		t.Errorf("tables --json = %+v", got)
	}
	// The database may also come first.
	if out := mustCLI(t, path, "tables"); !strings.Contains(out, "workflows") {
		t.Errorf("livedb <db> tables = %q", out)
	}
}

// queryJSON runs a query with --json and returns the documents.
func queryJSON(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	out := mustCLI(t, append(args, "--json")...)
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out)
	}
	var docs []map[string]any
	for _, r := range raw {
		x, err := convexjson.DecodeExport(r)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, x.(map[string]any))
	}
	return docs
}

func TestRun_Query(t *testing.T) {
	path, ids := MustTestDB(t)
	tests := []struct {
		name string
		args []string
		want []int // indexes into ids, in order
	}{
		{"full scan", nil, []int{0, 1, 2, 3, 4}},
		{"eq on index", []string{"-index", "by_status", "-eq", "status=running"}, []int{0, 2, 4}},
		{"float range", []string{"-index", "by_n", "-gt", "n=1", "-lte", "n=3"}, []int{2, 3}},
		{"desc and limit", []string{"-index", "by_n", "-order", "desc", "-limit", "2"}, []int{4, 3}},
		{"filter string", []string{"-filter", "status=done"}, []int{1, 3}},
		{"filter int64", []string{"-filter", "big=2n"}, []int{2}},
		{"filter float64 misses int64", []string{"-filter", "big=2"}, nil},
		{"eq on _id index", []string{"-index", "by_id", "-eq", "_id=" + string(ids[3])}, []int{3}},
		{"flags before the table", []string{"-index", "by_status", "-eq", "status=done", "-order", "desc"}, []int{3, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"query", path, "workflows"}, tc.args...)
			docs := queryJSON(t, args...)
			var got []livedb.ID
			for _, d := range docs {
				got = append(got, livedb.ID(d["_id"].(string)))
			}
			var want []livedb.ID
			for _, i := range tc.want {
				want = append(want, ids[i])
			}
			if !slices.Equal(got, want) {
				t.Errorf("ids = %v, want %v", got, want)
			}
		})
	}
	t.Run("types survive --json", func(t *testing.T) {
		docs := queryJSON(t, "query", path, "workflows", "-limit", "1")
		if docs[0]["big"] != int64(0) || docs[0]["n"] != 0.0 {
			t.Errorf("doc = %#v", docs[0])
		}
	})
	t.Run("human table", func(t *testing.T) {
		out := mustCLI(t, "query", path, "notes")
		for _, want := range []string{"_id", "_creationTime", "workflowId", string(ids[0]), `"tab\there"`, "(1 document)"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("empty", func(t *testing.T) {
		if out := mustCLI(t, "query", path, "workflows", "-filter", "status=nope"); !strings.Contains(out, "no documents") {
			t.Errorf("output = %q", out)
		}
		if out := mustCLI(t, "query", path, "workflows", "-filter", "status=nope", "--json"); strings.TrimSpace(out) != "[]" {
			t.Errorf("--json output = %q", out)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"query", path, "nope"}, `no table "nope" (its tables: notes, workflows)`},
			{[]string{"query", path, "workflows", "-index", "by_nope"}, "lists the indexes"},
			{[]string{"query", path, "workflows", "-index", "by_n", "-eq", "status=x"}, "status"},
		} {
			code, _, errOut := cli(t, tc.args...)
			if code != exitError || !strings.Contains(errOut, tc.want) {
				t.Errorf("%v: exit %d, stderr %q, want exit 1 and %q", tc.args, code, errOut, tc.want)
			}
		}
	})
}

func TestRun_Get(t *testing.T) {
	path, ids := MustTestDB(t)
	out := mustCLI(t, "get", path, string(ids[2]))
	for _, want := range []string{"_id", string(ids[2]), "big", "2\n", "status", `"running"`, "UTC"} {
		if !strings.Contains(out, want) {
			t.Errorf("get output lacks %q:\n%s", want, out)
		}
	}
	x, err := convexjson.DecodeExport([]byte(mustCLI(t, "get", path, string(ids[2]), "--json")))
	if err != nil {
		t.Fatal(err)
	}
	if doc := x.(map[string]any); doc["big"] != int64(2) || doc["n"] != 2.0 {
		t.Errorf("get --json = %v", doc)
	}
	for _, tc := range []struct{ id, want string }{
		{"nonsense", "invalid document ID"},
		{badChecksum(string(ids[0])), "invalid document ID"},
	} {
		if code, _, errOut := cli(t, "get", path, tc.id); code != exitError || !strings.Contains(errOut, tc.want) {
			t.Errorf("get %s: exit %d, %q", tc.id, code, errOut)
		}
	}
	// A well-formed ID of a table that has no such document.
	db, err := livedb.Open(path, nil, &livedb.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var gone livedb.ID
	err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		if gone, err = m.DB.Insert("workflows", livedb.Doc{"task": "x", "status": "x", "n": 9.0}); err != nil {
			return err
		}
		return m.DB.Delete(gone)
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	if code, _, errOut := cli(t, "get", path, string(gone)); code != exitError || !strings.Contains(errOut, "no document with ID") {
		t.Errorf("get of a deleted document: exit %d, %q", code, errOut)
	}
}

func TestRun_ExportImport(t *testing.T) {
	path, ids := MustTestDB(t)
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "backup.zip")
	var res struct {
		File      string `json:"file"`
		Timestamp uint64 `json:"timestamp"`
		Tables    int    `json:"tables"`
		Documents int64  `json:"documents"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "export", path, "-o", zipPath, "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.File != zipPath || res.Tables != 2 || res.Documents != 6 || res.Timestamp == 0 {
		t.Errorf("export --json = %+v", res)
	}
	if _, err := os.Stat(zipPath); err != nil {
		t.Fatal(err)
	}

	restored := filepath.Join(dir, "restored.db")
	code, _, errOut := cli(t, "import", restored, zipPath)
	if code != exitOK || !strings.Contains(errOut, "imported 6 documents into 2 tables") {
		t.Fatalf("import: exit %d, %q", code, errOut)
	}
	if got, want := mustCLI(t, "tables", restored, "--json"), mustCLI(t, "tables", path, "--json"); got != want {
		t.Errorf("tables differ after import:\n got %s\nwant %s", got, want)
	}
	if got, want := mustCLI(t, "query", restored, "workflows", "-index", "by_n", "--json"), mustCLI(t, "query", path, "workflows", "-index", "by_n", "--json"); got != want {
		t.Errorf("documents differ after import:\n got %s\nwant %s", got, want)
	}
	mustCLI(t, "check", restored)

	// A second import finds the tables full.
	code, _, errOut = cli(t, "import", restored, zipPath)
	if code != exitError || !strings.Contains(errOut, "already has documents") || !strings.Contains(errOut, "-replace") {
		t.Errorf("second import: exit %d, %q", code, errOut)
	}
	mustCLI(t, "import", restored, zipPath, "-replace")

	// One table from JSONL, appended.
	jsonl := filepath.Join(dir, "more.jsonl")
	line := `{"task":"from jsonl","status":"new","n":7,"big":{"$integer":"BwAAAAAAAAA="}}` + "\n"
	if err := os.WriteFile(jsonl, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, "import", restored, "-table", "workflows", jsonl, "-append")
	docs := queryJSON(t, "query", restored, "workflows", "-index", "by_status", "-eq", "status=new")
	if len(docs) != 1 || docs[0]["big"] != int64(7) || docs[0]["n"] != 7.0 {
		t.Errorf("imported from JSONL: %v", docs)
	}
	// A bad line is reported with its place, and nothing is written.
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(line+`{"task":"x","status":"new","n":"seven"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = cli(t, "import", restored, "-table", "workflows", bad, "-append")
	if code != exitError || !strings.Contains(errOut, `table "workflows" line 2`) || !strings.Contains(errOut, "Path: .n") {
		t.Errorf("bad import: exit %d, %q", code, errOut)
	}
	if docs := queryJSON(t, "query", restored, "workflows", "-index", "by_status", "-eq", "status=new"); len(docs) != 1 {
		t.Errorf("a failed import wrote %d documents", len(docs)-1)
	}
	// Import of a missing file leaves no database behind.
	missing := filepath.Join(dir, "never.db")
	if code, _, _ := cli(t, "import", missing, filepath.Join(dir, "nope.zip")); code != exitError {
		t.Errorf("import of a missing file: exit %d", code)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a failed import created %s", missing)
	}
	// Export to stdout.
	_, out, _ := cli(t, "export", path, "-o", "-", "-table", "notes")
	if !strings.HasPrefix(out, "PK") {
		t.Errorf("export -o - did not write a ZIP to stdout")
	}
	_ = ids
}

func TestRun_SchemaAndCheck(t *testing.T) {
	path, _ := MustTestDB(t)
	var schema struct {
		Tables []struct {
			TableName string `json:"tableName"`
		} `json:"tables"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "schema", path, "--json")), &schema); err != nil {
		t.Fatal(err)
	}
	if len(schema.Tables) != 2 {
		t.Errorf("schema = %+v", schema)
	}
	if out := mustCLI(t, "schema", path); !strings.Contains(out, "\n  \"tables\"") {
		t.Errorf("schema is not indented:\n%s", out)
	}
	if out := mustCLI(t, "check", path); !strings.Contains(out, "ok: 2 tables, 6 documents") {
		t.Errorf("check = %q", out)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(mustCLI(t, "check", path, "--json")), &res); err != nil || res["ok"] != true {
		t.Errorf("check --json = %v, %v", res, err)
	}
}

func TestRun_Errors(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notDB, []byte("hello, this is not a database at all, just some text that is long enough"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tables", filepath.Join(dir, "missing.db")}, "no such file"},
		{[]string{"tables", notDB}, "livedb: not a livedb database: " + notDB + ": not a bbolt file"},
		{[]string{"import", filepath.Join(dir, "new.db"), dir}, "is a directory"},
		{[]string{"import", filepath.Join(dir, "new.db"), notDB, "-table", "t", "-format", "json"}, "want a JSON array"},
	} {
		code, _, errOut := cli(t, tc.args...)
		if code != exitError || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want exit 1 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestRun_Locked(t *testing.T) {
	path, _ := MustTestDB(t)
	t.Run("held by a writer", func(t *testing.T) {
		db, err := livedb.Open(path, nil, &livedb.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		code, _, errOut := cli(t, "tables", path, "-timeout", "50ms")
		if code != exitError || !strings.Contains(errOut, "open for writing") || !strings.Contains(errOut, "not even read-only") {
			t.Errorf("tables: exit %d, %q", code, errOut)
		}
		zipPath := filepath.Join(t.TempDir(), "x.zip")
		if _, err := snapshot.Export(context.Background(), db, mustCreate(t, zipPath), nil); err != nil {
			t.Fatal(err)
		}
		code, _, errOut = cli(t, "import", path, zipPath, "-timeout", "50ms")
		if code != exitError || !strings.Contains(errOut, "needs the file to itself") {
			t.Errorf("import: exit %d, %q", code, errOut)
		}
	})
	t.Run("held by a reader", func(t *testing.T) {
		db, err := livedb.Open(path, nil, &livedb.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		mustCLI(t, "tables", path, "-timeout", "50ms") // readers share the file
		code, _, errOut := cli(t, "tables", path, "-readonly=false", "-timeout", "50ms")
		if code != exitError || !strings.Contains(errOut, "drop -readonly=false") {
			t.Errorf("tables -readonly=false: exit %d, %q", code, errOut)
		}
	})
}

// mustCreate creates a file that the test closes at cleanup.
func mustCreate(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until cond holds; it fails the test after a generous
// deadline (a hang, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitExit returns the exit code a command sent on done, failing the test
// when none arrives within 20 seconds (a hang guard, not a speed limit).
func waitExit(t *testing.T, what string, done <-chan int) int {
	t.Helper()
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	select {
	case code := <-done:
		return code
	case <-timer.C:
		t.Fatalf("gave up waiting for %s to exit", what)
		return 0
	}
}

func TestRun_Watch(t *testing.T) {
	path, ids := MustTestDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, []string{"watch", path, "workflows", "-all", "-interval", "10ms", "--json"}, &out, &errOut)
	}()
	// -all prints the history first: five inserts of workflows, not the note.
	waitFor(t, "the history", func() bool { return strings.Count(out.String(), "\n") >= 5 })

	// Another "process" writes between two polls.
	db, err := livedb.Open(path, nil, &livedb.Options{NoSync: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		if err := m.DB.Patch(ids[1], livedb.Doc{"status": "running"}); err != nil {
			return err
		}
		_, err := m.DB.Insert("notes", livedb.Doc{"workflowId": ids[1], "text": "not watched"})
		return err
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	waitFor(t, "the update", func() bool { return strings.Contains(out.String(), `"op":"update"`) })
	cancel()
	if code := waitExit(t, "watch after cancel", done); code != exitOK {
		t.Errorf("watch exit %d, stderr %q", code, errOut.String())
	}

	var changes []struct {
		Op    string         `json:"op"`
		Table string         `json:"table"`
		ID    string         `json:"id"`
		Old   map[string]any `json:"old"`
		New   map[string]any `json:"new"`
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var c struct {
			Op    string         `json:"op"`
			Table string         `json:"table"`
			ID    string         `json:"id"`
			Old   map[string]any `json:"old"`
			New   map[string]any `json:"new"`
		}
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		changes = append(changes, c)
	}
	if len(changes) != 6 {
		t.Fatalf("changes = %+v, want 5 inserts and 1 update of workflows", changes)
	}
	last := changes[5]
	if last.Op != "update" || last.ID != string(ids[1]) || last.Old["status"] != "done" || last.New["status"] != "running" {
		t.Errorf("last change = %+v", last)
	}
	for _, c := range changes {
		if c.Table != "workflows" {
			t.Errorf("change of table %s printed", c.Table)
		}
	}
}

func TestRun_WatchHuman(t *testing.T) {
	path, ids := MustTestDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, []string{"watch", path, "-interval", "10ms"}, &out, &errOut)
	}()
	waitFor(t, "the banner", func() bool { return strings.Contains(errOut.String(), "watching every table") })
	db, err := livedb.Open(path, nil, &livedb.Options{NoSync: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error { return m.DB.Delete(ids[4]) })
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	waitFor(t, "the delete", func() bool { return strings.Contains(out.String(), "delete") })
	cancel()
	waitExit(t, "watch after cancel", done)
	if got := out.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "workflows  "+string(ids[4])) {
		t.Errorf("watch printed %q, want one delete line (no history without -all)", got)
	}
}

func TestParseValue(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"5", 5.0},
		{"5n", int64(5)},
		{"-12n", int64(-12)},
		{"5.5", 5.5},
		{"running", "running"},
		{`"5"`, "5"},
		{"true", true},
		{"null", nil},
		{"[1,2]", []any{1.0, 2.0}},
		{`{"a":1}`, map[string]any{"a": 1.0}},
		{"5nn", "5nn"},
		{"n", "n"},
		{"", ""},
		{`{"$integer":"BQAAAAAAAAA="}`, int64(5)},
	}
	for _, tc := range tests {
		if got := parseValue(tc.in); !v.Equal(got, tc.want) {
			t.Errorf("parseValue(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestProgressBar_Line(t *testing.T) {
	var buf bytes.Buffer
	b := newProgressBar(&buf, "exporting")
	b.on = true
	b.report(livedb.Progress{Op: "export", Table: "workflows", Done: 250, Total: 1000})
	b.report(livedb.Progress{Op: "export", Table: "workflows", Done: 1000, Total: 1000})
	b.report(livedb.Progress{Op: "export", Table: "notes", Done: 3, Total: -1})
	b.report(livedb.Progress{Op: "backfill", Table: "ignored", Done: 3, Total: 3})
	b.finish()
	out := buf.String()
	for _, want := range []string{
		"\rexporting workflows [######..................] 250/1000 25%\x1b[K",
		"\rexporting workflows [########################] 1000/1000 100%\x1b[K",
		"\r\x1b[K",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("bar output %q lacks %q", out, want)
		}
	}
	if b.total() != 1003 || len(b.tables) != 2 {
		t.Errorf("tally = %d over %v", b.total(), b.tables)
	}
	var quiet bytes.Buffer
	q := newProgressBar(&quiet, "importing")
	q.report(livedb.Progress{Op: "import", Table: "t", Done: 5, Total: 5})
	q.finish()
	if quiet.Len() != 0 || q.total() != 5 {
		t.Errorf("a bar off a terminal wrote %q", quiet.String())
	}
}

// badChecksum returns id with its last character changed, so that its
// checksum no longer matches.
func badChecksum(id string) string {
	last := "x"
	if strings.HasSuffix(id, last) {
		last = "y"
	}
	return id[:len(id)-1] + last
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/pgtest"
)

// TestMain closes the PostgreSQL cluster that the shared-database tests
// start (pgtest.Require) at the end of the run. Run with writerEnv set,
// the test binary is instead a writer process of that shared database
// (startWriterProcess).
func TestMain(m *testing.M) {
	if dsn := os.Getenv(writerEnv); dsn != "" {
		os.Exit(writerProcess(dsn))
	}
	os.Exit(pgtest.Main(m, &pgtest.Options{NoFsync: true}))
}

// writerEnv holds the DSN for the writer process.
const writerEnv = "LIVEDB_CLI_TEST_WRITER"

// writerProcess opens the shared database dsn and inserts workflows
// "p0", "p1", ... until its stdin closes (the test ended, or died).
func writerProcess(dsn string) int {
	db, err := livedb.Open(dsn, nil, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	for i := 0; ctx.Err() == nil; i++ {
		err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("workflows", livedb.Doc{"task": fmt.Sprintf("p%d", i), "status": "child", "n": float64(100 + i)})
			return err
		})
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if err := db.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startWriterProcess starts the test binary as a writer process of dsn,
// and returns a channel that receives its exit error once it exits.
func startWriterProcess(t *testing.T, dsn string) <-chan error {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), writerEnv+"="+dsn)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = stdin.Close() // the writer stops
		if err := waitErr(t, "the writer process to stop", exited); err != nil {
			t.Errorf("the writer process: %v\n%s", err, stderr.String())
		}
	})
	return exited
}

// waitErr returns the error sent on ch, failing the test when none arrives
// within 20 seconds (a hang guard, not a speed limit).
func waitErr(t *testing.T, what string, ch <-chan error) error {
	t.Helper()
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	select {
	case err := <-ch:
		return err
	case <-timer.C:
		t.Fatalf("gave up waiting for %s", what)
		return nil
	}
}

// sharedWriter is another process of a shared database, committing all
// the time: mutation i inserts note "w<i>" of workflow wf and sets wf's n
// to i+1, so that in every snapshot wf's n counts the notes "w…".
type sharedWriter struct {
	n    atomic.Int64 // mutations committed
	stop context.CancelFunc
	done chan error
}

// MustSharedDB opens a shared database on a new PostgreSQL database with
// the documents of MustTestDB, and starts a writer in it (another DB: a
// process of its own, with its own copy and connections) that commits
// until the test ends. It returns the DSN, the workflow IDs and the writer.
func MustSharedDB(t *testing.T) (string, []livedb.ID, *sharedWriter) {
	t.Helper()
	dsn := pgtest.Require(t).NewDatabase(t)
	db, err := livedb.Open(dsn, testSchema(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []livedb.ID
	err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		for i := range 5 {
			doc := livedb.Doc{"task": "task " + string(rune('a'+i)), "status": []string{"running", "done"}[i%2], "n": float64(i)}
			id, err := m.DB.Insert("workflows", doc)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		_, err := m.DB.Insert("notes", livedb.Doc{"workflowId": ids[1], "text": "seed"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &sharedWriter{stop: cancel, done: make(chan error, 1)}
	go func() {
		for i := 0; ; i++ {
			err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
				if _, err := m.DB.Insert("notes", livedb.Doc{"workflowId": ids[0], "text": fmt.Sprintf("w%d", i)}); err != nil {
					return err
				}
				return m.DB.Patch(ids[0], livedb.Doc{"n": float64(i + 1)})
			})
			if ctx.Err() != nil {
				w.done <- db.Close()
				return
			}
			if err != nil {
				_ = db.Close()
				w.done <- err
				return
			}
			w.n.Store(int64(i + 1))
		}
	}()
	t.Cleanup(func() {
		w.stop()
		if err := <-w.done; err != nil {
			t.Errorf("the writer: %v", err)
		}
	})
	// The commands below run while it writes.
	waitFor(t, "the writer's first commits", func() bool { return w.n.Load() >= 3 })
	return dsn, ids, w
}

// during runs fn, a command on the shared database, while the writer
// commits, and fails the test unless the writer goes on committing: a
// command that held the database (a lock it did not release) stops it.
// Whether a commit lands inside the command's own run depends on how fast
// the command is, so that is not required: a fast command once made this
// test fail.
func (w *sharedWriter) during(t *testing.T, what string, fn func()) {
	t.Helper()
	before := w.n.Load()
	fn()
	waitFor(t, "the writer to commit after "+what, func() bool { return w.n.Load() > before })
}

func TestRun_SharedReadCommands(t *testing.T) {
	dsn, ids, w := MustSharedDB(t)

	w.during(t, "tables", func() {
		var tables []struct {
			Name      string `json:"name"`
			Documents int64  `json:"documents"`
		}
		if err := json.Unmarshal([]byte(mustCLI(t, "tables", dsn, "--json")), &tables); err != nil {
			t.Fatal(err)
		}
		if len(tables) != 2 || tables[0].Name != "notes" || tables[0].Documents < 4 || tables[1].Documents != 5 {
			t.Errorf("tables = %+v, want notes (4 or more) and workflows (5)", tables)
		}
	})
	w.during(t, "get", func() {
		doc := map[string]any{}
		if err := json.Unmarshal([]byte(mustCLI(t, "get", dsn, string(ids[2]), "--json")), &doc); err != nil {
			t.Fatal(err)
		}
		if doc["task"] != "task c" {
			t.Errorf("get = %v", doc)
		}
	})
	w.during(t, "query", func() {
		start := w.n.Load()
		docs := queryJSON(t, "query", dsn, "notes", "-index", "by_workflow", "-eq", "workflowId="+string(ids[0]))
		if int64(len(docs)) < start {
			t.Errorf("query found %d notes of the writer, which had committed %d before it started", len(docs), start)
		}
		for i, d := range docs { // by_workflow orders them by creation
			if d["text"] != fmt.Sprintf("w%d", i) {
				t.Fatalf("note %d is %v: a commit is missing or out of order", i, d["text"])
			}
		}
	})
	w.during(t, "schema", func() {
		if out := mustCLI(t, "schema", dsn); !strings.Contains(out, `"by_workflow"`) {
			t.Errorf("schema = %s", out)
		}
	})
	w.during(t, "check", func() {
		if out := mustCLI(t, "check", dsn); !strings.HasPrefix(out, "ok: 2 tables") {
			t.Errorf("check = %q", out)
		}
	})

	// import writes, as one more process.
	jsonl := filepath.Join(t.TempDir(), "notes.jsonl")
	if err := os.WriteFile(jsonl, []byte(`{"workflowId":"`+string(ids[4])+`","text":"imported"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.during(t, "import", func() { mustCLI(t, "import", dsn, "-table", "notes", jsonl, "-append") })
	if docs := queryJSON(t, "query", dsn, "notes", "-index", "by_workflow", "-eq", "workflowId="+string(ids[4])); len(docs) != 1 || docs[0]["text"] != "imported" {
		t.Errorf("notes of workflow 4 after import: %v", docs)
	}

	// export takes one snapshot: in it, workflow 0's n counts its notes.
	zipPath := filepath.Join(t.TempDir(), "shared.zip")
	w.during(t, "export", func() { mustCLI(t, "export", dsn, "-o", zipPath) })
	restored := filepath.Join(t.TempDir(), "restored.db")
	mustCLI(t, "import", restored, zipPath)
	notes := queryJSON(t, "query", restored, "notes", "-index", "by_workflow", "-eq", "workflowId="+string(ids[0]))
	wf := queryJSON(t, "query", restored, "workflows", "-index", "by_n", "-gte", "n=5")
	if len(wf) != 1 || wf[0]["_id"] != string(ids[0]) || wf[0]["n"] != float64(len(notes)) {
		t.Errorf("the export is not one snapshot: %d notes of workflow 0, and workflows with n ≥ 5: %v", len(notes), wf)
	}
}

func TestRun_SharedWatch(t *testing.T) {
	dsn, ids, w := MustSharedDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() { done <- runContext(ctx, []string{"watch", dsn, "notes"}, &out, &errOut) }()
	re := regexp.MustCompile(`after commit (\d+), live`)
	waitFor(t, "watch to start", func() bool {
		select {
		case code := <-done:
			t.Fatalf("watch exited with %d: %s", code, errOut.String())
		default:
		}
		return re.MatchString(errOut.String())
	})
	cursor, _ := strconv.ParseUint(re.FindStringSubmatch(errOut.String())[1], 10, 64)

	// A commit of yet another process, made after watch started, shows
	// while that process and the writer go on.
	other, err := livedb.Open(dsn, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ts, err := other.MutationTS(context.Background(), func(m *livedb.MutationCtx) error {
		_, err := m.DB.Insert("notes", livedb.Doc{"workflowId": ids[3], "text": "after start"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if ts <= cursor {
		t.Fatalf("a commit after watch started has timestamp %d, not after watch's %d", ts, cursor)
	}
	waitFor(t, "watch to print the other process's commit", func() bool { return strings.Contains(out.String(), `"text":"after start"`) })
	before := w.n.Load()
	waitFor(t, "watch to print the writer's later commits", func() bool {
		return strings.Contains(out.String(), fmt.Sprintf(`"text":"w%d"`, before+1))
	})

	// Every commit after watch's start is printed once, in order: the
	// writer's notes w<k> form one run of consecutive k.
	cancel()
	if code := waitExit(t, "watch after cancel", done); code != exitOK {
		t.Errorf("watch exit %d, stderr %q", code, errOut.String())
	}
	var got []int
	for _, m := range regexp.MustCompile(`"text":"w(\d+)"`).FindAllStringSubmatch(out.String(), -1) {
		k, _ := strconv.Atoi(m[1])
		got = append(got, k)
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("watch printed the writer's notes %v: a commit is missing, repeated or out of order", got)
		}
	}
	if strings.Contains(out.String(), "workflows") {
		t.Errorf("watch notes printed changes of workflows:\n%s", out.String())
	}
}

func TestRun_SharedServe(t *testing.T) {
	dsn, _, w := MustSharedDB(t)
	w.during(t, "serve", func() {
		url, out, stop := startServe(t, dsn, "-admin-key", "k-1")
		if !strings.Contains(out.String(), "serving postgres://") || !strings.Contains(out.String(), "(read-only)") {
			t.Errorf("serve printed:\n%s", out)
		}
		status, m := postQuery(t, url, "_system/livedb:tables", `{}`, "Convex k-1")
		if status != 200 || !strings.Contains(fmt.Sprint(m["value"]), "notes") {
			t.Errorf("raw tables over a shared database: %d %v", status, m)
		}
		if code := stop(); code != exitOK {
			t.Errorf("serve exit %d", code)
		}
	})
}

// TestRun_SharedEmpty: the read-only commands on a PostgreSQL database
// that holds no livedb database say so, and write nothing there.
func TestRun_SharedEmpty(t *testing.T) {
	dsn := pgtest.Require(t).NewDatabase(t)
	for _, args := range [][]string{{"tables", dsn}, {"watch", dsn}, {"query", dsn, "notes"}} {
		code, _, errOut := cli(t, args...)
		if code != exitError || !strings.Contains(errOut, "no livedb database is there yet") {
			t.Errorf("livedb %s on an empty database: exit %d, stderr %q", args[0], code, errOut)
		}
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'livedb\_%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("read-only commands made %d livedb tables", n)
	}
}

func TestDisplayName_HidesPassword(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://app:s3cret@db.example:5432/app?search_path=livedb": "postgres://app:xxxxx@db.example:5432/app?search_path=livedb",
		"postgresql://db.example/app":                                  "postgresql://db.example/app",
		"state.db":                                                     "state.db",
	} {
		if got := displayName(in); got != want {
			t.Errorf("displayName(%q) = %q, want %q", in, got, want)
		}
	}
	code, _, errOut := cli(t, "tables", "postgres://app:s3cret@127.0.0.1:1/app?connect_timeout=1")
	if code != exitError || strings.Contains(errOut, "s3cret") {
		t.Errorf("tables on an unreachable server: exit %d, stderr %q (the password must not show)", code, errOut)
	}
}

// TestRun_SharedWatchProcess: watch prints the commits of another OS
// process as they land, while that process runs on.
func TestRun_SharedWatchProcess(t *testing.T) {
	dsn, _, _ := MustSharedDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() { done <- runContext(ctx, []string{"watch", dsn, "workflows", "--json"}, &out, &errOut) }()
	// The writer goroutine of MustSharedDB patches workflow 0 all the
	// time: its first update printed says that watch follows the log.
	waitFor(t, "watch to print a change", func() bool {
		select {
		case code := <-done:
			t.Fatalf("watch exited with %d: %s", code, errOut.String())
		default:
		}
		return strings.Contains(out.String(), `"op":"update"`)
	})
	exited := startWriterProcess(t, dsn)
	waitFor(t, "watch to print the writer process's inserts", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("the writer process exited (%v) before watch printed its commits", err)
		default:
		}
		return strings.Contains(out.String(), `"task":"p3"`)
	})
	cancel()
	if code := waitExit(t, "watch after cancel", done); code != exitOK {
		t.Errorf("watch exit %d, stderr %q", code, errOut.String())
	}
	var got []int
	for _, m := range regexp.MustCompile(`"task":"p(\d+)"`).FindAllStringSubmatch(out.String(), -1) {
		k, _ := strconv.Atoi(m[1])
		got = append(got, k)
	}
	for i, k := range got {
		if k != i {
			t.Fatalf("watch printed the writer process's workflows %v: want p0, p1, ... once each, in order", got)
		}
	}
}

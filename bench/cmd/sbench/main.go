// Command sbench benchmarks livedb on a shared PostgreSQL (issue 16):
// mutations/s with 1 and 3 processes of 8 writers each, the time from a
// commit to a subscriber in another process, and the time a joining
// process takes to catch up with a database of 100k documents; and the
// same workloads on one process over bbolt, for comparison. It reports
// the cost of an fsync on the machine it ran on.
//
//	cd bench && go run ./cmd/sbench -out results-shared.md
//
// Without -pg it starts a throwaway PostgreSQL cluster (initdb and
// postgres from /usr/lib/postgresql/15/bin, as the postgres user when run
// as root) on a unix socket, with fsync on, and removes it at the end.
// Every process of a workload is this binary run again with -child. See
// README.md, "Shared PostgreSQL".
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/bench/internal/stores"
	"github.com/livedb-go/livedb/bench/internal/workload"
	"github.com/livedb-go/livedb/internal/pgtest"
)

type config struct {
	pg        string
	out       string
	rounds    int
	writers   int
	procs     []int
	muts      int
	preload   int
	commits   int
	catchN    int
	latN      int
	groups    []string
	fsyncTest bool
	dir       string
	profile   string

	// child mode
	child string
	dsn   string // shared database; "" means the bbolt file -file
	file  string
	copy  string // LocalCopy of a shared database
	n     int
	cpu   string
}

func main() {
	var c config
	var procs, groups string
	flag.StringVar(&c.pg, "pg", "", "DSN of an existing PostgreSQL server whose user may create databases (default: start a throwaway cluster with fsync on)")
	flag.StringVar(&c.out, "out", "results-shared.md", "markdown report to write")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds; the report gives the median of each figure, and its min and max")
	flag.IntVar(&c.writers, "writers", 8, "writer goroutines per process")
	flag.StringVar(&procs, "procs", "1,3", "process counts of the write workload")
	flag.IntVar(&c.muts, "muts", 250, "mutations per writer goroutine")
	flag.IntVar(&c.preload, "preload", 10_000, "documents in the database before the write workload")
	flag.IntVar(&c.commits, "commits", 200, "commits whose latency to a subscriber is measured")
	flag.IntVar(&c.latN, "lat-n", 10_000, "documents in the database of the latency workload")
	flag.IntVar(&c.catchN, "catchup-n", 100_000, "documents in the database a process joins")
	flag.StringVar(&groups, "groups", "fsync,write,latency,catchup", "workloads to run")
	flag.BoolVar(&c.fsyncTest, "pg-test-fsync", true, "also run pg_test_fsync -s 1 in the cluster's directory (cluster started here only)")
	flag.StringVar(&c.dir, "dir", "", "work directory for bbolt files (default: a new temporary directory, removed at the end)")
	flag.StringVar(&c.profile, "profile", "", "write a CPU profile of every writer, subscriber and joining process of round 1 into this directory")
	flag.StringVar(&c.cpu, "cpuprofile", "", "child: write a CPU profile of this process")
	flag.StringVar(&c.child, "child", "", "internal: run one process of a workload (writer, sub, join)")
	flag.StringVar(&c.dsn, "dsn", "", "child: the shared database")
	flag.StringVar(&c.file, "file", "", "child: the bbolt file, when -dsn is empty")
	flag.StringVar(&c.copy, "copy", "", "child: the bbolt file of the local copy (default: memory)")
	flag.IntVar(&c.n, "n", 0, "child: documents in the database")
	flag.Parse()

	var err error
	if c.procs, err = ints(procs); err != nil {
		fatal(err)
	}
	c.groups = split(groups)
	if c.child != "" {
		err = runChild(&c)
	} else {
		err = drive(&c)
	}
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "sbench:", err)
	os.Exit(1)
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range split(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad count %q: want a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// open opens the child's database: the shared one (-dsn, with -copy) or
// the bbolt file (-file, fsync on every commit).
func (c *config) open() (*stores.Livedb, error) {
	if c.dsn != "" {
		return stores.OpenLivedb(c.dsn, &livedb.Options{LocalCopy: c.copy})
	}
	return stores.OpenLivedb(c.file, nil)
}

// writerResult is what a writer process reports.
type writerResult struct {
	Start, End int64 // unix ns: after "go", and when its last writer ended
	Count      int
	Lat        []float64 // ns per mutation, as its caller saw it
	Groups     uint64
	Commits    uint64
	CommitNS   int64
	MaxGroup   int
	Retries    uint64
	CPUNS      int64 // user + system CPU time of the process during the run
}

func runChild(c *config) error {
	if c.cpu != "" {
		f, err := os.Create(c.cpu)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	switch c.child {
	case "writer":
		return childWriter(c)
	case "sub":
		return childSub(c)
	case "join":
		return childJoin(c)
	}
	return fmt.Errorf("unknown child %q", c.child)
}

// childWriter opens the database, says "ready", waits for a line on
// stdin, then runs c.writers goroutines of c.muts single-document inserts
// each, and prints a writerResult.
func childWriter(c *config) error {
	st, err := c.open()
	if err != nil {
		return err
	}
	defer st.Close()
	ds := workload.Generate(c.writers * c.muts)
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("wait for go: %w", err)
	}
	before := st.DB().Stats()
	cpu0, err := cpuTime()
	if err != nil {
		return err
	}
	res := writerResult{Start: time.Now().UnixNano()}
	lats := make([][]float64, c.writers)
	errs := make([]error, c.writers)
	var wg sync.WaitGroup
	for w := range c.writers {
		wg.Go(func() {
			for i := range c.muts {
				t0 := time.Now()
				if _, err := st.Insert(ds.Sessions[w*c.muts+i]); err != nil {
					errs[w] = fmt.Errorf("writer %d, insert %d: %w", w, i, err)
					return
				}
				lats[w] = append(lats[w], float64(time.Since(t0).Nanoseconds()))
			}
		})
	}
	wg.Wait()
	res.End = time.Now().UnixNano()
	cpu1, err := cpuTime()
	if err != nil {
		return err
	}
	res.CPUNS = int64(cpu1 - cpu0)
	for w := range c.writers {
		if errs[w] != nil {
			return errs[w]
		}
		res.Lat = append(res.Lat, lats[w]...)
	}
	after := st.DB().Stats()
	res.Count = len(res.Lat)
	res.Groups = after.Groups - before.Groups
	res.Commits = after.Commits - before.Commits
	res.CommitNS = int64(after.CommitTime - before.CommitTime)
	res.MaxGroup = after.MaxGroup
	res.Retries = after.Retries - before.Retries
	return json.NewEncoder(os.Stdout).Encode(res)
}

// cpuTime returns the user and system CPU time this process has used.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// childSub opens the shared database, subscribes to the running sessions
// of workflow 0 and prints every result as "obs <count> <unix ns>", the
// time taken as the result arrives, until stdin closes.
func childSub(c *config) error {
	st, err := c.open()
	if err != nil {
		return err
	}
	defer st.Close()
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	stop, err := st.Watch(workload.WorkflowIDs(c.n)[0], func(n int) {
		at := time.Now().UnixNano()
		mu.Lock()
		fmt.Fprintf(out, "obs %d %d\n", n, at)
		out.Flush()
		mu.Unlock()
	})
	if err != nil {
		return err
	}
	defer stop()
	_, _ = io.Copy(io.Discard, os.Stdin) // the driver closes stdin to stop
	return nil
}

// childJoin measures the time from before Open to the answer of the first
// indexed query (the running sessions of workflow 0, W4), and checks it.
func childJoin(c *config) error {
	start := time.Now()
	st, err := c.open()
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.Running(workload.WorkflowIDs(c.n)[0])
	if err != nil {
		return err
	}
	ns := time.Since(start).Nanoseconds()
	if n != workload.RunningPerWorkflow {
		return fmt.Errorf("joined copy has %d running sessions in workflow 0, want %d", n, workload.RunningPerWorkflow)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]int64{"ns": ns})
}

// driver state.
type driver struct {
	c       *config
	exe     string
	cluster *pgtest.Cluster
	dbs     []string // databases created, dropped at the end
	seq     int
	rep     *report
}

func drive(c *config) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if c.profile != "" {
		if err := os.MkdirAll(c.profile, 0o755); err != nil {
			return err
		}
	}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "livedb-sbench-"); err != nil {
			return err
		}
		defer os.RemoveAll(c.dir)
	}
	if c.pg != "" {
		// pgtest uses the server LIVEDB_POSTGRES_URL names instead of
		// starting one.
		os.Setenv(pgtest.URLEnv, c.pg)
	}
	progress("start PostgreSQL")
	cluster, err := pgtest.Start(nil) // fsync on
	if err != nil {
		return err
	}
	d := &driver{c: c, exe: exe, cluster: cluster, rep: newReport(c)}
	err = d.run()
	d.dropAll()
	if cerr := cluster.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close the cluster: %w", cerr)
	}
	if err != nil {
		return err
	}
	md := d.rep.markdown()
	fmt.Print(md)
	return os.WriteFile(c.out, []byte(md), 0o644)
}

func (d *driver) run() error {
	has := func(g string) bool { return slices.Contains(d.c.groups, g) }
	if err := d.serverInfo(); err != nil {
		return err
	}
	if has("fsync") {
		if err := d.fsync(); err != nil {
			return fmt.Errorf("fsync: %w", err)
		}
	}
	for round := 1; round <= d.c.rounds; round++ {
		if has("write") {
			if err := d.writes(round); err != nil {
				return fmt.Errorf("write, round %d: %w", round, err)
			}
		}
		if has("latency") {
			if err := d.latency(round); err != nil {
				return fmt.Errorf("latency, round %d: %w", round, err)
			}
		}
	}
	if has("catchup") {
		if err := d.catchUp(); err != nil {
			return fmt.Errorf("catch-up: %w", err)
		}
	}
	return nil
}

// admin runs fn on a connection to the server's postgres database.
func (d *driver) admin(fn func(ctx context.Context, conn *pgx.Conn) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.cluster.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return fn(ctx, conn)
}

// newDatabase creates an empty database and returns its DSN.
func (d *driver) newDatabase(what string) (string, error) {
	d.seq++
	name := fmt.Sprintf("sbench_%d_%d_%s", os.Getpid(), d.seq, what)
	err := d.admin(func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	d.dbs = append(d.dbs, name)
	return d.cluster.DSN(name), nil
}

// dropAll drops the databases the run created (on an external server;
// a cluster started here is removed whole).
func (d *driver) dropAll() {
	for _, name := range d.dbs {
		err := d.admin(func(ctx context.Context, conn *pgx.Conn) error {
			_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			return err
		})
		if err != nil {
			progress("drop database %s: %v", name, err)
		}
	}
}

func (d *driver) serverInfo() error {
	return d.admin(func(ctx context.Context, conn *pgx.Conn) error {
		for _, q := range []struct{ name, sql string }{
			{"version", "SELECT version()"},
			{"fsync", "SHOW fsync"},
			{"synchronous_commit", "SHOW synchronous_commit"},
			{"wal_sync_method", "SHOW wal_sync_method"},
			{"data_directory", "SELECT current_setting('data_directory', true)"},
		} {
			var s *string
			if err := conn.QueryRow(ctx, q.sql).Scan(&s); err != nil {
				return fmt.Errorf("%s: %w", q.sql, err)
			}
			if s != nil {
				d.rep.server = append(d.rep.server, [2]string{q.name, *s})
			}
		}
		return nil
	})
}

// fsync measures a bare INSERT round trip (one autocommit transaction)
// with synchronous_commit on and off: the difference is what PostgreSQL
// pays to flush its WAL at a commit. It also runs pg_test_fsync.
func (d *driver) fsync() error {
	progress("fsync cost")
	dsn, err := d.newDatabase("fsync")
	if err != nil {
		return err
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id bigserial PRIMARY KEY, v text)"); err != nil {
		return err
	}
	for _, mode := range []string{"on", "off", "on", "off"} {
		if _, err := conn.Exec(ctx, "SET synchronous_commit = "+mode); err != nil {
			return err
		}
		var lat []float64
		for range 300 {
			t0 := time.Now()
			if _, err := conn.Exec(ctx, "INSERT INTO t (v) VALUES ('x')"); err != nil {
				return err
			}
			lat = append(lat, float64(time.Since(t0).Nanoseconds()))
		}
		d.rep.add("fsync.insert."+mode, percentile(lat, 50))
	}
	if !d.c.fsyncTest || d.cluster.External() {
		return nil
	}
	bin := filepath.Join(pgtest.DefaultBinDir, "pg_test_fsync")
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("pg_test_fsync"); err != nil {
			progress("pg_test_fsync not found: skipped")
			return nil
		}
	}
	// The cluster's directory: the same file system as the WAL.
	f := filepath.Join(filepath.Dir(d.cluster.LogPath()), "pg_test_fsync.tmp")
	out, err := exec.Command(bin, "-s", "1", "-f", f).CombinedOutput()
	_ = os.Remove(f)
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", bin, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "usecs/op") && (strings.Contains(line, "fdatasync") || strings.Contains(line, "open_datasync")) {
			d.rep.pgTestFsync = append(d.rep.pgTestFsync, strings.Join(strings.Fields(line), " "))
			if len(d.rep.pgTestFsync) == 2 {
				break // the one-8kB-write section
			}
		}
	}
	return nil
}

// preload creates a shared database and loads n documents into it from
// this process; it returns the DSN and the IDs.
func (d *driver) preload(what string, n int) (string, []string, error) {
	dsn, err := d.newDatabase(what)
	if err != nil {
		return "", nil, err
	}
	st, err := stores.OpenLivedb(dsn, nil)
	if err != nil {
		return "", nil, err
	}
	ids, err := workload.Load(st, workload.Generate(n))
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return dsn, ids, err
}

// child is one running child process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	errb  *strings.Builder
}

func (d *driver) start(args ...string) (*child, error) {
	cmd := exec.Command(d.exe, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	errb := &strings.Builder{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout), errb: errb}, nil
}

// line reads one line of the child's output; a child that ended instead
// is an error with its stderr.
func (ch *child) line() (string, error) {
	s, err := ch.out.ReadString('\n')
	if err != nil {
		// The caller waits for the child (or abandons it on an error: a
		// child ends when its stdin closes with this process).
		return "", fmt.Errorf("child %v: read its output: %w", ch.cmd.Args[1:], err)
	}
	return strings.TrimSpace(s), nil
}

// failed waits for a child whose output ended early and returns err
// with what the child said.
func (ch *child) failed(err error) error {
	_ = ch.stdin.Close()
	werr := ch.cmd.Wait()
	return fmt.Errorf("%w (exit: %v): %s", err, werr, ch.errb.String())
}

// wait closes the child's stdin and waits for it to end.
func (ch *child) wait() error {
	_ = ch.stdin.Close()
	if err := ch.cmd.Wait(); err != nil {
		return fmt.Errorf("child %v: %w: %s", ch.cmd.Args[1:], err, ch.errb.String())
	}
	return nil
}

// writes runs the write workload: on the shared database with a memory
// and a bbolt copy, for each process count, and on one bbolt file in one
// process.
func (d *driver) writes(round int) error {
	type setup struct {
		name  string
		procs int
	}
	var setups []setup
	for _, p := range d.c.procs {
		setups = append(setups, setup{"pg-memory", p}, setup{"pg-bbolt", p})
	}
	setups = append(setups, setup{"bbolt", 1})
	for _, s := range setups {
		progress("round %d: write, %s, %d × %d writers", round, s.name, s.procs, d.c.writers)
		common := []string{"-child", "writer", "-writers", strconv.Itoa(d.c.writers), "-muts", strconv.Itoa(d.c.muts)}
		var args [][]string
		dir, err := os.MkdirTemp(d.c.dir, "write-")
		if err != nil {
			return err
		}
		file := filepath.Join(dir, "livedb.db")
		var dsn string
		var preloaded int
		if s.name == "bbolt" {
			st, err := stores.OpenLivedb(file, &livedb.Options{NoSync: true})
			if err != nil {
				return err
			}
			ids, err := workload.Load(st, workload.Generate(d.c.preload))
			if cerr := st.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			preloaded = len(ids)
			args = append(args, append(common, "-file", file))
		} else {
			var ids []string
			if dsn, ids, err = d.preload("write", d.c.preload); err != nil {
				return err
			}
			preloaded = len(ids)
			for i := range s.procs {
				a := append(slices.Clone(common), "-dsn", dsn)
				if s.name == "pg-bbolt" {
					a = append(a, "-copy", filepath.Join(dir, fmt.Sprintf("copy%d.db", i)))
				}
				args = append(args, a)
			}
		}
		if d.c.profile != "" && round == 1 {
			for i := range args {
				args[i] = append(args[i], "-cpuprofile", filepath.Join(d.c.profile, fmt.Sprintf("cpu-writer-%s-p%d-%d.out", s.name, s.procs, i)))
			}
		}
		var chs []*child
		for _, a := range args {
			ch, err := d.start(a...)
			if err != nil {
				return err
			}
			chs = append(chs, ch)
		}
		for _, ch := range chs {
			if l, err := ch.line(); err != nil {
				return ch.failed(err)
			} else if l != "ready" {
				return fmt.Errorf("writer said %q, want ready", l)
			}
		}
		for _, ch := range chs {
			if _, err := io.WriteString(ch.stdin, "go\n"); err != nil {
				return err
			}
		}
		var start, end int64
		var lat []float64
		var groups, commits uint64
		var commitNS, cpuNS int64
		maxGroup := 0
		for _, ch := range chs {
			l, err := ch.line()
			if err != nil {
				return ch.failed(err)
			}
			var r writerResult
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				return fmt.Errorf("writer output %q: %w", l, err)
			}
			if err := ch.wait(); err != nil {
				return err
			}
			if start == 0 || r.Start < start {
				start = r.Start
			}
			end = max(end, r.End)
			lat = append(lat, r.Lat...)
			groups += r.Groups
			commits += r.Commits
			commitNS += r.CommitNS
			cpuNS += r.CPUNS
			maxGroup = max(maxGroup, r.MaxGroup)
		}
		// Every acknowledged insert must be in the database.
		path := file
		if s.name != "bbolt" {
			path = dsn
		}
		if got, err := countDocs(path); err != nil {
			return err
		} else if want := preloaded + len(lat); got != want {
			return fmt.Errorf("%s, %d processes: %d documents after the run, want %d (%d loaded and %d acknowledged inserts)", s.name, s.procs, got, want, preloaded, len(lat))
		}
		_ = os.RemoveAll(dir)
		k := fmt.Sprintf("write.%s.p%d", s.name, s.procs)
		d.rep.add(k+".tput", float64(len(lat))/(float64(end-start)/1e9))
		d.rep.add(k+".p50", percentile(lat, 50))
		d.rep.add(k+".p99", percentile(lat, 99))
		d.rep.add(k+".groupsize", float64(commits)/float64(max(groups, 1)))
		d.rep.add(k+".groupns", float64(commitNS)/float64(max(groups, 1)))
		d.rep.add(k+".maxgroup", float64(maxGroup))
		d.rep.add(k+".cpu", float64(cpuNS)/float64(len(lat)))
	}
	return nil
}

// countDocs opens the database at path (a bbolt file, or a shared
// database with a copy in memory) and counts its sessions.
func countDocs(path string) (int, error) {
	st, err := stores.OpenLivedb(path, nil)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	total := 0
	var cur workload.Cursor
	for {
		n, next, err := st.PageAll(cur, 1000)
		if err != nil {
			return 0, err
		}
		total += n
		if n == 0 || next == "" {
			return total, nil
		}
		cur = next
	}
}

type observation struct {
	n  int
	at time.Time
}

// latency measures the time from the call of a mutation to the moment
// a subscriber has the new result: on the shared database with the
// subscriber in another process, and on one bbolt file with the
// subscriber in the writer's process.
func (d *driver) latency(round int) error {
	for _, name := range []string{"pg-memory", "bbolt"} {
		progress("round %d: latency, %s", round, name)
		obs := make(chan observation, 4096)
		var st *stores.Livedb
		var ids []string
		var sub *child
		stopWatch := func() {}
		if name == "bbolt" {
			dir, err := os.MkdirTemp(d.c.dir, "latency-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			if st, err = stores.OpenLivedb(filepath.Join(dir, "livedb.db"), nil); err != nil {
				return err
			}
			if ids, err = workload.Load(st, workload.Generate(d.c.latN)); err != nil {
				st.Close()
				return err
			}
			stop, err := st.Watch(workload.WorkflowIDs(d.c.latN)[0], func(n int) {
				select {
				case obs <- observation{n, time.Now()}:
				default:
				}
			})
			if err != nil {
				st.Close()
				return err
			}
			stopWatch = stop
		} else {
			dsn, err := d.newDatabase("latency")
			if err != nil {
				return err
			}
			if st, err = stores.OpenLivedb(dsn, nil); err != nil {
				return err
			}
			if ids, err = workload.Load(st, workload.Generate(d.c.latN)); err != nil {
				st.Close()
				return err
			}
			args := []string{"-child", "sub", "-dsn", dsn, "-n", strconv.Itoa(d.c.latN)}
			if d.c.profile != "" && round == 1 {
				args = append(args, "-cpuprofile", filepath.Join(d.c.profile, "cpu-sub.out"))
			}
			if sub, err = d.start(args...); err != nil {
				st.Close()
				return err
			}
			go func() {
				for {
					l, err := sub.line()
					if err != nil {
						close(obs)
						return
					}
					var n int
					var at int64
					if _, err := fmt.Sscanf(l, "obs %d %d", &n, &at); err == nil {
						obs <- observation{n, time.Unix(0, at)}
					}
				}
			}()
		}
		err := d.measureLatency(name, st, ids, obs)
		stopWatch()
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if sub != nil {
			if werr := sub.wait(); err == nil {
				err = werr
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// measureLatency makes c.commits commits that move a running session of
// workflow 0 to completed and back, and waits after each for the
// subscriber's result.
func (d *driver) measureLatency(name string, st *stores.Livedb, ids []string, obs chan observation) error {
	ds := workload.Generate(d.c.latN)
	target := ids[ds.RunningIndex(0, 0)]
	base := workload.RunningPerWorkflow
	if _, err := waitFor(obs, base, time.Time{}); err != nil {
		return fmt.Errorf("first result: %w", err)
	}
	var lat, commitLat, after []float64
	commits := (d.c.commits + 1) / 2 * 2
	for c := range commits {
		status, want := workload.StatusCompleted, base-1
		if c%2 == 1 {
			status, want = workload.StatusRunning, base
		}
		t0 := time.Now()
		if err := st.SetStatus(target, status); err != nil {
			return fmt.Errorf("commit %d: %w", c, err)
		}
		t1 := time.Now()
		at, err := waitFor(obs, want, t0)
		if err != nil {
			return fmt.Errorf("commit %d: %w", c, err)
		}
		lat = append(lat, float64(at.Sub(t0).Nanoseconds()))
		commitLat = append(commitLat, float64(t1.Sub(t0).Nanoseconds()))
		after = append(after, float64(at.Sub(t1).Nanoseconds()))
	}
	k := "latency." + name
	d.rep.add(k+".p50", percentile(lat, 50))
	d.rep.add(k+".p99", percentile(lat, 99))
	d.rep.add(k+".commit.p50", percentile(commitLat, 50))
	d.rep.add(k+".after.p50", percentile(after, 50))
	d.rep.add(k+".after.p99", percentile(after, 99))
	return nil
}

// waitFor reads observations until one reports n and was made at or
// after t0.
func waitFor(obs chan observation, n int, t0 time.Time) (time.Time, error) {
	timeout := time.After(30 * time.Second)
	for {
		select {
		case o, ok := <-obs:
			if !ok {
				return time.Time{}, fmt.Errorf("the subscriber ended before a result with %d running sessions", n)
			}
			if o.n == n && !o.at.Before(t0) {
				return o.at, nil
			}
		case <-timeout:
			return time.Time{}, fmt.Errorf("no result with %d running sessions within 30s", n)
		}
	}
}

// catchUp loads c.catchN documents into a shared database, then times
// fresh processes that join it (memory copy; new bbolt copy; the same
// bbolt copy opened again, up to date), and a process that opens a bbolt
// file of the same documents.
func (d *driver) catchUp() error {
	progress("catch-up: load %d documents into PostgreSQL", d.c.catchN)
	t0 := time.Now()
	dsn, _, err := d.preload("catchup", d.c.catchN)
	if err != nil {
		return err
	}
	d.rep.add("catchup.load", float64(time.Since(t0).Nanoseconds()))
	if err := d.stateSize(dsn); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(d.c.dir, "catchup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "local.db")
	st, err := stores.OpenLivedb(file, &livedb.Options{NoSync: true})
	if err != nil {
		return err
	}
	_, err = workload.Load(st, workload.Generate(d.c.catchN))
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	n := strconv.Itoa(d.c.catchN)
	join := func(round int, key string, args ...string) error {
		args = append([]string{"-child", "join", "-n", n}, args...)
		if d.c.profile != "" && round == 1 {
			args = append(args, "-cpuprofile", filepath.Join(d.c.profile, "cpu-join-"+strings.TrimPrefix(key, "catchup.")+".out"))
		}
		ch, err := d.start(args...)
		if err != nil {
			return err
		}
		l, err := ch.line()
		if err != nil {
			return ch.failed(err)
		}
		if err := ch.wait(); err != nil {
			return err
		}
		var m map[string]int64
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			return fmt.Errorf("join output %q: %w", l, err)
		}
		d.rep.add(key, float64(m["ns"]))
		return nil
	}
	for round := 1; round <= d.c.rounds; round++ {
		progress("round %d: catch-up of %d documents", round, d.c.catchN)
		copyFile := filepath.Join(dir, fmt.Sprintf("copy%d.db", round))
		for _, j := range []struct {
			key  string
			args []string
		}{
			{"catchup.pg-memory", []string{"-dsn", dsn}},
			{"catchup.pg-bbolt-new", []string{"-dsn", dsn, "-copy", copyFile}},
			{"catchup.pg-bbolt-again", []string{"-dsn", dsn, "-copy", copyFile}},
			{"catchup.bbolt", []string{"-file", file}},
		} {
			if err := join(round, j.key, j.args...); err != nil {
				return err
			}
		}
		_ = os.Remove(copyFile)
	}
	return nil
}

// stateSize records the rows and bytes of the shared state a joining
// process reads (the table internal/pglog names livedb_state).
func (d *driver) stateSize(dsn string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var rows, bytes int64
	if err := conn.QueryRow(ctx, "SELECT count(*), pg_total_relation_size('livedb_state') FROM livedb_state").Scan(&rows, &bytes); err != nil {
		return fmt.Errorf("size of the shared state: %w", err)
	}
	d.rep.add("catchup.state.rows", float64(rows))
	d.rep.add("catchup.state.bytes", float64(bytes))
	return nil
}

// percentile returns the p-th percentile (nearest rank) of xs.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

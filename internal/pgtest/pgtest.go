// Package pgtest gives tests a real PostgreSQL: a throwaway cluster that the
// test binary starts with initdb and postgres in a temporary directory,
// listening only on a unix socket, with trust authentication, and removes at
// the end. One cluster serves a whole test binary; each test takes a fresh
// database in it with [Cluster.NewDatabase].
//
// A package that needs PostgreSQL calls [Main] from its TestMain and
// [Require] in its tests:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, nil)) }
//
//	func TestSomething(t *testing.T) {
//		dsn := pgtest.Require(t).NewDatabase(t)
//		...
//	}
//
// The cluster starts on the first Require, so a run that selects no
// PostgreSQL test pays nothing.
//
// # Where PostgreSQL comes from
//
// With LIVEDB_POSTGRES_URL set (a URL or keyword DSN naming a database the
// user may create databases from), the tests use that server instead of
// starting one; [Cluster.Stop], [Cluster.Crash] and [Cluster.Start] then fail
// with [ErrExternal]. Otherwise the binaries come from [Options.BinDir], else
// /usr/lib/postgresql/15/bin (Debian's postgresql-15), else the directory of
// initdb on PATH. PostgreSQL refuses to run as root: a test binary running as
// root runs initdb and postgres as the postgres system user, with the cluster
// in a directory owned by it.
//
// Without the binaries, [Require] skips the test with a message that says how
// to install them, except under CI=true, where it fails it: CI must never
// pass by skipping.
//
// # Processes
//
// The postmaster is a child of the test binary, in its own process group.
// On Linux it gets SIGKILL if the test binary dies (a timeout panic, a
// kill), and its backends then exit on their own, so an aborted run leaves no
// server behind; [Start] removes the directories of earlier runs whose test
// binary is gone.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URLEnv is the environment variable that points the tests at an existing
// PostgreSQL server instead of a cluster started by the tests.
const URLEnv = "LIVEDB_POSTGRES_URL"

// DefaultBinDir is where Debian's postgresql-15 package installs initdb and
// postgres.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// installHint says how to get the binaries; it ends the message of
// ErrNotInstalled's errors.
const installHint = "install them with apt-get install postgresql-15, or set " + URLEnv + " to an existing server"

// ErrNotInstalled is returned by [Start] when the PostgreSQL binaries
// (initdb, postgres) are not found.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL binaries not found")

// ErrExternal is returned by [Cluster.Stop], [Cluster.Crash] and
// [Cluster.Start] on a cluster that the tests did not start (one given by
// LIVEDB_POSTGRES_URL): only a cluster started by the tests may be stopped.
var ErrExternal = errors.New("pgtest: stopping and starting PostgreSQL needs a cluster started by the tests, not one given by " + URLEnv)

// Options configures a cluster that the tests start. A nil *Options means
// the defaults.
type Options struct {
	// NoFsync turns fsync and full_page_writes off: faster, but a commit
	// then costs what it would not cost on a real server. The default keeps
	// fsync on, so that benchmarks see the real cost of a commit.
	NoFsync bool
	// BinDir is the directory of initdb and postgres. Empty means
	// DefaultBinDir, else the directory of initdb on PATH.
	BinDir string
	// MaxConnections is PostgreSQL's max_connections; 0 means 200, enough
	// for tests that run several processes each with a pool and a listener.
	MaxConnections int
}

// Cluster is one PostgreSQL server for tests: started by [Start] (or given
// by LIVEDB_POSTGRES_URL), stopped and removed by [Cluster.Close]. It is safe
// for concurrent use by multiple goroutines.
type Cluster struct {
	external string // LIVEDB_POSTGRES_URL; "" for a cluster started here
	opts     Options
	binDir   string
	dir      string // the temporary directory holding data/, sock/ and the log
	seq      atomic.Int64

	mu      sync.Mutex // guards proc and closed
	proc    *postmaster
	closed  bool
	logPath string
}

// postmaster is one run of the server process.
type postmaster struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd.Wait has returned
}

// Start starts a new cluster: initdb in a new temporary directory, then the
// server. With LIVEDB_POSTGRES_URL set it starts nothing and returns a
// Cluster for that server. Without the binaries it returns an error that
// wraps [ErrNotInstalled]. The caller must call [Cluster.Close].
func Start(opts *Options) (*Cluster, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = 200
	}
	if u := os.Getenv(URLEnv); u != "" {
		return &Cluster{external: u, opts: o}, nil
	}
	binDir, err := findBinDir(o.BinDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: o, binDir: binDir}
	if err := c.create(); err != nil {
		if c.dir != "" {
			_ = os.RemoveAll(c.dir)
		}
		return nil, err
	}
	c.mu.Lock()
	err = c.startLocked()
	c.mu.Unlock()
	if err != nil {
		_ = os.RemoveAll(c.dir)
		return nil, err
	}
	return c, nil
}

// findBinDir returns the directory holding initdb and postgres.
func findBinDir(dir string) (string, error) {
	candidates := []string{dir}
	if dir == "" {
		candidates = []string{DefaultBinDir}
		if p, err := exec.LookPath("initdb"); err == nil {
			candidates = append(candidates, filepath.Dir(p))
		}
	}
	for _, d := range candidates {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w in %s (%s)", ErrNotInstalled, strings.Join(candidates, ", "), installHint)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// create makes the temporary directory and runs initdb in it, then writes
// the server's settings into postgresql.conf, so that a restart uses them
// too.
func (c *Cluster) create() error {
	own, err := serverUser()
	if err != nil {
		return err
	}
	base := tempBase(own != nil)
	removeStale(base)
	dir, err := os.MkdirTemp(base, dirPrefix)
	if err != nil {
		return fmt.Errorf("pgtest: create the cluster directory: %w", err)
	}
	c.dir = dir
	c.logPath = filepath.Join(dir, "postgres.log")
	// The owner file lets a later Start remove this directory if this
	// test binary dies without Close.
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("pgtest: write %s: %w", ownerFile, err)
	}
	sock := c.sockDir()
	if len(sock)+len("/.s.PGSQL.5432") >= 104 {
		return fmt.Errorf("pgtest: socket directory %s is too long for a unix socket path: set TMPDIR to a shorter directory", sock)
	}
	for _, d := range []string{dir, sock} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("pgtest: create %s: %w", d, err)
		}
		if err := own.chown(d); err != nil {
			return err
		}
	}
	var initdbOut strings.Builder
	cmd := exec.Command(filepath.Join(c.binDir, "initdb"),
		"-D", c.dataDir(), "-A", "trust", "-U", "postgres",
		"--locale=C", "-E", "UTF8", "--no-sync", "--no-instructions")
	cmd.Stdout, cmd.Stderr = &initdbOut, &initdbOut
	cmd.Env = serverEnv()
	cmd.SysProcAttr = own.sysProcAttr(false)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pgtest: initdb in %s: %w\n%s", c.dataDir(), err, initdbOut.String())
	}
	fsync := "on"
	fpw := "on"
	if c.opts.NoFsync {
		fsync, fpw = "off", "off"
	}
	conf := fmt.Sprintf(`
# pgtest: a throwaway cluster on a unix socket only.
listen_addresses = ''
unix_socket_directories = '%s'
port = 5432
max_connections = %d
shared_buffers = 32MB
fsync = %s
full_page_writes = %s
`, strings.ReplaceAll(sock, "'", "''"), c.opts.MaxConnections, fsync, fpw)
	f, err := os.OpenFile(filepath.Join(c.dataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgtest: open postgresql.conf: %w", err)
	}
	_, werr := f.WriteString(conf)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("pgtest: write postgresql.conf: %w", err)
	}
	return nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) sockDir() string { return filepath.Join(c.dir, "sock") }

// serverEnv is the environment of initdb and postgres: the test binary's,
// without the PG* variables that would point them elsewhere.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return append(env, "LC_ALL=C")
}

// startLocked starts the postmaster and waits until it accepts
// connections. c.mu is held.
func (c *Cluster) startLocked() error {
	if c.proc != nil {
		return errors.New("pgtest: the cluster is already running")
	}
	own, err := serverUser()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: open the server log: %w", err)
	}
	defer logf.Close() // the child has its own copy
	cmd := exec.Command(filepath.Join(c.binDir, "postgres"), "-D", c.dataDir())
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = serverEnv()
	cmd.SysProcAttr = own.sysProcAttr(true)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	p := &postmaster{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	if err := c.waitReady(p); err != nil {
		killGroup(p)
		<-p.exited
		return err
	}
	c.proc = p
	return nil
}

// startTimeout bounds the wait for a starting server, crash recovery
// included, on a loaded machine.
const startTimeout = 2 * time.Minute

// waitReady polls postmaster.pid until it names p's process and says
// "ready" (the status line PostgreSQL 10 and later write there).
func (c *Cluster) waitReady(p *postmaster) error {
	pidFile := filepath.Join(c.dataDir(), "postmaster.pid")
	want := strconv.Itoa(p.cmd.Process.Pid)
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(pidFile); err == nil {
			lines := strings.Split(string(b), "\n")
			if len(lines) >= 8 && strings.TrimSpace(lines[0]) == want && strings.TrimSpace(lines[7]) == "ready" {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("pgtest: postgres exited while starting (%s); its log:\n%s", p.cmd.ProcessState, c.logTail())
		case <-deadline.C:
			return fmt.Errorf("pgtest: postgres not ready after %s; its log:\n%s", startTimeout, c.logTail())
		case <-tick.C:
		}
	}
}

// logTail returns the end of the server log, for error messages.
func (c *Cluster) logTail() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// LogPath returns the path of the server's log file, "" for an external
// server.
func (c *Cluster) LogPath() string { return c.logPath }

// External reports whether the cluster is a server given by
// LIVEDB_POSTGRES_URL rather than one started by the tests.
func (c *Cluster) External() bool { return c.external != "" }

// DSN returns a connection string for database dbname that pgx accepts: a
// postgres:// URL for a cluster started by the tests; add parameters
// (search_path, for one) with [WithParam]. To share this
// cluster with a child process, pass DSN("postgres") to it as
// LIVEDB_POSTGRES_URL.
func (c *Cluster) DSN(dbname string) string {
	if c.external == "" {
		q := url.Values{"host": {c.sockDir()}, "port": {"5432"}, "sslmode": {"disable"}}
		u := url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + dbname, RawQuery: q.Encode()}
		return u.String()
	}
	if strings.HasPrefix(c.external, "postgres://") || strings.HasPrefix(c.external, "postgresql://") {
		if u, err := url.Parse(c.external); err == nil {
			u.Path, u.RawPath = "/"+dbname, ""
			return u.String()
		}
	}
	// A keyword DSN: a later dbname overrides an earlier one.
	return WithParam(c.external, "dbname", dbname)
}

// WithParam returns dsn with parameter name set to value (a run-time
// parameter such as search_path, or a connection setting such as dbname),
// in the DSN's own form: a query parameter of a postgres:// URL, else a
// keyword pair, which overrides an earlier one of the same name.
func WithParam(dsn, name, value string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set(name, value)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " " + name + "='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(value) + "'"
}

// adminDSN is the database that CREATE and DROP DATABASE connect to.
func (c *Cluster) adminDSN() string {
	if c.external != "" {
		return c.external
	}
	return c.DSN("postgres")
}

// dirPrefix starts the name of every cluster directory; ownerFile in it
// holds the pid of the test binary that made it.
const (
	dirPrefix = "livedb-pgtest-"
	ownerFile = "owner.pid"
)

// unsafeName matches what a database name made from a test name leaves out.
var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// NewDatabase creates a new, empty database with a unique name and returns
// its DSN; a t.Cleanup drops it (terminating the connections still open to
// it) and fails the test if it cannot, for instance because the test left
// the cluster stopped.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	suffix := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	name := fmt.Sprintf("t%d_%d_%s", os.Getpid(), c.seq.Add(1), suffix)
	if len(name) > 63 { // PostgreSQL's identifier limit
		name = name[:63]
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.adminExec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.adminExec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s (was the cluster left stopped?): %v", name, err)
		}
	})
	return c.DSN(name)
}

// adminExec runs one statement on a new connection to the admin database.
func (c *Cluster) adminExec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.adminDSN())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// Stop shuts the server down as an administrator would (a fast shutdown:
// open sessions end with SQLSTATE 57P01, a checkpoint is written) and waits
// for it to exit. On a server that takes too long it falls back to an
// immediate shutdown, then to SIGKILL. It returns [ErrExternal] for a server
// the tests did not start, and an error if the cluster is not running.
func (c *Cluster) Stop() error {
	return c.stop(true)
}

// Crash stops the server with an immediate shutdown, as if it crashed: every
// backend quits at once without a checkpoint, and the next [Cluster.Start]
// runs crash recovery from the write-ahead log. Like [Cluster.Stop], it
// returns [ErrExternal] for a server the tests did not start.
func (c *Cluster) Crash() error {
	return c.stop(false)
}

// Start starts a cluster that [Cluster.Stop] or [Cluster.Crash] stopped and
// waits until it accepts connections, from the same data directory and
// socket, so that DSNs stay valid. It returns [ErrExternal] for a server the
// tests did not start.
func (c *Cluster) Start() error {
	if c.external != "" {
		return ErrExternal
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("pgtest: start: the cluster is closed")
	}
	return c.startLocked()
}

func (c *Cluster) stop(fast bool) error {
	if c.external != "" {
		return ErrExternal
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return errors.New("pgtest: stop: the cluster is not running")
	}
	err := stopProc(c.proc, fast)
	c.proc = nil
	return err
}

// stopTimeouts bound each step of a shutdown before the next, harder one.
const (
	fastStopTimeout      = time.Minute
	immediateStopTimeout = 20 * time.Second
)

// stopProc shuts p down: fast (SIGINT) or immediate (SIGQUIT), then SIGKILL
// to the whole process group if it does not exit in time.
func stopProc(p *postmaster, fast bool) error {
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-p.exited:
			return true
		case <-t.C:
			return false
		}
	}
	if fast {
		if err := signalProc(p, sigFast); err == nil && wait(fastStopTimeout) {
			return nil
		}
	}
	if err := signalProc(p, sigImmediate); err == nil && wait(immediateStopTimeout) {
		return nil
	}
	killGroup(p)
	<-p.exited
	if fast {
		return errors.New("pgtest: postgres did not shut down in time and was killed")
	}
	return nil
}

// Close stops a cluster that the tests started (see [Cluster.Stop]) and
// removes its directory. On an external server it does nothing. It is
// idempotent.
func (c *Cluster) Close() error {
	if c.external != "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var err error
	if c.proc != nil {
		err = stopProc(c.proc, true)
		c.proc = nil
	}
	if rerr := os.RemoveAll(c.dir); rerr != nil {
		err = errors.Join(err, fmt.Errorf("pgtest: remove %s: %w", c.dir, rerr))
	}
	return err
}

// tempBase is the directory to make the cluster's directory in: the
// system's temporary directory, or /tmp where the server user could not
// reach the former (running as root with a private TMPDIR) or a socket path
// in it would be too long.
func tempBase(otherUser bool) string {
	base := os.TempDir()
	if len(base) > 60 || (otherUser && !worldSearchable(base)) {
		return "/tmp"
	}
	return base
}

// worldSearchable reports whether every directory from / to dir lets any
// user through.
func worldSearchable(dir string) bool {
	dir = filepath.Clean(dir)
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

// removeStale removes the cluster directories in base left by test binaries
// that are gone (killed before Close). A directory whose owner is alive, or
// that cannot be read, stays.
func removeStale(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) {
			continue
		}
		dir := filepath.Join(base, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		// A server that still runs there stays too (on systems without a
		// parent-death signal it outlives its test binary for a while).
		if b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
			line, _, _ := strings.Cut(string(b), "\n")
			if pm, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && pm > 0 && processAlive(pm) {
				continue
			}
		}
		_ = os.RemoveAll(dir)
	}
}

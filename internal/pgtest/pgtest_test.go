package pgtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livedb-go/livedb/internal/pgtest"
)

// childEnv, when set, makes the test binary start a cluster, print its
// directory and wait to be killed, instead of running the tests.
const childEnv = "PGTEST_TEST_CHILD"

func runChild() {
	c, err := pgtest.Start(&pgtest.Options{NoFsync: true})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(clusterDir(c))
	select {} // until killed
}

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild()
		return
	}
	os.Exit(pgtest.Main(m, nil))
}

// mustConnect connects to dsn and closes the connection at the end of the
// test.
func mustConnect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func count(t *testing.T, conn *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestCluster_NewDatabase_FreshAndSeparate(t *testing.T) {
	c := pgtest.Require(t)
	a := mustConnect(t, c.NewDatabase(t))
	b := mustConnect(t, c.NewDatabase(t))
	mustExec(t, a, "CREATE TABLE x (v int)")
	mustExec(t, a, "INSERT INTO x VALUES (1), (2)")
	if n := count(t, a, "SELECT count(*) FROM x"); n != 2 {
		t.Fatalf("rows in x: %d, want 2", n)
	}
	var name string
	if err := b.QueryRow(context.Background(), "SELECT to_regclass('x')::text").Scan(&name); err == nil && name != "" {
		t.Fatalf("the second database sees the first one's table x")
	}
}

func TestCluster_NewDatabase_DroppedAtCleanup(t *testing.T) {
	c := pgtest.Require(t)
	var name string
	t.Run("user", func(t *testing.T) {
		conn := mustConnect(t, c.NewDatabase(t))
		if err := conn.QueryRow(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		// The connection stays open: the drop must end it.
	})
	admin := mustConnect(t, c.DSN("postgres"))
	if n := count(t, admin, "SELECT count(*) FROM pg_database WHERE datname = $1", name); n != 0 {
		t.Fatalf("database %s still exists after its test ended", name)
	}
}

func TestCluster_DSN_SearchPath(t *testing.T) {
	c := pgtest.Require(t)
	dsn := c.NewDatabase(t)
	mustExec(t, mustConnect(t, dsn), "CREATE SCHEMA app")
	conn := mustConnect(t, pgtest.WithParam(dsn, "search_path", "app"))
	var schema string
	if err := conn.QueryRow(context.Background(), "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if schema != "app" {
		t.Fatalf("current_schema() = %q, want app", schema)
	}
}

// restartCases stop the cluster in each way a test may.
var restartCases = []struct {
	name string
	stop func(*pgtest.Cluster) error
}{
	{"stop", (*pgtest.Cluster).Stop},
	{"crash", (*pgtest.Cluster).Crash},
}

func TestCluster_Stop_DataSurvivesRestart(t *testing.T) {
	c := pgtest.Require(t)
	for _, tc := range restartCases {
		t.Run(tc.name, func(t *testing.T) {
			dsn := c.NewDatabase(t)
			conn := mustConnect(t, dsn)
			mustExec(t, conn, "CREATE TABLE x (v int)")
			mustExec(t, conn, "INSERT INTO x SELECT generate_series(1, 1000)")
			if err := tc.stop(c); err != nil {
				t.Fatal(err)
			}
			// The open connection is broken and a new one is refused.
			if _, err := conn.Exec(context.Background(), "SELECT 1"); err == nil {
				t.Fatal("a query on a connection to a stopped server succeeded")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := pgx.Connect(ctx, dsn)
			cancel()
			if err == nil {
				t.Fatal("connected to a stopped server")
			}
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			if n := count(t, mustConnect(t, dsn), "SELECT count(*) FROM x"); n != 1000 {
				t.Fatalf("rows after restart: %d, want 1000", n)
			}
		})
	}
}

func TestCluster_Stop_NotRunning(t *testing.T) {
	c := pgtest.Require(t)
	if err := c.Start(); err == nil {
		t.Fatal("Start of a running cluster succeeded")
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err == nil {
		t.Fatal("Stop of a stopped cluster succeeded")
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
}

func TestStart_External(t *testing.T) {
	c := pgtest.Require(t)
	t.Setenv(pgtest.URLEnv, c.DSN("postgres"))
	ext, err := pgtest.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !ext.External() {
		t.Fatal("External() = false with " + pgtest.URLEnv + " set")
	}
	conn := mustConnect(t, ext.NewDatabase(t))
	mustExec(t, conn, "CREATE TABLE x (v int)")
	for name, f := range map[string]func() error{"Stop": ext.Stop, "Crash": ext.Crash, "Start": ext.Start} {
		if err := f(); !errors.Is(err, pgtest.ErrExternal) {
			t.Errorf("%s on an external server: %v, want ErrExternal", name, err)
		}
	}
	if err := ext.Close(); err != nil {
		t.Fatal(err)
	}
	// Close left the server running.
	mustExec(t, conn, "INSERT INTO x VALUES (1)")
}

func TestStart_NotInstalled(t *testing.T) {
	t.Setenv(pgtest.URLEnv, "")
	_, err := pgtest.Start(&pgtest.Options{BinDir: t.TempDir()})
	if !errors.Is(err, pgtest.ErrNotInstalled) {
		t.Fatalf("Start without binaries: %v, want ErrNotInstalled", err)
	}
	if !strings.Contains(err.Error(), "apt-get install postgresql-15") {
		t.Errorf("the error does not say how to install PostgreSQL: %v", err)
	}
}

func TestCluster_Close_StopsAndRemoves(t *testing.T) {
	pgtest.Require(t) // skips or fails like the other tests without binaries
	t.Setenv(pgtest.URLEnv, "")
	c, err := pgtest.Start(&pgtest.Options{NoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	dsn := c.DSN("postgres")
	conn := mustConnect(t, dsn)
	mustExec(t, conn, "SELECT 1")
	dir := clusterDir(c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the cluster directory %s is still there after Close: %v", dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pgx.Connect(ctx, dsn); err == nil {
		t.Fatal("connected to a closed cluster")
	}
	if err := c.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
}

// clusterDir is the directory that a cluster started by the tests lives in.
func clusterDir(c *pgtest.Cluster) string { return filepath.Dir(c.LogPath()) }

func TestWithParam_BothForms(t *testing.T) {
	for _, dsn := range []string{
		"postgres://postgres@/db1?host=%2Ftmp%2Fs&port=5432",
		"host=/tmp/s user=postgres dbname=db1",
	} {
		got := pgtest.WithParam(pgtest.WithParam(dsn, "search_path", "it's"), "dbname", "db2")
		cfg, err := pgx.ParseConfig(got)
		if err != nil {
			t.Fatalf("WithParam(%q) = %q: %v", dsn, got, err)
		}
		if cfg.RuntimeParams["search_path"] != "it's" || cfg.Database != "db2" || cfg.Host != "/tmp/s" {
			t.Fatalf("WithParam(%q) = %q: search_path %q, dbname %q, host %q", dsn, got,
				cfg.RuntimeParams["search_path"], cfg.Database, cfg.Host)
		}
	}
}

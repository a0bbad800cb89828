package livedb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/pgtest"
	"github.com/livedb-go/livedb/livedbtest"
)

// TestMain closes the PostgreSQL cluster that the shared-database tests
// start (pgtest.Require) at the end of the run.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &pgtest.Options{NoFsync: true})) }

func init() {
	// The shared-database tests run on PostgreSQL too: each test gets a
	// database of its own, and every DB it opens is one more process of it,
	// with a copy in memory or, every other process, in a bbolt file.
	sharedKinds["postgres"] = func(t *testing.T) sharedOpener {
		dsn := pgtest.Require(t).NewDatabase(t)
		n := 0
		return func(t *testing.T, s *livedb.Schema, opts *livedb.Options) *livedb.DB {
			t.Helper()
			o := livedb.Options{}
			if opts != nil {
				o = *opts
			}
			if n++; n%2 == 0 {
				o.LocalCopy = filepath.Join(t.TempDir(), "copy.db")
			}
			db, err := livedb.Open(dsn, s, &o)
			require.NoError(t, err)
			t.Cleanup(func() { livedbtest.MustCheckClose(t, db) })
			return db
		}
	}
}

// matrixDB is the PostgreSQL database of the backend matrix: every test
// gets a schema of its own in it, which costs a fraction of a database.
var matrixDB struct {
	dsn  string
	conn *pgx.Conn
	mu   sync.Mutex
	seq  int
}

// matrixSchema returns the DSN of a new, empty schema for one test.
func matrixSchema(t *testing.T) string {
	t.Helper()
	c := pgtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	matrixDB.mu.Lock()
	defer matrixDB.mu.Unlock()
	if matrixDB.dsn == "" {
		// One database for the whole run, removed with the cluster (on a
		// server given by LIVEDB_POSTGRES_URL it stays: its name says
		// which run made it).
		name := fmt.Sprintf("livedb_matrix_%d", os.Getpid())
		admin, err := pgx.Connect(ctx, c.DSN("postgres"))
		if err != nil {
			t.Fatalf("connect to the test cluster: %v", err)
		}
		_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
		_ = admin.Close(ctx)
		if err != nil {
			t.Fatalf("create the matrix database: %v", err)
		}
		matrixDB.dsn = c.DSN(name)
	}
	if matrixDB.conn == nil || matrixDB.conn.IsClosed() {
		conn, err := pgx.Connect(ctx, matrixDB.dsn)
		if err != nil {
			t.Fatalf("connect to the matrix database: %v", err)
		}
		matrixDB.conn = conn
	}
	matrixDB.seq++
	name := fmt.Sprintf("t%d", matrixDB.seq)
	if _, err := matrixDB.conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	return pgtest.WithParam(matrixDB.dsn, "search_path", name)
}

// openPostgresBackend opens a process of a fresh shared database on the
// test cluster, with its copy in memory or in a bbolt file, for the
// engine suite's backend matrix.
func openPostgresBackend(t *testing.T, name string, s *livedb.Schema, opts *livedb.Options) *livedb.DB {
	t.Helper()
	o := livedb.Options{}
	if opts != nil {
		o = *opts
	}
	if name == "postgres-bbolt" {
		o.LocalCopy = filepath.Join(t.TempDir(), "copy.db")
	}
	db, err := livedb.Open(matrixSchema(t), s, &o)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { livedbtest.MustCheckClose(t, db) })
	return db
}

package pglog_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/livedb-go/livedb/internal/pglog"
	"github.com/livedb-go/livedb/internal/pgtest"
)

func TestOpen_Concurrent_OneSetOfTables(t *testing.T) {
	dsn := newDSN(t)
	const n = 6
	logs := make([]*pglog.Log, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			logs[i], errs[i] = pglog.Open(testCtx(t), dsn, nil)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Open %d: %v", i, errs[i])
		}
		t.Cleanup(logs[i].Close)
		if logs[i].ID() != logs[0].ID() {
			t.Fatalf("Open %d has id %q, Open 0 has %q", i, logs[i].ID(), logs[0].ID())
		}
	}
	conn := mustSQL(t, dsn)
	var tables, rows int
	if err := conn.QueryRow(testCtx(t), `SELECT
		(SELECT count(*) FROM pg_tables WHERE tablename LIKE 'livedb\_%'),
		(SELECT count(*) FROM livedb_meta)`).Scan(&tables, &rows); err != nil {
		t.Fatal(err)
	}
	if tables != 4 || rows != 1 {
		t.Fatalf("%d livedb tables and %d meta rows, want 4 and 1", tables, rows)
	}
	if len(logs[0].ID()) != 32 {
		t.Fatalf("id %q: want 32 hex digits", logs[0].ID())
	}
}

func TestOpen_Reopen_SameIDAndEntries(t *testing.T) {
	dsn := newDSN(t)
	l := mustOpen(t, dsn)
	id := l.ID()
	e := mustCommit(t, l, 7, put("k", "v"))
	l.Close()
	l2 := mustOpen(t, dsn)
	if l2.ID() != id {
		t.Fatalf("reopened id %q, want %q", l2.ID(), id)
	}
	got := mustSince(t, l2, 0, 0)
	if len(got) != 1 || got[0].TS != e.TS || string(got[0].Data) != string(e.Data) {
		t.Fatalf("entries after reopening: %+v, want the one committed", got)
	}
}

func TestOpen_NoCreate_WritesNothing(t *testing.T) {
	dsn := newDSN(t)
	conn := mustSQL(t, dsn)
	tables := func() int {
		t.Helper()
		var n int
		if err := conn.QueryRow(testCtx(t), `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'livedb\_%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	_, err := pglog.Open(testCtx(t), dsn, &pglog.Options{NoCreate: true})
	wantErr(t, "Open with NoCreate of an empty database", err, pglog.ErrFormat)
	if n := tables(); n != 0 {
		t.Fatalf("Open with NoCreate made %d livedb tables, want none", n)
	}
	l := mustOpen(t, dsn)
	e := mustCommit(t, l, 3, put("k", "v"))
	ro, err := pglog.Open(testCtx(t), dsn, &pglog.Options{NoCreate: true})
	if err != nil {
		t.Fatalf("Open with NoCreate of an existing log: %v", err)
	}
	t.Cleanup(ro.Close)
	if ro.ID() != l.ID() {
		t.Fatalf("Open with NoCreate has id %q, want %q", ro.ID(), l.ID())
	}
	if got := mustSince(t, ro, 0, 0); len(got) != 1 || got[0].TS != e.TS {
		t.Fatalf("entries read with NoCreate: %+v, want the one committed", got)
	}
}

func TestOpen_SearchPath_SeparateLogs(t *testing.T) {
	dsn := newDSN(t)
	conn := mustSQL(t, dsn)
	mustExec(t, conn, "CREATE SCHEMA a")
	mustExec(t, conn, "CREATE SCHEMA b")
	la := mustOpen(t, pgtest.WithParam(dsn, "search_path", "a"))
	lb := mustOpen(t, pgtest.WithParam(dsn, "search_path", "b"))
	if la.ID() == lb.ID() {
		t.Fatal("two schemas share one database id")
	}
	mustCommit(t, la, 1, put("k", "a"))
	if got := mustSince(t, lb, 0, 0); len(got) != 0 {
		t.Fatalf("schema b sees schema a's entries: %+v", got)
	}
	var n int
	if err := conn.QueryRow(testCtx(t), "SELECT count(*) FROM a.livedb_log").Scan(&n); err != nil || n != 1 {
		t.Fatalf("a.livedb_log has %d rows (%v), want 1", n, err)
	}
	_, err := pglog.Open(testCtx(t), pgtest.WithParam(dsn, "search_path", "nosuchschema"), nil)
	if err == nil || !strings.Contains(err.Error(), "search_path") {
		t.Fatalf("Open with a search_path naming no schema: %v, want an error about search_path", err)
	}
}

func TestOpen_Format_Refused(t *testing.T) {
	tests := []struct {
		name  string
		setup []string // run after a first Open made the tables, or before when pre
		pre   bool
	}{
		{name: "unknown version", setup: []string{"UPDATE livedb_meta SET version = 99"}},
		{name: "meta row gone", setup: []string{"DELETE FROM livedb_meta"}},
		{name: "empty id", setup: []string{"UPDATE livedb_meta SET id = ''"}},
		{name: "version of another type", setup: []string{
			"ALTER TABLE livedb_meta ALTER version TYPE text"}},
		{name: "someone else's log table", pre: true, setup: []string{
			"CREATE TABLE livedb_log (id serial PRIMARY KEY, message text)"}},
		{name: "a view for a table", pre: true, setup: []string{
			"CREATE VIEW livedb_state AS SELECT ''::bytea AS key, ''::bytea AS value"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dsn := newDSN(t)
			conn := mustSQL(t, dsn)
			if !tc.pre {
				mustOpen(t, dsn).Close()
			}
			for _, s := range tc.setup {
				mustExec(t, conn, s)
			}
			l, err := pglog.Open(testCtx(t), dsn, nil)
			if err == nil {
				l.Close()
			}
			wantErr(t, "Open", err, pglog.ErrFormat)
		})
	}
}

func TestLog_Close_ThenErrClosed(t *testing.T) {
	l := mustOpen(t, newDSN(t))
	ch := l.Notify()
	l.Close()
	l.Close() // idempotent
	ctx := context.Background()
	_, err := l.Head(ctx)
	wantErr(t, "Head", err, pglog.ErrClosed)
	_, _, err = l.Lock(ctx, 0)
	wantErr(t, "Lock", err, pglog.ErrClosed)
	_, err = l.Since(ctx, 0, 0)
	wantErr(t, "Since", err, pglog.ErrClosed)
	_, err = l.Bootstrap(ctx, func(k, v []byte) error { return nil })
	wantErr(t, "Bootstrap", err, pglog.ErrClosed)
	_, err = l.Trim(ctx, 1)
	wantErr(t, "Trim", err, pglog.ErrClosed)
	_, _, err = l.TryLease(ctx, "x", "y", 1)
	wantErr(t, "TryLease", err, pglog.ErrClosed)
	wantErr(t, "ReleaseLease", l.ReleaseLease(ctx, "x", "y"), pglog.ErrClosed)
	if l.Notify() != ch {
		t.Fatal("Notify returned another channel after Close")
	}
}

func TestOpen_BadDSN_Invalid(t *testing.T) {
	_, err := pglog.Open(context.Background(), "postgres://%zz", nil)
	if !errors.Is(err, pglog.ErrInvalid) {
		t.Fatalf("Open of a malformed DSN: %v, want ErrInvalid", err)
	}
}

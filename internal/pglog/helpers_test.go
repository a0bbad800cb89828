package pglog_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/livedb-go/livedb/internal/pglog"
	"github.com/livedb-go/livedb/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m, nil)
	if noFsync != nil {
		if err := noFsync.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = max(code, 1)
		}
	}
	os.Exit(code)
}

// waitTimeout bounds every wait of these tests: long enough for a loaded
// 2-core machine, short enough to fail a stuck test with a message.
const waitTimeout = time.Minute

// testCtx returns a context that ends with the test or after waitTimeout.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newDSN returns the DSN of a fresh database.
func newDSN(t testing.TB) string {
	t.Helper()
	return pgtest.Require(t).NewDatabase(t)
}

// mustOpen opens the log of dsn and closes it at the end of the test.
func mustOpen(t testing.TB, dsn string) *pglog.Log {
	t.Helper()
	l, err := pglog.Open(testCtx(t), dsn, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(l.Close)
	return l
}

// mustSQL connects to dsn for the test's own statements.
func mustSQL(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(testCtx(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func mustExec(t testing.TB, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(testCtx(t), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// nonce returns 16 random bytes.
func nonce() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b
}

// entry returns an entry at ts after prev, with a nonce and data naming ts.
func entry(ts, prev uint64) pglog.Entry {
	return pglog.Entry{TS: ts, Prev: prev, Nonce: nonce(), Data: fmt.Appendf(nil, "entry %d", ts)}
}

// put and del make ops.
func put(k, v string) pglog.Op { return pglog.Op{Key: []byte(k), Value: []byte(v)} }
func del(k string) pglog.Op    { return pglog.Op{Key: []byte(k), Delete: true} }

// commit appends an entry at ts after the log's head, with ops.
func commit(ctx context.Context, l *pglog.Log, ts uint64, ops []pglog.Op) error {
	head, err := l.Head(ctx)
	if err != nil {
		return err
	}
	a, _, err := l.Lock(ctx, head)
	if err != nil {
		return err
	}
	if err := a.Commit(ctx, entry(ts, a.Head()), ops); err != nil {
		a.Rollback()
		return err
	}
	return nil
}

// mustCommit appends an entry at ts after the log's head, with ops, and
// returns it.
func mustCommit(t testing.TB, l *pglog.Log, ts uint64, ops ...pglog.Op) pglog.Entry {
	t.Helper()
	ctx := testCtx(t)
	head, err := l.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := l.Lock(ctx, head)
	if err != nil {
		t.Fatalf("Lock(%d): %v", head, err)
	}
	e := entry(ts, a.Head())
	if err := a.Commit(ctx, e, ops); err != nil {
		a.Rollback()
		t.Fatalf("Commit(%d): %v", ts, err)
	}
	return e
}

// mustState returns the materialized state as a map, and the head it is at.
func mustState(t testing.TB, l *pglog.Log) (map[string]string, uint64) {
	t.Helper()
	state := map[string]string{}
	var last []byte
	head, err := l.Bootstrap(testCtx(t), func(k, v []byte) error {
		if last != nil && string(k) <= string(last) {
			return fmt.Errorf("key %q after %q: not in order", k, last)
		}
		last = append(last[:0], k...)
		state[string(k)] = string(v)
		return nil
	})
	if err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	return state, head
}

// mustSince returns every entry after `after`, reading in chunks of limit.
func mustSince(t testing.TB, l *pglog.Log, after uint64, limit int) []pglog.Entry {
	t.Helper()
	var all []pglog.Entry
	for {
		es, err := l.Since(testCtx(t), after, limit)
		if err != nil {
			t.Fatalf("Since(%d): %v", after, err)
		}
		if len(es) == 0 {
			return all
		}
		all = append(all, es...)
		after = es[len(es)-1].TS
	}
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one wrapping %q", what, err, target)
	}
}

// receive waits for a receive on ch, failing the test after waitTimeout.
func receive(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("no notification %s within %s", what, waitTimeout)
	}
}

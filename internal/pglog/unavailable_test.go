package pglog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/pglog"
	"github.com/livedb-go/livedb/internal/pgtest"
)

// TestLog_Unavailable_WhileStopped stops the server: every call fails
// within its context's bound with ErrUnavailable, and works again once the
// server is back, on the same Log.
func TestLog_Unavailable_WhileStopped(t *testing.T) {
	c := pgtest.Require(t)
	dsn := c.NewDatabase(t)
	l := mustOpen(t, dsn)
	mustCommit(t, l, 1, put("k", "v"))
	if _, _, err := l.TryLease(testCtx(t), "x", "me", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			_ = c.Start()
		}
	}()
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Head", func(ctx context.Context) error { _, err := l.Head(ctx); return err }},
		{"Lock", func(ctx context.Context) error {
			a, _, err := l.Lock(ctx, 1)
			if err == nil {
				a.Rollback()
			}
			return err
		}},
		{"Since", func(ctx context.Context) error { _, err := l.Since(ctx, 0, 0); return err }},
		{"Bootstrap", func(ctx context.Context) error {
			_, err := l.Bootstrap(ctx, func(k, v []byte) error { return nil })
			return err
		}},
		{"Trim", func(ctx context.Context) error { _, err := l.Trim(ctx, 1); return err }},
		{"TryLease", func(ctx context.Context) error { _, _, err := l.TryLease(ctx, "x", "me", time.Hour); return err }},
		{"ReleaseLease", func(ctx context.Context) error { return l.ReleaseLease(ctx, "x", "me") }},
	}
	for _, tc := range calls {
		// The pool may hold connections from before the stop: each fails
		// like a new one would.
		for range 5 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := tc.call(ctx)
			cancel()
			wantErr(t, tc.name+" while stopped", err, pglog.ErrUnavailable)
			if errors.Is(err, pglog.ErrOutcomeUnknown) {
				t.Fatalf("%s: %v: an outcome is known when nothing could be sent", tc.name, err)
			}
		}
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	for _, tc := range calls {
		if err := tc.call(testCtx(t)); err != nil {
			t.Fatalf("%s after the restart: %v", tc.name, err)
		}
	}
	mustCommit(t, l, 2)
	if got := mustSince(t, l, 0, 0); len(got) != 2 {
		t.Fatalf("%d entries after the restart, want 2", len(got))
	}
}

// TestAppender_Commit_ConnectionLostBeforeCommit ends the appender's
// session before Commit: the error wraps ErrUnavailable, not
// ErrOutcomeUnknown, and nothing was written.
func TestAppender_Commit_ConnectionLostBeforeCommit(t *testing.T) {
	dsn := newDSN(t)
	l := mustOpen(t, dsn)
	mustCommit(t, l, 1)
	ctx := testCtx(t)
	a, _, err := l.Lock(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	err = mustSQL(t, dsn).QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND state = 'idle in transaction'`).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminating the appender's session: %d sessions, %v", n, err)
	}
	err = a.Commit(ctx, entry(2, 1), []pglog.Op{put("k", "v")})
	wantErr(t, "Commit on a terminated session", err, pglog.ErrUnavailable)
	if errors.Is(err, pglog.ErrOutcomeUnknown) {
		t.Fatalf("Commit: %v: the COMMIT was never sent, the outcome is known", err)
	}
	head, err := l.Head(ctx)
	if err != nil || head != 1 {
		t.Fatalf("Head after the lost commit = %d, %v; want 1", head, err)
	}
	if state, _ := mustState(t, l); len(state) != 0 {
		t.Fatalf("state after the lost commit: %v, want empty", state)
	}
}

// TestLog_Retry_SessionsKilled ends the pool's sessions on the server side
// and calls again at once: a pooled connection that the server closed is
// retried on a fresh one, so the calls succeed.
func TestLog_Retry_SessionsKilled(t *testing.T) {
	dsn := newDSN(t)
	l := mustOpen(t, dsn)
	mustCommit(t, l, 1, put("k", "v"))
	admin := mustSQL(t, dsn)
	kill := func() {
		t.Helper()
		mustExec(t, admin, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	}
	ctx := testCtx(t)
	calls := []struct {
		name string
		call func() error
	}{
		{"Head", func() error { _, err := l.Head(ctx); return err }},
		{"Since", func() error { _, err := l.Since(ctx, 0, 0); return err }},
		{"Lock", func() error {
			a, _, err := l.Lock(ctx, 1)
			if err == nil {
				a.Rollback()
			}
			return err
		}},
		{"Bootstrap", func() error { _, err := l.Bootstrap(ctx, func(k, v []byte) error { return nil }); return err }},
		{"Trim", func() error { _, err := l.Trim(ctx, 1); return err }},
		{"TryLease", func() error { _, _, err := l.TryLease(ctx, "x", "me", time.Hour); return err }},
		{"ReleaseLease", func() error { return l.ReleaseLease(ctx, "x", "me") }},
	}
	for _, tc := range calls {
		if err := tc.call(); err != nil { // a pooled connection to kill
			t.Fatal(err)
		}
		kill()
		if err := tc.call(); err != nil {
			t.Fatalf("%s after its session was killed: %v", tc.name, err)
		}
	}
}

// TestLog_Lock_AbandonedAppenderFreed leaves an Appender open without a
// word: the server ends its session after IdleInTransactionTimeout, which
// frees the clock row for another writer, and the late Commit fails
// without writing.
func TestLog_Lock_AbandonedAppenderFreed(t *testing.T) {
	dsn := newDSN(t)
	ctx := testCtx(t)
	stuck, err := pglog.Open(ctx, dsn, &pglog.Options{IdleInTransactionTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	a, _, err := stuck.Lock(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Rollback()
	other := mustOpen(t, dsn)
	b, _, err := other.Lock(ctx, 0) // waits until the server ends a's session
	if err != nil {
		t.Fatalf("Lock while an abandoned Appender held the clock row: %v", err)
	}
	if err := b.Commit(ctx, entry(1, 0), nil); err != nil {
		t.Fatal(err)
	}
	err = a.Commit(ctx, entry(1, 0), nil)
	wantErr(t, "the abandoned Appender's Commit", err, pglog.ErrUnavailable)
	if errors.Is(err, pglog.ErrOutcomeUnknown) {
		t.Fatalf("Commit: %v: the COMMIT was never sent", err)
	}
	if got := mustSince(t, other, 0, 0); len(got) != 1 {
		t.Fatalf("%d entries, want 1", len(got))
	}
}

package pglog_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/livedb-go/livedb/internal/pgtest"
)

func TestLog_Notify_AcrossLogs(t *testing.T) {
	dsn := newDSN(t)
	writer, follower := mustOpen(t, dsn), mustOpen(t, dsn)
	ch := follower.Notify()
	receive(t, ch, "after the listener connected")
	mustCommit(t, writer, 1)
	receive(t, ch, "after another Log's commit")
	if follower.Notify() != ch {
		t.Fatal("Notify returned another channel")
	}
}

// TestLog_Notify_OtherDatabaseQuiet checks that a commit to another
// livedb database in the same PostgreSQL database (another schema) sends
// nothing on this database's channel, named after its id: a session that
// listens there gets this database's commit first, though the other's
// came before it.
func TestLog_Notify_OtherDatabaseQuiet(t *testing.T) {
	dsn := newDSN(t)
	conn := mustSQL(t, dsn)
	mustExec(t, conn, "CREATE SCHEMA other")
	l := mustOpen(t, dsn)
	other := mustOpen(t, pgtest.WithParam(dsn, "search_path", "other"))
	mustExec(t, conn, "LISTEN "+pgx.Identifier{"livedb_" + l.ID()}.Sanitize())
	mustCommit(t, other, 1)
	mustCommit(t, l, 2)
	n, err := conn.WaitForNotification(testCtx(t))
	if err != nil {
		t.Fatalf("no notification on the database's channel: %v", err)
	}
	if n.Payload != "2" {
		t.Fatalf("first notification on the database's channel: %q, want this database's commit 2", n.Payload)
	}
}

func TestLog_Notify_AfterRestart(t *testing.T) {
	c := pgtest.Require(t)
	dsn := c.NewDatabase(t)
	writer, follower := mustOpen(t, dsn), mustOpen(t, dsn)
	ch := follower.Notify()
	receive(t, ch, "after the listener connected")
	mustCommit(t, writer, 1)
	receive(t, ch, "after a commit")
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// The listener reconnects by itself and says so.
	receive(t, ch, "after the listener reconnected")
	mustCommit(t, writer, 2)
	receive(t, ch, "after a commit following the restart")
}

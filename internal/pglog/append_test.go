package pglog_test

import (
	"bytes"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/pglog"
)

func TestLog_Lock_RoundTrip(t *testing.T) {
	l := mustOpen(t, newDSN(t))
	ctx := testCtx(t)
	a, entries, err := l.Lock(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Rollback()
	if a.Head() != 0 || len(entries) != 0 {
		t.Fatalf("empty log: head %d, %d entries", a.Head(), len(entries))
	}
	e1 := entry(100, 0)
	if err := a.Commit(ctx, e1, []pglog.Op{put("a", "1"), put("b", "2")}); err != nil {
		t.Fatal(err)
	}
	e2 := mustCommit(t, l, 250, put("a", "3"), del("b"), put("c", ""))
	e3 := pglog.Entry{TS: 300, Prev: 250} // no nonce, no data
	a, entries, err = l.Lock(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Rollback()
	if a.Head() != 250 || len(entries) != 1 || !sameEntry(entries[0], e2) {
		t.Fatalf("Lock(100): head %d, entries %+v; want head 250 and entry 250", a.Head(), entries)
	}
	if err := a.Commit(ctx, e3, nil); err != nil {
		t.Fatal(err)
	}

	got := mustSince(t, l, 0, 0)
	want := []pglog.Entry{e1, e2, {TS: 300, Prev: 250, Data: []byte{}}}
	if len(got) != len(want) {
		t.Fatalf("Since(0): %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if !sameEntry(got[i], want[i]) {
			t.Fatalf("Since(0)[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	head, err := l.Head(ctx)
	if err != nil || head != 300 {
		t.Fatalf("Head = %d, %v; want 300", head, err)
	}
	state, at := mustState(t, l)
	if wantState := map[string]string{"a": "3", "c": ""}; at != 300 || !maps.Equal(state, wantState) {
		t.Fatalf("Bootstrap: %v at %d, want %v at 300", state, at, wantState)
	}
}

func sameEntry(a, b pglog.Entry) bool {
	return a.TS == b.TS && a.Prev == b.Prev && bytes.Equal(a.Nonce, b.Nonce) && bytes.Equal(a.Data, b.Data)
}

func TestAppender_Commit_LastOpOnAKeyWins(t *testing.T) {
	l := mustOpen(t, newDSN(t))
	mustCommit(t, l, 1, put("gone", "x"), put("kept", "x"))
	mustCommit(t, l, 2,
		put("k", "1"), put("k", "2"), // put twice: the last
		put("d", "1"), del("d"), // put then delete: deleted
		del("p"), put("p", "back"), // delete then put: put
		del("gone"), del("absent"), // deleting an absent key is fine
	)
	state, _ := mustState(t, l)
	want := map[string]string{"k": "2", "p": "back", "kept": "x"}
	if !maps.Equal(state, want) {
		t.Fatalf("state %v, want %v", state, want)
	}
}

func TestAppender_Commit_Refused(t *testing.T) {
	l := mustOpen(t, newDSN(t))
	mustCommit(t, l, 10)
	ctx := testCtx(t)
	a, _, err := l.Lock(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Rollback()
	tests := []struct {
		name string
		e    pglog.Entry
		ops  []pglog.Op
	}{
		{"wrong prev", entry(20, 5), nil},
		{"prev of nothing", entry(20, 0), nil},
		{"ts at head", entry(10, 10), nil},
		{"ts before head", entry(9, 10), nil},
		{"ts past bigint", entry(1<<63, 10), nil},
		{"short nonce", pglog.Entry{TS: 20, Prev: 10, Nonce: []byte("abc")}, nil},
		{"empty key", entry(20, 10), []pglog.Op{put("a", "1"), {Value: []byte("v")}}},
	}
	for _, tc := range tests {
		wantErr(t, tc.name, a.Commit(ctx, tc.e, tc.ops), pglog.ErrInvalid)
	}
	// Refusals sent nothing: the Appender still holds the lock and commits.
	if err := a.Commit(ctx, entry(20, 10), []pglog.Op{put("a", "1")}); err != nil {
		t.Fatalf("Commit after refusals: %v", err)
	}
	wantErr(t, "a second Commit", a.Commit(ctx, entry(30, 20), nil), pglog.ErrDone)
	a.Rollback() // no-op after Commit
	if got := mustSince(t, l, 0, 0); len(got) != 2 || got[1].TS != 20 {
		t.Fatalf("log after refusals: %+v, want entries 10 and 20", got)
	}
}

func TestAppender_Rollback_WritesNothing(t *testing.T) {
	l := mustOpen(t, newDSN(t))
	ctx := testCtx(t)
	a, _, err := l.Lock(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	a.Rollback()
	a.Rollback() // idempotent
	wantErr(t, "Commit after Rollback", a.Commit(ctx, entry(1, 0), nil), pglog.ErrDone)
	// The lock is free again.
	mustCommit(t, l, 1)
}

// TestLog_Lock_SecondWaitsAndSeesFirst locks the clock row in one Log,
// then Locks from another: the second must wait for the first's commit and
// return its entry.
func TestLog_Lock_SecondWaitsAndSeesFirst(t *testing.T) {
	dsn := newDSN(t)
	la, lb := mustOpen(t, dsn), mustOpen(t, dsn)
	ctx := testCtx(t)
	a, _, err := la.Lock(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Rollback() // on failure: Close waits for open Appenders
	type result struct {
		head    uint64
		entries []pglog.Entry
		err     error
	}
	done := make(chan result, 1)
	go func() {
		b, entries, err := lb.Lock(ctx, 0)
		var r result
		r.entries, r.err = entries, err
		if err == nil {
			r.head = b.Head()
			b.Rollback()
		}
		done <- r
	}()
	waitForLockWaiter(t, dsn)
	e := entry(5, 0)
	if err := a.Commit(ctx, e, nil); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(waitTimeout):
		t.Fatal("the second Lock did not return after the first committed")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.head != 5 || len(r.entries) != 1 || !sameEntry(r.entries[0], e) {
		t.Fatalf("second Lock: head %d, entries %+v; want head 5 and the first's entry", r.head, r.entries)
	}
}

// waitForLockWaiter waits until a session of dsn's database waits for a
// lock.
func waitForLockWaiter(t *testing.T, dsn string) {
	t.Helper()
	conn := mustSQL(t, dsn)
	deadline := time.After(waitTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		var n int
		err := conn.QueryRow(testCtx(t), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("no session waited for the clock row lock within %s", waitTimeout)
		case <-tick.C:
		}
	}
}

// TestLog_Lock_ConcurrentWritersChain runs writers in two Logs at once,
// each appending at head+1 after applying what Lock returned: the log must
// be one chain 1..n with every writer's entries in it once.
func TestLog_Lock_ConcurrentWritersChain(t *testing.T) {
	dsn := newDSN(t)
	logs := []*pglog.Log{mustOpen(t, dsn), mustOpen(t, dsn)}
	const writersPerLog, perWriter = 2, 15
	var wg sync.WaitGroup
	errs := make(chan error, len(logs)*writersPerLog)
	for li, l := range logs {
		for w := range writersPerLog {
			wg.Go(func() {
				ctx := testCtx(t)
				var applied uint64
				for i := range perWriter {
					a, entries, err := l.Lock(ctx, applied)
					if err != nil {
						errs <- err
						return
					}
					for _, e := range entries {
						if e.Prev != applied {
							a.Rollback()
							errs <- fmt.Errorf("writer %d/%d: entry %d follows %d, applied %d", li, w, e.TS, e.Prev, applied)
							return
						}
						applied = e.TS
					}
					e := pglog.Entry{TS: applied + 1, Prev: applied, Nonce: nonce(), Data: fmt.Appendf(nil, "%d/%d/%d", li, w, i)}
					if err := a.Commit(ctx, e, []pglog.Op{put(fmt.Sprintf("%d/%d", li, w), fmt.Sprint(i))}); err != nil {
						errs <- err
						return
					}
					applied = e.TS
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := mustSince(t, logs[0], 0, 7)
	seen := map[string]bool{}
	for i, e := range all {
		if e.TS != uint64(i+1) || e.Prev != uint64(i) {
			t.Fatalf("entry %d is (ts %d, prev %d), want (%d, %d)", i, e.TS, e.Prev, i+1, i)
		}
		if seen[string(e.Data)] {
			t.Fatalf("entry %q twice", e.Data)
		}
		seen[string(e.Data)] = true
	}
	if n := len(logs) * writersPerLog * perWriter; len(all) != n {
		t.Fatalf("%d entries, want %d", len(all), n)
	}
	state, _ := mustState(t, logs[1])
	for k, v := range state {
		if v != fmt.Sprint(perWriter-1) {
			t.Fatalf("state[%s] = %s, want %d", k, v, perWriter-1)
		}
	}
}

package pglog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/livedb-go/livedb/internal/pglog"
)

func TestLog_Since_TrimmedAndDiverged(t *testing.T) {
	l := mustOpen(t, newDSN(t))
	ctx := testCtx(t)
	for ts := uint64(10); ts <= 50; ts += 10 {
		mustCommit(t, l, ts)
	}
	n, err := l.Trim(ctx, 35)
	if err != nil || n != 3 {
		t.Fatalf("Trim(35) = %d, %v; want 3 entries deleted", n, err)
	}
	for _, after := range []uint64{0, 10, 20} {
		_, err := l.Since(ctx, after, 0)
		wantErr(t, fmt.Sprintf("Since(%d) after trimming", after), err, pglog.ErrTrimmed)
		_, _, err = l.Lock(ctx, after)
		wantErr(t, fmt.Sprintf("Lock(%d) after trimming", after), err, pglog.ErrTrimmed)
	}
	if got := mustSince(t, l, 30, 0); len(got) != 2 || got[0].TS != 40 || got[1].TS != 50 {
		t.Fatalf("Since(30): %+v, want entries 40 and 50", got)
	}
	// The head entry stays, so that a reader at 40 sees what follows.
	n, err = l.Trim(ctx, 1000)
	if err != nil || n != 1 {
		t.Fatalf("Trim(1000) = %d, %v; want 1 deleted (not the head)", n, err)
	}
	if got := mustSince(t, l, 40, 0); len(got) != 1 || got[0].TS != 50 {
		t.Fatalf("Since(40) after trimming all but the head: %+v", got)
	}
	if got := mustSince(t, l, 50, 0); len(got) != 0 {
		t.Fatalf("Since(head): %+v, want none", got)
	}
	_, err = l.Since(ctx, 30, 0)
	wantErr(t, "Since(30) after trimming 40", err, pglog.ErrTrimmed)
	for _, after := range []uint64{45, 60} { // between entries, past the head
		_, err := l.Since(ctx, after, 0)
		wantErr(t, fmt.Sprintf("Since(%d)", after), err, pglog.ErrDiverged)
		_, _, err = l.Lock(ctx, after)
		wantErr(t, fmt.Sprintf("Lock(%d)", after), err, pglog.ErrDiverged)
	}
	// A failed Lock holds nothing.
	mustCommit(t, l, 60)
}

func TestLog_Since_Chunks(t *testing.T) {
	l := mustOpen(t, newDSN(t))
	for ts := uint64(1); ts <= 25; ts++ {
		mustCommit(t, l, ts)
	}
	ctx := testCtx(t)
	got, err := l.Since(ctx, 0, 10)
	if err != nil || len(got) != 10 || got[9].TS != 10 {
		t.Fatalf("Since(0, 10): %d entries, %v; want 1..10", len(got), err)
	}
	if all := mustSince(t, l, 0, 10); len(all) != 25 {
		t.Fatalf("reading in chunks of 10: %d entries, want 25", len(all))
	}
}

func TestLog_Since_ByteLimit(t *testing.T) {
	l := mustOpen(t, newDSN(t))
	const size = 6 << 20 // three fit under SinceMaxBytes: 0, 6 and 12 MiB before them
	for ts := uint64(1); ts <= 4; ts++ {
		head, _ := l.Head(testCtx(t))
		a, _, err := l.Lock(testCtx(t), head)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Rollback()
		e := pglog.Entry{TS: ts, Prev: head, Data: bytes.Repeat([]byte{byte(ts)}, size)}
		if err := a.Commit(testCtx(t), e, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := l.Since(testCtx(t), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || len(got[2].Data) != size || got[2].Data[0] != 3 {
		t.Fatalf("Since over %d MiB entries: %d entries, want 3", size>>20, len(got))
	}
	// One entry over the limit still comes, alone.
	got, err = l.Since(testCtx(t), 3, 0)
	if err != nil || len(got) != 1 || got[0].TS != 4 {
		t.Fatalf("Since(3): %d entries, %v; want entry 4", len(got), err)
	}
}

// TestLog_Since_BrokenChainIsFormatError damages the log by hand: readers
// refuse it with ErrFormat rather than apply it.
func TestLog_Since_BrokenChainIsFormatError(t *testing.T) {
	dsn := newDSN(t)
	l := mustOpen(t, dsn)
	for ts := uint64(1); ts <= 3; ts++ {
		mustCommit(t, l, ts)
	}
	mustExec(t, mustSQL(t, dsn), "UPDATE livedb_log SET prev = 1 WHERE ts = 3")
	_, err := l.Since(testCtx(t), 0, 0)
	wantErr(t, "Since over a broken chain", err, pglog.ErrFormat)
	_, _, err = l.Lock(testCtx(t), 0)
	wantErr(t, "Lock over a broken chain", err, pglog.ErrFormat)
}

// TestLog_Bootstrap_ConsistentWhileCommitting reads the state while a
// writer commits: every commit sets all keys to its ts, so a consistent
// read sees every key at the head it returns.
func TestLog_Bootstrap_ConsistentWhileCommitting(t *testing.T) {
	dsn := newDSN(t)
	l, w := mustOpen(t, dsn), mustOpen(t, dsn)
	const keys = 50
	ops := func(ts uint64) []pglog.Op {
		var ops []pglog.Op
		for k := range keys {
			ops = append(ops, put(fmt.Sprintf("k%03d", k), strconv.FormatUint(ts, 10)))
		}
		return ops
	}
	mustCommit(t, w, 1, ops(1)...)
	ctx, stop := context.WithCancel(testCtx(t))
	var wg sync.WaitGroup
	var commits atomic.Int64
	var werr error
	wg.Go(func() {
		for ts := uint64(2); ctx.Err() == nil; ts++ {
			if werr = commit(ctx, w, ts, ops(ts)); werr != nil {
				return
			}
			commits.Add(1)
		}
	})
	defer func() { stop(); wg.Wait() }()
	// Read until the writer has committed 30 times during the reads.
	for reads := 0; reads < 50 || commits.Load() < 30; reads++ {
		if ctx.Err() != nil {
			t.Fatalf("%d reads and %d commits before the test's deadline, want 50 and 30", reads, commits.Load())
		}
		n := 0
		var got string
		head, err := l.Bootstrap(testCtx(t), func(k, v []byte) error {
			n++
			if got == "" {
				got = string(v)
			}
			if string(v) != got {
				return fmt.Errorf("key %s = %s, but the first key = %s", k, v, got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != keys || got != strconv.FormatUint(head, 10) {
			t.Fatalf("Bootstrap at head %d: %d keys at %s, want %d at the head", head, n, got, keys)
		}
	}
	stop()
	wg.Wait()
	if werr != nil && ctx.Err() == nil {
		t.Fatalf("writer: %v", werr)
	}
}

func TestLog_Bootstrap_StopsOnCallbackError(t *testing.T) {
	l := mustOpen(t, newDSN(t))
	mustCommit(t, l, 1, put("a", "1"), put("b", "2"))
	stopErr := errors.New("enough")
	calls := 0
	_, err := l.Bootstrap(testCtx(t), func(k, v []byte) error { calls++; return stopErr })
	if !errors.Is(err, stopErr) || calls != 1 {
		t.Fatalf("Bootstrap: %v after %d calls, want the callback's error after 1", err, calls)
	}
}

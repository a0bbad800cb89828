package livedb

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/livedb-go/livedb/v"
)

// TestOpen_ReservedStackHoldsOpenAndFirstQuery opens a file and runs an
// indexed query on a new goroutine after reserveOpenStack, and fails when
// its stack grew again meanwhile (a local variable's address moved): the
// reserve must hold the whole open, bbolt's 4 KiB page read included. It
// also fails when Open does not call reserveOpenStack itself.
func TestOpen_ReservedStackHoldsOpenAndFirstQuery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stack.db")
	schema := DefineSchema(Tables{"tasks": DefineTable(v.Object(v.Fields{"wf": v.String(), "status": v.String()})).
		Index("by_wf_status", "wf", "status")})
	db, err := Open(path, schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Mutation(context.Background(), func(tx *MutationCtx) error {
		for i := range 100 {
			if _, err := tx.DB.Insert("tasks", Doc{"wf": fmt.Sprint(i % 10), "status": "running"}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // no collection shrinks the stack meanwhile

	type result struct {
		moved    bool
		reserved int32 // reserveOpenStack's calls during Open
		rows     int
		err      error
	}
	done := make(chan result)
	go func() {
		var here byte
		reserveOpenStack(0)
		before := uintptr(unsafe.Pointer(&here))
		var r result
		var calls atomic.Int32
		count := func() { calls.Add(1) }
		testHookOpenStack.Store(&count)
		db, err := Open(path, schema, nil)
		testHookOpenStack.Store(nil)
		r.reserved = calls.Load()
		if err != nil {
			done <- result{err: err}
			return
		}
		r.err = db.Query(context.Background(), func(q *QueryCtx) error {
			docs, err := q.DB.Query("tasks").WithIndex("by_wf_status", func(r IndexRange) IndexRange {
				return r.Eq("wf", "3").Eq("status", "running")
			}).Collect()
			r.rows = len(docs)
			return err
		})
		r.moved = uintptr(unsafe.Pointer(&here)) != before
		if err := db.Close(); r.err == nil {
			r.err = err
		}
		done <- r
	}()
	r := <-done
	switch {
	case r.err != nil:
		t.Fatal(r.err)
	case r.reserved != 1:
		t.Fatalf("Open called reserveOpenStack %d times, want 1", r.reserved)
	case r.rows != 10:
		t.Fatalf("the query found %d rows, want 10", r.rows)
	case r.moved:
		t.Fatalf("the goroutine's stack grew during Open and the first query after reserveOpenStack (%d bytes)", openStackReserve)
	}
}

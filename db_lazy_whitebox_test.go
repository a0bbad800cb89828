package livedb

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/livedb-go/livedb/v"
)

// lazySchema is one table of counters.
func lazySchema() *Schema {
	return DefineSchema(Tables{"items": DefineTable(v.Object(v.Fields{"n": v.Int64()}))})
}

// countItems counts the items at a new snapshot.
func countLazyItems(q *QueryCtx) (int, error) {
	docs, err := q.DB.Query("items").Collect()
	return len(docs), err
}

// TestDB_Open_GoroutinesStartOnFirstNeed checks that an Open followed by
// queries starts neither the committer nor the subscription loop, that a
// subscription starts the loop and the first mutation the committer (on
// bbolt: a memory database commits on the mutation's goroutine,
// db_commit_inline.go), and that both then work: the mutation commits and
// the subscription sees it.
func TestDB_Open_GoroutinesStartOnFirstNeed(t *testing.T) {
	for _, backend := range []string{"memory", "bbolt"} {
		t.Run(backend, func(t *testing.T) {
			db := openWhitebox(t, backend, lazySchema(), Options{})
			ctx := context.Background()
			n, err := QueryValue(ctx, db, countLazyItems)
			if err != nil || n != 0 {
				t.Fatalf("query: %d items, %v; want 0, nil", n, err)
			}
			if db.lazy.on.Load() || db.subs.looping.Load() {
				t.Fatalf("after Open and a query: committer started %v, subscription loop started %v; want neither",
					db.lazy.on.Load(), db.subs.looping.Load())
			}

			sub, err := Subscribe(ctx, db, countLazyItems)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			if u := <-sub.Updates(); u.Err != nil || u.Value != 0 {
				t.Fatalf("first update: %d, %v; want 0, nil", u.Value, u.Err)
			}
			if !db.subs.looping.Load() {
				t.Fatal("the subscription loop did not start with the first subscription")
			}
			if db.lazy.on.Load() {
				t.Fatal("the committer started before any mutation")
			}

			if err := db.Mutation(ctx, func(m *MutationCtx) error {
				_, err := m.DB.Insert("items", Doc{"n": int64(1)})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			// A memory database commits on the mutation's goroutine, with a
			// subscription open too (db_commit_inline.go); bbolt through
			// the committer.
			if want := backend == "bbolt"; db.lazy.on.Load() != want {
				t.Fatalf("after a mutation with a subscription open: committer started %v, want %v", db.lazy.on.Load(), want)
			}
			select {
			case u := <-sub.Updates():
				if u.Err != nil || u.Value != 1 {
					t.Fatalf("update after the insert: %d, %v; want 1, nil", u.Value, u.Err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the subscription saw no update within 10s of the insert")
			}
		})
	}
}

// TestDB_Close_BeforeFirstMutation checks that a database closed before its
// first mutation closes (nothing to wait for) and that a mutation after
// Close fails with ErrClosed without starting the committer.
func TestDB_Close_BeforeFirstMutation(t *testing.T) {
	db := openWhitebox(t, "bbolt", lazySchema(), Options{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	err := db.Mutation(context.Background(), func(m *MutationCtx) error {
		_, err := m.DB.Insert("items", Doc{"n": int64(1)})
		return err
	})
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Mutation after Close: %v, want ErrClosed", err)
	}
	db.startCommitter() // what submit and runAlone call
	if db.lazy.on.Load() {
		t.Fatal("the committer started after Close")
	}
}

// TestDB_OpenShared_CommitterFollowsAtOpen checks that a process of a
// shared database runs its committer from Open, before any mutation of its
// own: it follows the log, so another process's commit reaches its
// subscriptions.
func TestDB_OpenShared_CommitterFollowsAtOpen(t *testing.T) {
	l := newMemLog()
	a := openOnMemLog(t, l, lazySchema(), nil)
	b := openOnMemLog(t, l, lazySchema(), nil)
	if !b.lazy.on.Load() {
		t.Fatal("a shared database's committer did not start at Open")
	}
	ctx := context.Background()
	sub, err := Subscribe(ctx, b, countLazyItems)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	<-sub.Updates()
	if err := a.Mutation(ctx, func(m *MutationCtx) error {
		_, err := m.DB.Insert("items", Doc{"n": int64(1)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case u := <-sub.Updates():
		if u.Err != nil || u.Value != 1 {
			t.Fatalf("b's update after a's insert: %d, %v; want 1, nil", u.Value, u.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b saw no update within 10s of a's insert")
	}
}

package livedb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/internal/kv/memkv"
	"github.com/livedb-go/livedb/v"
)

func sharedTestSchema() *Schema {
	return DefineSchema(Tables{
		"items": DefineTable(v.Object(v.Fields{"bucket": v.Int64(), "n": v.Int64()})).Index("by_bucket", "bucket"),
	})
}

func sharedInsert(t *testing.T, db *DB, bucket, n int64) (ID, uint64) {
	t.Helper()
	var id ID
	ts, err := db.MutationTS(context.Background(), func(m *MutationCtx) error {
		var err error
		id, err = m.DB.Insert("items", Doc{"bucket": bucket, "n": n})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id, ts
}

func sharedItems(t *testing.T, db *DB) map[ID]int64 {
	t.Helper()
	out, err := QueryValue(context.Background(), db, func(q *QueryCtx) (map[ID]int64, error) {
		docs, err := q.DB.Query("items").Collect()
		m := map[ID]int64{}
		for _, d := range docs {
			m[d["_id"].(ID)] = d["n"].(int64)
		}
		return m, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// openBboltCopy opens a process of l whose copy is the bbolt file at path.
func openBboltCopy(t *testing.T, l *memLog, path string) *DB {
	t.Helper()
	store, err := bboltkv.Open(path, &bboltkv.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	db, err := openMemLog(l, store, sharedTestSchema(), nil)
	if err != nil {
		_ = store.Close()
		t.Fatal(err)
	}
	return db
}

// TestShared_CopyCatchesUpAfterRestart: a process whose copy is a bbolt
// file comes back after a stop and applies only what it missed; after the
// log was trimmed past it, it loads the copy anew, dropping what was
// deleted meanwhile, and its change feed says where it restarts.
func TestShared_CopyCatchesUpAfterRestart(t *testing.T) {
	for _, trim := range []bool{false, true} {
		t.Run(fmt.Sprintf("trimmed=%v", trim), func(t *testing.T) {
			l := newMemLog()
			path := filepath.Join(t.TempDir(), "copy.db")
			a, err := openMemLog(l, newMemStore(), sharedTestSchema(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b := openBboltCopy(t, l, path)
			gone, _ := sharedInsert(t, a, 1, 1) // in B's change feed, from the log
			if err := b.CatchUp(context.Background(), a.lastTS.Load()); err != nil {
				t.Fatal(err)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			mustDo(t, a, func(m *MutationCtx) error { return m.DB.Delete(gone) })
			var ts uint64
			for i := range 20 {
				_, ts = sharedInsert(t, a, int64(i%2), int64(i))
			}
			if trim {
				_ = l.trim(context.Background(), ts)
			}
			b = openBboltCopy(t, l, path)
			defer b.Close()
			if err := b.CatchUp(context.Background(), ts); err != nil {
				t.Fatal(err)
			}
			want, got := sharedItems(t, a), sharedItems(t, b)
			if fmt.Sprint(want) != fmt.Sprint(got) {
				t.Fatalf("after restart (trimmed %v), B holds %v, A holds %v", trim, got, want)
			}
			if err := b.Check(context.Background()); err != nil {
				t.Fatalf("Check of the copy: %v", err)
			}
			// B's change feed reads whole changes (a reload drops the
			// changes before it, whose documents it replaced).
			for f := b.Changes(0); ; {
				_, ok, err := f.TryNext()
				if err != nil {
					t.Fatalf("change feed of the copy (trimmed %v): %v", trim, err)
				}
				if !ok {
					break
				}
			}
			// B goes on writing, and A sees it.
			_, ts = sharedInsert(t, b, 5, 5)
			if err := a.CatchUp(context.Background(), ts); err != nil {
				t.Fatal(err)
			}
			if got := sharedItems(t, a); len(got) != 21 {
				t.Fatalf("A holds %d items after B's insert, want 21", len(got))
			}
		})
	}
}

// TestShared_UnavailableLogFailsWritesNotReads: while the log cannot be
// reached, a mutation fails with ErrUnavailable and writes nothing,
// queries go on, and once it is back writes go on.
func TestShared_UnavailableLogFailsWritesNotReads(t *testing.T) {
	l := newMemLog()
	db, err := openMemLog(l, newMemStore(), sharedTestSchema(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sharedInsert(t, db, 1, 1)
	l.fail(fmt.Errorf("%w: test: server stopped", ErrUnavailable))
	err = db.Mutation(context.Background(), func(m *MutationCtx) error {
		_, err := m.DB.Insert("items", Doc{"bucket": int64(2), "n": int64(2)})
		return err
	})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Mutation with the log down: %v, want ErrUnavailable", err)
	}
	if got := sharedItems(t, db); len(got) != 1 {
		t.Fatalf("the copy holds %d items, want the 1 committed before the outage", len(got))
	}
	l.fail(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, ts := sharedInsert(t, db, 3, 3)
	if err := db.CatchUp(ctx, ts); err != nil {
		t.Fatal(err)
	}
	if got := sharedItems(t, db); len(got) != 2 {
		t.Fatalf("after the outage the copy holds %d items, want 2", len(got))
	}
}

// TestShared_BadLogEntryStopsWrites: an entry this copy cannot decode is
// not skipped: the copy stops its writes and says why.
func TestShared_BadLogEntryStopsWrites(t *testing.T) {
	l := newMemLog()
	a, err := openMemLog(l, newMemStore(), sharedTestSchema(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, ts := sharedInsert(t, a, 1, 1)
	l.mu.Lock()
	l.entries = append(l.entries, logEntry{ts: ts + 1, prev: ts, data: []byte{logFormat, 0xff}})
	l.head = ts + 1
	l.mu.Unlock()
	err = a.Mutation(context.Background(), func(m *MutationCtx) error {
		_, err := m.DB.Insert("items", Doc{"bucket": int64(2), "n": int64(2)})
		return err
	})
	if !errors.Is(err, ErrStorageFailed) || !errors.Is(err, ErrNotLivedb) {
		t.Fatalf("Mutation after a malformed entry: %v, want ErrStorageFailed wrapping ErrNotLivedb", err)
	}
}

func TestLogGroup_DecodeNeverPanics(t *testing.T) {
	g := &logGroup{
		records: []*commitRecord{{ts: 5, tableKeys: [][]byte{{4, 'n', 'x'}}, writes: []*pendingDoc{{table: &tableInfo{number: 10001}, id: "abc", newKeys: [][]byte{{1}, nil}}}}},
		ops:     nil,
		catalog: []byte("{}"),
	}
	b := encodeLogGroup(g)
	back, err := decodeLogGroup(b)
	if err != nil || back.ts() != 5 || back.records[0].writes[0].id != "abc" || string(back.catalog) != "{}" {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	for i := range len(b) {
		if _, err := decodeLogGroup(b[:i]); err == nil {
			t.Fatalf("a group cut at %d of %d bytes decodes", i, len(b))
		}
	}
}

func newMemStore() kv.Store { return memkv.New() }

func mustDo(t *testing.T, db *DB, fn func(m *MutationCtx) error) {
	t.Helper()
	if err := db.Mutation(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

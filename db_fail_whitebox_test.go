package livedb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/engine"
	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/internal/kv/memkv"
	"github.com/livedb-go/livedb/v"
)

// errInjected is the storage error the tests inject.
var errInjected = errors.New("injected: fdatasync: input/output error")

// faultStore is a kv.Store whose next Commit can be made to fail, either
// before writing anything or after the batch was applied (as when the
// fsync after bbolt's write fails: the commit is visible, maybe durable).
type faultStore struct {
	kv.Store
	mu      sync.Mutex
	fail    error // returned by the next Commit, then cleared
	apply   bool  // the failing Commit applies the batch first
	commits int   // Commits applied to the wrapped store
}

// arm makes the next Commit fail with err, after applying the batch when
// apply is set.
func (s *faultStore) arm(err error, apply bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail, s.apply = err, apply
}

// applied returns how many Commits reached the wrapped store.
func (s *faultStore) applied() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commits
}

func (s *faultStore) Commit(b *kv.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := s.fail
	s.fail = nil
	if fail != nil && !s.apply {
		return fail
	}
	if err := s.Store.Commit(b); err != nil {
		return err
	}
	s.commits++
	return fail
}

func failSchema() *Schema {
	return DefineSchema(Tables{
		"notes": DefineTable(v.Object(v.Fields{"s": v.String()})).Index("by_s", "s"),
	})
}

// faultBackend opens a DB on a faultStore over one of the two stores.
type faultBackend struct {
	name string
	kv   func(t *testing.T, path string) kv.Store
}

var faultBackends = []faultBackend{
	{"memory", func(*testing.T, string) kv.Store { return memkv.New() }},
	{"bbolt", func(t *testing.T, path string) kv.Store {
		t.Helper()
		s, err := bboltkv.Open(path, &bboltkv.Options{NoSync: true})
		if err != nil {
			t.Fatalf("bboltkv.Open: %v", err)
		}
		return s
	}},
}

// mustOpenFault opens a DB on a faultStore; its log goes to logs.
func mustOpenFault(t *testing.T, b faultBackend, path string, logs *bytes.Buffer) (*DB, *faultStore) {
	t.Helper()
	fs := &faultStore{Store: b.kv(t, path)}
	o := (&Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), AllowUndeclaredTables: true}).withDefaults()
	if b.name == "memory" {
		path = ""
	}
	db, err := open(fs, path, failSchema(), o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return db, fs
}

func insertNote(db *DB, s string) error {
	return db.Mutation(context.Background(), func(m *MutationCtx) error {
		_, err := m.DB.Insert("notes", Doc{"s": s})
		return err
	})
}

// noteTexts returns the s field of every note, sorted.
func noteTexts(t *testing.T, db *DB) []string {
	t.Helper()
	var out []string
	err := db.Query(context.Background(), func(q *QueryCtx) error {
		docs, err := q.DB.Query("notes").WithIndex("by_s", nil).Collect()
		for _, d := range docs {
			out = append(out, d["s"].(string))
		}
		return err
	})
	if err != nil {
		t.Fatalf("query notes: %v", err)
	}
	return out
}

// wantStopped fails the test unless err says that writes are stopped by
// the injected storage error.
func wantStopped(t *testing.T, what string, err error, wantText string) {
	t.Helper()
	if !errors.Is(err, ErrStorageFailed) || !errors.Is(err, errInjected) || !strings.Contains(err.Error(), wantText) {
		t.Fatalf("%s: %v, want ErrStorageFailed wrapping the injected error, saying %q", what, err, wantText)
	}
}

// TestDB_Mutation_StorageFailure checks that a storage commit that fails
// (an fsync error: the commit may or may not be on disk) fails the DB
// closed: its mutation gets ErrStorageFailed with the cause, and so does
// every later write (a mutation that began before the failure, new
// mutations, an import) without reaching the store, while reads go on.
// Reopened, the file holds what reached it.
func TestDB_Mutation_StorageFailure(t *testing.T) {
	for _, b := range faultBackends {
		for _, apply := range []bool{false, true} {
			name := b.name + "/not_applied"
			if apply {
				name = b.name + "/applied"
			}
			t.Run(name, func(t *testing.T) { testStorageFailure(t, b, apply) })
		}
	}
}

func testStorageFailure(t *testing.T, b faultBackend, apply bool) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fail.db")
	var logs bytes.Buffer
	db, fs := mustOpenFault(t, b, path, &logs)
	defer db.Close()
	if err := insertNote(db, "before"); err != nil {
		t.Fatalf("insert before the failure: %v", err)
	}

	// A mutation that is running when the commit fails. It is released
	// on every way out, before Close (which waits for its snapshot).
	started, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	releaseHeld := func() { releaseOnce.Do(func() { close(release) }) }
	defer releaseHeld()
	held := make(chan error, 1)
	go func() {
		held <- db.Mutation(ctx, func(m *MutationCtx) error {
			_, err := m.DB.Insert("notes", Doc{"s": "held"})
			select {
			case <-started:
			default:
				close(started)
			}
			<-release
			return err
		})
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the held mutation did not start within 10s")
	}

	fs.arm(errInjected, apply)
	wantStopped(t, "the mutation whose commit failed", insertNote(db, "doubt"), "outcome of this commit is unknown")
	reached := fs.applied()

	releaseHeld()
	select {
	case err := <-held:
		wantStopped(t, "a mutation running when the commit failed", err, "not committed")
	case <-time.After(10 * time.Second):
		t.Fatal("the held mutation did not return within 10s of its release")
	}
	wantStopped(t, "a later mutation", insertNote(db, "after"), "not committed")
	err := db.Mutation(ctx, func(m *MutationCtx) error { return nil })
	wantStopped(t, "a later mutation that writes nothing", err, "not committed")
	err = importTableText(ctx, db, "notes", strings.NewReader(`{"s": "imported"}`+"\n"), false, engine.ImportAppend)
	wantStopped(t, "a later import", err, "not committed")
	err = importTableText(ctx, db, "other", strings.NewReader(`{"s": "imported"}`+"\n"), false, engine.ImportAppend)
	wantStopped(t, "a later import into a new table", err, "not committed")
	if n := fs.applied(); n != reached {
		t.Fatalf("%d storage commits after the failure, want none", n-reached)
	}
	if n := strings.Count(logs.String(), "accepts no more writes"); n != 1 {
		t.Fatalf("the failure was logged %d times, want once; log:\n%s", n, logs.String())
	}

	// Reads go on, on what the store holds: the commit in doubt is
	// visible when the store applied it.
	want := []string{"before"}
	if apply {
		want = []string{"before", "doubt"}
	}
	if got := noteTexts(t, db); !slices.Equal(got, want) {
		t.Fatalf("notes after the failure = %q, want %q", got, want)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close after the failure: %v", err)
	}
	if b.name != "bbolt" {
		return
	}
	db2, err := Open(path, failSchema(), &Options{NoSync: true, AllowUndeclaredTables: true})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db2.Close()
	if got := noteTexts(t, db2); !slices.Equal(got, want) {
		t.Fatalf("notes after reopening = %q, want %q", got, want)
	}
	if err := insertNote(db2, "reopened"); err != nil {
		t.Fatalf("insert after reopening: %v", err)
	}
}

// TestDB_Mutation_StorageFailureCatalog checks that the commit of a new
// table, which stores the catalog with the mutation's documents, fails
// closed too.
func TestDB_Mutation_StorageFailureCatalog(t *testing.T) {
	for _, b := range faultBackends {
		t.Run(b.name, func(t *testing.T) {
			var logs bytes.Buffer
			db, fs := mustOpenFault(t, b, filepath.Join(t.TempDir(), "fail.db"), &logs)
			defer db.Close()
			fs.arm(errInjected, false)
			err := db.Mutation(context.Background(), func(m *MutationCtx) error {
				_, err := m.DB.Insert("fresh", Doc{"s": "x"})
				return err
			})
			wantStopped(t, "an insert whose new table failed to commit", err, "outcome of this commit is unknown")
			wantStopped(t, "a later mutation", insertNote(db, "after"), "not committed")
		})
	}
}

// TestDB_Query_AfterCatalogCommitFailed checks that reads go on after a
// storage commit that changed the catalog failed, whether or not the store
// applied it: a snapshot then holds either catalog.
func TestDB_Query_AfterCatalogCommitFailed(t *testing.T) {
	for _, b := range faultBackends {
		for _, applied := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/applied=%v", b.name, applied), func(t *testing.T) {
				var logs bytes.Buffer
				db, fs := mustOpenFault(t, b, filepath.Join(t.TempDir(), "fail.db"), &logs)
				defer db.Close()
				fs.arm(errInjected, applied)
				err := db.Mutation(context.Background(), func(m *MutationCtx) error {
					_, err := m.DB.Insert("fresh", Doc{"s": "x"})
					return err
				})
				wantStopped(t, "an insert whose new table failed to commit", err, "outcome of this commit is unknown")
				var n int
				err = db.Query(context.Background(), func(q *QueryCtx) error {
					docs, err := q.DB.Query("fresh").Collect()
					n = len(docs)
					return err
				})
				if err != nil {
					t.Fatalf("a query after the failed commit: %v", err)
				}
				if want := map[bool]int{false: 0, true: 1}[applied]; n != want {
					t.Fatalf("fresh holds %d documents, want %d (what the store holds)", n, want)
				}
			})
		}
	}
}

// TestDB_Mutation_StorageRejected checks that a batch the store refuses
// before writing (here a key over the stores' 32 KiB limit) is an ordinary
// error that leaves the DB writable.
func TestDB_Mutation_StorageRejected(t *testing.T) {
	for _, b := range faultBackends {
		t.Run(b.name, func(t *testing.T) {
			var logs bytes.Buffer
			db, _ := mustOpenFault(t, b, filepath.Join(t.TempDir(), "fail.db"), &logs)
			defer db.Close()
			err := insertNote(db, strings.Repeat("x", 40000)) // the by_s key is too long
			if err == nil || errors.Is(err, ErrStorageFailed) {
				t.Fatalf("insert of a too long index key = %v, want an ordinary error", err)
			}
			if err := insertNote(db, "after"); err != nil {
				t.Fatalf("insert after a rejected batch: %v", err)
			}
			if logs.Len() > 0 {
				t.Fatalf("a rejected batch was logged:\n%s", logs.String())
			}
		})
	}
}

package livedb

import (
	"context"
	"path/filepath"
	"testing"
	"testing/synctest"

	"github.com/livedb-go/livedb/v"
)

// openWhitebox opens a database of the named backend ("memory" or
// "bbolt", without fsync) with schema s, closed when the test ends.
func openWhitebox(t *testing.T, backend string, s *Schema, opts Options) *DB {
	t.Helper()
	var db *DB
	var err error
	if backend == "memory" {
		db, err = OpenMemory(s, &opts)
	} else {
		opts.NoSync = true
		db, err = Open(filepath.Join(t.TempDir(), "wb.db"), s, &opts)
	}
	if err != nil {
		t.Fatalf("open %s: %v", backend, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// TestDB_CommitGroup_PublishesBeforeReplying checks the committer's order of
// effects: a commit is published (OCC log, last timestamp, change-feed
// signal) before its caller is answered, so that LastTimestamp read right
// after MutationTS returns is never lower than the timestamp it returned.
// The request's reply channel is unbuffered, so the committer blocks in the
// reply; synctest.Wait returns once it does, and the test looks at what it
// published by then. With the publication moved after the replies, the
// last timestamp and the log still hold the previous commit.
func TestDB_CommitGroup_PublishesBeforeReplying(t *testing.T) {
	for _, backend := range []string{"memory", "bbolt"} {
		t.Run(backend, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := DefineSchema(Tables{"items": DefineTable(v.Object(v.Fields{"n": v.Int64()}))})
				db := openWhitebox(t, backend, s, Options{})
				ctx := context.Background()
				if err := db.Mutation(ctx, func(m *MutationCtx) error {
					_, err := m.DB.Insert("items", Doc{"n": int64(0)})
					return err
				}); err != nil {
					t.Fatal(err)
				}
				before := db.LastTimestamp()

				tx, err := db.begin(ctx, true)
				if err != nil {
					t.Fatal(err)
				}
				w := &Writer{Reader{tx: tx}}
				if _, err := w.Insert("items", Doc{"n": int64(1)}); err != nil {
					t.Fatal(err)
				}
				tx.done = true
				tx.snap.Release()
				signal := db.commitSignal()
				req := &commitReq{tx: tx, done: make(chan commitResult)} // unbuffered: the reply blocks
				// A memory database's first commit was inline (db_commit_inline.go).
				db.startCommitter()
				db.commitCh <- req
				synctest.Wait() // the committer is blocked in the reply

				published := db.LastTimestamp()
				if published <= before {
					t.Errorf("while the committer answers the caller, LastTimestamp() = %d, still the previous commit's %d", published, before)
				}
				db.activeMu.Lock()
				var logTS uint64
				if n := len(db.log); n > 0 {
					logTS = db.log[n-1].ts
				}
				db.activeMu.Unlock()
				if logTS <= before {
					t.Errorf("while the committer answers the caller, the OCC log ends at %d, not after the previous commit's %d", logTS, before)
				}
				select {
				case <-signal:
				default:
					t.Error("while the committer answers the caller, change feeds waiting for a commit were not woken")
				}

				res := <-req.done // the committer is blocked sending it
				db.end(tx)
				if res.err != nil {
					t.Fatalf("commit: %v", res.err)
				}
				if res.ts != published || res.ts != logTS {
					t.Errorf("the caller got timestamp %d; published %d, logged %d", res.ts, published, logTS)
				}
			})
		})
	}
}

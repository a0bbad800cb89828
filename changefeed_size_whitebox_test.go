package livedb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/v"
)

// leafBytes opens the bbolt file at path (closed) and returns the bytes
// the leaf pages of livedb's buckets use (the main bucket and each
// index's), as bbolt's own statistics count them: keys, values and their
// headers, without the free space of the pages.
func leafBytes(t *testing.T, path string) int {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var n, buckets int
	err = bdb.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if strings.HasPrefix(string(name), bboltkv.BucketName) {
				n += b.Stats().LeafInuse
				buckets++
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if buckets < 2 {
		t.Fatalf("%d livedb buckets in %s, want the main one and the indexes'", buckets, path)
	}
	return n
}

// TestDB_ChangeFeed_StoresDocumentOnce measures, with bbolt's page
// statistics, what a batch of writes adds to the file, against the size of
// the documents written: an insert stores its document once (in the
// store; its change record names it), an update stores the new version in
// the store and the replaced one in its change record (the store no longer
// has it), so each adds one document's bytes plus keys, never two. A
// change record that copied the new version (as the format before
// version 3 did) makes each step grow by two documents or more.
func TestDB_ChangeFeed_StoresDocumentOnce(t *testing.T) {
	const n, payload = 300, 1500 // documents much larger than their keys
	path := filepath.Join(t.TempDir(), "size.db")
	s := DefineSchema(Tables{
		"blobs": DefineTable(v.Object(v.Fields{"k": v.Int64(), "data": v.String()})).Index("by_k", "k"),
	})
	rng := rand.New(rand.NewPCG(1, 2))
	data := func() string {
		b := make([]byte, payload)
		for i := range b {
			b[i] = 'a' + byte(rng.IntN(26))
		}
		return string(b)
	}
	var ids []ID
	var docBytes int // encoded size of the documents written by a step
	step := func(name string, write func(m *MutationCtx, i int) error) int {
		t.Helper()
		before := 0
		if len(ids) > 0 {
			before = leafBytes(t, path)
		}
		db, err := Open(path, s, &Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		docBytes = 0
		for i := range n {
			err := db.Mutation(context.Background(), func(m *MutationCtx) error { return write(m, i) })
			if err != nil {
				t.Fatalf("%s %d: %v", name, i, err)
			}
		}
		err = db.Query(context.Background(), func(q *QueryCtx) error {
			for _, id := range ids {
				enc, ok, err := q.DB.tx.snap.Get(docKey(q.DB.tx.cat.tables["blobs"], string(id)))
				if err != nil || !ok {
					return fmt.Errorf("document %s: ok %v, %w", id, ok, err)
				}
				docBytes += len(enc)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		return leafBytes(t, path) - before
	}
	inserted := step("insert", func(m *MutationCtx, i int) error {
		id, err := m.DB.Insert("blobs", Doc{"k": int64(i), "data": data()})
		ids = append(ids, id)
		return err
	})
	t.Logf("insert: %d documents of %d bytes in all added %d bytes to the leaves", n, docBytes, inserted)
	if inserted >= docBytes*3/2 {
		t.Errorf("inserting %d documents (%d bytes) added %d bytes to the leaves: a document is stored more than once", n, docBytes, inserted)
	}
	updated := step("update", func(m *MutationCtx, i int) error {
		return m.DB.Patch(ids[i], Doc{"data": data()})
	})
	t.Logf("update: %d documents of %d bytes in all added %d bytes to the leaves", n, docBytes, updated)
	if updated >= docBytes*3/2 {
		t.Errorf("updating %d documents (%d bytes) added %d bytes to the leaves: a version is stored more than once", n, docBytes, updated)
	}
}

// TestDB_PruneChanges_DropsLaterChangeKeys: retention deletes, with the
// change records it prunes, the keys (0x05) that lead a reader from a
// change to the document's next one; the records it keeps still read
// whole, their new versions found in a later change or in the store.
func TestDB_PruneChanges_DropsLaterChangeKeys(t *testing.T) {
	const retention = time.Hour
	for _, backend := range []string{"memory", "bbolt"} {
		t.Run(backend, func(t *testing.T) {
			const t0 = int64(1_800_000_000_000_000_000)
			clock := pinClock(t, t0)
			s := DefineSchema(Tables{"items": DefineTable(v.Object(v.Fields{"n": v.Int64()}))})
			db := openWhitebox(t, backend, s, Options{ChangeRetention: retention})
			ctx := context.Background()
			at := t0
			mutate := func(f func(m *MutationCtx) error) {
				t.Helper()
				at++
				clock.Store(at)
				if err := db.Mutation(ctx, f); err != nil {
					t.Fatal(err)
				}
			}
			var old, kept ID
			mutate(func(m *MutationCtx) (err error) { old, err = m.DB.Insert("items", Doc{"n": int64(0)}); return err })
			for i := range 3 {
				mutate(func(m *MutationCtx) error { return m.DB.Patch(old, Doc{"n": int64(i + 1)}) })
			}
			mutate(func(m *MutationCtx) error { return m.DB.Delete(old) })
			at += int64(retention) // everything before is pruned by the next prune
			mutate(func(m *MutationCtx) (err error) { kept, err = m.DB.Insert("items", Doc{"n": int64(10)}); return err })
			mutate(func(m *MutationCtx) error { return m.DB.Patch(kept, Doc{"n": int64(11)}) })
			countLater := func() int {
				t.Helper()
				snap, err := db.store.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				defer snap.Release()
				it := snap.Iter([]byte{tagDocChange}, []byte{tagDocChange + 1}, false)
				defer it.Close()
				n := 0
				for it.Next() {
					n++
				}
				return n
			}
			if n := countLater(); n != 5 {
				t.Fatalf("%d later-change keys before pruning, want 5 (3 patches and a delete of one document, a patch of another)", n)
			}
			db.sincePrune = pruneEvery - 1 // committer only: no commit is running
			mutate(func(m *MutationCtx) error { return m.DB.Patch(kept, Doc{"n": int64(12)}) })
			if n := countLater(); n != 2 {
				t.Errorf("%d later-change keys after pruning, want 2 (the kept document's two patches)", n)
			}
			var got []string
			f := db.Changes(0)
			for {
				c, ok, err := f.TryNext()
				if err != nil {
					t.Fatalf("feed after pruning: %v", err)
				}
				if !ok {
					break
				}
				got = append(got, fmt.Sprintf("%v %v→%v", c.Op, c.Old["n"], c.New["n"]))
			}
			want := []string{"insert <nil>→10", "update 10→11", "update 11→12"}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("changes kept = %v, want %v", got, want)
			}
		})
	}
}

package livedb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
)

// A version that a reader with an older snapshot caches after a commit
// replaced it (its memo's CompareAndSwap comes after the store's
// Supersede) gets an empty link at once: the index entry that reader links
// to it, which the patch left alone, does not lead later snapshots to the
// replaced version.
func TestDocLink_CachedAfterReplace_NotServed(t *testing.T) {
	precacheWrites = false // the versions are cached by their readers, not at commit
	t.Cleanup(func() { precacheWrites = true })
	db, id := openPrecacheNotes(t)
	ctx := context.Background()
	byGroup := func(r *Reader) (int64, error) {
		d, ok, err := r.Query("notes").WithIndex("by_group", func(r IndexRange) IndexRange { return r.Eq("group", "g") }).First()
		if err != nil || !ok {
			return 0, fmt.Errorf("by_group: %v, %v", ok, err)
		}
		return d["n"].(int64), nil
	}
	started, patched := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.Query(ctx, func(q *QueryCtx) error {
			close(started)
			select {
			case <-patched:
			case <-time.After(30 * time.Second):
				return fmt.Errorf("the patch did not commit within 30s")
			}
			// The first read marks the replaced version read once, the
			// second caches its decoding and links by_group's entry to it.
			for range 2 {
				if n, err := byGroup(q.DB); err != nil || n != 1 {
					return fmt.Errorf("the snapshot before the patch read n=%d, %v; want 1", n, err)
				}
			}
			return nil
		})
	}()
	mustClose := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("waiting for %s: nothing after 30s", what)
		}
	}
	mustClose(started, "the old query to start")
	if err := db.Mutation(ctx, func(m *MutationCtx) error {
		return m.DB.Patch(id, Doc{"n": int64(2)})
	}); err != nil {
		t.Fatal(err)
	}
	close(patched)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("waiting for the old query: nothing after 30s")
	}
	for range 2 {
		if err := db.Query(ctx, func(q *QueryCtx) error {
			n, err := byGroup(q.DB)
			if err == nil && n != 2 {
				err = fmt.Errorf("a query after the patch read n=%d through by_group, want 2", n)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// A reader that found a version's memo empty and marks it read once after
// another reader cached the version's decoding (and linked an index entry
// to it) leaves that decoding in place: otherwise the patch below would
// empty nothing, and by_group's entry, which the patch leaves alone, would
// keep leading to n=1.
func TestDocLink_LateReadOnceMark_KeepsDecoding(t *testing.T) {
	precacheWrites = false // the versions are cached by their readers, not at commit
	t.Cleanup(func() { precacheWrites = true })
	db, id := openPrecacheNotes(t)
	ctx := context.Background()
	readN := func() int64 {
		t.Helper()
		var n int64
		if err := db.Query(ctx, func(q *QueryCtx) error {
			d, ok, err := q.DB.Query("notes").WithIndex("by_group", func(r IndexRange) IndexRange { return r.Eq("group", "g") }).First()
			if err != nil || !ok {
				return fmt.Errorf("by_group: %v, %v", ok, err)
			}
			n = d["n"].(int64)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	readN()
	readN() // caches the decoding and links by_group's entry to it
	snap, err := db.store.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	ms, ok := snap.(kv.MemoSnapshot)
	if !ok {
		t.Fatal("the memory store's snapshot has no memos")
	}
	_, m, found, err := ms.GetMemo(docKey(db.cat.Load().tables["notes"], string(id)))
	snap.Release()
	if err != nil || !found || m == nil {
		t.Fatalf("by_id memo: %v, %v, %v", m, found, err)
	}
	markReadOnce(m) // the late first reader
	if c, _ := m.Load().(*cachedDoc); c == nil || c == readOnce {
		t.Fatalf("the by_id memo holds %v after a late read-once mark, want the cached decoding", m.Load())
	}
	if err := db.Mutation(ctx, func(m *MutationCtx) error {
		return m.DB.Patch(id, Doc{"n": int64(2)})
	}); err != nil {
		t.Fatal(err)
	}
	if n := readN(); n != 2 {
		t.Fatalf("a query after the patch read n=%d through by_group, want 2", n)
	}
}

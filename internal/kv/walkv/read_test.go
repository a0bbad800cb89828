package walkv_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/walkv"
)

// TestSnapshot_Iter_LayerAtBounds checks which overlay keys an iterator
// merges when they sit at the bounds of its interval: a key (here a
// deletion) at the inclusive start counts, one at the exclusive end does
// not, both ways; the overlay's keys outside the interval never show.
func TestSnapshot_Iter_LayerAtBounds(t *testing.T) {
	s := mustOpen(t, tempPath(t), noCkpt)
	commit(t, s, "a", "1", "b", "1", "c", "1", "d", "1")
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	commit(t, s, "b", "-", "d", "2", "e", "2")
	sn := snap(t, s)
	for _, tc := range []struct {
		name, start, end string
		reverse          bool
		want             []string
	}{
		{"deletion at start", "b", "d", false, []string{"c=1"}},
		{"deletion at start, reverse", "b", "d", true, []string{"c=1"}},
		{"put at end", "a", "d", false, []string{"a=1", "c=1"}},
		{"put at end, reverse", "a", "d", true, []string{"c=1", "a=1"}},
		{"only bbolt keys", "c", "d", false, []string{"c=1"}},
		{"after every key", "f", "", false, nil},
		{"before the overlay", "", "b", true, []string{"a=1"}},
		{"to the end", "c", "", false, []string{"c=1", "d=2", "e=2"}},
		{"empty interval", "d", "c", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantList(t, dump(t, sn, tc.start, tc.end, tc.reverse), tc.want...)
		})
	}
}

// TestSnapshot_Iter_UntouchedOverlayAllocs checks that an iterator over an
// interval in which the overlay holds no key is bbolt's: it allocates no
// more than on a store whose overlay is empty, where a merge of the
// overlay would allocate its sources and their buffers.
func TestSnapshot_Iter_UntouchedOverlayAllocs(t *testing.T) {
	allocs := func(overlay bool) float64 {
		s := mustOpen(t, tempPath(t), noCkpt)
		commit(t, s, "a", "1", "b", "1", "c", "1")
		if err := s.Checkpoint(); err != nil {
			t.Fatal(err)
		}
		if overlay {
			commit(t, s, "0", "2", "c", "2", "d", "2")
		}
		sn := snap(t, s)
		return testing.AllocsPerRun(100, func() {
			it := sn.Iter([]byte("a"), []byte("c"), false)
			n := 0
			for it.Next() {
				n++
			}
			if err := it.Err(); err != nil || n != 2 {
				t.Fatalf("iterated %d keys (%v), want 2", n, err)
			}
			it.Close()
		})
	}
	empty, untouched := allocs(false), allocs(true)
	if untouched > empty {
		t.Fatalf("an iterator over [a, c) allocates %v times with overlay keys outside it, %v without an overlay", untouched, empty)
	}
}

// TestSnapshot_Get_OverlayAllocs checks that a point read through a
// non-empty overlay allocates no more than one through an empty one.
func TestSnapshot_Get_OverlayAllocs(t *testing.T) {
	allocs := func(overlay bool) float64 {
		s := mustOpen(t, tempPath(t), noCkpt)
		commit(t, s, "a", "1", "b", "1")
		if err := s.Checkpoint(); err != nil {
			t.Fatal(err)
		}
		if overlay {
			commit(t, s, "c", "2")
		}
		sn := snap(t, s)
		return testing.AllocsPerRun(100, func() {
			for _, k := range []string{"a", "c"} {
				if _, _, err := sn.Get([]byte(k)); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if empty, layered := allocs(false), allocs(true); layered > empty {
		t.Fatalf("two Gets allocate %v times through an overlay, %v without one", layered, empty)
	}
}

// TestStore_Snapshot_OverlayAllocs checks that opening a snapshot with
// overlay layers (a frozen one held by a running checkpoint, and the
// active one) allocates no more than opening one without.
func TestStore_Snapshot_OverlayAllocs(t *testing.T) {
	s := mustOpen(t, tempPath(t), noCkpt)
	commit(t, s, "a", "1")
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	open := func() float64 {
		return testing.AllocsPerRun(100, func() {
			sn, err := s.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			sn.Release()
		})
	}
	empty := open()
	commit(t, s, "b", "2")
	release := holdCheckpoint(t, s)
	commit(t, s, "c", "3")
	layered := open()
	release()
	if layered > empty {
		t.Fatalf("a snapshot over two overlay layers allocates %v times, %v without an overlay", layered, empty)
	}
}

// holdCheckpoint starts a checkpoint of s and holds it after its bbolt
// transaction (through the hook), so that the overlay's frozen layer stays
// in every new snapshot; the returned function (also a cleanup) lets it
// finish and fails the test if it failed.
func holdCheckpoint(tb testing.TB, s *walkv.Store) (release func()) {
	tb.Helper()
	entered, unblock := make(chan struct{}), make(chan struct{})
	var once sync.Once
	walkv.Hook = func(point string) {
		if point == "checkpointed" {
			once.Do(func() {
				close(entered)
				<-unblock
			})
		}
	}
	done := make(chan error, 1)
	go func() { done <- s.Checkpoint() }()
	select {
	case <-entered:
	case <-time.After(time.Minute):
		tb.Fatal("the checkpoint did not reach its hook within a minute")
	}
	var releaseOnce sync.Once
	release = func() {
		releaseOnce.Do(func() {
			close(unblock)
			select {
			case err := <-done:
				if err != nil {
					tb.Errorf("checkpoint: %v", err)
				}
			case <-time.After(time.Minute):
				tb.Error("the held checkpoint did not finish within a minute of its release")
			}
			walkv.Hook = nil
		})
	}
	tb.Cleanup(release)
	return release
}

// TestStore_Commit_NoCloneWithoutSnapshot checks that commits with no
// snapshot between them write the active layer in place: a commit of one
// key into a layer of 5,000 keys allocates no more than one into an empty
// layer. Were the layer cloned at every commit, the next one would copy
// the tree's path to its key, a node per level.
func TestStore_Commit_NoCloneWithoutSnapshot(t *testing.T) {
	allocs := func(keys int) float64 {
		s := mustOpen(t, tempPath(t), noCkpt)
		var b kv.Batch
		for i := range keys {
			b.Put(fmt.Appendf(nil, "a%05d", i), []byte("1"))
		}
		if err := s.Commit(&b); err != nil {
			t.Fatal(err)
		}
		i := 0
		return testing.AllocsPerRun(200, func() {
			i++
			b.Reset()
			b.Put(fmt.Appendf(nil, "b%05d", i), []byte("2"))
			if err := s.Commit(&b); err != nil {
				t.Fatal(err)
			}
		})
	}
	if empty, full := allocs(0), allocs(5000); full > empty+0.5 {
		t.Fatalf("a commit allocates %v times into a layer of 5,000 keys, %v into an empty one", full, empty)
	}
}

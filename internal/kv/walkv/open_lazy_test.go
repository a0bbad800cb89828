package walkv_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/kv/walkv"
)

// checkpointers counts the goroutines running a store's checkpointer.
func checkpointers() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "walkv.(*Store).checkpointer(")
}

// waitCheckpointers waits until want goroutines run a checkpointer: one
// that a Close stopped may still be returning when Close returns, and one
// just started may not be listed yet.
func waitCheckpointers(t *testing.T, want int, when string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := checkpointers()
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d checkpointer goroutines %s, want %d (waited 10s)", n, when, want)
		}
		runtime.Gosched()
	}
}

// waitCheckpointed waits until ch is closed (by the "checkpointed" hook).
func waitCheckpointed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("no background checkpoint within 10s (checkpointer goroutines: %d)", checkpointers())
	}
}

// hookCheckpointed sets walkv.Hook to close the returned channel at the
// first "checkpointed" point, until the test ends.
func hookCheckpointed(t *testing.T) <-chan struct{} {
	t.Helper()
	ch := make(chan struct{})
	fired := false
	walkv.Hook = func(point string) {
		if point == "checkpointed" && !fired {
			fired = true
			close(ch)
		}
	}
	t.Cleanup(func() { walkv.Hook = nil })
	return ch
}

// TestStore_Open_NoCheckpointerUntilCommit checks that opening a store
// whose log holds nothing after the checkpoint starts no goroutine (an
// open that only reads pays for none), that the first commit starts the
// checkpointer, which then checkpoints by age, and that Close of a store
// that never committed returns.
func TestStore_Open_NoCheckpointerUntilCommit(t *testing.T) {
	path := tempPath(t)
	s := mustOpen(t, path, noCkpt)
	commit(t, s, "a", "1")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitCheckpointers(t, 0, "before Open")

	s = mustOpen(t, path, &walkv.Options{NoSync: true, CheckpointAge: 5 * time.Millisecond})
	// None is listed right after Open, and one started by Open would not
	// have ended.
	if n := checkpointers(); n != 0 {
		t.Fatalf("%d checkpointer goroutines after an Open with an empty log, want 0", n)
	}
	wantList(t, dumpNow(t, s), "a=1")
	done := hookCheckpointed(t)
	commit(t, s, "b", "2")
	waitCheckpointers(t, 1, "after the first commit")
	waitCheckpointed(t, done)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	waitCheckpointers(t, 0, "after Close")
	s = mustOpen(t, path, noCkpt)
	if err := s.Close(); err != nil { // never committed: nothing to stop
		t.Fatal(err)
	}
}

// TestStore_Open_ReplayStartsCheckpointer checks that commits replayed from
// the log at Open are checkpointed by age without a new commit.
func TestStore_Open_ReplayStartsCheckpointer(t *testing.T) {
	path := tempPath(t)
	s := mustOpen(t, path, noCkpt)
	commit(t, s, "a", "1")
	crash := crashCopy(t, path) // the commit is in the log only
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	done := hookCheckpointed(t)
	r := mustOpen(t, crash, &walkv.Options{NoSync: true, CheckpointAge: 5 * time.Millisecond})
	waitCheckpointed(t, done)
	wantList(t, dumpNow(t, r), "a=1")
}

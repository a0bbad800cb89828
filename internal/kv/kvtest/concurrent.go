package kvtest

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
)

// testConcurrentSnapshotsAndCommits runs one writer against several readers.
// Commit i writes a=i and b=i, adds n/i and deletes n/(i-window). Each
// reader checks, in every snapshot, that a == b, that the n/ range holds
// exactly the last window entries up to a, and that a never goes back in
// time between the reader's successive snapshots. Run it with -race.
func testConcurrentSnapshotsAndCommits(t *testing.T, s kv.Store) {
	const (
		commits = 200
		readers = 4
		window  = 5
	)
	var done atomic.Bool
	errc := make(chan error, readers+1)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer done.Store(true)
		var b kv.Batch
		for i := 1; i <= commits; i++ {
			b.Reset()
			v := fmt.Appendf(nil, "%06d", i)
			b.Put([]byte("a"), v)
			b.Put([]byte("b"), v)
			b.Put(fmt.Appendf(nil, "n/%06d", i), v)
			if i > window {
				b.Delete(fmt.Appendf(nil, "n/%06d", i-window))
			}
			if err := s.Commit(&b); err != nil {
				errc <- fmt.Errorf("commit %d: %w", i, err)
				return
			}
		}
	})
	for r := 0; r < readers; r++ {
		wg.Go(func() {
			last := 0
			for !done.Load() {
				n, err := readConsistent(s, window, r)
				if err != nil {
					errc <- err
					return
				}
				if n < last {
					errc <- fmt.Errorf("reader %d: a went back from %d to %d", r, last, n)
					return
				}
				last = n
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	n, err := readConsistent(s, window, -1)
	noErr(t, err, "final read")
	check(t, n == commits, "the last commit is not visible: a=%d, want %d", n, commits)
}

// readConsistent opens one snapshot, checks the invariants of
// testConcurrentSnapshotsAndCommits, and returns the value of a.
func readConsistent(s kv.Store, window, reader int) (int, error) {
	sn, err := s.Snapshot()
	if err != nil {
		return 0, fmt.Errorf("reader %d: snapshot: %w", reader, err)
	}
	defer sn.Release()
	a, aok, err := sn.Get([]byte("a"))
	if err != nil {
		return 0, fmt.Errorf("reader %d: get a: %w", reader, err)
	}
	a = append([]byte(nil), a...)
	b, bok, err := sn.Get([]byte("b"))
	if err != nil {
		return 0, fmt.Errorf("reader %d: get b: %w", reader, err)
	}
	if aok != bok || string(a) != string(b) {
		return 0, fmt.Errorf("reader %d: torn commit: a=%q (%v) b=%q (%v)", reader, a, aok, b, bok)
	}
	n := 0
	if aok {
		if _, err := fmt.Sscanf(string(a), "%d", &n); err != nil {
			return 0, fmt.Errorf("reader %d: a=%q: %w", reader, a, err)
		}
	}
	var want []pair
	for i := max(1, n-window+1); i <= n; i++ {
		k := fmt.Sprintf("n/%06d", i)
		want = append(want, pair{k, k[2:]})
	}
	for _, reverse := range []bool{false, true} {
		it := sn.Iter([]byte("n/"), []byte("n0"), reverse)
		var got []pair
		for it.Next() {
			got = append(got, pair{string(it.Key()), string(it.Value())})
		}
		err := it.Err()
		it.Close()
		if err != nil {
			return 0, fmt.Errorf("reader %d: iter: %w", reader, err)
		}
		if reverse {
			got = reversed(got)
		}
		if !slices.Equal(got, want) {
			return 0, fmt.Errorf("reader %d: at a=%d the n/ range is %q, want %q", reader, n, got, want)
		}
	}
	return n, nil
}

// testConcurrentCommits commits from several goroutines at once; every
// commit must land, each atomically.
func testConcurrentCommits(t *testing.T, s kv.Store) {
	const (
		writers = 4
		each    = 50
	)
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Go(func() {
			for i := 0; i < each; i++ {
				var b kv.Batch
				b.Put(fmt.Appendf(nil, "w%d/%03d", w, i), []byte("x"))
				b.Put(fmt.Appendf(nil, "w%d/last", w), fmt.Appendf(nil, "%03d", i))
				if err := s.Commit(&b); err != nil {
					errc <- fmt.Errorf("writer %d commit %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	sn := mustSnapshot(t, s)
	for w := 0; w < writers; w++ {
		prefix := fmt.Sprintf("w%d/", w)
		got := scan(t, sn, prefix, fmt.Sprintf("w%d0", w), false)
		check(t, len(got) == each+1, "writer %d: %d keys, want %d", w, len(got), each+1)
		wantLast := pair{prefix + "last", fmt.Sprintf("%03d", each-1)}
		check(t, got[each] == wantLast, "writer %d: %q, want %q", w, got[each], wantLast)
	}
}

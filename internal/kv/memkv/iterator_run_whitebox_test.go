package memkv

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
)

// TestIterator_Runs_Bounds scans random intervals of a tree of three
// levels, both ways, and checks every key against the sorted keys: the
// iterator takes a leaf's items as one run (takeRun) and cuts the run
// where a bound falls inside it, so that the bounds must hold exactly at
// every position in a leaf, at inner items, and past either end. The keys
// share their first 16 bytes in one case, so that every comparison with a
// bound reads the whole keys.
func TestIterator_Runs_Bounds(t *testing.T) {
	for _, prefix := range []string{"", "0123456789abcdef/"} {
		t.Run(fmt.Sprintf("prefix=%q", prefix), func(t *testing.T) {
			s := New()
			defer s.Close()
			key := func(i int) string { return fmt.Sprintf("%s%08d", prefix, i) }
			var keys []string
			var b kv.Batch
			for i := range 20000 {
				k := key(i * 2) // odd numbers are absent keys
				keys = append(keys, k)
				b.Put([]byte(k), []byte(k))
			}
			if err := s.Commit(&b); err != nil {
				t.Fatal(err)
			}
			if root := s.cur.Load().root; root.leaf() || root.children[0].leaf() {
				t.Fatal("want a tree of at least 3 levels")
			}
			sn, err := s.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			defer sn.Release()
			rng := rand.New(rand.NewPCG(7, 9))
			bound := func() []byte {
				if rng.IntN(10) == 0 {
					return nil
				}
				return []byte(key(rng.IntN(40004) - 2))
			}
			for round := range 1000 {
				start, end := bound(), bound()
				if rng.IntN(3) == 0 && start != nil { // short intervals end inside a leaf
					end = []byte(key(mustAtoi(t, string(start[len(prefix):])) + rng.IntN(130)))
				}
				lo, hi := 0, len(keys)
				if start != nil {
					lo, _ = slices.BinarySearch(keys, string(start))
				}
				if end != nil {
					hi, _ = slices.BinarySearch(keys, string(end))
				}
				want := []string{}
				if lo < hi {
					want = keys[lo:hi]
				}
				for _, reverse := range []bool{false, true} {
					var it kv.Iterator
					if round%2 == 0 {
						it = sn.Iter(start, end, reverse)
					} else {
						it = sn.(kv.ReuseSnapshot).IterOnce(start, end, reverse)
					}
					var got []string
					for it.Next() {
						if string(it.Value()) != string(it.Key()) {
							t.Fatalf("value %q at key %q", it.Value(), it.Key())
						}
						got = append(got, string(it.Key()))
					}
					if err := it.Err(); err != nil {
						t.Fatal(err)
					}
					it.Close()
					w := want
					if reverse {
						w = slices.Clone(want)
						slices.Reverse(w)
					}
					if !slices.Equal(got, w) {
						t.Fatalf("[%q, %q) reverse %v: %d keys, want %d (first %q, want %q)", start, end, reverse, len(got), len(w), first(got), first(w))
					}
				}
			}
		})
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func first(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[0]
}

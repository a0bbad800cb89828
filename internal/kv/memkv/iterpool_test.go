package memkv_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
)

// collect reads it to its end and closes it, returning its keys and values
// as "key=value" strings, and the key slices as the iterator returned them.
func collect(t *testing.T, it kv.Iterator) (entries []string, keys [][]byte) {
	t.Helper()
	for it.Next() {
		entries = append(entries, string(it.Key())+"="+string(it.Value()))
		keys = append(keys, it.Key())
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iteration: %v", err)
	}
	it.Close()
	return entries, keys
}

// TestSnapshot_IterOnce_SameAsIter runs many scans of IterOnce, whose
// iterators are recycled and reused, over intervals of every kind (short
// and long, empty, open-ended, both directions, stopped early), and checks
// each against Iter's; keys kept from a closed iterator must not change
// when a later scan reuses it.
func TestSnapshot_IterOnce_SameAsIter(t *testing.T) {
	s := MustOpen(t)
	var b kv.Batch
	for i := range 300 {
		b.Put([]byte(fmt.Sprintf("k%03d", i)), []byte(fmt.Sprintf("v%d", i)))
	}
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	rs, ok := snap.(kv.ReuseSnapshot)
	if !ok {
		t.Fatal("the memory store's snapshot does not offer IterOnce")
	}
	key := func(i int) []byte { return []byte(fmt.Sprintf("k%03d", i)) }
	type scan struct {
		start, end []byte
		reverse    bool
		take       int // stop after this many entries; 0 reads to the end
	}
	var scans []scan
	for _, reverse := range []bool{false, true} {
		scans = append(scans,
			scan{nil, nil, reverse, 0},
			scan{key(10), key(13), reverse, 0},
			scan{key(13), key(10), reverse, 0}, // empty
			scan{key(100), key(100), reverse, 0},
			scan{key(0), key(299), reverse, 5},
			scan{key(250), nil, reverse, 0},
			scan{nil, key(40), reverse, 0},
			scan{key(20), key(200), reverse, 30},
		)
	}
	var kept [][]byte // keys of the first scan, which later scans must not change
	var keptWant []string
	for round := range 3 {
		for i, sc := range scans {
			want, _ := collect(t, snap.Iter(sc.start, sc.end, sc.reverse))
			it := rs.IterOnce(sc.start, sc.end, sc.reverse)
			var got []string
			var keys [][]byte
			if sc.take > 0 {
				for len(got) < sc.take && it.Next() {
					got = append(got, string(it.Key())+"="+string(it.Value()))
					keys = append(keys, it.Key())
				}
				it.Close()
				want = want[:min(sc.take, len(want))]
			} else {
				got, keys = collect(t, it)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("round %d, scan %d %+v: IterOnce gave %v, Iter %v", round, i, sc, got, want)
			}
			if round == 0 && i == 0 {
				kept = keys
				for _, k := range keys {
					keptWant = append(keptWant, string(k))
				}
			}
		}
	}
	for i, k := range kept {
		if !bytes.Equal(k, []byte(keptWant[i])) {
			t.Fatalf("key %d of the first scan changed to %q after its iterator was reused, want %q", i, k, keptWant[i])
		}
	}
}

// Package kvtest is the conformance suite of [kv.Store] implementations.
// Every backend runs it from its own tests:
//
//	func TestStore_Conformance(t *testing.T) {
//		kvtest.Run(t, func(t *testing.T) kv.Store { return memkv.New() })
//	}
//
// It also holds the benchmark bodies that the backends share.
package kvtest

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
)

// Run runs the conformance suite, one subtest per behaviour of the
// [kv.Store] contract. open must return a new, empty store each time it is
// called, and should register a t.Cleanup that closes it; the suite may
// close the store itself (Close is idempotent). The suite releases every
// snapshot it opens before the test ends.
func Run(t *testing.T, open func(t *testing.T) kv.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s kv.Store)
	}{
		{"GetPutDelete", testGetPutDelete},
		{"BatchOrder", testBatchOrder},
		{"BatchInvalid", testBatchInvalid},
		{"BatchEmpty", testBatchEmpty},
		{"BatchBuffersNotRetained", testBatchBuffersNotRetained},
		{"SnapshotIsolation", testSnapshotIsolation},
		{"SnapshotRelease", testSnapshotRelease},
		{"IterBounds", testIterBounds},
		{"IterLarge", testIterLarge},
		{"IterAcrossCommits", testIterAcrossCommits},
		{"IterExhaustedAndClose", testIterExhaustedAndClose},
		{"ConcurrentSnapshotsAndCommits", testConcurrentSnapshotsAndCommits},
		{"ConcurrentCommits", testConcurrentCommits},
		{"Close", testClose},
		{"CloseWithOpenSnapshot", testCloseWithOpenSnapshot},
		{"RandomModel", testRandomModel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func testGetPutDelete(t *testing.T, s kv.Store) {
	wantGet(t, mustSnapshot(t, s), "a", "-")

	mustCommit(t, s, "a", "1", "b", "2")
	mustCommit(t, s, "a", "3")
	mustCommit(t, s, "b", "-", "nope", "-") // deleting an absent key is fine
	noErr(t, s.Commit(&kv.Batch{Ops: []kv.Op{{Key: []byte("empty")}}}), "put a nil value")

	sn := mustSnapshot(t, s)
	wantGet(t, sn, "a", "3")
	wantGet(t, sn, "b", "-")
	wantGet(t, sn, "a\x00", "-")
	wantGet(t, sn, "", "-") // the empty key never exists; asking is not an error
	v, ok := get(t, sn, "empty")
	check(t, ok && v == "", "a key with an empty value: got %q, %v; want \"\", true", v, ok)
}

func testBatchOrder(t *testing.T, s kv.Store) {
	tests := []struct {
		name string
		kvs  []string
		want string // "-" is absent
	}{
		{"put then delete", []string{"k1", "x", "k1", "-"}, "-"},
		{"delete then put", []string{"k2", "-", "k2", "y"}, "y"},
		{"put twice", []string{"k3", "x", "k3", "y"}, "y"},
		{"put delete put", []string{"k4", "x", "k4", "-", "k4", "z"}, "z"},
		{"existing then delete then put", []string{"k3", "-", "k3", "w"}, "w"},
		{"existing then put then delete", []string{"k3", "v", "k3", "-"}, "-"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mustCommit(t, s, tc.kvs...)
			wantGet(t, mustSnapshot(t, s), tc.kvs[0], tc.want)
		})
	}
}

func testBatchInvalid(t *testing.T, s kv.Store) {
	mustCommit(t, s, "keep", "1")
	var b kv.Batch
	b.Put([]byte("a"), []byte("1"))
	b.Delete([]byte("keep"))
	b.Put(nil, []byte("empty key"))
	b.Put([]byte("z"), []byte("2"))
	isErr(t, s.Commit(&b), kv.ErrRejected, "a batch with an empty key")
	samePairs(t, scan(t, mustSnapshot(t, s), "", "", false), []pair{{"keep", "1"}},
		"a failed commit must apply none of its operations")
}

func testBatchEmpty(t *testing.T, s kv.Store) {
	noErr(t, s.Commit(&kv.Batch{}), "empty batch")
	noErr(t, s.Commit(nil), "nil batch")
	samePairs(t, scan(t, mustSnapshot(t, s), "", "", false), nil, "after empty batches")
}

func testBatchBuffersNotRetained(t *testing.T, s kv.Store) {
	key, val := []byte("k1"), []byte("v1")
	var b kv.Batch
	b.Put(key, val)
	noErr(t, s.Commit(&b), "commit")
	key[1], val[1] = 'X', 'X'
	b.Reset()
	samePairs(t, scan(t, mustSnapshot(t, s), "", "", false), []pair{{"k1", "v1"}},
		"the store must not keep the caller's buffers")
}

func testSnapshotIsolation(t *testing.T, s kv.Store) {
	s0 := mustSnapshot(t, s)
	it0 := s0.Iter(nil, nil, false) // opened before any commit, walked after
	defer it0.Close()
	mustCommit(t, s, "a", "1", "b", "1")
	s1 := mustSnapshot(t, s)
	it1 := s1.Iter(nil, nil, true)
	defer it1.Close()
	mustCommit(t, s, "a", "-", "b", "2", "c", "2")
	s2 := mustSnapshot(t, s)

	samePairs(t, scan(t, s0, "", "", false), nil, "snapshot 0 sees a later commit")
	samePairs(t, scan(t, s1, "", "", false), []pair{{"a", "1"}, {"b", "1"}}, "snapshot 1")
	samePairs(t, scan(t, s2, "", "", false), []pair{{"b", "2"}, {"c", "2"}}, "snapshot 2")
	wantGet(t, s1, "a", "1")
	wantGet(t, s1, "c", "-")
	wantGet(t, s2, "a", "-")
	wantGet(t, s2, "b", "2")

	samePairs(t, collect(t, it0), nil, "iterator of snapshot 0")
	samePairs(t, collect(t, it1), []pair{{"b", "1"}, {"a", "1"}}, "iterator of snapshot 1")
}

func testSnapshotRelease(t *testing.T, s kv.Store) {
	mustCommit(t, s, "a", "1", "b", "2")
	sn, err := s.Snapshot()
	noErr(t, err, "snapshot")
	before := sn.Iter(nil, nil, false)
	check(t, before.Next(), "iterator is empty")
	sn.Release()
	sn.Release() // idempotent

	_, _, err = sn.Get([]byte("a"))
	someErr(t, err, "Get after Release")
	check(t, !before.Next(), "an iterator must stop when its snapshot is released")
	someErr(t, before.Err(), "Err of an iterator whose snapshot is released")
	before.Close()
	after := sn.Iter(nil, nil, true)
	check(t, !after.Next(), "Iter after Release yields entries")
	someErr(t, after.Err(), "Iter after Release")
	after.Close()

	samePairs(t, scan(t, mustSnapshot(t, s), "", "", false), []pair{{"a", "1"}, {"b", "2"}},
		"the store after a release")
}

// boundKeys hold the edge bytes 0x00 and 0xFF, prefixes and their
// extensions, in ascending order.
var boundKeys = []string{
	"\x00", "\x00\x00", "\x00\xff", "a", "a\x00", "a\x00\x00", "ab", "abc",
	"a\xff", "a\xff\xff", "b", "b\x00", "ba", "\xfe\xff", "\xff", "\xff\x00", "\xff\xff", "\xff\xff\xff",
}

func testIterBounds(t *testing.T, s kv.Store) {
	check(t, slices.IsSorted(boundKeys), "boundKeys are not sorted")
	var b kv.Batch
	for i, k := range boundKeys {
		b.Put([]byte(k), fmt.Appendf(nil, "v%d", i))
	}
	noErr(t, s.Commit(&b), "commit")
	sn := mustSnapshot(t, s)

	tests := []struct {
		name       string
		start, end string // "" means nil
	}{
		{"all", "", ""},
		{"from a", "a", ""},
		{"to b exclusive", "", "b"},
		{"prefix a via successor b", "a", "b"},
		{"prefix a\\xff via successor b", "a\xff", "b"},
		{"prefix \\xff to end", "\xff", ""},
		{"prefix \\x00 via successor \\x01", "\x00", "\x01"},
		{"absent bounds", "a\x01", "b\x01"},
		{"end is first key", "", "\x00"},
		{"start is last key", "\xff\xff\xff", ""},
		{"end just after a key", "a", "a\x00"},
		{"single key", "ab", "ab\x00"},
		{"start equals end", "ab", "ab"},
		{"start after end", "b", "a"},
		{"after all keys", "\xff\xff\xff\x00", ""},
		{"between keys", "abd", "abz"},
		{"end past all keys", "ba", "\xff\xff\xff\xff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want []pair
			for i, k := range boundKeys {
				if (tc.start == "" || k >= tc.start) && (tc.end == "" || k < tc.end) {
					want = append(want, pair{k, fmt.Sprintf("v%d", i)})
				}
			}
			samePairs(t, scan(t, sn, tc.start, tc.end, false), want, "ascending")
			samePairs(t, scan(t, sn, tc.start, tc.end, true), reversed(want), "descending")
		})
	}
}

func key(i int) string { return fmt.Sprintf("k%05d", i) }

func testIterLarge(t *testing.T, s kv.Store) {
	const n = 1000
	var b kv.Batch
	var want []pair
	for i := 0; i < n; i++ {
		b.Put([]byte(key(i)), []byte(key(i*7)))
		want = append(want, pair{key(i), key(i * 7)})
	}
	noErr(t, s.Commit(&b), "commit")
	sn := mustSnapshot(t, s)
	samePairs(t, scan(t, sn, "", "", false), want, "all ascending")
	samePairs(t, scan(t, sn, "", "", true), reversed(want), "all descending")
	samePairs(t, scan(t, sn, key(123), key(877), false), want[123:877], "range ascending")
	samePairs(t, scan(t, sn, key(123), key(877), true), reversed(want[123:877]), "range descending")

	// Stopping early and closing leaves the snapshot usable.
	it := sn.Iter(nil, nil, true)
	for i := 0; i < 300; i++ {
		check(t, it.Next(), "iterator stopped at %d", i)
		check(t, string(it.Key()) == key(n-1-i), "entry %d is %q, want %q", i, it.Key(), key(n-1-i))
	}
	it.Close()
	wantGet(t, sn, key(500), key(3500))
}

func testIterAcrossCommits(t *testing.T, s kv.Store) {
	var b kv.Batch
	var want []pair
	for i := 0; i < 200; i++ {
		b.Put([]byte(key(i)), []byte("old"))
		want = append(want, pair{key(i), "old"})
	}
	noErr(t, s.Commit(&b), "commit")
	sn := mustSnapshot(t, s)
	for _, reverse := range []bool{false, true} {
		it := sn.Iter(nil, nil, reverse)
		var got []pair
		for i := 0; it.Next(); i++ {
			got = append(got, pair{string(it.Key()), string(it.Value())})
			if i == 50 { // rewrite everything in the middle of the walk
				b.Reset()
				for j := 0; j < 200; j++ {
					if j%2 == 0 {
						b.Delete([]byte(key(j)))
					} else {
						b.Put([]byte(key(j)), []byte("new"))
					}
					b.Put([]byte(key(j)+"x"), []byte("new"))
				}
				noErr(t, s.Commit(&b), "commit during the walk")
			}
		}
		noErr(t, it.Err(), "iterator")
		it.Close()
		if reverse {
			samePairs(t, got, reversed(want), "descending walk")
		} else {
			samePairs(t, got, want, "ascending walk")
		}
	}
}

func testIterExhaustedAndClose(t *testing.T, s kv.Store) {
	mustCommit(t, s, "a", "1")
	sn := mustSnapshot(t, s)
	it := sn.Iter(nil, nil, false)
	check(t, it.Next(), "iterator is empty")
	check(t, string(it.Key()) == "a" && string(it.Value()) == "1", "entry is %q=%q", it.Key(), it.Value())
	check(t, !it.Next(), "second entry")
	check(t, !it.Next(), "Next after the end")
	noErr(t, it.Err(), "Err after the end")
	it.Close()
	it.Close() // idempotent
	check(t, !it.Next(), "Next after Close")
	noErr(t, it.Err(), "Err after Close")

	empty := sn.Iter([]byte("b"), nil, true)
	check(t, !empty.Next(), "empty interval yields an entry")
	noErr(t, empty.Err(), "empty interval")
	empty.Close()
}

func testClose(t *testing.T, s kv.Store) {
	mustCommit(t, s, "a", "1")
	noErr(t, s.Close(), "Close")
	noErr(t, s.Close(), "second Close")
	_, err := s.Snapshot()
	isErr(t, err, kv.ErrClosed, "Snapshot after Close")
	isErr(t, s.Commit(&kv.Batch{Ops: []kv.Op{{Key: []byte("b")}}}), kv.ErrClosed, "Commit after Close")
	isErr(t, s.Commit(&kv.Batch{}), kv.ErrClosed, "empty Commit after Close")
}

// testCloseWithOpenSnapshot closes the store while a snapshot and an
// iterator are open. A backend may make Close wait for the release (bbolt
// does), so Close runs in its own goroutine; the snapshot must report
// ErrClosed once the store is closing.
func testCloseWithOpenSnapshot(t *testing.T, s kv.Store) {
	mustCommit(t, s, "a", "1", "b", "2")
	sn, err := s.Snapshot()
	noErr(t, err, "snapshot")
	it := sn.Iter(nil, nil, false)
	check(t, it.Next(), "iterator is empty")

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for {
		_, _, err := sn.Get([]byte("a"))
		if errors.Is(err, kv.ErrClosed) {
			break
		}
		noErr(t, err, "Get while closing")
		runtime.Gosched()
	}
	check(t, !it.Next(), "an iterator must stop when its store closes")
	isErr(t, it.Err(), kv.ErrClosed, "iterator of a closed store")
	it.Close()
	isErr(t, s.Commit(&kv.Batch{Ops: []kv.Op{{Key: []byte("c")}}}), kv.ErrClosed, "Commit while closing")
	sn.Release()
	noErr(t, <-closed, "Close")
	noErr(t, s.Close(), "second Close")
}

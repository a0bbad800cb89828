package kvtest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
)

// noErr fails the test now when err is not nil.
func noErr(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", fmt.Sprintf(what, args...), err)
	}
}

// isErr fails the test now unless errors.Is(err, target).
func isErr(t *testing.T, err, target error, what string, args ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", fmt.Sprintf(what, args...), err, target)
	}
}

// someErr fails the test now when err is nil.
func someErr(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want one", fmt.Sprintf(what, args...))
	}
}

// check fails the test now when cond is false.
func check(t *testing.T, cond bool, what string, args ...any) {
	t.Helper()
	if !cond {
		t.Fatalf(what, args...)
	}
}

// samePairs fails the test now when got and want differ; nil and empty are
// equal.
func samePairs(t *testing.T, got, want []pair, what string, args ...any) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %q\n want %q", fmt.Sprintf(what, args...), got, want)
	}
}

// pair is one entry read from a store, copied out of it.
type pair struct {
	Key, Value string
}

func reversed(ps []pair) []pair {
	out := slices.Clone(ps)
	slices.Reverse(out)
	return out
}

// mustCommit commits a batch built from alternating key and value strings;
// the value "-" deletes the key.
func mustCommit(t *testing.T, s kv.Store, kvs ...string) {
	t.Helper()
	check(t, len(kvs)%2 == 0, "mustCommit needs key/value pairs")
	var b kv.Batch
	for i := 0; i < len(kvs); i += 2 {
		if kvs[i+1] == "-" {
			b.Delete([]byte(kvs[i]))
		} else {
			b.Put([]byte(kvs[i]), []byte(kvs[i+1]))
		}
	}
	noErr(t, s.Commit(&b), "commit %q", kvs)
}

// mustSnapshot opens a snapshot and releases it when the test ends (before
// the store's own cleanup closes it, as cleanups run last-in first-out).
func mustSnapshot(t *testing.T, s kv.Store) kv.Snapshot {
	t.Helper()
	sn, err := s.Snapshot()
	noErr(t, err, "snapshot")
	t.Cleanup(sn.Release)
	return sn
}

// get returns the value at key as a string and whether it exists.
func get(t *testing.T, sn kv.Snapshot, key string) (string, bool) {
	t.Helper()
	v, ok, err := sn.Get([]byte(key))
	noErr(t, err, "Get(%q)", key)
	return string(v), ok
}

// wantGet fails the test unless key holds want ("-" for absent).
func wantGet(t *testing.T, sn kv.Snapshot, key, want string) {
	t.Helper()
	got, ok := get(t, sn, key)
	if !ok {
		got = "-"
	}
	if got != want {
		t.Fatalf("Get(%q) = %q, want %q (\"-\" is absent)", key, got, want)
	}
}

// collect drains an iterator and closes it.
func collect(t *testing.T, it kv.Iterator) []pair {
	t.Helper()
	defer it.Close()
	var out []pair
	for it.Next() {
		out = append(out, pair{string(it.Key()), string(it.Value())})
	}
	noErr(t, it.Err(), "iterator")
	return out
}

// scan returns every entry of [start, end) of sn; "" stands for a nil bound.
func scan(t *testing.T, sn kv.Snapshot, start, end string, reverse bool) []pair {
	t.Helper()
	return collect(t, sn.Iter(bound(start), bound(end), reverse))
}

func bound(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

package memkv

import (
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
)

// TestStore_Commit_MovesHints: a version's second Get, not its first,
// makes its hint; a commit that writes a hinted key moves its hint to the
// new version, and one that deletes it drops the hint, so that hints never
// keep a replaced or deleted version alive.
func TestStore_Commit_MovesHints(t *testing.T) {
	s := New()
	defer s.Close()
	commit := func(b *kv.Batch) {
		t.Helper()
		if err := s.Commit(b); err != nil {
			t.Fatal(err)
		}
	}
	get := func(key string) {
		t.Helper()
		sn, err := s.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer sn.Release()
		if _, _, err := sn.Get([]byte(key)); err != nil {
			t.Fatal(err)
		}
	}
	hint := func(key string) (string, bool) {
		s.hintMu.RLock()
		defer s.hintMu.RUnlock()
		e, ok := s.hints[key]
		if !ok {
			return "", false
		}
		return string(e.value()), true
	}

	var b kv.Batch
	b.Put([]byte("a"), []byte("v1"))
	b.Put([]byte("b"), []byte("w1"))
	commit(&b)
	get("a")
	if v, ok := hint("a"); ok {
		t.Fatalf("after the first Get of a: hint %q, want none", v)
	}
	get("a")
	if v, ok := hint("a"); !ok || v != "v1" {
		t.Fatalf("after a second Get of a: hint %q (%v), want v1", v, ok)
	}

	b.Reset()
	b.Put([]byte("b"), []byte("w2")) // not hinted: stays without a hint
	b.Put([]byte("a"), []byte("v2"))
	commit(&b)
	if v, ok := hint("a"); !ok || v != "v2" {
		t.Errorf("after a commit of a: hint %q (%v), want v2", v, ok)
	}
	if v, ok := hint("b"); ok {
		t.Errorf("b was never read, yet has a hint %q", v)
	}

	b.Reset()
	b.Delete([]byte("a"))
	commit(&b)
	if v, ok := hint("a"); ok {
		t.Errorf("after a delete of a: hint %q, want none", v)
	}
}

package memkv_test

import (
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/memkv"
)

// countSuperseded is a memo value that counts the calls of its Superseded.
type countSuperseded struct{ n int }

func (c *countSuperseded) Superseded() { c.n++ }

// A memo tells the value it holds when the store replaces or deletes the
// version, and tells a value stored after that as soon as it is stored;
// CompareAndSwap stores only over the value it names.
func TestMemo_Supersede_TellsSuperseder(t *testing.T) {
	s := memkv.New()
	defer s.Close()
	mustCommit(t, s, []byte("k"), []byte("v1"), []byte("gone"), []byte("g"))
	sn := mustMemoSnapshot(t, s)
	_, m := mustGetMemo(t, sn, "k")
	_, mGone := mustGetMemo(t, sn, "gone")

	before, swapped, lost := &countSuperseded{}, &countSuperseded{}, &countSuperseded{}
	m.Store(before)
	if before.n != 0 {
		t.Fatalf("Superseded called %d times on a current version, want 0", before.n)
	}
	if !m.CompareAndSwap(before, swapped) || m.Load() != any(swapped) {
		t.Fatalf("CompareAndSwap over the value held did not store: memo holds %p", m.Load())
	}
	if m.CompareAndSwap(before, lost) || m.Load() != any(swapped) {
		t.Fatalf("CompareAndSwap over a value not held stored: memo holds %p", m.Load())
	}
	gone := &countSuperseded{}
	mGone.Store(gone)

	mustCommit(t, s, []byte("k"), []byte("v2"), []byte("gone"), nil)
	if swapped.n != 1 || gone.n != 1 || before.n != 0 || lost.n != 0 {
		t.Fatalf("after the commit replacing k and deleting gone: Superseded calls held(k) %d, held(gone) %d, earlier %d, lost %d; want 1, 1, 0, 0",
			swapped.n, gone.n, before.n, lost.n)
	}
	late := &countSuperseded{}
	m.Store(late)
	if late.n != 1 {
		t.Fatalf("a value stored in a replaced version's memo was told %d times, want 1", late.n)
	}
	cas := &countSuperseded{}
	if !m.CompareAndSwap(late, cas) || cas.n != 1 {
		t.Fatalf("a value swapped into a replaced version's memo was told %d times, want 1", cas.n)
	}
	_, m2 := mustGetMemo(t, mustMemoSnapshot(t, s), "k")
	cur := &countSuperseded{}
	m2.Store(cur)
	if cur.n != 0 {
		t.Fatalf("the new version's value was told %d times, want 0", cur.n)
	}
	var _ kv.Superseder = cur
}

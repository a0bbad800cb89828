package memkv_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/memkv"
)

// mustCommit applies puts (key, value pairs; a nil value deletes).
func mustCommit(t *testing.T, s *memkv.Store, kvs ...[]byte) {
	t.Helper()
	var b kv.Batch
	for i := 0; i < len(kvs); i += 2 {
		if kvs[i+1] == nil {
			b.Delete(kvs[i])
		} else {
			b.Put(kvs[i], kvs[i+1])
		}
	}
	if err := s.Commit(&b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// mustMemoSnapshot opens a snapshot, released when the test ends.
func mustMemoSnapshot(t *testing.T, s *memkv.Store) kv.MemoSnapshot {
	t.Helper()
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	t.Cleanup(sn.Release)
	ms, ok := sn.(kv.MemoSnapshot)
	if !ok {
		t.Fatalf("memkv snapshot %T is not a kv.MemoSnapshot", sn)
	}
	return ms
}

// mustGetMemo returns the value and memo at key, failing when absent.
func mustGetMemo(t *testing.T, sn kv.MemoSnapshot, key string) (string, *kv.Memo) {
	t.Helper()
	v, m, ok, err := sn.GetMemo([]byte(key))
	if err != nil || !ok || m == nil {
		t.Fatalf("GetMemo(%q) = %q, %v, %v, %v", key, v, m, ok, err)
	}
	return string(v), m
}

func TestSnapshot_Current_Versions(t *testing.T) {
	s := memkv.New()
	defer s.Close()
	k := []byte("k")
	mustCommit(t, s, k, []byte("v1"), []byte("other"), []byte("o"))
	s1 := mustMemoSnapshot(t, s)
	mustCommit(t, s, k, []byte("v2"))
	s2 := mustMemoSnapshot(t, s)
	mustCommit(t, s, k, nil)
	s3 := mustMemoSnapshot(t, s)

	v1, m1 := mustGetMemo(t, s1, "k")
	v2, m2 := mustGetMemo(t, s2, "k")
	_, mo := mustGetMemo(t, s1, "other")
	if v1 != "v1" || v2 != "v2" {
		t.Fatalf("values %q, %q, want v1, v2", v1, v2)
	}
	if m1 == m2 {
		t.Fatal("two versions share one memo")
	}
	if _, again := mustGetMemo(t, s1, "k"); again != m1 {
		t.Error("one version has two memos")
	}
	tests := []struct {
		name string
		sn   kv.MemoSnapshot
		m    *kv.Memo
		want bool
	}{
		{"v1 at its snapshot", s1, m1, true},
		{"v1 after its replacement", s2, m1, false},
		{"v1 after the delete", s3, m1, false},
		{"v2 before it was written", s1, m2, false},
		{"v2 at its snapshot", s2, m2, true},
		{"v2 after the delete", s3, m2, false},
		{"untouched key later", s3, mo, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.sn.Current(tc.m); got != tc.want {
				t.Errorf("Current = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStore_Commit_SameKeyTwiceInOneBatch(t *testing.T) {
	s := memkv.New()
	defer s.Close()
	before := mustMemoSnapshot(t, s)
	var b kv.Batch
	b.Put([]byte("k"), []byte("first"))
	first := mustSnapshotAfter(t, s, &b)
	_, mFirst := mustGetMemo(t, first, "k")
	var b2 kv.Batch
	b2.Put([]byte("k"), []byte("second"))
	b2.Put([]byte("k"), []byte("third"))
	after := mustSnapshotAfter(t, s, &b2)
	v, m := mustGetMemo(t, after, "k")
	if v != "third" {
		t.Fatalf("value %q, want third", v)
	}
	if !after.Current(m) || after.Current(mFirst) || before.Current(m) || !first.Current(mFirst) {
		t.Errorf("Current: after(third)=%v after(first)=%v before(third)=%v first(first)=%v, want true false false true",
			after.Current(m), after.Current(mFirst), before.Current(m), first.Current(mFirst))
	}
}

// mustSnapshotAfter commits b and returns a snapshot of the result.
func mustSnapshotAfter(t *testing.T, s *memkv.Store, b *kv.Batch) kv.MemoSnapshot {
	t.Helper()
	if err := s.Commit(b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return mustMemoSnapshot(t, s)
}

func TestIterator_Memo_SameAsGetMemo(t *testing.T) {
	s := memkv.New()
	defer s.Close()
	var kvs [][]byte
	for _, k := range []string{"a", "b", "c", "d"} {
		kvs = append(kvs, []byte(k), []byte("v"+k))
	}
	mustCommit(t, s, kvs...)
	sn := mustMemoSnapshot(t, s)
	it := sn.Iter(nil, nil, false)
	defer it.Close()
	mi, ok := it.(kv.MemoIterator)
	if !ok {
		t.Fatalf("memkv iterator %T is not a kv.MemoIterator", it)
	}
	n := 0
	for mi.Next() {
		n++
		_, want := mustGetMemo(t, sn, string(mi.Key()))
		if got := mi.Memo(); got != want {
			t.Errorf("%s: iterator memo %p, GetMemo memo %p", mi.Key(), got, want)
		}
	}
	if n != 4 {
		t.Errorf("iterated %d entries, want 4", n)
	}
}

func TestMemo_Store_LoadAndCurrentAt(t *testing.T) {
	m := kv.NewMemo(3)
	if m.Load() != nil {
		t.Fatalf("new memo holds %v", m.Load())
	}
	x := &struct{ n int }{7}
	m.Store(x)
	if got := m.Load(); got != x {
		t.Errorf("Load = %v, want %v", got, x)
	}
	m.Supersede(5)
	for seq, want := range map[uint64]bool{2: false, 3: true, 4: true, 5: false, 9: false} {
		if got := m.CurrentAt(seq); got != want {
			t.Errorf("CurrentAt(%d) = %v, want %v", seq, got, want)
		}
	}
}

// Get serves repeated reads of a key from the store's hints; every
// snapshot still sees its own version, whichever snapshot read last.
func TestSnapshot_Get_HintsFollowVersions(t *testing.T) {
	s := memkv.New()
	defer s.Close()
	k := []byte("k")
	var snaps []kv.MemoSnapshot
	var wants []string // "" for absent
	for _, v := range []string{"v1", "v2", "", "v4"} {
		if v == "" {
			mustCommit(t, s, k, nil)
		} else {
			mustCommit(t, s, k, []byte(v))
		}
		snaps = append(snaps, mustMemoSnapshot(t, s))
		wants = append(wants, v)
	}
	// Read in an order that makes every snapshot meet a hint left by
	// another one: newest first, oldest first, then interleaved.
	order := []int{3, 2, 1, 0, 0, 1, 2, 3, 1, 3, 0, 2, 2, 0}
	for _, i := range order {
		got, ok, err := snaps[i].Get(k)
		if err != nil {
			t.Fatalf("snapshot %d: %v", i, err)
		}
		if want := wants[i]; ok != (want != "") || string(got) != want {
			t.Errorf("snapshot %d: Get = %q, %v; want %q", i, got, ok, want)
		}
	}
}

// Reads between commits: every commit meets a hint left by a reader, moves
// it or drops it, and every snapshot still sees its own version.
func TestStore_Commit_MovesHints(t *testing.T) {
	s := memkv.New()
	defer s.Close()
	k := []byte("k")
	var snaps []kv.MemoSnapshot
	var wants []string
	for _, v := range []string{"v1", "v2", "", "v4", "v5", ""} {
		if v == "" {
			mustCommit(t, s, k, nil)
		} else {
			mustCommit(t, s, k, []byte(v))
		}
		snaps = append(snaps, mustMemoSnapshot(t, s))
		wants = append(wants, v)
		for i := len(snaps) - 1; i >= 0; i-- {
			got, ok, err := snaps[i].Get(k)
			if err != nil {
				t.Fatalf("snapshot %d: %v", i, err)
			}
			if want := wants[i]; ok != (want != "") || string(got) != want {
				t.Errorf("after %d commits, snapshot %d: Get = %q, %v; want %q", len(snaps), i, got, ok, want)
			}
		}
	}
}

// iterMemo returns the memo an iterator over sn reports for key.
func iterMemo(t *testing.T, sn kv.MemoSnapshot, key string) *kv.Memo {
	t.Helper()
	it := sn.Iter([]byte(key), nil, false)
	defer it.Close()
	mi := it.(kv.MemoIterator)
	if !mi.Next() || string(mi.Key()) != key {
		t.Fatalf("iterator from %q: no entry %q (err %v)", key, key, mi.Err())
	}
	return mi.Memo()
}

// A memo belongs to one version: GetMemo and an iterator, on the same or
// another snapshot, return the same memo for it, and a rewrite of the key,
// even with the same bytes, is a new version with a new memo whose born is
// the rewriting commit, while the old memo stays current only for the
// snapshots taken before it.
func TestSnapshot_GetMemo_RewriteIsNewVersion(t *testing.T) {
	s := memkv.New()
	defer s.Close()
	mustCommit(t, s, []byte("k"), []byte("same"), []byte("z"), []byte("z"))
	s1 := mustMemoSnapshot(t, s)
	s1b := mustMemoSnapshot(t, s)
	mustCommit(t, s, []byte("z"), []byte("z2")) // another key: k's version stays
	s2 := mustMemoSnapshot(t, s)
	mustCommit(t, s, []byte("k"), []byte("same"))
	s3 := mustMemoSnapshot(t, s)

	_, m1 := mustGetMemo(t, s1, "k")
	for what, m := range map[string]*kv.Memo{
		"iterator, same snapshot":     iterMemo(t, s1, "k"),
		"GetMemo, other snapshot":     func() *kv.Memo { _, m := mustGetMemo(t, s1b, "k"); return m }(),
		"GetMemo, after another key":  func() *kv.Memo { _, m := mustGetMemo(t, s2, "k"); return m }(),
		"iterator, after another key": iterMemo(t, s2, "k"),
	} {
		if m != m1 {
			t.Errorf("%s: memo %p, want the version's memo %p", what, m, m1)
		}
	}
	_, m3 := mustGetMemo(t, s3, "k")
	if m3 == m1 {
		t.Fatal("a rewrite with the same bytes kept the old version's memo")
	}
	if im := iterMemo(t, s3, "k"); im != m3 {
		t.Errorf("iterator after the rewrite: memo %p, GetMemo %p", im, m3)
	}
	if m3.Born() != m1.Born()+2 {
		t.Errorf("rewritten version born %d, want %d", m3.Born(), m1.Born()+2)
	}
	if !s2.Current(m1) || s3.Current(m1) || s2.Current(m3) || !s3.Current(m3) {
		t.Errorf("Current: s2(old)=%v s3(old)=%v s2(new)=%v s3(new)=%v, want true false false true",
			s2.Current(m1), s3.Current(m1), s2.Current(m3), s3.Current(m3))
	}
	m1.Store(&struct{ n int }{1})
	if m3.Load() != nil {
		t.Errorf("the new version's memo holds %v, stored in the old one's", m3.Load())
	}
}

// Readers store in and load from one memo concurrently (run with -race):
// each load sees nothing or a value some reader stored, whole.
func TestMemo_Store_ConcurrentReaders(t *testing.T) {
	type derived struct{ a, b int }
	s := memkv.New()
	defer s.Close()
	mustCommit(t, s, []byte("k"), []byte("v"))
	const readers, rounds = 8, 200
	errs := make(chan string, readers)
	var wg sync.WaitGroup
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sn, err := s.Snapshot()
			if err != nil {
				errs <- err.Error()
				return
			}
			defer sn.Release()
			ms := sn.(kv.MemoSnapshot)
			for i := range rounds {
				_, m, ok, err := ms.GetMemo([]byte("k"))
				if err != nil || !ok {
					errs <- fmt.Sprintf("reader %d: GetMemo = %v, %v", r, ok, err)
					return
				}
				if x := m.Load(); x != nil {
					if d := x.(*derived); d.b != d.a*2 {
						errs <- fmt.Sprintf("reader %d: loaded a torn value %+v", r, *d)
						return
					}
				}
				m.Store(&derived{a: i, b: 2 * i})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// binder is an Op.Memo that records the memo it was bound to.
type binder struct{ m *kv.Memo }

func (b *binder) BindMemo(m *kv.Memo) { b.m = m }

// A Put that hands over a memo (kv.Op.Memo) finds it in the new version's
// memo from the first snapshot that sees the version; with Bind the value
// learns that memo first, without Bind (or on a Delete) it is not bound.
func TestStore_Commit_PutMemo(t *testing.T) {
	s := memkv.New()
	defer s.Close()
	doc, entry := &binder{}, &binder{}
	var b kv.Batch
	b.PutMemo([]byte("doc"), []byte("v1"), doc, true)
	b.PutMemo([]byte("entry"), []byte{}, entry, false)
	b.Put([]byte("plain"), []byte("p"))
	sn := mustSnapshotAfter(t, s, &b)
	_, m := mustGetMemo(t, sn, "doc")
	if got := m.Load(); got != doc {
		t.Fatalf("memo of doc holds %v, want the Put's memo", got)
	}
	if doc.m != m {
		t.Fatalf("doc bound to %p, want its version's memo %p", doc.m, m)
	}
	_, m = mustGetMemo(t, sn, "entry")
	if got := m.Load(); got != entry || entry.m != nil {
		t.Fatalf("memo of entry holds %v, bound to %p: want the Put's memo, unbound", got, entry.m)
	}
	if _, m = mustGetMemo(t, sn, "plain"); m.Load() != nil {
		t.Fatalf("memo of a plain Put holds %v, want nothing", m.Load())
	}
}

// toucher is a memo value that counts the calls of its Touch.
type toucher struct{ n *int }

func (t *toucher) Touch() uintptr { *t.n++; return 0 }

// TestIterator_TouchesBufferedMemos checks that an iterator reads ahead,
// through kv.Toucher, the memos of the entries it buffers before its
// caller reads them, and that the entries read are unchanged.
func TestIterator_TouchesBufferedMemos(t *testing.T) {
	s := memkv.New()
	defer s.Close()
	touched := 0
	var b kv.Batch
	for i := range 5 {
		b.PutMemo([]byte(fmt.Sprintf("k%d", i)), []byte("v"), &toucher{n: &touched}, false)
	}
	b.Put([]byte("plain"), []byte("v")) // no memo: nothing to touch
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	sn := mustMemoSnapshot(t, s)
	it := sn.Iter(nil, nil, false)
	defer it.Close()
	if !it.Next() {
		t.Fatal("no first entry")
	}
	if touched != 5 {
		t.Errorf("after the first Next, %d memos touched, want the 5 buffered", touched)
	}
	n := 1
	for it.Next() {
		n++
	}
	if n != 6 || touched != 5 {
		t.Errorf("read %d entries and touched %d memos, want 6 and 5", n, touched)
	}
}

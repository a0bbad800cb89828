package memkv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
)

// refModel is the reference the tree is checked against: the sorted keys
// and the value of each.
type refModel struct {
	keys []string
	vals map[string]string
}

func (m *refModel) put(k, v string) {
	if _, ok := m.vals[k]; !ok {
		i, _ := slices.BinarySearch(m.keys, k)
		m.keys = slices.Insert(m.keys, i, k)
	}
	m.vals[k] = v
}

func (m *refModel) del(k string) {
	if _, ok := m.vals[k]; ok {
		i, _ := slices.BinarySearch(m.keys, k)
		m.keys = slices.Delete(m.keys, i, i+1)
		delete(m.vals, k)
	}
}

// frozen is a snapshot taken between commits with the reference's state
// then: it must still read the same after every later commit.
type frozen struct {
	sn   kv.Snapshot
	keys []string
	vals map[string]string
}

// treeKey returns key number i of a small keyspace, shaped so that many
// keys share their first 16 bytes (the words of item) and many do not.
func treeKey(rng *rand.Rand, space int) string {
	i := rng.IntN(space)
	switch i % 4 {
	case 0:
		return fmt.Sprintf("k%06d", i)
	case 1:
		return fmt.Sprintf("shared-prefix-16b%06d", i)
	case 2:
		return fmt.Sprintf("shared-prefix-16b%06d\x00", i/2)
	default:
		return string([]byte{byte(i >> 8), byte(i)})
	}
}

// commitChecked commits b to s and checks the tree's structure and the
// reads of a new snapshot against m, which holds what b wrote; it returns
// the snapshot with m's state, for the caller to keep or release.
func commitChecked(t *testing.T, s *Store, b *kv.Batch, m *refModel, rng *rand.Rand) frozen {
	t.Helper()
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	checkTree(t, s.w.root, s.w.epoch)
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	f := frozen{sn: sn, keys: slices.Clone(m.keys), vals: maps(m.vals)}
	checkReads(t, rng, f)
	return f
}

// TestTree_RandomOps_MatchesReference commits random batches of puts and
// deletes (some emptying the tree, which merges and frees every node) and
// checks, after each commit, the tree's structure and every read against
// the reference, and that every snapshot taken earlier still reads what
// it read then.
func TestTree_RandomOps_MatchesReference(t *testing.T) {
	for _, space := range []int{50, 3000, 40000} {
		t.Run(fmt.Sprintf("space=%d", space), func(t *testing.T) {
			seed := uint64(space)
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 7))
			s := New()
			defer s.Close()
			m := &refModel{vals: map[string]string{}}
			var snaps []frozen
			commits := 300
			for c := range commits {
				var b kv.Batch
				ops := 1 + rng.IntN(8)
				if c%40 == 5 {
					ops = 2000 // large commits fill and split many nodes at once
				}
				deleting := c%100 >= 70 // long runs of deletes shrink the tree to nothing
				randomBatch(&b, m, rng, c, ops, deleting, func() string { return treeKey(rng, space) },
					func() string { return fmt.Sprintf("v%d-%d", c, rng.IntN(1000)) })
				f := commitChecked(t, s, &b, m, rng)
				if c%10 == 0 {
					snaps = append(snaps, f)
				} else {
					f.sn.Release()
				}
				if c%5 == 0 {
					for _, old := range snaps[max(0, len(snaps)-2):] {
						checkReads(t, rng, old)
					}
				}
			}
			for _, old := range snaps {
				checkReads(t, rng, old)
				old.sn.Release()
			}
		})
	}
}

// randomBatch adds commit c's operations to b and to the reference m: ops
// keys from key, each deleted when deleting and one time in three
// otherwise, else put with a value from value; at every hundredth commit
// (c%100 == 99) every key left is deleted too, so that the tree shrinks
// to nothing.
func randomBatch(b *kv.Batch, m *refModel, rng *rand.Rand, c, ops int, deleting bool, key, value func() string) {
	for range ops {
		k := key()
		if deleting || rng.IntN(3) == 0 {
			b.Delete([]byte(k))
			m.del(k)
			continue
		}
		v := value()
		b.Put([]byte(k), []byte(v))
		m.put(k, v)
	}
	if c%100 == 99 {
		for _, k := range m.keys {
			b.Delete([]byte(k))
		}
		m.keys, m.vals = nil, map[string]string{}
	}
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// checkReads compares f's snapshot with its reference: a full scan each
// way, gets of present and absent keys, and iterators with random bounds
// in both directions.
func checkReads(t *testing.T, rng *rand.Rand, f frozen) {
	t.Helper()
	checkIter(t, f, nil, nil, false)
	checkIter(t, f, nil, nil, true)
	for range 20 {
		var start, end []byte
		if rng.IntN(4) > 0 {
			start = []byte(treeKey(rng, 50000))
		}
		if rng.IntN(4) > 0 {
			end = []byte(treeKey(rng, 50000))
		}
		if len(f.keys) > 0 && rng.IntN(3) == 0 {
			start = []byte(f.keys[rng.IntN(len(f.keys))]) // bounds on present keys
		}
		if len(f.keys) > 0 && rng.IntN(3) == 0 {
			end = []byte(f.keys[rng.IntN(len(f.keys))])
		}
		checkIter(t, f, start, end, rng.IntN(2) == 0)
	}
	checkGets(t, rng, f, 20, func() string { return treeKey(rng, 50000) })
}

// checkGets compares n Gets on f's snapshot with the reference: each of a
// key from key or, one time in two, of a key the reference holds.
func checkGets(t *testing.T, rng *rand.Rand, f frozen, n int, key func() string) {
	t.Helper()
	for range n {
		k := key()
		if len(f.keys) > 0 && rng.IntN(2) == 0 {
			k = f.keys[rng.IntN(len(f.keys))]
		}
		v, ok, err := f.sn.Get([]byte(k))
		want, wantOK := f.vals[k]
		if err != nil || ok != wantOK || string(v) != want {
			t.Fatalf("Get(%q) = %q, %v, %v; want %q, %v", k, v, ok, err, want, wantOK)
		}
	}
}

// checkIter compares an iterator over [start, end) of f's snapshot with
// the reference's keys there.
func checkIter(t *testing.T, f frozen, start, end []byte, reverse bool) {
	t.Helper()
	var want []string
	for _, k := range f.keys {
		if (start == nil || k >= string(start)) && (end == nil || k < string(end)) {
			want = append(want, k)
		}
	}
	if reverse {
		slices.Reverse(want)
	}
	it := f.sn.Iter(start, end, reverse)
	defer it.Close()
	var got []string
	for it.Next() {
		got = append(got, string(it.Key()))
		if string(it.Value()) != f.vals[string(it.Key())] {
			t.Fatalf("value of %q: %q, want %q", it.Key(), it.Value(), f.vals[string(it.Key())])
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Iter(%q, %q, reverse %v): %d keys %q, want %d %q", start, end, reverse, len(got), clip(got), len(want), clip(want))
	}
}

func clip(s []string) []string {
	if len(s) > 6 {
		return append(slices.Clone(s[:3]), append([]string{"…"}, s[len(s)-3:]...)...)
	}
	return s
}

// checkTree checks the invariants of the tree of root: keys in order
// within and across nodes, every node but the root holding 1 to maxItems
// items, inner nodes one child more than items, every leaf at
// the same depth, no node of a later epoch than the writer's, and no
// entry left in a node's free slots.
func checkTree(t *testing.T, root *node, epoch uint64) {
	t.Helper()
	if root == nil {
		return
	}
	if len(root.items) == 0 {
		t.Fatal("empty root: an empty tree has a nil root")
	}
	leafDepth := -1
	var last []byte
	var walk func(n *node, depth int)
	walk = func(n *node, depth int) {
		if n != root && (len(n.items) < 1 || len(n.items) > maxItems) { // splitAt may leave a node under minItems
			t.Fatalf("node at depth %d holds %d items, want 1..%d", depth, len(n.items), maxItems)
		}
		if n.epoch >= epoch {
			t.Fatalf("node of epoch %d in a published tree, writer at %d", n.epoch, epoch)
		}
		for _, c := range n.children {
			if c.epoch > n.epoch {
				t.Fatalf("a node of epoch %d points to a child of epoch %d: a commit wrote a published node", n.epoch, c.epoch)
			}
		}
		for _, x := range n.items[len(n.items):cap(n.items)] {
			if x.e != nil {
				t.Fatalf("a free slot holds entry %q", x.e.key())
			}
		}
		if n.plen > maxPrefix {
			t.Fatalf("a prefix of %d bytes, max %d", n.plen, maxPrefix)
		}
		if !bytes.Equal(n.pre[n.plen:], make([]byte, maxPrefix-int(n.plen))) {
			t.Fatalf("bytes after the prefix %q: %q", n.prefix(), n.pre[n.plen:])
		}
		for _, x := range n.items {
			if !bytes.HasPrefix(x.e.key(), n.prefix()) {
				t.Fatalf("item of %q in a node of prefix %q", x.e.key(), n.prefix())
			}
			if hi, lo := words(x.e.key()[n.plen:]); hi != x.hi || lo != x.lo {
				t.Fatalf("item of %q has wrong words for the prefix %q", x.e.key(), n.prefix())
			}
		}
		if n.leaf() {
			if leafDepth < 0 {
				leafDepth = depth
			} else if depth != leafDepth {
				t.Fatalf("leaves at depths %d and %d", leafDepth, depth)
			}
			for _, x := range n.items {
				if last != nil && bytes.Compare(last, x.e.key()) >= 0 {
					t.Fatalf("keys out of order: %q then %q", last, x.e.key())
				}
				last = x.e.key()
			}
			return
		}
		if len(n.children) != len(n.items)+1 {
			t.Fatalf("inner node: %d items, %d children", len(n.items), len(n.children))
		}
		for _, c := range n.children[len(n.children):cap(n.children)] {
			if c != nil {
				t.Fatal("a free child slot holds a node")
			}
		}
		for i, c := range n.children {
			walk(c, depth+1)
			if i < len(n.items) {
				x := n.items[i]
				if bytes.Compare(last, x.e.key()) >= 0 {
					t.Fatalf("keys out of order: %q then %q", last, x.e.key())
				}
				last = x.e.key()
			}
		}
	}
	walk(root, 0)
}

// TestCursor_Steps_BothWays walks a tree of several levels from many seek
// positions, forward after seekGE and backward after seekLT, against the
// sorted keys.
func TestCursor_Steps_BothWays(t *testing.T) {
	s := New()
	defer s.Close()
	var keys []string
	var b kv.Batch
	for i := range 20000 {
		k := fmt.Sprintf("%08d", i*2) // odd numbers are absent keys
		keys = append(keys, k)
		b.Put([]byte(k), nil)
	}
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	root := s.cur.Load().root
	if root.leaf() || root.children[0].leaf() {
		t.Fatal("want a tree of at least 3 levels")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 500 {
		q := rng.IntN(40002) - 1
		k := fmt.Sprintf("%08d", q)
		bd := newBound([]byte(k))
		i, _ := slices.BinarySearch(keys, k)
		for _, reverse := range []bool{false, true} {
			var c cursor
			j := i
			if reverse {
				c.seekLT(root, &bd)
				j--
			} else {
				c.seekGE(root, &bd)
			}
			for step := 0; step < 3000; step++ {
				if j >= len(keys) || j < 0 {
					if c.valid() {
						t.Fatalf("seek %q reverse %v step %d: cursor at %q, want past the end", k, reverse, step, c.item().e.key())
					}
					break
				}
				if !c.valid() || string(c.item().e.key()) != keys[j] {
					t.Fatalf("seek %q reverse %v step %d: cursor invalid or wrong, want %q", k, reverse, step, keys[j])
				}
				if reverse {
					c.prev()
					j--
				} else {
					c.next()
					j++
				}
			}
		}
	}
}

// TestTree_Commit_CopiesSmall checks what a commit into a large tree
// copies: every node it changes is a copy sized to its items (one more
// item at most, rounded to the size class), not a full node.
func TestTree_Commit_CopiesSmall(t *testing.T) {
	s := New()
	defer s.Close()
	var b kv.Batch
	for i := range 100000 {
		b.Put(fmt.Appendf(nil, "%08d", i), nil) // in order: splitAt leaves nodes full
	}
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.Put([]byte("00050000x"), nil)
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	n := s.cur.Load().root
	for {
		if n.epoch != s.w.epoch-1 {
			t.Fatalf("a node on the path is of epoch %d, want the commit's %d", n.epoch, s.w.epoch-1)
		}
		if want := cap(allocNode(n.leaf(), len(n.items)+1, 0).items); cap(n.items) > want {
			t.Fatalf("a copy of %d items has room for %d, want at most %d", len(n.items), cap(n.items), want)
		}
		if n.leaf() {
			break
		}
		bd := newBound([]byte("00050000x"))
		i, _ := n.find(&bd)
		n = n.children[i]
	}
}

// TestTree_Delete_DeepTreeRebalances builds a tree of three levels in
// random order, writes every key again (a put of the middle key of a full
// node replaces the item that its split sends up), then deletes every key
// in random order, 500 a commit: inner nodes then lend each other items
// and children and merge, down to an empty tree. The structure and the
// contents are checked after every commit, and a snapshot taken before
// the deletes must still hold every key.
func TestTree_Delete_DeepTreeRebalances(t *testing.T) {
	s := New()
	defer s.Close()
	rng := rand.New(rand.NewPCG(9, 9))
	const n = 30_000
	perm := rng.Perm(n)
	m := &refModel{vals: map[string]string{}}
	commits := 0
	commit := func(b *kv.Batch) {
		t.Helper()
		if err := s.Commit(b); err != nil {
			t.Fatal(err)
		}
		b.Reset()
		if commits++; commits%8 == 0 || s.w.root == nil || len(s.w.root.items) < 4 {
			checkTree(t, s.w.root, s.w.epoch)
		}
	}
	var b kv.Batch
	for pass := range 2 {
		for i, p := range perm {
			k := fmt.Sprintf("key-%09d", p)
			v := fmt.Sprint(pass)
			b.Put([]byte(k), []byte(v))
			m.put(k, v)
			if i%5000 == 4999 {
				commit(&b)
			}
		}
		commit(&b)
	}
	if depth(s.w.root) < 3 {
		t.Fatalf("tree of depth %d, want 3", depth(s.w.root))
	}
	before, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer before.Release()
	full := frozen{sn: before, keys: slices.Clone(m.keys), vals: maps(m.vals)}
	rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	for i, p := range perm {
		k := fmt.Sprintf("key-%09d", p)
		b.Delete([]byte(k))
		m.del(k)
		if i%500 == 499 || i == len(perm)-1 {
			commit(&b)
			if i%10_000 == 9_999 {
				sn, err := s.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				checkReads(t, rng, frozen{sn: sn, keys: m.keys, vals: m.vals})
				sn.Release()
			}
		}
	}
	if s.w.root != nil {
		t.Fatalf("root holds %d items after every key was deleted", len(s.w.root.items))
	}
	checkReads(t, rng, full)
}

// depth returns the number of levels of the tree of root.
func depth(root *node) int {
	d := 0
	for n := root; n != nil; d++ {
		if n.leaf() {
			return d + 1
		}
		n = n.children[0]
	}
	return d
}

// TestTree_Set_MiddleOfFullChild puts again the middle key of a full leaf
// below the root: the split of the leaf sends that key's item up into the
// root, where the put must replace it (not insert the key again below).
func TestTree_Set_MiddleOfFullChild(t *testing.T) {
	s := New()
	defer s.Close()
	put := func(k, v string) {
		t.Helper()
		var b kv.Batch
		b.Put([]byte(k), []byte(v))
		if err := s.Commit(&b); err != nil {
			t.Fatal(err)
		}
		checkTree(t, s.w.root, s.w.epoch)
	}
	last := func() *node {
		n := s.w.root
		for !n.leaf() {
			n = n.children[len(n.children)-1]
		}
		return n
	}
	i := 0
	for s.w.root == nil || s.w.root.leaf() || len(last().items) < maxItems {
		put(fmt.Sprintf("%08d", i), "old")
		i++
	}
	mid := string(last().items[last().splitMiddle()].e.key()) // the item the split sends up
	put(mid, "new")
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Release()
	if v, ok, _ := sn.Get([]byte(mid)); !ok || string(v) != "new" {
		t.Fatalf("Get(%q) = %q, %v; want new", mid, v, ok)
	}
	n := 0
	for it := sn.Iter(nil, nil, false); it.Next(); n++ {
	}
	if n != i {
		t.Fatalf("%d keys, want %d", n, i)
	}
}

// TestTree_Set_AppendsFillNodes appends keys in order, a few a commit, as
// an index written in time order is: every leaf but the last must be left
// nearly full (splitAt), not half full.
func TestTree_Set_AppendsFillNodes(t *testing.T) {
	s := New()
	defer s.Close()
	var b kv.Batch
	for i := range 20000 {
		b.Put(fmt.Appendf(nil, "a%08d", i), nil)
		b.Put([]byte("b"), nil) // a key after them all, as the next index is
		if i%3 == 2 {
			if err := s.Commit(&b); err != nil {
				t.Fatal(err)
			}
			b.Reset()
		}
	}
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	checkTree(t, s.w.root, s.w.epoch)
	var leaves []*node
	var walk func(n *node)
	walk = func(n *node) {
		if n.leaf() {
			leaves = append(leaves, n)
			return
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(s.w.root)
	for i, n := range leaves[:len(leaves)-1] {
		if len(n.items) < maxItems*3/4 {
			t.Fatalf("leaf %d of %d holds %d items, want %d or more", i, len(leaves), len(n.items), maxItems*3/4)
		}
	}
}

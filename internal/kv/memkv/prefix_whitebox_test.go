package memkv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"unsafe"

	"github.com/livedb-go/livedb/internal/kv"
)

// prefixStemLens are the lengths of the stems prefixKey's keys share:
// around the 16 bytes of an item's words, around maxPrefix, and past
// maxPrefix+16, where a node's prefix and its words together still do not
// reach the bytes that differ.
var prefixStemLens = []int{0, 1, 7, 8, 15, 16, 17, 23, 24, 31, 32, 38, maxPrefix - 1, maxPrefix, maxPrefix + 1, maxPrefix + 15, maxPrefix + 16, maxPrefix + 17, 90}

// prefixStem returns the stem of length n that prefixKey's keys share: its
// bytes include 0x00 (which pads a short key's words) and 0xFF.
func prefixStem(n int) string {
	b := make([]byte, n)
	for i := range b {
		switch i % 5 {
		case 0:
			b[i] = 0x00
		case 3:
			b[i] = 0xFF
		default:
			b[i] = byte('a' + i%26)
		}
	}
	return string(b)
}

// prefixKey returns a key of a keyspace whose keys share long stems: a
// stem of one of prefixStemLens (some keys are the stem itself, or the
// stem less its last byte: keys that are prefixes of others), then a tail
// of a few bytes, 0x00 bytes among them, sometimes followed by more 0x00.
func prefixKey(rng *rand.Rand, space int) string {
	i := rng.IntN(space)
	stem := prefixStem(prefixStemLens[i%len(prefixStemLens)])
	j := i / len(prefixStemLens)
	switch j % 7 {
	case 0:
		return stem + "\x01"
	case 1:
		if len(stem) > 1 {
			return stem[:len(stem)-1]
		}
		return stem + "\x02"
	case 2:
		return stem + "\x00" + strconv.Itoa(j)
	case 3:
		return stem + strconv.Itoa(j) + "\x00\x00"
	default:
		return stem + fmt.Sprintf("%05d", j)
	}
}

// prefixBound returns an iterator bound or a key to get: a key of the
// keyspace, or a stem cut anywhere, or a stem with 0xFF after it.
func prefixBound(rng *rand.Rand, space int) []byte {
	switch rng.IntN(4) {
	case 0:
		s := prefixStem(prefixStemLens[rng.IntN(len(prefixStemLens))])
		return []byte(s[:rng.IntN(len(s)+1)])
	case 1:
		return []byte(prefixStem(prefixStemLens[rng.IntN(len(prefixStemLens))]) + "\xFF")
	}
	return []byte(prefixKey(rng, space))
}

// checkPrefixReads is checkReads with bounds and keys of the long-prefix
// keyspace.
func checkPrefixReads(t *testing.T, rng *rand.Rand, f frozen, space int) {
	t.Helper()
	checkIter(t, f, nil, nil, false)
	checkIter(t, f, nil, nil, true)
	for range 30 {
		var start, end []byte
		if rng.IntN(4) > 0 {
			start = prefixBound(rng, space)
		}
		if rng.IntN(4) > 0 {
			end = prefixBound(rng, space)
		}
		if len(f.keys) > 0 && rng.IntN(3) == 0 {
			start = []byte(f.keys[rng.IntN(len(f.keys))])
		}
		checkIter(t, f, start, end, rng.IntN(2) == 0)
	}
	checkGets(t, rng, f, 30, func() string { return string(prefixBound(rng, space)) })
}

// TestTree_Prefix_LongSharedKeys commits random puts and deletes of keys
// that share stems of every length around an item's 16 bytes and a node's
// maxPrefix (prefixKey), so that splits lengthen node prefixes and
// inserts, rotations and merges shorten them, and checks after each
// commit the tree's structure (checkTree: every node's prefix and words)
// and every read against the sorted reference, and that snapshots taken
// earlier still read what they read then.
func TestTree_Prefix_LongSharedKeys(t *testing.T) {
	for _, space := range []int{60, 2000, 20000} {
		t.Run(fmt.Sprintf("space=%d", space), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(space), 11))
			s := New()
			defer s.Close()
			m := &refModel{vals: map[string]string{}}
			var snaps []frozen
			for c := range 200 {
				var b kv.Batch
				ops := 1 + rng.IntN(10)
				if c%40 == 3 {
					ops = 1500
				}
				deleting := c%100 >= 65
				randomBatch(&b, m, rng, c, ops, deleting, func() string { return prefixKey(rng, space) },
					func() string { return fmt.Sprintf("v%d", c) })
				f := commitChecked(t, s, &b, m, rng)
				checkPrefixReads(t, rng, f, space)
				if c%10 == 0 {
					snaps = append(snaps, f)
				} else {
					f.sn.Release()
				}
				if c%7 == 0 {
					for _, old := range snaps[max(0, len(snaps)-3):] {
						checkPrefixReads(t, rng, old, space)
					}
				}
			}
			for _, old := range snaps {
				checkPrefixReads(t, rng, old, space)
				old.sn.Release()
			}
		})
	}
}

// TestTree_Prefix_Lengthens checks that the prefixes do their work: after
// 3,000 keys sharing a 30-byte stem, followed by 8 bytes that differ, every
// leaf keeps the whole stem as its prefix, so that its words reach the
// bytes that differ.
func TestTree_Prefix_Lengthens(t *testing.T) {
	s := New()
	defer s.Close()
	stem := prefixStem(30)
	rng := rand.New(rand.NewPCG(1, 2))
	var b kv.Batch
	for i := range 3000 {
		b.Put([]byte(fmt.Sprintf("%s%08d", stem, rng.IntN(1e8))), []byte(strconv.Itoa(i)))
		if i%100 == 99 {
			if err := s.Commit(&b); err != nil {
				t.Fatal(err)
			}
			b.Reset()
		}
	}
	checkTree(t, s.w.root, s.w.epoch)
	leaves := 0
	var walk func(n *node)
	walk = func(n *node) {
		if !n.leaf() {
			for _, c := range n.children {
				walk(c)
			}
			return
		}
		leaves++
		if int(n.plen) < len(stem) {
			t.Fatalf("a leaf of %d keys has a prefix of %d bytes, want %d or more", len(n.items), n.plen, len(stem))
		}
	}
	walk(s.w.root)
	if leaves < 2 {
		t.Fatalf("%d leaves", leaves)
	}
}

// TestNode_Shifted_SameAsWords checks shifted, which shrink and a merge use
// instead of reading the entries: an item re-based from offset p to q
// (q <= p) must have the words of its key at q, for keys of every length
// around both offsets and bytes 0x00 among them.
func TestNode_Shifted_SameAsWords(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		k := make([]byte, rng.IntN(70))
		for i := range k {
			k[i] = []byte{0x00, 0x01, 'a', 0xFF}[rng.IntN(4)]
		}
		p := rng.IntN(len(k) + 1)
		q := rng.IntN(p + 1)
		e := newItem(k, nil, 1).e
		got := shifted(itemIn(e, p), k[q:p])
		if want := itemIn(e, q); got.hi != want.hi || got.lo != want.lo {
			t.Fatalf("key %x from %d to %d: words %016x %016x, want %016x %016x", k, p, q, got.hi, got.lo, want.hi, want.lo)
		}
	}
}

// TestNode_RelBound_Orders checks relBound against bytes.Compare: for a
// node whose keys share a prefix, a bound outside it sorts before or after
// every key as it says, and one inside compares with each item as the
// whole keys do.
func TestNode_RelBound_Orders(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	alpha := []byte{0x00, 0x01, 0xFF}
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return b
	}
	for range 5000 {
		pre := rnd(rng.IntN(maxPrefix + 1))
		var keys [][]byte
		for range 1 + rng.IntN(8) {
			keys = append(keys, append(slices.Clone(pre), rnd(rng.IntN(20))...))
		}
		slices.SortFunc(keys, bytes.Compare)
		keys = slices.CompactFunc(keys, bytes.Equal)
		n := allocNode(true, len(keys), 1)
		copy(n.pre[:], pre)
		n.plen = uint8(len(pre))
		for _, k := range keys {
			n.items = append(n.items, itemIn(newItem(k, nil, 1).e, len(pre)))
		}
		bk := append(slices.Clone(pre[:rng.IntN(len(pre)+1)]), rnd(rng.IntN(24))...)
		b := newBound(bk)
		r, where := n.relBound(&b)
		for i, x := range n.items {
			want := bytes.Compare(keys[i], bk)
			got := -where
			if where == 0 {
				got = r.compareItem(x)
			}
			if got != want {
				t.Fatalf("prefix %x, bound %x, key %x: compare %d (where %d), want %d", pre, bk, keys[i], got, where, want)
			}
			if c := b.compareIn(n, x); c != want {
				t.Fatalf("compareIn: prefix %x, bound %x, key %x: %d, want %d", pre, bk, keys[i], c, want)
			}
		}
	}
}

// FuzzTree_PrefixOps is FuzzTree_Ops on the long-prefix keyspace of
// prefixKey: each byte puts (bit 7 clear) or deletes a key, 0xFF commits,
// and every commit is checked against the sorted reference, with the
// snapshots kept from earlier commits.
func FuzzTree_PrefixOps(f *testing.F) {
	f.Add([]byte{1, 2, 3, 0xFF, 0x81, 0x82, 0xFF, 4}, uint16(7), uint8(3))
	f.Add(slices.Repeat([]byte{0x10, 0x90, 0x11, 0xFF}, 30), uint16(300), uint8(200))
	f.Fuzz(func(t *testing.T, ops []byte, base uint16, fill uint8) {
		const space = 4000
		runFuzzOps(t, fuzzOps{
			ops: ops, base: int(base), seed: uint64(fill), fill: int(fill) * 2, stride: 3, keep: 6,
			key:   func(i int) string { return prefixKey(rand.New(rand.NewPCG(uint64(i), 1)), space) },
			val:   func(int) string { return "f" },
			check: func(t *testing.T, rng *rand.Rand, f frozen) { checkPrefixReads(t, rng, f, space) },
		})
	})
}

// TestIterator_Prefix_Gaps iterates, both ways, the gaps between every two
// neighbouring keys of a tree of many leaves with different prefixes:
// [k+"\x00", next) holds no key and [k, next) holds k alone. A bound in a
// gap often falls outside the prefix of the leaf the cursor is in (before
// or after every key of it), which takeRun must cut at.
func TestIterator_Prefix_Gaps(t *testing.T) {
	s := New()
	defer s.Close()
	rng := rand.New(rand.NewPCG(9, 10))
	m := &refModel{vals: map[string]string{}}
	var b kv.Batch
	for range 6000 {
		k := prefixKey(rng, 20000)
		b.Put([]byte(k), []byte("v"))
		m.put(k, "v")
	}
	f := commitChecked(t, s, &b, m, rng)
	defer f.sn.Release()
	for i := 0; i+1 < len(m.keys); i++ {
		k, next := m.keys[i], m.keys[i+1]
		for _, reverse := range []bool{false, true} {
			checkIter(t, f, []byte(k+"\x00"), []byte(next), reverse)
			checkIter(t, f, []byte(k), []byte(next), reverse)
		}
	}
}

// TestNode_Size checks the node header that allocNode's size classes are
// computed from: 96 bytes, the prefix and its length included.
func TestNode_Size(t *testing.T) {
	if n := unsafe.Sizeof(node{}); n != 96 {
		t.Fatalf("a node header is %d bytes, want 96 (allocNode's sizes assume it)", n)
	}
}

// TestTree_Prefix_SplitsBetweenGroups checks splitMiddle's choice: keys of
// 40 groups of 150 (a 20-byte stem, a 10-byte group, a member number, as an
// index's entries of one workflow), inserted round-robin, split where a
// group ends when one ends near the middle, so that most leaves hold one
// group and keep its whole name in their prefix: 126 of 134 leaves. Split
// in the middle, 109 of 145 did; it fails under 85%.
func TestTree_Prefix_SplitsBetweenGroups(t *testing.T) {
	s := New()
	defer s.Close()
	rng := rand.New(rand.NewPCG(11, 12))
	stem := prefixStem(20)
	groups := make([]string, 40)
	for i := range groups {
		g := make([]byte, 10)
		for j := range g {
			g[j] = byte('a' + rng.IntN(26))
		}
		groups[i] = stem + string(g) + "/"
	}
	var b kv.Batch
	for m := range 150 {
		for _, g := range groups {
			b.Put([]byte(fmt.Sprintf("%s%06d", g, m)), nil)
		}
		if err := s.Commit(&b); err != nil {
			t.Fatal(err)
		}
		b.Reset()
	}
	checkTree(t, s.w.root, s.w.epoch)
	leaves, whole := 0, 0
	var walk func(n *node)
	walk = func(n *node) {
		for _, c := range n.children {
			walk(c)
		}
		if n.leaf() {
			leaves++
			if int(n.plen) >= len(groups[0]) {
				whole++
			}
		}
	}
	walk(s.w.root)
	t.Logf("%d of %d leaves hold one group", whole, leaves)
	if whole*100 < leaves*85 {
		t.Fatalf("%d of %d leaves hold one group, want 85%% or more", whole, leaves)
	}
}

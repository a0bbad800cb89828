package memkv

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// A node's common prefix: the first plen bytes that every key of the
// node's own items shares (not its children's), kept in the node itself
// (node.pre), at most maxPrefix bytes. The words of an item are those of
// its key after the prefix of the node that holds it, key[plen:plen+16],
// so that a node whose keys share more than 16 bytes still orders them by
// its words. find compares the bound with the prefix once per node
// (relBound), then by words at offset plen.
//
// Why: livedb's index keys share long prefixes. The IDs of a table begin
// with their creation time (internal/id), so the entries of an index on an
// ID field share the tag, the index id and ten or more characters of the
// ID: 16 bytes or more. With words of the keys' first 16 bytes, 23 of the
// 24 comparisons of a compound-index equality (W4: by_workflow_and_status,
// 1,000 workflows created in one mutation) fell back to the whole keys,
// each a cache miss to reach the entry.
//
// Invariant: for every item x of a node n, x.e.key() begins with
// n.pre[:n.plen], and x.hi, x.lo are words(x.e.key()[n.plen:]).
//
// Maintenance: an item that enters a node (insert, a split's middle item
// going up, a rotation or merge of remove) is re-based to the node's
// prefix (adopt); a key that does not share the prefix first shortens it
// (shrink: the new words of every item are the dropped prefix bytes
// followed by its old words, no entry read). A split lengthens each half's
// prefix to what its first and last keys share (lengthen, which reads the
// entries of the half once, only when the prefix grows). A removal leaves
// the prefix as it is: fewer keys still share it.

// maxPrefix is the most bytes of a common prefix a node keeps: with plen,
// 40 bytes, which makes the node header 96 bytes. It reaches past an ID
// field (32 characters after the tag and index id), to the field after it.
const maxPrefix = 39

// prefix returns n's common prefix.
func (n *node) prefix() []byte { return n.pre[:n.plen] }

// relBound returns b relative to n's prefix, with where == 0, when b's key
// begins with the prefix: its words are those after the prefix. Otherwise
// b is before every item of n (where < 0) or after every one (where > 0).
func (n *node) relBound(b *bound) (r bound, where int) {
	p := int(n.plen)
	if p == 0 {
		return *b, 0
	}
	k := b.key
	if len(k) >= p && string(k[:p]) == string(n.pre[:p]) {
		hi, lo := words(k[p:])
		return bound{hi: hi, lo: lo, key: k, off: p}, 0
	}
	if bytes.Compare(k, n.pre[:p]) < 0 {
		return bound{}, -1
	}
	return bound{}, 1
}

// compareIn returns bytes.Compare(the key of x, b's key) for an item x of n.
func (b *bound) compareIn(n *node, x item) int {
	r, where := n.relBound(b)
	if where != 0 {
		return -where // x begins with n's prefix, b does not
	}
	return r.compareItem(x)
}

// itemIn returns the item of entry e in a node whose prefix is plen bytes.
func itemIn(e *entry, plen int) item {
	hi, lo := words(e.key()[plen:])
	return item{hi: hi, lo: lo, e: e}
}

// commonLen returns the length of the common prefix of a and b.
func commonLen(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.BigEndian.Uint64(a[i:]) ^ binary.BigEndian.Uint64(b[i:]); x != 0 {
			return i + bits.LeadingZeros64(x)/8
		}
	}
	for ; i < n && a[i] == b[i]; i++ {
	}
	return i
}

// shrink shortens n's prefix to p bytes (p <= n.plen). Each item's new
// words are the prefix bytes it loses followed by its old words: no entry
// is read.
func (n *node) shrink(p int) {
	if p >= int(n.plen) {
		return
	}
	lost := n.pre[p:n.plen]
	for i := range n.items {
		n.items[i] = shifted(n.items[i], lost)
	}
	clear(n.pre[p:n.plen])
	n.plen = uint8(p)
}

// shifted returns x with the words of lost followed by x's key after its
// old offset: x re-based to an offset len(lost) bytes shorter, the key
// being those bytes there.
func shifted(x item, lost []byte) item {
	d := len(lost)
	if d >= inline {
		x.hi, x.lo = words(lost)
		return x
	}
	var buf [2 * inline]byte
	copy(buf[:], lost)
	binary.BigEndian.PutUint64(buf[d:], x.hi)
	binary.BigEndian.PutUint64(buf[d+8:], x.lo)
	x.hi, x.lo = binary.BigEndian.Uint64(buf[:]), binary.BigEndian.Uint64(buf[8:])
	return x
}

// appendFrom appends the items of from, whose keys all sort after n's, to
// n (a merge): n's prefix is first shortened to what it shares with
// from's, then from's items are shifted to it, no entry read.
func (n *node) appendFrom(from *node) {
	n.shrink(commonLen(n.prefix(), from.prefix()))
	lost := from.pre[n.plen:from.plen]
	for _, x := range from.items {
		n.items = append(n.items, shifted(x, lost))
	}
	if !n.leaf() {
		n.children = append(n.children, from.children...)
	}
}

// adopt returns x, an item of another node or a new one, re-based to n's
// prefix, which it first shortens to what n's prefix and x's key share.
func (n *node) adopt(x item) item {
	k := x.e.key()
	if c := commonLen(k, n.prefix()); c < int(n.plen) {
		n.shrink(c)
	}
	return itemIn(x.e, int(n.plen))
}

// lengthen makes n's prefix what its first and last keys share (at most
// maxPrefix bytes; every key between them shares it too), when that is
// longer than it is, and re-bases its items, reading each item's entry. A
// node of one item takes its key's first maxPrefix bytes.
func (n *node) lengthen() {
	if len(n.items) == 0 {
		return
	}
	first, last := n.items[0], n.items[len(n.items)-1]
	p := commonLen(first.e.key(), last.e.key())
	p = min(p, maxPrefix)
	if p <= int(n.plen) {
		return
	}
	copy(n.pre[n.plen:p], first.e.key()[n.plen:p])
	n.plen = uint8(p)
	for i := range n.items {
		n.items[i] = itemIn(n.items[i].e, p)
	}
}

// splitMiddle returns where to split the full node n when the split is not
// at its end (splitAt): of the items in its middle third, the one that
// differs earliest from the item before it (the first of a group of keys
// sharing a longer prefix, such as an index's entries of one workflow),
// the nearest to the middle among equals. Each half then holds fewer
// groups, so that lengthen gives it a longer prefix and its words reach
// further into its keys. The words tell where two neighbours differ (up to
// 16 bytes after the prefix): no entry is read.
func (n *node) splitMiddle() int {
	mid := len(n.items) / 2
	best, bestLen := mid, wordsCommon(n.items[mid-1], n.items[mid])
	for d := 1; d <= len(n.items)/6; d++ {
		for _, i := range [2]int{mid - d, mid + d} {
			if c := wordsCommon(n.items[i-1], n.items[i]); c < bestLen {
				best, bestLen = i, c
			}
		}
	}
	return best
}

// wordsCommon returns how many of the 16 bytes of their words two items of
// one node share.
func wordsCommon(a, b item) int {
	if x := a.hi ^ b.hi; x != 0 {
		return bits.LeadingZeros64(x) / 8
	}
	if x := a.lo ^ b.lo; x != 0 {
		return 8 + bits.LeadingZeros64(x)/8
	}
	return inline
}

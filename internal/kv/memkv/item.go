package memkv

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"sync/atomic"

	"github.com/livedb-go/livedb/internal/kv"
)

// inline is the number of a key's first bytes that its item holds itself.
const inline = 16

// item is one entry of the tree: the first [inline] bytes of its key after
// the common prefix of the node that holds it (prefix.go; the key's first
// bytes when the prefix is empty, as in the examples below), as two
// big-endian words (hi the first eight bytes, lo the next eight; a shorter
// key is padded with zero bytes), and its entry, which holds the whole
// key. The entry is shared by every tree that holds the item, so its memo
// outlives copy-on-write node copies.
//
// The words let a descent compare keys without leaving the node: nodes hold
// their items in one array, while each entry is an allocation of its own,
// a cache miss to reach. Comparing the words as integers orders two keys as
// bytes.Compare does whenever the words differ: at the first byte where the
// padded prefixes differ, either both keys have a byte, which decides, or
// one key has ended (its padding is 0x00) and the other has a byte that is
// not 0x00, after a common prefix, so the shorter key is a prefix of the
// longer and sorts first. When the words are equal (keys equal in their
// first 16 bytes, or a short key and the same key followed by 0x00 bytes)
// the whole keys decide.
//
// Example: "ab" is hi 0x6162000000000000, lo 0; "ab\x00" has the same words
// and sorts after "ab" by the full comparison; "ab\x01" has hi
// 0x6162010000000000 and sorts after both by the words alone.
//
// An item is 24 bytes, against 32 for a key slice and an entry pointer: a
// node copied by a commit (copy-on-write copies every node on the path of
// a key it writes) is a quarter smaller.
type item struct {
	hi, lo uint64
	e      *entry
}

// entry is one committed version of a key's value, with its memo. Key and
// value are one array, kv, never modified after insertion: the key is
// kv[:klen] and the value the rest (klen <= MaxKeySize). looked is set by
// the version's first lookup (snapshot.lookup), so that only its second
// makes a hint; it shares klen's word, and an entry stays 64 bytes.
type entry struct {
	kv     []byte
	klen   uint32
	looked atomic.Bool
	memo   kv.Memo
}

// firstLookup reports whether this is the first lookup that found e, and
// marks e found. Later calls only read the flag, so that the cache line of
// a version read often is not written again.
func (e *entry) firstLookup() bool {
	return !e.looked.Load() && !e.looked.Swap(true)
}

// key returns the entry's key.
func (e *entry) key() []byte { return e.kv[:e.klen:e.klen] }

// value returns the entry's value.
func (e *entry) value() []byte { return e.kv[e.klen:] }

// item returns the item of e in a node whose prefix is empty.
func (e *entry) item() item {
	hi, lo := words(e.key())
	return item{hi: hi, lo: lo, e: e}
}

// words returns the first [inline] bytes of key as two big-endian words,
// padded with zero bytes.
func words(key []byte) (hi, lo uint64) {
	if len(key) >= inline {
		return binary.BigEndian.Uint64(key), binary.BigEndian.Uint64(key[8:])
	}
	var b [inline]byte
	copy(b[:], key)
	return binary.BigEndian.Uint64(b[:]), binary.BigEndian.Uint64(b[8:])
}

// bound is a key sought in the tree (an end of an iterator's interval, a
// key read or written): the key and its words, those of key[off:]. A bound
// made by newBound has off 0; relBound (prefix.go) makes one relative to a
// node's prefix, which its key begins with.
type bound struct {
	hi, lo uint64
	key    []byte
	off    int
}

// newBound returns the bound of key.
func newBound(key []byte) bound {
	hi, lo := words(key)
	return bound{hi: hi, lo: lo, key: key}
}

// compareItem returns bytes.Compare(the key of x, b.key), reading x's entry
// only when their words are equal. x's words must be at b's offset: x is
// an item of a node whose prefix, b.off bytes long, b's key begins with.
func (b *bound) compareItem(x item) int {
	switch {
	case x.hi != b.hi:
		return cmp.Compare(x.hi, b.hi)
	case x.lo != b.lo:
		return cmp.Compare(x.lo, b.lo)
	}
	return bytes.Compare(x.e.key()[b.off:], b.key[b.off:])
}

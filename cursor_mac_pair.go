package livedb

import (
	"crypto/aes"
	"sync"
)

// This file signs a page's two cursors (its ContinueCursor and
// SplitCursor) together. Their bodies begin alike: the version, the kind,
// the query's fingerprint and the index's key prefix fill the first one
// to three AES blocks of both. CBC-MAC's chaining value after a block
// depends only on the blocks up to it, so those blocks are encrypted once,
// and the MACs are exactly those sum gives each body alone: the cursor
// format and what a check accepts do not change.

// cmacPairStates keeps the two chaining values of a pair, for the reason
// cmacStates keeps one: through the cipher.Block interface a stack buffer
// would move to the heap.
var cmacPairStates = sync.Pool{New: func() any { return new([2][aes.BlockSize]byte) }}

// macCursorPair returns a and b, each with its MAC appended, as
// macCursor(a, c, a) and macCursor(b, c, b) do.
func macCursorPair(c *catalog, a, b []byte) ([]byte, []byte) {
	if a[0] != cursorVersionCMAC || b[0] != cursorVersionCMAC {
		return macCursor(a, c, a), macCursor(b, c, b)
	}
	p := cmacPairStates.Get().(*[2][aes.BlockSize]byte)
	c.cursorKey().sumPair(&p[0], &p[1], a, b)
	a = append(a, p[0][:cursorMACLen]...)
	b = append(b, p[1][:cursorMACLen]...)
	cmacPairStates.Put(p)
	return a, b
}

// sumPair sets *x to the AES-CMAC of a and *y to that of b. The whole
// blocks the two begin with in common, but for a message's last block
// (which sum XORs with a subkey), are encrypted once.
func (k *cmacKey) sumPair(x, y *[aes.BlockSize]byte, a, b []byte) {
	*x = [aes.BlockSize]byte{}
	for len(a) > aes.BlockSize && len(b) > aes.BlockSize &&
		string(a[:aes.BlockSize]) == string(b[:aes.BlockSize]) {
		xorBlock(x, a)
		k.block.Encrypt(x[:], x[:])
		a, b = a[aes.BlockSize:], b[aes.BlockSize:]
	}
	*y = *x
	k.sumFrom(x, a)
	k.sumFrom(y, b)
}

package livedb

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"
	"sync/atomic"
)

// A cursor's MAC is the first cursorMACLen bytes of a MAC of its body
// (version, kind, fingerprint, key) keyed by the database's secret
// (catalog.secret). The version byte, the body's first, says which MAC:
//
//   - cursorVersionHMAC (1): HMAC-SHA256 keyed by the secret itself. The
//     cursors livedb handed out before version 2; still accepted.
//   - cursorVersionCMAC (2): AES-CMAC (NIST SP 800-38B, RFC 4493) with
//     AES-128, keyed by the first 16 bytes of SHA-256(cmacKeyLabel ||
//     secret). What encodeCursor writes: on AES-NI, one AES block per 16
//     bytes of body costs about half of HMAC-SHA256's SHA-256 blocks and
//     the hmac package's state copies (BenchmarkCursorMAC: 74 bytes, 5
//     AES blocks, about 115 ns against 230 ns).
//
// Both are truncated to the same 96 bits.
const (
	cursorVersionHMAC = 1
	cursorVersionCMAC = 2
)

// cmacKeyLabel separates the AES key derived from a database's secret
// from any other use of that secret (the version-1 HMAC key is the secret
// itself).
const cmacKeyLabel = "livedb cursor AES-CMAC key v2\x00"

// macCursor returns the first cursorMACLen bytes of the MAC of body made
// with c's secret, appended to dst: the MAC of the version in body[0]
// (cursorVersionHMAC, else cursorVersionCMAC). body must not be empty.
func macCursor(dst []byte, c *catalog, body []byte) []byte {
	if body[0] == cursorVersionHMAC {
		return macCursorHMAC(dst, c.secret, body)
	}
	return c.cursorKey().appendMAC(dst, body)
}

// cursorMACs keeps the HMAC states that sign and check cursors, for reuse
// by later queries: making one (hmac.New, and the first Reset, which
// saves its keyed state) cost about as much as the rest of a page's
// cursor work, and every Paginate is a new Query. A state is keyed by the
// secret it was made with (a database's, see catalog.secret); one taken
// for another secret is dropped and a new one made.
var cursorMACs sync.Pool // of *cursorMAC

// cursorMAC is an HMAC-SHA256 state keyed with secret.
type cursorMAC struct {
	secret []byte
	h      hash.Hash
	// Buffers kept with the state, so that neither the body nor the sum
	// is moved to the heap by going through the hash.Hash interface.
	in  []byte
	sum [sha256.Size]byte
}

// macCursorHMAC returns the first cursorMACLen bytes of the HMAC-SHA256 of
// body made with secret, appended to dst: a version-1 cursor's MAC.
func macCursorHMAC(dst, secret, body []byte) []byte {
	m, _ := cursorMACs.Get().(*cursorMAC)
	if m == nil || !bytes.Equal(m.secret, secret) {
		m = &cursorMAC{secret: secret, h: hmac.New(sha256.New, secret)}
	} else {
		m.h.Reset()
	}
	m.in = append(m.in[:0], body...)
	m.h.Write(m.in)
	dst = append(dst, m.h.Sum(m.sum[:0])[:cursorMACLen]...)
	if cap(m.in) > maxPooledBuf {
		m.in = nil // a long cursor's body is not kept
	}
	cursorMACs.Put(m)
	return dst
}

// cmacKey is an AES-CMAC key: the AES-128 cipher and the two subkeys of
// SP 800-38B section 6.1. It is never changed once made, so one is shared
// by every goroutine.
type cmacKey struct {
	block  cipher.Block
	k1, k2 [aes.BlockSize]byte
}

// cmacCell keeps a catalog's cursor key once made. Every copy of a
// catalog (clone, with) has its secret, and shares its cell.
type cmacCell struct{ atomic.Pointer[cmacKey] }

// cursorKey returns the AES-CMAC key of c's secret, derived on first use
// (a SHA-256, the AES key schedule and the subkeys cost more than a
// cursor's whole MAC) and kept in c's cell. Two goroutines deriving it at
// once make the same key; either is kept. A catalog made without a cell
// derives the key every time.
func (c *catalog) cursorKey() *cmacKey {
	if c.cmac == nil {
		return deriveCMACKey(c.secret)
	}
	if k := c.cmac.Load(); k != nil {
		return k
	}
	k := deriveCMACKey(c.secret)
	c.cmac.Store(k)
	return k
}

// deriveCMACKey returns the AES-CMAC key derived from a database's
// secret: AES-128 keyed by the first 16 bytes of SHA-256(cmacKeyLabel ||
// secret).
func deriveCMACKey(secret []byte) *cmacKey {
	h := sha256.New()
	h.Write([]byte(cmacKeyLabel))
	h.Write(secret)
	return newCMACKey(h.Sum(nil)[:16])
}

// newCMACKey returns the AES-CMAC key for the AES key aesKey (16, 24 or 32
// bytes), with its subkeys (SP 800-38B section 6.1; RFC 4493 section 2.3).
func newCMACKey(aesKey []byte) *cmacKey {
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		panic("livedb: " + err.Error()) // a broken invariant: the caller passes 16 bytes
	}
	k := &cmacKey{block: block}
	block.Encrypt(k.k1[:], k.k1[:]) // L = AES(K, 0^128)
	k.k1 = cmacDouble(k.k1)
	k.k2 = cmacDouble(k.k1)
	return k
}

// cmacDouble returns x·2 in GF(2^128): x shifted left by one bit, with
// R_128 (0x87) added into the last byte when the bit shifted out is set.
func cmacDouble(x [aes.BlockSize]byte) [aes.BlockSize]byte {
	hi, lo := binary.BigEndian.Uint64(x[:8]), binary.BigEndian.Uint64(x[8:])
	carry := hi >> 63
	hi, lo = hi<<1|lo>>63, lo<<1^carry*0x87
	var out [aes.BlockSize]byte
	binary.BigEndian.PutUint64(out[:8], hi)
	binary.BigEndian.PutUint64(out[8:], lo)
	return out
}

// cmacStates keeps the 16-byte chaining values of AES-CMAC computations:
// the one buffer that goes through the cipher.Block interface, which
// would move a stack buffer to the heap on every cursor.
var cmacStates = sync.Pool{New: func() any { return new([aes.BlockSize]byte) }}

// appendMAC appends the first cursorMACLen bytes of msg's AES-CMAC to dst.
func (k *cmacKey) appendMAC(dst, msg []byte) []byte {
	x := cmacStates.Get().(*[aes.BlockSize]byte)
	k.sum(x, msg)
	dst = append(dst, x[:cursorMACLen]...)
	cmacStates.Put(x)
	return dst
}

// sum sets *x to the AES-CMAC of msg (SP 800-38B section 6.2; RFC 4493
// section 2.4): CBC-MAC over msg's blocks, the last one XORed with K1 when
// it is whole, else padded with 10* and XORed with K2. An empty message is
// one padded block.
func (k *cmacKey) sum(x *[aes.BlockSize]byte, msg []byte) {
	*x = [aes.BlockSize]byte{}
	k.sumFrom(x, msg)
}

// sumFrom is sum from the chaining value *x, which holds the state after
// the blocks before msg (zero before the first): sumPair shares blocks.
func (k *cmacKey) sumFrom(x *[aes.BlockSize]byte, msg []byte) {
	for len(msg) > aes.BlockSize {
		xorBlock(x, msg)
		k.block.Encrypt(x[:], x[:])
		msg = msg[aes.BlockSize:]
	}
	if len(msg) == aes.BlockSize {
		xorBlock(x, msg)
		xorBlock(x, k.k1[:])
	} else {
		var last [aes.BlockSize]byte
		copy(last[:], msg)
		last[len(msg)] = 0x80
		xorBlock(x, last[:])
		xorBlock(x, k.k2[:])
	}
	k.block.Encrypt(x[:], x[:])
}

// xorBlock XORs the first 16 bytes of b into x.
func xorBlock(x *[aes.BlockSize]byte, b []byte) {
	_ = b[aes.BlockSize-1]
	binary.NativeEndian.PutUint64(x[:8], binary.NativeEndian.Uint64(x[:8])^binary.NativeEndian.Uint64(b[:8]))
	binary.NativeEndian.PutUint64(x[8:], binary.NativeEndian.Uint64(x[8:])^binary.NativeEndian.Uint64(b[8:16]))
}

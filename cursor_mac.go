package livedb

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

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

// macCursor returns the first cursorMACLen bytes of the HMAC of body made
// with secret, appended to dst.
func macCursor(dst, secret, body []byte) []byte {
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

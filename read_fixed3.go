package livedb

import (
	"encoding/base64"
	"unsafe"

	"github.com/livedb-go/livedb/internal/kv"
)

// This file holds more of what keeps the fixed cost of a read low (after
// read_fixed.go and read_fixed2.go): the successor key a read set records
// for a scan that stopped early goes in the room left in the Query's key
// buffer, a whole index's key interval is compiled into that buffer, a
// page's two cursors share one string allocation, DB.Query does not
// journal its page ends, and a snapshot's timestamp is read from the last
// commit's record only when the record changed. Each but the last was an
// allocation of a Paginate (the first page of a whole index allocated 9
// times); every byte a read allocates brings the collector's next cycle,
// which marks every document of the memory backend, closer.

// successor returns keySuccessor(k), in the room the scanner was given
// when it fits (Query.scan): the read set keeps pointing into it, and
// nothing else writes there.
func (s *scanner) successor(k []byte) []byte {
	if len(k) >= len(s.room) {
		return keySuccessor(k)
	}
	out := append(s.room[:0:len(k)+1], k...)
	s.room = nil
	return append(out, 0)
}

// scan returns a scanner of cr for q, with the room left in q's key
// buffer after cr's keys for the successor its read set may need.
func (q *Query) scan(cr compiledRange) *scanner {
	s := q.tx.newScanner(q.ix, cr.start, cr.end, q.order == Desc)
	s.room = q.keyBuf[keysEnd(q.keyBuf[:], cr):]
	if len(cr.room) > len(s.room) {
		s.room = cr.room
	}
	return s
}

// keysEnd returns where the keys of cr end in buf: 0 when neither is in
// buf's array (a key too long for it, or a bound's key, which compile
// allocates), else the end of the one that ends last.
func keysEnd(buf []byte, cr compiledRange) int {
	base := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	end := 0
	for _, k := range [2][]byte{cr.start, cr.end} {
		if len(k) == 0 {
			continue
		}
		p := uintptr(unsafe.Pointer(unsafe.SliceData(k)))
		if p >= base && p < base+uintptr(len(buf)) {
			end = max(end, int(p-base)+len(k))
		}
	}
	return end
}

// addPageEnd appends a Paginate's ContinueCursor to tx's journal, which a
// subscription keeps (and Registry.SubscribePublic hands out): not for
// DB.Query's transactions, whose journal no one reads.
func (tx *txn) addPageEnd(c string) {
	if !tx.plain {
		tx.journalOut = append(tx.journalOut, c)
	}
}

// prefixEndAfter returns prefixEnd(p), written into p's array after p when
// it has room: p is a range's start, the end follows it in the Query's key
// buffer. The result's capacity is its length, so that appending to it
// copies.
func prefixEndAfter(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xFF {
			end := append(p[len(p):len(p)], p[:i+1]...)
			end[i]++
			return end[: i+1 : i+1]
		}
	}
	return nil
}

// encodeCursors returns encodeCursor(a) and encodeCursor(b), the two in
// one string's bytes: strings are immutable, so sharing the array is
// invisible, and the page that hands both out allocates once.
func (q *Query) encodeCursors(a, b cursor) (string, string) {
	var bodyA, bodyB [128]byte
	ba, bb := q.appendCursorBody(bodyA[:0], a), q.appendCursorBody(bodyB[:0], b)
	ba, bb = macCursorPair(q.tx.cat, ba, bb) // cursor_mac_pair.go
	var buf [384]byte
	na, nb := base64.RawURLEncoding.EncodedLen(len(ba)), base64.RawURLEncoding.EncodedLen(len(bb))
	out := buf[:0]
	if na+nb > len(buf) {
		out = make([]byte, 0, na+nb)
	}
	out = base64.RawURLEncoding.AppendEncode(out, ba)
	out = base64.RawURLEncoding.AppendEncode(out, bb)
	s := string(out)
	return s[:na], s[na:]
}

// cursorBody appends c's body and MAC to dst, as encodeCursor encodes
// them.
func (q *Query) cursorBody(dst []byte, c cursor) []byte {
	body := q.appendCursorBody(dst, c)
	return macCursor(body, q.tx.cat, body)
}

// appendCursorBody appends c's body, without its MAC, to dst.
func (q *Query) appendCursorBody(dst []byte, c cursor) []byte {
	kind := byte(cursorKindAfter)
	if c.end {
		kind = cursorKindEnd
	}
	dst = append(dst, cursorVersion, kind)
	dst = append(dst, q.fingerprint()...)
	return append(dst, c.key...)
}

// lastTSRead is the last commit's record (keyLastTS) as a snapshot of
// the memory backend read it: the memo of the version read, and what it
// says.
type lastTSRead struct {
	m       *kv.Memo
	ts, gen uint64
}

// snapshotTS is snapshotTS(snap), without reading the record again while
// it is the version db.lastTSRead holds: on the memory backend a version's
// memo tells whether a snapshot sees it (kv.MemoSnapshot.Current), and the
// bytes of a version never change, so neither does what they say. Every
// query's snapshot read the record, a descent of the tree, though it
// changes only with a commit.
func (db *DB) snapshotTS(snap kv.Snapshot) (ts, catalogGen uint64, err error) {
	ms, ok := snap.(kv.MemoSnapshot)
	if !ok {
		return snapshotTS(snap)
	}
	if r := db.lastTSRead.Load(); r != nil && ms.Current(r.m) {
		return r.ts, r.gen, nil
	}
	b, m, ok, err := ms.GetMemo(keyLastTS)
	if err != nil || !ok {
		return 0, 0, storeErr(err) // a new store: no commit yet
	}
	if ts, catalogGen, err = decodeLastTS(b); err == nil {
		db.lastTSRead.Store(&lastTSRead{m: m, ts: ts, gen: catalogGen})
	}
	return ts, catalogGen, err
}

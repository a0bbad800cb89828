package livedb

import "sync"

// This file holds more of what keeps the fixed cost of a read low (after
// read_fixed.go): scanners, which never reach a user, are pooled with
// their buffers.

// scannerPool holds released scanners, with the buffers they grew.
var scannerPool = sync.Pool{New: func() any { return new(scanner) }}

// maxPooledBuf is the largest buffer capacity a pooled scanner keeps: a
// scan that grew one beyond (a mutation's long overlay) gives it back to
// the collector.
const maxPooledBuf = 256

// pooledScanner returns a zero scanner from the pool, keeping the buffers
// of its last use.
func pooledScanner() *scanner {
	return scannerPool.Get().(*scanner)
}

// release returns s to the pool. It is called once, after close, by the
// one who made s, once nothing reads s or a row it returned any more.
// A scanner that is not released is left to the collector.
func (s *scanner) release() {
	s.closeIter()
	idBuf, docKeyBuf, ov, keys := s.idBuf[:0], s.docKeyBuf[:0], s.ov, s.pageKeys
	clear(ov)               // drop the overlay's keys and documents
	clear(keys[:cap(keys)]) // and a page's keys (page sets s.pageKeys only when it succeeds)
	*s = scanner{}
	if cap(idBuf) <= maxPooledBuf {
		s.idBuf = idBuf
	}
	if cap(docKeyBuf) <= maxPooledBuf {
		s.docKeyBuf = docKeyBuf
	}
	if cap(ov) <= maxPooledBuf {
		s.ov = ov[:0]
	}
	if cap(keys) <= maxPooledBuf {
		s.pageKeys = keys[:0]
	}
	scannerPool.Put(s)
}

// pointKeys is pointKeys for a read of tx: the keys of its first point
// read go in tx's own room when they fit, sparing a query that only Gets
// one document an allocation. The read set keeps pointing into the room,
// which no other read overwrites.
func (tx *txn) pointKeys(t *tableInfo, docID string) (k, succ []byte) {
	if tx.pointRoomUsed || len(t.byID.prefix)+idTailLen+1 > len(tx.pointRoom) {
		return pointKeys(t, docID)
	}
	tx.pointRoomUsed = true
	buf := appendDocKey(tx.pointRoom[:0], t, docID)
	n := len(buf)
	buf = append(buf, 0)
	return buf[:n:n], buf
}

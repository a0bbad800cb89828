package livedb

import "sync"

// This file holds more of what keeps the fixed cost of a read low (after
// read_fixed.go): a query transaction's first Query is allocated with the
// transaction, and scanners, which never reach a user, are pooled with
// their buffers.

// spareQuery returns a zero Query for tx: the one allocated with a query
// transaction (queryTx.q) the first time, then a new one. A Query is
// never reused: a user holding one past its transaction keeps it, and it
// fails there (ErrTxDone) as any other.
func (tx *txn) spareQuery() *Query {
	if q := tx.spare; q != nil {
		tx.spare = nil
		return q
	}
	return new(Query)
}

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
	idBuf, docKeyBuf, ov := s.idBuf[:0], s.docKeyBuf[:0], s.ov
	clear(ov) // drop the overlay's keys and documents
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
	scannerPool.Put(s)
}

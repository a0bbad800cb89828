package livedb

// The T of a typed write, kept with the version it wrote.
//
// On the memory backend a mutation keeps the decoded map of every version
// it writes (read_precache.go), and the first typed read of a version
// decodes its T from that map and keeps it (read_typed_cache.go). That
// first decoding touches the map's slots and values where a later read
// touches only the kept T: long after the write, they are out of the
// cache, and a typed read of a version nobody has read yet cost about
// twice a later one. A write through a Table (Insert, Replace, Patch) has
// the map in hand, just made: it decodes its T there, as the first read
// would, and keeps it, so that the readers of a version written through a
// Table[T] find it kept. The T is what the first read would have kept: the
// same decoding of the same map, by the same code (keptIn). A decoding that
// fails keeps nothing, and the write is not refused for it: the reads of
// the version report the error, as before.

// keepWritten keeps, with the version of document id that the mutation of
// w has just written, the T that its first typed read through t would keep:
// on the memory backend, for a flat T, once the write is staged with its
// decoded map. It does nothing elsewhere.
func (t *Table[T]) keepWritten(w *Writer, id string) {
	if !t.flat || w.tx.writes == nil {
		return
	}
	pd := w.tx.writes.docs[id]
	if pd == nil || pd.newCached == nil {
		return // deleted, or the store keeps no decoded documents
	}
	_, _ = t.keptIn(pd.newCached) // an error is left to the reads, which make it again
}

package kv

// ReuseSnapshot is implemented by a [Snapshot] that can reuse its
// iterators: an in-memory store's iterator costs more to allocate than a
// short scan costs to run. Callers find it with a type assertion and fall
// back to Iter without it.
type ReuseSnapshot interface {
	Snapshot
	// IterOnce is Iter for a caller that calls Close exactly once and
	// does not touch the iterator after it: Close hands the iterator back
	// to the store, which may give it to a later IterOnce. What the
	// iterator returned (keys, values, memos) stays as valid as Iter's
	// guarantees say; only the iterator itself is reused.
	IterOnce(start, end []byte, reverse bool) Iterator
}

package livedb

// Typed reads without copies.
//
// An untyped read hands the caller a Doc of its own: on the memory backend
// a read finds the decoded form of the stored version that every reader of
// that version shares (cachedDoc), and copies it (docRow.own) so that a
// caller who changes the Doc, or a value nested in it, changes nothing
// another reader sees.
//
// A typed read (Table.Get, the terminal methods of TypedQuery) only
// decodes the document into a T (Get, Collect, Take and Paginate straight
// from the stored bytes when they can: read_direct.go): the struct
// mapping reads the fields and stores copies of every array, object and
// []byte it puts into T (see FromDoc). It therefore takes the row as the scan found it, shared or
// not, and the copy of the whole map is spared: T is the caller's own, and
// shares nothing mutable with the store's decoded document. The shared
// documents never leave the package: a TypedQuery's Query is its own, and
// its FilterFunc predicates still get copies (Query.keep).

// emit returns the document of a row as a terminal method of q hands it
// out: a copy the caller owns, or, for the Query of a TypedQuery
// (q.borrow), the row's document itself, possibly shared, which the
// TypedQuery only decodes.
func (q *Query) emit(r docRow) Doc {
	if q.borrow {
		return Doc(r.doc)
	}
	return r.own()
}

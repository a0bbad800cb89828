package livedb

// DBReader is the read access of a transaction, whether it is a query's or
// a mutation's: the *[Reader] of [QueryCtx].DB and the *[Writer] of
// [MutationCtx].DB both implement it. It is Convex's GenericDatabaseReader:
// code that only reads takes a DBReader, and a query and a mutation call
// it alike, passing their ctx's DB. Inside a mutation the reads see the
// mutation's own writes, and they count in its read set as any read does.
//
// [Table.Get] and [Table.Query] take a DBReader, and so can helpers of
// your own:
//
//	func pendingTasks(db livedb.DBReader) ([]livedb.Doc, error) {
//		return db.Query("tasks").
//			WithIndex("by_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("status", "pending") }).
//			Collect()
//	}
//
// Only *Reader and *Writer implement DBReader (an unexported method seals
// it), so that methods can be added to it without breaking programs. To
// test code that takes a DBReader, run it on a database in memory
// ([OpenMemory], or the livedbtest package). Like the Reader it wraps, a
// DBReader is only valid inside the function it was given to.
type DBReader interface {
	// Get returns the document with the given ID; see [Reader.Get].
	Get(id ID) (Doc, bool, error)
	// Query starts a query on a table; see [Reader.Query].
	Query(table string) *Query
	// NormalizeID checks that a string is an ID of a table; see
	// [Reader.NormalizeID].
	NormalizeID(table string, s string) (ID, bool)
	// Timestamp returns the commit timestamp of the snapshot read; see
	// [Reader.Timestamp].
	Timestamp() uint64

	// reader returns the underlying Reader, or nil for a nil *Reader or
	// *Writer.
	reader() *Reader
}

func (r *Reader) reader() *Reader { return r }

// reader is defined on *Writer too, rather than promoted from its embedded
// Reader, so that a nil *Writer in a DBReader gives nil instead of a nil
// dereference.
func (w *Writer) reader() *Reader {
	if w == nil {
		return nil
	}
	return &w.Reader
}

// readerOf returns the Reader of r, or nil when r is nil or holds a nil
// *Reader or *Writer, or a Reader not given by a transaction.
func readerOf(r DBReader) *Reader {
	if r == nil {
		return nil
	}
	rd := r.reader()
	if rd == nil || rd.tx == nil {
		return nil
	}
	return rd
}

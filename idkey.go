package livedb

import (
	"bytes"

	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/value"
)

// The _id column of an index key (by_id, by_creation_time and the
// user's indexes alike) is the document's 16-byte internal id, not the
// sort key of its text _id (34 bytes for most tables): the text is the
// base32 of the table number, the internal id and a checksum, so within
// one table the internal ids sort as the texts do, and the table number
// (the index's table) and the checksum give the text back. This saves 18
// bytes a key.
//
// A range bound on _id (an Eq, Gt, Gte, Lt or Lte on the _id column) is
// a string, maybe no ID at all: idBound maps it to the internal-id space
// so that the entries the bound keeps are exactly those whose text _id it
// keeps. A point read of a string that is no ID of the table reads the
// key of the string's sort key, longer than any stored by_id key, which
// matches none.

// idTailLen is the length of the _id column of a secondary index key.
const idTailLen = 16

// appendIDTail appends the _id column of an index entry of the document
// whose _id is docID. Stored documents always hold an ID of
// their table; anything else (which the engine never stores) is appended
// as its text's sort key, which indexEntryID then refuses as corrupt.
func appendIDTail(k []byte, docID any) []byte {
	if internal, ok := internalID(0, idText(docID)); ok {
		return append(k, internal[:]...)
	}
	return value.AppendKey(k, docID)
}

// idColumn returns appendIDTail(nil, docID), in *buf when docID is an ID
// (a writer's keys of every index share it, decoded once).
func idColumn(buf *[idTailLen]byte, docID any) []byte {
	if internal, ok := internalID(0, idText(docID)); ok {
		*buf = internal
		return buf[:]
	}
	return appendIDTail(nil, docID)
}

// idText returns the text of an _id value: a string or an ID; "" for any
// other value.
func idText(docID any) string {
	switch x := docID.(type) {
	case string:
		return x
	case ID:
		return string(x)
	}
	return ""
}

// internalID returns the internal id of docID when it is an ID of the
// table numbered table (0: of any table): the _id column of its keys.
func internalID(table uint32, docID string) ([16]byte, bool) {
	n, internal, err := id.Decode(docID)
	return internal, err == nil && (table == 0 || n == table)
}

// floatKeyTag is the first byte of a Float64's sort key: the column
// before the _id of an index other than by_id and the vector indexes is
// the _creationTime, always 9 bytes.
var floatKeyTag = value.AppendKey(nil, 0.0)[0]

// entryID reads the _id at the end of an index key of table t: the text
// of the ID (a new allocation) and the internal id (aliasing key). Any 16
// bytes are an internal id, so it checks the key's shape around them: an
// index of the table; for by_id, nothing else; for the others but vector
// indexes, the _creationTime's sort key before them.
func entryID(t *tableInfo, key []byte) (docID, idKey []byte, ok bool) {
	return appendEntryID(nil, t, key)
}

// appendEntryID is entryID writing the text of the ID into dst[len(dst):]
// (a scanner reuses one buffer for every row it reads).
func appendEntryID(dst []byte, t *tableInfo, key []byte) (docID, idKey []byte, ok bool) {
	p := len(t.byID.prefix)
	if len(key) < p {
		return nil, nil, false
	}
	for _, ix := range t.indexes {
		if bytes.Equal(ix.prefix, key[:p]) {
			return appendIndexEntryID(dst, ix, key)
		}
	}
	return nil, nil, false
}

// appendIndexEntryID is appendEntryID for a key of index ix, which a
// reader that walks one index knows: no search of the table's indexes, and
// a key of another index is refused.
func appendIndexEntryID(dst []byte, ix *indexInfo, key []byte) (docID, idKey []byte, ok bool) {
	t := ix.table
	p := len(ix.prefix)
	if len(key) < p+idTailLen || !bytes.Equal(ix.prefix, key[:p]) {
		return nil, nil, false
	}
	switch {
	case ix == t.byID:
		if len(key) != p+idTailLen {
			return nil, nil, false
		}
	case ix.vec == nil:
		ct := len(key) - idTailLen - 9
		if ct < p || key[ct] != floatKeyTag {
			return nil, nil, false
		}
	}
	idKey = key[len(key)-idTailLen:]
	n := id.TextLen(t.number)
	if dst == nil {
		dst = make([]byte, 0, n)
	}
	docID = id.AppendText(dst, t.number, [16]byte(idKey))[len(dst):]
	return docID, idKey, len(docID) == n
}

// appendIDKey appends the _id column of the key of the document whose ID
// is docID in the table numbered table (0: any table) to k: its internal
// id, or, for a string that is no ID of the table, noIDTail, which no
// stored key holds.
func appendIDKey(k []byte, table uint32, docID string) []byte {
	if internal, ok := internalID(table, docID); ok {
		return append(k, internal[:]...)
	}
	return append(k, noIDTail...)
}

// noIDTail is an _id column no stored key has, after every internal id:
// one byte longer than any (a text's sort key could be 16 bytes long and
// equal one).
var noIDTail = bytes.Repeat([]byte{0xFF}, idTailLen+1)

// appendColumnKey appends the sort key of x as the value of column field
// of index ix, for an equality. On the _id column of a secondary index, a
// string that is an ID of the table becomes its internal id; any other
// value can equal no entry's _id, and its text's sort key (longer than an
// internal id) matches none.
func appendColumnKey(k []byte, ix *indexInfo, field string, x any) []byte {
	if field != fieldID {
		return value.AppendKey(k, x)
	}
	s, _ := x.(string)
	return appendIDKey(k, ix.table.number, s)
}

// appendBoundKey appends the sort key of x as a range bound on column
// field of index ix. exact is false when the bound falls between two keys:
// then a Gt starts and an Lte ends where a Gte or Lt on the same value
// would, at the first key after x. On the _id column of a secondary index
// the bound is idBound's.
func appendBoundKey(k []byte, ix *indexInfo, field string, x any) (_ []byte, exact bool) {
	if field != fieldID {
		return value.AppendKey(k, x), true
	}
	s, ok := x.(string)
	if !ok {
		// Every _id is a string: a value of a type that sorts before
		// strings (undefined, null, numbers, booleans) is a bound before
		// every internal id, one of a type after them a bound after all.
		if value.Compare(x, "") < 0 {
			return append(k, make([]byte, idTailLen)...), false
		}
		return append(k, noIDTail...), false
	}
	tail, exact := idBound(ix.table.number, s)
	return append(k, tail...), exact
}

// idBound returns the smallest internal id whose ID in the table numbered
// table is at or after s in string order, and whether that ID is s. When
// every ID of the table sorts before s, it returns 17 bytes 0xFF, after
// every internal id.
//
// An ID of the table is its own internal id, read by decoding it; other
// strings take idBoundSearch's search.
func idBound(table uint32, s string) (tail []byte, exact bool) {
	if internal, ok := internalID(table, s); ok {
		return internal[:], true
	}
	return idBoundSearch(table, s)
}

// idBoundSearch is idBound for any string. An ID's text grows with its
// internal id (same length, the bits packed big-endian, the checksum after
// them), so the search sets the bits of the largest internal id whose ID
// sorts before s, most significant first: about 130 encodings.
func idBoundSearch(table uint32, s string) (tail []byte, exact bool) {
	var buf []byte
	before := func(x [16]byte) bool {
		buf = id.AppendText(buf[:0], table, x)
		return string(buf) < s
	}
	var x [16]byte
	if !before(x) {
		buf = id.AppendText(buf[:0], table, x)
		return x[:], string(buf) == s
	}
	for bit := range 128 {
		c := x
		c[bit/8] |= 0x80 >> (bit % 8)
		if before(c) {
			x = c
		}
	}
	// x is the largest internal id before s; the bound is the next one.
	for i := 15; i >= 0; i-- {
		x[i]++
		if x[i] != 0 {
			buf = id.AppendText(buf[:0], table, x)
			return x[:], string(buf) == s
		}
	}
	return noIDTail, false
}

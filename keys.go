package livedb

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/livedb-go/livedb/internal/value"
)

// Key layout of the one ordered keyspace (every key starts with a tag byte).
// This file holds the encoders and decoders of these keys and of the
// engine's own records (the change record, the last timestamp, the pruning
// mark); documents are encoded by internal/value, the catalog as JSON
// (catalog.go).
//
//	0x00 "catalog"                          JSON catalog: schema, table numbers, index ids
//	0x00 "pruned"                           8-byte timestamp of the newest pruned change
//	0x01 indexID(4) sortkey(fields…, _creationTime) internal-id(16)   index entry; value empty (idkey.go)
//	0x01 indexID(4) internal-id(16)         by_id entry; value = the stored document
//	                                        (value.EncodeStoredDocument: no _id, the key gives it)
//	0x01 aggID(4) sel depth sortkey(v…)     aggregate row (aggregate.go); value n(8) sum(8)
//	0x02 ts(8) seq(4)                       change-feed records seq, seq+1, … of a commit (changerec.go)
//	0x03                                    big-endian timestamp of the last commit (8
//	                                        bytes), then the catalog's generation (8)
//	0x04 'n' name                           a table's existence, by name   } read-set keys:
//	0x04 '#' number(4)                      a table's existence, by number } never stored
//	0x05 byID(4) internal-id(16) ts(8) seq(4)  a document's later change (changerec.go)
//
// A table exists when the catalog lists it. The catalog is written by the
// committer only, in the same storage commit as the mutations whose
// writes change it (a table created by an insert, tables an import adds or
// renumbers). The 0x04 keys stand for a table's entry in the catalog: a
// read that finds a table missing records its key, and a commit that
// creates or renumbers a table writes them, so that OCC and subscriptions
// treat the catalog like any other data. The generation, stored with the
// last timestamp, tells a snapshot which catalog it holds.
//
// Every index entry is its own key, so an index on a low-cardinality field
// costs one small key per document, never a read-modify-write of a list.
// Index ids are allocated once and never reused, so a dropped index's keys
// can be deleted lazily without ever being misread.
var (
	keyCatalog = []byte("\x00catalog")
	// keyLastTS sorts right after the change feed, whose newest records
	// every commit writes: the two share the feed's last page, which saves
	// a commit two of its ~20 page writes (a leaf and its branch).
	keyLastTS = []byte{tagLastTS}
	// keyPrunedThrough holds the timestamp of the newest change the
	// retention has deleted: the feed is complete only after it.
	keyPrunedThrough = []byte("\x00pruned")
)

const (
	tagIndex  = 0x01
	tagChange = 0x02
	tagLastTS = 0x03
	tagTable  = 0x04
)

// tableNameKey returns the read-set key of the existence of the table
// named name.
func tableNameKey(name string) []byte {
	return append([]byte{tagTable, 'n'}, name...)
}

// tableNumberKey returns the read-set key of the existence of the table
// numbered n.
func tableNumberKey(n uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{tagTable, '#'}, n)
}

// tableKeys returns the read-set keys a commit writes when it gives table
// t its entry: its name and number, and the number it had before (prev,
// nil for a new table).
func tableKeys(t, prev *tableInfo) [][]byte {
	keys := [][]byte{tableNameKey(t.name), tableNumberKey(t.number)}
	if prev != nil && prev.number != t.number {
		keys = append(keys, tableNumberKey(prev.number))
	}
	return keys
}

// encodeLastTS returns the value of keyLastTS.
func encodeLastTS(ts, catalogGen uint64) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 16), ts)
	return binary.BigEndian.AppendUint64(b, catalogGen)
}

// decodeLastTS reads the value of keyLastTS.
func decodeLastTS(b []byte) (ts, catalogGen uint64, err error) {
	if len(b) != 16 {
		return 0, 0, fmt.Errorf("%w: bad timestamp record", ErrNotLivedb)
	}
	return binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:]), nil
}

// encodePrunedThrough returns the value of keyPrunedThrough.
func encodePrunedThrough(ts uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), ts)
}

// decodePrunedThrough reads the value of keyPrunedThrough.
func decodePrunedThrough(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: bad pruned-changes record", ErrNotLivedb)
	}
	return binary.BigEndian.Uint64(b), nil
}

// indexPrefix returns the prefix of every entry of an index.
func indexPrefix(indexID uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{tagIndex}, indexID)
}

// prefixEnd returns the first key after every key with prefix p.
func prefixEnd(p []byte) []byte {
	return value.PrefixSuccessor(p)
}

// keySuccessor returns the smallest key greater than k.
func keySuccessor(k []byte) []byte {
	out := make([]byte, len(k)+1)
	copy(out, k)
	return out
}

// changeKey returns the key of the piece of change records of the commit
// at ts whose first record is the seq-th record of the commit.
func changeKey(ts uint64, seq uint32) []byte {
	b := make([]byte, 0, 13)
	b = append(b, tagChange)
	b = binary.BigEndian.AppendUint64(b, ts)
	return binary.BigEndian.AppendUint32(b, seq)
}

// changeKeyTS reads a change record's key: the commit's timestamp and the
// write's position in it. ok is false for a key of another form.
func changeKeyTS(k []byte) (ts uint64, seq uint32, ok bool) {
	if len(k) != 13 || k[0] != tagChange {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(k[1:9]), binary.BigEndian.Uint32(k[9:13]), true
}

// docKey returns the by_id key of a document.
func docKey(t *tableInfo, docID string) []byte {
	return appendDocKey(make([]byte, 0, len(t.byID.prefix)+idTailLen), t, docID)
}

// appendDocKey appends the by_id key of a document to dst: the by_id
// prefix and the ID's internal id (idkey.go).
func appendDocKey(dst []byte, t *tableInfo, docID string) []byte {
	return appendIDKey(append(dst, t.byID.prefix...), t.number, docID)
}

// pointKeys returns the by_id key of a document and its successor, the
// read interval of a point read, in one allocation.
func pointKeys(t *tableInfo, docID string) (k, succ []byte) {
	buf := make([]byte, 0, len(t.byID.prefix)+idTailLen+1)
	buf = appendDocKey(buf, t, docID)
	n := len(buf)
	buf = append(buf, 0)
	return buf[:n:n], buf
}

// indexKey returns the full key of doc in index ix.
func indexKey(ix *indexInfo, doc map[string]any) []byte {
	return appendIndexKey(make([]byte, 0, 64), ix, doc)
}

// appendIndexKey appends the full key of doc in index ix to k.
func appendIndexKey(k []byte, ix *indexInfo, doc map[string]any) []byte {
	var buf [idTailLen]byte
	return appendIndexKeyTail(k, ix, doc, idColumn(&buf, doc[fieldID]))
}

// appendIndexKeyTail is appendIndexKey given the _id column of doc's keys,
// tail (appendIDTail's), which a writer of every index of a document
// decodes from its _id once.
func appendIndexKeyTail(k []byte, ix *indexInfo, doc map[string]any, tail []byte) []byte {
	k = append(k, ix.prefix...)
	if ix == ix.table.byID {
		return append(k, tail...)
	}
	if ix.vec != nil {
		return appendVectorKey(k, ix, doc)
	}
	for _, p := range ix.paths {
		k = value.AppendKey(k, fieldValue(doc, p))
	}
	k = value.AppendKey(k, doc[fieldCreationTime])
	return append(k, tail...)
}

// indexKeys returns doc's key in every index of t, in t.indexes order. The
// keys share one allocation; each is capped at its length, so appending to
// one never writes into the next.
func indexKeys(t *tableInfo, doc map[string]any) [][]byte {
	keys := make([][]byte, len(t.indexes))
	ends := make([]int, len(t.indexes))
	buf := make([]byte, 0, 96*len(t.indexes))
	var tailBuf [idTailLen]byte
	tail := idColumn(&tailBuf, doc[fieldID])
	for i, ix := range t.indexes {
		buf = appendIndexKeyTail(buf, ix, doc, tail)
		ends[i] = len(buf)
	}
	start := 0
	for i, end := range ends {
		keys[i] = buf[start:end:end]
		start = end
	}
	return keys
}

// indexEntryID returns the _id at the end of an index key of table t. Every
// index key ends with its document's _id as its 16-byte internal id
// (idkey.go), so an entry needs no value: this saves 32 bytes an entry, a
// quarter of a secondary index's pages. docID is the ID's text, a new
// allocation; idKey is the internal id, the end of the document's by_id
// key, aliasing key.
func indexEntryID(t *tableInfo, key []byte) (docID, idKey []byte, ok bool) {
	return entryID(t, key)
}

// tableKeyName returns the table a tableNameKey or tableNumberKey names,
// for messages.
func tableKeyName(k []byte) string {
	if len(k) >= 2 && k[1] == '#' && len(k) == 6 {
		return fmt.Sprintf("#%d", binary.BigEndian.Uint32(k[2:]))
	}
	return string(k[min(len(k), 2):])
}

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendOptBytes(b, p []byte) []byte {
	if p == nil {
		return append(b, 0)
	}
	return appendBytes(append(b, 1), p)
}

var errBadChange = errors.New("corrupt change record")

func readBytes(b []byte) ([]byte, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, errBadChange
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

func readOptBytes(b []byte) ([]byte, []byte, error) {
	if len(b) == 0 {
		return nil, nil, errBadChange
	}
	if b[0] == 0 {
		return nil, b[1:], nil
	}
	return readBytes(b[1:])
}

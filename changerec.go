package livedb

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/kv"
)

// Change records: how the change feed stores a committed write. This file
// holds their whole encoding (keys.go lists the key layout);
// changerec_read.go reads them back.
//
// A record keeps what the document store cannot give back later, and no
// more, so that a document is stored once, not once in the store and again
// in the feed. The records of one commit are packed into pieces, one key
// each, of consecutive writes (seq counts the commit's records from 0):
//
//	0x02 ts(8) seq(4)        a piece: the records seq, seq+1, … of the commit
//	0x05 byID(4) idkey ts(8) seq(4)   empty: a later change of the document
//	                         (written for updates and deletes only)
//
// A piece is its records one after the other, each:
//
//	flags(1)
//	[uvarint byID, uvarint-len table]        (flag changeTable)
//	[uvarint table number]                   (flag changeNumber)
//	shared(1) internal id[shared:16]         (an ID), or
//	uvarint-len text                         (flag changeTextID)
//	[uvarint-len old version]                (flag changeOld)
//
// byID is the id of the by_id index of the table the document was in; a
// record without changeTable is of the previous record's table (the first
// record of a piece always has it). The document's _id is kept as its
// table number and its 16-byte internal id, which give the text back
// (idkey.go): the number only when it differs from the previous ID's of
// the piece (the first ID of a piece always has it), the internal id as
// the count of its first bytes it shares with the previous ID's (0 for
// the first) and the rest. Internal ids start with the time in
// milliseconds, so the ids a commit makes share about 6 of their 16 bytes:
// an insert's record is about 12 bytes. An _id that is not an ID (which
// the engine never stores) is kept as its text, flag changeTextID. idkey,
// in the later-change keys, is the internal id (or that text).
//
// The old version (updates and deletes) is in the record: the store no
// longer holds it. The new version (inserts and updates, flag changeNew)
// is not: it is the document's version in the store, unless the document
// was written again, and then it is the old version of its next change.
// The 0x05 keys find that next change: a reader of the record at (ts, seq)
// looks for the first 0x05 key of the document after (ts, seq); without
// one, the store's version is the new one. The record (ts, seq) is in the
// piece with the greatest key at or before 0x02 ts seq.
//
// Worked example: a document inserted at t1, updated at t2, deleted at t3
// has three records: t1 (new), t2 (old = v1, new), t3 (old = v2), and the
// keys 0x05…t2 and 0x05…t3. The new version of t1 is t2's old version (the
// first 0x05 key after t1 is t2), that of t2 is t3's; v1 and v2 are each
// stored once. After the delete, nothing of the document is in the store.
// A commit of 1,000 inserts into one table is about 12 KB of records in
// 13 pieces.
//
// A piece ends before the record that would take it past changePieceMax
// bytes (a record larger than that is a piece of its own), so that a
// reader looking for one record decodes a few hundred bytes, not a whole
// large commit.
//
// Retention deletes whole commits, oldest first, with their 0x05 keys: a
// kept record's next change is newer, so it is kept too. A shared
// database's copy that is loaded anew from the shared state
// (rebootstrap) drops its records, whose documents it replaced without
// records of the writes.
const (
	tagDocChange = 0x05

	changeOld    = 1 << 0 // the record holds the old version
	changeNew    = 1 << 1 // the change has a new version (not a delete)
	changeTextID = 1 << 2 // the _id is kept as its text (not an ID)
	changeTable  = 1 << 3 // the table (by_id index id and name) follows
	changeNumber = 1 << 4 // the _id's table number follows
	changeFlags  = changeOld | changeNew | changeTextID | changeTable | changeNumber
)

// changePieceMax bounds the bytes of a piece of change records: four
// pieces, with their 13-byte keys and bbolt's 16-byte element headers,
// fill a 4 KiB bbolt page (16-byte header): 16 + 4×(16+13+991) = 4096.
const changePieceMax = 991

// isFeedKey reports whether k is a key of the change feed: a record or a
// later-change key. The feed is each copy's own in a shared database.
func isFeedKey(k []byte) bool {
	return len(k) > 0 && (k[0] == tagChange || k[0] == tagDocChange)
}

// docChangePrefix returns the prefix of the later-change keys of a
// document: byID is its table's by_id index id, idKey its internal id (or
// the text of an _id that is no ID).
func docChangePrefix(byID uint32, idKey []byte) []byte {
	b := make([]byte, 0, 5+len(idKey)+12)
	b = binary.BigEndian.AppendUint32(append(b, tagDocChange), byID)
	return append(b, idKey...)
}

// docChangeKey returns the later-change key of the change (ts, seq) of a
// document.
func docChangeKey(byID uint32, idKey []byte, ts uint64, seq uint32) []byte {
	b := binary.BigEndian.AppendUint64(docChangePrefix(byID, idKey), ts)
	return binary.BigEndian.AppendUint32(b, seq)
}

// putChanges adds to b the change records of the writes of the commit at
// ts, in pieces, and the later-change key of each document that existed
// before. A document inserted and deleted by the same mutation changed
// nothing committed: it has no record (and no seq).
func putChanges(b *kv.Batch, ts uint64, writes []*pendingDoc) {
	var w pieceWriter
	seq := uint32(0)
	for _, pd := range writes {
		if pd.oldEnc == nil && pd.newEnc == nil {
			continue
		}
		number, internal, err := id.Decode(string(pd.id))
		isID := err == nil
		if !w.add(pd, number, internal, isID) {
			w.flush(b, ts)
			w.add(pd, number, internal, isID)
		}
		if w.n == 0 {
			w.first = seq
		}
		w.n++
		if pd.oldEnc != nil {
			idKey := []byte(pd.id)
			if isID {
				idKey = internal[:]
			}
			b.Put(docChangeKey(pd.table.byID.id, idKey, ts, seq), noValue)
		}
		seq++
	}
	w.flush(b, ts)
}

// pieceWriter builds one piece of a commit's change records.
type pieceWriter struct {
	buf      []byte
	n        int    // records in buf
	first    uint32 // seq of the first
	table    *tableInfo
	number   uint32
	internal [16]byte
	hasID    bool // number and internal are the last ID's of the piece
}

// add appends the record of pd to the piece and reports true, unless the
// piece holds records already and this one would take it past
// changePieceMax: then it appends nothing and reports false.
func (w *pieceWriter) add(pd *pendingDoc, number uint32, internal [16]byte, isID bool) bool {
	start := len(w.buf)
	var flags byte
	if pd.oldEnc != nil {
		flags |= changeOld
	}
	if pd.newEnc != nil {
		flags |= changeNew
	}
	if !isID {
		flags |= changeTextID
	}
	if w.table != pd.table {
		flags |= changeTable
	}
	if isID && (!w.hasID || w.number != number) {
		flags |= changeNumber
	}
	b := append(w.buf, flags)
	if flags&changeTable != 0 {
		b = binary.AppendUvarint(b, uint64(pd.table.byID.id))
		b = appendBytes(b, []byte(pd.table.name))
	}
	if flags&changeNumber != 0 {
		b = binary.AppendUvarint(b, uint64(number))
	}
	if isID {
		shared := 0
		if w.hasID {
			for shared < len(internal) && internal[shared] == w.internal[shared] {
				shared++
			}
		}
		b = append(append(b, byte(shared)), internal[shared:]...)
	} else {
		b = appendBytes(b, []byte(pd.id))
	}
	size := len(b)
	if pd.oldEnc != nil {
		var n [binary.MaxVarintLen64]byte
		size += binary.PutUvarint(n[:], uint64(len(pd.oldEnc))) + len(pd.oldEnc)
	}
	if w.n > 0 && size > changePieceMax {
		w.buf = b[:start] // judged before the old version is copied in
		return false
	}
	if pd.oldEnc != nil {
		b = appendBytes(b, pd.oldEnc)
	}
	w.buf, w.table = b, pd.table
	if isID {
		w.number, w.internal, w.hasID = number, internal, true
	}
	return true
}

// flush adds the piece to b, if it holds records, and starts a new one.
func (w *pieceWriter) flush(b *kv.Batch, ts uint64) {
	if w.n > 0 {
		b.Put(changeKey(ts, w.first), w.buf)
	}
	*w = pieceWriter{} // the next piece's buffer is new: b holds this one
}

// changeRecord is a decoded change record; table, text and old alias the
// piece.
type changeRecord struct {
	flags    byte
	byID     uint32
	table    []byte
	number   uint32   // the _id's table number, unless flags has changeTextID
	internal [16]byte // the _id's internal id, unless flags has changeTextID
	text     []byte   // the _id, when flags has changeTextID
	old      []byte   // nil unless flags has changeOld
}

// idText returns the text of the record's _id (a new allocation for an
// ID).
func (r *changeRecord) idText() []byte {
	if r.flags&changeTextID != 0 {
		return r.text
	}
	return id.AppendText(nil, r.number, r.internal)
}

// idKey returns the _id as the later-change keys hold it. It aliases r:
// use it before r is decoded into again (docChangeKey and
// docChangePrefix copy it).
func (r *changeRecord) idKey() []byte {
	if r.flags&changeTextID != 0 {
		return r.text
	}
	return r.internal[:]
}

// changePiece reads the records of a piece, one by one with next.
type changePiece struct {
	rest   []byte
	seq    uint32 // seq of the record next returns
	first  bool   // next reads the piece's first record
	hasID  bool   // rec holds an ID, whose number and internal id carry on
	hasTab bool   // rec holds a table, which carries on
	rec    changeRecord
}

// newChangePiece returns a reader of the piece v whose first record is
// the seq-th of its commit.
func newChangePiece(seq uint32, v []byte) *changePiece {
	return &changePiece{rest: v, seq: seq - 1, first: true}
}

// next decodes the next record into p.rec, its seq into p.seq, and
// reports false at the end of the piece. A piece that ends in the middle
// of a record, or of no record at all, is errBadChange.
func (p *changePiece) next() (bool, error) {
	if len(p.rest) == 0 {
		if p.first {
			return false, errBadChange
		}
		return false, nil
	}
	b := p.rest
	flags := b[0]
	switch {
	case flags&^changeFlags != 0, flags&(changeOld|changeNew) == 0,
		flags&changeTable == 0 && !p.hasTab,
		flags&changeTextID != 0 && flags&changeNumber != 0,
		flags&(changeTextID|changeNumber) == 0 && !p.hasID:
		return false, errBadChange
	}
	b = b[1:]
	r := &p.rec
	r.flags, r.text, r.old = flags, nil, nil
	var err error
	if flags&changeTable != 0 {
		byID, n := binary.Uvarint(b)
		if n <= 0 || byID > math.MaxUint32 {
			return false, errBadChange
		}
		r.byID = uint32(byID)
		if r.table, b, err = readBytes(b[n:]); err != nil {
			return false, err
		}
		p.hasTab = true
	}
	if flags&changeNumber != 0 {
		number, n := binary.Uvarint(b)
		if n <= 0 || number > math.MaxUint32 {
			return false, errBadChange
		}
		r.number, b = uint32(number), b[n:]
	}
	if flags&changeTextID != 0 {
		if r.text, b, err = readBytes(b); err != nil {
			return false, err
		}
	} else {
		if len(b) == 0 || int(b[0]) > len(r.internal) || b[0] > 0 && !p.hasID {
			return false, errBadChange
		}
		shared := int(b[0])
		if len(b) < 1+len(r.internal)-shared {
			return false, errBadChange
		}
		b = b[1+copy(r.internal[shared:], b[1:]):]
		p.hasID = true
	}
	if flags&changeOld != 0 {
		if r.old, b, err = readBytes(b); err != nil {
			return false, err
		}
	}
	p.rest, p.first = b, false
	p.seq++
	return true, nil
}

// deleteChange adds to b the deletion of the piece of change records
// (k, v) and of the later-change keys of its records, and returns how many
// records it held. Retention calls it.
func deleteChange(b *kv.Batch, k, v []byte) int {
	b.Delete(append([]byte(nil), k...))
	ts, seq, ok := changeKeyTS(k)
	if !ok {
		return 1
	}
	p, n := newChangePiece(seq, v), 0
	for {
		more, err := p.next()
		if !more || err != nil {
			return max(n, 1)
		}
		n++
		if p.rec.flags&changeOld != 0 {
			b.Delete(docChangeKey(p.rec.byID, p.rec.idKey(), ts, p.seq))
		}
	}
}

// decodeChange returns the change of record r, the seq-th of the commit at
// ts, in snapshot snap. A feed that skips r's table does not call it.
func decodeChange(snap kv.Snapshot, ts uint64, seq uint32, r *changeRecord) (Change, error) {
	idText := r.idText()
	c := Change{Timestamp: ts, seq: seq, Table: string(r.table), ID: ID(idText)}
	switch {
	case r.flags&changeOld == 0:
		c.Op = "insert"
	case r.flags&changeNew == 0:
		c.Op = "delete"
	default:
		c.Op = "update"
	}
	if r.old != nil {
		m, err := decodePublicDoc(r.old, idText)
		if err != nil {
			return c, err
		}
		c.Old = Doc(m)
	}
	if r.flags&changeNew != 0 {
		enc, err := changeNewVersion(snap, &c, r)
		if err != nil {
			return c, err
		}
		m, err := decodePublicDoc(enc, idText)
		if err != nil {
			return c, err
		}
		c.New = Doc(m)
	}
	return c, nil
}

// badChange returns the error of a corrupt piece of change records.
func badChange(ts uint64, seq uint32, err error) error {
	return fmt.Errorf("%w: change %d.%d: %w", ErrNotLivedb, ts, seq, err)
}

package livedb

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/kv"
)

// Change records: how the change feed stores a committed write. This file
// holds their whole encoding (keys.go lists the key layout).
//
// A record keeps what the document store cannot give back later, and no
// more, so that a document is stored once, not once in the store and again
// in the feed:
//
//	0x02 ts(8) seq(4)        flags(1) byID(4) uvarint-len table, id,
//	                         [uvarint-len old version]   (flag changeOld)
//	0x05 byID(4) idkey ts(8) seq(4)   empty: a later change of the document
//	                         (written for updates and deletes only)
//
// byID is the id of the by_id index of the table the document was in. The
// document's _id is kept as its table number (uvarint) and its 16-byte
// internal id, which give the text back (idkey.go), and idkey is that
// internal id: 16 bytes instead of the text's 32 or more, in a record that
// every write keeps for the whole retention. An _id that is not an ID
// (which the engine never stores) is kept as its text, uvarint-len, with
// the flag changeTextID, and idkey is then the text. The
// old version (updates and deletes) is in the record: the store no longer
// holds it. The new version (inserts and updates, flag changeNew) is not:
// it is the document's version in the store, unless the document was
// written again, and then it is the old version of its next change. The
// 0x05 keys find that next change: a reader of the record at (ts, seq)
// looks for the first 0x05 key of the document after (ts, seq); without
// one, the store's version is the new one.
//
// Worked example: a document inserted at t1, updated at t2, deleted at t3
// has three records: t1 (new), t2 (old = v1, new), t3 (old = v2), and the
// keys 0x05…t2 and 0x05…t3. The new version of t1 is t2's old version (the
// first 0x05 key after t1 is t2), that of t2 is t3's; v1 and v2 are each
// stored once. After the delete, nothing of the document is in the store.
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
)

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

// putChange adds to b the change record of pd, the seq-th write of the
// commit at ts, and its later-change key when the document existed before.
// A document inserted and deleted by the same mutation changed nothing
// committed: it has no record.
func putChange(b *kv.Batch, ts uint64, seq uint32, pd *pendingDoc) {
	if pd.oldEnc == nil && pd.newEnc == nil {
		return
	}
	byID := pd.table.byID.id
	number, internal, err := id.Decode(string(pd.id))
	b.Put(changeKey(ts, seq), encodeChange(byID, pd, number, internal, err == nil))
	if pd.oldEnc != nil {
		idKey := []byte(pd.id)
		if err == nil {
			idKey = internal[:]
		}
		b.Put(docChangeKey(byID, idKey, ts, seq), noValue)
	}
}

// encodeChange encodes the change record of pd, whose _id decodes to
// number and internal when isID.
func encodeChange(byID uint32, pd *pendingDoc, number uint32, internal [16]byte, isID bool) []byte {
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
	b := make([]byte, 0, 16+len(pd.table.name)+len(pd.id)+len(pd.oldEnc))
	b = binary.BigEndian.AppendUint32(append(b, flags), byID)
	b = appendBytes(b, []byte(pd.table.name))
	if isID {
		b = binary.AppendUvarint(b, uint64(number))
		b = append(b, internal[:]...)
	} else {
		b = appendBytes(b, []byte(pd.id))
	}
	if pd.oldEnc != nil {
		b = appendBytes(b, pd.oldEnc)
	}
	return b
}

// changeRecord is a decoded change record; its slices alias the value
// but id, the text of the _id.
type changeRecord struct {
	flags byte
	byID  uint32
	table []byte
	id    []byte // the text of the _id
	idKey []byte // the _id as the later-change keys hold it
	old   []byte // nil unless flags has changeOld
}

// decodeChangeRecord reads the value of a change record.
func decodeChangeRecord(b []byte) (r changeRecord, err error) {
	if len(b) < 5 || b[0]&^(changeOld|changeNew|changeTextID) != 0 || b[0]&(changeOld|changeNew) == 0 {
		return r, errBadChange
	}
	r.flags, r.byID = b[0], binary.BigEndian.Uint32(b[1:5])
	rest := b[5:]
	if r.table, rest, err = readBytes(rest); err != nil {
		return r, err
	}
	if r.flags&changeTextID != 0 {
		if r.id, rest, err = readBytes(rest); err != nil {
			return r, err
		}
		r.idKey = r.id
	} else {
		number, n := binary.Uvarint(rest)
		if n <= 0 || number > math.MaxUint32 || len(rest) < n+16 {
			return r, errBadChange
		}
		r.idKey, rest = rest[n:n+16], rest[n+16:]
		r.id = id.AppendText(nil, uint32(number), [16]byte(r.idKey))
	}
	if r.flags&changeOld != 0 {
		if r.old, rest, err = readBytes(rest); err != nil {
			return r, err
		}
	}
	if len(rest) != 0 {
		return r, errBadChange
	}
	return r, nil
}

// deleteChange adds to b the deletion of the change record (k, v) and of
// its later-change key. Retention calls it.
func deleteChange(b *kv.Batch, k, v []byte) {
	b.Delete(append([]byte(nil), k...))
	ts, seq, ok := changeKeyTS(k)
	r, err := decodeChangeRecord(v)
	if ok && err == nil && r.flags&changeOld != 0 {
		b.Delete(docChangeKey(r.byID, r.idKey, ts, seq))
	}
}

// decodeChange reads the change record (k, v) of snapshot snap. The
// documents of a change whose table is not in tables (nil: every table)
// are left out: the feed skips it.
func decodeChange(snap kv.Snapshot, k, v []byte, tables map[string]bool) (Change, error) {
	var c Change
	var ok bool
	if c.Timestamp, c.seq, ok = changeKeyTS(k); !ok {
		return c, fmt.Errorf("%w: change key %x", ErrNotLivedb, k)
	}
	r, err := decodeChangeRecord(v)
	if err != nil {
		return c, fmt.Errorf("%w: change %d.%d: %w", ErrNotLivedb, c.Timestamp, c.seq, err)
	}
	c.Table, c.ID = string(r.table), ID(r.id)
	switch {
	case r.flags&changeOld == 0:
		c.Op = "insert"
	case r.flags&changeNew == 0:
		c.Op = "delete"
	default:
		c.Op = "update"
	}
	if tables != nil && !tables[c.Table] {
		return c, nil
	}
	if r.old != nil {
		m, err := decodePublicDoc(r.old, r.id)
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
		m, err := decodePublicDoc(enc, r.id)
		if err != nil {
			return c, err
		}
		c.New = Doc(m)
	}
	return c, nil
}

// changeNewVersion finds the new version of change c (record r): the old
// version of the document's next change, or else its version in the store.
func changeNewVersion(snap kv.Snapshot, c *Change, r changeRecord) ([]byte, error) {
	p := docChangePrefix(r.byID, r.idKey)
	it := snap.Iter(keySuccessor(docChangeKey(r.byID, r.idKey, c.Timestamp, c.seq)), prefixEnd(p), false)
	defer it.Close()
	if it.Next() {
		tail := it.Key()[len(p):]
		if len(tail) != 12 {
			return nil, fmt.Errorf("%w: later-change key %x", ErrNotLivedb, it.Key())
		}
		ts, seq := binary.BigEndian.Uint64(tail), binary.BigEndian.Uint32(tail[8:])
		v, ok, err := snap.Get(changeKey(ts, seq))
		if err != nil {
			return nil, storeErr(err)
		}
		next, err := decodeChangeRecord(v)
		if !ok || err != nil || next.old == nil {
			return nil, fmt.Errorf("%w: change %d.%d of %s: the next change %d.%d has no old version", ErrNotLivedb, c.Timestamp, c.seq, c.ID, ts, seq)
		}
		return next.old, nil
	}
	if err := it.Err(); err != nil {
		return nil, storeErr(err)
	}
	enc, ok, err := snap.Get(appendIDKey(indexPrefix(r.byID), 0, string(r.id)))
	if err != nil {
		return nil, storeErr(err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: change %d.%d of %s: the document is neither in the store nor written again", ErrNotLivedb, c.Timestamp, c.seq, c.ID)
	}
	return enc, nil
}

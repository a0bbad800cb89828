package livedb

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/livedb-go/livedb/internal/kv"
)

// pieceStart returns the key of the piece of change records that holds
// the record (ts, seq): the greatest piece key at or before changeKey(ts,
// seq) in the same commit, or changeKey(ts, seq) itself when there is none
// (a feed that starts there reads on from the next piece).
func pieceStart(snap kv.Snapshot, ts uint64, seq uint32) ([]byte, error) {
	k := changeKey(ts, seq)
	if seq == 0 {
		return k, nil // a piece of a commit starts at seq 0 or later
	}
	it := snap.Iter(changeKey(ts, 0), keySuccessor(k), true)
	defer it.Close()
	if it.Next() {
		return bytes.Clone(it.Key()), nil
	}
	return k, storeErr(it.Err())
}

// findChange returns the record (ts, seq) of snapshot snap; ok is false
// when no piece holds it. The record's slices alias the store's value,
// valid while snap is.
func findChange(snap kv.Snapshot, ts uint64, seq uint32) (r changeRecord, ok bool, err error) {
	k, err := pieceStart(snap, ts, seq)
	if err != nil {
		return r, false, err
	}
	v, ok, err := snap.Get(k)
	if err != nil || !ok {
		return r, false, storeErr(err)
	}
	_, first, _ := changeKeyTS(k)
	p := newChangePiece(first, v)
	for {
		more, err := p.next()
		if err != nil {
			return r, false, badChange(ts, first, err)
		}
		if !more {
			return r, false, nil
		}
		if p.seq == seq {
			return p.rec, true, nil
		}
	}
}

// changeNewVersion finds the new version of change c (record r): the old
// version of the document's next change, or else its version in the store.
func changeNewVersion(snap kv.Snapshot, c *Change, r *changeRecord) ([]byte, error) {
	idKey := r.idKey()
	p := docChangePrefix(r.byID, idKey)
	it := snap.Iter(keySuccessor(docChangeKey(r.byID, idKey, c.Timestamp, c.seq)), prefixEnd(p), false)
	defer it.Close()
	if it.Next() {
		tail := it.Key()[len(p):]
		if len(tail) != 12 {
			return nil, fmt.Errorf("%w: later-change key %x", ErrNotLivedb, it.Key())
		}
		ts, seq := binary.BigEndian.Uint64(tail), binary.BigEndian.Uint32(tail[8:])
		next, ok, err := findChange(snap, ts, seq)
		if err != nil {
			return nil, err
		}
		if !ok || next.old == nil {
			return nil, fmt.Errorf("%w: change %d.%d of %s: the next change %d.%d has no old version", ErrNotLivedb, c.Timestamp, c.seq, c.ID, ts, seq)
		}
		return next.old, nil
	}
	if err := it.Err(); err != nil {
		return nil, storeErr(err)
	}
	enc, ok, err := snap.Get(appendIDKey(indexPrefix(r.byID), 0, string(c.ID)))
	if err != nil {
		return nil, storeErr(err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: change %d.%d of %s: the document is neither in the store nor written again", ErrNotLivedb, c.Timestamp, c.seq, c.ID)
	}
	return enc, nil
}

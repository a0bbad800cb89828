package livedb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/memkv"
	"github.com/livedb-go/livedb/v"
)

// TestChangeRecord_Encode_InternalID checks the stored form of a commit of
// one write and its later-change key: a document's _id is kept as its
// table number and 16-byte internal id (the record of an insert into a
// table numbered 10001 is then 1+1+1+5+2+1+16 bytes, the text of the _id
// nowhere), it decodes back to the text, and an _id that is no ID is kept
// as its text. Truncated records are refused, never read past their end.
func TestChangeRecord_Encode_InternalID(t *testing.T) {
	tbl := &tableInfo{name: "items", number: 10001}
	tbl.byID = &indexInfo{id: 7, table: tbl}
	docID := id.Encode(10001, [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	_, internal, err := id.Decode(docID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		docID     string
		old       []byte
		wantLen   int
		wantIDKey []byte
	}{
		{"insert", docID, nil, 1 + 1 + 1 + 5 + 2 + 1 + 16, nil},
		{"update", docID, []byte("old version"), 1 + 1 + 1 + 5 + 2 + 1 + 16 + 1 + 11, internal[:]},
		{"no ID", "not an id", []byte("old"), 1 + 1 + 1 + 5 + 1 + 9 + 1 + 3, []byte("not an id")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pd := &pendingDoc{table: tbl, id: tc.docID, oldEnc: tc.old, newEnc: []byte("new")}
			var b kv.Batch
			putChanges(&b, 42, []*pendingDoc{{table: tbl, id: "gone"}, pd})
			wantOps := 1
			if tc.old != nil {
				wantOps = 2
			}
			if len(b.Ops) != wantOps {
				t.Fatalf("%d ops, want %d", len(b.Ops), wantOps)
			}
			rec := b.Ops[len(b.Ops)-1]
			if want := changeKey(42, 0); !bytes.Equal(rec.Key, want) {
				t.Errorf("piece key %x, want %x (a write inserted and deleted again takes no seq)", rec.Key, want)
			}
			v := rec.Value
			if len(v) != tc.wantLen {
				t.Errorf("record of %d bytes, want %d: %x", len(v), tc.wantLen, v)
			}
			if tc.docID == docID && bytes.Contains(v, []byte(docID)) {
				t.Errorf("record %x holds the text of the _id", v)
			}
			p := newChangePiece(0, v)
			if more, err := p.next(); !more || err != nil {
				t.Fatalf("first record: %v %v", more, err)
			}
			r := p.rec
			if string(r.idText()) != tc.docID || string(r.table) != "items" || r.byID != 7 || !bytes.Equal(r.old, tc.old) || p.seq != 0 {
				t.Errorf("decoded %q %q %d %q seq %d, want %q items 7 %q seq 0", r.idText(), r.table, r.byID, r.old, p.seq, tc.docID, tc.old)
			}
			if more, err := p.next(); more || err != nil {
				t.Errorf("after the only record: %v %v, want the end", more, err)
			}
			if tc.old != nil {
				if want := docChangeKey(7, tc.wantIDKey, 42, 0); !bytes.Equal(b.Ops[0].Key, want) {
					t.Errorf("later-change key %x, want %x", b.Ops[0].Key, want)
				}
				if !bytes.Equal(r.idKey(), tc.wantIDKey) {
					t.Errorf("idKey %x, want %x", r.idKey(), tc.wantIDKey)
				}
			}
			for _, bad := range []struct {
				name string
				flip byte
			}{{"no table", changeTable}, {"neither old nor new", v[0] & (changeOld | changeNew)}, {"unknown flag", 1 << 7}} {
				w := append([]byte{v[0] ^ bad.flip}, v[1:]...)
				if _, err := newChangePiece(0, w).next(); !errors.Is(err, errBadChange) {
					t.Errorf("first record with %s: err %v, want errBadChange", bad.name, err)
				}
			}
			for n := range len(v) {
				p := newChangePiece(0, v[:n])
				if _, err := p.next(); !errors.Is(err, errBadChange) {
					t.Fatalf("record cut to %d of %d bytes: err %v, want errBadChange", n, len(v), err)
				}
			}
		})
	}
}

// TestChangeRecord_Decode_FirstRecordWithoutTable: a record without its
// table is of the previous record's table, so a piece whose first record
// has none (the first records of a piece cut off) is refused, not read as
// a change of no table.
func TestChangeRecord_Decode_FirstRecordWithoutTable(t *testing.T) {
	tbl := &tableInfo{name: "items", number: 10001}
	tbl.byID = &indexInfo{id: 7, table: tbl}
	var b kv.Batch
	putChanges(&b, 42, []*pendingDoc{
		{table: tbl, id: "first", newEnc: []byte("new")},
		{table: tbl, id: "second", newEnc: []byte("new")},
	})
	v := b.Ops[len(b.Ops)-1].Value
	p := newChangePiece(0, v)
	if more, err := p.next(); !more || err != nil {
		t.Fatalf("first record: %v %v", more, err)
	}
	second := p.rest
	if second[0]&changeTable != 0 {
		t.Fatalf("the second record names its table again: flags %x", second[0])
	}
	if more, err := p.next(); !more || err != nil || string(p.rec.table) != "items" || string(p.rec.idText()) != "second" {
		t.Fatalf("second record: %v %v %q %q", more, err, p.rec.table, p.rec.idText())
	}
	if _, err := newChangePiece(1, second).next(); !errors.Is(err, errBadChange) {
		t.Errorf("a piece starting with a record without its table: err %v, want errBadChange", err)
	}
}

// bulkWrites returns the writes of a commit like a bulk load's: n inserts
// into items, made within a few milliseconds, with an update of a
// document of another table, a write inserted and deleted again, a delete
// with an old version larger than a piece, and an _id that is no ID among
// them.
func bulkWrites(t *testing.T, n int) []*pendingDoc {
	t.Helper()
	items := &tableInfo{name: "items", number: 10001}
	items.byID = &indexInfo{id: 7, table: items}
	other := &tableInfo{name: "other", number: 10002}
	other.byID = &indexInfo{id: 9, table: other}
	rng := rand.New(rand.NewPCG(3, 4))
	random := rngReader{rng}
	start := time.UnixMilli(1_800_000_000_000)
	var writes []*pendingDoc
	for i := range n {
		docID, err := id.New(items.number, start.Add(time.Duration(i/300)*time.Millisecond), random)
		if err != nil {
			t.Fatal(err)
		}
		pd := &pendingDoc{table: items, id: docID, newEnc: []byte("new")}
		switch i {
		case 5:
			pd.newEnc = nil // inserted and deleted again: no record
		case 10, 11:
			otherID, err := id.New(other.number, start, random)
			if err != nil {
				t.Fatal(err)
			}
			pd = &pendingDoc{table: other, id: otherID, oldEnc: []byte(fmt.Sprint("old ", i)), newEnc: []byte("new")}
		case 20:
			pd.oldEnc, pd.newEnc = bytes.Repeat([]byte{'x'}, 2*changePieceMax), nil
		case 30:
			pd.id = "not an id"
			pd.oldEnc = []byte("old text")
		}
		writes = append(writes, pd)
	}
	return writes
}

// rngReader reads bytes from a math/rand generator.
type rngReader struct{ r *rand.Rand }

func (r rngReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.r.Uint32())
	}
	return len(p), nil
}

// TestChangeRecord_Pieces_BulkCommit encodes a commit of 1,000 writes: its
// records are packed into pieces of at most changePieceMax bytes (a larger
// record alone), keyed by the seq of their first record, that decode back
// to every write in order; an insert's record costs at most 13 bytes (the
// ids of a commit share their time); each later-change key names its
// record's seq, and findChange finds every record, whichever piece holds
// it. Retention's deleteChange deletes each piece with its later-change
// keys and counts its records.
func TestChangeRecord_Pieces_BulkCommit(t *testing.T) {
	const n, ts = 1000, 77
	writes := bulkWrites(t, n)
	var b kv.Batch
	putChanges(&b, ts, writes)
	var recorded []*pendingDoc // the writes with a record, by seq
	for _, pd := range writes {
		if pd.oldEnc != nil || pd.newEnc != nil {
			recorded = append(recorded, pd)
		}
	}
	store := memkv.New()
	if err := store.Commit(&b); err != nil {
		t.Fatal(err)
	}
	snap, err := store.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()

	it := snap.Iter([]byte{tagChange}, []byte{tagChange + 1}, false)
	defer it.Close()
	next, pieces, insertBytes, inserts := uint32(0), 0, 0, 0
	var del kv.Batch
	for it.Next() {
		pieces++
		gotTS, first, ok := changeKeyTS(it.Key())
		if !ok || gotTS != ts || first != next {
			t.Fatalf("piece key %x, want ts %d seq %d", it.Key(), ts, next)
		}
		p := newChangePiece(first, it.Value())
		for {
			more, err := p.next()
			if err != nil {
				t.Fatalf("piece %d: %v", first, err)
			}
			if !more {
				break
			}
			pd := recorded[p.seq]
			if p.seq != next || string(p.rec.idText()) != pd.id || string(p.rec.table) != pd.table.name ||
				p.rec.byID != pd.table.byID.id || !bytes.Equal(p.rec.old, pd.oldEnc) || (p.rec.flags&changeNew != 0) != (pd.newEnc != nil) {
				t.Fatalf("record %d (want seq %d): %q %q %d, want %q %q %d", p.seq, next, p.rec.idText(), p.rec.table, p.rec.byID, pd.id, pd.table.name, pd.table.byID.id)
			}
			next++
		}
		if records := int(next - first); len(it.Value()) > changePieceMax && records > 1 {
			t.Errorf("piece %d holds %d records in %d bytes, more than %d", first, records, len(it.Value()), changePieceMax)
		}
		if first > 40 { // past the special writes: inserts only
			insertBytes += len(it.Value())
			inserts += int(next - first)
		}
		if got := deleteChange(&del, it.Key(), it.Value()); got != int(next-first) {
			t.Errorf("deleteChange of piece %d counts %d records, want %d", first, got, next-first)
		}
	}
	if int(next) != len(recorded) {
		t.Fatalf("%d records, want %d", next, len(recorded))
	}
	if perInsert := float64(insertBytes) / float64(inserts); perInsert > 13 {
		t.Errorf("an insert's record costs %.1f bytes, want at most 13", perInsert)
	}
	t.Logf("%d records in %d pieces; %.1f bytes per insert", next, pieces, float64(insertBytes)/float64(inserts))

	later := 0
	for _, op := range b.Ops {
		if op.Key[0] == tagDocChange {
			later++
		}
	}
	for seq, pd := range recorded {
		r, ok, err := findChange(snap, ts, uint32(seq))
		if err != nil || !ok || string(r.idText()) != pd.id || !bytes.Equal(r.old, pd.oldEnc) {
			t.Fatalf("findChange(%d): %q %q ok %v err %v, want %q %q", seq, r.idText(), r.old, ok, err, pd.id, pd.oldEnc)
		}
		if pd.oldEnc != nil {
			if _, ok, _ := snap.Get(docChangeKey(pd.table.byID.id, r.idKey(), ts, uint32(seq))); !ok {
				t.Errorf("no later-change key for record %d", seq)
			}
		}
	}
	if _, ok, err := findChange(snap, ts, uint32(len(recorded))); ok || err != nil {
		t.Errorf("findChange past the last record: ok %v err %v, want none", ok, err)
	}
	if got := len(del.Ops); got != pieces+later {
		t.Errorf("deleteChange deleted %d keys, want %d pieces and %d later-change keys", got, pieces, later)
	}
}

// TestChangeRecord_Pieces_Truncated cuts a piece of many records at every
// byte: the reader returns the records before the cut and then either the
// end (a cut between records) or errBadChange, never a record read past
// the cut.
func TestChangeRecord_Pieces_Truncated(t *testing.T) {
	writes := bulkWrites(t, 40)
	var b kv.Batch
	putChanges(&b, 1, writes)
	var v []byte
	for _, op := range b.Ops {
		if op.Key[0] == tagChange {
			v = op.Value // the first piece
			break
		}
	}
	var ends []int // where each record of v ends
	p := newChangePiece(0, v)
	for {
		more, err := p.next()
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
		ends = append(ends, len(v)-len(p.rest))
	}
	if len(ends) < 10 {
		t.Fatalf("the first piece holds %d records, want a piece of many", len(ends))
	}
	for cut := range len(v) {
		p := newChangePiece(0, v[:cut])
		read := 0
		var err error
		for more := true; more && err == nil; {
			if more, err = p.next(); more {
				read++
			}
		}
		atEnd := cut > 0 && read > 0 && ends[read-1] == cut
		switch {
		case read > 0 && ends[read-1] > cut:
			t.Fatalf("cut at %d: read a record ending at %d", cut, ends[read-1])
		case atEnd && err != nil:
			t.Fatalf("cut at %d, between records: %v", cut, err)
		case !atEnd && !errors.Is(err, errBadChange):
			t.Fatalf("cut at %d, inside record %d: err %v, want errBadChange", cut, read, err)
		}
	}
}

// TestChangeFeed_Fill_StartsInsideAPiece puts a feed's position in the
// middle of a piece of records (the feed itself stops only between
// pieces): it reads on from that record, not from the piece's first nor
// from the next piece.
func TestChangeFeed_Fill_StartsInsideAPiece(t *testing.T) {
	s := DefineSchema(Tables{"items": DefineTable(v.Object(v.Fields{"n": v.Int64()}))})
	for _, backend := range []string{"memory", "bbolt"} {
		t.Run(backend, func(t *testing.T) {
			db := openWhitebox(t, backend, s, Options{})
			const n = 200
			ts, err := db.MutationTS(context.Background(), func(m *MutationCtx) error {
				for i := range n {
					if _, err := m.DB.Insert("items", Doc{"n": int64(i)}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, from := range []int{1, 37, 80, 81, n - 1} {
				f := db.Changes(0)
				f.oldest, f.after, f.seq = false, ts, from
				var got []int64
				for {
					c, ok, err := f.TryNext()
					if err != nil {
						t.Fatal(err)
					}
					if !ok {
						break
					}
					got = append(got, c.New["n"].(int64))
				}
				if len(got) != n-from || got[0] != int64(from) || got[len(got)-1] != n-1 {
					t.Fatalf("from seq %d: %d changes, %v…, want %d from n=%d", from, len(got), got[:min(3, len(got))], n-from, from)
				}
			}
		})
	}
}

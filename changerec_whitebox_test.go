package livedb

import (
	"bytes"
	"errors"
	"testing"

	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/kv"
)

// TestChangeRecord_Encode_InternalID checks the stored form of a change
// record and its later-change key: a document's _id is kept as its table
// number and 16-byte internal id (the record of an insert into a table
// numbered 10001 is then 1+4+6+2+16 bytes, the text of the _id nowhere),
// it decodes back to the text, and an _id that is no ID is kept as its
// text. Truncated records are refused, never read past their end.
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
		{"insert", docID, nil, 1 + 4 + 1 + 5 + 2 + 16, nil},
		{"update", docID, []byte("old version"), 1 + 4 + 1 + 5 + 2 + 16 + 1 + 11, internal[:]},
		{"no ID", "not an id", []byte("old"), 1 + 4 + 1 + 5 + 1 + 9 + 1 + 3, []byte("not an id")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pd := &pendingDoc{table: tbl, id: tc.docID, oldEnc: tc.old, newEnc: []byte("new")}
			var b kv.Batch
			putChange(&b, 42, 3, pd)
			wantOps := 1
			if tc.old != nil {
				wantOps = 2
			}
			if len(b.Ops) != wantOps {
				t.Fatalf("%d ops, want %d", len(b.Ops), wantOps)
			}
			v := b.Ops[0].Value
			if len(v) != tc.wantLen {
				t.Errorf("record of %d bytes, want %d: %x", len(v), tc.wantLen, v)
			}
			if tc.docID == docID && bytes.Contains(v, []byte(docID)) {
				t.Errorf("record %x holds the text of the _id", v)
			}
			r, err := decodeChangeRecord(v)
			if err != nil {
				t.Fatal(err)
			}
			if string(r.id) != tc.docID || string(r.table) != "items" || r.byID != 7 || !bytes.Equal(r.old, tc.old) {
				t.Errorf("decoded %q %q %d %q, want %q items 7 %q", r.id, r.table, r.byID, r.old, tc.docID, tc.old)
			}
			if tc.old != nil {
				if want := docChangeKey(7, tc.wantIDKey, 42, 3); !bytes.Equal(b.Ops[1].Key, want) {
					t.Errorf("later-change key %x, want %x", b.Ops[1].Key, want)
				}
				if !bytes.Equal(r.idKey, tc.wantIDKey) {
					t.Errorf("idKey %x, want %x", r.idKey, tc.wantIDKey)
				}
			}
			for n := range len(v) {
				if _, err := decodeChangeRecord(v[:n]); !errors.Is(err, errBadChange) {
					t.Fatalf("record cut to %d of %d bytes: err %v, want errBadChange", n, len(v), err)
				}
			}
		})
	}
}

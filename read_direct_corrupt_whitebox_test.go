package livedb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/v"
)

// TestTable_Get_StoredDocumentWithAnotherID_EveryRead stores, on the
// memory backend, one document's bytes under another's by_id key: every
// typed read of the victim, the first (raw bytes) and the later ones (the
// version's cached decoding), by Get and by a by_id query, must fail with
// ErrCorrupt rather than hand out the other document.
func TestTable_Get_StoredDocumentWithAnotherID_EveryRead(t *testing.T) {
	type note struct {
		ID   Ref[note] `json:"_id"`
		Text string    `json:"text"`
	}
	s := DefineSchema(Tables{"notes": DefineTable(v.Object(v.Fields{"text": v.String()}))})
	db, err := OpenMemory(s)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var a, b ID
	if err := db.Mutation(ctx, func(m *MutationCtx) (err error) {
		if a, err = m.DB.Insert("notes", Doc{"text": "a"}); err != nil {
			return err
		}
		b, err = m.DB.Insert("notes", Doc{"text": "b"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	snap, err := db.store.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var encA, keyB []byte
	it := snap.Iter(nil, nil, false)
	for it.Next() {
		doc, err := decodeDoc(it.Value())
		if err != nil {
			continue // not a document
		}
		switch doc[fieldID] {
		case string(a):
			encA = append([]byte(nil), it.Value()...)
		case string(b):
			keyB = append([]byte(nil), it.Key()...)
		}
	}
	it.Close()
	snap.Release()
	if encA == nil || keyB == nil {
		t.Fatalf("documents not found in the store (a %v, b key %x)", encA != nil, keyB)
	}
	var batch kv.Batch
	batch.Put(keyB, encA)
	if err := db.store.Commit(&batch); err != nil {
		t.Fatal(err)
	}
	notes := NewTable[note]("notes")
	for round := range 3 {
		err := db.Query(ctx, func(q *QueryCtx) error {
			n, _, err := notes.Get(q.DB, Ref[note](b))
			if err == nil {
				t.Errorf("round %d: Get(%s) = %+v, want ErrCorrupt", round, b, n)
			}
			return err
		})
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("round %d: Get = %v, want ErrCorrupt", round, err)
		}
		if want := fmt.Sprintf("key %x ", keyB); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("round %d: Get = %v, want an error naming the %s", round, err, want)
		}
		err = db.Query(ctx, func(q *QueryCtx) error {
			ns, err := notes.Query(q.DB).WithIndex("by_id", func(r IndexRange) IndexRange { return r.Eq("_id", string(b)) }).Collect()
			if err == nil {
				t.Errorf("round %d: by_id query = %+v, want ErrCorrupt", round, ns)
			}
			return err
		})
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("round %d: by_id query = %v, want ErrCorrupt", round, err)
		}
	}
}

package livedb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/v"
)

// TestTable_Get_StoredDocumentInObjectForm_EveryRead stores, on the
// memory backend, a document in the object form (value.Encode, _id and
// _creationTime among its fields: a damaged value, or a file of an older
// format) under its by_id key: every typed read of it, the first (raw
// bytes, which codec.DecodeStored refuses) and the later ones (the map
// path), by Get and by a by_id query, must fail with ErrCorrupt naming the
// document, never hand out what the bytes hold.
func TestTable_Get_StoredDocumentInObjectForm_EveryRead(t *testing.T) {
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
	var b ID
	if err := db.Mutation(ctx, func(m *MutationCtx) (err error) {
		if _, err = m.DB.Insert("notes", Doc{"text": "a"}); err != nil {
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
	keyB := docKey(db.cat.Load().tables["notes"], string(b))
	encB, ok, err := snap.Get(keyB)
	snap.Release()
	if err != nil || !ok {
		t.Fatalf("document %s not found in the store (%v, %v)", b, ok, err)
	}
	doc, err := decodeDoc(encB, b)
	if err != nil {
		t.Fatal(err)
	}
	var batch kv.Batch
	batch.Put(keyB, value.Encode(doc))
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
		if want := fmt.Sprintf("document %s", b); err == nil || !strings.Contains(err.Error(), want) {
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

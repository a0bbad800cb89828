package livedb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/internal/value"
)

// mustEditKV opens a closed livedb file at the kv layer, lets fn read it and
// fill a batch, and commits the batch.
func mustEditKV(t *testing.T, path string, fn func(snap kv.Snapshot, b *kv.Batch)) {
	t.Helper()
	s, err := bboltkv.Open(path, &bboltkv.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var b kv.Batch
	fn(snap, &b)
	snap.Release()
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

var corruptKeyCatalog = []byte("\x00catalog")

// corruptCatalog is the part of the stored catalog JSON the tests need.
type corruptCatalog struct {
	Tables []struct {
		Name    string `json:"name"`
		Number  uint32 `json:"number"`
		Indexes []struct {
			Name string `json:"name"`
			ID   uint32 `json:"id"`
		} `json:"indexes"`
	} `json:"tables"`
}

// corruptReadCatalog returns the catalog stored in snap.
func corruptReadCatalog(t *testing.T, snap kv.Snapshot) corruptCatalog {
	t.Helper()
	b, ok, err := snap.Get(corruptKeyCatalog)
	if err != nil || !ok {
		t.Fatalf("catalog: ok=%v err=%v", ok, err)
	}
	var c corruptCatalog
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// corruptIndexPrefix returns the key prefix of an index, read from the catalog.
func corruptIndexPrefix(t *testing.T, snap kv.Snapshot, table, index string) []byte {
	t.Helper()
	c := corruptReadCatalog(t, snap)
	for _, tb := range c.Tables {
		for _, ix := range tb.Indexes {
			if tb.Name == table && ix.Name == index {
				return []byte{0x01, byte(ix.ID >> 24), byte(ix.ID >> 16), byte(ix.ID >> 8), byte(ix.ID)}
			}
		}
	}
	t.Fatalf("no index %s.%s in the catalog", table, index)
	return nil
}

// kvFirstKey returns a copy of the first key with prefix p, and its value.
func kvFirstKey(t *testing.T, snap kv.Snapshot, p []byte) ([]byte, []byte) {
	t.Helper()
	return kvNthKey(t, snap, p, 0)
}

// kvNthKey returns a copy of the n-th key (from 0) with prefix p, and its
// value.
func kvNthKey(t *testing.T, snap kv.Snapshot, p []byte, n int) ([]byte, []byte) {
	t.Helper()
	it := snap.Iter(p, value.PrefixSuccessor(p), false)
	defer it.Close()
	for i := 0; it.Next(); i++ {
		if i == n {
			return append([]byte(nil), it.Key()...), append([]byte(nil), it.Value()...)
		}
	}
	t.Fatalf("fewer than %d keys with prefix %x (err %v)", n+1, p, it.Err())
	return nil, nil
}

func corruptCopy(t *testing.T, data []byte) string { return corruptWriteTemp(t, data) }

func TestOpen_GarbledCatalog(t *testing.T) {
	_, data := mustLivedbFile(t)
	var orig map[string]any
	mustEditKV(t, corruptCopy(t, data), func(snap kv.Snapshot, _ *kv.Batch) {
		b, _, err := snap.Get(corruptKeyCatalog)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &orig); err != nil {
			t.Fatal(err)
		}
	})
	// edit returns the catalog JSON with one change.
	edit := func(change func(c map[string]any)) []byte {
		var c map[string]any
		b, _ := json.Marshal(orig)
		_ = json.Unmarshal(b, &c)
		change(c)
		out, _ := json.Marshal(c)
		return out
	}
	tables := func(c map[string]any) []any { return c["tables"].([]any) }
	tests := []struct {
		name    string
		catalog []byte
	}{
		{"not JSON", []byte("\x00\x01garbage{")},
		{"empty", []byte{}},
		{"JSON null", []byte("null")},
		{"truncated JSON", func() []byte { b := edit(func(map[string]any) {}); return b[:len(b)/2] }()},
		{"wrong version", edit(func(c map[string]any) { c["version"] = 99 })},
		{"no secret", edit(func(c map[string]any) { delete(c, "secret") })},
		{"table without indexes", edit(func(c map[string]any) { tables(c)[0].(map[string]any)["indexes"] = []any{} })},
		{"stored schema garbage", edit(func(c map[string]any) { c["schema"] = map[string]any{"tables": "nope"} })},
		{"tables not a list", edit(func(c map[string]any) { c["tables"] = "workflows" })},
		{"two tables with one number", edit(func(c map[string]any) {
			ts := tables(c)
			ts[1].(map[string]any)["number"] = ts[0].(map[string]any)["number"]
		})},
		{"two indexes with one id", edit(func(c map[string]any) {
			ts := tables(c)
			a := ts[0].(map[string]any)["indexes"].([]any)
			b := ts[1].(map[string]any)["indexes"].([]any)
			b[0].(map[string]any)["id"] = a[0].(map[string]any)["id"]
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := corruptCopy(t, data)
			mustEditKV(t, path, func(_ kv.Snapshot, b *kv.Batch) {
				if len(tc.catalog) == 0 {
					b.Delete(corruptKeyCatalog)
					return
				}
				b.Put(corruptKeyCatalog, tc.catalog)
			})
			if got := corruptOutcome(t, path); got == "" {
				t.Fatalf("a catalog garbled as %q went unnoticed", tc.name)
			}
		})
	}
}

// TestDB_Check_IndexDrift changes index entries behind the engine's back.
func TestDB_Check_IndexDrift(t *testing.T) {
	_, data := mustLivedbFile(t)
	tests := []struct {
		name   string
		damage func(t *testing.T, snap kv.Snapshot, b *kv.Batch)
		want   string // in Check's message
	}{
		{"index entry deleted", func(t *testing.T, snap kv.Snapshot, b *kv.Batch) {
			k, _ := kvFirstKey(t, snap, corruptIndexPrefix(t, snap, "workflows", "by_status"))
			b.Delete(k)
		}, "missing entry in index by_status"},
		{"creation-time entry deleted", func(t *testing.T, snap kv.Snapshot, b *kv.Batch) {
			k, _ := kvFirstKey(t, snap, corruptIndexPrefix(t, snap, "agentSessions", "by_creation_time"))
			b.Delete(k)
		}, "by_creation_time"},
		{"document deleted, entries kept", func(t *testing.T, snap kv.Snapshot, b *kv.Batch) {
			k, _ := kvFirstKey(t, snap, corruptIndexPrefix(t, snap, "workflows", "by_id"))
			b.Delete(k)
		}, "entry for missing document"},
		{"entry points at another document", func(t *testing.T, snap kv.Snapshot, b *kv.Batch) {
			// The first entry's fields with the second entry's _id (an
			// entry's key ends with its _id's 16-byte internal id).
			p := corruptIndexPrefix(t, snap, "agentSessions", "by_workflow")
			k0, _ := kvNthKey(t, snap, p, 0)
			k1, _ := kvNthKey(t, snap, p, 1)
			k := append(bytes.Clone(k0[:len(k0)-16]), k1[len(k1)-16:]...)
			b.Put(k, []byte{})
		}, "stale entry"},
		{"entry holds a value", func(t *testing.T, snap kv.Snapshot, b *kv.Batch) {
			// An index entry is its key alone: a value is damage.
			p := corruptIndexPrefix(t, snap, "agentSessions", "by_workflow")
			k0, _ := kvNthKey(t, snap, p, 0)
			b.Put(k0, bytes.Clone(k0[len(k0)-33:len(k0)-1]))
		}, "holds a value"},
		{"document changed, index not", func(t *testing.T, snap kv.Snapshot, b *kv.Batch) {
			k, v := kvFirstKey(t, snap, corruptIndexPrefix(t, snap, "workflows", "by_id"))
			doc, err := value.DecodeStoredDocument(v, corruptDocID(t, snap, "workflows", k))
			if err != nil {
				t.Fatal(err)
			}
			if doc["status"] == "failed" {
				doc["status"] = "pending"
			} else {
				doc["status"] = "failed"
			}
			enc, err := value.EncodeStoredDocument(doc)
			if err != nil {
				t.Fatal(err)
			}
			b.Put(k, enc)
		}, "by_status"},
		{"document bytes garbled", func(t *testing.T, snap kv.Snapshot, b *kv.Batch) {
			k, _ := kvFirstKey(t, snap, corruptIndexPrefix(t, snap, "workflows", "by_id"))
			b.Put(k, []byte{0xde, 0xad, 0xbe, 0xef})
		}, "workflows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := mustCheckDamaged(t, data, tc.damage)
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %q, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestWriter_Patch_StoredDocumentInObjectForm: a stored document in the
// object form (value.Encode, _id and _creationTime among its fields: a
// damaged value, or a file of an older format) must make writes to it fail
// with an error, not panic.
func TestWriter_Patch_StoredDocumentInObjectForm(t *testing.T) {
	_, data := mustLivedbFile(t)
	writes := map[string]func(w *livedb.Writer, id livedb.ID) error{
		"patch": func(w *livedb.Writer, id livedb.ID) error { return w.Patch(id, livedb.Doc{"status": "failed"}) },
		"replace": func(w *livedb.Writer, id livedb.ID) error {
			return w.Replace(id, livedb.Doc{"task": "t", "status": "failed"})
		},
		"delete": func(w *livedb.Writer, id livedb.ID) error { return w.Delete(id) },
	}
	for name, write := range writes {
		t.Run(name, func(t *testing.T) {
			path := corruptCopy(t, data)
			var id livedb.ID
			mustEditKV(t, path, func(snap kv.Snapshot, b *kv.Batch) {
				k, v := kvFirstKey(t, snap, corruptIndexPrefix(t, snap, "workflows", "by_id"))
				id = corruptDocID(t, snap, "workflows", k)
				doc, err := value.DecodeStoredDocument(v, id)
				if err != nil {
					t.Fatal(err)
				}
				b.Put(k, value.Encode(doc))
			})
			db, err := livedb.Open(path, agentSchema(), &livedb.Options{NoSync: true})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			err = func() (err error) {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("panic: %v", r)
					}
				}()
				return db.Mutation(context.Background(), func(m *livedb.MutationCtx) error { return write(m.DB, id) })
			}()
			if err == nil || strings.HasPrefix(err.Error(), "panic:") {
				t.Fatalf("%s of a stored document in the object form: %v, want an error wrapping ErrNotLivedb or ErrCorrupt", name, err)
			}
			if !errors.Is(err, livedb.ErrNotLivedb) && !errors.Is(err, livedb.ErrCorrupt) {
				t.Fatalf("%s: %v wraps neither ErrNotLivedb nor ErrCorrupt", name, err)
			}
		})
	}
}

// TestDB_StoredDocumentWithAnotherID stores a document's bytes under the
// by_id key of another. A stored document does not hold its _id: the key
// gives it, so a get and a query of that key hand out a document whose
// _id is the one asked for (never the other's), and Check reports the
// damage (the document's index entries are the other's).
func TestDB_StoredDocumentWithAnotherID(t *testing.T) {
	_, data := mustLivedbFile(t)
	path := corruptCopy(t, data)
	var victim, other livedb.ID
	mustEditKV(t, path, func(snap kv.Snapshot, b *kv.Batch) {
		p := corruptIndexPrefix(t, snap, "workflows", "by_id")
		k0, _ := kvNthKey(t, snap, p, 0)
		k1, v1 := kvNthKey(t, snap, p, 1)
		victim, other = corruptDocID(t, snap, "workflows", k0), corruptDocID(t, snap, "workflows", k1)
		b.Put(k0, v1)
	})
	db, err := livedb.Open(path, agentSchema(), &livedb.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	err = db.Query(ctx, func(q *livedb.QueryCtx) error {
		d, ok, err := q.DB.Get(victim)
		if err != nil || !ok || d["_id"] != victim {
			t.Errorf("Get(%s) = %v, %v, %v, want the document with _id %s (not %s)", victim, d, ok, err, victim, other)
		}
		docs, err := q.DB.Query("workflows").WithIndex("by_id", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Eq("_id", string(victim))
		}).Collect()
		if err != nil || len(docs) != 1 || docs[0]["_id"] != victim {
			t.Errorf("query by_id of %s = %v, %v, want the document with _id %s", victim, docs, err, victim)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Check(ctx); !errors.Is(err, livedb.ErrCorrupt) {
		t.Errorf("Check = %v, want ErrCorrupt", err)
	}
}

// corruptDocID returns the _id of the document of table whose by_id key
// is k: the text of the table's number and the key's last 16 bytes (its
// internal id).
func corruptDocID(t *testing.T, snap kv.Snapshot, table string, k []byte) livedb.ID {
	t.Helper()
	c := corruptReadCatalog(t, snap)
	for _, tb := range c.Tables {
		if tb.Name == table && len(k) >= 16 {
			return livedb.ID(id.AppendText(nil, tb.Number, [16]byte(k[len(k)-16:])))
		}
	}
	t.Fatalf("no table %s in the catalog", table)
	return ""
}

// mustCheckDamaged applies damage to a copy of the database file data,
// opens it and returns Check's error, which must wrap ErrCorrupt.
func mustCheckDamaged(t *testing.T, data []byte, damage func(t *testing.T, snap kv.Snapshot, b *kv.Batch)) error {
	t.Helper()
	path := corruptCopy(t, data)
	mustEditKV(t, path, func(snap kv.Snapshot, b *kv.Batch) { damage(t, snap, b) })
	db, err := livedb.Open(path, agentSchema(), &livedb.Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	err = db.Check(context.Background())
	if !errors.Is(err, livedb.ErrCorrupt) {
		t.Fatalf("Check = %v, want ErrCorrupt", err)
	}
	return err
}

package livedb_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/livedbtest"
)

// maxMessage bounds the error messages of damaged files below: with the
// stored bytes quoted whole, each would be longer than the damage.
const maxMessage = 4096

// TestDB_Check_LongStoredBytes damages index entries with a long value and
// a long key: Check's message names them with their length and quotes only
// their first bytes. A garbled length in a file can claim gigabytes, and a
// message that quoted them all took as much memory (1 GB in
// TestOpen_AlteredPages).
func TestDB_Check_LongStoredBytes(t *testing.T) {
	_, data := mustLivedbFile(t)
	tests := []struct {
		name   string
		damage func(t *testing.T, snap kv.Snapshot, b *kv.Batch)
		want   []string // in Check's message
	}{
		{"entry value", func(t *testing.T, snap kv.Snapshot, b *kv.Batch) {
			k, _ := kvFirstKey(t, snap, corruptIndexPrefix(t, snap, "agentSessions", "by_workflow"))
			b.Put(k, bytes.Repeat([]byte("x"), 1<<20))
		}, []string{"holds a value", "... (1048576 bytes)"}},
		{"entry key", func(t *testing.T, snap kv.Snapshot, b *kv.Batch) {
			p := corruptIndexPrefix(t, snap, "agentSessions", "by_workflow")
			b.Put(append(p, bytes.Repeat([]byte{0xff}, 30000)...), nil)
		}, []string{"does not end with an ID", "... (30005 bytes)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := mustCheckDamaged(t, data, tc.damage)
			msg := err.Error()
			for _, want := range tc.want {
				if !strings.Contains(msg, want) {
					t.Errorf("Check's message does not mention %q:\n%.2000s", want, msg)
				}
			}
			if len(msg) > maxMessage {
				t.Errorf("Check's message has %d bytes, want at most %d:\n%.2000s", len(msg), maxMessage, msg)
			}
		})
	}
}

// TestQuery_Collect_DanglingLongEntry reads an index entry whose document is
// gone and whose key is long: the error quotes the first bytes of the key
// and its length.
func TestQuery_Collect_DanglingLongEntry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dangling.db")
	db := mustOpenFile(t, path, agentSchema(), &livedb.Options{NoSync: true})
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		wf, err := m.DB.Insert("workflows", livedb.Doc{"task": "t", "status": "pending"})
		if err != nil {
			return err
		}
		_, err = m.DB.Insert("agentSessions", livedb.Doc{"workflowId": wf, "agentType": "coder", "status": strings.Repeat("s", 1000)})
		return err
	})
	livedbtest.MustCheckClose(t, db)
	mustEditKV(t, path, func(snap kv.Snapshot, b *kv.Batch) {
		k, _ := kvFirstKey(t, snap, corruptIndexPrefix(t, snap, "agentSessions", "by_id"))
		b.Delete(k) // the document; its index entries stay
	})
	db = mustOpenFile(t, path, agentSchema(), &livedb.Options{NoSync: true})
	defer db.Close()
	err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		_, err := q.DB.Query("agentSessions").WithIndex("by_workflow_and_status", func(r livedb.IndexRange) livedb.IndexRange { return r }).Collect()
		return err
	})
	if !errors.Is(err, livedb.ErrCorrupt) {
		t.Fatalf("Collect = %v, want ErrCorrupt", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "for a document that does not exist") || !strings.Contains(msg, " bytes)") {
		t.Errorf("the error does not name the dangling entry and its length:\n%.2000s", msg)
	}
	if len(msg) > maxMessage/4 {
		t.Errorf("the error has %d bytes, want at most %d:\n%.2000s", len(msg), maxMessage/4, msg)
	}
}

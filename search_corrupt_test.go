package livedb_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/livedbtest"
)

// searchIndexPrefix returns the key prefix of a search index, read from the
// stored catalog, or nil when the catalog lists none of that name.
func searchIndexPrefix(t *testing.T, snap kv.Snapshot, table, index string) []byte {
	t.Helper()
	b, ok, err := snap.Get(corruptKeyCatalog)
	require.NoError(t, err)
	require.True(t, ok)
	var cat struct {
		Tables []struct {
			Name   string `json:"name"`
			Search []struct {
				Name string `json:"name"`
				ID   uint32 `json:"id"`
			} `json:"search"`
		} `json:"tables"`
	}
	require.NoError(t, json.Unmarshal(b, &cat))
	for _, tb := range cat.Tables {
		for _, s := range tb.Search {
			if tb.Name == table && s.Name == index {
				p := binary.BigEndian.AppendUint32([]byte{0x01}, s.ID)
				return p[:len(p):len(p)] // appends copy
			}
		}
	}
	return nil
}

// TestDB_Check_SearchIndexDamage damages a search index in a closed file
// in three ways and checks that Check names each.
func TestDB_Check_SearchIndexDamage(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(prefix []byte, snap kv.Snapshot, b *kv.Batch)
		want string
	}{
		{"posting lost", func(prefix []byte, snap kv.Snapshot, b *kv.Batch) {
			it := snap.Iter(append(prefix, 'p'), append(prefix, 'q'), false)
			defer it.Close()
			require.True(t, it.Next())
			b.Delete(append([]byte(nil), it.Key()...))
		}, "missing entry"},
		{"stale posting", func(prefix []byte, snap kv.Snapshot, b *kv.Batch) {
			b.Put(append(append(prefix, 'p'), "ghost\x00j57abc"...), []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0})
		}, "stale entry"},
		{"statistics off", func(prefix []byte, snap kv.Snapshot, b *kv.Batch) {
			b.Put(append(prefix, 's'), []byte{99, 99})
		}, "the documents give"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "search.db")
			db, err := livedb.Open(path, searchSchema(), &livedb.Options{NoSync: true})
			require.NoError(t, err)
			mustMutate(t, db, func(m *livedb.MutationCtx) error {
				_, err := m.DB.Insert("notes", livedb.Doc{"body": "fix the login bug", "status": "todo"})
				return err
			})
			livedbtest.MustCheckClose(t, db)
			mustEditKV(t, path, func(snap kv.Snapshot, b *kv.Batch) {
				tc.edit(searchIndexPrefix(t, snap, "notes", "search_body"), snap, b)
			})
			db, err = livedb.Open(path, searchSchema(), &livedb.Options{NoSync: true})
			require.NoError(t, err)
			defer db.Close()
			err = db.Check(context.Background())
			require.ErrorIs(t, err, livedb.ErrCorrupt)
			require.Contains(t, err.Error(), `search index search_body`)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

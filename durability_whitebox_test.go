package livedb

import (
	"path/filepath"
	"testing"

	"github.com/livedb-go/livedb/internal/kv/bboltkv"
)

// TestOpen_NoSync checks that a database file syncs its commits unless
// Options.NoSync asks otherwise: with fsync off, a crash of the machine
// loses acknowledged commits and no other test notices. By default the
// write-ahead log syncs (TestDB_Mutation_SyncBeforeAck traces it) and
// bbolt does not; with NoWAL bbolt syncs each commit.
func TestOpen_NoSync(t *testing.T) {
	tests := []struct {
		name    string
		opts    *Options
		want    bool // bbolt's own NoSync
		wantWAL bool
	}{
		{"nil options", nil, true, true},
		{"zero options", &Options{}, true, true},
		{"NoWAL", &Options{NoWAL: true}, false, false},
		{"NoSync", &Options{NoSync: true}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(filepath.Join(t.TempDir(), "test.db"), failSchema(), tc.opts)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			var s *bboltkv.Store
			switch st := db.store.(type) {
			case *bboltkv.Store:
				s = st
				if tc.wantWAL {
					t.Fatalf("the store has no write-ahead log with %+v", tc.opts)
				}
			case *walStore:
				s = st.Store // bbolt syncs nothing itself: the log does
				if !tc.wantWAL {
					t.Fatalf("the store has a write-ahead log with %+v", tc.opts)
				}
			}
			if s == nil {
				t.Fatalf("the store of a file database is a %T, want *bboltkv.Store", db.store)
			}
			if got := s.NoSync(); got != tc.want {
				t.Fatalf("NoSync() = %v, want %v", got, tc.want)
			}
		})
	}
}

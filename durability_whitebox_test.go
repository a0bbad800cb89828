package livedb

import (
	"path/filepath"
	"testing"

	"github.com/livedb-go/livedb/internal/kv/walkv"
)

// TestOpen_NoSync checks that a database file syncs its commits unless
// Options.NoSync asks otherwise: with fsync off, a crash of the machine
// loses acknowledged commits and no other test notices.
func TestOpen_NoSync(t *testing.T) {
	tests := []struct {
		name string
		opts *Options
		want bool
	}{
		{"nil options", nil, false},
		{"zero options", &Options{}, false},
		{"NoSync", &Options{NoSync: true}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(filepath.Join(t.TempDir(), "test.db"), failSchema(), tc.opts)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			s, ok := db.store.(*walkv.Store)
			if !ok {
				t.Fatalf("the store of a file database is a %T, want *walkv.Store", db.store)
			}
			if got := s.NoSync(); got != tc.want {
				t.Fatalf("NoSync() = %v, want %v", got, tc.want)
			}
		})
	}
}

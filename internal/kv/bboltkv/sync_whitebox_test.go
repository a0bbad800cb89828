package bboltkv

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// recordSyncDir replaces syncDir for the test: calls are recorded and fail
// with err.
func recordSyncDir(t *testing.T, err error) *[]string {
	t.Helper()
	var calls []string
	old := syncDir
	syncDir = func(dir string) error {
		calls = append(calls, dir)
		return err
	}
	t.Cleanup(func() { syncDir = old })
	return &calls
}

// TestOpen_SyncDir_Created checks that Open fsyncs the directory of a file
// it creates or initialises, and only then: a crash of the machine could
// otherwise lose the new file with every commit acknowledged in it.
func TestOpen_SyncDir_Created(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, path string) // prepares the file
		opts     *Options
		wantSync bool
	}{
		{"new file", func(*testing.T, string) {}, nil, true},
		{"empty file", func(t *testing.T, path string) { writeFile(t, path, nil) }, nil, true},
		{"existing database", func(t *testing.T, path string) { mustCreate(t, path) }, nil, false},
		{"read-only", func(t *testing.T, path string) { mustCreate(t, path) }, &Options{ReadOnly: true}, false},
		{"NoSync", func(*testing.T, string) {}, &Options{NoSync: true}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "test.db")
			tc.setup(t, path)
			calls := recordSyncDir(t, nil)
			s, err := Open(path, tc.opts)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			var want []string
			if tc.wantSync {
				want = []string{dir}
			}
			if !slices.Equal(*calls, want) {
				t.Fatalf("directories synced = %q, want %q", *calls, want)
			}
		})
	}
}

// TestOpen_SyncDir_Error checks that a failed fsync of the directory fails
// Open, naming the file, and releases the file.
func TestOpen_SyncDir_Error(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	errSync := errors.New("injected directory sync error")
	recordSyncDir(t, errSync)
	s, err := Open(path, &Options{Timeout: 100 * time.Millisecond})
	if !errors.Is(err, errSync) {
		if s != nil {
			_ = s.Close()
		}
		t.Fatalf("Open with a failing directory sync = %v, want the sync error", err)
	}
	recordSyncDir(t, nil)
	s, err = Open(path, &Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open after the failed one: %v (the failed Open kept the file)", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// mustCreate creates a store at path, without the syncDir hook.
func mustCreate(t *testing.T, path string) {
	t.Helper()
	s, err := Open(path, &Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

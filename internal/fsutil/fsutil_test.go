package fsutil_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/livedb-go/livedb/internal/fsutil"
)

func TestSyncDir_Exists(t *testing.T) {
	if err := fsutil.SyncDir(t.TempDir()); err != nil {
		t.Fatalf("SyncDir(temp dir): %v", err)
	}
}

func TestSyncDir_Missing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	err := fsutil.SyncDir(dir)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("SyncDir(%s) = %v, want an error wrapping fs.ErrNotExist", dir, err)
	}
}

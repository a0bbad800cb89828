//go:build !unix

package fsutil

import (
	"fmt"
	"os"
)

// SyncDir checks that dir is a directory and does nothing more: outside
// Unix, Go cannot open a directory to fsync it.
func SyncDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("fsutil: sync directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("fsutil: sync directory %s: not a directory", dir)
	}
	return nil
}

//go:build unix

package fsutil

import (
	"fmt"
	"os"
)

// SyncDir fsyncs the directory dir, which makes the creation, removal or
// renaming of the files in it durable.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsutil: sync directory: %w", err)
	}
	serr := f.Sync()
	cerr := f.Close()
	switch {
	case serr != nil:
		return fmt.Errorf("fsutil: sync directory %s: %w", dir, serr)
	case cerr != nil:
		return fmt.Errorf("fsutil: sync directory %s: close: %w", dir, cerr)
	}
	return nil
}

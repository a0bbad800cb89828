//go:build !linux

package fsutil

import "os"

// ReadDirNames returns the names in the directory dir, without . and ..;
// its errors are *os.PathError (see the Linux version for why it exists).
func ReadDirNames(dir string) ([]string, error) {
	d, err := OpenFile(dir, os.O_RDONLY, 0) // os.ReadDir, without the runtime's poller
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close()
	return names, err
}

//go:build !unix

package fsutil

import "os"

// OpenFile is os.OpenFile (see the Unix version for why it exists).
func OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag, perm)
}

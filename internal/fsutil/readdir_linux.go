package fsutil

import (
	"os"
	"syscall"
)

// ReadDirNames returns the names in the directory dir, without . and ..,
// in the order the file system gives them; its errors are *os.PathError,
// so errors.Is(err, os.ErrNotExist) tells a missing directory. It is
// os.File.Readdirnames without an *os.File: no fcntl, no finalizer, and
// a small buffer on the stack instead of the 8 KiB one os allocates,
// which in a fresh process is a new span of the heap and its page faults
// (an Open lists its log's directory once, W7 of issue 19).
func ReadDirNames(dir string) ([]string, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer syscall.Close(fd)
	var buf [512]byte // a few entries a call: a log directory holds a few segments
	var names []string
	for {
		n, err := syscall.Getdents(fd, buf[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "readdirent", Path: dir, Err: err}
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = syscall.ParseDirent(buf[:n], -1, names)
	}
}

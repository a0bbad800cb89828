//go:build unix

package fsutil

import (
	"os"
	"syscall"
)

// OpenFile is os.OpenFile for a regular file or a directory that is read
// and written with blocking calls (a database file, a log segment, a
// directory listed once), without registering it with the runtime's
// network poller. os.OpenFile tries that for every file: on Linux it costs
// four fcntl calls and an epoll_ctl that fails for a regular file, and the
// first one in a process creates the poller (three more system calls),
// which an open of a database pays for nothing. The file is opened with
// O_CLOEXEC, as os.OpenFile does; its errors are the same *os.PathError.
func OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	for {
		fd, err := syscall.Open(name, flag|syscall.O_CLOEXEC, syscallMode(perm))
		if err == nil {
			return os.NewFile(uintptr(fd), name), nil
		}
		if err != syscall.EINTR {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
	}
}

// syscallMode is os's conversion of a FileMode to open(2)'s mode bits.
func syscallMode(m os.FileMode) uint32 {
	o := uint32(m.Perm())
	if m&os.ModeSetuid != 0 {
		o |= syscall.S_ISUID
	}
	if m&os.ModeSetgid != 0 {
		o |= syscall.S_ISGID
	}
	if m&os.ModeSticky != 0 {
		o |= syscall.S_ISVTX
	}
	return o
}

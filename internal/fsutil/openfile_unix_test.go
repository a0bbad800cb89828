//go:build unix

package fsutil_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/livedb-go/livedb/internal/fsutil"
)

// TestOpenFile_CreateReadWrite checks what os.OpenFile gives: the file is
// created with the permission asked, written and read back, closed on exec,
// and its name is the path.
func TestOpenFile_CreateReadWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := fsutil.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	defer f.Close()
	if f.Name() != path {
		t.Errorf("Name() = %q, want %q", f.Name(), path)
	}
	if _, err := f.WriteAt([]byte("hello"), 3); err != nil {
		t.Fatalf("WriteAt: %v", err)
	}
	buf := make([]byte, 5)
	if _, err := f.ReadAt(buf, 3); err != nil || string(buf) != "hello" {
		t.Fatalf("ReadAt = %q, %v; want hello, nil", buf, err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != 8 {
		t.Errorf("mode %v size %d, want -rw------- and 8", fi.Mode(), fi.Size())
	}
	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), syscall.F_GETFD, 0)
	if errno != 0 || flags&syscall.FD_CLOEXEC == 0 {
		t.Errorf("F_GETFD = %#x, %v: want FD_CLOEXEC set", flags, errno)
	}
	if _, err := fsutil.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); !errors.Is(err, fs.ErrExist) {
		t.Errorf("O_EXCL on an existing file: %v, want fs.ErrExist", err)
	}
}

// TestOpenFile_Errors checks that errors are os.OpenFile's *fs.PathError.
func TestOpenFile_Errors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing")
	_, err := fsutil.OpenFile(path, os.O_RDONLY, 0)
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Op != "open" || pe.Path != path || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenFile(missing) = %v, want *fs.PathError{open %s} wrapping fs.ErrNotExist", err, path)
	}
}

// TestOpenFile_Directory checks that a directory opens for listing.
func TestOpenFile_Directory(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d, err := fsutil.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil || len(names) != 2 {
		t.Fatalf("Readdirnames = %q, %v; want 2 names", names, err)
	}
}

package fsutil_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/fsutil"
)

func TestReadDirNames_MatchesReadDir(t *testing.T) {
	for _, n := range []int{0, 1, 3, 200} { // 200 names take many reads of the buffer
		dir := t.TempDir()
		for i := range n {
			name := strings.Repeat("x", i%250+1) + "-" + string(rune('a'+i%26)) + filepath.Base(t.TempDir())
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, e := range entries {
			want = append(want, e.Name())
		}
		got, err := fsutil.ReadDirNames(dir)
		if err != nil {
			t.Fatalf("ReadDirNames with %d files: %v", n, err)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("ReadDirNames with %d files gives %d names %q, os.ReadDir %d", n, len(got), got, len(want))
		}
	}
}

func TestReadDirNames_Missing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	_, err := fsutil.ReadDirNames(dir)
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Path != dir {
		t.Fatalf("ReadDirNames(%s) = %v, want a *fs.PathError for it wrapping fs.ErrNotExist", dir, err)
	}
}

func TestReadDirNames_NotDirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if names, err := fsutil.ReadDirNames(f); err == nil {
		t.Fatalf("ReadDirNames(a file) = %q, nil; want an error", names)
	}
}

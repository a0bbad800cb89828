package bboltkv_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
)

// newestMeta returns the offset of the newest meta page of a bbolt file
// (the one with the higher transaction id).
func newestMeta(data []byte, pageSize int) int {
	if binary.NativeEndian.Uint64(data[pageSize+64:]) > binary.NativeEndian.Uint64(data[64:]) {
		return pageSize
	}
	return 0
}

// setMetaField overwrites the 8-byte field at off (from the start of the
// page) of the meta page at m and recomputes its checksum, so that bbolt
// still takes the page as valid.
func setMetaField(data []byte, m, off int, v uint64) {
	binary.NativeEndian.PutUint64(data[m+off:], v)
	h := fnv.New64a()
	_, _ = h.Write(data[m+16 : m+72])
	binary.NativeEndian.PutUint64(data[m+72:], h.Sum64())
}

// TestOpen_BadFreelist opens files whose meta pages are valid but whose
// freelist is not: a read-write open would read it through the memory map.
// Every case must be refused with ErrCorrupt, naming the file, and leave
// the file as it was.
func TestOpen_BadFreelist(t *testing.T) {
	valid := validFile(t, 2000)
	pageSize := os.Getpagesize()
	m := newestMeta(valid, pageSize)
	freelist, _ := metaFields(valid, pageSize)
	pages := len(valid) / pageSize
	if freelist < 2 || freelist >= pages {
		t.Fatalf("freelist at page %d of %d", freelist, pages)
	}
	edit := func(f func(d []byte)) []byte {
		d := bytes.Clone(valid)
		f(d)
		return d
	}
	fl := freelist * pageSize
	tests := []struct {
		name string
		data []byte
	}{
		{"freelist page zeroed", edit(func(d []byte) { clear(d[fl : fl+pageSize]) })},
		{"freelist page flags", edit(func(d []byte) { binary.NativeEndian.PutUint16(d[fl+8:], 0x02) })},
		{"freelist count beyond its page", edit(func(d []byte) { binary.NativeEndian.PutUint16(d[fl+10:], 0xFFFE) })},
		{"freelist overflow count beyond its page", edit(func(d []byte) {
			binary.NativeEndian.PutUint16(d[fl+10:], 0xFFFF)
			binary.NativeEndian.PutUint64(d[fl+16:], 1<<40)
		})},
		{"freelist overflow pages beyond the file", edit(func(d []byte) { binary.NativeEndian.PutUint32(d[fl+12:], 1<<20) })},
		{"meta: freelist beyond the high-water mark", edit(func(d []byte) { setMetaField(d, m, 48, uint64(pages+5)) })},
		{"meta: freelist on a meta page", edit(func(d []byte) { setMetaField(d, m, 48, 1) })},
		{"meta: high-water mark beyond the file", edit(func(d []byte) { setMetaField(d, m, 56, uint64(pages+1)) })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tempPath(t)
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := bboltkv.Open(path, &bboltkv.Options{Timeout: 100 * time.Millisecond})
			if err == nil {
				s.Close()
				t.Fatal("Open accepted the file")
			}
			if !errors.Is(err, bboltkv.ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
			MustUnchanged(t, path, tc.data)
		})
	}
}

// TestOpen_RefusedFileUntouched checks that a file Open refuses is left
// byte for byte as it was, and that a valid bbolt file of another
// application is not written by Open and Close.
func TestOpen_RefusedFileUntouched(t *testing.T) {
	valid := validFile(t, 2000)
	pageSize := os.Getpagesize()
	tests := []struct {
		name    string
		data    []byte
		wantErr error // nil: opens
	}{
		{"text", []byte(strings.Repeat("not a database\n", 1000)), bboltkv.ErrNotDatabase},
		{"truncated after meta pages", valid[:2*pageSize+10], bboltkv.ErrCorrupt},
		{"truncated by one page", valid[:len(valid)-pageSize], bboltkv.ErrCorrupt},
		{"valid", valid, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path, s, err := openBytes(t, tc.data, tc.wantErr)
			if err == nil {
				if got := MustGet(t, s, "key000007"); len(got) != 100 {
					t.Fatalf("Get = %q", got)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
			MustUnchanged(t, path, tc.data)
		})
	}
}

// TestOpen_FirstMetaBroken opens files whose first meta page is damaged:
// the direct check of the meta pages cannot decide, and Open falls back to
// bbolt's own reading of the file.
func TestOpen_FirstMetaBroken(t *testing.T) {
	path := tempPath(t)
	s := MustOpen(t, path, &bboltkv.Options{NoSync: true})
	for half := range 2 { // the second commit writes meta page 1
		var b kv.Batch
		for i := range 1000 {
			b.Put(fmt.Appendf(nil, "key%06d", half*1000+i), bytes.Repeat([]byte{'v'}, 100))
		}
		if err := s.Commit(&b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	pageSize := os.Getpagesize()
	broken, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if newestMeta(broken, pageSize) != pageSize {
		t.Fatal("meta page 1 is not the newest")
	}
	hwm := int(binary.NativeEndian.Uint64(broken[pageSize+56:])) * pageSize
	broken = broken[:hwm]
	broken[64] ^= 0xff // txid of meta page 0: its checksum fails
	tests := []struct {
		name    string
		data    []byte
		wantErr error
	}{
		{"meta page 1 valid", broken, nil},
		{"meta page 1 valid, file truncated", broken[:len(broken)-pageSize], bboltkv.ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, s, err := openBytes(t, tc.data, tc.wantErr)
			if err != nil {
				return
			}
			defer s.Close()
			for i := range 2000 {
				if got := MustGet(t, s, fmt.Sprintf("key%06d", i)); len(got) != 100 {
					t.Fatalf("Get(key%06d) = %q", i, got)
				}
			}
		})
	}
}

// openBytes writes data to a new file and opens it, failing the test unless
// the error is wantErr (nil: success).
func openBytes(t *testing.T, data []byte, wantErr error) (string, *bboltkv.Store, error) {
	t.Helper()
	path := tempPath(t)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := bboltkv.Open(path, &bboltkv.Options{Timeout: 100 * time.Millisecond})
	if !errors.Is(err, wantErr) {
		t.Fatalf("Open = %v, want %v", err, wantErr)
	}
	return path, s, err
}

// MustUnchanged fails the test unless the file at path holds want.
func MustUnchanged(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the file changed: %d bytes, was %d", len(got), len(want))
	}
}

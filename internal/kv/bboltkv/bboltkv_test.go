package bboltkv_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/internal/kv/kvtest"
)

// MustOpen opens a store at path and closes it when the test ends, after
// checking the file's consistency.
func MustOpen(t *testing.T, path string, opts *bboltkv.Options) *bboltkv.Store {
	t.Helper()
	s, err := bboltkv.Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil && !errors.Is(err, kv.ErrClosed) {
			t.Errorf("Check: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// MustCommit commits alternating key, value strings.
func MustCommit(t *testing.T, s kv.Store, kvs ...string) {
	t.Helper()
	var b kv.Batch
	for i := 0; i+1 < len(kvs); i += 2 {
		b.Put([]byte(kvs[i]), []byte(kvs[i+1]))
	}
	if err := s.Commit(&b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// MustGet returns the value at key, or "-" when it is absent.
func MustGet(t *testing.T, s kv.Store, key string) string {
	t.Helper()
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	defer sn.Release()
	v, ok, err := sn.Get([]byte(key))
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !ok {
		return "-"
	}
	return string(v)
}

func tempPath(t *testing.T) string {
	return filepath.Join(t.TempDir(), "test.db")
}

func TestStore_Conformance(t *testing.T) {
	// NoSync only changes whether bbolt calls fdatasync; TestOpen_Reopen
	// covers synced commits. Synced, this suite takes seconds.
	kvtest.Run(t, func(t *testing.T) kv.Store {
		return MustOpen(t, tempPath(t), &bboltkv.Options{NoSync: true})
	})
}

func TestOpen_Reopen(t *testing.T) {
	for _, noSync := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoSync=%v", noSync), func(t *testing.T) {
			path := tempPath(t)
			s, err := bboltkv.Open(path, &bboltkv.Options{NoSync: noSync})
			if err != nil {
				t.Fatal(err)
			}
			MustCommit(t, s, "a", "1", "b", "2")
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = MustOpen(t, path, &bboltkv.Options{NoSync: noSync})
			if got := MustGet(t, s, "a") + MustGet(t, s, "b"); got != "12" {
				t.Fatalf("after reopen a+b = %q, want \"12\"", got)
			}
			if s.Path() != path {
				t.Fatalf("Path() = %q, want %q", s.Path(), path)
			}
		})
	}
}

// TestOpen_NoSync checks that a store syncs its commits unless asked not
// to: with fsync off, a crash of the machine loses acknowledged commits,
// and no other test would notice.
func TestOpen_NoSync(t *testing.T) {
	tests := []struct {
		name string
		opts *bboltkv.Options
		want bool
	}{
		{"nil options", nil, false},
		{"zero options", &bboltkv.Options{}, false},
		{"NoSync", &bboltkv.Options{NoSync: true}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := MustOpen(t, tempPath(t), tc.opts)
			if got := s.NoSync(); got != tc.want {
				t.Fatalf("NoSync() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOpen_ReadOnly(t *testing.T) {
	path := tempPath(t)
	s, err := bboltkv.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	MustCommit(t, s, "a", "1")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Two read-only stores share the file.
	ro1 := MustOpen(t, path, &bboltkv.Options{ReadOnly: true})
	ro2 := MustOpen(t, path, &bboltkv.Options{ReadOnly: true})
	if got := MustGet(t, ro1, "a") + MustGet(t, ro2, "a"); got != "11" {
		t.Fatalf("read-only reads = %q, want \"11\"", got)
	}
	err = ro1.Commit(&kv.Batch{Ops: []kv.Op{{Key: []byte("b")}}})
	if !errors.Is(err, bboltkv.ErrReadOnly) || !errors.Is(err, kv.ErrRejected) {
		t.Fatalf("Commit on a read-only store = %v, want ErrReadOnly and kv.ErrRejected", err)
	}
}

func TestOpen_ReadOnlyMissingFile(t *testing.T) {
	_, err := bboltkv.Open(tempPath(t), &bboltkv.Options{ReadOnly: true})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open = %v, want an os.ErrNotExist error", err)
	}
}

func TestOpen_EmptyPath(t *testing.T) {
	if _, err := bboltkv.Open("", nil); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}

// TestOpen_ForeignBucket opens a valid bbolt file written by someone else:
// it opens as an empty store, and the other bucket survives a commit.
func TestOpen_ForeignBucket(t *testing.T) {
	path := tempPath(t)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("other"))
		if err != nil {
			return err
		}
		return b.Put([]byte("x"), []byte("y"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := MustOpen(t, path, nil)
	if got := MustGet(t, s, "x"); got != "-" {
		t.Fatalf("Get(x) = %q in a store without the %s bucket", got, bboltkv.BucketName)
	}
	MustCommit(t, s, "a", "1")
	if got := MustGet(t, s, "a"); got != "1" {
		t.Fatalf("Get(a) = %q, want 1", got)
	}
}

func TestStore_Commit_Limits(t *testing.T) {
	tests := []struct {
		name    string
		key     []byte
		wantErr error
	}{
		{"empty key", nil, bboltkv.ErrEmptyKey},
		{"max key", bytes.Repeat([]byte{'k'}, bboltkv.MaxKeySize), nil},
		{"key too large", bytes.Repeat([]byte{'k'}, bboltkv.MaxKeySize+1), bboltkv.ErrKeyTooLarge},
	}
	s := MustOpen(t, tempPath(t), &bboltkv.Options{NoSync: true})
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first := fmt.Sprintf("first%d", i)
			var b kv.Batch
			b.Put([]byte(first), []byte("1"))
			b.Put(tc.key, []byte("v"))
			err := s.Commit(&b)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Commit = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil && !errors.Is(err, kv.ErrRejected) {
				t.Fatalf("Commit = %v, want it to wrap kv.ErrRejected (nothing written)", err)
			}
			want := "1"
			if tc.wantErr != nil {
				want = "-"
			}
			if got := MustGet(t, s, first); got != want {
				t.Fatalf("Get(%s) = %q, want %q", first, got, want)
			}
		})
	}
}

// TestStore_Commit_GrowWhileSnapshotOpen commits 8 MiB from the goroutine
// that holds a snapshot. The file outgrows bbolt's minimum memory map many
// times; with the default Options.InitialMmapSize no remap is needed, so
// the commits do not wait for the snapshot (which would deadlock).
func TestStore_Commit_GrowWhileSnapshotOpen(t *testing.T) {
	s := MustOpen(t, tempPath(t), &bboltkv.Options{NoSync: true})
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Release()
	value := bytes.Repeat([]byte{'v'}, 1024)
	for i := 0; i < 8; i++ {
		var b kv.Batch
		for j := 0; j < 1024; j++ {
			b.Put(fmt.Appendf(nil, "key%02d%04d", i, j), value)
		}
		if err := s.Commit(&b); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, err := sn.Get([]byte("key000000")); err != nil || ok {
		t.Fatalf("the snapshot sees a later commit: %v, %v", ok, err)
	}
	if got := MustGet(t, s, "key070000"); len(got) != 1024 {
		t.Fatalf("Get after the commits = %d bytes", len(got))
	}
}

// helperEnv gates TestHelperProcess: when set to a path, the test binary
// opens that file, prints "ready" and holds it until stdin closes.
const helperEnv = "LIVEDB_BBOLTKV_HELPER_PATH"

// TestHelperProcess is not a test: TestOpen_Locked runs the test binary
// again with only this function, in a child process that holds the file.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		return // not a child process
	}
	s, err := bboltkv.Open(path, nil)
	if err != nil {
		fmt.Printf("open failed: %v\n", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = s.Close()
	os.Exit(0)
}

func TestOpen_Locked(t *testing.T) {
	path := tempPath(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		_ = stdin.Close()
		_ = cmd.Wait()
		t.Fatalf("child process: %q, %v", line, err)
	}

	for _, readOnly := range []bool{false, true} {
		_, err = bboltkv.Open(path, &bboltkv.Options{Timeout: 200 * time.Millisecond, ReadOnly: readOnly})
		if !errors.Is(err, bboltkv.ErrLocked) {
			t.Errorf("Open(ReadOnly=%v) of a file held by another process = %v, want ErrLocked", readOnly, err)
		} else if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "200ms") {
			t.Errorf("ErrLocked message %q lacks the path or the wait", err)
		}
	}

	if err := stdin.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child process: %v", err)
	}
	s := MustOpen(t, path, &bboltkv.Options{Timeout: 200 * time.Millisecond})
	MustCommit(t, s, "a", "1")
}

// TestOpen_LockedInProcess opens the same file twice in one process: bbolt
// locks per open file, so the second Open fails too.
func TestOpen_LockedInProcess(t *testing.T) {
	path := tempPath(t)
	MustOpen(t, path, nil)
	_, err := bboltkv.Open(path, &bboltkv.Options{Timeout: 100 * time.Millisecond})
	if !errors.Is(err, bboltkv.ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
}

// validFile writes a database of n keys with NoSync and returns its bytes
// up to its high-water mark: bbolt preallocates the file beyond it, and
// cutting that slack off is harmless.
func validFile(t *testing.T, n int) []byte {
	t.Helper()
	path := tempPath(t)
	s, err := bboltkv.Open(path, &bboltkv.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var b kv.Batch
	for i := 0; i < n; i++ {
		b.Put(fmt.Appendf(nil, "key%06d", i), bytes.Repeat([]byte{'v'}, 100))
	}
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin(false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	return data[:tx.Size()]
}

func TestOpen_BadFile(t *testing.T) {
	valid := validFile(t, 2000)
	pageSize := os.Getpagesize()
	if len(valid) < 8*pageSize {
		t.Fatalf("valid file is only %d bytes", len(valid))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	brokenMetas := bytes.Clone(valid)
	brokenMetas[64] ^= 0xff          // txid of meta page 0
	brokenMetas[pageSize+64] ^= 0xff // txid of meta page 1
	oneMeta := bytes.Clone(valid)
	oneMeta[64] ^= 0xff // meta page 1 still valid: bbolt recovers
	text := []byte(strings.Repeat("this is a text file, not a database\n", 400))

	tests := []struct {
		name    string
		data    []byte
		wantErr error // nil: opens
	}{
		{"random bytes", random, bboltkv.ErrNotDatabase},
		{"short text", []byte("hello\n"), bboltkv.ErrNotDatabase},
		{"long text", text, bboltkv.ErrNotDatabase},
		{"truncated to 100 bytes", valid[:100], bboltkv.ErrNotDatabase},
		{"truncated after meta pages", valid[:2*pageSize+10], bboltkv.ErrCorrupt},
		{"truncated to half", valid[:len(valid)/2], bboltkv.ErrCorrupt},
		{"truncated by one page", valid[:len(valid)-pageSize], bboltkv.ErrCorrupt},
		{"both meta checksums broken", brokenMetas, bboltkv.ErrCorrupt},
		{"one meta checksum broken", oneMeta, nil},
		{"valid, cut at its high-water mark", valid, nil},
		{"zero length: a new database", []byte{}, nil},
	}
	for _, tc := range tests {
		for _, readOnly := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ReadOnly=%v", tc.name, readOnly), func(t *testing.T) {
				path := tempPath(t)
				if err := os.WriteFile(path, tc.data, 0o600); err != nil {
					t.Fatal(err)
				}
				s, err := bboltkv.Open(path, &bboltkv.Options{ReadOnly: readOnly, Timeout: 100 * time.Millisecond})
				if readOnly && len(tc.data) == 0 {
					if err == nil {
						s.Close()
						t.Fatal("a read-only Open initialised an empty file")
					}
					return
				}
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("Open = %v, want %v", err, tc.wantErr)
					}
					if !strings.Contains(err.Error(), path) {
						t.Fatalf("error %q does not name the file", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer s.Close()
				if err := s.Check(); err != nil {
					t.Fatalf("Check: %v", err)
				}
			})
		}
	}
}

// TestOpen_BadFileReleasesLock checks that a file that failed to open can be
// opened again once repaired: the failed Open left no lock behind.
func TestOpen_BadFileReleasesLock(t *testing.T) {
	valid := validFile(t, 2000)
	path := tempPath(t)
	if err := os.WriteFile(path, valid[:len(valid)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := bboltkv.Open(path, &bboltkv.Options{Timeout: 100 * time.Millisecond}); !errors.Is(err, bboltkv.ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
	if err := os.WriteFile(path, valid, 0o600); err != nil {
		t.Fatal(err)
	}
	s := MustOpen(t, path, &bboltkv.Options{Timeout: 100 * time.Millisecond})
	if got := MustGet(t, s, "key000007"); len(got) != 100 {
		t.Fatalf("Get = %q", got)
	}
}

// metaFields returns the freelist and root page ids of the newest meta page
// of a bbolt file (bbolt's on-disk layout: a 16-byte page header, then
// magic, version, page size, flags, root bucket {root, sequence},
// freelist, pgid, txid, checksum).
func metaFields(data []byte, pageSize int) (freelist, root int) {
	m := 0
	if binary.NativeEndian.Uint64(data[pageSize+64:]) > binary.NativeEndian.Uint64(data[64:]) {
		m = pageSize
	}
	return int(binary.NativeEndian.Uint64(data[m+48:])), int(binary.NativeEndian.Uint64(data[m+32:]))
}

// garble overwrites bytes of the data pages (not the two meta pages) of a
// bbolt file with random ones: every byte, every byte but those of the
// freelist and root pages and of the page headers, or one byte in fifty,
// and then bounds the value sizes of bucket entries (boundBucketSizes). Mode
// "bucket size" changes only the value size of the first entry of the root
// page (the entry of the livedb bucket) to the length of the file, so that
// the value runs past the end of the file.
func garble(data []byte, pageSize int, mode string, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 5))
	freelist, root := metaFields(data, pageSize)
	if mode == "bucket size" {
		binary.NativeEndian.PutUint32(data[root*pageSize+pageHeaderSize+12:], uint32(len(data)))
		return
	}
	for i := 2 * pageSize; i < len(data); i++ {
		page := i / pageSize
		switch mode {
		case "keep structure":
			if page == freelist || page == root || i%pageSize < 16 {
				continue
			}
		case "sparse":
			if page == freelist || rng.IntN(50) != 0 {
				continue
			}
		}
		data[i] = byte(rng.Uint32())
	}
	boundBucketSizes(data, pageSize)
}

// bbolt's leaf pages: a 16-byte page header (id, flags, count, overflow),
// then count 16-byte elements (flags, pos, key size, value size).
const (
	pageHeaderSize  = 16
	leafElementSize = 16
	leafPageFlag    = 0x02 // page header flags of a leaf page
	bucketLeafFlag  = 0x01 // element flags of a bucket entry
	// maxSliceLen is bbolt's MaxAllocSize on 64-bit platforms: the end, from
	// the element, of the longest value bbolt slices out of a page.
	maxSliceLen = 0x7FFFFFFF
)

// boundBucketSizes lowers to len(data) the value size of every bucket entry
// of the leaf pages of data that claims more. bbolt copies a bucket entry's
// value into a new slice of that size before it reads it, and the race
// detector backs the whole slice with memory: one garbled size of 1.7 GB
// (sparse seed 0 with 4 KiB pages) cost 3.4 GB and 25 s under -race.
// Bounded, the value still runs past the end of the file, so the read fails
// on the same fault. Entries whose value ends beyond maxSliceLen keep their
// size: bbolt fails to slice them before it copies anything, a different
// failure the test keeps.
func boundBucketSizes(data []byte, pageSize int) {
	ne := binary.NativeEndian
	for p := 2 * pageSize; p+pageHeaderSize <= len(data); p += pageSize {
		if ne.Uint16(data[p+8:]) != leafPageFlag {
			continue
		}
		count := int(ne.Uint16(data[p+10:]))
		for e := p + pageHeaderSize; e+leafElementSize <= len(data) && count > 0; e, count = e+leafElementSize, count-1 {
			flags, pos, ksize, vsize := ne.Uint32(data[e:]), uint64(ne.Uint32(data[e+4:])), uint64(ne.Uint32(data[e+8:])), ne.Uint32(data[e+12:])
			if flags&bucketLeafFlag != 0 && vsize > uint32(len(data)) && pos+ksize+uint64(vsize) <= maxSliceLen {
				ne.PutUint32(data[e+12:], uint32(len(data)))
			}
		}
	}
}

// readAll opens the file at path and reads it every way: Get, both
// iteration orders and Check. It returns every error met.
func readAll(path string) []error {
	s, err := bboltkv.Open(path, &bboltkv.Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		return []error{err}
	}
	defer s.Close()
	errs := []error{}
	sn, err := s.Snapshot()
	if err != nil {
		return append(errs, err)
	}
	_, _, err = sn.Get([]byte("key000007"))
	errs = append(errs, err)
	for _, reverse := range []bool{false, true} {
		it := sn.Iter(nil, nil, reverse)
		for it.Next() {
		}
		errs = append(errs, it.Err())
		it.Close()
	}
	sn.Release()
	return append(errs, s.Check())
}

// TestStore_Check_GarbagePages reads files whose data pages hold random
// bytes. Every error must be ErrCorrupt, and nothing may crash (bbolt
// panics and memory faults on a bad page become errors).
func TestStore_Check_GarbagePages(t *testing.T) {
	valid := validFile(t, 2000)
	pageSize := os.Getpagesize()
	tests := []struct {
		mode      string
		seeds     int
		wantError bool // some read must fail: the damage is detectable
	}{
		{"all", 3, true},
		{"keep structure", 10, true},
		{"sparse", 30, false},    // a flipped value byte is not detectable
		{"bucket size", 1, true}, // what sparse seed 0 does with 4 KiB pages, on any page size
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			for seed := range uint64(tc.seeds) {
				data := bytes.Clone(valid)
				garble(data, pageSize, tc.mode, seed)
				path := tempPath(t)
				if err := os.WriteFile(path, data, 0o600); err != nil {
					t.Fatal(err)
				}
				failed := false
				for _, err := range readAll(path) {
					if err != nil && !errors.Is(err, bboltkv.ErrCorrupt) {
						t.Fatalf("seed %d: error %v is not ErrCorrupt", seed, err)
					}
					failed = failed || err != nil
				}
				if tc.wantError && !failed {
					t.Fatalf("seed %d: no read reported the garbage", seed)
				}
			}
		})
	}
}

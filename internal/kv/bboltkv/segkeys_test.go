package bboltkv_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
)

// indexKey returns the key of entry i of index id: tag 0x01, the 4-byte
// id, then a 12-byte sort key.
func indexKey(id byte, i int) []byte {
	return fmt.Appendf([]byte{0x01, 0, 0, 0, id}, "\x10k%09d\x00", i)
}

// mustCommitIndex commits n entries of index id, valued by their number.
func mustCommitIndex(t testing.TB, s kv.Store, id byte, n int) {
	t.Helper()
	var b kv.Batch
	for i := range n {
		b.Put(indexKey(id, i), fmt.Appendf(nil, "%d", i))
	}
	if err := s.Commit(&b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// TestStore_Commit_SegmentKeysWithoutPrefix checks how the file stores an
// index's keys: in the bucket named for their 5-byte prefix, without the
// prefix, which the bucket's name already holds.
func TestStore_Commit_SegmentKeysWithoutPrefix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seg.db")
	s := MustOpen(t, path, &bboltkv.Options{NoSync: true})
	mustCommitIndex(t, s, 3, 10)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		name := append([]byte(bboltkv.BucketName), 0x01, 0, 0, 0, 3)
		b := tx.Bucket(name)
		if b == nil {
			return fmt.Errorf("no bucket %q", name)
		}
		i, c := 0, b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if want := indexKey(3, i)[5:]; !bytes.Equal(k, want) {
				return fmt.Errorf("key %d of bucket %q is %q, want %q", i, name, k, want)
			}
			i++
		}
		if i != 10 {
			return fmt.Errorf("bucket %q holds %d keys, want 10", name, i)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestIterator_SegmentKeysStayValid checks that the keys an iterator
// returns from a segment, which it rebuilds with their prefix, stay as they
// were while the iteration goes on (as keys read from the memory map do),
// in a scan of one segment and in a merge with the main bucket, both ways.
func TestIterator_SegmentKeysStayValid(t *testing.T) {
	const n = 300 // more keys than fit in the iterator's first buffers
	s := MustOpen(t, filepath.Join(t.TempDir(), "seg.db"), &bboltkv.Options{NoSync: true})
	mustCommitIndex(t, s, 3, n)
	var b kv.Batch
	b.Put([]byte{0x02, 'x'}, []byte("main"))
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Release()
	var want [][]byte
	for i := range n {
		want = append(want, indexKey(3, i))
	}
	for _, tc := range []struct {
		name       string
		start, end []byte
		extra      [][]byte // main-bucket keys in the range, after the index's
	}{
		{"one segment", []byte{0x01, 0, 0, 0, 3}, []byte{0x01, 0, 0, 0, 4}, nil},
		{"merge", nil, nil, [][]byte{{0x02, 'x'}}},
	} {
		for _, reverse := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/reverse=%v", tc.name, reverse), func(t *testing.T) {
				it := sn.Iter(tc.start, tc.end, reverse)
				defer it.Close()
				var got [][]byte
				for it.Next() {
					got = append(got, it.Key()) // not copied
				}
				if err := it.Err(); err != nil {
					t.Fatal(err)
				}
				w := slices.Concat(want, tc.extra)
				if reverse {
					slices.Reverse(w)
				}
				if !slices.EqualFunc(got, w, bytes.Equal) {
					t.Fatalf("keys after the scan:\n%q\nwant\n%q", got, w)
				}
			})
		}
	}
}

// TestIterator_SegmentKeysAllocs checks that rebuilding a segment's keys
// costs no allocation per key: a scan of 1000 keys allocates at most a
// few dozen times more than a scan of 10.
func TestIterator_SegmentKeysAllocs(t *testing.T) {
	s := MustOpen(t, filepath.Join(t.TempDir(), "seg.db"), &bboltkv.Options{NoSync: true})
	mustCommitIndex(t, s, 3, 1000)
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Release()
	scan := func(n int) float64 {
		return testing.AllocsPerRun(20, func() {
			it := sn.Iter(indexKey(3, 0), indexKey(3, n), false)
			got := 0
			for it.Next() {
				got++
			}
			if err := it.Err(); err != nil || got != n {
				t.Fatalf("scanned %d keys (%v), want %d", got, err, n)
			}
			it.Close()
		})
	}
	few, many := scan(10), scan(1000)
	if many-few > 1000/20 {
		t.Fatalf("a scan of 1000 keys allocates %v times, one of 10 keys %v times: an allocation per key", many, few)
	}
}

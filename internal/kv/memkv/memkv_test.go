package memkv_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/kvtest"
	"github.com/livedb-go/livedb/internal/kv/memkv"
)

// MustOpen returns a new store that is closed when the test ends.
func MustOpen(t *testing.T) kv.Store {
	t.Helper()
	s := memkv.New()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore_Conformance(t *testing.T) {
	kvtest.Run(t, MustOpen)
}

func TestStore_Commit_KeyLimits(t *testing.T) {
	tests := []struct {
		name    string
		key     []byte
		wantErr error
	}{
		{"empty", nil, memkv.ErrEmptyKey},
		{"max", bytes.Repeat([]byte{'k'}, memkv.MaxKeySize), nil},
		{"too large", bytes.Repeat([]byte{'k'}, memkv.MaxKeySize+1), memkv.ErrKeyTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := MustOpen(t)
			var b kv.Batch
			b.Put([]byte("first"), []byte("1"))
			b.Put(tc.key, []byte("v"))
			err := s.Commit(&b)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Commit = %v, want %v", err, tc.wantErr)
			}
			sn, err := s.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			defer sn.Release()
			_, ok, err := sn.Get([]byte("first"))
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tc.wantErr == nil) {
				t.Fatalf("first key present = %v after Commit error %v", ok, tc.wantErr)
			}
		})
	}
}

func TestSnapshot_Get_Released(t *testing.T) {
	s := MustOpen(t)
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sn.Release()
	if _, _, err := sn.Get([]byte("a")); !errors.Is(err, memkv.ErrReleased) {
		t.Fatalf("Get after Release = %v, want %v", err, memkv.ErrReleased)
	}
}

// Values of every size class of an entry's allocation keep their bytes.
func TestStore_Commit_EntrySizes(t *testing.T) {
	s := memkv.New()
	defer s.Close()
	var b kv.Batch
	want := map[string][]byte{}
	for _, n := range []int{0, 1, 60, 72, 73, 130, 136, 137, 200, 201, 328, 329, 456, 457, 584, 585, 4000} {
		k := bytes.Repeat([]byte{'k'}, 1+n%7)
		k = append(k, []byte(string(rune('a'+len(want))))...)
		v := bytes.Repeat([]byte{byte(n)}, max(0, n-len(k)))
		b.Put(k, v)
		want[string(k)] = v
	}
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Release()
	for k, v := range want {
		got, ok, err := sn.Get([]byte(k))
		if err != nil || !ok || !bytes.Equal(got, v) {
			t.Errorf("Get(%q) = %d bytes, %v, %v; want %d bytes", k, len(got), ok, err, len(v))
		}
	}
}

package bboltkv_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
)

// segmentKey returns a random key of the forms the store splits across
// buckets: index entries and later-change keys (tag 0x01 or 0x05, a 4-byte
// id, more) in a bucket per 6-byte prefix, and every other form (other
// tags, and keys of these tags of 6 bytes or fewer) in the main bucket.
func segmentKey(rng *rand.Rand) []byte { return segmentKeyOf(rng, true) }

// segmentKeyOf is segmentKey, without keys of 6 bytes or fewer with tag
// 0x01 or 0x05 unless short is set (livedb never writes such keys; scans
// that meet none can walk one segment alone).
func segmentKeyOf(rng *rand.Rand, short bool) []byte {
	suffix := func(n int) []byte {
		b := make([]byte, rng.IntN(n))
		for i := range b {
			b[i] = byte(rng.IntN(4)) * 0x55 // 0x00, 0x55, 0xAA, 0xFF
		}
		return b
	}
	var k []byte
	switch rng.IntN(6) {
	case 0:
		return append([]byte{byte(rng.IntN(4)) + 0x00}, suffix(4)...) // tags 0x00-0x03
	case 1:
		k = append([]byte{0x01}, suffix(4)...) // short: main bucket
	case 2:
		k = append([]byte{0x05, 0, 0, 0, byte(1 + rng.IntN(2))}, suffix(4)...)
	default:
		k = append([]byte{0x01, 0, 0, byte(rng.IntN(2)), byte(rng.IntN(3))}, suffix(4)...)
	}
	if !short && len(k) <= 6 {
		k = append(k, make([]byte, 7-len(k))...) // as long as a segment's shortest key
	}
	return k
}

// TestStore_Segments_MatchModel commits random batches of keys spread
// over the main bucket and several segments, and compares every Get and
// every scan (random bounds, both directions, a bound inside, before,
// after or across segments) with a model, before and after reopening.
func TestStore_Segments_MatchModel(t *testing.T) {
	for _, short := range []bool{true, false} {
		t.Run(fmt.Sprintf("short=%v", short), func(t *testing.T) { testSegmentsMatchModel(t, short) })
	}
}

// testSegmentsMatchModel is TestStore_Segments_MatchModel with or without
// short keys of segment tags (segmentKeyOf).
func testSegmentsMatchModel(t *testing.T, short bool) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	path := filepath.Join(t.TempDir(), "seg.db")
	s := MustOpen(t, path, nil)
	model := map[string]string{}
	var keys [][]byte // every key ever written, for gets and bounds
	for round := range 60 {
		var b kv.Batch
		for i := range 1 + rng.IntN(40) {
			k := segmentKeyOf(rng, short)
			if rng.IntN(5) == 0 && len(keys) > 0 {
				k = keys[rng.IntN(len(keys))]
				b.Delete(k)
				delete(model, string(k))
				continue
			}
			v := fmt.Sprintf("%d.%d", round, i)
			b.Put(k, []byte(v))
			model[string(k)] = v
			keys = append(keys, k)
		}
		if err := s.Commit(&b); err != nil {
			t.Fatalf("round %d: Commit: %v", round, err)
		}
		checkModel(t, s, model, keys, rng, round)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkModel(t, MustOpen(t, path, nil), model, keys, rng, -1)
}

// checkModel compares the store with the model: a get of every key, and
// scans over random bounds.
func checkModel(t *testing.T, s kv.Store, model map[string]string, keys [][]byte, rng *rand.Rand, round int) {
	t.Helper()
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Release()
	for _, k := range keys {
		v, ok, err := sn.Get(k)
		want, wok := model[string(k)]
		if err != nil || ok != wok || string(v) != want {
			t.Fatalf("round %d: Get(%x) = %q, %v, %v; want %q, %v", round, k, v, ok, err, want, wok)
		}
	}
	sorted := make([]string, 0, len(model))
	for k := range model {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	bound := func() []byte {
		switch rng.IntN(4) {
		case 0:
			return nil
		case 1:
			if len(keys) > 0 {
				return keys[rng.IntN(len(keys))]
			}
		}
		return segmentKey(rng)
	}
	for range 20 {
		start, end := bound(), bound()
		for _, reverse := range []bool{false, true} {
			var want []string
			for _, k := range sorted {
				if (start == nil || k >= string(start)) && (end == nil || k < string(end)) {
					want = append(want, k+"="+model[k])
				}
			}
			if reverse {
				slices.Reverse(want)
			}
			if start != nil && end != nil && bytes.Compare(start, end) >= 0 {
				want = nil
			}
			it := sn.Iter(start, end, reverse)
			var got []string
			for it.Next() {
				got = append(got, string(it.Key())+"="+string(it.Value()))
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			it.Close()
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: Iter(%x, %x, reverse %v) =\n%q\nwant\n%q", round, start, end, reverse, got, want)
			}
		}
	}
}

// TestStore_Commit_DeleteInMissingSegment commits deletes of keys whose
// segment bucket was never created, alone and beside puts elsewhere: a
// checkpoint of package walkv writes such a delete for a key that was
// inserted and deleted again between two checkpoints. The commit must
// succeed and write what its puts say.
func TestStore_Commit_DeleteInMissingSegment(t *testing.T) {
	s := MustOpen(t, filepath.Join(t.TempDir(), "seg.db"), nil)
	var b kv.Batch
	b.Delete([]byte{0x01, 0, 0, 0, 9, 'a'})
	b.Delete([]byte{0x05, 0, 0, 0, 9, 'b'})
	if err := s.Commit(&b); err != nil {
		t.Fatalf("Commit of deletes only: %v", err)
	}
	b = kv.Batch{}
	b.Delete([]byte{0x01, 0, 0, 0, 8, 'a'})
	b.Put([]byte{0x01, 0, 0, 0, 7, 'k'}, []byte("v"))
	b.Put([]byte{0x02, 'm'}, []byte("w"))
	if err := s.Commit(&b); err != nil {
		t.Fatalf("Commit of deletes beside puts: %v", err)
	}
	model := map[string]string{"\x01\x00\x00\x00\x07k": "v", "\x02m": "w"}
	keys := [][]byte{{0x01, 0, 0, 0, 9, 'a'}, {0x01, 0, 0, 0, 7, 'k'}, {0x02, 'm'}}
	checkModel(t, s, model, keys, rand.New(rand.NewPCG(1, 2)), 0)
}

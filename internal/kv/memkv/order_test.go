package memkv_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/memkv"
)

// The tree compares keys by their first 16 bytes, held in the item as
// integers, before the whole keys (item.go). These tests check that the
// store's order is exactly bytes.Compare's on keys made to hit the edges of
// that comparison: keys shorter and longer than 16 bytes, keys that are
// prefixes of others, keys that differ only by trailing 0x00 bytes (equal
// once padded), and 0x00 and 0xFF bytes at and around the word boundaries.

// orderAlphabet is the bytes random keys are made of: the padding byte, its
// neighbour, the highest byte and two ordinary ones.
var orderAlphabet = []byte{0x00, 0x01, 0x7F, 0x80, 0xFF}

// randomOrderKey returns a non-empty key of 1 to 24 bytes over
// orderAlphabet, or (one time in four) a key derived from prev: prev cut
// short, or prev followed by 0x00 or 0xFF bytes.
func randomOrderKey(rng *rand.Rand, prev []byte) []byte {
	if len(prev) > 0 && rng.IntN(4) == 0 {
		switch rng.IntN(3) {
		case 0:
			return slices.Clone(prev[:1+rng.IntN(len(prev))])
		case 1:
			return append(slices.Clone(prev), make([]byte, 1+rng.IntN(3))...)
		default:
			return append(slices.Clone(prev), 0xFF)
		}
	}
	k := make([]byte, 1+rng.IntN(24))
	for i := range k {
		k[i] = orderAlphabet[rng.IntN(len(orderAlphabet))]
	}
	return k
}

// checkOrder commits keys (each with itself as value) to a new store, deletes
// every third one, and checks that forward and reverse scans (whole, and
// bounded at each key) and Gets all agree with bytes.Compare.
func checkOrder(t *testing.T, keys [][]byte) {
	t.Helper()
	keys = distinct(keys)
	s := memkv.New()
	defer s.Close()
	var b kv.Batch
	for _, k := range keys {
		b.Put(k, k)
	}
	if err := s.Commit(&b); err != nil {
		t.Fatalf("commit: %v", err)
	}
	b.Reset()
	want := map[string]bool{}
	for i, k := range keys {
		want[string(k)] = i%3 != 0
	}
	for i, k := range keys {
		if i%3 == 0 {
			b.Delete(k)
		}
	}
	if err := s.Commit(&b); err != nil {
		t.Fatalf("commit deletes: %v", err)
	}
	var sorted [][]byte
	for k, live := range want {
		if live {
			sorted = append(sorted, []byte(k))
		}
	}
	slices.SortFunc(sorted, bytes.Compare)
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	defer sn.Release()
	wantKeys(t, "forward scan", scanKeys(t, sn, nil, nil, false), sorted)
	rev := slices.Clone(sorted)
	slices.Reverse(rev)
	wantKeys(t, "reverse scan", scanKeys(t, sn, nil, nil, true), rev)
	for k, live := range want {
		key := []byte(k)
		// The interval [key, key+0x00) holds key alone.
		if got := scanKeys(t, sn, key, append(slices.Clone(key), 0), false); live != (len(got) == 1) {
			t.Fatalf("scan of [%x, %x\\x00): %x, live %v", key, key, got, live)
		}
		// Seeking key finds the first live key at or after it.
		i, _ := slices.BinarySearchFunc(sorted, key, bytes.Compare)
		wantKeys(t, fmt.Sprintf("scan from %x", key), scanKeys(t, sn, key, nil, false), sorted[i:])
		// A reverse scan up to key finds the live keys before it.
		below := slices.Clone(sorted[:i])
		slices.Reverse(below)
		wantKeys(t, fmt.Sprintf("reverse scan below %x", key), scanKeys(t, sn, nil, key, true), below)
		if got := scanKeys(t, sn, key, append(slices.Clone(key), 0), true); live != (len(got) == 1) {
			t.Fatalf("reverse scan of [%x, %x\\x00): %x, live %v", key, key, got, live)
		}
		v, ok, err := sn.Get(key)
		if err != nil || ok != live || (ok && !bytes.Equal(v, key)) {
			t.Fatalf("Get(%x) = %x, %v, %v; want live %v", key, v, ok, err, live)
		}
	}
}

// distinct returns keys without repeats, in their first order.
func distinct(keys [][]byte) [][]byte {
	seen := map[string]bool{}
	var out [][]byte
	for _, k := range keys {
		if !seen[string(k)] {
			seen[string(k)] = true
			out = append(out, k)
		}
	}
	return out
}

// scanKeys returns the keys of [start, end) in sn.
func scanKeys(t *testing.T, sn kv.Snapshot, start, end []byte, reverse bool) [][]byte {
	t.Helper()
	it := sn.Iter(start, end, reverse)
	defer it.Close()
	var out [][]byte
	for it.Next() {
		out = append(out, slices.Clone(it.Key()))
	}
	if err := it.Err(); err != nil {
		t.Fatalf("scan [%x, %x): %v", start, end, err)
	}
	return out
}

// wantKeys fails the test, naming the first difference, when got is not
// want.
func wantKeys(t *testing.T, what string, got, want [][]byte) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Fatalf("%s: %d keys, want %d: %x missing", what, len(got), len(want), want[i])
		case i >= len(want):
			t.Fatalf("%s: %d keys, want %d: %x extra", what, len(got), len(want), got[i])
		case !bytes.Equal(got[i], want[i]):
			t.Fatalf("%s: key %d is %x, want %x", what, i, got[i], want[i])
		}
	}
}

func TestStore_Order_RandomKeys(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		keys := make([][]byte, 0, 400)
		var prev []byte
		for range 400 {
			k := randomOrderKey(rng, prev)
			keys = append(keys, k)
			prev = k
		}
		checkOrder(t, keys)
	}
}

func TestStore_Order_Edges(t *testing.T) {
	sixteen := bytes.Repeat([]byte{0x80}, 16)
	checkOrder(t, [][]byte{
		{0x00}, {0x00, 0x00}, {0x00, 0x01}, {0x01},
		[]byte("ab"), []byte("ab\x00"), []byte("ab\x00\x00"), []byte("ab\x01"), []byte("ab\xff"),
		bytes.Repeat([]byte{0xFF}, 8), bytes.Repeat([]byte{0xFF}, 9), bytes.Repeat([]byte{0xFF}, 17),
		sixteen, append(slices.Clone(sixteen), 0x00), append(slices.Clone(sixteen), 0x01),
		append(slices.Clone(sixteen[:15]), 0x7F), append(slices.Clone(sixteen[:7]), 0x00),
		append(slices.Clone(sixteen[:8]), 0x00, 0x00),
	})
}

// FuzzStore_Order checks the order of keys cut out of the fuzzer's bytes:
// each byte of lens is the length (mod 20) of the next key taken from data.
func FuzzStore_Order(f *testing.F) {
	f.Add([]byte("ab\x00ab\x00\x00ab\x01"), []byte{2, 3, 4, 3})
	f.Add(bytes.Repeat([]byte{0xFF, 0x00}, 20), []byte{16, 17, 15, 8, 9})
	f.Fuzz(func(t *testing.T, data, lens []byte) {
		var keys [][]byte
		for _, l := range lens {
			n := 1 + int(l)%20
			if n > len(data) {
				break
			}
			keys = append(keys, data[:n])
			data = data[n:]
		}
		if len(keys) > 0 {
			checkOrder(t, keys)
		}
	})
}

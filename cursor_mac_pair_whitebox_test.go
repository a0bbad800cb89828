package livedb

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// sumPair gives each message the MAC sum gives it alone, whatever the two
// share: nothing, part of a block, whole blocks, one message whole as the
// other's prefix, equal messages, messages ending on a block boundary.
func TestCMACKey_SumPair_AsSum(t *testing.T) {
	k := newCMACKey(mustHex(t, "2b7e1516 28aed2a6 abf71588 09cf4f3c"))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		a := make([]byte, rng.IntN(100))
		for j := range a {
			a[j] = byte(rng.IntN(4)) // few values: long common prefixes are common
		}
		b := append([]byte(nil), a[:rng.IntN(len(a)+1)]...)
		for n := rng.IntN(60); n > 0; n-- {
			b = append(b, byte(rng.IntN(4)))
		}
		var x, y, wantX, wantY [16]byte
		k.sumPair(&x, &y, a, b)
		k.sum(&wantX, a)
		k.sum(&wantY, b)
		if x != wantX || y != wantY {
			t.Fatalf("sumPair(%x, %x) = %x, %x; want %x, %x", a, b, x, y, wantX, wantY)
		}
	}
}

// macCursorPair appends to each body the MAC macCursor appends, for the
// current version and for version 1's HMAC.
func TestMacCursorPair_AsMacCursor(t *testing.T) {
	c := &catalog{secret: []byte("a database's secret"), cmac: new(cmacCell)}
	for _, version := range []byte{cursorVersionCMAC, cursorVersionHMAC} {
		a := append([]byte{version, cursorKindAfter}, "fingerpr-the-index-prefix-and-a-key"...)
		b := append([]byte{version, cursorKindAfter}, "fingerpr-the-index-prefix-and-another"...)
		gotA, gotB := macCursorPair(c, bytes.Clone(a), bytes.Clone(b))
		if want := macCursor(bytes.Clone(a), c, a); !bytes.Equal(gotA, want) {
			t.Errorf("version %d: first = %x, want %x", version, gotA, want)
		}
		if want := macCursor(bytes.Clone(b), c, b); !bytes.Equal(gotB, want) {
			t.Errorf("version %d: second = %x, want %x", version, gotB, want)
		}
	}
}

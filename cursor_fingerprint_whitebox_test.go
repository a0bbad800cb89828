package livedb

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
)

// A remembered fingerprint is the SHA-256 one, for more descriptions than
// fingerprints has slots (so that descriptions share slots and replace
// each other), asked for in two orders, and for descriptions longer than
// those it keeps.
func TestFingerprintOfDescription_SameAsSHA256(t *testing.T) {
	var descs []string
	for i := range 3 * len(fingerprints.slots) {
		descs = append(descs, fmt.Sprintf("items|by_k|eq(\"k\", %d)|asc|preds=0", i))
	}
	descs = append(descs, "", strings.Repeat("x", maxMemoDescription), strings.Repeat("y", maxMemoDescription+1))
	check := func(d string) {
		want := sha256.Sum256([]byte(d))
		if got := fingerprintOfDescription([]byte(d)); got != [8]byte(want[:8]) {
			t.Fatalf("fingerprint of %q = %x, want %x", d, got, want[:8])
		}
	}
	for _, d := range descs {
		check(d)
		check(d)
	}
	for i := len(descs) - 1; i >= 0; i-- {
		check(descs[i])
	}
}

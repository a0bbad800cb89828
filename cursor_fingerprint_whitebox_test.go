package livedb

import (
	"crypto/sha256"
	"fmt"
	"hash/maphash"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/value"
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

// A description seen once costs no allocation (it is not kept); one seen
// twice in a row in its slot is kept, and found there after.
func TestFingerprintOfDescription_KeepsRepeated(t *testing.T) {
	descs := make([][]byte, 1000)
	for i := range descs {
		descs[i] = fmt.Appendf(nil, "once|by_k|eq(\"k\", %d)|asc|preds=0", i)
	}
	i := 0
	if n := testing.AllocsPerRun(len(descs)-1, func() {
		fingerprintOfDescription(descs[i])
		i++
	}); n != 0 {
		t.Errorf("%v allocations for a description seen once, want 0", n)
	}
	d := []byte("twice|by_k||asc|preds=0")
	fingerprintOfDescription(d)
	fingerprintOfDescription(d)
	slot := fingerprints.slots[maphash.Bytes(fingerprints.seed, d)%uint64(len(fingerprints.slots))].Load()
	if slot == nil || slot.desc != string(d) {
		t.Fatalf("after two uses, the slot of %q holds %v", d, slot)
	}
}

// An index range's text in a description quotes each field as %q does,
// for plain names (the fast path) and for names with quotes, backslashes,
// control characters, DEL, non-ASCII and invalid UTF-8 (strconv's).
func TestIndexRange_AppendTo_QuotesFieldsAsFmt(t *testing.T) {
	for _, field := range []string{"workflowId", "a.b", "", "sp ace", "q\"uote", "back\\slash", "tab\t", "\x00", "\x7f", "é", "\xff", "~!@#$%^&*()"} {
		r := IndexRange{}.Eq(field, "v").Gt(field, 1.5)
		want := fmt.Sprintf("eq(%q, %s).gt(%q, %s)", field, value.Format("v"), field, value.Format(1.5))
		if got := string(r.appendTo(nil)); got != want {
			t.Errorf("field %q: %s, want %s", field, got, want)
		}
	}
}

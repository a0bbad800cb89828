package id_test

import (
	"testing"

	"github.com/livedb-go/livedb/internal/id"
)

// FuzzDecode checks that Decode never panics and that whatever it accepts
// re-encodes to exactly the input.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"j57000820c20a1g7104gm2rc1m70ynr8",
		"z43zp6c3e75gkmz1kfwj6mbbx5sw281h",
		"sssswsgggggggggsgcsssfafffsffks", // Convex's regression input
		id.Encode(1, [16]byte{}),
		id.Encode(1<<14, [16]byte{1}),
		id.Encode(1<<21, [16]byte{2}),
		id.Encode(1<<28, [16]byte{3}),
		"", "0", "000000000000000000000010000items",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		table, internal, err := id.Decode(s)
		if err != nil {
			return
		}
		if table == 0 {
			t.Fatalf("Decode(%q) accepted table number 0", s)
		}
		if again := id.Encode(table, internal); again != s {
			t.Fatalf("Decode(%q) = %d, %x, which encodes to %q", s, table, internal, again)
		}
	})
}

// FuzzEncode checks that every ID with a non-zero table number decodes to
// what it was built from.
func FuzzEncode(f *testing.F) {
	f.Add(uint32(10001), []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add(uint32(1<<32-1), []byte{0xFF})
	f.Fuzz(func(t *testing.T, table uint32, raw []byte) {
		if table == 0 {
			return
		}
		var internal [16]byte
		copy(internal[:], raw)
		s := id.Encode(table, internal)
		gotTable, gotInternal, err := id.Decode(s)
		if err != nil || gotTable != table || gotInternal != internal {
			t.Fatalf("Decode(Encode(%d, %x) = %q) = %d, %x, %v", table, internal, s, gotTable, gotInternal, err)
		}
	})
}

package id_test

import (
	"math/rand/v2"
	"testing"

	"github.com/livedb-go/livedb/internal/id"
)

// Decode accepts exactly the strings Encode writes: every string one
// character away from a valid ID (each position, each character of the
// alphabet, and one outside it), over table numbers of every VInt length,
// is refused or is itself the encoding of what it decodes to. Decode does
// not encode the ID again to check this, so its own checks must.
func TestDecode_OneCharacterAwayIsRefusedOrCanonical(t *testing.T) {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyzA"
	r := rand.New(rand.NewPCG(3, 4))
	accepted := 0
	for _, table := range []uint32{1, 127, 128, 1<<14 - 1, 1 << 14, 1<<21 + 5, 1<<28 + 9, 1<<32 - 1} {
		for range 20 {
			var internal [16]byte
			for i := range internal {
				internal[i] = byte(r.Uint32())
			}
			s := id.Encode(table, internal)
			for pos := range len(s) {
				for _, c := range []byte(alphabet) {
					if c == s[pos] {
						continue
					}
					v := s[:pos] + string(c) + s[pos+1:]
					gotTable, gotInternal, err := id.Decode(v)
					if err != nil {
						continue
					}
					accepted++
					if again := id.Encode(gotTable, gotInternal); again != v {
						t.Fatalf("Decode(%q) (one character from %q) = %d, %x, which encodes to %q", v, s, gotTable, gotInternal, again)
					}
				}
			}
		}
	}
	t.Logf("%d one-character variants were valid IDs of their own", accepted)
}

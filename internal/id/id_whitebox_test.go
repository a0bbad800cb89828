package id

import (
	"encoding/binary"
	"errors"
	"testing"
)

// craft encodes arbitrary VInt bytes followed by a zero internal id and a
// correct footer, bypassing putVInt.
func craft(vint []byte) string {
	bin := append([]byte(nil), vint...)
	bin = append(bin, make([]byte, internalIDLen)...)
	bin = binary.LittleEndian.AppendUint16(bin, fletcher16(bin))
	dst := make([]byte, maxEncodedLen+8)
	return string(dst[:base32Encode(dst, bin)])
}

func TestDecode_VIntErrors(t *testing.T) {
	tests := []struct {
		name string
		vint []byte
		want error
	}{
		{"non-minimal 2 bytes", []byte{0x85, 0x00}, ErrInvalidTableNumber},
		{"non-minimal 5 bytes", []byte{0x91, 0xCE, 0x80, 0x80, 0x00}, ErrInvalidTableNumber},
		{"overflows uint32", []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x1F}, ErrInvalidTableNumber},
		{"six bytes", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, ErrInvalidLength},
		{"zero", []byte{0x00}, ErrInvalidTableNumber},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := craft(tc.vint)
			if _, _, err := Decode(s); !errors.Is(err, tc.want) {
				t.Fatalf("Decode(%q) error = %v, want %v", s, err, tc.want)
			}
		})
	}
	// A continuation bit on every one of five bytes is too long for a VInt,
	// whatever follows.
	bin := []byte{0x80, 0x80, 0x80, 0x80, 0x80}
	bin = append(bin, make([]byte, 18)...)
	dst := make([]byte, maxEncodedLen)
	s := string(dst[:base32Encode(dst, bin)])
	if _, _, err := Decode(s); !errors.Is(err, ErrInvalidTableNumber) {
		t.Fatalf("Decode(%q) error = %v, want ErrInvalidTableNumber", s, err)
	}
}

func TestPutVInt_RoundTrip(t *testing.T) {
	for _, n := range []uint32{1, 127, 128, 300, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<28 - 1, 1 << 28, 1<<32 - 1} {
		var buf [maxVIntLen]byte
		w := putVInt(buf[:], n)
		got, r, err := readVInt(buf[:w])
		if err != nil || got != n || r != w {
			t.Errorf("readVInt(putVInt(%d)) = %d, %d, %v; wrote %d bytes", n, got, r, err, w)
		}
	}
}

func TestBase32_RoundTrip(t *testing.T) {
	for n := range 24 {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(37*i + 11)
		}
		dst := make([]byte, 40)
		s := string(dst[:base32Encode(dst, src)])
		if want := (8*n + 4) / 5; len(s) != want {
			t.Errorf("len(base32(%d bytes)) = %d, want %d", n, len(s), want)
		}
		back := make([]byte, len(s)*5/8)
		if err := base32Decode(back, s); err != nil || string(back) != string(src) {
			t.Errorf("base32Decode(%q) = %x, %v; want %x", s, back, err, src)
		}
	}
}

package id

import "unicode/utf8"

// alphabet is Crockford's base32 alphabet in lowercase: no i, l, o or u.
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// invalidDigit marks a byte that is not in alphabet.
const invalidDigit = 0xFF

// digits maps a byte to its 5-bit value, or invalidDigit.
var digits = func() (t [256]byte) {
	for i := range t {
		t[i] = invalidDigit
	}
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// base32Encode writes src as base32 into dst, most significant bits first,
// without padding, and returns the number of characters written:
// ceil(8*len(src)/5). dst must be large enough.
func base32Encode(dst, src []byte) int {
	var acc uint32 // pending bits, right-aligned
	bits, n := 0, 0
	for _, b := range src {
		acc = acc<<8 | uint32(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			dst[n] = alphabet[(acc>>bits)&0x1F]
			n++
		}
	}
	if bits > 0 {
		dst[n] = alphabet[(acc<<(5-bits))&0x1F]
		n++
	}
	return n
}

// base32Decode decodes s into dst, which must have length len(s)*5/8. It
// rejects characters outside the alphabet and non-zero leftover bits, so
// every byte string has exactly one accepted encoding.
func base32Decode(dst []byte, s string) error {
	var acc uint32
	bits, n := 0, 0
	for i := range len(s) {
		d := digits[s[i]]
		if d == invalidDigit {
			r, _ := utf8.DecodeRuneInString(s[i:])
			return decodeErr(ErrInvalidBase32, "ID wasn't valid base32 (invalid character %q at position %d)", r, i)
		}
		acc = acc<<5 | uint32(d)
		bits += 5
		if bits >= 8 {
			bits -= 8
			dst[n] = byte(acc >> bits)
			n++
		}
	}
	if acc&(1<<bits-1) != 0 {
		return decodeErr(ErrInvalidBase32, "ID wasn't valid base32 (non-zero padding bits)")
	}
	return nil
}

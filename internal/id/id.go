// Package id encodes and decodes Convex document IDs ("id v6",
// docs/semantics.md#ids).
//
// An ID is the lowercase Crockford base32 text of
//
//	VInt(table number) ++ internal id (16 bytes) ++ footer (2 bytes)
//
// where the VInt is LEB128-style (7 bits a byte, low group first, 0x80 marks
// continuation, 1 to 5 bytes) and the footer is the Fletcher-16 checksum (mod
// 256) of everything before it, XORed with the format version 0 and stored
// little-endian. Base32 packs bits big-endian and has no padding, so an ID is
// 31, 32, 34, 36 or 37 characters long depending on the table number; user
// tables start at [FirstUserTableNumber], giving 32-character IDs.
//
// Decoding is strict: every ID has exactly one accepted spelling, the one
// [Encode] produces.
package id

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// FirstUserTableNumber is the table number of the first user table. Convex
// reserves 1 to 10000 for system tables and gives user tables the next free
// number from here on.
const FirstUserTableNumber = 10001

// Sizes of the binary form.
const (
	internalIDLen = 16
	footerLen     = 2
	maxVIntLen    = 5
	maxBinaryLen  = maxVIntLen + internalIDLen + footerLen // 23
	maxEncodedLen = 37                                     // base32 length of 23 bytes
	version       = 0
	secondsPerDay = 24 * 60 * 60
)

// Errors returned by [Decode], wrapped in a [*DecodeError]. Every one of them
// also matches [ErrInvalid] with errors.Is.
var (
	// ErrInvalid matches every ID decoding error.
	ErrInvalid = errors.New("invalid ID")
	// ErrInvalidLength is returned when the text has a length no ID has, or
	// when the decoded bytes do not fill it exactly.
	ErrInvalidLength = errors.New("invalid ID length")
	// ErrInvalidBase32 is returned for a character outside the lowercase
	// Crockford alphabet or for non-zero padding bits.
	ErrInvalidBase32 = errors.New("invalid base32")
	// ErrInvalidTableNumber is returned for a table number that is 0, longer
	// than five VInt bytes, truncated, out of the uint32 range, or not
	// minimally encoded.
	ErrInvalidTableNumber = errors.New("invalid table number")
	// ErrInvalidVersion is returned when the footer does not match the
	// checksum of the rest of the ID for format version 0.
	ErrInvalidVersion = errors.New("invalid ID version")
)

// DecodeError describes why a string is not a valid ID. Its message starts
// with "Unable to decode ID: ", as Convex's does. It matches [ErrInvalid] and
// its Kind with errors.Is.
type DecodeError struct {
	Kind   error  // one of ErrInvalidLength, ErrInvalidBase32, ErrInvalidTableNumber, ErrInvalidVersion
	Detail string // Convex's wording of the reason
}

// Error returns "Unable to decode ID: " followed by the reason.
func (e *DecodeError) Error() string { return "Unable to decode ID: " + e.Detail }

// Unwrap returns [ErrInvalid] and the error's Kind.
func (e *DecodeError) Unwrap() []error { return []error{ErrInvalid, e.Kind} }

func decodeErr(kind error, format string, args ...any) error {
	return &DecodeError{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// Encode returns the ID of the document with the given table number and
// internal id. A table number of 0 yields a string that [Decode] rejects;
// callers must not use 0.
func Encode(tableNumber uint32, internalID [16]byte) string {
	var buf [maxEncodedLen]byte
	n := encodeTo(&buf, tableNumber, internalID)
	return string(buf[:n])
}

// encodeTo writes the ID into buf and returns its length, without allocating.
func encodeTo(buf *[maxEncodedLen]byte, tableNumber uint32, internalID [16]byte) int {
	var bin [maxBinaryLen]byte
	n := putVInt(bin[:], tableNumber)
	n += copy(bin[n:], internalID[:])
	binary.LittleEndian.PutUint16(bin[n:], fletcher16(bin[:n])^version)
	n += footerLen
	return base32Encode(buf[:], bin[:n])
}

// Decode parses an ID and returns its table number and internal id. It
// accepts exactly the strings [Encode] returns for a non-zero table number;
// any other input yields a [*DecodeError].
func Decode(s string) (tableNumber uint32, internalID [16]byte, err error) {
	// Check the length first so that long garbage is rejected cheaply.
	binLen, ok := binaryLen(len(s))
	if !ok {
		return 0, internalID, decodeErr(ErrInvalidLength, "Invalid ID length %d", len(s))
	}
	var bin [maxBinaryLen]byte
	if err := base32Decode(bin[:binLen], s); err != nil {
		return 0, internalID, err
	}
	table, vlen, err := readVInt(bin[:binLen])
	if err != nil {
		return 0, internalID, err
	}
	if vlen+internalIDLen+footerLen != binLen {
		return 0, internalID, decodeErr(ErrInvalidLength, "Invalid ID length %d", len(s))
	}
	copy(internalID[:], bin[vlen:])
	body := bin[:vlen+internalIDLen]
	want := fletcher16(body) ^ version
	if got := binary.LittleEndian.Uint16(bin[len(body):]); got != want {
		return 0, [16]byte{}, decodeErr(ErrInvalidVersion, "Invalid ID version %d (expected %d)", got, want)
	}
	// The checks above leave exactly one spelling per ID, the one Encode
	// writes: a length of Encode's, base32 without stray padding bits, a
	// minimal VInt, the checksum. So a decoded ID is not encoded again to
	// compare (TestDecode_VIntErrors, FuzzDecode).
	return table, internalID, nil
}

// TableNumber returns the table number of a valid ID. It reports false when s
// is not a valid ID.
func TableNumber(s string) (uint32, bool) {
	n, _, err := Decode(s)
	return n, err == nil
}

// Layout of the internal id that [New] writes.
const (
	timeLen   = 6 // milliseconds since the Unix epoch, big-endian
	RandomLen = 8 // bytes read from the caller's reader
)

// New returns a new ID in the given table. The 16-byte internal id is
//
//	milliseconds since the Unix epoch (6 bytes, big-endian)
//	++ RandomLen bytes read from r
//	++ whole days since the Unix epoch (2 bytes, big-endian)
//
// Convex fills the first 14 bytes from its random source. livedb puts the
// time first, as UUIDv7 does, so that the IDs of a table sort roughly in
// creation order and a table's by_id entries grow at its end: a bulk load
// then rewrites a few B-tree pages per commit instead of one page per
// document, which makes bulk loads on bbolt markedly faster
// (bench/README.md). 64 random bits
// keep IDs unguessable; the time they reveal is the document's
// _creationTime. The result is an ordinary Convex ID: same encoding, same
// checksum, decoded by Convex unchanged.
//
// It fails when tableNumber is 0, when r fails, or when now is before 1970
// or after 2149 (the day count must fit 16 bits).
func New(tableNumber uint32, now time.Time, r io.Reader) (string, error) {
	if tableNumber == 0 {
		return "", fmt.Errorf("new ID: %w", ErrInvalidTableNumber)
	}
	secs := now.Unix()
	if secs < 0 || secs/secondsPerDay > 0xFFFF {
		return "", fmt.Errorf("new ID: time %s is outside 1970 to 2149", now.UTC().Format(time.RFC3339))
	}
	var internal [16]byte
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(now.UnixMilli()))
	copy(internal[:timeLen], ms[8-timeLen:])
	if _, err := io.ReadFull(r, internal[timeLen:timeLen+RandomLen]); err != nil {
		return "", fmt.Errorf("new ID: read random bytes: %w", err)
	}
	binary.BigEndian.PutUint16(internal[14:], uint16(secs/secondsPerDay))
	return Encode(tableNumber, internal), nil
}

// TextLen returns the length of every ID of the table with the given
// number: the base32 text of VInt(number) ++ internal id ++ footer. It is
// 31, 32, 34, 36 or 37.
func TextLen(tableNumber uint32) int {
	var vint [maxVIntLen]byte
	n := putVInt(vint[:], tableNumber) + internalIDLen + footerLen
	return (n*8 + 4) / 5
}

// binaryLen returns the number of bytes behind an ID of n base32 characters,
// for the five lengths an ID can have.
func binaryLen(n int) (int, bool) {
	switch n {
	case 31, 32, 34, 36, 37:
		return n * 5 / 8, true
	}
	return 0, false
}

// putVInt writes n as a VInt into out and returns the number of bytes
// written (1 to 5).
func putVInt(out []byte, n uint32) int {
	i := 0
	for n >= 0x80 {
		out[i] = byte(n) | 0x80
		n >>= 7
		i++
	}
	out[i] = byte(n)
	return i + 1
}

// readVInt reads a minimally encoded, non-zero VInt from the start of buf and
// returns it with the number of bytes read.
func readVInt(buf []byte) (uint32, int, error) {
	var n uint64
	for i := 0; i < maxVIntLen; i++ {
		if i >= len(buf) {
			return 0, 0, decodeErr(ErrInvalidTableNumber, "Invalid table number")
		}
		b := buf[i]
		n |= uint64(b&0x7F) << (7 * i)
		if b < 0x80 {
			// A multi-byte VInt must not end in a zero group, and the value
			// must fit 32 bits.
			if (i > 0 && b == 0) || n > 0xFFFFFFFF || n == 0 {
				return 0, 0, decodeErr(ErrInvalidTableNumber, "Invalid table number")
			}
			return uint32(n), i + 1, nil
		}
	}
	return 0, 0, decodeErr(ErrInvalidTableNumber, "Invalid table number")
}

// fletcher16 is the Fletcher-16 checksum with both sums taken mod 256:
// c0 += b; c1 += c0; result (c1<<8)|c0.
func fletcher16(buf []byte) uint16 {
	var c0, c1 byte
	for _, b := range buf {
		c0 += b
		c1 += c0
	}
	return uint16(c1)<<8 | uint16(c0)
}

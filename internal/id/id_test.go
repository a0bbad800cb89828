package id_test

import (
	"bytes"
	crand "crypto/rand"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/livedb-go/livedb/internal/id"
)

func seqID() [16]byte {
	var b [16]byte
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestEncode_Vectors(t *testing.T) {
	// Convex's own stability vector (crates/value/src/id_v6.rs): table 1017,
	// internal id 251, 251^2, ... mod 256.
	var convex [16]byte
	convex[0] = 251
	for i := 1; i < 16; i++ {
		convex[i] = convex[i-1] * 251
	}
	tests := []struct {
		name     string
		table    uint32
		internal [16]byte
		want     string
	}{
		{"table 10001 sequential bytes", 10001, seqID(), "j57000820c20a1g7104gm2rc1m70ynr8"},
		{"convex stability vector", 1017, convex, "z43zp6c3e75gkmz1kfwj6mbbx5sw281h"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := id.Encode(tc.table, tc.internal)
			if got != tc.want {
				t.Fatalf("Encode(%d, %x) = %q, want %q", tc.table, tc.internal, got, tc.want)
			}
			table, internal, err := id.Decode(got)
			if err != nil {
				t.Fatalf("Decode(%q): %v", got, err)
			}
			if table != tc.table || internal != tc.internal {
				t.Fatalf("Decode(%q) = %d, %x; want %d, %x", got, table, internal, tc.table, tc.internal)
			}
		})
	}
}

func TestDecode_RoundTripAllLengths(t *testing.T) {
	tests := []struct {
		table   uint32
		wantLen int
	}{
		{1, 31}, {127, 31},
		{128, 32}, {id.FirstUserTableNumber, 32}, {1<<14 - 1, 32},
		{1 << 14, 34}, {1<<21 - 1, 34},
		{1 << 21, 36}, {1<<28 - 1, 36},
		{1 << 28, 37}, {math.MaxUint32, 37},
	}
	internals := [][16]byte{{}, seqID(), {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}}
	for _, tc := range tests {
		for _, internal := range internals {
			s := id.Encode(tc.table, internal)
			if len(s) != tc.wantLen {
				t.Errorf("len(Encode(%d, %x)) = %d, want %d", tc.table, internal, len(s), tc.wantLen)
			}
			table, got, err := id.Decode(s)
			if err != nil {
				t.Errorf("Decode(%q): %v", s, err)
				continue
			}
			if table != tc.table || got != internal {
				t.Errorf("Decode(Encode(%d, %x)) = %d, %x", tc.table, internal, table, got)
			}
		}
	}
}

func TestDecode_Errors(t *testing.T) {
	valid := id.Encode(10001, seqID()) // j57000820c20a1g7104gm2rc1m70ynr8
	short := id.Encode(5, seqID())     // 31 characters
	tests := []struct {
		name     string
		in       string
		wantKind error
		wantMsg  string
	}{
		{"empty", "", id.ErrInvalidLength, "Unable to decode ID: Invalid ID length 0"},
		{"too short", valid[:30], id.ErrInvalidLength, "Unable to decode ID: Invalid ID length 30"},
		{"33 characters", valid + "0", id.ErrInvalidLength, "Unable to decode ID: Invalid ID length 33"},
		{"35 characters", valid + "000", id.ErrInvalidLength, "Unable to decode ID: Invalid ID length 35"},
		{"too long", strings.Repeat("0", 1000), id.ErrInvalidLength, "Unable to decode ID: Invalid ID length 1000"},
		{"uppercase", strings.ToUpper(valid), id.ErrInvalidBase32, `Unable to decode ID: ID wasn't valid base32 (invalid character 'J' at position 0)`},
		{"letter u", valid[:5] + "u" + valid[6:], id.ErrInvalidBase32, `Unable to decode ID: ID wasn't valid base32 (invalid character 'u' at position 5)`},
		{"letter i", valid[:31] + "i", id.ErrInvalidBase32, `Unable to decode ID: ID wasn't valid base32 (invalid character 'i' at position 31)`},
		{"non-ASCII", valid[:29] + "é", id.ErrInvalidBase32, `Unable to decode ID: ID wasn't valid base32 (invalid character 'é' at position 29)`},
		{"table name instead of ID", "000000000000000000000010000items", id.ErrInvalidBase32, `Unable to decode ID: ID wasn't valid base32 (invalid character 'i' at position 27)`},
		{"table number 0", id.Encode(0, seqID()), id.ErrInvalidTableNumber, "Unable to decode ID: Invalid table number"},
		{"VInt length does not match text length", short[:31] + "0", id.ErrInvalidLength, "Unable to decode ID: Invalid ID length 32"},
		{"footer mismatch", valid[:10] + "1" + valid[11:], id.ErrInvalidVersion, "Unable to decode ID: Invalid ID version"},
		{"non-zero padding bits", short[:30] + nextDigit(short[30]), id.ErrInvalidBase32, "Unable to decode ID: ID wasn't valid base32 (non-zero padding bits)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			table, internal, err := id.Decode(tc.in)
			if err == nil {
				t.Fatalf("Decode(%q) = %d, %x; want error", tc.in, table, internal)
			}
			if !errors.Is(err, tc.wantKind) || !errors.Is(err, id.ErrInvalid) {
				t.Errorf("Decode(%q) error %v does not match %v and ErrInvalid", tc.in, err, tc.wantKind)
			}
			var de *id.DecodeError
			if !errors.As(err, &de) {
				t.Errorf("Decode(%q) error %T is not a *DecodeError", tc.in, err)
			}
			if !strings.HasPrefix(err.Error(), tc.wantMsg) {
				t.Errorf("Decode(%q) error %q, want prefix %q", tc.in, err.Error(), tc.wantMsg)
			}
			if _, ok := id.TableNumber(tc.in); ok {
				t.Errorf("TableNumber(%q) reported ok", tc.in)
			}
		})
	}
}

// nextDigit returns the base32 digit after c, so that a last character with
// zero padding bits becomes one with a non-zero low bit.
func nextDigit(c byte) string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	return string(alphabet[(strings.IndexByte(alphabet, c)+1)%32])
}

func TestTableNumber_Valid(t *testing.T) {
	for _, table := range []uint32{1, 513, id.FirstUserTableNumber, math.MaxUint32} {
		got, ok := id.TableNumber(id.Encode(table, seqID()))
		if !ok || got != table {
			t.Errorf("TableNumber(Encode(%d)) = %d, %v", table, got, ok)
		}
	}
}

func TestNew_InternalIDLayout(t *testing.T) {
	random := bytes.Repeat([]byte{0xAB}, id.RandomLen)
	now := time.Date(2024, 3, 1, 23, 59, 59, 123_000_000, time.UTC)
	s, err := id.New(id.FirstUserTableNumber, now, bytes.NewReader(random))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	table, internal, err := id.Decode(s)
	if err != nil {
		t.Fatalf("Decode(New(...)) = %v", err)
	}
	if table != id.FirstUserTableNumber {
		t.Errorf("table = %d, want %d", table, id.FirstUserTableNumber)
	}
	// 1709337599123 ms = 0x018dfc75dc93
	if want := []byte{0x01, 0x8d, 0xfc, 0x75, 0xdc, 0x93}; !bytes.Equal(internal[:6], want) {
		t.Errorf("time part = %x, want %x", internal[:6], want)
	}
	if !bytes.Equal(internal[6:14], random) {
		t.Errorf("random part = %x, want %x", internal[6:14], random)
	}
	wantDays := uint16(now.Unix() / 86400) // 19783
	if got := uint16(internal[14])<<8 | uint16(internal[15]); got != wantDays || got != 19783 {
		t.Errorf("day part = %d, want %d", got, wantDays)
	}
}

func TestNew_Errors(t *testing.T) {
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	enough := func() io.Reader { return bytes.NewReader(make([]byte, id.RandomLen)) }
	tests := []struct {
		name    string
		table   uint32
		now     time.Time
		r       io.Reader
		wantErr error
		wantMsg string
	}{
		{"table 0", 0, now, enough(), id.ErrInvalidTableNumber, "new ID: invalid table number"},
		{"short reader", 1, now, bytes.NewReader(make([]byte, id.RandomLen-1)), io.ErrUnexpectedEOF, "new ID: read random bytes: unexpected EOF"},
		{"before epoch", 1, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), enough(), nil, "new ID: time 1969-12-31T00:00:00Z is outside 1970 to 2149"},
		{"after 2149", 1, time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC), enough(), nil, "new ID: time 2150-01-01T00:00:00Z is outside 1970 to 2149"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := id.New(tc.table, tc.now, tc.r)
			if err == nil {
				t.Fatalf("New = %q, want error", s)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("New error %v does not match %v", err, tc.wantErr)
			}
			if err.Error() != tc.wantMsg {
				t.Errorf("New error %q, want %q", err.Error(), tc.wantMsg)
			}
		})
	}
}

func TestNew_LastDay(t *testing.T) {
	last := time.Unix(0xFFFF*86400+86399, 0)
	s, err := id.New(1, last, bytes.NewReader(make([]byte, id.RandomLen)))
	if err != nil {
		t.Fatalf("New(%s): %v", last, err)
	}
	_, internal, err := id.Decode(s)
	if err != nil || internal[14] != 0xFF || internal[15] != 0xFF {
		t.Fatalf("Decode(%q) = %x, %v; want day 0xFFFF", s, internal, err)
	}
}

// IDs made at later milliseconds sort after earlier ones, whatever their
// random bytes: a table's by_id index grows at its end.
func TestNew_SortsByTime(t *testing.T) {
	start := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	prev := ""
	for i := range 2000 {
		now := start.Add(time.Duration(i) * time.Millisecond)
		s, err := id.New(id.FirstUserTableNumber, now, crand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if s <= prev {
			t.Fatalf("ID %d %q at %s sorts before or equal to %q", i, s, now, prev)
		}
		prev = s
	}
}

// TextLen gives the length of every ID of a table, for the table numbers at
// each VInt width.
func TestTextLen(t *testing.T) {
	for _, n := range []uint32{1, 127, 128, 10001, 1<<14 - 1, 1 << 14, 1<<21 - 1, 1 << 21, 1<<28 - 1, 1 << 28, math.MaxUint32} {
		if got, want := id.TextLen(n), len(id.Encode(n, [16]byte{0xff})); got != want {
			t.Errorf("TextLen(%d) = %d, want %d", n, got, want)
		}
	}
}

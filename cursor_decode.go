package livedb

import (
	"encoding/base64"
	"errors"
	"unsafe"

	"github.com/livedb-go/livedb/internal/kv"
)

// This file keeps the fixed cost of decoding a page's cursor low. The
// cursor's bytes, the start of the page's scan (its key's successor,
// made in place over the checked MAC) and the successor key the page's
// read set records where the page stops (scanner.successor) share one
// allocation: page k of a Paginate made two, the decoded text and that
// successor, which did not fit in the Query's key buffer.

// cursorEncoding is the strict URL-safe base64 cursors are decoded with:
// the unused bits of the last character must be zero, so that every
// change to the string is refused. Made once: Strict copies the encoding.
var cursorEncoding = base64.RawURLEncoding.Strict()

// maxCursorText is the length of the longest cursor livedb writes: its
// header (version, kind, fingerprint), a key of the largest size a store
// takes, and its MAC, in base64.
var maxCursorText = cursorEncoding.EncodedLen(2 + 8 + kv.MaxKeySize + cursorMACLen)

// errCursorTooLong refuses a cursor longer than any livedb writes before
// its text is decoded: a cursor may come from a network peer, and its
// decoding allocates twice its length.
var errCursorTooLong = errors.New("cursor too long")

// decodeCursorText returns cursor text s decoded, with spare capacity
// after it for a successor key (cursor.room): as many bytes as the cursor
// has, room for the successor of a key up to 21 bytes longer than the
// cursor's (its header and MAC). The text is read in place: Decode only
// reads its source.
func decodeCursorText(s string) ([]byte, error) {
	if len(s) > maxCursorText {
		return nil, errCursorTooLong
	}
	n := cursorEncoding.DecodedLen(len(s))
	b := make([]byte, n, 2*n)
	n, err := cursorEncoding.Decode(b, unsafe.Slice(unsafe.StringData(s), len(s)))
	return b[:n], err
}

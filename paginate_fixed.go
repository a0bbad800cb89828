package livedb

import (
	"encoding/base64"
	"fmt"
	"strconv"

	"github.com/livedb-go/livedb/internal/value"
)

// This file keeps the fixed cost of a Paginate low: a cursor's
// fingerprint hashes the query's description written into a stack buffer
// (the same text as describe, which the fingerprint must keep: a cursor
// handed out before must still match its query), and a cursor is encoded
// with one allocation, its string.

// describeBuf is the stack buffer a description is written into; longer
// ones grow on the heap.
const describeBuf = 256

// fingerprintOf returns the fingerprint of the query: the first 8 bytes
// of the SHA-256 of its description (remembered for recent descriptions:
// cursor_fingerprint.go). It is returned as an array, which the Query
// keeps, so that the hash does not escape to the heap.
func (q *Query) fingerprintOf() [8]byte {
	var buf [describeBuf]byte
	return fingerprintOfDescription(q.appendDescribe(buf[:0]))
}

// appendDescribe appends describe's text to dst.
func (q *Query) appendDescribe(dst []byte) []byte {
	dst = append(dst, q.table...)
	dst = append(dst, '|')
	if q.ix != nil {
		dst = append(dst, q.ix.name...)
	}
	dst = append(dst, '|')
	dst = q.rng.appendTo(dst)
	dst = append(dst, '|')
	dst = append(dst, q.order.String()...)
	if q.search != nil {
		dst = fmt.Appendf(dst, "|search=%s:%s", q.search.si.def.Name, q.search.filter)
	}
	for _, f := range q.filters {
		dst = append(dst, '|')
		dst = append(dst, f.String()...)
	}
	dst = append(dst, "|preds="...)
	return strconv.AppendInt(dst, int64(len(q.preds)), 10)
}

// appendTo appends String's text to dst.
func (r *IndexRange) appendTo(dst []byte) []byte {
	for i, t := range r.list() { // as "%s(%q, %s)", without fmt
		if i > 0 {
			dst = append(dst, '.')
		}
		dst = append(dst, rangeOpNames[t.op]...)
		dst = append(dst, '(')
		if plainASCII(t.field) { // strconv.Quote's text, without its rune loop
			dst = append(append(append(dst, '"'), t.field...), '"')
		} else {
			dst = strconv.AppendQuote(dst, t.field)
		}
		dst = append(dst, ", "...)
		dst = appendFormat(dst, t.value)
		dst = append(dst, ')')
	}
	return dst
}

// appendFormat appends value.Format(x) to dst, without its allocations for
// the usual range values: strings of printable ASCII without quotes or
// backslashes, which Format prints between double quotes as they are.
func appendFormat(dst []byte, x any) []byte {
	var s string
	switch t := x.(type) {
	case string:
		s = t
	case ID:
		s = string(t)
	default:
		return append(dst, value.Format(x)...)
	}
	if !plainASCII(s) {
		return append(dst, value.Format(x)...)
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// plainASCII reports whether s is printable ASCII without double quotes or
// backslashes: text that strconv.Quote and value.Format both print between
// double quotes as it is.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7F || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// appendCursorString returns the cursor body b with its MAC as URL-safe
// base64, with the string as its one allocation when the cursor is short.
func appendCursorString(b []byte) string {
	var buf [192]byte
	n := base64.RawURLEncoding.EncodedLen(len(b))
	out := buf[:0]
	if n > len(buf) {
		out = make([]byte, 0, n)
	}
	out = base64.RawURLEncoding.AppendEncode(out, b)
	return string(out)
}

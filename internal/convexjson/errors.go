package convexjson

import (
	"errors"
	"strconv"
	"strings"
)

// Errors that an [*Error] matches with errors.Is, by what went wrong.
var (
	// ErrSyntax is returned for text that is not one well-formed JSON value
	// in UTF-8, including trailing data after the value.
	ErrSyntax = errors.New("invalid JSON")
	// ErrTooNested is returned for a value with more than MaxNesting levels
	// of arrays and objects.
	ErrTooNested = errors.New("value too nested")
	// ErrInvalidValue is returned for well-formed JSON that does not encode a
	// Convex value (a bad special object, a reserved field name, a duplicate
	// field, a number out of range), and for a Go value that is not a Convex
	// value.
	ErrInvalidValue = errors.New("invalid Convex value")
)

// Operation names used in [Error.Op].
const (
	opEncode       = "encode"
	opDecode       = "decode"
	opEncodePatch  = "encode patch"
	opDecodePatch  = "decode patch"
	opEncodeExport = "encode export"
	opDecodeExport = "decode export"
)

// Error describes a value that cannot be encoded or text that cannot be
// decoded. It matches its Err (one of [ErrSyntax], [ErrTooNested],
// [ErrInvalidValue]) and Cause with errors.Is and errors.As.
type Error struct {
	Op     string // "encode", "decode", "encode patch", "decode export", ...
	Path   string // Convex-style path of the offending value, such as ".a[3].b"; "" for the top level
	Offset int    // byte offset in the decoded text; -1 when encoding
	Err    error  // the class of error
	Reason string // what is wrong, in words
	Cause  error  // the underlying error, if any (such as a *value.NotValueError)
}

// Error returns "<what>: <reason> (at path <path>, offset <n>)", where what
// says the operation and the format, such as "decode Convex JSON" or
// "encode export JSON". Like the sentinels', the text names no package:
// livedb shows it to its users.
func (e *Error) Error() string {
	var b strings.Builder
	switch e.Op {
	case opEncodeExport, opDecodeExport:
		b.WriteString(strings.TrimSuffix(e.Op, " export") + " export JSON")
	case opEncodePatch, opDecodePatch:
		b.WriteString(strings.TrimSuffix(e.Op, " patch") + " Convex JSON patch")
	default:
		b.WriteString(e.Op + " Convex JSON")
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	var where []string
	if e.Path != "" {
		where = append(where, "at path "+e.Path)
	}
	if e.Offset >= 0 {
		where = append(where, "offset "+strconv.Itoa(e.Offset))
	}
	if len(where) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(where, ", "))
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the error's class and its cause.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// segment is one step of a path: an object key, or an array index when
// index >= 0.
type segment struct {
	key   string
	index int
}

// pathString renders segments as a Convex-style path: ".a[3].b".
func pathString(segs []segment) string {
	var b strings.Builder
	for _, s := range segs {
		if s.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		} else {
			b.WriteByte('.')
			b.WriteString(s.key)
		}
	}
	return b.String()
}

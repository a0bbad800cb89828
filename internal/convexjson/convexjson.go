// Package convexjson converts canonical values (see package value) to and
// from the two JSON forms Convex uses (docs/semantics.md#convex-json and
// docs/semantics.md#export-format).
//
// Convex-JSON ([Encode], [Decode]) is the wire format of Convex's clients
// and server (ValueFormat::ConvexEncodedJSON; convexToJson and jsonToConvex
// in the npm package):
//
//	null, booleans, strings    themselves
//	finite Float64 except -0   a JSON number, formatted as JavaScript does
//	NaN, ±Inf, -0              {"$float": base64 of the 8 little-endian IEEE bytes}
//	Int64                      {"$integer": base64 of the 8 little-endian bytes}
//	Bytes                      {"$bytes": standard base64 with padding}
//	Array, Object              JSON arrays and objects, object keys sorted
//
// so every plain JSON number decodes as a Float64, and field names may not
// start with '$'. Patches ([EncodePatch], [DecodePatch]) may also hold
// {"$undefined": null} as a top-level field value, meaning "remove the
// field".
//
// Export JSON ([EncodeExport], [DecodeExport]) is the format of the
// documents.jsonl files of a snapshot export (ValueFormat::ConvexExportJSON):
// an Int64 is a bare JSON integer and a finite Float64 a JSON number that
// always has a '.' or an exponent, written as Rust's serde_json (ryu) writes
// it; NaN, ±Inf and Bytes use the $float and $bytes forms.
//
// Decoders read the JSON text themselves: numbers keep their exact text
// until converted, at most [MaxNesting] levels of arrays and objects are
// accepted, and the text must be one JSON value (whitespace around it is
// allowed) in UTF-8. Errors are [*Error] values that name the path of the
// offending value.
//
// All functions are safe for concurrent use.
package convexjson

import (
	"strings"
	"unicode/utf8"

	"github.com/livedb-go/livedb/internal/value"
)

// MaxNesting is the deepest nesting of arrays and objects a value may have
// (Convex's MAX_NESTING). A scalar has nesting 0 and a container one more
// than its deepest element; the special objects ($integer, $float, $bytes)
// are scalars.
const MaxNesting = 64

// Encode returns the Convex-JSON text of x. x may be any Go value that
// value.Normalize accepts; it is normalised on the way. Object fields whose
// value is value.Undefined are left out, as Convex's JavaScript client does.
// It fails for values that are not Convex values, field names starting with
// '$' and values nested deeper than [MaxNesting].
func Encode(x any) ([]byte, error) {
	return encode(x, opEncode, false, false)
}

// Decode parses Convex-JSON text into a canonical value. A JSON number
// always becomes a Float64; Int64s, special floats and Bytes must use their
// $integer, $float and $bytes forms, and a $float that holds a number
// expressible as a plain JSON number is rejected.
func Decode(b []byte) (any, error) {
	return decode(b, opDecode, false, false)
}

// EncodePatch returns the Convex-JSON text of a patch: like [Encode] of the
// object, except that a top-level field whose value is value.Undefined is
// written as {"$undefined": null} (remove the field) instead of being left
// out.
func EncodePatch(patch map[string]any) ([]byte, error) {
	if patch == nil {
		patch = map[string]any{}
	}
	return encode(patch, opEncodePatch, false, true)
}

// DecodePatch parses the Convex-JSON text of a patch, which must be an
// object. A top-level field whose value is {"$undefined": null} decodes to
// value.Undefined; $undefined anywhere else is rejected.
func DecodePatch(b []byte) (map[string]any, error) {
	x, err := decode(b, opDecodePatch, false, true)
	if err != nil {
		return nil, err
	}
	m, ok := x.(map[string]any)
	if !ok {
		k, _ := value.KindOf(x)
		return nil, &Error{Op: opDecodePatch, Offset: 0, Err: ErrInvalidValue, Reason: "a patch must be an object, not " + k.String()}
	}
	return m, nil
}

// EncodeExport returns the export JSON text of x (Convex's
// export_clean_lossless): an Int64 is a bare JSON integer such as 5; a
// finite Float64 is a JSON number with a '.' or an exponent, exactly as
// serde_json writes it (5.0, -0.0, 0.1, 1e20, 1.5e-7); NaN and ±Inf use the
// $float form and Bytes the $bytes form. Input is handled as by [Encode].
func EncodeExport(x any) ([]byte, error) {
	return encode(x, opEncodeExport, true, false)
}

// DecodeExport parses export JSON text (Convex's from_clean_lossless): a
// JSON number written without '.' or exponent that fits an int64 becomes an
// Int64, any other number a Float64 ("-0" is the Float64 -0, as serde_json
// reads it); an object whose key starts with '$' is read as a Convex-JSON
// special form ($integer, $float, $bytes).
func DecodeExport(b []byte) (any, error) {
	return decode(b, opDecodeExport, true, false)
}

// AppendString appends s as a JSON string escaped as JavaScript's
// JSON.stringify does. Invalid UTF-8 bytes are written as U+FFFD, so the
// output is always valid JSON; use it for names and messages, not values.
func AppendString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return appendQuoted(dst, s)
}

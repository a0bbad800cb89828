package livedb

import (
	"reflect"

	"github.com/livedb-go/livedb/internal/codec"
)

// This file is the public face of the struct mapping that package
// internal/codec implements, for [ToDoc], [FromDoc] and [Table]: the
// rules, documented on ToDoc and FromDoc, and the error, [CodecError].

// CodecError reports a Go value that does not convert to a document, a
// document value that does not fit the Go field it is read into, or a Go
// type that cannot be mapped at all. Its message names both coordinates:
//
//	livedb: decode agentSessions document "j57…" field .meta.attempt (AgentSession.Meta.Attempt): value 1.5 (Float64) does not fit int
type CodecError struct {
	// Op is "encode" (Go to document), "decode" (document to Go) or "type"
	// (a Go type that no value of can be mapped).
	Op string
	// Table is the table, or "" when it is not known (ToDoc, FromDoc).
	Table string
	// ID is the document, or "" when it is not known.
	ID ID
	// Path is the document path of the value, such as ".meta.attempt" or
	// ".tags[2]"; "" for the document itself.
	Path string
	// Field is the Go path of the value, such as "AgentSession.Meta.Attempt".
	Field string
	// Reason says what is wrong.
	Reason string
	// Err is the error a MarshalText or UnmarshalText method returned, or
	// nil.
	Err error
}

// Error returns the message described on [CodecError].
func (e *CodecError) Error() string { return (*codec.Error)(e).Error() }

// Unwrap returns Err.
func (e *CodecError) Unwrap() error { return e.Err }

// codecError returns err, an error of package codec, as the error users
// see: a *codec.Error becomes the *CodecError with the same fields, so
// that errors.As finds it. Any other error, nil among them, is returned as
// it is. It costs nothing on success, where err is nil.
func codecError(err error) error {
	if ce, ok := err.(*codec.Error); ok {
		return (*CodecError)(ce)
	}
	return err
}

// ToDoc converts a struct, a pointer to a struct, or a map with string
// keys into a Doc, the form [Writer.Insert] and [Writer.Replace] take. It
// is the mapping [Table] writes with. An unsupported value is a
// *[CodecError] naming the document path and the Go field.
//
// Struct fields follow encoding/json's rules (MarshalText is called, see
// below; MarshalJSON is not):
//
//   - The document name comes from the `json` tag ("name",
//     "name,omitempty", "-" to skip the field); an untagged exported field
//     uses its Go name; unexported fields are ignored. An anonymous struct
//     field without a tag, or a pointer to one, is flattened: its fields
//     are fields of the outer struct, the shallower one winning a name
//     clash (two at the same depth are an error, not silently dropped).
//   - `omitempty` leaves out false, 0, "", nil pointers and interfaces, and
//     empty slices, arrays and maps; `omitzero` leaves out zero values (or
//     those whose IsZero method says so). The `string` option is refused.
//   - Fields tagged "_id" (of a string type: ID, Ref[T] or string) and
//     "_creationTime" (of a float type, or a time.Time) are the system
//     fields: ToDoc leaves them out, as the database assigns them. A map's
//     keys are all kept.
//
// Values: bool, string types and float64 as themselves (a Ref or an ID is
// a string); float32 as float64; Go integers as their basic Go type (an
// int stays an int, an int64 an int64) so that the table's validator makes
// them a Float64 where it expects v.Float64 and an Int64 elsewhere, as for
// any Doc; uint64 beyond the Int64 range is an error; []byte as Bytes;
// other slices and arrays as arrays (a nil slice as an empty array, [N]byte
// as an array of numbers); maps with string keys as objects (a nil map as
// an empty object); structs as objects; a nil pointer as an absent field,
// which is how a v.Optional field is left out (null inside an array); a
// non-nil pointer as its pointee; an interface as its dynamic value (nil as
// null, [Undefined] as absent). Complex numbers, channels, functions,
// unsafe pointers, maps with other keys and values nested more than 64
// levels (a pointer cycle) are errors.
//
// A time.Time is stored as Convex code stores a JavaScript Date: a Float64
// of milliseconds since the Unix epoch, what Date.now() returns and the
// unit of _creationTime, so that it sorts in time order in an index and a
// Convex client reads it with new Date(x). Declare such a field
// v.Float64() (or v.Number()) in the schema, and v.Optional for a
// *time.Time that may be nil. The location and the monotonic clock
// reading are not stored. Whole milliseconds are stored exactly; finer
// fractions are kept as far as the float64 holds them (in steps of
// 2^-12 ms, about 0.24 µs, for dates between 2004 and 2039). The zero
// time.Time is not special: it is stored as its instant,
// -62135596800000 (January 1 of year 1), and read back as the zero time;
// to leave it out, tag the field `omitzero` (as with encoding/json,
// `omitempty` does not omit a struct such as time.Time) or use a
// *time.Time. A time beyond the range of a JavaScript Date (±8.64e15 ms,
// about 273,000 years either side of 1970) is an error.
//
// A type that has both MarshalText and UnmarshalText
// ([encoding.TextMarshaler] and [encoding.TextUnmarshaler], on the value or
// the pointer), such as netip.Addr or a UUID type, is stored as its text,
// a String (declare it v.String()); an error of MarshalText is a
// *CodecError that wraps it. A type with only one of the two methods is an
// error, reported by [NewTable] for a Table's type, because what is stored
// could not be read back. A type with methods promoted from an embedded
// field counts, as in encoding/json: a struct that embeds a time.Time is
// stored as that time's text. Map keys are not converted by MarshalText:
// maps need string keys.
func ToDoc(x any) (Doc, error) {
	m, err := codec.EncodeDoc(x)
	if err != nil {
		return nil, codecError(err)
	}
	return Doc(m), nil
}

// FromDoc converts a document into a T, usually a struct or a pointer to
// one (a map with string keys works too). It is the mapping [Table] reads
// with. Fields are matched by the names [ToDoc] gives them; document fields
// without a Go field are ignored, Go fields without a document field keep
// their zero value, and fields tagged "_id" and "_creationTime" receive
// the system fields.
//
// A value goes into a Go field as follows: Int64 into every integer type
// when it fits; Float64 into float types, and into integer types when it
// is integral and fits, because Convex stores JavaScript counters as
// Float64; Int64 into float types when the float holds it exactly; String
// into string types (string, ID, Ref[T]); Bytes into []byte and [N]byte of
// that length; arrays into slices, and into Go arrays of the same length;
// objects into structs and string-keyed maps; null into pointers, slices,
// maps and interfaces as their zero value, and into a field tagged
// `omitempty` or `omitzero` (of any type) as its zero value, because the
// tag makes the zero value and absence one state of the field and null
// is the other way Convex says "none" (a Convex client sends
// paginationOpts with cursor: null, which [PaginationOptions] reads as "");
// ToDoc then leaves that field out, not null; anything into an empty
// interface, as it is. Float64 milliseconds since the Unix epoch (or
// Int64 ones) go into a time.Time, as a time in UTC rounded to the
// nanosecond (see [ToDoc] for the precision); a String goes into a type
// with UnmarshalText (and MarshalText), through UnmarshalText. Anything
// else, such as 1.5 into an int, 300 into an int8, null into a string
// field without one of those tags or a String into a time.Time, is a
// *[CodecError] naming both the document
// path and the Go field:
//
//	livedb: decode document "j57…" field .meta.attempt (AgentSession.Meta.Attempt): value 1.5 (Float64) does not fit int
//
// An error of UnmarshalText is wrapped by the *CodecError
// ([errors.Is] finds it).
//
// The result shares nothing mutable with d: arrays, objects and bytes
// stored into interface fields are copied, as are bytes into []byte
// fields, so changing the result does not change d, and the other way
// round.
func FromDoc[T any](d Doc) (T, error) {
	var out T
	err := codecError(codec.DecodeDoc(d, reflect.ValueOf(&out).Elem(), ""))
	return out, err
}

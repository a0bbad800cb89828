// Package codec maps Go values to documents and back, by reflection. It is
// the struct mapping of the root package's ToDoc, FromDoc and Table[T],
// whose doc comments state its rules for users.
//
// The package owns the layout of a struct as a document (field names from
// `json` tags, flattened embedded structs, name clashes, the system fields
// "_id" and "_creationTime"), the conversion of each Go kind, of time.Time
// and of types with MarshalText and UnmarshalText, the check of a Go type
// before any value of it is converted, and the *[Error] that names where a
// value failed, as a document path and as a Go path.
//
// Null goes into a pointer, slice, map or interface as its zero value (nil),
// and into a field tagged omitempty or omitzero, of any type, as the zero
// value too: such a tag makes the zero value and absence one state of the
// field, and null is the other way a Convex value says "none" (Convex
// clients send paginationOpts with cursor: null on the first page).
// Encoding that field back leaves it out rather than writing null. Null
// into any other string, number, bool, struct or array is an error.
//
// It works on plain document values, those of package value: nil, bool,
// int64, float64, string, value.ID, []byte, []any and map[string]any, with
// [value.Undefined] standing for an absent field. A document ID is a
// value.ID or a string; a Go field of a string type (the root package's ID
// and Ref[T] among them) takes either, so the package needs no type of the
// root package. It knows nothing of tables, transactions or schemas: a
// table name and a document ID only label its errors.
//
// Struct layouts and the mapping of each named type are computed once per
// type and cached. Paths in errors are only built on failure (see
// [Within]), so a successful conversion allocates nothing for them. Every
// function is safe for concurrent use.
package codec

import (
	"reflect"

	"github.com/livedb-go/livedb/internal/value"
)

// The system fields of a document.
const (
	fieldID           = "_id"
	fieldCreationTime = "_creationTime"
)

// maxDepth bounds the recursion of encoding and decoding: Convex
// documents nest at most 16 levels, so a deeper Go value is a mistake,
// usually a pointer cycle.
const maxDepth = 64

// EncodeDoc converts x, a struct, a map with string keys or a pointer to
// either, into the fields of a document; fields of a struct tagged "_id"
// and "_creationTime" are left out. Any other x is an *Error.
func EncodeDoc(x any) (map[string]any, error) {
	if x == nil {
		return nil, errorf("encode", "cannot make a document of nil")
	}
	rv := reflect.ValueOf(x)
	root := rv.Type()
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, Rooted(errorf("encode", "cannot make a document of a nil %s", root), root, "", "")
		}
		rv = rv.Elem()
	}
	var m map[string]any
	var err error
	switch why := NotDocType(rv.Type()); {
	case why != "":
		err = errorf("encode", "a document is made of a struct or a map with string keys, not %s%s", root, why)
	case rv.Kind() == reflect.Struct:
		m, err = encodeStruct(rv, true, 0)
	case rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String:
		m, err = encodeMap(rv, 0)
	default:
		err = errorf("encode", "a document is made of a struct or a map with string keys, not %s", root)
	}
	if err != nil {
		return nil, Rooted(err, root, "", "")
	}
	return m, nil
}

// EncodeFields converts rv, a struct or a pointer to one, into the fields
// of the document docID ("" for a new one) of table, leaving out its
// fields tagged "_id" and "_creationTime". A nil pointer is an *Error, as
// is any field that cannot be converted; table and docID label it.
func EncodeFields(rv reflect.Value, table string, docID value.ID) (map[string]any, error) {
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, &Error{Op: "encode", Table: table, ID: docID, Field: typeLabel(rv.Type()), Reason: "nil value"}
		}
		rv = rv.Elem()
	}
	m, err := encodeStruct(rv, true, 0)
	if err != nil {
		return nil, Rooted(err, rv.Type(), table, docID)
	}
	return m, nil
}

// Encode converts one Go value into a document value. present is false
// for a value that stands for an absent field: a nil pointer, or
// value.Undefined. The error, an *Error, has paths relative to rv: the
// caller adds its own with [Within] and [Rooted].
func Encode(rv reflect.Value) (x any, present bool, err error) {
	return encode(rv, 0)
}

// DecodeDoc stores document d into rv, which must be settable; table
// labels an error, as does the document's _id. A value that does not fit
// its Go field is an *Error.
func DecodeDoc(d map[string]any, rv reflect.Value, table string) error {
	var x any
	if d != nil {
		x = d
	}
	if err := decode(x, rv, 0); err != nil {
		return Rooted(err, rv.Type(), table, docID(d))
	}
	return nil
}

// docID returns the _id of document d, or "" when it has none.
func docID(d map[string]any) value.ID {
	switch id := d[fieldID].(type) {
	case value.ID:
		return id
	case string:
		return value.ID(id)
	}
	return ""
}

// CheckType reports, as an *Error labelled with table, the first part of
// type t that no value can be converted through: an unsupported kind, a
// map key that is not a string, a struct that cannot be laid out, a type
// with only one of MarshalText and UnmarshalText. Interfaces are checked
// at run time, value by value.
func CheckType(t reflect.Type, table string) error {
	if err := checkType(t, map[reflect.Type]bool{}); err != nil {
		return Rooted(err, t, table, "")
	}
	return nil
}

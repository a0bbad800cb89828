package codec

import (
	"reflect"
	"unsafe"
)

// FlatDecoder stores documents into one struct type whose every field the
// fast path of decodeStruct stores (decode_fast.go): a string, 64-bit
// integer, float64 or bool, reached without a pointer, with no time or
// MarshalText. It does what decodeStruct does for such a type, without
// the reflection that leads there (decode, decodeAs, decodeKind, the
// layout's lookup): the typed reads of the root package use it on the
// first read of a version whose document is already decoded.
type FlatDecoder struct {
	fields []*field
}

// NewFlatDecoder returns the FlatDecoder of struct type t, or nil when a
// field of t is not stored by the fast path (or t cannot be laid out, or
// t is not a struct).
func NewFlatDecoder(t reflect.Type) *FlatDecoder {
	if t.Kind() != reflect.Struct || specialOf(t) != specialNone {
		return nil
	}
	si := structOf(t)
	if si.err != nil {
		return nil
	}
	d := &FlatDecoder{}
	for i := range si.fields {
		f := &si.fields[i]
		if f.fast == fastNone {
			return nil
		}
		d.fields = append(d.fields, f)
	}
	return d
}

// Decode stores document doc into the struct at p, which must be of the
// decoder's type and hold its zero value, as DecodeDoc would, and reports
// whether it did. It returns false, having stored part of doc, for every
// document that DecodeDoc would store differently from the fast path (a
// value of another type, null, undefined, a float64 that is not an
// integer) or refuse: the caller then resets the struct and calls
// DecodeDoc, which stores the document or makes the error.
func (d *FlatDecoder) Decode(doc map[string]any, p unsafe.Pointer) bool {
	if doc == nil {
		return false
	}
	for _, f := range d.fields {
		x, ok := doc[f.name]
		if ok && !f.storeFast(p, x) {
			return false
		}
	}
	return true
}

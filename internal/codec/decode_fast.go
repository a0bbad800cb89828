package codec

import (
	"math"
	"reflect"
	"unsafe"

	"github.com/livedb-go/livedb/internal/value"
)

// This file is the fast path of decodeStruct: a struct field of a plain
// kind (string, 64-bit integer, float64, bool, without MarshalText or a
// time), reached from the struct without a pointer, is stored straight at
// its offset when the document value has the field's usual type. Anything
// else, and every value that would be an error (a Float64 that does not
// fit an integer, a String into a number), takes the general path, which
// stores it or makes the error exactly as before: the fast path only ever
// does what the general path would do on success.

// How the fast path stores a field (field.fast).
const (
	fastNone    = iota // the general path
	fastString         // a string type: String or ID
	fastInt64          // int64, or int of 8 bytes: Int64, or an integral Float64
	fastFloat64        // float64: Float64
	fastBool           // bool: Boolean
)

// setFast computes f.fast and f.offset for a field of struct type t.
func (f *field) setFast(t reflect.Type) {
	if f.special != specialNone {
		return
	}
	var off uintptr
	for i, x := range f.index {
		if i > 0 && t.Kind() != reflect.Struct {
			return // through an embedded pointer: fieldAlloc allocates it
		}
		sf := t.Field(x)
		off += sf.Offset
		t = sf.Type
	}
	switch t.Kind() {
	case reflect.String:
		f.fast = fastString
	case reflect.Int64, reflect.Int:
		if t.Size() == 8 {
			f.fast = fastInt64
		}
	case reflect.Float64:
		f.fast = fastFloat64
	case reflect.Bool:
		f.fast = fastBool
	}
	f.offset = off
}

// storeFast stores document value x into field f of the struct at base
// when the fast path can (see the top of this file), and reports whether
// it did; on false nothing is stored.
func (f *field) storeFast(base unsafe.Pointer, x any) bool {
	p := unsafe.Add(base, f.offset)
	switch f.fast {
	case fastString:
		switch s := x.(type) {
		case string:
			*(*string)(p) = s
		case value.ID:
			*(*string)(p) = string(s)
		default:
			return false
		}
	case fastInt64:
		switch n := x.(type) {
		case int64:
			*(*int64)(p) = n
		case float64:
			if n != math.Trunc(n) || n < -twoTo63 || n >= twoTo63 {
				return false
			}
			*(*int64)(p) = int64(n)
		default:
			return false
		}
	case fastFloat64:
		v, ok := x.(float64)
		if !ok {
			return false
		}
		*(*float64)(p) = v
	case fastBool:
		v, ok := x.(bool)
		if !ok {
			return false
		}
		*(*bool)(p) = v
	default:
		return false
	}
	return true
}

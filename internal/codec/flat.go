package codec

import "reflect"

// Flat reports whether a value of type t shares nothing mutable with its
// copies and is decoded by no method of the user's: t is made only of
// booleans, numbers, strings, arrays and structs of those (unexported
// fields included), none of them a time.Time or a type with MarshalText or
// UnmarshalText. Copying such a value with = gives a value that shares
// nothing a caller can change, and decoding a given document into it always
// gives the same value.
func Flat(t reflect.Type) bool { return flat(t, 0) }

func flat(t reflect.Type, depth int) bool {
	if depth > maxDepth || specialOf(t) != specialNone {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Array:
		return flat(t.Elem(), depth+1)
	case reflect.Struct:
		for i := range t.NumField() {
			if !flat(t.Field(i).Type, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

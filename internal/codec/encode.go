package codec

import (
	"math"
	"reflect"
	"strconv"
)

// This file converts Go values to document values.

// encodeStruct converts a struct to an object; top leaves out the system
// fields.
func encodeStruct(rv reflect.Value, top bool, depth int) (map[string]any, error) {
	si := structOf(rv.Type())
	if si.err != nil {
		return nil, layoutErr(si)
	}
	m := make(map[string]any, len(si.fields))
	for i := range si.fields {
		f := &si.fields[i]
		if top && f.sys != sysNone {
			continue
		}
		fv, ok := fieldByIndex(rv, f.index)
		if !ok || f.omitEmpty && isEmpty(fv) || f.omitZero && isZero(fv) {
			continue
		}
		x, present, err := encodeAs(fv, depth+1, f.special)
		if err != nil {
			return nil, Within(err, "."+f.name, "."+f.goName)
		}
		if present {
			m[f.name] = x
		}
	}
	return m, nil
}

// encodeMap converts a map with string keys to an object.
func encodeMap(rv reflect.Value, depth int) (map[string]any, error) {
	m := make(map[string]any, rv.Len())
	sp := staticSpecial(rv.Type().Elem())
	iter := rv.MapRange()
	for iter.Next() {
		k := iter.Key().String()
		x, present, err := encodeAs(iter.Value(), depth+1, sp)
		if err != nil {
			return nil, Within(err, "."+k, "["+strconv.Quote(k)+"]")
		}
		if present {
			m[k] = x
		}
	}
	return m, nil
}

// encode converts one Go value. present is false for a value that
// stands for an absent field: a nil pointer, or Undefined.
func encode(rv reflect.Value, depth int) (x any, present bool, err error) {
	return encodeAs(rv, depth, specialUnknown)
}

// encodeAs is encode for a value whose staticSpecial is
// known (or specialUnknown).
func encodeAs(rv reflect.Value, depth, sp int) (x any, present bool, err error) {
	if depth > maxDepth {
		return nil, false, errorf("encode", "value nests deeper than %d levels (a pointer cycle?)", maxDepth)
	}
	if k := rv.Kind(); k != reflect.Pointer && k != reflect.Interface && k != reflect.Invalid {
		if sp == specialUnknown {
			sp = specialOf(rv.Type())
		}
		if sp != specialNone {
			return encodeSpecial(rv, sp)
		}
	}
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), true, nil
	case reflect.String:
		if rv.Type() == undefinedType {
			return nil, false, nil
		}
		return rv.String(), true, nil
	case reflect.Int:
		return int(rv.Int()), true, nil
	case reflect.Int8:
		return int8(rv.Int()), true, nil
	case reflect.Int16:
		return int16(rv.Int()), true, nil
	case reflect.Int32:
		return int32(rv.Int()), true, nil
	case reflect.Int64:
		return rv.Int(), true, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return encodeUint(rv)
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true, nil
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, false, nil
		}
		return encodeAs(rv.Elem(), depth+1, sp)
	case reflect.Interface:
		if rv.IsNil() {
			return nil, true, nil
		}
		return encode(rv.Elem(), depth+1)
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len()) // a nil slice too is empty Bytes
			copy(b, rv.Bytes())
			return b, true, nil
		}
		return encodeList(rv, depth)
	case reflect.Array:
		return encodeList(rv, depth)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, false, errorf("encode", "%s has keys of type %s; document objects need string keys", rv.Type(), rv.Type().Key())
		}
		m, err := encodeMap(rv, depth)
		return m, err == nil, err
	case reflect.Struct:
		m, err := encodeStruct(rv, false, depth)
		return m, err == nil, err
	case reflect.Invalid:
		return nil, true, nil
	}
	return nil, false, errorf("encode", "%s is not supported (kind %s)", rv.Type(), rv.Kind())
}

// encodeUint passes unsigned integers on as their basic Go type, refusing
// those beyond the Int64 range.
func encodeUint(rv reflect.Value) (any, bool, error) {
	u := rv.Uint()
	switch rv.Kind() {
	case reflect.Uint8:
		return uint8(u), true, nil
	case reflect.Uint16:
		return uint16(u), true, nil
	case reflect.Uint32:
		return uint32(u), true, nil
	}
	if u > math.MaxInt64 {
		return nil, false, errorf("encode", "unsigned integer %d does not fit into a 64-bit signed integer", u)
	}
	return int64(u), true, nil
}

// encodeList converts a slice or array to an array; nil elements that
// would be absent fields become null, as arrays cannot have holes.
func encodeList(rv reflect.Value, depth int) (any, bool, error) {
	out := make([]any, rv.Len())
	sp := staticSpecial(rv.Type().Elem())
	for i := range out {
		ev := rv.Index(i)
		x, _, err := encodeAs(ev, depth+1, sp)
		if err == nil && ev.Kind() == reflect.Interface && !ev.IsNil() && ev.Elem().Type() == undefinedType {
			err = errorf("encode", "undefined is not a valid Convex value inside an array")
		}
		if err != nil {
			s := "[" + strconv.Itoa(i) + "]"
			return nil, false, Within(err, s, s)
		}
		out[i] = x
	}
	return out, true, nil
}

// fieldByIndex follows index through flattened structs; ok is false when
// an embedded pointer on the way is nil.
func fieldByIndex(rv reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && rv.Kind() == reflect.Pointer {
			if rv.IsNil() {
				return reflect.Value{}, false
			}
			rv = rv.Elem()
		}
		rv = rv.Field(x)
	}
	return rv, true
}

// isEmpty is encoding/json's omitempty test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// isZero is the omitzero test: an IsZero method when the type has one,
// else the zero value.
func isZero(v reflect.Value) bool {
	if v.Type().Implements(zeroerType) {
		if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
			return true
		}
		return v.Interface().(interface{ IsZero() bool }).IsZero()
	}
	return v.IsZero()
}

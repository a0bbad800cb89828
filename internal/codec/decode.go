package codec

import (
	"math"
	"reflect"
	"strconv"
	"unsafe"

	"github.com/livedb-go/livedb/internal/value"
)

// This file stores document values into Go values.

// decode stores document value x into rv, which must be settable.
func decode(x any, rv reflect.Value, depth int) error {
	return decodeAs(x, rv, depth, specialUnknown)
}

// decodeAs is decode into a value whose staticSpecial is
// known (or specialUnknown).
func decodeAs(x any, rv reflect.Value, depth, sp int) error {
	if depth > maxDepth {
		return errorf("decode", "value nests deeper than %d levels", maxDepth)
	}
	t := rv.Type()
	switch t.Kind() {
	case reflect.Pointer:
		if x == nil {
			rv.SetZero()
			return nil
		}
		if rv.IsNil() {
			rv.Set(reflect.New(t.Elem()))
		}
		return decodeAs(x, rv.Elem(), depth+1, sp)
	case reflect.Interface:
		return decodeInterface(x, rv)
	case reflect.Slice, reflect.Map:
		if x == nil {
			rv.SetZero()
			return nil
		}
	}
	ok, err := decodeKind(x, rv, depth, sp)
	if err != nil || ok {
		return err
	}
	// A hand-built document may hold Go values that are not canonical (an int, a
	// []string, a Ref, a struct): take their canonical form and try once
	// more.
	if _, canonical := value.KindOf(x); !canonical && x != nil {
		if y, present, eerr := encode(reflect.ValueOf(x), depth); eerr == nil && present {
			if z, nerr := value.Normalize(y); nerr == nil {
				if ok, err = decodeKind(z, rv, depth, sp); err != nil || ok {
					return err
				}
			}
		}
	}
	return errorf("decode", "%s cannot be stored in %s", describe(x), t)
}

// decodeKind stores x into rv by rv's kind, or as decodeSpecial
// for a time or text type (sp as for decodeAs). ok is false when x's
// type does not go into that kind at all; err reports a value of the right
// type that still does not fit.
func decodeKind(x any, rv reflect.Value, depth, sp int) (ok bool, err error) {
	if sp == specialUnknown {
		sp = specialOf(rv.Type())
	}
	if sp != specialNone {
		return decodeSpecial(x, rv, sp)
	}
	switch rv.Kind() {
	case reflect.Bool:
		b, ok := x.(bool)
		if ok {
			rv.SetBool(b)
		}
		return ok, nil
	case reflect.String:
		switch s := x.(type) {
		case string:
			rv.SetString(s)
			return true, nil
		case value.ID:
			rv.SetString(string(s))
			return true, nil
		}
		return false, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return decodeInt(x, rv)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return decodeUint(x, rv)
	case reflect.Float32, reflect.Float64:
		return decodeFloat(x, rv)
	case reflect.Slice:
		return decodeSlice(x, rv, depth)
	case reflect.Array:
		return decodeArray(x, rv, depth)
	case reflect.Map:
		return decodeMap(x, rv, depth)
	case reflect.Struct:
		return decodeStruct(x, rv, depth)
	}
	return false, errorf("decode", "%s is not supported (kind %s)", rv.Type(), rv.Kind())
}

// decodeInterface stores x into an interface field: as it is when its type
// implements the interface, null as nil. Arrays, objects and bytes are
// copied (copyMutable): the value never shares them with the document.
func decodeInterface(x any, rv reflect.Value) error {
	if x == nil {
		rv.SetZero()
		return nil
	}
	xv := reflect.ValueOf(copyMutable(x))
	if !xv.Type().AssignableTo(rv.Type()) {
		return errorf("decode", "%s cannot be stored in %s", describe(x), rv.Type())
	}
	rv.Set(xv)
	return nil
}

// twoTo63 is 2^63, the first float64 beyond the int64 range.
const twoTo63 = float64(1 << 63)

func notFit(x any, t reflect.Type) error {
	return errorf("decode", "%s does not fit %s", describe(x), t)
}

// decodeInt stores an Int64, or an integral Float64, into a signed integer.
func decodeInt(x any, rv reflect.Value) (bool, error) {
	var n int64
	switch t := x.(type) {
	case int64:
		n = t
	case float64:
		if t != math.Trunc(t) || t < -twoTo63 || t >= twoTo63 {
			return true, notFit(x, rv.Type())
		}
		n = int64(t)
	default:
		return false, nil
	}
	if rv.OverflowInt(n) {
		return true, notFit(x, rv.Type())
	}
	rv.SetInt(n)
	return true, nil
}

// decodeUint stores a non-negative Int64, or an integral Float64, into an
// unsigned integer.
func decodeUint(x any, rv reflect.Value) (bool, error) {
	var u uint64
	switch t := x.(type) {
	case int64:
		if t < 0 {
			return true, notFit(x, rv.Type())
		}
		u = uint64(t)
	case float64:
		if t != math.Trunc(t) || t < 0 || t >= 2*twoTo63 {
			return true, notFit(x, rv.Type())
		}
		u = uint64(t)
	default:
		return false, nil
	}
	if rv.OverflowUint(u) {
		return true, notFit(x, rv.Type())
	}
	rv.SetUint(u)
	return true, nil
}

// decodeFloat stores a Float64, or an Int64 the float holds exactly, into a
// float field. A float32 takes a Float64 within its range, rounded.
func decodeFloat(x any, rv reflect.Value) (bool, error) {
	var f float64
	switch t := x.(type) {
	case float64:
		f = t
	case int64:
		f = float64(t)
		if f >= twoTo63 || int64(f) != t || rv.Kind() == reflect.Float32 && float64(float32(f)) != f {
			return true, errorf("decode", "%s is not exactly representable as %s", describe(x), rv.Type())
		}
	default:
		return false, nil
	}
	if rv.OverflowFloat(f) {
		return true, notFit(x, rv.Type())
	}
	rv.SetFloat(f)
	return true, nil
}

// decodeSlice stores Bytes into a byte slice and an array into a slice.
func decodeSlice(x any, rv reflect.Value, depth int) (bool, error) {
	t := rv.Type()
	if b, ok := x.([]byte); ok {
		if t.Elem().Kind() != reflect.Uint8 {
			return false, nil
		}
		s := reflect.MakeSlice(t, len(b), len(b))
		reflect.Copy(s, reflect.ValueOf(b))
		rv.Set(s)
		return true, nil
	}
	a, ok := x.([]any)
	if !ok {
		return false, nil
	}
	s := reflect.MakeSlice(t, len(a), len(a))
	sp := staticSpecial(t.Elem())
	for i, e := range a {
		if err := decodeAs(e, s.Index(i), depth+1, sp); err != nil {
			seg := "[" + strconv.Itoa(i) + "]"
			return true, Within(err, seg, seg)
		}
	}
	rv.Set(s)
	return true, nil
}

// decodeArray stores Bytes or an array of the same length into a Go array.
func decodeArray(x any, rv reflect.Value, depth int) (bool, error) {
	n := rv.Len()
	if b, ok := x.([]byte); ok && rv.Type().Elem().Kind() == reflect.Uint8 {
		if len(b) != n {
			return true, errorf("decode", "%d bytes do not fit %s", len(b), rv.Type())
		}
		reflect.Copy(rv, reflect.ValueOf(b))
		return true, nil
	}
	a, ok := x.([]any)
	if !ok {
		return false, nil
	}
	if len(a) != n {
		return true, errorf("decode", "an array of %d elements does not fit %s", len(a), rv.Type())
	}
	sp := staticSpecial(rv.Type().Elem())
	for i, e := range a {
		if err := decodeAs(e, rv.Index(i), depth+1, sp); err != nil {
			seg := "[" + strconv.Itoa(i) + "]"
			return true, Within(err, seg, seg)
		}
	}
	return true, nil
}

// decodeMap stores an object into a map with string keys.
func decodeMap(x any, rv reflect.Value, depth int) (bool, error) {
	t := rv.Type()
	if t.Key().Kind() != reflect.String {
		return true, errorf("decode", "%s has keys of type %s; document objects have string keys", t, t.Key())
	}
	m, ok := x.(map[string]any)
	if !ok {
		return false, nil
	}
	out := reflect.MakeMapWithSize(t, len(m))
	sp := staticSpecial(t.Elem())
	for k, e := range m {
		if value.IsUndefined(e) {
			continue
		}
		ev := reflect.New(t.Elem()).Elem()
		if err := decodeAs(e, ev, depth+1, sp); err != nil {
			return true, Within(err, "."+k, "["+strconv.Quote(k)+"]")
		}
		out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
	}
	rv.Set(out)
	return true, nil
}

// decodeStruct stores an object into a struct, field by field. Null
// into a field tagged omitempty or omitzero stores the field's zero
// value, whatever its type (see nullIsZero).
func decodeStruct(x any, rv reflect.Value, depth int) (bool, error) {
	t := rv.Type()
	m, ok := x.(map[string]any)
	if !ok {
		return false, nil
	}
	si := structOf(t)
	if si.err != nil {
		return true, layoutErr(si)
	}
	var base unsafe.Pointer // for storeFast (decode_fast.go)
	if rv.CanSet() {
		base = rv.Addr().UnsafePointer()
	}
	for i := range si.fields {
		f := &si.fields[i]
		e, ok := m[f.name]
		if !ok || f.fast != fastNone && base != nil && f.storeFast(base, e) {
			continue
		}
		if value.IsUndefined(e) {
			continue
		}
		fv, err := fieldAlloc(rv, f.index)
		switch {
		case err != nil:
		case e == nil && f.nullIsZero():
			fv.SetZero()
		default:
			err = decodeAs(e, fv, depth+1, f.special)
		}
		if err != nil {
			return true, Within(err, "."+f.name, "."+f.goName)
		}
	}
	return true, nil
}

// fieldAlloc follows index through flattened structs, allocating
// nil embedded pointers on the way.
func fieldAlloc(rv reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && rv.Kind() == reflect.Pointer {
			if rv.IsNil() {
				if !rv.CanSet() {
					return reflect.Value{}, errorf("decode", "cannot allocate the embedded %s: it is unexported (export it, or do not embed a pointer)", rv.Type())
				}
				rv.Set(reflect.New(rv.Type().Elem()))
			}
			rv = rv.Elem()
		}
		rv = rv.Field(x)
	}
	return rv, nil
}

// nullIsZero reports whether null goes into the field as its zero value.
// It does for a field tagged omitempty or omitzero: the tag says that the
// zero value and absence are one state of the field (encoding leaves the
// zero value out), and null is the other way a Convex value says "none", as in Convex's paginationOpts
// ({cursor: null} on the first page). Encoding such a field back gives
// absence, not null. Elsewhere null into a string, number, bool, struct or
// array is an error: there the zero value is a value of its own, and
// storing it for null would hide a document that does not match the type.
func (f *field) nullIsZero() bool {
	return f.omitEmpty || f.omitZero
}

package codec

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"sync"
	"time"

	"github.com/livedb-go/livedb/internal/value"
)

// This file maps the Go types that the struct mapping of encode.go and
// decode.go does not take by their kind: time.Time, stored as Convex stores a
// JavaScript Date (a Float64 of milliseconds since the Unix epoch, what
// Date.now() returns), and the types that have MarshalText and
// UnmarshalText, stored as their text (a String). The rules for users are
// on the root package's ToDoc and FromDoc.

// How a type is mapped before its kind is looked at.
const (
	specialNone     = iota // by its kind
	specialTime            // time.Time: Float64 milliseconds
	specialText            // MarshalText and UnmarshalText: a String
	specialHalfText        // only one of the two methods: an error

	// specialUnknown is passed down for a value whose type is not
	// known statically (it is behind an interface): look at the value.
	specialUnknown = -1
)

var (
	timeType            = reflect.TypeFor[time.Time]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// specialCache maps a named reflect.Type to its special… constant.
var specialCache sync.Map

// basicTypes holds the predeclared type of each basic kind: they have
// no methods.
var basicTypes = [...]reflect.Type{
	reflect.Bool:    reflect.TypeFor[bool](),
	reflect.Int:     reflect.TypeFor[int](),
	reflect.Int8:    reflect.TypeFor[int8](),
	reflect.Int16:   reflect.TypeFor[int16](),
	reflect.Int32:   reflect.TypeFor[int32](),
	reflect.Int64:   reflect.TypeFor[int64](),
	reflect.Uint:    reflect.TypeFor[uint](),
	reflect.Uint8:   reflect.TypeFor[uint8](),
	reflect.Uint16:  reflect.TypeFor[uint16](),
	reflect.Uint32:  reflect.TypeFor[uint32](),
	reflect.Uint64:  reflect.TypeFor[uint64](),
	reflect.Uintptr: reflect.TypeFor[uintptr](),
	reflect.Float32: reflect.TypeFor[float32](),
	reflect.Float64: reflect.TypeFor[float64](),
	reflect.String:  reflect.TypeFor[string](),
}

// specialOf says how values of type t are mapped. Pointers and
// interfaces are none: the value they hold is looked at instead. Only
// named types and struct types (through embedded fields) have methods, so
// predeclared and unnamed types are decided without a cache lookup (Name
// is cheap for an unnamed type; PkgPath is not for a predeclared one).
func specialOf(t reflect.Type) int {
	k := t.Kind()
	switch {
	case t == timeType:
		return specialTime
	case k == reflect.Pointer || k == reflect.Interface:
		return specialNone
	case int(k) < len(basicTypes) && basicTypes[k] == t:
		return specialNone
	case k != reflect.Struct && t.Name() == "":
		return specialNone
	}
	if sp, ok := specialCache.Load(t); ok {
		return sp.(int)
	}
	pt := reflect.PointerTo(t) // its methods include those of t
	sp := specialNone
	switch m, u := pt.Implements(textMarshalerType), pt.Implements(textUnmarshalerType); {
	case m && u:
		sp = specialText
	case m || u:
		sp = specialHalfText
	}
	specialCache.Store(t, sp)
	return sp
}

// staticSpecial is specialOf for the values that a field, element
// or pointer of static type t holds, past its pointers; it is
// specialUnknown when they are behind an interface. Struct layouts and
// the loops over slices and maps compute it once, so that the values they
// convert need no type lookup.
func staticSpecial(t reflect.Type) int {
	for range maxDepth {
		switch t.Kind() {
		case reflect.Pointer:
			t = t.Elem()
			continue
		case reflect.Interface:
			return specialUnknown
		}
		return specialOf(t)
	}
	return specialUnknown // type P *P: the values decide, up to the depth limit
}

// halfTextErr reports a type with only one of MarshalText and
// UnmarshalText.
func halfTextErr(op string, t reflect.Type) *Error {
	has, lacks := "MarshalText", "UnmarshalText (encoding.TextUnmarshaler)"
	if !reflect.PointerTo(t).Implements(textMarshalerType) {
		has, lacks = "UnmarshalText", "MarshalText (encoding.TextMarshaler)"
	}
	return errorf(op, "%s has %s but not %s: a value is stored as its text only when its type has both, so that it reads back", t, has, lacks)
}

// maxDateMillis bounds the times that are stored: a JavaScript Date
// holds at most 8.64e15 milliseconds either side of the epoch (years
// -271821 to 275760), so that every stored time is one Convex clients
// can read as a Date.
const maxDateMillis = 8.64e15

// timeMillis returns t as milliseconds since the Unix epoch: whole
// seconds exactly, the nanoseconds rounded to what the float64 holds.
func timeMillis(t time.Time) float64 {
	return float64(t.Unix())*1000 + float64(t.Nanosecond())/1e6
}

// millisTime returns the UTC time ms milliseconds after the Unix
// epoch, rounded to the nanosecond; ok is false for NaN and values beyond
// the range of a JavaScript Date.
func millisTime(ms float64) (t time.Time, ok bool) {
	if !(math.Abs(ms) <= maxDateMillis) { // also NaN
		return time.Time{}, false
	}
	whole := math.Floor(ms)
	ns := math.Round((ms - whole) * 1e6)
	return time.UnixMilli(int64(whole)).Add(time.Duration(ns)).UTC(), true
}

// encodeSpecial converts a time.Time or a text type; sp is
// specialOf(rv.Type()).
func encodeSpecial(rv reflect.Value, sp int) (any, bool, error) {
	if !rv.CanInterface() {
		return nil, false, errorf("encode", "%s cannot be read: it is reached through an unexported field", rv.Type())
	}
	switch sp {
	case specialTime:
		t := rv.Interface().(time.Time)
		ms := timeMillis(t)
		if math.Abs(ms) > maxDateMillis {
			return nil, false, errorf("encode", "time %s is outside the range of a JavaScript Date (%g milliseconds either side of 1970)", t.Format(time.RFC3339), maxDateMillis)
		}
		return ms, true, nil
	case specialText:
		var m encoding.TextMarshaler
		if rv.Type().Implements(textMarshalerType) {
			m = rv.Interface().(encoding.TextMarshaler)
		} else { // MarshalText has a pointer receiver
			p := reflect.New(rv.Type())
			p.Elem().Set(rv)
			m = p.Interface().(encoding.TextMarshaler)
		}
		b, err := m.MarshalText()
		if err != nil {
			ce := errorf("encode", "MarshalText of %s failed", rv.Type())
			ce.Err = err
			return nil, false, ce
		}
		return string(b), true, nil
	}
	return nil, false, halfTextErr("encode", rv.Type())
}

// decodeSpecial stores x into a time.Time or a text type, as
// decodeKind does: ok is false when x is not a canonical value (a
// hand-built document), for the caller to convert it and try again.
func decodeSpecial(x any, rv reflect.Value, sp int) (ok bool, err error) {
	switch sp {
	case specialTime:
		return decodeTime(x, rv)
	case specialText:
		return decodeText(x, rv)
	}
	return true, halfTextErr("decode", rv.Type())
}

// decodeTime stores a Float64 of milliseconds (or an Int64 one) into a
// time.Time.
func decodeTime(x any, rv reflect.Value) (bool, error) {
	var ms float64
	switch n := x.(type) {
	case float64:
		ms = n
	case int64:
		if n < -maxDateMillis || n > maxDateMillis {
			return true, errorf("decode", "%s is outside the range of a JavaScript Date, so it is not a time", describe(x))
		}
		ms = float64(n)
	default:
		if _, canonical := value.KindOf(x); !canonical {
			return false, nil
		}
		return true, errorf("decode", "%s cannot be stored in %s: a time is stored as a Float64 of milliseconds since the Unix epoch", describe(x), rv.Type())
	}
	t, ok := millisTime(ms)
	if !ok {
		return true, errorf("decode", "%s is outside the range of a JavaScript Date, so it is not a time", describe(x))
	}
	rv.Set(reflect.ValueOf(t))
	return true, nil
}

// decodeText stores a String into a type with UnmarshalText.
func decodeText(x any, rv reflect.Value) (bool, error) {
	var s string
	switch t := x.(type) {
	case string:
		s = t
	case value.ID:
		s = string(t)
	default:
		if _, canonical := value.KindOf(x); !canonical {
			return false, nil
		}
		return true, errorf("decode", "%s cannot be stored in %s: it has UnmarshalText, so it is stored as a String", describe(x), rv.Type())
	}
	u := rv.Addr().Interface().(encoding.TextUnmarshaler)
	if err := u.UnmarshalText([]byte(s)); err != nil {
		ce := errorf("decode", "UnmarshalText of %s refused %s", rv.Type(), describe(x))
		ce.Err = err
		return true, ce
	}
	return true, nil
}

// NotDocType explains why a special type cannot be a whole document,
// or returns "".
func NotDocType(t reflect.Type) string {
	switch specialOf(t) {
	case specialTime:
		return " (a time is stored as a number)"
	case specialText:
		return fmt.Sprintf(" (%s has MarshalText and UnmarshalText, so it is stored as a string)", t)
	case specialHalfText:
		return fmt.Sprintf(" (%s has only one of MarshalText and UnmarshalText)", t)
	}
	return ""
}

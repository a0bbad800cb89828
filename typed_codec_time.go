package livedb

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"sync"
	"time"

	"github.com/livedb-go/livedb/internal/value"
)

// This file maps the Go types that the struct mapping of typed_codec.go
// does not take by their kind: time.Time, stored as Convex stores a
// JavaScript Date (a Float64 of milliseconds since the Unix epoch, what
// Date.now() returns), and the types that have MarshalText and
// UnmarshalText, stored as their text (a String). The rules for users are
// on ToDoc and FromDoc.

// How a type is mapped before its kind is looked at.
const (
	codecSpecialNone     = iota // by its kind
	codecSpecialTime            // time.Time: Float64 milliseconds
	codecSpecialText            // MarshalText and UnmarshalText: a String
	codecSpecialHalfText        // only one of the two methods: an error

	// codecSpecialUnknown is passed down for a value whose type is not
	// known statically (it is behind an interface): look at the value.
	codecSpecialUnknown = -1
)

var (
	codecTimeType            = reflect.TypeFor[time.Time]()
	codecTextMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	codecTextUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// codecSpecialCache maps a named reflect.Type to its codecSpecial… constant.
var codecSpecialCache sync.Map

// codecBasicTypes holds the predeclared type of each basic kind: they have
// no methods.
var codecBasicTypes = [...]reflect.Type{
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

// codecSpecialOf says how values of type t are mapped. Pointers and
// interfaces are none: the value they hold is looked at instead. Only
// named types and struct types (through embedded fields) have methods, so
// predeclared and unnamed types are decided without a cache lookup (Name
// is cheap for an unnamed type; PkgPath is not for a predeclared one).
func codecSpecialOf(t reflect.Type) int {
	k := t.Kind()
	switch {
	case t == codecTimeType:
		return codecSpecialTime
	case k == reflect.Pointer || k == reflect.Interface:
		return codecSpecialNone
	case int(k) < len(codecBasicTypes) && codecBasicTypes[k] == t:
		return codecSpecialNone
	case k != reflect.Struct && t.Name() == "":
		return codecSpecialNone
	}
	if sp, ok := codecSpecialCache.Load(t); ok {
		return sp.(int)
	}
	pt := reflect.PointerTo(t) // its methods include those of t
	sp := codecSpecialNone
	switch m, u := pt.Implements(codecTextMarshalerType), pt.Implements(codecTextUnmarshalerType); {
	case m && u:
		sp = codecSpecialText
	case m || u:
		sp = codecSpecialHalfText
	}
	codecSpecialCache.Store(t, sp)
	return sp
}

// codecStaticSpecial is codecSpecialOf for the values that a field, element
// or pointer of static type t holds, past its pointers; it is
// codecSpecialUnknown when they are behind an interface. Struct layouts and
// the loops over slices and maps compute it once, so that the values they
// convert need no type lookup.
func codecStaticSpecial(t reflect.Type) int {
	for range maxCodecDepth {
		switch t.Kind() {
		case reflect.Pointer:
			t = t.Elem()
			continue
		case reflect.Interface:
			return codecSpecialUnknown
		}
		return codecSpecialOf(t)
	}
	return codecSpecialUnknown // type P *P: the values decide, up to the depth limit
}

// codecHalfTextErr reports a type with only one of MarshalText and
// UnmarshalText.
func codecHalfTextErr(op string, t reflect.Type) *CodecError {
	has, lacks := "MarshalText", "UnmarshalText (encoding.TextUnmarshaler)"
	if !reflect.PointerTo(t).Implements(codecTextMarshalerType) {
		has, lacks = "UnmarshalText", "MarshalText (encoding.TextMarshaler)"
	}
	return codecErr(op, "%s has %s but not %s: a value is stored as its text only when its type has both, so that it reads back", t, has, lacks)
}

// codecMaxDateMillis bounds the times that are stored: a JavaScript Date
// holds at most 8.64e15 milliseconds either side of the epoch (years
// -271821 to 275760), so that every stored time is one Convex clients
// can read as a Date.
const codecMaxDateMillis = 8.64e15

// codecTimeMillis returns t as milliseconds since the Unix epoch: whole
// seconds exactly, the nanoseconds rounded to what the float64 holds.
func codecTimeMillis(t time.Time) float64 {
	return float64(t.Unix())*1000 + float64(t.Nanosecond())/1e6
}

// codecMillisTime returns the UTC time ms milliseconds after the Unix
// epoch, rounded to the nanosecond; ok is false for NaN and values beyond
// the range of a JavaScript Date.
func codecMillisTime(ms float64) (t time.Time, ok bool) {
	if !(math.Abs(ms) <= codecMaxDateMillis) { // also NaN
		return time.Time{}, false
	}
	whole := math.Floor(ms)
	ns := math.Round((ms - whole) * 1e6)
	return time.UnixMilli(int64(whole)).Add(time.Duration(ns)).UTC(), true
}

// codecEncodeSpecial converts a time.Time or a text type; sp is
// codecSpecialOf(rv.Type()).
func codecEncodeSpecial(rv reflect.Value, sp int) (any, bool, error) {
	if !rv.CanInterface() {
		return nil, false, codecErr("encode", "%s cannot be read: it is reached through an unexported field", rv.Type())
	}
	switch sp {
	case codecSpecialTime:
		t := rv.Interface().(time.Time)
		ms := codecTimeMillis(t)
		if math.Abs(ms) > codecMaxDateMillis {
			return nil, false, codecErr("encode", "time %s is outside the range of a JavaScript Date (%g milliseconds either side of 1970)", t.Format(time.RFC3339), codecMaxDateMillis)
		}
		return ms, true, nil
	case codecSpecialText:
		var m encoding.TextMarshaler
		if rv.Type().Implements(codecTextMarshalerType) {
			m = rv.Interface().(encoding.TextMarshaler)
		} else { // MarshalText has a pointer receiver
			p := reflect.New(rv.Type())
			p.Elem().Set(rv)
			m = p.Interface().(encoding.TextMarshaler)
		}
		b, err := m.MarshalText()
		if err != nil {
			ce := codecErr("encode", "MarshalText of %s failed", rv.Type())
			ce.Err = err
			return nil, false, ce
		}
		return string(b), true, nil
	}
	return nil, false, codecHalfTextErr("encode", rv.Type())
}

// codecDecodeSpecial stores x into a time.Time or a text type, as
// codecDecodeKind does: ok is false when x is not a canonical value (a
// hand-built Doc), for the caller to convert it and try again.
func codecDecodeSpecial(x any, rv reflect.Value, sp int) (ok bool, err error) {
	switch sp {
	case codecSpecialTime:
		return codecDecodeTime(x, rv)
	case codecSpecialText:
		return codecDecodeText(x, rv)
	}
	return true, codecHalfTextErr("decode", rv.Type())
}

// codecDecodeTime stores a Float64 of milliseconds (or an Int64 one) into a
// time.Time.
func codecDecodeTime(x any, rv reflect.Value) (bool, error) {
	var ms float64
	switch n := x.(type) {
	case float64:
		ms = n
	case int64:
		if n < -codecMaxDateMillis || n > codecMaxDateMillis {
			return true, codecErr("decode", "%s is outside the range of a JavaScript Date, so it is not a time", codecDescribe(x))
		}
		ms = float64(n)
	default:
		if _, canonical := value.KindOf(x); !canonical {
			return false, nil
		}
		return true, codecErr("decode", "%s cannot be stored in %s: a time is stored as a Float64 of milliseconds since the Unix epoch", codecDescribe(x), rv.Type())
	}
	t, ok := codecMillisTime(ms)
	if !ok {
		return true, codecErr("decode", "%s is outside the range of a JavaScript Date, so it is not a time", codecDescribe(x))
	}
	rv.Set(reflect.ValueOf(t))
	return true, nil
}

// codecDecodeText stores a String into a type with UnmarshalText.
func codecDecodeText(x any, rv reflect.Value) (bool, error) {
	var s string
	switch t := x.(type) {
	case string:
		s = t
	case ID:
		s = string(t)
	default:
		if _, canonical := value.KindOf(x); !canonical {
			return false, nil
		}
		return true, codecErr("decode", "%s cannot be stored in %s: it has UnmarshalText, so it is stored as a String", codecDescribe(x), rv.Type())
	}
	u := rv.Addr().Interface().(encoding.TextUnmarshaler)
	if err := u.UnmarshalText([]byte(s)); err != nil {
		ce := codecErr("decode", "UnmarshalText of %s refused %s", rv.Type(), codecDescribe(x))
		ce.Err = err
		return true, ce
	}
	return true, nil
}

// codecNotDocType explains why a special type cannot be a whole document,
// or returns "".
func codecNotDocType(t reflect.Type) string {
	switch codecSpecialOf(t) {
	case codecSpecialTime:
		return " (a time is stored as a number)"
	case codecSpecialText:
		return fmt.Sprintf(" (%s has MarshalText and UnmarshalText, so it is stored as a string)", t)
	case codecSpecialHalfText:
		return fmt.Sprintf(" (%s has only one of MarshalText and UnmarshalText)", t)
	}
	return ""
}

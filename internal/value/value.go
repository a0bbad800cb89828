// Package value holds livedb's value model: the Go representation of Convex
// values, their total order and equality (docs/semantics.md#value-order,
// docs/semantics.md#equality),
// normalisation of Go input, size accounting and limits.
//
// A canonical value is one of:
//
//	nil             Null
//	int64           Int64
//	float64         Float64
//	bool            Boolean
//	string          String (valid UTF-8)
//	[]byte          Bytes
//	[]any           Array of canonical values
//	map[string]any  Object of canonical values
//
// Undefined (a missing field) is not a value but takes part in the order: it
// sorts before null. It is only meaningful in index ranges, filters and
// patches.
package value

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode/utf8"
)

// undefinedType is the type of [Undefined]. Its one value is a constant,
// so that no package can reassign Undefined; code that converts Go values
// by reflection must test for the type before taking it as a string.
type undefinedType string

// String returns "undefined".
func (undefinedType) String() string { return "undefined" }

// Undefined stands for a missing field. It sorts before null.
const Undefined undefinedType = "undefined"

// IsUndefined reports whether x is [Undefined].
func IsUndefined(x any) bool {
	_, ok := x.(undefinedType)
	return ok
}

// ID is a document ID: a String value in Convex's ID encoding
// (docs/semantics.md#ids). It is
// kept as a distinct Go type so that typed code can tell IDs from text; as a
// value it is a String and compares, sorts and encodes as one.
type ID string

// Kind is the type of a canonical value, in Convex's order of types
// (docs/semantics.md#value-order).
type Kind uint8

// The kinds, in sort order.
const (
	KindUndefined Kind = iota
	KindNull
	KindInt64
	KindFloat64
	KindBoolean
	KindString
	KindBytes
	KindArray
	KindObject
)

var kindNames = [...]string{"undefined", "Null", "Int64", "Float64", "Boolean", "String", "Bytes", "Array", "Object"}

// String returns the kind's name as Convex prints it in EvalError messages.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// KindOf returns the kind of a canonical value. It reports false for a Go
// value that is not canonical.
func KindOf(x any) (Kind, bool) {
	switch x.(type) {
	case undefinedType:
		return KindUndefined, true
	case nil:
		return KindNull, true
	case int64:
		return KindInt64, true
	case float64:
		return KindFloat64, true
	case bool:
		return KindBoolean, true
	case string, ID:
		return KindString, true
	case []byte:
		return KindBytes, true
	case []any:
		return KindArray, true
	case map[string]any:
		return KindObject, true
	}
	return 0, false
}

// Compare compares two canonical values by Convex's total order
// (docs/semantics.md#value-order):
// undefined < null < int64 < float64 < boolean < string < bytes < array <
// object. Int64s sort before every Float64; Float64s follow IEEE-754
// totalOrder (-NaN < -Inf < -0 < +0 < +Inf < NaN); strings compare by UTF-8
// bytes; arrays and objects lexicographically (objects by sorted keys, key
// first, then value). Non-canonical inputs sort by their normalised form; an
// input that cannot be normalised sorts after every value.
func Compare(a, b any) int {
	ka, oka := KindOf(a)
	kb, okb := KindOf(b)
	if !oka || !okb {
		na, errA := Normalize(a)
		nb, errB := Normalize(b)
		switch {
		case errA != nil && errB != nil:
			return 0
		case errA != nil:
			return 1
		case errB != nil:
			return -1
		}
		return Compare(na, nb)
	}
	if ka != kb {
		return cmp.Compare(ka, kb)
	}
	switch ka {
	case KindUndefined, KindNull:
		return 0
	case KindInt64:
		return cmp.Compare(a.(int64), b.(int64))
	case KindFloat64:
		return CompareFloat(a.(float64), b.(float64))
	case KindBoolean:
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case KindString:
		return cmp.Compare(asString(a), asString(b))
	case KindBytes:
		return bytes.Compare(a.([]byte), b.([]byte))
	case KindArray:
		x, y := a.([]any), b.([]any)
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := Compare(x[i], y[i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(x), len(y))
	default:
		return compareObjects(a.(map[string]any), b.(map[string]any))
	}
}

// Equal reports whether Compare(a, b) == 0: 1 (int64) and 1.0 differ, -0 and
// +0 differ, and NaN equals a NaN with the same bits.
func Equal(a, b any) bool { return Compare(a, b) == 0 }

// CompareFloat compares by IEEE-754 totalOrder.
func CompareFloat(a, b float64) int {
	return cmp.Compare(floatOrderBits(a), floatOrderBits(b))
}

// floatOrderBits maps a float to an unsigned integer whose order is the
// totalOrder of the floats: flip every bit of a negative, only the sign bit of
// a positive.
func floatOrderBits(f float64) uint64 {
	u := math.Float64bits(f)
	if u&(1<<63) != 0 {
		return ^u
	}
	return u | 1<<63
}

func asString(x any) string {
	if id, ok := x.(ID); ok {
		return string(id)
	}
	return x.(string)
}

func compareObjects(x, y map[string]any) int {
	var bx, by [16]string // small objects sort their keys without allocating
	kx, ky := appendSortedKeys(bx[:0], x), appendSortedKeys(by[:0], y)
	for i := 0; i < len(kx) && i < len(ky); i++ {
		if c := cmp.Compare(kx[i], ky[i]); c != 0 {
			return c
		}
		if c := Compare(x[kx[i]], y[ky[i]]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(kx), len(ky))
}

// SortedKeys returns the keys of an object in UTF-8 byte order.
func SortedKeys(m map[string]any) []string {
	return appendSortedKeys(make([]string, 0, len(m)), m)
}

func appendSortedKeys(keys []string, m map[string]any) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// NotValueError says that a Go value cannot be taken as a Convex value.
type NotValueError struct {
	Path   string // Convex-style path, such as ".a[3].b"; "" for the top level
	Reason string
}

// Error describes the failure.
func (e *NotValueError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Reason + " (at path " + e.Path + ")"
}

// Normalize converts a Go value to its canonical form, copying containers.
//
// The rule for Go's other kinds: int, int8, int16, int32, uint8, uint16 and
// uint32 become Int64 exactly; uint, uint64 and uintptr become Int64 when they
// fit and are rejected otherwise; float32 becomes Float64 (always exact). A
// validator that expects v.Float64 takes a Go integer of any kind but int64 as
// Float64 when it is exactly representable (|n| <= 2^53); see [IsGoInt].
// Strings must be valid UTF-8. []any, map[string]any, []string, []int64,
// []float64, []map[string]any and map[string]string are taken as arrays and
// objects. Undefined is not a value and is rejected here; callers that allow
// it (patches, ranges) handle it first.
func Normalize(x any) (any, error) {
	return normalize(x, "")
}

func normalize(x any, path string) (any, error) {
	switch t := x.(type) {
	case nil, int64, float64, bool, []byte:
		if b, ok := t.([]byte); ok {
			return bytes.Clone(b), nil
		}
		return t, nil
	case string:
		if !utf8.ValidString(t) {
			return nil, &NotValueError{Path: path, Reason: "string is not valid UTF-8"}
		}
		return t, nil
	case ID:
		return normalize(string(t), path)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			n, err := normalize(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			if IsUndefined(e) {
				continue // {a: undefined} is the same as {} (docs/semantics.md#missing-fields-and-undefined)
			}
			n, err := normalize(e, path+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case undefinedType:
		return nil, &NotValueError{Path: path, Reason: "undefined is not a valid Convex value"}
	}
	if i, ok, err := goInt(x, path); ok {
		return i, err
	}
	switch t := x.(type) {
	case float32:
		return float64(t), nil
	case []string:
		return convertSlice(t, path)
	case []int64:
		return convertSlice(t, path)
	case []float64:
		return convertSlice(t, path)
	case []map[string]any:
		return convertSlice(t, path)
	case map[string]string:
		out := make(map[string]any, len(t))
		for k, s := range t {
			n, err := normalize(s, path+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	}
	if _, ok := x.(time.Time); ok {
		// Convex has no date type: it stores a date as a number of
		// milliseconds, which is what the typed codec does with a time.Time.
		return nil, &NotValueError{Path: path, Reason: "time.Time is not a supported Convex type: store t.UnixMilli() (Convex keeps dates as milliseconds since the epoch), or use a typed Table, which converts a time.Time field so"}
	}
	return nil, &NotValueError{Path: path, Reason: fmt.Sprintf("%T is not a supported Convex type", x)}
}

func convertSlice[T any](s []T, path string) (any, error) {
	out := make([]any, len(s))
	for i, e := range s {
		n, err := normalize(e, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// IsGoInt reports whether x is a Go integer of a kind other than int64, and
// returns its value when it fits in an int64.
func IsGoInt(x any) (int64, bool) {
	switch x.(type) {
	case int, int8, int16, int32, uint8, uint16, uint32, uint, uint64, uintptr:
		i, _, err := goInt(x, "")
		return i.(int64), err == nil
	}
	return 0, false
}

// goInt converts Go integer kinds other than int64.
func goInt(x any, path string) (any, bool, error) {
	switch t := x.(type) {
	case int:
		return int64(t), true, nil
	case int8:
		return int64(t), true, nil
	case int16:
		return int64(t), true, nil
	case int32:
		return int64(t), true, nil
	case uint8:
		return int64(t), true, nil
	case uint16:
		return int64(t), true, nil
	case uint32:
		return int64(t), true, nil
	case uint:
		return fitUint(uint64(t), path)
	case uint64:
		return fitUint(t, path)
	case uintptr:
		return fitUint(uint64(t), path)
	}
	return nil, false, nil
}

func fitUint(u uint64, path string) (any, bool, error) {
	if u > math.MaxInt64 {
		return int64(0), true, &NotValueError{Path: path, Reason: fmt.Sprintf("unsigned integer %d does not fit into a 64-bit signed integer", u)}
	}
	return int64(u), true, nil
}

// MaxExactFloatInt is the largest integer magnitude that a float64 holds
// exactly (2^53).
const MaxExactFloatInt = 1 << 53

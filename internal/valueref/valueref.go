// Package valueref is a reference implementation of the order of Convex
// values, for tests: it is written from Convex's ordering rules and shares
// no code with internal/value (only the types of Undefined and ID), so that
// a mistake in the engine's order cannot hide behind the same mistake in a
// test's oracle. It favours being obviously right over being fast. The
// rules:
//
//   - type first: undefined < null < int64 < float64 < boolean < string <
//     bytes < array < object (every int64 before every float64);
//   - int64 by value; float64 by IEEE 754 totalOrder: negative NaNs <
//     -Inf < ... < -0 < +0 < ... < +Inf < positive NaNs, NaNs ordered by
//     payload, each NaN equal only to the same bits;
//   - false < true;
//   - strings by their UTF-8 bytes (so "\uFFFF" < "😀"), bytes unsigned,
//     a proper prefix first;
//   - arrays element by element, a proper prefix first; objects as their
//     (field, value) pairs sorted by field name, compared pair by pair
//     (name, then value), a proper prefix first.
//
// Values are Go values of the engine's canonical form: nil, int64, float64,
// bool, string, value.ID, []byte, []any, map[string]any or a named type of
// it (such as livedb.Doc), and value.Undefined.
package valueref

import (
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/livedb-go/livedb/internal/value"
)

// rank is the position of a value's type in the order.
func rank(x any) int {
	switch x.(type) {
	case nil:
		return 1
	case int64:
		return 2
	case float64:
		return 3
	case bool:
		return 4
	case string, value.ID:
		return 5
	case []byte:
		return 6
	case []any:
		return 7
	case map[string]any:
		return 8
	}
	if x == value.Undefined {
		return 0
	}
	if _, ok := asMap(x); ok {
		return 8
	}
	panic(fmt.Sprintf("valueref.Compare: %T is not a Convex value", x))
}

// Compare returns -1, 0 or 1 as a sorts before, equal to or after b.
func Compare(a, b any) int {
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return sign(ra - rb)
	}
	switch x := a.(type) {
	case int64:
		y := b.(int64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case float64:
		return compareFloat(x, b.(float64))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case string, value.ID:
		return compareBytes([]byte(asString(a)), []byte(asString(b)))
	case []byte:
		return compareBytes(x, b.([]byte))
	case []any:
		y := b.([]any)
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := Compare(x[i], y[i]); c != 0 {
				return c
			}
		}
		return sign(len(x) - len(y))
	}
	if ra == 8 {
		x, _ := asMap(a)
		y, _ := asMap(b)
		return compareObjects(x, y)
	}
	return 0 // both undefined, or both null
}

// Equal is Convex equality: the order's equality (1 != 1.0, -0 != 0,
// NaN == NaN with the same bits).
func Equal(a, b any) bool { return Compare(a, b) == 0 }

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func asString(x any) string {
	if id, ok := x.(value.ID); ok {
		return string(id)
	}
	return x.(string)
}

// asMap returns x as a map[string]any when it is one, or of a named type
// of it (such as livedb.Doc).
func asMap(x any) (map[string]any, bool) {
	if m, ok := x.(map[string]any); ok {
		return m, true
	}
	t := reflect.TypeOf(x)
	if t == nil || t.Kind() != reflect.Map || !t.ConvertibleTo(mapType) {
		return nil, false
	}
	return reflect.ValueOf(x).Convert(mapType).Interface().(map[string]any), true
}

var mapType = reflect.TypeFor[map[string]any]()

// compareBytes compares byte strings unsigned, byte by byte, a proper
// prefix first.
func compareBytes(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return sign(len(a) - len(b))
}

// compareFloat is IEEE 754 totalOrder, from its definition: negative
// NaNs, then the numbers (with -0 before +0), then positive NaNs; among
// NaNs of one sign, a larger payload is further from the numbers.
func compareFloat(a, b float64) int {
	class := func(f float64) int {
		switch {
		case math.IsNaN(f) && math.Signbit(f):
			return 0
		case math.IsNaN(f):
			return 2
		}
		return 1
	}
	ca, cb := class(a), class(b)
	if ca != cb {
		return sign(ca - cb)
	}
	payload := func(f float64) uint64 { return math.Float64bits(f) & (1<<52 - 1) }
	switch ca {
	case 0: // negative NaNs: the larger payload sorts first
		pa, pb := payload(a), payload(b)
		switch {
		case pa > pb:
			return -1
		case pa < pb:
			return 1
		}
		return 0
	case 2:
		pa, pb := payload(a), payload(b)
		switch {
		case pa < pb:
			return -1
		case pa > pb:
			return 1
		}
		return 0
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	// Numerically equal: only zeros can differ, -0 before +0.
	sa, sb := math.Signbit(a), math.Signbit(b)
	switch {
	case sa == sb:
		return 0
	case sa:
		return -1
	}
	return 1
}

// compareObjects compares objects as their sorted (name, value) pairs.
func compareObjects(a, b map[string]any) int {
	ka, kb := sortedKeys(a), sortedKeys(b)
	for i := 0; i < len(ka) && i < len(kb); i++ {
		if c := compareBytes([]byte(ka[i]), []byte(kb[i])); c != 0 {
			return c
		}
		if c := Compare(a[ka[i]], b[kb[i]]); c != 0 {
			return c
		}
	}
	return sign(len(ka) - len(kb))
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int { return compareBytes([]byte(x), []byte(y)) })
	return keys
}

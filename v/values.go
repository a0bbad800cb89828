package v

import (
	"fmt"

	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/internal/value"
)

// The functions of Convex's convex/values on values themselves: their
// order and their wire JSON. Validators use the same order and equality.

// Compare compares two Convex values by Convex's total order
// (docs/semantics.md#value-order): undefined (a missing field) < null < int64 < float64 <
// boolean < string < bytes < array < object. Every int64 sorts before every
// float64 (int64(100) < 1.0); floats follow IEEE-754 totalOrder (-0 < +0,
// NaN after +Inf); strings compare by UTF-8 bytes; arrays and objects
// lexicographically. It returns -1, 0 or +1. Go's other integer kinds
// compare as int64; a value that is not a Convex value sorts after all.
func Compare(a, b any) int { return value.Compare(a, b) }

// Equal reports whether Compare(a, b) == 0: int64(1) and 1.0 differ, -0.0
// and 0.0 differ, and NaN equals NaN.
func Equal(a, b any) bool { return value.Equal(a, b) }

// ConvexToJSON encodes a value in Convex's wire JSON (Convex's
// convexToJson; docs/semantics.md#convex-json): int64 as {"$integer":
// base64}, NaN, ±Inf and -0 as {"$float": base64}, bytes as {"$bytes":
// base64}, finite floats as JSON numbers.
func ConvexToJSON(x any) ([]byte, error) {
	b, err := convexjson.Encode(x)
	return b, prefixErr(err)
}

// JSONToConvex decodes Convex's wire JSON (Convex's jsonToConvex). Every
// plain JSON number is a float64, as in Convex.
func JSONToConvex(b []byte) (any, error) {
	x, err := convexjson.Decode(b)
	return x, prefixErr(err)
}

// prefixErr gives err, an error of an internal package, livedb's prefix.
func prefixErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("livedb: %w", err)
}

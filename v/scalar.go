package v

import (
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/livedb-go/livedb/internal/value"
)

// scalarKind is the type of a validator without parameters.
type scalarKind uint8

const (
	kindNull scalarKind = iota
	kindFloat64
	kindInt64
	kindBoolean
	kindString
	kindBytes
	kindAny
)

// scalarValidator is v.Null, v.Float64, v.Int64, v.Boolean, v.String,
// v.Bytes or v.Any.
type scalarValidator struct {
	kind scalarKind
}

var (
	nullValidator    = &scalarValidator{kindNull}
	float64Validator = &scalarValidator{kindFloat64}
	int64Validator   = &scalarValidator{kindInt64}
	booleanValidator = &scalarValidator{kindBoolean}
	stringValidator  = &scalarValidator{kindString}
	bytesValidator   = &scalarValidator{kindBytes}
	anyValidator     = &scalarValidator{kindAny}
)

// scalarNames holds, per kind, the ValidatorJSON type and the name Convex
// prints.
var scalarNames = [...]struct{ json, printed string }{
	kindNull:    {"null", "v.null()"},
	kindFloat64: {"number", "v.float64()"},
	kindInt64:   {"bigint", "v.int64()"},
	kindBoolean: {"boolean", "v.boolean()"},
	kindString:  {"string", "v.string()"},
	kindBytes:   {"bytes", "v.bytes()"},
	kindAny:     {"any", "v.any()"},
}

// Null returns the validator of Convex's Null: it accepts only Go nil.
func Null() Validator { return nullValidator }

// Float64 returns the validator of Convex's Float64 (a JS number): it accepts
// any float64, NaN, the infinities and -0 included, and a float32. It rejects
// an int64, which is Convex's Int64. A Go integer of another kind (int,
// int32, uint8, ...) is taken as the number it holds when its magnitude is at
// most 2^53, so that it converts to float64 exactly; the database stores it
// as a float64.
func Float64() Validator { return float64Validator }

// Number is an alias of [Float64], as v.number() is of v.float64().
func Number() Validator { return float64Validator }

// Int64 returns the validator of Convex's Int64 (a JS bigint): it accepts an
// int64 and a Go integer of another kind that fits in one (the database
// stores it as an int64). It rejects every float64, even 1.0.
func Int64() Validator { return int64Validator }

// BigInt is an alias of [Int64].
//
// Deprecated: Use [Int64], as Convex deprecates v.bigint() for v.int64().
func BigInt() Validator { return int64Validator }

// Boolean returns the validator of Convex's Boolean: a Go bool.
func Boolean() Validator { return booleanValidator }

// String returns the validator of Convex's String: a Go string or a
// value.ID, which must be valid UTF-8. IDs are strings, so String accepts
// them.
func String() Validator { return stringValidator }

// Bytes returns the validator of Convex's Bytes: a Go []byte.
func Bytes() Validator { return bytesValidator }

// Any returns the validator that accepts every Convex value. The database
// stores the value in canonical form (see the package doc), so a Go integer
// of any kind becomes an Int64.
func Any() Validator { return anyValidator }

func (s *scalarValidator) Validate(x any) error { _, err := run(s, x, nil, false); return err }

func (s *scalarValidator) MarshalJSON() ([]byte, error) { return marshal(s) }

func (s *scalarValidator) String() string { return scalarNames[s.kind].printed }

func (s *scalarValidator) IsOptional() bool { return false }

func (s *scalarValidator) Kind() string { return scalarNames[s.kind].json }

// IDValidator is the validator v.ID(table) returns: a string that decodes as
// a Convex document ID (docs/semantics.md#ids). Validate accepts any
// well-formed ID; when a document is written, the database also checks that
// the ID belongs to the table. It never checks that the document exists.
type IDValidator struct {
	table string
	err   error
}

// ID returns the validator of IDs of documents of table, v.id(table) in
// Convex. The table name must be an identifier (docs/semantics.md#names);
// system tables such as
// "_storage" are allowed.
func ID(table string) *IDValidator {
	iv := &IDValidator{table: table}
	if p := identifierProblem(table); p != "" {
		iv.err = defError(fmt.Sprintf("v.ID: invalid table name %q: %s", table, p))
	}
	return iv
}

// Table returns the name of the table whose IDs the validator accepts.
func (iv *IDValidator) Table() string { return iv.table }

// Validate reports whether x is a well-formed ID. It cannot check the table,
// which only the database knows: a write checks it, and refuses an ID of
// another table with ReasonTableMismatch (ReasonSystemTable when that
// table's name starts with "_"), and one whose table number is unknown with
// ReasonNoMatch.
func (iv *IDValidator) Validate(x any) error { _, err := run(iv, x, nil, false); return err }

// MarshalJSON returns {"type":"id","tableName":"<table>"}.
func (iv *IDValidator) MarshalJSON() ([]byte, error) { return marshal(iv) }

// String returns v.id("<table>").
func (iv *IDValidator) String() string { return `v.id("` + iv.table + `")` }

// IsOptional reports false.
func (iv *IDValidator) IsOptional() bool { return false }

// Kind returns "id".
func (iv *IDValidator) Kind() string { return "id" }

func (iv *IDValidator) definitionErr() error { return iv.err }

// LiteralValidator is the validator v.Literal(x) returns: it accepts only a
// value equal to x under Convex's equality (docs/semantics.md#equality).
type LiteralValidator struct {
	value any // string, bool, int64 or float64
	err   error
}

// Literal returns the validator of the single value x, v.literal(x) in
// Convex. x must be a string (or value.ID), a bool, an int64 (a Convex Int64,
// a JS bigint) or a float64 (a Convex Float64, a JS number).
//
// As in JavaScript, where every number literal is a Float64, a Go integer of
// any other kind is a Float64: v.Literal(1) is v.Literal(1.0), and it must be
// at most 2^53 in magnitude. Write v.Literal(int64(1)) for the Int64 1. A
// float32 is its float64 value. Any other type is a definition mistake
// ([Err]), as is a string that is not valid UTF-8.
//
// Equality is Convex's: v.Literal(1.0) rejects int64(1), v.Literal(0.0)
// rejects -0.0, and a NaN literal accepts only a NaN with the same bits. A Go
// integer of another kind is compared as the literal's type, so v.Literal(1.0)
// and v.Literal(int64(1)) both accept the Go int 1 (as 1.0 and as Int64 1).
func Literal(x any) *LiteralValidator {
	l := &LiteralValidator{}
	switch t := x.(type) {
	case string:
		l.value = t
		if !utf8.ValidString(t) {
			l.err = defError(fmt.Sprintf("v.Literal: string %q is not valid UTF-8", t))
		}
	case value.ID:
		return Literal(string(t))
	case bool, int64, float64:
		l.value = t
	case float32:
		l.value = float64(t)
	default:
		n, isInt := value.IsGoInt(x)
		switch {
		case isInt && n >= -value.MaxExactFloatInt && n <= value.MaxExactFloatInt:
			l.value = float64(n)
		case isInt || isUint(x):
			l.value = float64(0)
			l.err = defError(fmt.Sprintf("v.Literal: integer %d is not exactly representable as a Float64 (a JS number); use an int64 for an Int64 literal", x))
		default:
			l.value = ""
			l.err = defError(fmt.Sprintf("v.Literal: a literal must be a string, float64, int64 or bool, not %T", x))
		}
	}
	return l
}

// isUint reports whether x is an unsigned integer that does not fit in an
// int64.
func isUint(x any) bool {
	switch x.(type) {
	case uint, uint64, uintptr:
		return true
	}
	return false
}

// Value returns the literal: a string, bool, int64 or float64.
func (l *LiteralValidator) Value() any { return l.value }

// Validate reports whether x equals the literal.
func (l *LiteralValidator) Validate(x any) error { _, err := run(l, x, nil, false); return err }

// MarshalJSON returns {"type":"literal","value":<x>}, where x is in Convex's
// JSON: an Int64 is {"$integer":"<base64>"}, and NaN, the infinities and -0
// are {"$float":"<base64>"}.
func (l *LiteralValidator) MarshalJSON() ([]byte, error) { return marshal(l) }

// String returns v.literal(<x>) as Convex prints it: strings and booleans as
// JSON, numbers as serde_json writes them ("1.0"), <number> for NaN and the
// infinities, and <bigint> for every Int64.
func (l *LiteralValidator) String() string { return "v.literal(" + literalDisplay(l.value) + ")" }

// IsOptional reports false.
func (l *LiteralValidator) IsOptional() bool { return false }

// Kind returns "literal".
func (l *LiteralValidator) Kind() string { return "literal" }

func (l *LiteralValidator) definitionErr() error { return l.err }

// literalDisplay prints a literal as Convex's LiteralValidator Display does.
func literalDisplay(x any) string {
	switch t := x.(type) {
	case string:
		return string(appendJSONString(nil, t))
	case bool:
		if t {
			return "true"
		}
		return "false"
	case int64:
		return "<bigint>"
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return "<number>"
		}
		// serde_json writes floats with ryu: plain for decimal exponents in
		// (-5, 16], else in exponent form.
		return value.FormatFloatDigits(t, func(k int) bool { return k <= -5 || k > 16 })
	}
	return "<invalid>"
}

// describe prints a validator, nil included.
func describe(val Validator) string {
	if val == nil {
		return "<nil>"
	}
	return val.String()
}

// identifierProblem says why s is not an identifier (docs/semantics.md#names:
// ^[A-Za-z_][A-Za-z0-9_]*$, at most 64 bytes, not only underscores), or
// returns "" when it is one.
func identifierProblem(s string) string {
	if s == "" {
		return "Identifier cannot be empty"
	}
	only := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			if i == 0 {
				return "Identifiers must start with an alphabetic character or underscore"
			}
			return "Identifiers can only contain alphanumeric characters or underscores"
		}
		only = only && c == '_'
	}
	if len(s) > maxIdentifierLen {
		return fmt.Sprintf("Identifier is too long (%d > maximum %d)", len(s), maxIdentifierLen)
	}
	if only {
		return "Identifiers cannot have exclusively underscores"
	}
	return ""
}

// maxIdentifierLen is Convex's MAX_IDENTIFIER_LEN.
const maxIdentifierLen = 64

// Package v is livedb's validator builder, the Go twin of Convex's `v`
// (convex/values): v.String(), v.Object(v.Fields{...}), v.Optional(...),
// v.Union(...), v.ID("table") and the rest. Validators check values with
// Convex's exact acceptance rules, report failures as *ValidationError with
// a Convex-style path (".messages[3].author"), and read and write Convex's
// ValidatorJSON so a schema exported by Convex loads as it is.
package v

// Validator checks a value against a Convex validator.
//
// Validators are immutable and safe for concurrent use by multiple
// goroutines.
type Validator interface {
	// Validate reports whether value matches the validator. It returns nil or
	// a *ValidationError. Go values are taken by the rules of livedb's value
	// model: a Go integer of a kind other than int64 is accepted where the
	// validator expects a Float64 when it is exactly representable.
	Validate(value any) error

	// Conform validates value and returns it in canonical form: Go integer
	// kinds become Int64, or Float64 where the validator expects v.Float64;
	// containers are copied. opts may be nil.
	Conform(value any, opts *Options) (any, error)

	// MarshalJSON returns the validator in Convex's ValidatorJSON form, the
	// `.json` of a Convex validator, e.g. {"type":"string"}.
	MarshalJSON() ([]byte, error)

	// String prints the validator as Convex does in error messages, e.g.
	// `v.object({a: v.string(), b: v.optional(v.float64())})`.
	String() string

	// IsOptional reports whether the validator was wrapped in v.Optional.
	// Optional only has meaning for the fields of an object.
	IsOptional() bool

	// Kind returns the ValidatorJSON type name: "id", "null", "number",
	// "bigint", "boolean", "string", "bytes", "literal", "array", "object",
	// "record", "union" or "any".
	Kind() string
}

// Options carries what validation needs from the database.
type Options struct {
	// TableName maps a table number found in an ID to the table's name. With
	// it, v.ID("t") accepts only IDs of table t; without it (nil), any
	// well-formed ID is accepted.
	TableName func(tableNumber uint32) (name string, ok bool)
}

// Fields lists the fields of an object validator.
type Fields map[string]Validator

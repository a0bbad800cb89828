// Package v is livedb's validator builder, the Go twin of Convex's `v`
// (convex/values): v.String(), v.Object(v.Fields{...}), v.Optional(...),
// v.Union(...), v.ID("table") and the rest. Validators check values with
// Convex's exact acceptance rules, report failures as *ValidationError with
// a Convex-style path (".messages[3].author"), and read and write Convex's
// ValidatorJSON so a schema exported by Convex loads as it is.
//
// # Values
//
// Validators take Convex values as Go values, the same ones a livedb.Doc
// holds (docs/semantics.md#values-and-types in the livedb repository): nil,
// int64 (Convex's Int64, a JS bigint), float64 (Float64, a JS number), bool,
// string, []byte, []any and map[string]any. As in Convex, Int64 and Float64
// never mix: v.Float64() rejects int64(1) and v.Int64() rejects 1.0. A Go
// integer of another kind (int, int32, uint8, ...) is taken as whichever of
// the two the validator expects: v.Float64() takes it when its magnitude is
// at most 2^53, v.Int64() when it fits, and v.Any() as an Int64; a float32
// is a Float64. A document a validator accepts is stored in canonical form:
// only the types above, in new containers ([]string becomes []any,
// map[string]string becomes map[string]any, ...).
//
// # Mistakes in a validator
//
// Building a validator never panics. A mistake Convex would reject when the
// schema is pushed (a record with optional values, a literal of a type Convex
// has none for, a nil field, a field name that is not an identifier) is
// recorded in the validator: [Err] reports it as a [*DefinitionError], and
// every Validate and MarshalJSON of the validator, or of any
// validator built from it, returns that error. livedb's schema builder calls
// Err when a schema is defined.
//
// # Schema changes
//
// [IsSubset] tells whether documents valid under an old validator are valid
// under a new one, so they need not be checked again; [HasFieldPath] tells
// whether a document can contain a field path, to reject indexes on fields a
// schema can never hold.
package v

// Validator checks a value against a Convex validator.
//
// Validators are immutable and safe for concurrent use by multiple
// goroutines.
type Validator interface {
	// Validate reports whether value matches the validator. It returns nil,
	// a *ValidationError, or the validator's *DefinitionError when it was
	// built wrongly (see [Err]). Go values are taken by the rules of livedb's
	// value model: a Go integer of a kind other than int64 is accepted where
	// the validator expects a Float64 when it is exactly representable.
	// v.ID accepts any well-formed ID: only the database knows which table
	// an ID's number stands for, and checks it when a document is written.
	Validate(value any) error

	// MarshalJSON returns the validator in Convex's ValidatorJSON form, the
	// `.json` of a Convex validator, e.g. {"type":"string"}, compact, with
	// members in the order Convex's JavaScript writes them and object fields
	// sorted. [FromJSON] reads it back.
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

// Fields lists the fields of an object validator by name. Wrap a field's
// validator in [Optional] to let the field be absent.
type Fields map[string]Validator

package v

import (
	"errors"
	"strconv"
	"strings"
)

// ErrInvalidValidator matches, with errors.Is, every [*DefinitionError]: a
// validator built wrongly (v.Record with optional values, v.Literal of a Go
// type Convex has no literal for, a nil member, an object field name that is
// not an identifier) or ValidatorJSON that [FromJSON] cannot take.
var ErrInvalidValidator = errors.New("livedb: invalid validator")

// DefinitionError describes a validator that was built wrongly, or
// ValidatorJSON that does not describe a valid validator.
//
// The builders never panic on such mistakes: they record a DefinitionError in
// the validator they return. [Err] reports it (livedb's schema builder calls
// it when a schema is defined), and every Validate and MarshalJSON of
// that validator, or of a validator containing it, returns it.
type DefinitionError struct {
	// Path locates the wrong part inside the validator: "" for the validator
	// itself, ".a" for the field a of an object, "[element]" for the element
	// of an array, ".keys()" and ".values()" for a record,
	// "[member 2]" for the third member of a union; for example
	// ".messages[element].author".
	Path string
	// Reason says what is wrong, with Convex's wording where Convex has one,
	// such as "Records cannot have optional values".
	Reason string
	// Err is the underlying cause, if any, such as the JSON syntax error of
	// a [FromJSON] input.
	Err error
}

// Error returns "livedb: invalid validator", the path when there is one, the
// reason and the cause.
func (e *DefinitionError) Error() string {
	msg := ErrInvalidValidator.Error()
	if e.Path != "" {
		msg += " at " + e.Path
	}
	msg += ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is [ErrInvalidValidator].
func (e *DefinitionError) Is(target error) bool { return target == ErrInvalidValidator }

// Unwrap returns the underlying cause, or nil.
func (e *DefinitionError) Unwrap() error { return e.Err }

// defError returns a *DefinitionError for the validator itself.
func defError(reason string) error { return &DefinitionError{Reason: reason} }

// nestDefError returns err located under prefix, or nil when err is nil.
func nestDefError(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var de *DefinitionError
	if errors.As(err, &de) {
		return &DefinitionError{Path: prefix + de.Path, Reason: de.Reason, Err: de.Err}
	}
	return &DefinitionError{Path: prefix, Reason: "invalid validator", Err: err}
}

// Err returns the definition mistake recorded in val or in any validator
// inside it, as a [*DefinitionError], or nil when val is well formed. A nil
// val is a mistake too. Validators implemented outside this package report
// nil.
func Err(val Validator) error {
	if val == nil {
		return defError("the validator is nil")
	}
	if d, ok := val.(interface{ definitionErr() error }); ok {
		return d.definitionErr()
	}
	return nil
}

// Reason names which of Convex's validation failures a [ValidationError] is.
type Reason uint8

// The reasons. Their names are those of the variants of Convex's
// ValidationError, except ReasonInvalidValue, which Convex reports before
// validation (its clients cannot send such a value).
const (
	// ReasonNoMatch: the value does not match the validator (wrong type, an
	// ID that does not decode or whose table is unknown, no union member
	// accepts it).
	ReasonNoMatch Reason = iota
	// ReasonLiteral: the value differs from a v.Literal.
	ReasonLiteral
	// ReasonMissingField: an object lacks a required field.
	ReasonMissingField
	// ReasonExtraField: an object has a field its validator does not list.
	ReasonExtraField
	// ReasonTableMismatch: an ID of another table where v.ID names one.
	ReasonTableMismatch
	// ReasonSystemTable: an ID of a system table where v.ID names a user
	// table.
	ReasonSystemTable
	// ReasonInvalidValue: the Go value is not a Convex value at all (an
	// unsupported Go type, a string that is not UTF-8, an unsigned integer
	// beyond Int64, undefined where a value is required).
	ReasonInvalidValue
)

var reasonNames = [...]string{
	ReasonNoMatch:       "NoMatch",
	ReasonLiteral:       "LiteralValuesDoNotMatch",
	ReasonMissingField:  "MissingRequiredField",
	ReasonExtraField:    "ExtraField",
	ReasonTableMismatch: "TableNamesDoNotMatch",
	ReasonSystemTable:   "SystemTableReference",
	ReasonInvalidValue:  "InvalidValue",
}

// String returns the name of Convex's ValidationError variant, such as
// "MissingRequiredField".
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// ValidationError says why a value does not match a validator. Its message is
// Convex's, word for word (ValidationError in Convex's schemas/validator.rs),
// with the full path to the offending value:
//
//	Object is missing the required field `author`. Consider wrapping the field validator in `v.optional(...)` if this is expected.
//	Path: .messages[3]
//	Object: {body: "hi"}
//	Validator: v.object({author: v.string(), body: v.string()})
//
// Use errors.As to get at its fields.
type ValidationError struct {
	// Reason is the kind of failure.
	Reason Reason
	// Path is where the offending value sits inside the validated value, in
	// Convex's form: ".messages[3].author", ".scores.keys()",
	// ".scores.values()"; "" for the value itself.
	Path string
	// Validator is what was expected, printed as Convex prints validators:
	// the object validator for a missing or extra field, `v.literal("x")`
	// for a literal, `v.id("t")` for an ID, else the validator that
	// rejected the value, such as `v.float64()` or `v.union(...)`.
	Validator string
	// Value is what was found, printed as Convex prints values (Int64 5,
	// Float64 5.0, strings quoted): the object for a missing or extra
	// field, the ID for an ID of the wrong table, else the rejected value.
	Value string
	// Field is the missing or extra field, "" for other reasons.
	Field string
	// Table is the table the ID belongs to, for ReasonTableMismatch.
	Table string
	// Err is the underlying cause, if any: for ReasonInvalidValue the error
	// that says why the Go value is not a Convex value; for a validator
	// implemented outside this package, the error it returned.
	Err error
}

// Error returns Convex's message for the failure.
func (e *ValidationError) Error() string {
	ctx := ""
	if e.Path != "" {
		ctx = "Path: " + e.Path
	}
	var b strings.Builder
	switch e.Reason {
	case ReasonTableMismatch:
		b.WriteString(`Found ID "` + e.Value + "\" from table `" + e.Table +
			"`, which does not match the table name in validator `" + e.Validator + "`." + ctx)
	case ReasonSystemTable:
		b.WriteString(`Found ID "` + e.Value + "\" from a system table, which does not match the table name in validator `" +
			e.Validator + "`." + ctx)
	case ReasonLiteral:
		b.WriteString("`" + e.Value + "` does not match literal validator `" + e.Validator + "`." + ctx)
	case ReasonMissingField:
		b.WriteString("Object is missing the required field `" + e.Field +
			"`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\n" +
			ctx + "\nObject: " + e.Value + "\nValidator: " + e.Validator)
	case ReasonExtraField:
		b.WriteString("Object contains extra field `" + e.Field + "` that is not in the validator.\n" +
			ctx + "\nObject: " + e.Value + "\nValidator: " + e.Validator)
	case ReasonInvalidValue:
		detail := "Value is not a valid Convex value"
		if e.Err != nil {
			detail = e.Err.Error()
		}
		b.WriteString(detail + ".")
		if ctx != "" {
			b.WriteString("\n" + ctx)
		}
	default:
		b.WriteString("Value does not match validator.\n" + ctx + "\nValue: " + e.Value + "\nValidator: " + e.Validator)
	}
	return b.String()
}

// Unwrap returns the underlying cause, or nil.
func (e *ValidationError) Unwrap() error { return e.Err }

package v

import "fmt"

// RecordValidator is the validator v.Record(keys, values) returns: an object
// with any fields, each of whose names matches keys and each of whose values
// matches values. A failing name is reported at path ".keys()", a failing
// value at ".values()", both after the record's own path, as Convex does.
type RecordValidator struct {
	keys, values Validator
	err          error
}

// Record returns the validator of objects used as maps, v.record(keys,
// values) in Convex. Each field name is checked as a String against keys,
// each field value against values; a field set to value.Undefined is absent.
// When several entries fail, the one with the smallest name is reported.
//
// Convex's rules for the key validator hold and a break of one is a
// definition mistake ([Err]): keys must be a subset of v.String() (v.String,
// v.ID or a union of those) without string literals, and neither keys nor
// values may be optional or nil.
func Record(keys, values Validator) *RecordValidator {
	r := &RecordValidator{keys: keys, values: values}
	r.err = recordProblem(keys, values)
	return r
}

// recordProblem checks Convex's rules for a record's validators, in Convex's
// order (the JS builder's checks first, then the server's).
func recordProblem(keys, values Validator) error {
	switch {
	case keys == nil:
		return &DefinitionError{Path: ".keys()", Reason: "v.Record: the key validator is nil"}
	case values == nil:
		return &DefinitionError{Path: ".values()", Reason: "v.Record: the value validator is nil"}
	case keys.IsOptional():
		return defError("Record validator cannot have optional keys")
	case values.IsOptional():
		return defError("Records cannot have optional values")
	}
	if err := Err(keys); err != nil {
		return nestDefError(".keys()", err)
	}
	if err := Err(values); err != nil {
		return nestDefError(".values()", err)
	}
	if !isStringSubset(keys) {
		return defError(fmt.Sprintf("Records can only have string keys. Your validator contains a record with key typed as `%s`, which is not a subtype of `v.string()`", keys))
	}
	if hasStringLiteral(keys) {
		return defError("Records cannot have string literal keys")
	}
	return nil
}

// isStringSubset reports whether every value val accepts is a String, as
// Convex's is_subset(v.string()) decides it for record keys.
func isStringSubset(val Validator) bool {
	switch t := val.(type) {
	case *scalarValidator:
		return t.kind == kindString
	case *IDValidator:
		return true
	case *LiteralValidator:
		_, ok := t.value.(string)
		return ok
	case *UnionValidator:
		for _, m := range t.members {
			if !isStringSubset(m) {
				return false
			}
		}
		return true
	}
	return false
}

// hasStringLiteral reports whether val is or contains a string literal.
func hasStringLiteral(val Validator) bool {
	switch t := val.(type) {
	case *LiteralValidator:
		_, ok := t.value.(string)
		return ok
	case *UnionValidator:
		for _, m := range t.members {
			if hasStringLiteral(m) {
				return true
			}
		}
	}
	return false
}

// Keys returns the validator of the field names.
func (r *RecordValidator) Keys() Validator { return r.keys }

// Values returns the validator of the field values.
func (r *RecordValidator) Values() Validator { return r.values }

// Validate reports whether x is an object whose names and values match.
func (r *RecordValidator) Validate(x any) error { _, err := run(r, x, nil, false); return err }

// MarshalJSON returns {"type":"record","keys":<keys>,"values":{"fieldType":<values>,"optional":false}}.
func (r *RecordValidator) MarshalJSON() ([]byte, error) { return marshal(r) }

// String returns v.record(<keys>, <values>).
func (r *RecordValidator) String() string {
	return "v.record(" + describe(r.keys) + ", " + describe(r.values) + ")"
}

// IsOptional reports false.
func (r *RecordValidator) IsOptional() bool { return false }

// Kind returns "record".
func (r *RecordValidator) Kind() string { return "record" }

func (r *RecordValidator) definitionErr() error { return r.err }

package v

import (
	"fmt"
	"strings"
)

// ArrayValidator is the validator v.Array(el) returns: a Go []any whose
// every element matches el. An element that fails is reported at path "[i]".
type ArrayValidator struct {
	elem Validator
	err  error
}

// Array returns the validator of arrays whose elements match el, v.array(el)
// in Convex. el must not be nil or optional (Convex's types forbid
// v.array(v.optional(...))); either is a definition mistake ([Err]).
func Array(el Validator) *ArrayValidator {
	a := &ArrayValidator{elem: el}
	switch {
	case el == nil:
		a.err = defError("v.Array: the element validator is nil")
	case el.IsOptional():
		a.err = &DefinitionError{Path: "[element]", Reason: "v.Array: the element validator must not be optional"}
	default:
		a.err = nestDefError("[element]", Err(el))
	}
	return a
}

// Element returns the validator of the elements.
func (a *ArrayValidator) Element() Validator { return a.elem }

// Validate reports whether x is an array whose elements match.
func (a *ArrayValidator) Validate(x any) error { _, err := run(a, x, nil, false); return err }

// MarshalJSON returns {"type":"array","value":<element>}.
func (a *ArrayValidator) MarshalJSON() ([]byte, error) { return marshal(a) }

// String returns v.array(<element>).
func (a *ArrayValidator) String() string { return "v.array(" + describe(a.elem) + ")" }

// IsOptional reports false.
func (a *ArrayValidator) IsOptional() bool { return false }

// Kind returns "array".
func (a *ArrayValidator) Kind() string { return "array" }

func (a *ArrayValidator) definitionErr() error { return a.err }

// UnionValidator is the validator v.Union(members...) returns: a value
// matches when one of the members accepts it.
type UnionValidator struct {
	members []Validator
	err     error
}

// Union returns the validator that accepts what any of members accepts,
// v.union(...) in Convex. Members are tried in order and the database stores
// the value as the first member that accepts it takes it, so the order
// matters for Go integers: v.Union(v.Int64(), v.Float64()) conforms the Go
// int 1 to Int64 1, v.Union(v.Float64(), v.Int64()) to 1.0.
//
// A union with no member rejects everything. A union with one member fails
// with that member's own error; otherwise a failure is Convex's "Value does
// not match validator." for the whole union (the members' errors are
// dropped, as Convex drops them). A nil or optional member is a definition
// mistake ([Err]); write v.Optional(v.Union(...)) instead.
func Union(members ...Validator) *UnionValidator {
	u := &UnionValidator{members: append([]Validator(nil), members...)}
	for i, m := range u.members {
		at := fmt.Sprintf("[member %d]", i)
		switch {
		case m == nil:
			u.err = &DefinitionError{Path: at, Reason: "v.Union: the member validator is nil"}
		case m.IsOptional():
			u.err = &DefinitionError{Path: at, Reason: "v.Union: a member must not be optional; make the union optional instead"}
		default:
			u.err = nestDefError(at, Err(m))
		}
		if u.err != nil {
			break
		}
	}
	return u
}

// Nullable returns v.Union(x, v.Null()), the validator of x or null, as
// v.nullable(x) in Convex.
func Nullable(x Validator) *UnionValidator { return Union(x, Null()) }

// Members returns a copy of the union's members, in order.
func (u *UnionValidator) Members() []Validator { return append([]Validator(nil), u.members...) }

// Validate reports whether a member accepts x.
func (u *UnionValidator) Validate(x any) error { _, err := run(u, x, nil, false); return err }

// MarshalJSON returns {"type":"union","value":[<members>]}.
func (u *UnionValidator) MarshalJSON() ([]byte, error) { return marshal(u) }

// String returns v.union(<members>).
func (u *UnionValidator) String() string {
	var b strings.Builder
	b.WriteString("v.union(")
	for i, m := range u.members {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(describe(m))
	}
	b.WriteString(")")
	return b.String()
}

// IsOptional reports false.
func (u *UnionValidator) IsOptional() bool { return false }

// Kind returns "union".
func (u *UnionValidator) Kind() string { return "union" }

func (u *UnionValidator) definitionErr() error { return u.err }

// OptionalValidator is the validator v.Optional(x) returns: it marks an
// object field as one that may be absent.
type OptionalValidator struct {
	inner Validator
	err   error
}

// Optional marks x as optional, v.optional(x) in Convex. It only has a
// meaning as the validator of an object field: the field may then be absent
// (or set to value.Undefined), and when present must match x. It does not
// allow null; use [Nullable] for that. Optional(Optional(x)) is Optional(x).
//
// Used on its own, an optional validator accepts value.Undefined and
// otherwise validates as x. Its JSON is x's: the
// flag appears only in the "optional" member of an object field. An optional
// validator may not be an array element, a union member or a record's key or
// value validator.
func Optional(x Validator) *OptionalValidator {
	if o, ok := x.(*OptionalValidator); ok {
		return o
	}
	o := &OptionalValidator{inner: x}
	if x == nil {
		o.err = defError("v.Optional: the validator is nil")
	} else {
		o.err = Err(x)
	}
	return o
}

// Inner returns the validator x of v.Optional(x).
func (o *OptionalValidator) Inner() Validator { return o.inner }

// Validate accepts value.Undefined and otherwise validates x as the inner
// validator does.
func (o *OptionalValidator) Validate(x any) error { _, err := run(o, x, nil, false); return err }

// MarshalJSON returns the inner validator's JSON.
func (o *OptionalValidator) MarshalJSON() ([]byte, error) { return marshal(o) }

// String returns v.optional(<inner>).
func (o *OptionalValidator) String() string { return "v.optional(" + describe(o.inner) + ")" }

// IsOptional reports true.
func (o *OptionalValidator) IsOptional() bool { return true }

// Kind returns the inner validator's kind.
func (o *OptionalValidator) Kind() string {
	if o.inner == nil {
		return ""
	}
	return o.inner.Kind()
}

func (o *OptionalValidator) definitionErr() error { return o.err }

// unwrapOptional returns x without its v.Optional wrapper, and whether it had
// one (or, for a validator implemented elsewhere, says it is optional).
func unwrapOptional(x Validator) (Validator, bool) {
	if o, ok := x.(*OptionalValidator); ok {
		return o.inner, true
	}
	return x, x != nil && x.IsOptional()
}

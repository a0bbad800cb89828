package v

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ObjectValidator is the validator v.Object(fields) returns: a Go
// map[string]any with exactly the listed fields. Every required field must be
// present, an optional one may be absent, and no other field may appear. A
// field whose value is value.Undefined counts as absent. An optional field
// does not allow null.
//
// Failures are Convex's: "Object is missing the required field `f`...",
// "Object contains extra field `f`...", or the failure of a field's value at
// path ".f". Fields are checked in sorted order, then extra fields, the
// smallest name first, so the error reported is the one Convex reports.
//
// The helpers Extend, Pick, Omit and Partial build new validators; the
// receiver is never modified.
type ObjectValidator struct {
	fields []objectField  // sorted by name
	index  map[string]int // name -> position in fields
	err    error
}

// objectField is one field of an object validator.
type objectField struct {
	name     string
	decl     Validator // as given, with its v.Optional wrapper
	val      Validator // without the wrapper
	optional bool
}

// Object returns the validator of objects with the given fields, v.object
// in Convex. Wrap a field's validator in [Optional] to let it be absent.
// Field names must be identifiers (^[A-Za-z_][A-Za-z0-9_]*$, at most 64
// bytes; docs/semantics.md#names), as Convex's object validators require; a name that is not, or a
// nil validator, is a definition mistake ([Err]). The map is copied.
func Object(fields Fields) *ObjectValidator {
	o := &ObjectValidator{
		fields: make([]objectField, 0, len(fields)),
		index:  make(map[string]int, len(fields)),
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		decl := fields[name]
		val, optional := unwrapOptional(decl)
		o.index[name] = len(o.fields)
		o.fields = append(o.fields, objectField{name: name, decl: decl, val: val, optional: optional})
		if o.err != nil {
			continue
		}
		switch p := identifierProblem(name); {
		case p != "":
			o.err = defError(fmt.Sprintf("v.Object: field name %q is not a valid identifier: %s", name, p))
		case decl == nil || val == nil:
			o.err = &DefinitionError{Path: "." + name, Reason: "v.object() entries must be validators, not nil"}
		default:
			o.err = nestDefError("."+name, Err(decl))
		}
	}
	return o
}

// Fields returns a copy of the fields, with optional ones wrapped in
// [Optional] as they were given.
func (o *ObjectValidator) Fields() Fields {
	out := make(Fields, len(o.fields))
	for _, f := range o.fields {
		out[f.name] = f.decl
	}
	return out
}

// Field returns the validator of the field name (wrapped in [Optional] when
// the field is optional) and whether the object has that field.
func (o *ObjectValidator) Field(name string) (Validator, bool) {
	i, ok := o.index[name]
	if !ok {
		return nil, false
	}
	return o.fields[i].decl, true
}

// derive returns Object(fields), keeping a definition mistake of o.
func (o *ObjectValidator) derive(fields Fields, err error) *ObjectValidator {
	n := Object(fields)
	if n.err == nil {
		n.err = o.err
	}
	if n.err == nil {
		n.err = err
	}
	return n
}

// Extend returns a new object validator with o's fields plus fields; a field
// in both takes the validator from fields. This is VObject.extend in Convex.
func (o *ObjectValidator) Extend(fields Fields) *ObjectValidator {
	merged := o.Fields()
	maps.Copy(merged, fields)
	return o.derive(merged, nil)
}

// Pick returns a new object validator with only the named fields, as
// VObject.pick in Convex. Naming a field o does not have is a definition
// mistake ([Err]).
func (o *ObjectValidator) Pick(keys ...string) *ObjectValidator {
	picked := make(Fields, len(keys))
	var err error
	for _, k := range keys {
		i, ok := o.index[k]
		if !ok {
			if err == nil {
				err = defError(fmt.Sprintf("Pick: the object has no field %q", k))
			}
			continue
		}
		picked[k] = o.fields[i].decl
	}
	return o.derive(picked, err)
}

// Omit returns a new object validator without the named fields, as
// VObject.omit in Convex. Naming a field o does not have is a definition
// mistake ([Err]).
func (o *ObjectValidator) Omit(keys ...string) *ObjectValidator {
	kept := o.Fields()
	var err error
	for _, k := range keys {
		if _, ok := o.index[k]; !ok && err == nil {
			err = defError(fmt.Sprintf("Omit: the object has no field %q", k))
		}
		delete(kept, k)
	}
	return o.derive(kept, err)
}

// Partial returns a new object validator whose fields are all optional, as
// VObject.partial in Convex.
func (o *ObjectValidator) Partial() *ObjectValidator {
	fields := make(Fields, len(o.fields))
	for _, f := range o.fields {
		if f.decl == nil {
			fields[f.name] = nil
			continue
		}
		fields[f.name] = Optional(f.decl)
	}
	return o.derive(fields, nil)
}

// Validate reports whether x is an object with exactly the validator's
// fields, each matching.
func (o *ObjectValidator) Validate(x any) error { _, err := run(o, x, nil, false); return err }

// MarshalJSON returns {"type":"object","value":{"<field>":{"fieldType":<validator>,"optional":<bool>},...}}
// with the fields in sorted order.
func (o *ObjectValidator) MarshalJSON() ([]byte, error) { return marshal(o) }

// String returns v.object({a: v.string(), b: v.optional(v.float64())}) with
// the fields in sorted order, as Convex prints it.
func (o *ObjectValidator) String() string {
	var b strings.Builder
	b.WriteString("v.object({")
	for i, f := range o.fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.name)
		b.WriteString(": ")
		if f.optional {
			b.WriteString("v.optional(" + describe(f.val) + ")")
		} else {
			b.WriteString(describe(f.val))
		}
	}
	b.WriteString("})")
	return b.String()
}

// IsOptional reports false.
func (o *ObjectValidator) IsOptional() bool { return false }

// Kind returns "object".
func (o *ObjectValidator) Kind() string { return "object" }

func (o *ObjectValidator) definitionErr() error { return o.err }

package v

// IsSubset reports whether every value old accepts is also accepted by new,
// so that documents written under old need not be checked again when the
// schema changes to new (docs/semantics.md#schema-changes). It follows Convex's
// Validator::is_subset and, like it, may answer false for a pair that is in
// fact a subset, never true for one that is not:
//
//   - v.Any() contains everything; a validator contains itself;
//   - a literal is within its base type (v.Literal("a") in v.String(),
//     v.Literal(1.0) in v.Float64(), v.Literal(int64(1)) in v.Int64(),
//     v.Literal(true) in v.Boolean()), v.ID(t) within v.String();
//   - arrays compare their elements, records their key and value validators
//     (Convex only accepts identical records here; comparing the parts is
//     just as safe);
//   - objects: no field of old disappears, a required field may become
//     optional but an optional one may not become required, a field new adds
//     must be optional, and every common field's validator must be a subset;
//   - a union is a subset when each of its members is; a validator is a
//     subset of a union when it is a subset of one member, and v.Boolean() is
//     a subset of a union holding both v.Literal(true) and v.Literal(false);
//   - an optional validator is only a subset of an optional one.
//
// A validator with a definition mistake ([Err]) is a subset of nothing, and
// nothing is a subset of it. A validator implemented outside this package is
// only known to be a subset of v.Any().
func IsSubset(old, new Validator) bool {
	if Err(old) != nil || Err(new) != nil {
		return false
	}
	return isSubset(old, new)
}

func isSubset(a, b Validator) bool {
	a, aOptional := unwrapOptional(a)
	b, bOptional := unwrapOptional(b)
	if aOptional && !bOptional {
		return false
	}
	if !isOwn(b) {
		return false
	}
	if !isOwn(a) {
		return b == anyValidator
	}
	// Containers of the same kind compare their parts.
	switch at := a.(type) {
	case *ArrayValidator:
		if bt, ok := b.(*ArrayValidator); ok {
			return isSubset(at.elem, bt.elem)
		}
	case *ObjectValidator:
		if bt, ok := b.(*ObjectValidator); ok {
			return isObjectSubset(at, bt)
		}
	case *RecordValidator:
		if bt, ok := b.(*RecordValidator); ok {
			return isSubset(at.keys, bt.keys) && isSubset(at.values, bt.values)
		}
	}
	if sameLeaf(a, b) || b == anyValidator {
		return true
	}
	switch at := a.(type) {
	case *LiteralValidator:
		if bt, ok := b.(*scalarValidator); ok {
			return bt.kind == literalKind(at.value)
		}
	case *IDValidator:
		if b == stringValidator {
			return true
		}
	case *UnionValidator:
		for _, m := range at.members {
			if !isSubset(m, b) {
				return false
			}
		}
		return true
	}
	if bt, ok := b.(*UnionValidator); ok {
		for _, m := range bt.members {
			if isSubset(a, m) {
				return true
			}
		}
		if a == booleanValidator {
			return isSubset(Literal(true), b) && isSubset(Literal(false), b)
		}
	}
	return false
}

// isObjectSubset applies Convex's rule for objects.
func isObjectSubset(a, b *ObjectValidator) bool {
	for _, f := range a.fields {
		if _, ok := b.index[f.name]; !ok {
			return false // a field disappears
		}
	}
	for _, g := range b.fields {
		i, ok := a.index[g.name]
		if !ok {
			if !g.optional {
				return false // a new required field
			}
			continue
		}
		f := a.fields[i]
		if f.optional && !g.optional {
			return false // optional became required
		}
		if !isSubset(f.val, g.val) {
			return false
		}
	}
	return true
}

// sameLeaf reports whether a and b are the same scalar, ID or literal
// validator.
func sameLeaf(a, b Validator) bool {
	switch at := a.(type) {
	case *scalarValidator:
		bt, ok := b.(*scalarValidator)
		return ok && at.kind == bt.kind
	case *IDValidator:
		bt, ok := b.(*IDValidator)
		return ok && at.table == bt.table
	case *LiteralValidator:
		bt, ok := b.(*LiteralValidator)
		return ok && literalEqual(at.value, bt.value)
	}
	return false
}

// literalKind returns the kind of scalar validator a literal belongs to.
func literalKind(x any) scalarKind {
	switch x.(type) {
	case string:
		return kindString
	case bool:
		return kindBoolean
	case int64:
		return kindInt64
	}
	return kindFloat64
}

// isOwn reports whether val is one of this package's validators.
func isOwn(val Validator) bool {
	switch val.(type) {
	case *scalarValidator, *IDValidator, *LiteralValidator, *ArrayValidator,
		*ObjectValidator, *RecordValidator, *UnionValidator, *OptionalValidator:
		return true
	}
	return false
}

// HasFieldPath reports whether a document that val accepts can contain the
// field path, given as its components (strings.Split("a.b", ".")): objects
// lead to their fields, a union to any of its members, v.Any() to every path,
// and the empty path is always there. Other validators (strings, arrays, ...)
// have no fields: field paths do not enter arrays. livedb's schema uses it to
// reject an index on a field the schema can never contain
// (docs/semantics.md#indexes), as
// Convex's Validator::can_contain_field does.
//
// One difference from Convex, on purpose: a record leads to its values when
// the component is a name its key validator accepts (so an index on
// "scores.alice" is allowed under v.Record(v.String(), v.Float64())), where
// Convex rejects every path into a record. A validator implemented outside
// this package is assumed to contain every path.
func HasFieldPath(val Validator, path []string) bool {
	if len(path) == 0 {
		return true
	}
	val, _ = unwrapOptional(val)
	switch t := val.(type) {
	case nil:
		return false
	case *scalarValidator:
		return t.kind == kindAny
	case *UnionValidator:
		for _, m := range t.members {
			if HasFieldPath(m, path) {
				return true
			}
		}
		return false
	case *ObjectValidator:
		i, ok := t.index[path[0]]
		return ok && HasFieldPath(t.fields[i].val, path[1:])
	case *RecordValidator:
		return t.keys != nil && t.keys.Validate(path[0]) == nil && HasFieldPath(t.values, path[1:])
	case *IDValidator, *LiteralValidator, *ArrayValidator:
		return false
	}
	return true
}

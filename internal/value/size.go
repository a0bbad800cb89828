package value

// Size returns the size of x as Convex counts it (docs/semantics.md#size;
// crates/value/src/size.rs in Convex's backend): 1 for null and booleans, 9 for Int64 and
// Float64, the UTF-8 length plus 2 for strings, the length plus 2 for bytes,
// 2 plus the elements' sizes for arrays, and 2 plus, per field, the name's
// length, 1 and the value's size for objects.
//
// Fields whose value is [Undefined] are not counted (they are not stored,
// docs/semantics.md#missing-fields-and-undefined); Undefined itself has size 0. Go integer kinds and float32 count as
// the Int64 and Float64 they normalise to. A value that cannot be normalised
// has size 0.
func Size(x any) int {
	switch t := x.(type) {
	case nil, bool:
		return 1
	case int64, float64:
		return 9
	case string:
		return len(t) + 2
	case ID:
		return len(t) + 2
	case []byte:
		return len(t) + 2
	case []any:
		n := 2
		for _, e := range t {
			n += Size(e)
		}
		return n
	case map[string]any:
		n := 2
		for k, e := range t {
			if IsUndefined(e) {
				continue
			}
			n += len(k) + 1 + Size(e)
		}
		return n
	case undefinedType:
		return 0
	}
	if _, ok, _ := goInt(x, ""); ok {
		return 9
	}
	if _, ok := x.(float32); ok {
		return 9
	}
	n, err := Normalize(x)
	if err != nil {
		return 0
	}
	return Size(n)
}

// DocumentSize returns the size of a complete document, one that already
// holds its _id and _creationTime fields: the size of the document as an
// object. Convex limits it to [MaxDocumentSize]. For example {a: 1.0} with a
// 32-character _id and a _creationTime has size 74 (docs/semantics.md#size).
func DocumentSize(doc map[string]any) int {
	return Size(doc)
}

// Nesting returns how deeply x nests (docs/semantics.md#size): 0 for a
// scalar, 1 plus the
// largest nesting of its elements for an array or object, so {} and [] have
// nesting 1 and [[1]] has nesting 2. Fields whose value is [Undefined] are not
// counted. Convex limits values to [MaxNesting] and documents, which count
// as one level themselves, to [MaxDocumentNesting].
func Nesting(x any) int {
	switch t := x.(type) {
	case []any:
		m := 0
		for _, e := range t {
			m = max(m, Nesting(e))
		}
		return 1 + m
	case map[string]any:
		m := 0
		for _, e := range t {
			m = max(m, Nesting(e))
		}
		return 1 + m
	case nil, int64, float64, bool, string, ID, []byte, undefinedType:
		return 0
	}
	if _, ok, _ := goInt(x, ""); ok {
		return 0
	}
	n, err := Normalize(x)
	if err != nil {
		return 0
	}
	return Nesting(n)
}

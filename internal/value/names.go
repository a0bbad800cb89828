package value

import "fmt"

// NameError says that a name breaks Convex's identifier or field-name rules
// (docs/semantics.md#names). Its message is Convex's.
type NameError struct {
	// Name is the offending name.
	Name string
	// Path is the Convex-style path of the field ("" for identifiers and for
	// a field name checked on its own), such as ".a[3].$b".
	Path string
	// Reason is Convex's message, such as "Field name $a starts with '$',
	// which is reserved."
	Reason string
	// Err is a *LimitError when the name is too long, nil otherwise.
	Err error
}

// Error returns the reason, followed by the path when there is one.
func (e *NameError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Reason + " (at path " + e.Path + ")"
}

// Unwrap returns the *LimitError of a name that is too long, or nil.
func (e *NameError) Unwrap() error { return e.Err }

// CheckIdentifier checks that s is a valid identifier: a table name, an index
// name, a field-path component or an object-validator key
// (docs/semantics.md#names). It must
// match ^[A-Za-z_][A-Za-z0-9_]*$, be at most [MaxIdentifierLen] bytes long and
// not consist of underscores only. The error is a *NameError with Convex's
// message, checked in Convex's order (characters first, then length); for a
// name that is too long its Err is a *LimitError naming MaxIdentifierLen.
func CheckIdentifier(s string) error {
	if isIdentifier(s) {
		return nil
	}
	fail := func(reason string) error { return &NameError{Name: s, Reason: reason} }
	if s == "" {
		return fail("Identifier cannot be empty")
	}
	for i, c := range s {
		switch {
		case i == 0 && !isIdentStart(c):
			return fail(fmt.Sprintf("Invalid first character '%c' in %s: Identifiers must start with an alphabetic character or underscore", c, s))
		case i > 0 && !isIdentStart(c) && (c < '0' || c > '9'):
			return fail(fmt.Sprintf("Identifier %s has invalid character '%c': Identifiers can only contain alphanumeric characters or underscores", s, c))
		}
	}
	if len(s) > MaxIdentifierLen {
		le := &LimitError{Limit: "MaxIdentifierLen", Max: MaxIdentifierLen, Got: len(s)}
		return &NameError{Name: s, Reason: le.message(), Err: le}
	}
	return fail(fmt.Sprintf("Identifier %s cannot have exclusively underscores", s))
}

// isIdentifier is the allocation-free fast path of CheckIdentifier.
func isIdentifier(s string) bool {
	if s == "" || len(s) > MaxIdentifierLen {
		return false
	}
	allUnderscores := true
	for i := 0; i < len(s); i++ {
		c := rune(s[i])
		if !isIdentStart(c) && (i == 0 || c < '0' || c > '9') {
			return false
		}
		allUnderscores = allUnderscores && c == '_'
	}
	return !allUnderscores
}

func isIdentStart(c rune) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// CheckFieldName checks that s may be a field name of an object
// (docs/semantics.md#names): only
// non-control ASCII (0x20 to 0x7E), no leading '$', at most
// [MaxFieldNameLen] bytes. The empty name is accepted, as Convex's value layer
// accepts it. The error is a *NameError with Convex's message; for a name
// that is too long its Err is a *LimitError naming MaxFieldNameLen. Top-level
// fields of a document have a further rule, checked by [CheckDocument].
func CheckFieldName(s string) error {
	return checkFieldName(s, "")
}

// validFieldName is the allocation-free fast path of CheckFieldName.
func validFieldName(s string) bool {
	if len(s) > MaxFieldNameLen || (s != "" && s[0] == '$') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7F {
			return false
		}
	}
	return true
}

func checkFieldName(s, path string) error {
	if validFieldName(s) {
		return nil
	}
	fail := func(reason string) error { return &NameError{Name: s, Path: path, Reason: reason} }
	if s[0] == '$' {
		return fail(fmt.Sprintf("Field name %s starts with '$', which is reserved.", s))
	}
	for _, c := range s {
		if c < 0x20 || c >= 0x7F {
			return fail(fmt.Sprintf("Field name %s has invalid character '%c': Field names can only contain non-control ASCII characters", s, c))
		}
	}
	le := &LimitError{Path: path, Limit: "MaxFieldNameLen", Max: MaxFieldNameLen, Got: len(s)}
	return &NameError{Name: s, Path: path, Reason: le.message(), Err: le}
}

// checkSystemField applies the rule for a document's top-level fields: a
// name starting with '_' is reserved for _id and _creationTime.
func checkSystemField(s string) error {
	if s == "" || s[0] != '_' || s == "_id" || s == "_creationTime" {
		return nil
	}
	return &NameError{
		Name:   s,
		Path:   "." + s,
		Reason: fmt.Sprintf("Field '%s' starts with an underscore, which is only allowed for system fields like '_id'", s),
	}
}

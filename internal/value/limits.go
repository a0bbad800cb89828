package value

import (
	"fmt"
	"strconv"
	"strings"
)

// Convex's hard limits on values and documents (docs/semantics.md#limits).
const (
	// MaxDocumentSize is the largest [DocumentSize] of a stored document,
	// _id and _creationTime included: 1 MiB (MAX_USER_SIZE).
	MaxDocumentSize = 1 << 20
	// MaxValueSize is the largest [Size] of any value: 32 MiB (MAX_SIZE).
	MaxValueSize = 1 << 25
	// MaxDocumentNesting is the deepest [Nesting] of a document; the
	// document object itself counts as one level (MAX_DOCUMENT_NESTING).
	MaxDocumentNesting = 16
	// MaxNesting is the deepest [Nesting] of any value (MAX_NESTING).
	MaxNesting = 64
	// MaxArrayLen is the largest number of elements of an array
	// (MAX_ARRAY_LEN).
	MaxArrayLen = 8192
	// MaxObjectFields is the largest number of fields of any object, nested
	// ones too (MAX_OBJECT_FIELDS).
	MaxObjectFields = 1024
	// MaxFieldNameLen is the longest field name, in bytes
	// (MAX_FIELD_NAME_LENGTH).
	MaxFieldNameLen = 1024
	// MaxIdentifierLen is the longest identifier (table, index and
	// object-validator key names), in bytes (MAX_IDENTIFIER_LEN).
	MaxIdentifierLen = 64
)

// LimitError says that a value breaks one of Convex's limits
// (docs/semantics.md#limits). Its message
// is modelled on Convex's, such as "Array length is too long (8193 > maximum
// length 8192)", followed by the path when there is one.
type LimitError struct {
	// Path is the Convex-style path of the offending value, such as
	// ".a[3].b"; "" for the value itself.
	Path string
	// Limit names the limit by its constant: "MaxArrayLen",
	// "MaxObjectFields", "MaxNesting", "MaxValueSize", "MaxDocumentSize",
	// "MaxDocumentNesting", "MaxFieldNameLen" or "MaxIdentifierLen".
	Limit string
	// Max is the limit's value and Got the offending count, size or depth.
	Max, Got int
}

// Error returns Convex's message for the limit, followed by the path when
// there is one.
func (e *LimitError) Error() string {
	if e.Path == "" {
		return e.message()
	}
	return e.message() + " (at path " + e.Path + ")"
}

func (e *LimitError) message() string {
	switch e.Limit {
	case "MaxArrayLen":
		return fmt.Sprintf("Array length is too long (%d > maximum length %d)", e.Got, e.Max)
	case "MaxObjectFields":
		return fmt.Sprintf("Object has too many fields (%d > maximum number %d)", e.Got, e.Max)
	case "MaxNesting":
		return fmt.Sprintf("Value is too nested (nested %d levels deep > maximum nesting %d)", e.Got, e.Max)
	case "MaxDocumentNesting":
		return fmt.Sprintf("Document is too nested (nested %d levels deep > maximum nesting %d)", e.Got, e.Max)
	case "MaxValueSize", "MaxDocumentSize":
		return sizeMessage(e.Got, e.Max)
	case "MaxFieldNameLen":
		return fmt.Sprintf("Field name is too long (%d > maximum %d)", e.Got, e.Max)
	case "MaxIdentifierLen":
		return fmt.Sprintf("Identifier is too long (%d > maximum %d)", e.Got, e.Max)
	}
	return fmt.Sprintf("%s exceeded (%d > %d)", e.Limit, e.Got, e.Max)
}

// formatSize prints a byte count as Convex does (Rust humansize, binary
// units, at most two decimals): "1 MiB", "1.05 MiB", "512 B".
func formatSize(n int) string {
	units := []string{"B", "KiB", "MiB", "GiB"}
	f, u := float64(n), 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + " " + units[u]
}

// sizeMessage is Convex's ValueTooLargeError message. When rounding would
// print the size as the maximum ("1 MiB > maximum size 1 MiB"), the exact
// count is added: "1 MiB (1048577 bytes) > maximum size 1 MiB".
func sizeMessage(got, maxSize int) string {
	g, m := formatSize(got), formatSize(maxSize)
	if g == m {
		g += " (" + strconv.Itoa(got) + " bytes)"
	}
	return fmt.Sprintf("Value is too large (%s > maximum size %s)", g, m)
}

// CheckValue checks x against the limits that hold for every Convex value
// (docs/semantics.md#limits): arrays of at most [MaxArrayLen] elements, objects of at most
// [MaxObjectFields] fields with valid field names ([CheckFieldName]), nesting
// at most [MaxNesting] and size at most [MaxValueSize]. x should be
// canonical; [Undefined] object fields are skipped as Convex drops them, and
// Undefined elsewhere, like any value [Normalize] rejects, is a
// *NotValueError.
//
// The error is a *LimitError, a *NameError or a *NotValueError and names the
// path of the offending value. When x breaks several rules, the first one met
// in a depth-first walk (object fields in sorted order, each container's own
// checks before its elements) is reported; the size is checked last.
func CheckValue(x any) error {
	return check(x, false)
}

// CheckDocument checks a complete document, one that already holds its _id
// and _creationTime: every rule of [CheckValue], then nesting at most
// [MaxDocumentNesting] (the document itself counting one level) and
// [DocumentSize] at most [MaxDocumentSize], and top-level field names must not
// start with '_' except _id and _creationTime. As in Convex, a value nested
// deeper than [MaxNesting] reports MaxNesting, one nested 17 to 64 levels
// MaxDocumentNesting. CheckDocument does not check the types of _id and
// _creationTime.
func CheckDocument(doc map[string]any) error {
	if doc == nil {
		doc = map[string]any{}
	}
	return check(doc, true)
}

// check runs the walk once in map order, which is cheap; only when that
// finds a problem does it walk again in sorted order, so that the error
// reported is always the same one.
func check(x any, document bool) error {
	c := checker{document: document}
	if c.run(x) == nil {
		return nil
	}
	c = checker{document: document, sorted: true}
	return c.run(x)
}

// checker walks a value for CheckValue and CheckDocument.
type checker struct {
	root     any  // the value checked
	document bool // apply the document rules
	// sorted visits object fields in sorted order and keeps the path, for a
	// stable error that names where it is; the first walk does neither.
	sorted bool
	// path is the stack of steps to the value being visited: a field name,
	// or an array index when field is false.
	path []pathStep
	// deepPath is the path of the first container at the level that breaks
	// MaxDocumentNesting, recorded by a sorted walk.
	deepPath string
}

type pathStep struct {
	name  string
	index int
	field bool
}

func (c *checker) push(s pathStep) {
	if c.sorted {
		c.path = append(c.path, s)
	}
}

func (c *checker) pop() {
	if c.sorted {
		c.path = c.path[:len(c.path)-1]
	}
}

func (c *checker) pathString() string {
	var sb strings.Builder
	for _, s := range c.path {
		if s.field {
			sb.WriteString(".")
			sb.WriteString(s.name)
		} else {
			sb.WriteString("[")
			sb.WriteString(strconv.Itoa(s.index))
			sb.WriteString("]")
		}
	}
	return sb.String()
}

func (c *checker) run(x any) error {
	c.root = x
	size, nesting, err := c.walk(x, 0)
	if err != nil {
		return err
	}
	if c.document && nesting > MaxDocumentNesting {
		return &LimitError{Path: c.deepPath, Limit: "MaxDocumentNesting", Max: MaxDocumentNesting, Got: nesting}
	}
	if size > MaxValueSize {
		return &LimitError{Limit: "MaxValueSize", Max: MaxValueSize, Got: size}
	}
	if c.document && size > MaxDocumentSize {
		return &LimitError{Limit: "MaxDocumentSize", Max: MaxDocumentSize, Got: size}
	}
	return nil
}

const errUndefined = "undefined is not a valid Convex value"

// walk returns the size and nesting of x, which sits inside depth
// containers, or the first rule it breaks.
func (c *checker) walk(x any, depth int) (size, nesting int, err error) {
	switch t := x.(type) {
	case nil, bool:
		return 1, 0, nil
	case int64, float64:
		return 9, 0, nil
	case string:
		return len(t) + 2, 0, nil
	case ID:
		return len(t) + 2, 0, nil
	case []byte:
		return len(t) + 2, 0, nil
	case []any:
		return c.walkArray(t, depth)
	case map[string]any:
		return c.walkObject(t, depth)
	case undefinedType:
		return 0, 0, &NotValueError{Path: c.pathString(), Reason: errUndefined}
	}
	n, err := normalize(x, c.pathString())
	if err != nil {
		return 0, 0, err
	}
	return c.walk(n, depth)
}

// enter checks a container's own limits: its length and its depth.
func (c *checker) enter(depth, length int, limit string, maxLen int) error {
	if length > maxLen {
		return &LimitError{Path: c.pathString(), Limit: limit, Max: maxLen, Got: length}
	}
	if depth >= MaxNesting {
		return &LimitError{Path: c.pathString(), Limit: "MaxNesting", Max: MaxNesting, Got: Nesting(c.root)}
	}
	if c.sorted && c.document && depth == MaxDocumentNesting && c.deepPath == "" {
		c.deepPath = c.pathString()
	}
	return nil
}

func (c *checker) walkArray(a []any, depth int) (size, nesting int, err error) {
	if err := c.enter(depth, len(a), "MaxArrayLen", MaxArrayLen); err != nil {
		return 0, 0, err
	}
	size = 2
	for i, e := range a {
		c.push(pathStep{index: i})
		if IsUndefined(e) {
			return 0, 0, &NotValueError{Path: c.pathString(), Reason: errUndefined}
		}
		s, n, err := c.walk(e, depth+1)
		if err != nil {
			return 0, 0, err
		}
		c.pop()
		size += s
		nesting = max(nesting, n)
	}
	return size, nesting + 1, nil
}

func (c *checker) walkObject(m map[string]any, depth int) (size, nesting int, err error) {
	fields := 0
	for _, e := range m {
		if !IsUndefined(e) {
			fields++
		}
	}
	if err := c.enter(depth, fields, "MaxObjectFields", MaxObjectFields); err != nil {
		return 0, 0, err
	}
	size = 2
	visit := func(k string, e any) error {
		if IsUndefined(e) {
			return nil
		}
		c.push(pathStep{name: k, field: true})
		if !validFieldName(k) {
			return checkFieldName(k, c.pathString())
		}
		if c.document && depth == 0 {
			if err := checkSystemField(k); err != nil {
				return err
			}
		}
		s, n, err := c.walk(e, depth+1)
		if err != nil {
			return err
		}
		c.pop()
		size += len(k) + 1 + s
		nesting = max(nesting, n)
		return nil
	}
	if c.sorted {
		for _, k := range SortedKeys(m) {
			if err := visit(k, m[k]); err != nil {
				return 0, 0, err
			}
		}
		return size, nesting + 1, nil
	}
	for k, e := range m {
		if err := visit(k, e); err != nil {
			return 0, 0, err
		}
	}
	return size, nesting + 1, nil
}

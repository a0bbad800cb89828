package v

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/internal/vconform"
)

// This file holds the one walk behind every Validate and every conform (the
// engine's validation, which also returns the value in canonical form and
// checks the table of IDs; it reaches it through package vconform): a
// checker carries the table names, the mode and the path to the current
// value, and
// dispatches on the concrete validator types of this package (validators
// implemented elsewhere are called through the interface).
//
// The path is a stack of segments that is only turned into text when an
// error is built, so a successful validation allocates nothing for it. Union
// members are tried in "quiet" mode, where a failure is the sentinel errQuiet
// instead of a fully printed *ValidationError; only the union's own failure
// is printed.

// errQuiet is the failure of a union member being tried. It never reaches a
// caller: the union replaces it with its own error.
var errQuiet = errors.New("livedb: value does not match validator")

// Path segment kinds.
const (
	segField  uint8 = iota // ".name"
	segIndex               // "[i]"
	segKeys                // ".keys()"
	segValues              // ".values()"
)

// pathSeg is one step of the path to the value being checked.
type pathSeg struct {
	kind  uint8
	name  string
	index int
}

func init() {
	vconform.Conform = func(val any, x any, tableName func(uint32) (string, bool)) (any, error) {
		return run(val.(Validator), x, tableName, true)
	}
}

// checker is the state of one Validate or conform call.
type checker struct {
	// tableName maps a table number found in an ID to the table's name.
	// With it, v.ID("t") accepts only IDs of table t; without it (nil), any
	// well-formed ID.
	tableName func(tableNumber uint32) (name string, ok bool)
	conform   bool // build and return the canonical value
	quiet     int  // > 0 while union members are tried
	n         int  // path depth
	stack     [12]pathSeg
	more      []pathSeg // segments beyond len(stack)
}

// run validates x against val, and returns its canonical form when conform is
// set.
func run(val Validator, x any, tableName func(uint32) (string, bool), conform bool) (any, error) {
	if err := Err(val); err != nil {
		return nil, err
	}
	c := checker{tableName: tableName, conform: conform}
	return c.check(val, x)
}

func (c *checker) push(s pathSeg) {
	if c.n < len(c.stack) {
		c.stack[c.n] = s
	} else {
		c.more = append(c.more, s)
	}
	c.n++
}

func (c *checker) pop() {
	c.n--
	if c.n >= len(c.stack) {
		c.more = c.more[:len(c.more)-1]
	}
}

// path renders the current path in Convex's form, such as ".a[3].b".
func (c *checker) path() string {
	var b strings.Builder
	for i := 0; i < c.n; i++ {
		var seg pathSeg
		if i < len(c.stack) {
			seg = c.stack[i]
		} else {
			seg = c.more[i-len(c.stack)]
		}
		switch seg.kind {
		case segField:
			b.WriteByte('.')
			b.WriteString(seg.name)
		case segIndex:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(seg.index))
			b.WriteByte(']')
		case segKeys:
			b.WriteString(".keys()")
		case segValues:
			b.WriteString(".values()")
		}
	}
	return b.String()
}

// check validates x against val and returns x's canonical form in conform
// mode (in validate mode the returned value is meaningless).
func (c *checker) check(val Validator, x any) (any, error) {
	if value.IsUndefined(x) {
		switch val.(type) {
		case *OptionalValidator:
			return x, nil
		case *scalarValidator, *IDValidator, *LiteralValidator, *ArrayValidator,
			*ObjectValidator, *RecordValidator, *UnionValidator:
			return nil, c.invalid(x, "undefined is not a valid Convex value")
		}
		return c.external(val, x)
	}
	x, err := c.canon(x)
	if err != nil {
		return nil, err
	}
	switch t := val.(type) {
	case *scalarValidator:
		return c.scalar(t, x)
	case *IDValidator:
		return c.id(t, x)
	case *LiteralValidator:
		return c.literal(t, x)
	case *ArrayValidator:
		return c.array(t, x)
	case *ObjectValidator:
		return c.object(t, x)
	case *RecordValidator:
		return c.record(t, x)
	case *UnionValidator:
		return c.union(t, x)
	case *OptionalValidator:
		return c.check(t.inner, x)
	}
	return c.external(val, x)
}

// canon returns x unchanged when it is a canonical value or a Go number that
// validators interpret (other integer kinds, float32), converts the other Go
// types that value.Normalize accepts, and rejects the rest.
func (c *checker) canon(x any) (any, error) {
	switch t := x.(type) {
	case nil, int64, float64, bool, string, value.ID, []byte, []any, map[string]any,
		float32, int, int8, int16, int32, uint8, uint16, uint32:
		return x, nil
	case uint, uint64, uintptr:
		if _, ok := value.IsGoInt(x); !ok {
			return nil, c.invalid(x, fmt.Sprintf("unsigned integer %d does not fit into a 64-bit signed integer", x))
		}
		return x, nil
	case []map[string]any:
		// Keep the elements as they are: normalising them would turn Go ints
		// into Int64s before a v.Float64 field could take them.
		out := make([]any, len(t))
		for i, m := range t {
			out[i] = m
		}
		return out, nil
	}
	n, err := value.Normalize(x)
	if err != nil {
		return nil, c.invalidFrom(x, err)
	}
	return n, nil
}

// noMatch is Convex's generic failure: x does not match val.
func (c *checker) noMatch(val Validator, x any) error {
	if c.quiet > 0 {
		return errQuiet
	}
	return &ValidationError{Reason: ReasonNoMatch, Path: c.path(), Validator: describe(val), Value: value.Format(x)}
}

// invalid reports that x is not a Convex value.
func (c *checker) invalid(x any, reason string) error {
	if c.quiet > 0 {
		return errQuiet
	}
	return &ValidationError{
		Reason: ReasonInvalidValue,
		Path:   c.path(),
		Value:  value.Format(x),
		Err:    &value.NotValueError{Reason: reason},
	}
}

// invalidFrom turns an error of value.Normalize on x into a ValidationError
// whose path leads to the offending part of x.
func (c *checker) invalidFrom(x any, err error) error {
	if c.quiet > 0 {
		return errQuiet
	}
	ve := &ValidationError{Reason: ReasonInvalidValue, Path: c.path(), Value: value.Format(x), Err: err}
	var ne *value.NotValueError
	if errors.As(err, &ne) {
		ve.Path += ne.Path
		ve.Err = &value.NotValueError{Reason: ne.Reason}
	}
	return ve
}

func (c *checker) scalar(s *scalarValidator, x any) (any, error) {
	switch s.kind {
	case kindNull:
		if x == nil {
			return nil, nil
		}
	case kindFloat64:
		switch t := x.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(t), nil
		}
		if n, ok := value.IsGoInt(x); ok && n >= -value.MaxExactFloatInt && n <= value.MaxExactFloatInt {
			if c.conform {
				return float64(n), nil
			}
			return x, nil
		}
	case kindInt64:
		if _, ok := x.(int64); ok {
			return x, nil
		}
		if n, ok := value.IsGoInt(x); ok {
			if c.conform {
				return n, nil
			}
			return x, nil
		}
	case kindBoolean:
		if _, ok := x.(bool); ok {
			return x, nil
		}
	case kindString:
		return c.str(s, x)
	case kindBytes:
		if b, ok := x.([]byte); ok {
			if c.conform {
				return slices.Clone(b), nil
			}
			return x, nil
		}
	case kindAny:
		return c.any(x)
	}
	return nil, c.noMatch(s, x)
}

func (c *checker) str(s *scalarValidator, x any) (any, error) {
	var str string
	switch t := x.(type) {
	case string:
		str = t
	case value.ID:
		str = string(t)
	default:
		return nil, c.noMatch(s, x)
	}
	if !utf8.ValidString(str) {
		return nil, c.invalid(x, "string is not valid UTF-8")
	}
	if _, isID := x.(value.ID); isID && c.conform {
		return str, nil
	}
	return x, nil
}

// any accepts every Convex value.
func (c *checker) any(x any) (any, error) {
	if c.conform {
		n, err := value.Normalize(x)
		if err != nil {
			return nil, c.invalidFrom(x, err)
		}
		return n, nil
	}
	if !isValue(x) {
		_, err := value.Normalize(x)
		if err == nil { // cannot happen: isValue agrees with Normalize
			err = &value.NotValueError{Reason: fmt.Sprintf("%T is not a supported Convex type", x)}
		}
		return nil, c.invalidFrom(x, err)
	}
	return x, nil
}

// isValue reports whether value.Normalize would accept x, without copying
// canonical values.
func isValue(x any) bool {
	switch t := x.(type) {
	case nil, int64, float64, bool, []byte, float32, int, int8, int16, int32, uint8, uint16, uint32:
		return true
	case string:
		return utf8.ValidString(t)
	case value.ID:
		return utf8.ValidString(string(t))
	case []any:
		for _, e := range t {
			if value.IsUndefined(e) || !isValue(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range t {
			if !value.IsUndefined(e) && !isValue(e) {
				return false
			}
		}
		return true
	}
	_, err := value.Normalize(x)
	return err == nil
}

func (c *checker) id(iv *IDValidator, x any) (any, error) {
	var s string
	switch t := x.(type) {
	case string:
		s = t
	case value.ID:
		s = string(t)
	default:
		return nil, c.noMatch(iv, x)
	}
	table, _, err := id.Decode(s)
	if err != nil {
		return nil, c.noMatch(iv, x)
	}
	if c.tableName != nil {
		name, ok := c.tableName(table)
		if !ok {
			return nil, c.noMatch(iv, x)
		}
		if name != iv.table {
			if c.quiet > 0 {
				return nil, errQuiet
			}
			ve := &ValidationError{Reason: ReasonTableMismatch, Path: c.path(), Validator: iv.String(), Value: s, Table: name}
			if strings.HasPrefix(name, "_") {
				ve.Reason, ve.Table = ReasonSystemTable, ""
			}
			return nil, ve
		}
	}
	if _, isID := x.(value.ID); isID && c.conform {
		return s, nil
	}
	return x, nil
}

func (c *checker) literal(l *LiteralValidator, x any) (any, error) {
	y := x
	switch t := x.(type) {
	case float32:
		y = float64(t)
	case value.ID:
		y = string(t)
	default:
		if n, ok := value.IsGoInt(x); ok {
			switch l.value.(type) {
			case float64:
				if n >= -value.MaxExactFloatInt && n <= value.MaxExactFloatInt {
					y = float64(n)
				}
			case int64:
				y = n
			}
		}
	}
	if literalEqual(l.value, y) {
		return l.value, nil
	}
	if c.quiet > 0 {
		return nil, errQuiet
	}
	return nil, &ValidationError{Reason: ReasonLiteral, Path: c.path(), Validator: l.String(), Value: value.Format(x)}
}

// literalEqual compares a literal with a canonical value under Convex's
// equality: same type, and for floats the same bits.
func literalEqual(lit, y any) bool {
	switch a := lit.(type) {
	case string:
		b, ok := y.(string)
		return ok && a == b
	case bool:
		b, ok := y.(bool)
		return ok && a == b
	case int64:
		b, ok := y.(int64)
		return ok && a == b
	case float64:
		b, ok := y.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	}
	return false
}

func (c *checker) array(a *ArrayValidator, x any) (any, error) {
	arr, ok := x.([]any)
	if !ok {
		return nil, c.noMatch(a, x)
	}
	var out []any
	if c.conform {
		out = make([]any, len(arr))
	}
	for i, e := range arr {
		c.push(pathSeg{kind: segIndex, index: i})
		y, err := c.check(a.elem, e)
		c.pop()
		if err != nil {
			return nil, err
		}
		if out != nil {
			out[i] = y
		}
	}
	if out != nil {
		return out, nil
	}
	return x, nil
}

func (c *checker) object(o *ObjectValidator, x any) (any, error) {
	m, ok := x.(map[string]any)
	if !ok {
		return nil, c.noMatch(o, x)
	}
	var out map[string]any
	if c.conform {
		out = make(map[string]any, len(o.fields))
	}
	// The fields of the validator, in sorted order as Convex checks them.
	present := 0
	for i := range o.fields {
		f := &o.fields[i]
		e, has := m[f.name]
		if !has || value.IsUndefined(e) {
			if !f.optional {
				return nil, c.fieldError(ReasonMissingField, o, m, f.name)
			}
			continue
		}
		present++
		c.push(pathSeg{kind: segField, name: f.name})
		y, err := c.check(f.val, e)
		c.pop()
		if err != nil {
			return nil, err
		}
		if out != nil {
			out[f.name] = y
		}
	}
	// Then the fields the validator does not list, the smallest name first.
	// (len(m) also counts fields set to Undefined, which are absent.)
	if present != len(m) {
		extra, found := "", false
		for k, e := range m {
			if _, known := o.index[k]; known || value.IsUndefined(e) {
				continue
			}
			if !found || k < extra {
				extra, found = k, true
			}
		}
		if found {
			return nil, c.fieldError(ReasonExtraField, o, m, extra)
		}
	}
	if out != nil {
		return out, nil
	}
	return x, nil
}

func (c *checker) fieldError(r Reason, o *ObjectValidator, m map[string]any, field string) error {
	if c.quiet > 0 {
		return errQuiet
	}
	return &ValidationError{Reason: r, Path: c.path(), Validator: o.String(), Value: value.Format(m), Field: field}
}

func (c *checker) record(r *RecordValidator, x any) (any, error) {
	m, ok := x.(map[string]any)
	if !ok {
		return nil, c.noMatch(r, x)
	}
	var out map[string]any
	if c.conform {
		out = make(map[string]any, len(m))
	}
	for k, e := range m {
		if value.IsUndefined(e) {
			continue
		}
		if err := c.recordEntry(r, k, e, out); err != nil {
			if c.quiet == 0 && len(m) > 1 {
				// Report the failure Convex reports: the first in key order.
				return nil, c.firstRecordError(r, m)
			}
			return nil, err
		}
	}
	if out != nil {
		return out, nil
	}
	return x, nil
}

func (c *checker) recordEntry(r *RecordValidator, k string, e any, out map[string]any) error {
	c.push(pathSeg{kind: segKeys})
	_, err := c.check(r.keys, k)
	c.pop()
	if err != nil {
		return err
	}
	c.push(pathSeg{kind: segValues})
	y, err := c.check(r.values, e)
	c.pop()
	if err != nil {
		return err
	}
	if out != nil {
		out[k] = y
	}
	return nil
}

func (c *checker) firstRecordError(r *RecordValidator, m map[string]any) error {
	for _, k := range value.SortedKeys(m) {
		if e := m[k]; !value.IsUndefined(e) {
			if err := c.recordEntry(r, k, e, nil); err != nil {
				return err
			}
		}
	}
	return c.noMatch(r, m) // unreachable: some entry failed before
}

func (c *checker) union(u *UnionValidator, x any) (any, error) {
	if len(u.members) == 1 {
		// Convex reports the only member's own error.
		return c.check(u.members[0], x)
	}
	c.quiet++
	for _, m := range u.members {
		if y, err := c.check(m, x); err == nil {
			c.quiet--
			return y, nil
		}
	}
	c.quiet--
	return nil, c.noMatch(u, x)
}

// external calls a validator implemented outside this package and places its
// error at the current path. In conform mode, a value it accepts is
// returned in canonical form as value.Normalize makes it (Go integers as
// Int64), since the validator cannot say which number type it expects.
func (c *checker) external(val Validator, x any) (any, error) {
	err := val.Validate(x)
	if err == nil {
		if !c.conform || value.IsUndefined(x) {
			return x, nil
		}
		y, nerr := value.Normalize(x)
		if nerr != nil {
			return nil, c.invalidFrom(x, nerr)
		}
		return y, nil
	}
	if c.quiet > 0 {
		return nil, errQuiet
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		cp := *ve
		cp.Path = c.path() + ve.Path
		return nil, &cp
	}
	return nil, &ValidationError{Reason: ReasonNoMatch, Path: c.path(), Validator: describe(val), Value: value.Format(x), Err: err}
}

package livedb

import (
	"fmt"
	"slices"
	"strings"

	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/v"
)

// This file holds what a schema declares about indexes ([IndexDefinition],
// [TableDefinition.Index]) and what a query asks of one ([IndexRange] and
// its compilation to key bounds). The schema rules an index must obey are
// checked in schema.go; index keys are laid out in keys.go.

// IndexDefinition is a database index of a table: its name and the field
// paths it orders by. _creationTime and _id are appended implicitly.
type IndexDefinition struct {
	Name   string
	Fields []string
	// Unique says that no two documents may have the same values of
	// Fields ([TableDefinition.Unique]).
	Unique bool
	// Aggregate says that the index keeps counts of its ranges, and Sums
	// the fields whose sums it keeps ([TableDefinition.Aggregate]).
	Aggregate bool
	Sums      []string
}

// Index adds a database index on the given field paths and returns t.
// Mistakes in the definition are reported by [Schema.Err] once the table is
// part of a schema.
func (t *TableDefinition) Index(name string, fields ...string) *TableDefinition {
	t.indexes = append(t.indexes, IndexDefinition{Name: name, Fields: slices.Clone(fields)})
	return t
}

// Indexes returns the table's user-defined indexes in definition order. The
// result is a copy the caller may change.
func (t *TableDefinition) Indexes() []IndexDefinition { return cloneIndexDefinitions(t.indexes) }

// IndexByName returns the user-defined index called name.
func (t *TableDefinition) IndexByName(name string) (IndexDefinition, bool) {
	for _, ix := range t.indexes {
		if ix.Name == name {
			return cloneIndexDefinitions([]IndexDefinition{ix})[0], true
		}
	}
	return IndexDefinition{}, false
}

func cloneIndexDefinitions(ixs []IndexDefinition) []IndexDefinition {
	if ixs == nil {
		return nil
	}
	out := make([]IndexDefinition, len(ixs))
	for i, ix := range ixs {
		out[i] = ix
		out[i].Fields, out[i].Sums = slices.Clone(ix.Fields), slices.Clone(ix.Sums)
	}
	return out
}

// IndexRangeError says how an index range breaks the grammar of index
// ranges (docs/semantics.md#index-ranges). It wraps ErrInvalidQuery: an
// invalid index range is an invalid query.
type IndexRangeError struct {
	Table  string
	Index  string
	Fields []string // the index's key columns, _creationTime and _id included
	Field  string   // the offending field
	Reason string
	Err    error // the cause, when a value did not convert; may be nil
}

// Error describes the failure.
func (e *IndexRangeError) Error() string {
	return fmt.Sprintf("livedb: invalid index range on %s.%s (fields [%s]): %s", e.Table, e.Index, strings.Join(e.Fields, ", "), e.Reason)
}

// Unwrap returns ErrInvalidQuery, and Err when it is set.
func (e *IndexRangeError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidQuery}
	}
	return []error{ErrInvalidQuery, e.Err}
}

type rangeOp uint8

const (
	rangeEq rangeOp = iota
	rangeGt
	rangeGte
	rangeLt
	rangeLte
)

var rangeOpNames = [...]string{"eq", "gt", "gte", "lt", "lte"}

type rangeTerm struct {
	op    rangeOp
	field string
	value any
}

// IndexRange is an index range expression, built in the function given to
// [Query.WithIndex]: zero or more Eq on the index's fields in order, then
// at most one lower bound (Gt or Gte) and one upper bound (Lt or Lte) on the
// next field. The trailing columns _creationTime and _id can be used as
// fields. A value may be [Undefined] to match documents lacking the field.
//
// IndexRange is a value: each method returns a new range.
type IndexRange struct {
	// The terms are inline while they fit, spilled beyond
	// (index_range_terms.go): building the usual range allocates nothing.
	n      int          // number of terms
	inline [3]rangeTerm // the terms, while n <= len(inline)
	spill  []rangeTerm  // all the terms, once there are more; never shared
}

// Eq restricts field to be equal to x.
func (r IndexRange) Eq(field string, x any) IndexRange { return r.with(rangeEq, field, x) }

// Gt restricts field to be greater than x (by Convex's total order).
func (r IndexRange) Gt(field string, x any) IndexRange { return r.with(rangeGt, field, x) }

// Gte restricts field to be greater than or equal to x.
func (r IndexRange) Gte(field string, x any) IndexRange { return r.with(rangeGte, field, x) }

// Lt restricts field to be less than x.
func (r IndexRange) Lt(field string, x any) IndexRange { return r.with(rangeLt, field, x) }

// Lte restricts field to be less than or equal to x.
func (r IndexRange) Lte(field string, x any) IndexRange { return r.with(rangeLte, field, x) }

// String prints the range as Convex's builder calls, e.g.
// `eq("workflowId", "j57…").gt("_creationTime", 5.0)`.
func (r IndexRange) String() string { return string(r.appendTo(nil)) }

// compiledRange is an index range as a key interval [start, end).
type compiledRange struct {
	start, end []byte
	// room, when longer than what the Query's key buffer has left, is
	// where a scan of the range writes its read set's successor key
	// (Query.scan): a decoded cursor's spare capacity.
	room []byte
}

// compile checks the range against the index and turns it into a key
// interval (docs/semantics.md#index-ranges): equalities sorted by index position then the inequality
// field must be a prefix of the index's columns. The usual ranges compile
// without allocating beyond the keys, which go in buf's array when it has
// room: the keys then share it, so each compile needs an array of its own.
// Values are normalized in place, in r.
func (r *IndexRange) compile(ix *indexInfo, tv v.Validator, buf []byte) (compiledRange, error) {
	fail := func(field, format string, args ...any) (compiledRange, error) {
		return compiledRange{}, &IndexRangeError{Table: ix.table.name, Index: ix.name, Fields: ix.fieldNames(), Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	var eqBuf [4]*rangeTerm
	eqs := eqBuf[:0] // the equalities, in term order
	var lower, upper *rangeTerm
	terms := r.list()
	for i := range terms {
		t := &terms[i]
		x, err := rangeValue(tv, t.field, t.value)
		if err != nil {
			cr, e := fail(t.field, "value for %q: %s", t.field, err.Error())
			e.(*IndexRangeError).Err = err
			return cr, e
		}
		t.value = x
		switch t.op {
		case rangeEq:
			if findTerm(eqs, t.field) != nil {
				return fail(t.field, "already defined equality bound in index range; can't add %q == %s", t.field, value.Format(x))
			}
			eqs = append(eqs, t)
		case rangeGt, rangeGte:
			if lower != nil {
				return fail(t.field, "already defined lower bound in index range; can't add %s(%q)", rangeOpNames[t.op], t.field)
			}
			lower = t
		default:
			if upper != nil {
				return fail(t.field, "already defined upper bound in index range; can't add %s(%q)", rangeOpNames[t.op], t.field)
			}
			upper = t
		}
	}
	ineq := ""
	for _, b := range [2]*rangeTerm{lower, upper} {
		if b == nil {
			continue
		}
		if ineq != "" && b.field != ineq {
			return fail(b.field, "upper and lower bounds must be on the same field; found %q and %q", ineq, b.field)
		}
		if findTerm(eqs, b.field) != nil {
			return fail(b.field, "field %q has both an equality and a range bound", b.field)
		}
		ineq = b.field
	}
	for _, e := range eqs {
		if slices.Index(ix.columns, e.field) < 0 {
			return fail(e.field, "the index has no field %q", e.field)
		}
	}
	// Sort the equalities by column (insertion sort: there are few).
	for i := 1; i < len(eqs); i++ {
		for j := i; j > 0 && slices.Index(ix.columns, eqs[j].field) < slices.Index(ix.columns, eqs[j-1].field); j-- {
			eqs[j], eqs[j-1] = eqs[j-1], eqs[j]
		}
	}
	if ineq != "" && slices.Index(ix.columns, ineq) < 0 {
		return fail(ineq, "the index has no field %q", ineq)
	}
	nused := len(eqs)
	if ineq != "" {
		nused++
	}
	usedField := func(i int) string {
		if i < len(eqs) {
			return eqs[i].field
		}
		return ineq
	}
	for i := range nused {
		if f := usedField(i); ix.columns[i] != f {
			used := make([]string, nused)
			for j := range used {
				used[j] = usedField(j)
			}
			return fail(f, "the query didn't use the index fields in order; query fields [%s], first incorrect field %q (expected %q)", strings.Join(used, ", "), f, ix.columns[i])
		}
	}
	prefix := buf[:0]
	if cap(prefix) < len(ix.prefix)+48 {
		prefix = make([]byte, 0, len(ix.prefix)+48)
	}
	prefix = append(prefix, ix.prefix...)
	for _, e := range eqs {
		prefix = appendColumnKey(prefix, ix, e.field, e.value)
	}
	n := len(prefix)
	var cr compiledRange
	if len(eqs) > 0 {
		// start and end share one array: end is prefix + 0xFF (afterValues).
		end := append(prefix, 0xFF)
		cr = compiledRange{start: end[:n:n], end: end}
	} else {
		cr = compiledRange{start: prefix[:n:n], end: prefixEndAfter(prefix)} // read_fixed3.go
	}
	if lower != nil {
		k, exact := appendBoundKey(slices.Clone(cr.start), ix, lower.field, lower.value)
		if lower.op == rangeGt && exact {
			k = afterValues(k)
		}
		cr.start = k
	}
	if upper != nil {
		k, exact := appendBoundKey(slices.Clone(cr.start[:n:n]), ix, upper.field, upper.value)
		if upper.op == rangeLte && exact {
			k = afterValues(k)
		}
		cr.end = k
	}
	return cr, nil
}

// findTerm returns the term on field, or nil.
func findTerm(terms []*rangeTerm, field string) *rangeTerm {
	for _, t := range terms {
		if t.field == field {
			return t
		}
	}
	return nil
}

// afterValues returns the first key after every key that starts with the
// complete values encoded in k, followed by more columns. It is k + 0xFF,
// not prefixEnd(k): a string or bytes key ends with the terminator 0x00,
// and a longer string that continues with a NUL is encoded as the same
// bytes followed by the escape 0xFF ("run" is 'run' 00, "run\x00x" is
// 'run' 00 FF 'x' 00), so prefixEnd would take "run\x00x" for a key
// starting with "run". The columns that follow a complete value start with
// a tag byte, and every tag is below 0xFF.
func afterValues(k []byte) []byte {
	return append(k[:len(k):len(k)], 0xFF)
}

// rangeValue normalises a range value: system fields and fields whose
// validator expects a Float64 take Go integers as float64, the rest as
// value.Normalize does.
func rangeValue(tv v.Validator, field string, x any) (any, error) {
	if value.IsUndefined(x) {
		return x, nil
	}
	switch field {
	case fieldCreationTime:
		return conform(v.Float64(), x, nil)
	case fieldID:
		return conform(v.String(), x, nil)
	}
	var fv v.Validator
	if strings.Contains(field, ".") {
		fv = fieldValidator(tv, strings.Split(field, "."))
	} else {
		fv = fieldValidator(tv, []string{field})
	}
	if isIDValidator(fv) { // read_fixed.go
		return idRangeValue(x)
	}
	if fv != nil {
		if y, err := conform(fv, x, nil); err == nil {
			return y, nil
		}
	}
	return value.Normalize(x)
}

// fieldValidator finds the validator of a field path through object
// validators, or nil.
func fieldValidator(tv v.Validator, path []string) v.Validator {
	for _, p := range path {
		ov, ok := tv.(*v.ObjectValidator)
		if !ok {
			return nil
		}
		if tv, ok = ov.Field(p); !ok {
			return nil
		}
	}
	return tv
}

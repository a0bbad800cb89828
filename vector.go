package livedb

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/internal/vecindex"
	"github.com/livedb-go/livedb/v"
)

// This file holds what a schema declares about vector indexes
// ([VectorIndexDefinition], [TableDefinition.VectorIndex]), their rules, and
// how a document's vector becomes an index entry. The search itself is in
// vector_search.go, the arithmetic in internal/vecindex.
//
// A vector index is an index of the catalog like any other (an indexInfo
// with a vectorSpec), so its entries are written in the same commit as
// the documents, carried by a shared database's log, backfilled and
// dropped at Open, and verified by Check, by the code every index goes
// through. Its entry for a document is
//
//	prefix 0x01 sortkey(filter fields…) vector(dims × float32 LE) norm(float64 LE) sortkey(_id)
//
// when the document has a vector, and prefix 0x00 sortkey(_id) when it has
// none (the field is missing), so that every document has exactly one
// entry and a search scans only the 0x01 half. Filter values come first,
// so an equality on the first filter field narrows the scan to a prefix;
// the vector rides in the key, so that a commit's index keys say which
// vectors it wrote, and a subscription can tell whether a write could
// change its nearest neighbours without reading the document. The norm
// is the vector's, computed once when the entry is written, so that a
// search reads each vector once, for its dot product with the query.

// Vector index limits, as Convex sets them (its limits page).
const (
	vectorMinDimensions   = 2
	vectorMaxDimensions   = 4096
	vectorMaxFilterFields = 16
	vectorMaxPerTable     = 4
)

// The byte after a vector index's prefix.
const (
	vectorAbsent  = 0x00
	vectorPresent = 0x01
)

// VectorIndexDefinition is a vector index of a table, as Convex's
// vectorIndex(name, {vectorField, dimensions, filterFields}): the field
// that holds each document's vector (an array of Dimensions float64), and
// the fields a search may filter on by equality.
type VectorIndexDefinition struct {
	Name         string
	VectorField  string
	Dimensions   int
	FilterFields []string
}

// VectorIndex adds a vector index on vectorField, whose vectors have
// dimensions components (2 to 4096), with optional filter fields (at most
// 16), and returns t. It is Convex's
//
//	.vectorIndex("by_embedding", {vectorField: "embedding", dimensions: 768, filterFields: ["kind"]})
//
// With schema validation on, the validator must give vectorField the type
// v.Array(v.Float64()) (optional or not). A document whose vectorField is
// missing is not in the index; one whose vectorField is not an array of
// dimensions finite numbers is refused by the write (an error wrapping
// [ErrInvalidVector]). Vectors are stored as float32: each component is
// rounded to the nearest float32 and similarities are computed from the
// rounded values. Search it with [Reader.VectorSearch]. Mistakes in the
// definition are reported by [Schema.Err].
func (t *TableDefinition) VectorIndex(name, vectorField string, dimensions int, filterFields ...string) *TableDefinition {
	t.vectors = append(t.vectors, VectorIndexDefinition{Name: name, VectorField: vectorField, Dimensions: dimensions, FilterFields: slices.Clone(filterFields)})
	return t
}

// VectorIndexes returns the table's vector indexes in definition order.
// The result is a copy the caller may change.
func (t *TableDefinition) VectorIndexes() []VectorIndexDefinition {
	return cloneVectorDefinitions(t.vectors)
}

func cloneVectorDefinitions(vs []VectorIndexDefinition) []VectorIndexDefinition {
	if vs == nil {
		return nil
	}
	out := make([]VectorIndexDefinition, len(vs))
	for i, d := range vs {
		d.FilterFields = slices.Clone(d.FilterFields)
		out[i] = d
	}
	return out
}

// vectorSpec is what makes an index of the catalog a vector index: the
// vector field and the dimensions. The index's fields are its filter
// fields.
type vectorSpec struct {
	field string
	path  []string
	dims  int
}

func newVectorSpec(field string, dims int) *vectorSpec {
	return &vectorSpec{field: field, path: strings.Split(field, "."), dims: dims}
}

// sameVector reports whether two indexes are both database indexes or
// both vector indexes on the same field and dimensions.
func sameVector(a, b *vectorSpec) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.field == b.field && a.dims == b.dims
}

// syncVectorIndexes drops the vector indexes of t that defs does not list
// (by name, vector field, dimensions and filter fields), and creates and
// backfills the missing ones; Open runs it before syncIndexes, which
// keeps the vector indexes.
func (db *DB) syncVectorIndexes(snap kv.Snapshot, c *catalog, t *tableInfo, defs []VectorIndexDefinition, batch *kv.Batch) error {
	keep := make([]*indexInfo, 0, len(t.indexes)+len(defs))
	for _, ix := range t.indexes {
		if ix.vec == nil || slices.ContainsFunc(defs, func(d VectorIndexDefinition) bool {
			return d.Name == ix.name && slices.Equal(d.FilterFields, ix.fields) && sameVector(newVectorSpec(d.VectorField, d.Dimensions), ix.vec)
		}) {
			keep = append(keep, ix)
			continue
		}
		db.opts.Logger.Info("livedb: dropping vector index", slog.String("table", t.name), slog.String("index", ix.name))
		n, err := deletePrefix(snap, ix.prefix, batch)
		if err != nil {
			return err
		}
		db.report.IndexesDropped = append(db.report.IndexesDropped, indexChange(ix, n))
	}
	var added []*indexInfo
	for _, d := range defs {
		if slices.ContainsFunc(keep, func(ix *indexInfo) bool { return ix.vec != nil && ix.name == d.Name }) {
			continue
		}
		ix := newIndexInfo(t, c.allocIndex(), d.Name, slices.Clone(d.FilterFields)).withVector(newVectorSpec(d.VectorField, d.Dimensions))
		keep = append(keep, ix)
		added = append(added, ix)
	}
	t.indexes = keep
	if len(added) == 0 {
		return nil
	}
	return db.backfill(snap, t, added, batch)
}

// withVector makes ix a vector index with spec (nil: leave it a database
// index) and returns it.
func (ix *indexInfo) withVector(spec *vectorSpec) *indexInfo {
	if spec == nil {
		return ix
	}
	ix.vec = spec
	ix.columns = append(slices.Clone(ix.fields), spec.field, fieldID)
	return ix
}

// checkVectorIndexes applies the vector index rules to table t, whose
// database indexes (dbIndexes, staged ones included) are already checked.
func (s *Schema) checkVectorIndexes(table string, t *TableDefinition, dbIndexes []IndexDefinition) error {
	if len(t.vectors) == 0 {
		return nil
	}
	if n := len(dbIndexes) + len(t.vectors); n > schemaMaxIndexes {
		return &SchemaError{Table: table, Reason: fmt.Sprintf("Table %q cannot have more than %d indexes.", table, schemaMaxIndexes)}
	}
	if len(t.vectors) > vectorMaxPerTable {
		return &SchemaError{Table: table, Reason: fmt.Sprintf("Table %q cannot have more than %d vector indexes.", table, vectorMaxPerTable)}
	}
	for i, d := range t.vectors {
		if err := s.checkVectorIndex(table, t, d, dbIndexes, t.vectors[:i]); err != nil {
			return err
		}
	}
	return nil
}

// checkVectorIndex applies the rules to one vector index d of table t.
func (s *Schema) checkVectorIndex(table string, t *TableDefinition, d VectorIndexDefinition, dbIndexes []IndexDefinition, before []VectorIndexDefinition) error {
	fail := func(reason string) error { return &SchemaError{Table: table, Index: d.Name, Reason: reason} }
	if problem := schemaIdentifierProblem(d.Name); problem != "" {
		return fail(fmt.Sprintf("Invalid index name: %q. Identifiers must be 64 characters or less, start with a letter, and only contain letters, digits, underscores. %s", d.Name, problem))
	}
	if d.Name == "by_id" || d.Name == "by_creation_time" || strings.HasPrefix(d.Name, "_") {
		return fail(fmt.Sprintf("In table %q cannot name an index %q because the name is reserved. Indexes may not start with an underscore or be named \"by_id\" or \"by_creation_time\".", table, d.Name))
	}
	if slices.ContainsFunc(dbIndexes, func(o IndexDefinition) bool { return o.Name == d.Name }) ||
		slices.ContainsFunc(before, func(o VectorIndexDefinition) bool { return o.Name == d.Name }) {
		return fail(fmt.Sprintf("Table %q has two or more definitions of index %q.", table, d.Name))
	}
	if d.Dimensions < vectorMinDimensions || d.Dimensions > vectorMaxDimensions {
		return fail(fmt.Sprintf("Dimensions %d must be between %d and %d.", d.Dimensions, vectorMinDimensions, vectorMaxDimensions))
	}
	if len(d.FilterFields) > vectorMaxFilterFields {
		return fail(fmt.Sprintf("Vector index %q may have up to %d filter fields, not %d.", d.Name, vectorMaxFilterFields, len(d.FilterFields)))
	}
	for i, f := range slices.Concat([]string{d.VectorField}, d.FilterFields) {
		what := "filter field"
		if i == 0 {
			what = "vector field"
		}
		if problem := schemaFieldPathProblem(f); problem != "" {
			return fail(fmt.Sprintf("In index %q: Invalid %s: %q. %s", d.Name, what, f, problem))
		}
		for _, c := range strings.Split(f, ".") {
			if strings.HasPrefix(c, "_") {
				return fail(fmt.Sprintf("In index %q: the %s %q is reserved: fields starting with `_` are not allowed in vector indexes.", d.Name, what, f))
			}
		}
	}
	for i, f := range d.FilterFields {
		if slices.Contains(d.FilterFields[:i], f) {
			return fail(fmt.Sprintf("Duplicate filter field %q. Filter fields must be unique within an index.", f))
		}
		if f == d.VectorField {
			return fail(fmt.Sprintf("The vector field %q cannot also be a filter field.", f))
		}
	}
	if !s.validation {
		return nil
	}
	for _, f := range d.FilterFields {
		if !v.HasFieldPath(t.validator, strings.Split(f, ".")) {
			return fail(fmt.Sprintf("In table %q the index %q is invalid because it references the field %q that does not exist.", table, d.Name, f))
		}
	}
	if found, ok := vectorFieldType(t.validator, strings.Split(d.VectorField, ".")); !ok {
		return fail(fmt.Sprintf("In table %q the vector index %q needs the field %q to be v.array(v.float64()), found %s.", table, d.Name, d.VectorField, found))
	}
	return nil
}

// vectorFieldType reports whether every type val can give the field at
// path is v.array(v.float64()) (or that field missing, when optional). If
// not, it returns the type it found instead.
func vectorFieldType(val v.Validator, path []string) (string, bool) {
	if o, ok := val.(*v.OptionalValidator); ok {
		val = o.Inner()
	}
	if val.Kind() == "any" {
		return "", true // documents may hold anything there: writes check it
	}
	if len(path) == 0 {
		a, ok := val.(*v.ArrayValidator)
		if !ok || a.Element() == nil || a.Element().Kind() != "number" {
			return val.String(), false
		}
		return "", true
	}
	switch t := val.(type) {
	case *v.ObjectValidator:
		f, ok := t.Field(path[0])
		if !ok {
			return "no such field", false
		}
		return vectorFieldType(f, path[1:])
	case *v.UnionValidator:
		any := false
		for _, m := range t.Members() {
			if _, isObj := m.(*v.ObjectValidator); isObj {
				if f, ok := m.(*v.ObjectValidator).Field(path[0]); !ok || f == nil {
					continue
				}
			}
			if found, ok := vectorFieldType(m, path); !ok {
				return found, false
			}
			any = true
		}
		if !any {
			return "no such field", false
		}
		return "", true
	}
	return val.String(), false
}

// docVector returns the vector doc holds for index spec: nil and no error
// when the field is missing, an error wrapping ErrInvalidVector when it is
// not an array of spec.dims finite numbers.
func docVector(doc map[string]any, spec *vectorSpec) ([]float64, error) {
	x := fieldValue(doc, spec.path)
	if x == value.Undefined {
		return nil, nil
	}
	arr, ok := x.([]any)
	if !ok {
		return nil, vectorErrorf("the field has type %s, not an array of %d Float64", typeName(x), spec.dims)
	}
	return checkVector(arr, spec.dims)
}

// checkVector returns the components of arr, which must be dims finite
// Float64 values; the error wraps ErrInvalidVector.
func checkVector(arr []any, dims int) ([]float64, error) {
	if len(arr) != dims {
		return nil, vectorErrorf("the vector has %d dimensions, the index %d", len(arr), dims)
	}
	out := make([]float64, dims)
	for i, c := range arr {
		f, ok := c.(float64)
		if !ok {
			return nil, vectorErrorf("component %d has type %s, not Float64", i, typeName(c))
		}
		if err := checkComponent(i, f); err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

// checkComponent refuses a component that is not finite once stored as a
// float32 (NaN, ±Inf, or beyond float32's range).
func checkComponent(i int, f float64) error {
	if math.IsNaN(f) || math.IsInf(float64(float32(f)), 0) {
		return vectorErrorf("component %d is %v, not a finite float32", i, f)
	}
	return nil
}

// vectorError is a vector that a vector index cannot take; it wraps
// ErrInvalidVector and prints without the "livedb: " prefix, as it is
// always wrapped in an error that has it.
type vectorError struct{ msg string }

func vectorErrorf(format string, args ...any) error {
	return &vectorError{msg: fmt.Sprintf(format, args...)}
}

func (e *vectorError) Error() string { return "invalid vector: " + e.msg }
func (e *vectorError) Unwrap() error { return ErrInvalidVector }

// checkDocVectors returns an error naming the index and field when doc
// holds a vector that a vector index of t cannot take.
func checkDocVectors(t *tableInfo, doc map[string]any) error {
	for _, ix := range t.userIndexes() {
		if err := checkIndexVector(ix, doc); err != nil {
			return err
		}
	}
	return nil
}

// checkIndexVector returns an error naming the index and field when ix is
// a vector index and doc holds a vector it cannot take.
func checkIndexVector(ix *indexInfo, doc map[string]any) error {
	if ix.vec == nil {
		return nil
	}
	if _, err := docVector(doc, ix.vec); err != nil {
		return fmt.Errorf("field %q of vector index %s.%s: %w", ix.vec.field, ix.table.name, ix.name, err)
	}
	return nil
}

// appendVectorKey appends the rest of doc's entry in vector index ix to k,
// which holds the index prefix. A document without a valid vector (writes
// refuse invalid ones, see checkDocVectors) gets the absent entry.
func appendVectorKey(k []byte, ix *indexInfo, doc map[string]any) []byte {
	vec, err := docVector(doc, ix.vec)
	if err != nil || vec == nil {
		return appendIDTail(append(k, vectorAbsent), doc[fieldID])
	}
	k = append(k, vectorPresent)
	for _, p := range ix.paths {
		k = value.AppendKey(k, fieldValue(doc, p))
	}
	start := len(k)
	k = vecindex.Pack(k, vec)
	k = vecindex.AppendNorm(k, k[start:])
	return appendIDTail(k, doc[fieldID])
}

// vectorEntry is a present entry of a vector index, split: its filter
// values' sort keys, its packed vector, the vector's norm and its
// document's ID.
type vectorEntry struct {
	filters []byte
	vec     []byte
	norm    float64
	id      []byte
}

// parseVectorEntry splits a key of vector index ix; ok is false for an
// absent entry or a key of another shape.
func parseVectorEntry(ix *indexInfo, key []byte) (e vectorEntry, ok bool) {
	p := len(ix.prefix)
	if len(key) <= p || key[p] != vectorPresent {
		return e, false
	}
	docID, _, ok := indexEntryID(ix.table, key)
	if !ok {
		return e, false
	}
	end := len(key) - idTailLen - vecindex.NormBytes
	start := end - ix.vec.dims*vecindex.BytesPerDim
	if start < p+1 {
		return e, false
	}
	norm := vecindex.ReadNorm(key[end : end+vecindex.NormBytes])
	return vectorEntry{filters: key[p+1 : start], vec: key[start:end], norm: norm, id: docID}, true
}

// splitFilters returns the sort key of each filter value of an entry.
func splitFilters(b []byte, n int) ([][]byte, bool) {
	out := make([][]byte, 0, n)
	for range n {
		_, rest, err := value.DecodeKey(b)
		if err != nil {
			return nil, false
		}
		out = append(out, b[:len(b)-len(rest)])
		b = rest
	}
	return out, len(b) == 0
}

// schemaVectorIndexJSON is a vector index in Convex's schema.export() JSON.
type schemaVectorIndexJSON struct {
	IndexDescriptor *string   `json:"indexDescriptor"`
	VectorField     *string   `json:"vectorField"`
	Dimensions      *int      `json:"dimensions"`
	FilterFields    *[]string `json:"filterFields"`
}

// schemaVectorIndexesJSON returns a table's vector indexes as Convex
// writes them.
func schemaVectorIndexesJSON(vs []VectorIndexDefinition) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(vs))
	for _, d := range vs {
		filters := d.FilterFields
		if filters == nil {
			filters = []string{}
		}
		b, err := json.Marshal(schemaVectorIndexJSON{IndexDescriptor: &d.Name, VectorField: &d.VectorField, Dimensions: &d.Dimensions, FilterFields: &filters})
		if err != nil {
			panic(err) // strings, an int and a list of strings always marshal
		}
		out = append(out, b)
	}
	return out
}

// schemaVectorIndexesFromJSON reads the vectorIndexes of a table.
func schemaVectorIndexesFromJSON(table string, list []json.RawMessage) ([]VectorIndexDefinition, error) {
	var out []VectorIndexDefinition
	for i, raw := range list {
		var ij schemaVectorIndexJSON
		if err := json.Unmarshal(raw, &ij); err != nil {
			return nil, &SchemaError{Table: table, Reason: fmt.Sprintf("invalid schema JSON: vector index %d", i), Err: err}
		}
		if ij.IndexDescriptor == nil {
			return nil, &SchemaError{Table: table, Reason: fmt.Sprintf(`invalid schema JSON: vector index %d has no "indexDescriptor"`, i)}
		}
		fail := func(member string) error {
			return &SchemaError{Table: table, Index: *ij.IndexDescriptor, Reason: fmt.Sprintf(`invalid schema JSON: missing %q`, member)}
		}
		switch {
		case ij.VectorField == nil:
			return nil, fail("vectorField")
		case ij.Dimensions == nil:
			return nil, fail("dimensions")
		}
		var filters []string
		if ij.FilterFields != nil {
			filters = *ij.FilterFields
		}
		out = append(out, VectorIndexDefinition{Name: *ij.IndexDescriptor, VectorField: *ij.VectorField, Dimensions: *ij.Dimensions, FilterFields: filters})
	}
	return out, nil
}

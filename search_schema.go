package livedb

import (
	"fmt"
	"slices"
	"strings"

	"github.com/livedb-go/livedb/v"
)

// This file holds what a schema declares about text search indexes
// ([SearchIndexDefinition], [TableDefinition.SearchIndex]) and the rules a
// definition obeys. The index itself is search_index.go's, queries on it
// search_query.go's.

// Search index limits, as Convex's (limits page, bootstrap_model/index).
const (
	// searchMaxIndexes is how many search indexes a table may declare.
	searchMaxIndexes = 4
	// searchMaxFilterFields is MAX_TEXT_INDEX_FILTER_FIELDS_SIZE.
	searchMaxFilterFields = 16
)

// SearchIndexDefinition is a text search index of a table, Convex's
// searchIndex(name, {searchField, filterFields}): the string field whose
// terms it indexes, and the fields a search may restrict by equality.
type SearchIndexDefinition struct {
	Name         string
	SearchField  string
	FilterFields []string
}

// SearchIndex adds a text search index on the string field searchField,
// with the given filter fields, and returns t. It is Convex's
//
//	.searchIndex("search_output", {searchField: "output", filterFields: ["workflowId", "status"]})
//
// Query it with [Query.WithSearchIndex]. Mistakes in the definition are
// reported by [Schema.Err] once the table is part of a schema.
func (t *TableDefinition) SearchIndex(name, searchField string, filterFields ...string) *TableDefinition {
	t.search = append(t.search, SearchIndexDefinition{Name: name, SearchField: searchField, FilterFields: slices.Clone(filterFields)})
	return t
}

// SearchIndexes returns the table's search indexes in definition order. The
// result is a copy the caller may change.
func (t *TableDefinition) SearchIndexes() []SearchIndexDefinition {
	return cloneSearchDefinitions(t.search)
}

func cloneSearchDefinitions(ds []SearchIndexDefinition) []SearchIndexDefinition {
	if ds == nil {
		return nil
	}
	out := make([]SearchIndexDefinition, len(ds))
	for i, d := range ds {
		out[i] = SearchIndexDefinition{Name: d.Name, SearchField: d.SearchField, FilterFields: slices.Clone(d.FilterFields)}
	}
	return out
}

// checkSearchIndexes applies the rules of search indexes to table t:
// at most four; a name that is an identifier, not reserved, and unique
// among all the table's indexes; a search field that is a field path the
// validator types as a string (with validation on); 0 to 16 distinct
// filter fields that can exist in a document.
func (s *Schema) checkSearchIndexes(table string, t *TableDefinition) error {
	if len(t.search) > searchMaxIndexes {
		return &SchemaError{Table: table, Reason: fmt.Sprintf("Table %q cannot have more than %d search indexes.", table, searchMaxIndexes)}
	}
	for i, d := range t.search {
		fail := func(format string, args ...any) error {
			return &SchemaError{Table: table, Index: d.Name, Reason: fmt.Sprintf(format, args...)}
		}
		if problem := schemaIdentifierProblem(d.Name); problem != "" {
			return fail("Invalid index name: %q. %s", d.Name, problem)
		}
		if d.Name == indexByID || d.Name == indexByCreationTime || strings.HasPrefix(d.Name, "_") {
			return fail("In table %q cannot name an index %q because the name is reserved.", table, d.Name)
		}
		taken := slices.ContainsFunc(slices.Concat(t.indexes, t.staged), func(ix IndexDefinition) bool { return ix.Name == d.Name }) ||
			slices.ContainsFunc(t.search[:i], func(o SearchIndexDefinition) bool { return o.Name == d.Name })
		if taken {
			return fail("Table %q has two or more definitions of index %q.", table, d.Name)
		}
		for _, f := range append([]string{d.SearchField}, d.FilterFields...) {
			if problem := schemaFieldPathProblem(f); problem != "" {
				return fail("Invalid search index field: %q. %s", f, problem)
			}
			for _, c := range strings.Split(f, ".") {
				if strings.HasPrefix(c, "_") {
					return fail("Reserved fields (starting with `_`) are not allowed in search indexes: %q.", f)
				}
			}
		}
		if len(d.FilterFields) > searchMaxFilterFields {
			return fail("Search indexes may have up to %d filter fields; %q has %d.", searchMaxFilterFields, d.Name, len(d.FilterFields))
		}
		for j, f := range d.FilterFields {
			if slices.Contains(d.FilterFields[:j], f) {
				return fail("Duplicate filter field %q. Filter fields must be unique within a search index.", f)
			}
		}
		if !s.validation {
			continue
		}
		path := strings.Split(d.SearchField, ".")
		if !v.HasFieldPath(t.validator, path) {
			return fail("In table %q the search index %q is invalid because it references the field %q that does not exist.", table, d.Name, d.SearchField)
		}
		if !searchFieldTakesStrings(t.validator, path) {
			return fail("In table %q the search index %q is invalid: its search field %q must be a string (v.string() or v.optional(v.string())).", table, d.Name, d.SearchField)
		}
		for _, f := range d.FilterFields {
			if !v.HasFieldPath(t.validator, strings.Split(f, ".")) {
				return fail("In table %q the search index %q is invalid because it references the field %q that does not exist.", table, d.Name, f)
			}
		}
	}
	return nil
}

// searchFieldTakesStrings reports whether every validator the field path
// reaches (through objects, unions of objects and optional fields) accepts
// any string. v.Any() does; a literal, a number or an object does not.
func searchFieldTakesStrings(val v.Validator, path []string) bool {
	found := false
	var walk func(val v.Validator, path []string) bool
	walk = func(val v.Validator, path []string) bool {
		if len(path) == 0 {
			found = true
			return val.Validate("") == nil && val.Validate("any text 1") == nil
		}
		switch t := val.(type) {
		case *v.ObjectValidator:
			f, ok := t.Field(path[0])
			return !ok || walk(f, path[1:])
		case *v.UnionValidator:
			for _, m := range t.Members() {
				if v.HasFieldPath(m, path) && !walk(m, path) {
					return false
				}
			}
			return true
		}
		return true // v.Any(): any value, strings included
	}
	return walk(val, path) && (found || v.HasFieldPath(val, path))
}

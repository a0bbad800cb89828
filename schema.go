package livedb

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/livedb-go/livedb/internal/vconform"
	"github.com/livedb-go/livedb/v"
)

// Schema definition limits, as enforced by Convex's code
// (crates/common/src/schemas/mod.rs, bootstrap_model/index/mod.rs,
// sync_types/src/identifier.rs).
const (
	// schemaMaxTables is MAX_USER_TABLES.
	schemaMaxTables = 10000
	// schemaMaxIndexes is MAX_INDEXES_PER_TABLE. It counts the indexes a
	// schema declares (database indexes, staged or not, and search and
	// vector indexes), not the built-ins by_id and by_creation_time.
	schemaMaxIndexes = 64
	// schemaMaxIndexFields is MAX_INDEX_FIELDS_SIZE, which includes the
	// _creationTime that is appended to every index: a definition may list
	// at most schemaMaxIndexFields-1 fields.
	schemaMaxIndexFields = 16
	// schemaMaxIdentifierLen is MAX_IDENTIFIER_LEN.
	schemaMaxIdentifierLen = 64
)

// Schema is a set of table definitions, built with [DefineSchema] or read
// from Convex's schema.export() JSON with [SchemaFromJSON]. A Schema is
// immutable once built and safe for concurrent use.
type Schema struct {
	tables     map[string]*TableDefinition
	validation bool
	err        error
}

// Tables maps table names to their definitions, for [DefineSchema].
type Tables map[string]*TableDefinition

// TableDefinition is one table of a schema: its document validator and its
// indexes. Build it with [DefineTable] and chain [TableDefinition.Index].
//
// A TableDefinition is not safe for concurrent use while it is being built;
// [DefineSchema] takes a copy, so changing it afterwards does not change the
// schema.
type TableDefinition struct {
	validator v.Validator
	indexes   []IndexDefinition
	// staged are Convex's staged database indexes (stagedDbIndexes), which
	// only [SchemaFromJSON] produces. They obey the same definition rules
	// and are written back by [Schema.MarshalJSON], but livedb neither
	// builds nor serves them, as Convex does not serve a staged index.
	staged []IndexDefinition
	// defErr is a mistake made while chaining the definition (unique.go),
	// reported by [Schema.Err]; "" when none.
	defErr string
	// search are the text search indexes (search_schema.go).
	search []SearchIndexDefinition
	// vectors are the vector indexes (vector.go).
	vectors []VectorIndexDefinition
}

// WithValidation returns a copy of the schema that checks documents
// against their table's validator on every write and when a changed schema
// is opened, or does not (Convex's schemaValidation option of
// defineSchema; a schema checks by default):
//
//	schema := livedb.DefineSchema(tables).WithValidation(false)
//
// The copy's mistakes are checked anew (an index on a field its validator
// lacks is allowed only without validation); s is unchanged.
func (s *Schema) WithValidation(enabled bool) *Schema {
	c := &Schema{tables: s.tables, validation: enabled}
	c.err = c.check()
	return c
}

// DefineSchema builds a schema from table definitions. Definition mistakes
// (a reserved index name, a duplicate index, an index on a field the
// validator can never contain, ...) do not panic: they are recorded and
// returned by [Schema.Err], and [Open] refuses the schema.
//
// The rules are Convex's, checked table by table in name order, indexes in
// definition order; the first mistake found is kept:
//
//   - A table name is an identifier (^[A-Za-z_][A-Za-z0-9_]*$, at most 64
//     bytes, not only underscores) that does not start with "_", and a
//     schema has at most 10,000 tables.
//   - A table's validator is a v.Object, a v.Union of v.Object, or v.Any,
//     without definition mistakes of its own ([v.Err]).
//   - A table declares at most 64 indexes (by_id and by_creation_time, which
//     every table has, do not count).
//   - An index name is an identifier, unique in its table, and neither
//     "by_id", "by_creation_time" nor anything starting with "_".
//   - An index lists 1 to 15 distinct field paths (_creationTime is
//     appended as the 16th); a field path is identifiers joined by "."
//     ("a.b"); none may be _id or _creationTime or have a component that
//     starts with "_".
//   - Two indexes of a table do not list the same fields.
//   - With schema validation on, every indexed field path can exist in a
//     document the validator accepts.
//
// Every mistake is a *[SchemaError] that wraps [ErrInvalidSchema].
func DefineSchema(tables Tables) *Schema {
	s := &Schema{tables: make(map[string]*TableDefinition, len(tables)), validation: true}
	for name, t := range tables {
		s.tables[name] = t.clone()
	}
	s.err = s.check()
	return s
}

// DefineTable starts a table definition with the validator its documents
// must match: an object, a union of objects, or v.Any(). The system fields
// _id and _creationTime are not part of it: documents are checked without
// them, and [DefineSchema] drops them from the validator's top level if they
// are listed there, as Convex does.
func DefineTable(validator v.Validator) *TableDefinition {
	return &TableDefinition{validator: validator}
}

// Validator returns the table's document validator.
func (t *TableDefinition) Validator() v.Validator { return t.validator }

// clone returns a deep copy of t, or nil for nil.
func (t *TableDefinition) clone() *TableDefinition {
	if t == nil {
		return nil
	}
	return &TableDefinition{
		validator: t.validator,
		indexes:   cloneIndexDefinitions(t.indexes),
		staged:    cloneIndexDefinitions(t.staged),
		defErr:    t.defErr,
		search:    cloneSearchDefinitions(t.search),
		vectors:   cloneVectorDefinitions(t.vectors),
	}
}

// Err returns the first definition mistake found in the schema, or nil.
func (s *Schema) Err() error { return s.err }

// Validation reports whether the schema enforces its validators.
func (s *Schema) Validation() bool { return s.validation }

// TableNames returns the names of the schema's tables, sorted.
func (s *Schema) TableNames() []string {
	names := make([]string, 0, len(s.tables))
	for n := range s.tables {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Table returns the definition of a table. The result is a copy: adding an
// index to it does not change the schema.
func (s *Schema) Table(name string) (*TableDefinition, bool) {
	t, ok := s.tables[name]
	return t.clone(), ok
}

// SchemaError is a mistake in a schema definition. Reason uses Convex's own
// words where Convex has a message for the mistake. It wraps
// [ErrInvalidSchema] and, when there is one, the underlying error (for
// example the one [v.Err] reported for a table's validator).
type SchemaError struct {
	Table  string // the table, or "" when the mistake is not in one table
	Index  string // the index, or "" when the mistake is not in one index
	Reason string // what is wrong
	Err    error  // the underlying error, or nil
}

// Error returns the mistake prefixed with where it is, e.g.
// `livedb: schema: table "t" index "by_id": In table "t" cannot name ...`.
func (e *SchemaError) Error() string {
	var b strings.Builder
	b.WriteString("livedb: schema: ")
	switch {
	case e.Table != "" && e.Index != "":
		fmt.Fprintf(&b, "table %q index %q: ", e.Table, e.Index)
	case e.Table != "":
		fmt.Fprintf(&b, "table %q: ", e.Table)
	case e.Index != "":
		fmt.Fprintf(&b, "index %q: ", e.Index)
	}
	b.WriteString(e.Reason)
	if e.Err != nil {
		if e.Reason != "" {
			b.WriteString(": ")
		}
		// One "livedb: " prefix: a validator's mistake (v.DefinitionError)
		// has its own, which this text already starts with.
		b.WriteString(strings.TrimPrefix(e.Err.Error(), errPrefix))
	}
	return b.String()
}

// Unwrap returns [ErrInvalidSchema] and the underlying error, if any.
func (e *SchemaError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidSchema}
	}
	return []error{ErrInvalidSchema, e.Err}
}

// check applies the definition rules of [DefineSchema] and returns the first
// mistake, or nil.
func (s *Schema) check() error {
	if len(s.tables) > schemaMaxTables {
		return &SchemaError{Reason: fmt.Sprintf("Number of tables cannot exceed %d.", schemaMaxTables)}
	}
	for _, name := range s.TableNames() {
		if err := s.checkTable(name, s.tables[name]); err != nil {
			return err
		}
	}
	return nil
}

// checkTable applies the rules to one table.
func (s *Schema) checkTable(name string, t *TableDefinition) error {
	fail := func(reason string) error { return &SchemaError{Table: name, Reason: reason} }
	if problem := schemaIdentifierProblem(name); problem != "" {
		return fail(fmt.Sprintf("Invalid table name: %q. Identifiers must start with a letter and can only contain letters, digits, and underscores. %s", name, problem))
	}
	if strings.HasPrefix(name, "_") {
		return fail(name + " is a reserved table name.")
	}
	if t == nil {
		return fail("the table definition is nil; build it with livedb.DefineTable")
	}
	if err := schemaCheckDocumentValidator(name, t.validator); err != nil {
		return err
	}
	if t.defErr != "" {
		return fail(t.defErr)
	}
	t.validator = schemaWithoutSystemFields(t.validator)
	if n := len(t.indexes) + len(t.staged) + len(t.search); n > schemaMaxIndexes {
		return fail(fmt.Sprintf("Table %q cannot have more than %d indexes.", name, schemaMaxIndexes))
	}
	all := slices.Concat(t.indexes, t.staged)
	for i, ix := range all {
		if err := s.checkIndex(name, t, ix, all[:i]); err != nil {
			return err
		}
	}
	if err := s.checkSearchIndexes(name, t); err != nil {
		return err
	}
	return s.checkVectorIndexes(name, t, all)
}

// schemaCheckDocumentValidator checks that a table's validator is an object, a
// union of objects, or any, and has no definition mistakes of its own.
func schemaCheckDocumentValidator(table string, val v.Validator) error {
	if val == nil {
		return &SchemaError{Table: table, Reason: "the document validator is nil; use v.Object(...), v.Union(v.Object(...), ...) or v.Any()"}
	}
	if err := v.Err(val); err != nil {
		return &SchemaError{Table: table, Reason: "invalid document validator", Err: err}
	}
	wrong := func(found string) error {
		return &SchemaError{Table: table, Reason: "The document validator in a schema must be an object, a union of objects, or `v.any()`. Found " + found + "."}
	}
	if val.IsOptional() {
		return wrong(val.String())
	}
	switch val.Kind() {
	case "object", "any":
		return nil
	case "union":
		if member, ok := schemaNonObjectMember(val); !ok {
			return wrong(member)
		}
		return nil
	default:
		return wrong(val.String())
	}
}

// checkIndex applies the index rules to ix, the index of table t that comes
// after the indexes in before.
func (s *Schema) checkIndex(table string, t *TableDefinition, ix IndexDefinition, before []IndexDefinition) error {
	fail := func(reason string) error { return &SchemaError{Table: table, Index: ix.Name, Reason: reason} }
	// The name.
	if problem := schemaIdentifierProblem(ix.Name); problem != "" {
		return fail(fmt.Sprintf("Invalid index name: %q. Identifiers must be 64 characters or less, start with a letter, and only contain letters, digits, underscores. %s", ix.Name, problem))
	}
	if ix.Name == "by_id" || ix.Name == "by_creation_time" || strings.HasPrefix(ix.Name, "_") {
		return fail(fmt.Sprintf("In table %q cannot name an index %q because the name is reserved. Indexes may not start with an underscore or be named \"by_id\" or \"by_creation_time\".", table, ix.Name))
	}
	for _, o := range before {
		if o.Name == ix.Name {
			return fail(fmt.Sprintf("Table %q has two or more definitions of index %q.", table, ix.Name))
		}
	}
	// The fields, each on its own.
	if len(ix.Fields) == 0 {
		return fail(fmt.Sprintf("In table %q index %q must have at least one field.", table, ix.Name))
	}
	for _, f := range ix.Fields {
		if problem := schemaFieldPathProblem(f); problem != "" {
			return fail(fmt.Sprintf("In index %q: Invalid index field: %q. %s", ix.Name, f, problem))
		}
	}
	if len(ix.Fields) >= schemaMaxIndexFields {
		return fail(fmt.Sprintf("Indexes may have up to %d fields. livedb appends _creationTime to every index, so an index may list at most %d.", schemaMaxIndexFields, schemaMaxIndexFields-1))
	}
	if slices.Contains(ix.Fields, "_id") {
		return fail("`_id` is not a valid index field. To load documents by ID, use `db.get(id)`.")
	}
	for i, f := range ix.Fields {
		if slices.Contains(ix.Fields[:i], f) {
			return fail(fmt.Sprintf("Duplicate field %q. Index fields must be unique within an index.", f))
		}
	}
	if slices.Contains(ix.Fields, "_creationTime") {
		return fail("`_creationTime` is automatically added to the end of each index. It should not be added explicitly in the index definition. See https://docs.convex.dev/using/indexes for more details.")
	}
	for _, f := range ix.Fields {
		for _, c := range strings.Split(f, ".") {
			if strings.HasPrefix(c, "_") {
				return fail("Reserved fields (starting with `_`) are not allowed in indexes.")
			}
		}
	}
	// The index among the table's other indexes.
	for _, o := range before {
		if slices.Equal(o.Fields, ix.Fields) {
			return fail(fmt.Sprintf("In table %q index %q and index %q have the same fields. Indexes must be unique within a table.", table, ix.Name, o.Name))
		}
	}
	// The fields against the validator.
	if s.validation {
		for _, f := range ix.Fields {
			if !v.HasFieldPath(t.validator, strings.Split(f, ".")) {
				return fail(fmt.Sprintf("In table %q the index %q is invalid because it references the field %q that does not exist.", table, ix.Name, f))
			}
		}
	}
	return s.checkAggregate(table, t, ix) // aggregate.go
}

// schemaWithoutSystemFields returns val without the top-level fields _id and
// _creationTime, in the object or in each object of the union. Documents are
// checked without their system fields, so a validator that lists them would
// reject every document; Convex drops them from a schema's document type
// (ObjectValidator::filter_system_fields) and so does livedb.
func schemaWithoutSystemFields(val v.Validator) v.Validator {
	switch t := val.(type) {
	case *v.ObjectValidator:
		var system []string
		for _, f := range []string{"_id", "_creationTime"} {
			if _, ok := t.Field(f); ok {
				system = append(system, f)
			}
		}
		if len(system) == 0 {
			return val
		}
		return t.Omit(system...)
	case *v.UnionValidator:
		members := t.Members()
		changed := false
		for i, m := range members {
			if o, ok := m.(*v.ObjectValidator); ok {
				if f := schemaWithoutSystemFields(o); f != m {
					members[i], changed = f, true
				}
			}
		}
		if !changed {
			return val
		}
		return v.Union(members...)
	}
	return val
}

// schemaNonObjectMember reports whether every member of the union val is an
// object. If one is not, it returns that member as Convex prints it.
func schemaNonObjectMember(val v.Validator) (string, bool) {
	b, err := val.MarshalJSON()
	if err != nil {
		return val.String(), false
	}
	var union struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &union); err != nil {
		return val.String(), false
	}
	for _, m := range union.Value {
		var member struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(m, &member); err == nil && member.Type == "object" {
			continue
		}
		if mv, err := v.FromJSON(m); err == nil {
			return mv.String(), false
		}
		return val.String(), false
	}
	return "", true
}

// schemaIdentifierProblem returns why s is not a Convex identifier, in
// Convex's words (check_valid_identifier), or "" if it is one.
func schemaIdentifierProblem(s string) string {
	if s == "" {
		return "Identifier cannot be empty"
	}
	if c := s[0]; !schemaIsLetter(c) && c != '_' {
		return fmt.Sprintf("Invalid first character %q in %s: Identifiers must start with an alphabetic character or underscore", []rune(s)[0], s)
	}
	for _, r := range s {
		if r >= 0x80 || !schemaIsLetter(byte(r)) && !('0' <= r && r <= '9') && r != '_' {
			return fmt.Sprintf("Identifier %s has invalid character %q: Identifiers can only contain alphanumeric characters or underscores", s, r)
		}
	}
	if len(s) > schemaMaxIdentifierLen {
		return fmt.Sprintf("Identifier is too long (%d > maximum %d)", len(s), schemaMaxIdentifierLen)
	}
	if strings.Trim(s, "_") == "" {
		return fmt.Sprintf("Identifier %s cannot have exclusively underscores", s)
	}
	return ""
}

func schemaIsLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// schemaFieldPathProblem returns why f is not a field path (identifiers
// joined by "."), or "" if it is one. Convex trims leading and trailing dots
// before splitting; livedb rejects them, so that an index's stored fields
// are exactly the paths it orders by.
func schemaFieldPathProblem(f string) string {
	if f == "" {
		return "Empty path"
	}
	for _, c := range strings.Split(f, ".") {
		if problem := schemaIdentifierProblem(c); problem != "" {
			return problem
		}
	}
	return ""
}

// tableNamer maps the table number found in an ID to the table's name, so
// that validation can check that an ID belongs to the table v.ID names.
type tableNamer = func(tableNumber uint32) (name string, ok bool)

// conform validates x against val and returns it in canonical form (see
// package vconform); tableName may be nil, and then v.ID accepts any
// well-formed ID.
func conform(val v.Validator, x any, tableName tableNamer) (any, error) {
	return vconform.Conform(val, x, tableName)
}

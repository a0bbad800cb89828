package livedb

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/livedb-go/livedb/v"
)

// The JSON of Convex's schema.export() (npm convex src/server/schema.ts),
// which Convex's backend reads as DatabaseSchemaJson
// (crates/common/src/schemas/json.rs):
//
//	{"tables":[{"tableName":"messages",
//	            "indexes":[{"indexDescriptor":"by_author","fields":["author"]}],
//	            "stagedDbIndexes":[],
//	            "searchIndexes":[],
//	            "stagedSearchIndexes":[],
//	            "vectorIndexes":[],
//	            "stagedVectorIndexes":[],
//	            "documentType":{"type":"object","value":{...}}}],
//	 "schemaValidation":true}
//
// The field order of a table is the one schema.export() writes.

// schemaExportJSON is the written form of a schema.
type schemaExportJSON struct {
	Tables           []schemaTableJSON `json:"tables"`
	SchemaValidation bool              `json:"schemaValidation"`
}

// schemaTableJSON is the written form of a table. Every list is written,
// empty as [], as schema.export() does.
type schemaTableJSON struct {
	TableName           string             `json:"tableName"`
	Indexes             []schemaIndexJSON  `json:"indexes"`
	StagedDbIndexes     []schemaIndexJSON  `json:"stagedDbIndexes"`
	SearchIndexes       []schemaSearchJSON `json:"searchIndexes"`
	StagedSearchIndexes []json.RawMessage  `json:"stagedSearchIndexes"`
	VectorIndexes       []json.RawMessage  `json:"vectorIndexes"`
	StagedVectorIndexes []json.RawMessage  `json:"stagedVectorIndexes"`
	DocumentType        json.RawMessage    `json:"documentType"`
}

// schemaIndexJSON is a database index, written and read.
type schemaIndexJSON struct {
	IndexDescriptor *string   `json:"indexDescriptor"`
	Fields          *[]string `json:"fields"`
	// livedb's own members (unique.go, aggregate.go), which Convex ignores.
	Unique    bool     `json:"unique,omitempty"`
	Aggregate bool     `json:"aggregate,omitempty"`
	Sums      []string `json:"sums,omitempty"`
}

// schemaImportJSON is the read form of a schema; pointers tell a missing
// member from an empty one.
type schemaImportJSON struct {
	Tables           *[]schemaTableImportJSON `json:"tables"`
	SchemaValidation *bool                    `json:"schemaValidation"`
}

// schemaTableImportJSON is the read form of a table.
type schemaTableImportJSON struct {
	TableName           *string            `json:"tableName"`
	Indexes             *[]schemaIndexJSON `json:"indexes"`
	StagedDbIndexes     []schemaIndexJSON  `json:"stagedDbIndexes"`
	SearchIndexes       []schemaSearchJSON `json:"searchIndexes"`
	StagedSearchIndexes []json.RawMessage  `json:"stagedSearchIndexes"`
	VectorIndexes       []json.RawMessage  `json:"vectorIndexes"`
	StagedVectorIndexes []json.RawMessage  `json:"stagedVectorIndexes"`
	DocumentType        json.RawMessage    `json:"documentType"`
}

// MarshalJSON returns the schema in the JSON form of Convex's
// schema.export(): tables sorted by name, each with its indexes in
// definition order, its search indexes as searchIndexes, empty lists for
// the staged search and the vector indexes livedb does not have, and its validator as ValidatorJSON. Staged database indexes
// read by [SchemaFromJSON] are written back as stagedDbIndexes.
//
// A schema with a definition mistake ([Schema.Err]) cannot be marshaled.
func (s *Schema) MarshalJSON() ([]byte, error) {
	if s.err != nil {
		return nil, wrapErr("livedb: marshal schema", s.err)
	}
	out := schemaExportJSON{Tables: make([]schemaTableJSON, 0, len(s.tables)), SchemaValidation: s.validation}
	for _, name := range s.TableNames() {
		t := s.tables[name]
		doc, err := t.validator.MarshalJSON()
		if err != nil {
			return nil, wrapErr(fmt.Sprintf("livedb: marshal schema: table %q", name), err)
		}
		out.Tables = append(out.Tables, schemaTableJSON{
			TableName:           name,
			Indexes:             schemaIndexesJSON(t.indexes),
			StagedDbIndexes:     schemaIndexesJSON(t.staged),
			SearchIndexes:       schemaSearchIndexesJSON(t.search),
			StagedSearchIndexes: []json.RawMessage{},
			VectorIndexes:       schemaVectorIndexesJSON(t.vectors),
			StagedVectorIndexes: []json.RawMessage{},
			DocumentType:        doc,
		})
	}
	// JSON.stringify does not escape <, > and &; neither does livedb.
	// The bytes are those of a json.Encoder without HTML escaping
	// (schema_json_append.go).
	size := 64 // one buffer, not a doubling from 8 bytes (catalog.marshal says why)
	for _, t := range out.Tables {
		size += 256 + len(t.DocumentType)
	}
	b, err := appendSchemaExportJSON(make([]byte, 0, size), &out)
	if err != nil {
		return nil, fmt.Errorf("livedb: marshal schema: %w", err)
	}
	return b, nil
}

func schemaIndexesJSON(ixs []IndexDefinition) []schemaIndexJSON {
	out := make([]schemaIndexJSON, len(ixs))
	for i, ix := range ixs {
		name, fields := ix.Name, ix.Fields
		if fields == nil {
			fields = []string{}
		}
		out[i] = schemaIndexJSON{IndexDescriptor: &name, Fields: &fields, Unique: ix.Unique, Aggregate: ix.Aggregate, Sums: ix.Sums}
	}
	return out
}

// SchemaFromJSON reads a schema from the JSON of Convex's schema.export()
// (or of [Schema.MarshalJSON]) and checks it with the rules of
// [DefineSchema]; an invalid schema is an error, never a Schema whose Err is
// set.
//
// It reads the way Convex's backend does: unknown members are ignored; a
// missing or null documentType means v.Any(); a missing schemaValidation
// means false (schemas written before Convex had the option). Staged
// database indexes (stagedDbIndexes) are checked and kept, but livedb does
// not build them, as Convex does not serve them before they are enabled.
// Search indexes (searchIndexes) and vector indexes (vectorIndexes) are
// read and built; livedb does not support staged search or vector indexes
// yet: a table that has
// one is an error naming the table and the index.
//
// A database opened with the schema it returns is strict about table names
// like one opened with a schema from DefineSchema: the JSON has no
// equivalent of Convex's strictTableNameTypes (a TypeScript setting), so a
// table it does not declare is ErrUndeclaredTable unless the database is
// opened with Options.AllowUndeclaredTables. A schema whose
// schemaValidation is false is strict about names too; it only skips the
// validation of documents.
//
// livedb is stricter than Convex in two places: a table listed twice is an
// error (Convex keeps the last), and so is an index field with a leading or
// trailing "." (Convex trims it). As with encoding/json, member names match
// case-insensitively.
//
// Every error wraps [ErrInvalidSchema].
func SchemaFromJSON(b []byte) (*Schema, error) {
	var in schemaImportJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, &SchemaError{Reason: "invalid schema JSON", Err: err}
	}
	if in.Tables == nil {
		return nil, &SchemaError{Reason: `invalid schema JSON: missing "tables"`}
	}
	tables := make(Tables, len(*in.Tables))
	for i, tj := range *in.Tables {
		name, t, err := tj.definition(i)
		if err != nil {
			return nil, err
		}
		if _, dup := tables[name]; dup {
			return nil, &SchemaError{Table: name, Reason: fmt.Sprintf("Table %q is defined twice.", name)}
		}
		tables[name] = t
	}
	validation := in.SchemaValidation != nil && *in.SchemaValidation
	s := DefineSchema(tables).WithValidation(validation)
	if s.err != nil {
		return nil, s.err
	}
	return s, nil
}

// definition turns the i-th table of the JSON into a table definition.
func (tj *schemaTableImportJSON) definition(i int) (string, *TableDefinition, error) {
	if tj.TableName == nil {
		return "", nil, &SchemaError{Reason: fmt.Sprintf(`invalid schema JSON: table %d has no "tableName"`, i)}
	}
	name := *tj.TableName
	fail := func(index, reason string) error { return &SchemaError{Table: name, Index: index, Reason: reason} }
	if name == "" {
		// SchemaError prints no table for "", so say which one it is.
		return "", nil, &SchemaError{Reason: fmt.Sprintf(`invalid schema JSON: table %d has an empty "tableName"`, i)}
	}
	for _, unsupported := range []struct {
		kind string
		list []json.RawMessage
	}{
		{"staged search", tj.StagedSearchIndexes},
		{"staged vector", tj.StagedVectorIndexes},
	} {
		if len(unsupported.list) > 0 {
			return "", nil, fail(schemaIndexDescriptor(unsupported.list[0]),
				unsupported.kind+" indexes are not supported by livedb yet")
		}
	}
	if tj.Indexes == nil {
		return "", nil, fail("", `invalid schema JSON: missing "indexes"`)
	}
	t := &TableDefinition{validator: v.Any()}
	if len(tj.DocumentType) > 0 && !bytes.Equal(tj.DocumentType, []byte("null")) {
		val, err := v.FromJSON(tj.DocumentType)
		if err != nil {
			return "", nil, &SchemaError{Table: name, Reason: "invalid documentType", Err: err}
		}
		t.validator = val
	}
	var err error
	if t.indexes, err = schemaIndexesFromJSON(name, *tj.Indexes); err != nil {
		return "", nil, err
	}
	if t.staged, err = schemaIndexesFromJSON(name, tj.StagedDbIndexes); err != nil {
		return "", nil, err
	}
	if t.search, err = schemaSearchIndexesFromJSON(name, tj.SearchIndexes); err != nil {
		return "", nil, err
	}
	if t.vectors, err = schemaVectorIndexesFromJSON(name, tj.VectorIndexes); err != nil {
		return "", nil, err
	}
	return name, t, nil
}

// schemaIndexesFromJSON reads a list of database indexes of a table.
func schemaIndexesFromJSON(table string, list []schemaIndexJSON) ([]IndexDefinition, error) {
	var out []IndexDefinition
	for i, ij := range list {
		if ij.IndexDescriptor == nil {
			return nil, &SchemaError{Table: table, Reason: fmt.Sprintf(`invalid schema JSON: index %d has no "indexDescriptor"`, i)}
		}
		if ij.Fields == nil {
			return nil, &SchemaError{Table: table, Index: *ij.IndexDescriptor, Reason: `invalid schema JSON: missing "fields"`}
		}
		out = append(out, IndexDefinition{Name: *ij.IndexDescriptor, Fields: *ij.Fields, Unique: ij.Unique, Aggregate: ij.Aggregate || len(ij.Sums) > 0, Sums: ij.Sums})
	}
	return out, nil
}

// schemaIndexDescriptor returns the indexDescriptor of a search or vector
// index, or "" when it has none.
func schemaIndexDescriptor(raw json.RawMessage) string {
	var ix struct {
		IndexDescriptor string `json:"indexDescriptor"`
	}
	_ = json.Unmarshal(raw, &ix) // best effort: only used to name the index
	return ix.IndexDescriptor
}

// schemaSearchJSON is a search index, written and read: Convex's
// {indexDescriptor, searchField, filterFields}.
type schemaSearchJSON struct {
	IndexDescriptor *string   `json:"indexDescriptor"`
	SearchField     *string   `json:"searchField"`
	FilterFields    *[]string `json:"filterFields"`
}

func schemaSearchIndexesJSON(ds []SearchIndexDefinition) []schemaSearchJSON {
	out := make([]schemaSearchJSON, len(ds))
	for i, d := range ds {
		name, field, filters := d.Name, d.SearchField, d.FilterFields
		if filters == nil {
			filters = []string{}
		}
		out[i] = schemaSearchJSON{IndexDescriptor: &name, SearchField: &field, FilterFields: &filters}
	}
	return out
}

// schemaSearchIndexesFromJSON reads a table's list of search indexes; a
// missing filterFields means none.
func schemaSearchIndexesFromJSON(table string, list []schemaSearchJSON) ([]SearchIndexDefinition, error) {
	var out []SearchIndexDefinition
	for i, sj := range list {
		if sj.IndexDescriptor == nil {
			return nil, &SchemaError{Table: table, Reason: fmt.Sprintf(`invalid schema JSON: search index %d has no "indexDescriptor"`, i)}
		}
		if sj.SearchField == nil {
			return nil, &SchemaError{Table: table, Index: *sj.IndexDescriptor, Reason: `invalid schema JSON: missing "searchField"`}
		}
		d := SearchIndexDefinition{Name: *sj.IndexDescriptor, SearchField: *sj.SearchField}
		if sj.FilterFields != nil {
			d.FilterFields = *sj.FilterFields
		}
		out = append(out, d)
	}
	return out, nil
}

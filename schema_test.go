package livedb_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// designAgentSchema is the workflows / agentSessions schema of DESIGN.md.
func designAgentSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"workflows": livedb.DefineTable(v.Object(v.Fields{
			"task":   v.String(),
			"status": v.Union(v.Literal("pending"), v.Literal("in_progress"), v.Literal("completed"), v.Literal("failed")),
		})).Index("by_status", "status"),
		"agentSessions": livedb.DefineTable(v.Object(v.Fields{
			"workflowId": v.ID("workflows"),
			"agentType":  v.String(),
			"status":     v.String(),
			"output":     v.Optional(v.String()),
		})).Index("by_workflow", "workflowId").
			Index("by_workflow_and_status", "workflowId", "status"),
	})
}

// MustSchemaError fails the test unless err is a *SchemaError wrapping
// ErrInvalidSchema, for table and index, whose message contains want.
func MustSchemaError(t *testing.T, err error, table, index, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want an error containing %q", want)
	}
	if !errors.Is(err, livedb.ErrInvalidSchema) {
		t.Errorf("errors.Is(%v, ErrInvalidSchema) = false", err)
	}
	var se *livedb.SchemaError
	if !errors.As(err, &se) {
		t.Fatalf("err %T (%v) is not a *SchemaError", err, err)
	}
	if se.Table != table || se.Index != index {
		t.Errorf("err names table %q index %q, want table %q index %q (%v)", se.Table, se.Index, table, index, err)
	}
	if !strings.HasPrefix(err.Error(), "livedb: schema: ") {
		t.Errorf("err = %q, want the prefix %q", err, "livedb: schema: ")
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q\nwant it to contain %q", err, want)
	}
}

func TestDefineSchema_Valid(t *testing.T) {
	many := make([]string, 15)
	for i := range many {
		many[i] = fmt.Sprintf("f%d", i)
	}
	tests := []struct {
		name   string
		schema *livedb.Schema
	}{
		{"agent orchestration", designAgentSchema()},
		{"no tables", livedb.DefineSchema(nil)},
		{"any validator with an index", livedb.DefineSchema(livedb.Tables{
			"logs": livedb.DefineTable(v.Any()).Index("by_level", "level").Index("by_nested", "meta.source.host"),
		})},
		{"union of objects", livedb.DefineSchema(livedb.Tables{
			"events": livedb.DefineTable(v.Union(
				v.Object(v.Fields{"kind": v.Literal("start"), "at": v.Float64()}),
				v.Object(v.Fields{"kind": v.Literal("stop"), "reason": v.String()}),
			)).Index("by_kind", "kind").Index("by_reason", "reason"),
		})},
		{"nested optional field", livedb.DefineSchema(livedb.Tables{
			"agentSessions": livedb.DefineTable(v.Object(v.Fields{
				"metadata": v.Optional(v.Object(v.Fields{"workflowId": v.ID("workflows")})),
			})).Index("by_workflow", "metadata.workflowId"),
		})},
		{"15 fields", livedb.DefineSchema(livedb.Tables{"t": livedb.DefineTable(v.Any()).Index("wide", many...)})},
		{"64 indexes", livedb.DefineSchema(livedb.Tables{"t": schemaTableWithIndexes(64)})},
		{"identifier of 64 bytes", livedb.DefineSchema(livedb.Tables{
			strings.Repeat("t", 64): livedb.DefineTable(v.Any()).Index(strings.Repeat("i", 64), strings.Repeat("f", 64)),
		})},
		{"missing field without validation", livedb.DefineSchema(livedb.Tables{
			"t": livedb.DefineTable(v.Object(v.Fields{"a": v.String()})).Index("by_b", "b"),
		}).WithValidation(false)},
		{"underscore inside names", livedb.DefineSchema(livedb.Tables{
			"a_b": livedb.DefineTable(v.Object(v.Fields{"x_1": v.String()})).Index("by_x_1", "x_1"),
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.schema.Err(); err != nil {
				t.Fatalf("Err() = %v, want nil", err)
			}
		})
	}
}

// schemaTableWithIndexes returns a table of v.Any() with n indexes on distinct
// fields.
func schemaTableWithIndexes(n int) *livedb.TableDefinition {
	t := livedb.DefineTable(v.Any())
	for i := range n {
		t.Index(fmt.Sprintf("by_f%d", i), fmt.Sprintf("f%d", i))
	}
	return t
}

func TestDefineSchema_TableRules(t *testing.T) {
	tooManyTables := livedb.Tables{}
	for i := range 10001 {
		tooManyTables[fmt.Sprintf("t%d", i)] = livedb.DefineTable(v.Any())
	}
	tests := []struct {
		name      string
		tables    livedb.Tables
		wantTable string
		want      string
	}{
		{"first character", livedb.Tables{"1abc": livedb.DefineTable(v.Any())}, "1abc",
			`Invalid table name: "1abc". Identifiers must start with a letter and can only contain letters, digits, and underscores. Invalid first character '1' in 1abc`},
		{"invalid character", livedb.Tables{"a-b": livedb.DefineTable(v.Any())}, "a-b",
			`Identifier a-b has invalid character '-': Identifiers can only contain alphanumeric characters or underscores`},
		{"non-ASCII", livedb.Tables{"tablé": livedb.DefineTable(v.Any())}, "tablé", `has invalid character 'é'`},
		{"empty", livedb.Tables{"": livedb.DefineTable(v.Any())}, "", "Identifier cannot be empty"},
		{"too long", livedb.Tables{strings.Repeat("a", 65): livedb.DefineTable(v.Any())}, strings.Repeat("a", 65),
			"Identifier is too long (65 > maximum 64)"},
		{"only underscores", livedb.Tables{"___": livedb.DefineTable(v.Any())}, "___", "Identifier ___ cannot have exclusively underscores"},
		{"reserved", livedb.Tables{"_storage": livedb.DefineTable(v.Any())}, "_storage", "_storage is a reserved table name."},
		{"nil definition", livedb.Tables{"t": nil}, "t", "the table definition is nil"},
		{"nil validator", livedb.Tables{"t": livedb.DefineTable(nil)}, "t", "the document validator is nil"},
		{"string validator", livedb.Tables{"t": livedb.DefineTable(v.String())}, "t",
			"The document validator in a schema must be an object, a union of objects, or `v.any()`. Found v.string()."},
		{"array validator", livedb.Tables{"t": livedb.DefineTable(v.Array(v.Object(v.Fields{})))}, "t", "Found v.array("},
		{"union with a non-object", livedb.Tables{"t": livedb.DefineTable(v.Union(v.Object(v.Fields{"a": v.String()}), v.Null()))}, "t",
			"must be an object, a union of objects, or `v.any()`. Found v.null()."},
		{"optional object", livedb.Tables{"t": livedb.DefineTable(v.Optional(v.Object(v.Fields{})))}, "t", "Found v.optional("},
		{"too many tables", tooManyTables, "", "Number of tables cannot exceed 10000."},
		{"too many indexes", livedb.Tables{"t": schemaTableWithIndexes(65)}, "t", `Table "t" cannot have more than 64 indexes.`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := livedb.DefineSchema(tc.tables).Err()
			MustSchemaError(t, err, tc.wantTable, "", tc.want)
		})
	}
}

func TestDefineSchema_FirstMistakeInNameOrder(t *testing.T) {
	tables := livedb.Tables{
		"zebra": livedb.DefineTable(v.String()),
		"alpha": livedb.DefineTable(v.Any()).Index("by_a", "a").Index("by_id", "b").Index("_b", "b"),
		"mango": livedb.DefineTable(nil),
	}
	for range 20 { // map order is random; the reported mistake is not
		MustSchemaError(t, livedb.DefineSchema(tables).Err(), "alpha", "by_id", `cannot name an index "by_id"`)
	}
}

func TestDefineSchema_ValidatorErr(t *testing.T) {
	// A record whose keys are string literals is a definition mistake of the
	// validator itself (Convex: "Records cannot have string literal keys").
	doc := v.Object(v.Fields{"r": v.Record(v.Literal("a"), v.String())})
	verr := v.Err(doc)
	if verr == nil {
		t.Fatalf("v.Err(%s) = nil; the test needs an invalid validator", doc)
	}
	err := livedb.DefineSchema(livedb.Tables{"t": livedb.DefineTable(doc)}).Err()
	MustSchemaError(t, err, "t", "", "invalid document validator: "+strings.TrimPrefix(verr.Error(), "livedb: "))
	MustCleanErrorText(t, err, "")
	if !errors.Is(err, v.ErrInvalidValidator) {
		t.Errorf("errors.Is(err, v.ErrInvalidValidator) = false for %v", err)
	}
	if !strings.Contains(err.Error(), "Records cannot have string literal keys") {
		t.Errorf("err = %v, want the validator's own message", err)
	}
}

func TestDefineSchema_IndexRules(t *testing.T) {
	sixteen := make([]string, 16)
	for i := range sixteen {
		sixteen[i] = fmt.Sprintf("f%d", i)
	}
	obj := v.Object(v.Fields{
		"a":    v.String(),
		"b":    v.Float64(),
		"meta": v.Object(v.Fields{"source": v.String()}),
	})
	tests := []struct {
		name      string
		table     *livedb.TableDefinition
		wantIndex string
		want      string
	}{
		{"reserved by_id", livedb.DefineTable(obj).Index("by_id", "a"), "by_id",
			`In table "t" cannot name an index "by_id" because the name is reserved. Indexes may not start with an underscore or be named "by_id" or "by_creation_time".`},
		{"reserved by_creation_time", livedb.DefineTable(obj).Index("by_creation_time", "a"), "by_creation_time",
			`cannot name an index "by_creation_time" because the name is reserved`},
		{"reserved underscore", livedb.DefineTable(obj).Index("_by_a", "a"), "_by_a",
			`cannot name an index "_by_a" because the name is reserved`},
		{"invalid name", livedb.DefineTable(obj).Index("by-a", "a"), "by-a",
			`Invalid index name: "by-a". Identifiers must be 64 characters or less, start with a letter, and only contain letters, digits, underscores. Identifier by-a has invalid character '-'`},
		{"empty name", livedb.DefineTable(obj).Index("", "a"), "", `Invalid index name: "". `},
		{"name too long", livedb.DefineTable(obj).Index(strings.Repeat("i", 65), "a"), strings.Repeat("i", 65), "Identifier is too long (65 > maximum 64)"},
		{"duplicate name", livedb.DefineTable(obj).Index("by_a", "a").Index("by_a", "b"), "by_a",
			`Table "t" has two or more definitions of index "by_a".`},
		{"no fields", livedb.DefineTable(obj).Index("by_nothing"), "by_nothing",
			`In table "t" index "by_nothing" must have at least one field.`},
		{"16 fields", livedb.DefineTable(v.Any()).Index("wide", sixteen...), "wide", "Indexes may have up to 16 fields."},
		{"_id", livedb.DefineTable(obj).Index("by_id_too", "a", "_id"), "by_id_too",
			"`_id` is not a valid index field. To load documents by ID, use `db.get(id)`."},
		{"duplicate field", livedb.DefineTable(obj).Index("by_a_a", "a", "b", "a"), "by_a_a",
			`Duplicate field "a". Index fields must be unique within an index.`},
		{"_creationTime", livedb.DefineTable(obj).Index("by_a_time", "a", "_creationTime"), "by_a_time",
			"`_creationTime` is automatically added to the end of each index. It should not be added explicitly in the index definition."},
		{"reserved top-level field", livedb.DefineTable(v.Any()).Index("by_x", "_x"), "by_x",
			"Reserved fields (starting with `_`) are not allowed in indexes."},
		{"reserved nested field", livedb.DefineTable(v.Any()).Index("by_x", "meta._x"), "by_x",
			"Reserved fields (starting with `_`) are not allowed in indexes."},
		{"invalid field", livedb.DefineTable(v.Any()).Index("by_x", "my-field"), "by_x",
			`In index "by_x": Invalid index field: "my-field". Identifier my-field has invalid character '-'`},
		{"empty field", livedb.DefineTable(v.Any()).Index("by_x", ""), "by_x", `Invalid index field: "". Empty path`},
		{"empty component", livedb.DefineTable(v.Any()).Index("by_x", "a..b"), "by_x", `Invalid index field: "a..b". Identifier cannot be empty`},
		{"trailing dot", livedb.DefineTable(v.Any()).Index("by_x", "a."), "by_x", `Invalid index field: "a.". Identifier cannot be empty`},
		{"same fields", livedb.DefineTable(obj).Index("by_a_b", "a", "b").Index("by_a_b_too", "a", "b"), "by_a_b_too",
			`In table "t" index "by_a_b_too" and index "by_a_b" have the same fields. Indexes must be unique within a table.`},
		{"missing field", livedb.DefineTable(obj).Index("by_c", "c"), "by_c",
			`In table "t" the index "by_c" is invalid because it references the field "c" that does not exist.`},
		{"missing nested field", livedb.DefineTable(obj).Index("by_host", "meta.host"), "by_host",
			`the index "by_host" is invalid because it references the field "meta.host" that does not exist.`},
		{"path through a scalar", livedb.DefineTable(obj).Index("by_a_x", "a.x"), "by_a_x", `references the field "a.x" that does not exist.`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := livedb.DefineSchema(livedb.Tables{"t": tc.table}).Err()
			MustSchemaError(t, err, "t", tc.wantIndex, tc.want)
		})
	}
}

func TestDefineSchema_SeedSchemaMistake(t *testing.T) {
	// The seed research note indexes agentSessions on workflowId, which only
	// exists inside metadata: Convex refuses that push, and so does livedb.
	s := livedb.DefineSchema(livedb.Tables{
		"agentSessions": livedb.DefineTable(v.Object(v.Fields{
			"agentType": v.String(),
			"status":    v.String(),
			"metadata": v.Optional(v.Object(v.Fields{
				"workflowId": v.ID("workflows"),
				"startedAt":  v.Number(),
			})),
		})).Index("by_workflow", "workflowId").Index("by_status", "status"),
	})
	MustSchemaError(t, s.Err(), "agentSessions", "by_workflow",
		`livedb: schema: table "agentSessions" index "by_workflow": In table "agentSessions" the index "by_workflow" is invalid because it references the field "workflowId" that does not exist.`)
}

func TestDefineSchema_DropsSystemFields(t *testing.T) {
	withSystem := func(fields v.Fields) *v.ObjectValidator {
		fields["_id"] = v.ID("t")
		fields["_creationTime"] = v.Float64()
		return v.Object(fields)
	}
	tests := []struct {
		name      string
		validator v.Validator
		want      string
	}{
		{"object", withSystem(v.Fields{"a": v.String()}),
			`{"type":"object","value":{"a":{"fieldType":{"type":"string"},"optional":false}}}`},
		{"union", v.Union(withSystem(v.Fields{"a": v.String()}), v.Object(v.Fields{"b": v.String()})),
			`{"type":"union","value":[{"type":"object","value":{"a":{"fieldType":{"type":"string"},"optional":false}}},{"type":"object","value":{"b":{"fieldType":{"type":"string"},"optional":false}}}]}`},
		{"nested system-looking fields stay", v.Object(v.Fields{"meta": withSystem(v.Fields{})}),
			`{"type":"object","value":{"meta":{"fieldType":{"type":"object","value":{"_creationTime":{"fieldType":{"type":"number"},"optional":false},"_id":{"fieldType":{"type":"id","tableName":"t"},"optional":false}}},"optional":false}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := livedb.DefineSchema(livedb.Tables{"t": livedb.DefineTable(tc.validator)})
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			def, _ := s.Table("t")
			got, err := def.Validator().MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			MustEqualSchemaJSON(t, tc.want, string(got))
		})
	}
}

func TestDefineSchema_Options(t *testing.T) {
	if s := designAgentSchema(); !s.Validation() {
		t.Errorf("Validation() = false by default, want true")
	}
	if s := designAgentSchema().WithValidation(false); s.Validation() {
		t.Errorf("Validation() = true with WithValidation(false)")
	}
}

func TestDefineSchema_CopiesDefinitions(t *testing.T) {
	def := livedb.DefineTable(v.Object(v.Fields{"a": v.String()})).Index("by_a", "a")
	s := livedb.DefineSchema(livedb.Tables{"t": def})
	def.Index("by_missing", "missing") // would be a mistake if the schema saw it

	if err := s.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
	got, _ := s.Table("t")
	if ixs := got.Indexes(); len(ixs) != 1 || ixs[0].Name != "by_a" {
		t.Errorf("schema table indexes = %v after changing the definition, want only by_a", ixs)
	}
	got.Index("by_other", "missing")
	if again, _ := s.Table("t"); len(again.Indexes()) != 1 {
		t.Errorf("adding an index to the result of Table changed the schema: %v", again.Indexes())
	}
	ixs := got.Indexes()
	ixs[0].Fields[0] = "changed"
	if ix, _ := got.IndexByName("by_a"); ix.Fields[0] != "a" {
		t.Errorf("changing the result of Indexes changed the schema: %v", ix)
	}
}

func TestSchema_Accessors(t *testing.T) {
	s := designAgentSchema()
	if got, want := fmt.Sprint(s.TableNames()), "[agentSessions workflows]"; got != want {
		t.Errorf("TableNames() = %s, want %s", got, want)
	}
	if _, ok := s.Table("missing"); ok {
		t.Errorf("Table(missing) ok = true")
	}
	sessions, ok := s.Table("agentSessions")
	if !ok {
		t.Fatalf("Table(agentSessions) ok = false")
	}
	if got := sessions.Validator().Kind(); got != "object" {
		t.Errorf("Validator().Kind() = %q, want object", got)
	}
	if got, want := fmt.Sprint(sessions.Indexes()), "[{by_workflow [workflowId]} {by_workflow_and_status [workflowId status]}]"; got != want {
		t.Errorf("Indexes() = %s, want %s", got, want)
	}
	ix, ok := sessions.IndexByName("by_workflow_and_status")
	if !ok || fmt.Sprint(ix.Fields) != "[workflowId status]" {
		t.Errorf("IndexByName(by_workflow_and_status) = %v, %v", ix, ok)
	}
	if _, ok := sessions.IndexByName("by_id"); ok {
		t.Errorf("IndexByName(by_id) ok = true; built-ins are not user-defined indexes")
	}
}

func TestSchemaError_Error(t *testing.T) {
	inner := errors.New("inner")
	tests := []struct {
		err  *livedb.SchemaError
		want string
	}{
		{&livedb.SchemaError{Reason: "r"}, "livedb: schema: r"},
		{&livedb.SchemaError{Table: "t", Reason: "r"}, `livedb: schema: table "t": r`},
		{&livedb.SchemaError{Table: "t", Index: "i", Reason: "r"}, `livedb: schema: table "t" index "i": r`},
		{&livedb.SchemaError{Table: "t", Reason: "r", Err: inner}, `livedb: schema: table "t": r: inner`},
		{&livedb.SchemaError{Err: inner}, `livedb: schema: inner`},
		{&livedb.SchemaError{Table: "t", Reason: "r", Err: fmt.Errorf("livedb: wrapped: %w", inner)}, `livedb: schema: table "t": r: wrapped: inner`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
			if !errors.Is(tc.err, livedb.ErrInvalidSchema) {
				t.Errorf("errors.Is(ErrInvalidSchema) = false")
			}
			if tc.err.Err != nil && !errors.Is(tc.err, inner) {
				t.Errorf("errors.Is(inner) = false")
			}
		})
	}
}

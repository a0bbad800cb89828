package livedb_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// MustReadSchemaTestdata returns the contents of a file under testdata/schema.
func MustReadSchemaTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "schema", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// MustMarshalSchema returns s.MarshalJSON().
func MustMarshalSchema(t testing.TB, s *livedb.Schema) []byte {
	t.Helper()
	b, err := s.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	return b
}

// MustEqualSchemaJSON fails the test unless want and got are the same JSON value
// (object members in any order).
func MustEqualSchemaJSON(t *testing.T, want, got string) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v\n%s", err, want)
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("got is not JSON: %v\n%s", err, got)
	}
	if !reflect.DeepEqual(w, g) {
		t.Fatalf("JSON differs\nwant %s\n got %s", want, got)
	}
}

// MustNoSchemaError fails the test if err is not nil.
func MustNoSchemaError(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// schemaSortedTablesJSON returns schema JSON with its tables sorted by name, the
// order MarshalJSON writes them in (schema.export() keeps definition order).
func schemaSortedTablesJSON(t *testing.T, b []byte) string {
	t.Helper()
	var doc map[string]any
	MustNoSchemaError(t, json.Unmarshal(b, &doc))
	tables := doc["tables"].([]any)
	slices.SortFunc(tables, func(a, b any) int {
		return strings.Compare(a.(map[string]any)["tableName"].(string), b.(map[string]any)["tableName"].(string))
	})
	out, err := json.Marshal(doc)
	MustNoSchemaError(t, err)
	return string(out)
}

func TestSchema_MarshalJSON_Format(t *testing.T) {
	s := livedb.DefineSchema(livedb.Tables{
		"zeta":  livedb.DefineTable(v.Any()).Index("by_b", "b").Index("by_a_b", "a", "b"),
		"alpha": livedb.DefineTable(v.Object(v.Fields{"s": v.String()})),
	}).WithValidation(false)
	want := `{"tables":[` +
		`{"tableName":"alpha","indexes":[],"stagedDbIndexes":[],"searchIndexes":[],"stagedSearchIndexes":[],"vectorIndexes":[],"stagedVectorIndexes":[],` +
		`"documentType":{"type":"object","value":{"s":{"fieldType":{"type":"string"},"optional":false}}}},` +
		`{"tableName":"zeta","indexes":[{"indexDescriptor":"by_b","fields":["b"]},{"indexDescriptor":"by_a_b","fields":["a","b"]}],` +
		`"stagedDbIndexes":[],"searchIndexes":[],"stagedSearchIndexes":[],"vectorIndexes":[],"stagedVectorIndexes":[],"documentType":{"type":"any"}}` +
		`],"schemaValidation":false}`
	got := MustMarshalSchema(t, s)
	// Object members of a validator may come in any order; everything else
	// is compared byte for byte.
	MustEqualSchemaJSON(t, want, string(got))
	if want := `{"tables":[{"tableName":"alpha","indexes":[],"stagedDbIndexes":[],"searchIndexes":[],"stagedSearchIndexes":[],"vectorIndexes":[],"stagedVectorIndexes":[],"documentType":`; !strings.HasPrefix(string(got), want) {
		t.Errorf("got %s\nwant the prefix %s", got, want)
	}
	if want := `{"tableName":"zeta","indexes":[{"indexDescriptor":"by_b","fields":["b"]},{"indexDescriptor":"by_a_b","fields":["a","b"]}],"stagedDbIndexes":[],"searchIndexes":[],"stagedSearchIndexes":[],"vectorIndexes":[],"stagedVectorIndexes":[],"documentType":{"type":"any"}}],"schemaValidation":false}`; !strings.HasSuffix(string(got), want) {
		t.Errorf("got %s\nwant the suffix %s", got, want)
	}

	empty := MustMarshalSchema(t, livedb.DefineSchema(nil))
	if got, want := string(empty), `{"tables":[],"schemaValidation":true}`; got != want {
		t.Errorf("empty schema = %s, want %s", got, want)
	}
}

func TestSchema_MarshalJSON_NoHTMLEscape(t *testing.T) {
	s := livedb.DefineSchema(livedb.Tables{"t": livedb.DefineTable(v.Object(v.Fields{"op": v.Literal("<&>")}))})
	got := MustMarshalSchema(t, s)
	if !strings.Contains(string(got), `"<&>"`) {
		t.Errorf("got %s, want the literal unescaped", got)
	}
}

func TestSchema_MarshalJSON_InvalidSchema(t *testing.T) {
	s := livedb.DefineSchema(livedb.Tables{"_t": livedb.DefineTable(v.Any())})
	_, err := s.MarshalJSON()
	if !errors.Is(err, livedb.ErrInvalidSchema) || !strings.Contains(fmt.Sprint(err), "_t is a reserved table name.") {
		t.Errorf("MarshalJSON of an invalid schema: err = %v", err)
	}
}

func TestSchemaFromJSON_ConvexExport(t *testing.T) {
	for _, name := range []string{"agent_orchestration.json", "agent_orchestration_full.json"} {
		t.Run(name, func(t *testing.T) {
			in := MustReadSchemaTestdata(t, name)
			s, err := livedb.SchemaFromJSON(in)
			MustNoSchemaError(t, err)
			MustNoSchemaError(t, s.Err())
			if !s.Validation() {
				t.Errorf("Validation() = false")
			}

			out := MustMarshalSchema(t, s)
			MustEqualSchemaJSON(t, schemaSortedTablesJSON(t, in), string(out))

			again, err := livedb.SchemaFromJSON(out)
			MustNoSchemaError(t, err)
			if out2 := MustMarshalSchema(t, again); !bytes.Equal(out, out2) {
				t.Errorf("second round trip differs:\n%s\n%s", out, out2)
			}
		})
	}
}

func TestSchemaFromJSON_MatchesDefineSchema(t *testing.T) {
	fromFile, err := livedb.SchemaFromJSON(MustReadSchemaTestdata(t, "agent_orchestration.json"))
	MustNoSchemaError(t, err)
	if defined, read := MustMarshalSchema(t, designAgentSchema()), MustMarshalSchema(t, fromFile); !bytes.Equal(defined, read) {
		t.Errorf("DefineSchema and SchemaFromJSON differ:\n%s\n%s", defined, read)
	}
	if got := fmt.Sprint(fromFile.TableNames()); got != "[agentSessions workflows]" {
		t.Errorf("TableNames() = %s", got)
	}
	sessions, ok := fromFile.Table("agentSessions")
	if !ok {
		t.Fatal("no agentSessions table")
	}
	want := []livedb.IndexDefinition{
		{Name: "by_workflow", Fields: []string{"workflowId"}},
		{Name: "by_workflow_and_status", Fields: []string{"workflowId", "status"}},
	}
	if got := sessions.Indexes(); !reflect.DeepEqual(got, want) {
		t.Errorf("Indexes() = %v, want %v", got, want)
	}
	workflows, ok := fromFile.Table("workflows")
	if !ok {
		t.Fatal("no workflows table")
	}
	if err := workflows.Validator().Validate(map[string]any{"task": "ship it", "status": "pending"}); err != nil {
		t.Errorf("validator read from JSON rejects a good document: %v", err)
	}
	if err := workflows.Validator().Validate(map[string]any{"task": "ship it", "status": "paused"}); err == nil {
		t.Errorf("validator read from JSON accepts a status outside its union")
	}
}

func TestSchemaFromJSON_StagedIndexes(t *testing.T) {
	s, err := livedb.SchemaFromJSON(MustReadSchemaTestdata(t, "agent_orchestration_full.json"))
	MustNoSchemaError(t, err)
	sessions, _ := s.Table("agentSessions")
	_, ok := sessions.IndexByName("by_session")
	if ok {
		t.Errorf("IndexByName(by_session) ok = true; a staged index is not a user index livedb builds")
	}
	if n := len(sessions.Indexes()); n != 3 {
		t.Errorf("len(Indexes()) = %d, want 3", n)
	}
	if out, want := MustMarshalSchema(t, s), `"stagedDbIndexes":[{"indexDescriptor":"by_session","fields":["sessionId"]}]`; !strings.Contains(string(out), want) {
		t.Errorf("MarshalJSON = %s\nwant it to contain %s", out, want)
	}
}

func TestSchemaFromJSON_Defaults(t *testing.T) {
	tests := []struct {
		name           string
		in             string
		wantValidation bool
		wantDocument   string
	}{
		{"documentType null", `{"tables":[{"tableName":"t","indexes":[],"documentType":null}],"schemaValidation":true}`, true, `{"type":"any"}`},
		{"documentType absent", `{"tables":[{"tableName":"t","indexes":[]}],"schemaValidation":true}`, true, `{"type":"any"}`},
		{"schemaValidation absent", `{"tables":[{"tableName":"t","indexes":[],"documentType":{"type":"any"}}]}`, false, `{"type":"any"}`},
		{"unknown members", `{"tables":[{"tableName":"t","indexes":[],"stagedDocumentType":{"type":"string"},"extra":1,"documentType":{"type":"any"}}],"schemaValidation":true,"future":[1]}`, true, `{"type":"any"}`},
		{"empty search lists", `{"tables":[{"tableName":"t","indexes":[],"searchIndexes":[],"vectorIndexes":null,"documentType":{"type":"any"}}],"schemaValidation":true}`, true, `{"type":"any"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := livedb.SchemaFromJSON([]byte(tc.in))
			MustNoSchemaError(t, err)
			if s.Validation() != tc.wantValidation {
				t.Errorf("Validation() = %v, want %v", s.Validation(), tc.wantValidation)
			}
			tab, ok := s.Table("t")
			if !ok {
				t.Fatal("no table t")
			}
			doc, err := tab.Validator().MarshalJSON()
			MustNoSchemaError(t, err)
			MustEqualSchemaJSON(t, tc.wantDocument, string(doc))
		})
	}
}

func TestSchemaFromJSON_Errors(t *testing.T) {
	table := func(members string) string {
		return `{"tables":[{"tableName":"t",` + members + `}],"schemaValidation":true}`
	}
	tests := []struct {
		name      string
		in        string
		wantTable string
		wantIndex string
		want      string
	}{
		{"empty input", ``, "", "", "invalid schema JSON: unexpected end of JSON input"},
		{"truncated", `{"tables":[`, "", "", "invalid schema JSON"},
		{"not an object", `[]`, "", "", "invalid schema JSON: json: cannot unmarshal array"},
		{"null", `null`, "", "", `missing "tables"`},
		{"no tables", `{}`, "", "", `missing "tables"`},
		{"tables not a list", `{"tables":{}}`, "", "", "invalid schema JSON"},
		{"table not an object", `{"tables":[1]}`, "", "", "invalid schema JSON"},
		{"no tableName", `{"tables":[{"indexes":[]}]}`, "", "", `table 0 has no "tableName"`},
		{"empty tableName", `{"tables":[{"tableName":"","indexes":[]}]}`, "", "", `table 0 has an empty "tableName"`},
		{"tableName not a string", `{"tables":[{"tableName":7,"indexes":[]}]}`, "", "", "invalid schema JSON"},
		{"no indexes", table(`"documentType":{"type":"any"}`), "t", "", `missing "indexes"`},
		{"index without name", table(`"indexes":[{"fields":["a"]}]`), "t", "", `index 0 has no "indexDescriptor"`},
		{"index without fields", table(`"indexes":[{"indexDescriptor":"by_a"}]`), "t", "by_a", `missing "fields"`},
		{"index fields not strings", table(`"indexes":[{"indexDescriptor":"by_a","fields":[1]}]`), "", "", "invalid schema JSON"},
		{"search index without searchField", table(`"indexes":[],"searchIndexes":[{"indexDescriptor":"search_body","filterFields":[]}]`),
			"t", "search_body", `missing "searchField"`},
		{"search index without name", table(`"indexes":[],"searchIndexes":[{"searchField":"body"}]`),
			"t", "", `search index 0 has no "indexDescriptor"`},
		{"staged search index", table(`"indexes":[],"stagedSearchIndexes":[{"indexDescriptor":"s","searchField":"body","filterFields":[]}]`),
			"t", "s", "staged search indexes are not supported by livedb yet"},
		{"vector index of one dimension", table(`"indexes":[],"vectorIndexes":[{"indexDescriptor":"by_embedding","vectorField":"e","dimensions":1,"filterFields":[]}]`),
			"t", "by_embedding", "Dimensions 1 must be between 2 and 4096."},
		{"staged vector index", table(`"indexes":[],"stagedVectorIndexes":[{"indexDescriptor":"e2","vectorField":"e","dimensions":2,"filterFields":[]}]`),
			"t", "e2", "staged vector indexes are not supported by livedb yet"},
		{"unknown validator type", table(`"indexes":[],"documentType":{"type":"nope"}`), "t", "", "invalid documentType"},
		{"documentType not an object", table(`"indexes":[],"documentType":"string"`), "t", "", "invalid documentType"},
		{"documentType a string validator", table(`"indexes":[],"documentType":{"type":"string"}`), "t", "", "Found v.string()."},
		{"duplicate table", `{"tables":[{"tableName":"t","indexes":[]},{"tableName":"t","indexes":[]}]}`, "t", "", `Table "t" is defined twice.`},
		{"reserved table", `{"tables":[{"tableName":"_t","indexes":[]}]}`, "_t", "", "_t is a reserved table name."},
		{"reserved index", table(`"indexes":[{"indexDescriptor":"by_creation_time","fields":["a"]}]`), "t", "by_creation_time", "because the name is reserved"},
		{"staged index with a reserved name", table(`"indexes":[],"stagedDbIndexes":[{"indexDescriptor":"_x","fields":["a"]}]`), "t", "_x", "because the name is reserved"},
		{"staged index same as enabled", table(`"indexes":[{"indexDescriptor":"by_a","fields":["a"]}],"stagedDbIndexes":[{"indexDescriptor":"by_a","fields":["b"]}]`),
			"t", "by_a", `Table "t" has two or more definitions of index "by_a".`},
		{"missing field", table(`"indexes":[{"indexDescriptor":"by_b","fields":["b"]}],"documentType":{"type":"object","value":{"a":{"fieldType":{"type":"string"},"optional":false}}}`),
			"t", "by_b", `references the field "b" that does not exist.`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := livedb.SchemaFromJSON([]byte(tc.in))
			if s != nil {
				t.Errorf("SchemaFromJSON returned a schema with its error")
			}
			MustSchemaError(t, err, tc.wantTable, tc.wantIndex, tc.want)
		})
	}
}

func TestSchemaFromJSON_SyntaxErrorUnwraps(t *testing.T) {
	_, err := livedb.SchemaFromJSON([]byte(`{"tables":`))
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) || !errors.Is(err, livedb.ErrInvalidSchema) {
		t.Errorf("err = %v, want a *json.SyntaxError wrapped with ErrInvalidSchema", err)
	}
}

func FuzzSchemaFromJSON(f *testing.F) {
	for _, name := range []string{"agent_orchestration.json", "agent_orchestration_full.json"} {
		f.Add(MustReadSchemaTestdata(f, name))
	}
	for _, seed := range []string{
		``, `{}`, `{"tables":[]}`, `{"tables":[],"schemaValidation":true}`,
		`{"tables":[{"tableName":"t","indexes":[{"indexDescriptor":"by_a","fields":["a.b"]}],"documentType":null}]}`,
		`{"tables":[{"tableName":"t","indexes":[],"stagedDbIndexes":[{"indexDescriptor":"s","fields":["x"]}],"documentType":{"type":"union","value":[{"type":"object","value":{}}]}}],"schemaValidation":true}`,
		`{"tables":[{"tableName":"t","indexes":[],"documentType":{"type":"record","keys":{"type":"string"},"values":{"fieldType":{"type":"any"},"optional":false}}}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := livedb.SchemaFromJSON(in)
		if err != nil {
			if !errors.Is(err, livedb.ErrInvalidSchema) {
				t.Fatalf("error %v does not wrap ErrInvalidSchema", err)
			}
			return
		}
		if s.Err() != nil {
			t.Fatalf("SchemaFromJSON returned a schema with Err() = %v", s.Err())
		}
		out, err := s.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON of an accepted schema: %v", err)
		}
		again, err := livedb.SchemaFromJSON(out)
		if err != nil {
			t.Fatalf("re-reading %s: %v", out, err)
		}
		out2, err := again.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON of the re-read schema: %v", err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the schema:\n%s\n%s", out, out2)
		}
		if s.Validation() != again.Validation() || !slices.Equal(s.TableNames(), again.TableNames()) {
			t.Fatalf("round trip changed validation or tables")
		}
	})
}

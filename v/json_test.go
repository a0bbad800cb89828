package v_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/livedb-go/livedb/internal/vconform"
	"github.com/livedb-go/livedb/v"
)

func TestValidator_MarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		val  v.Validator
		want string
	}{
		{"null", v.Null(), `{"type":"null"}`},
		{"float64", v.Float64(), `{"type":"number"}`},
		{"number", v.Number(), `{"type":"number"}`},
		{"int64", v.Int64(), `{"type":"bigint"}`},
		{"boolean", v.Boolean(), `{"type":"boolean"}`},
		{"string", v.String(), `{"type":"string"}`},
		{"bytes", v.Bytes(), `{"type":"bytes"}`},
		{"any", v.Any(), `{"type":"any"}`},
		{"id", v.ID("users"), `{"type":"id","tableName":"users"}`},
		{"literal string", v.Literal("a<b>&\"\n"), `{"type":"literal","value":"a<b>&\"\n"}`},
		{"literal unicode", v.Literal("é\u2028"), "{\"type\":\"literal\",\"value\":\"é\u2028\"}"},
		{"literal bool", v.Literal(false), `{"type":"literal","value":false}`},
		{"literal float", v.Literal(1.5), `{"type":"literal","value":1.5}`},
		{"literal go int", v.Literal(3), `{"type":"literal","value":3}`},
		{"literal small float", v.Literal(1e-7), `{"type":"literal","value":1e-7}`},
		{"literal big float", v.Literal(1e21), `{"type":"literal","value":1e+21}`},
		{"literal int64", v.Literal(int64(1)), `{"type":"literal","value":{"$integer":"AQAAAAAAAAA="}}`},
		{"literal int64 -1", v.Literal(int64(-1)), `{"type":"literal","value":{"$integer":"//////////8="}}`},
		{"literal nan", v.Literal(math.Float64frombits(0x7FF8000000000000)), `{"type":"literal","value":{"$float":"AAAAAAAA+H8="}}`},
		{"literal negative zero", v.Literal(negZero), `{"type":"literal","value":{"$float":"AAAAAAAAAIA="}}`},
		{"array", v.Array(v.String()), `{"type":"array","value":{"type":"string"}}`},
		{"object", v.Object(v.Fields{"b": v.Optional(v.Float64()), "a": v.String()}),
			`{"type":"object","value":{"a":{"fieldType":{"type":"string"},"optional":false},"b":{"fieldType":{"type":"number"},"optional":true}}}`},
		{"empty object", v.Object(v.Fields{}), `{"type":"object","value":{}}`},
		{"record", v.Record(v.String(), v.Int64()),
			`{"type":"record","keys":{"type":"string"},"values":{"fieldType":{"type":"bigint"},"optional":false}}`},
		{"union", v.Union(v.Literal("a"), v.Null()), `{"type":"union","value":[{"type":"literal","value":"a"},{"type":"null"}]}`},
		{"empty union", v.Union(), `{"type":"union","value":[]}`},
		{"optional alone", v.Optional(v.String()), `{"type":"string"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.val.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Fatalf("MarshalJSON = %s\nwant          %s", b, tc.want)
			}
			if !json.Valid(b) {
				t.Fatalf("invalid JSON %s", b)
			}
			// encoding/json goes through MarshalJSON too (and escapes HTML
			// characters on top).
			viaJSON, err := json.Marshal(tc.val)
			var x, y any
			if err != nil || json.Unmarshal(viaJSON, &x) != nil || json.Unmarshal(b, &y) != nil || !reflect.DeepEqual(x, y) {
				t.Fatalf("json.Marshal = %s, %v", viaJSON, err)
			}
			if tc.val.IsOptional() {
				return
			}
			back, err := v.FromJSON(b)
			if err != nil {
				t.Fatalf("FromJSON(%s) = %v", b, err)
			}
			again, err := back.MarshalJSON()
			if err != nil || string(again) != tc.want {
				t.Fatalf("round trip = %s, %v", again, err)
			}
			if back.String() != tc.val.String() {
				t.Fatalf("round trip String() = %s, want %s", back.String(), tc.val.String())
			}
		})
	}
}

// agentSchemaJSON is a table's documentType as Convex's schema.export()
// writes it for the agent-session table of the seed note (fields in the order
// JavaScript keeps them).
const agentSchemaJSON = `{
  "type": "object",
  "value": {
    "agentType": {"fieldType": {"type": "string"}, "optional": false},
    "status": {"fieldType": {"type": "union", "value": [
      {"type": "literal", "value": "idle"},
      {"type": "literal", "value": "running"},
      {"type": "literal", "value": "completed"},
      {"type": "literal", "value": "failed"}]}, "optional": false},
    "sessionId": {"fieldType": {"type": "string"}, "optional": true},
    "input": {"fieldType": {"type": "string"}, "optional": false},
    "output": {"fieldType": {"type": "string"}, "optional": true},
    "error": {"fieldType": {"type": "string"}, "optional": true},
    "attempts": {"fieldType": {"type": "bigint"}, "optional": true},
    "tags": {"fieldType": {"type": "array", "value": {"type": "string"}}, "optional": false},
    "scores": {"fieldType": {"type": "record", "keys": {"type": "id", "tableName": "users"},
      "values": {"fieldType": {"type": "number"}, "optional": false}}, "optional": true},
    "metadata": {"fieldType": {"type": "object", "value": {
      "workflowId": {"fieldType": {"type": "id", "tableName": "workflows"}, "optional": false},
      "startedAt": {"fieldType": {"type": "number"}, "optional": false},
      "completedAt": {"fieldType": {"type": "number"}, "optional": true},
      "priority": {"fieldType": {"type": "literal", "value": {"$integer": "AwAAAAAAAAA="}}, "optional": true}
    }}, "optional": true},
    "result": {"fieldType": {"type": "union", "value": [{"type": "bytes"}, {"type": "null"}, {"type": "any"}]}, "optional": true},
    "done": {"fieldType": {"type": "boolean"}, "optional": false}
  }
}`

func agentSchema() *v.ObjectValidator {
	return v.Object(v.Fields{
		"agentType": v.String(),
		"status":    v.Union(v.Literal("idle"), v.Literal("running"), v.Literal("completed"), v.Literal("failed")),
		"sessionId": v.Optional(v.String()),
		"input":     v.String(),
		"output":    v.Optional(v.String()),
		"error":     v.Optional(v.String()),
		"attempts":  v.Optional(v.Int64()),
		"tags":      v.Array(v.String()),
		"scores":    v.Optional(v.Record(v.ID("users"), v.Float64())),
		"metadata": v.Optional(v.Object(v.Fields{
			"workflowId":  v.ID("workflows"),
			"startedAt":   v.Number(),
			"completedAt": v.Optional(v.Number()),
			"priority":    v.Optional(v.Literal(int64(3))),
		})),
		"result": v.Optional(v.Union(v.Bytes(), v.Null(), v.Any())),
		"done":   v.Boolean(),
	})
}

func TestFromJSON_AgentSchema(t *testing.T) {
	parsed, err := v.FromJSON([]byte(agentSchemaJSON))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parsed.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want, err := agentSchema().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("parsed schema marshals to\n%s\nbuilt schema to\n%s", got, want)
	}
	// The same JSON modulo whitespace and key order.
	var a, b any
	if err := json.Unmarshal([]byte(agentSchemaJSON), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("round trip changed the schema:\n%s\n%s", ja, jb)
	}
	if parsed.String() != agentSchema().String() {
		t.Fatalf("String() differs:\n%s\n%s", parsed, agentSchema())
	}
	doc := map[string]any{
		"agentType": "coder", "status": "running", "input": "x", "tags": []any{},
		"metadata": map[string]any{"workflowId": testID(workflowsTable, 1), "startedAt": 1.5e12, "priority": int64(3)},
		"done":     false,
	}
	if _, err := vconform.Conform(parsed, doc, testTableName); err != nil {
		t.Fatalf("Conform = %v", err)
	}
}

func TestFromJSON_Errors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // part of the message
	}{
		{"not json", `{`, "not valid JSON"},
		{"trailing data", `{"type":"string"} x`, "data after"},
		{"not an object", `"string"`, "found a string"},
		{"missing type", `{}`, `missing "type"`},
		{"type not string", `{"type":1}`, `"type" must be a string`},
		{"unknown type", `{"type":"commitTs"}`, `unknown validator type "commitTs"`},
		{"unknown member", `{"type":"string","optional":true}`, `unknown member "optional"`},
		{"id without table", `{"type":"id"}`, `needs "tableName"`},
		{"id bad table", `{"type":"id","tableName":"a-b"}`, "invalid table name"},
		{"id table not string", `{"type":"id","tableName":1}`, `"tableName" must be a string`},
		{"literal null", `{"type":"literal","value":null}`, "a literal must be"},
		{"literal array", `{"type":"literal","value":[1]}`, "a literal must be"},
		{"literal bytes", `{"type":"literal","value":{"$bytes":"AQ=="}}`, "a literal must be"},
		{"literal huge number", `{"type":"literal","value":1e400}`, "out of range for Float64"},
		{"literal bad integer", `{"type":"literal","value":{"$integer":"AQ=="}}`, "expected 8 for $integer"},
		{"literal normal $float", `{"type":"literal","value":{"$float":"AAAAAAAA8D8="}}`, "should be encoded as a number"},
		{"array without value", `{"type":"array"}`, `needs "value"`},
		{"array bad element", `{"type":"array","value":{"type":"nope"}}`, `at [element]: unknown validator type "nope"`},
		{"object value not object", `{"type":"object","value":[]}`, "must be an object"},
		{"object bad key", `{"type":"object","value":{"my-field":{"fieldType":{"type":"string"},"optional":false}}}`, "not a valid identifier"},
		{"object missing optional", `{"type":"object","value":{"a":{"fieldType":{"type":"string"}}}}`, `at .a: missing "optional"`},
		{"object optional not bool", `{"type":"object","value":{"a":{"fieldType":{"type":"string"},"optional":"no"}}}`, `"optional" must be a boolean`},
		{"object field unknown member", `{"type":"object","value":{"a":{"fieldType":{"type":"string"},"optional":false,"x":1}}}`, `unknown member "x"`},
		{"record number keys", `{"type":"record","keys":{"type":"number"},"values":{"fieldType":{"type":"string"},"optional":false}}`, "Records can only have string keys"},
		{"record literal keys", `{"type":"record","keys":{"type":"literal","value":"a"},"values":{"fieldType":{"type":"string"},"optional":false}}`, "Records cannot have string literal keys"},
		{"record optional values", `{"type":"record","keys":{"type":"string"},"values":{"fieldType":{"type":"string"},"optional":true}}`, "Records cannot have optional values"},
		{"record values not field", `{"type":"record","keys":{"type":"string"},"values":{"type":"string"}}`, `missing "fieldType"`},
		{"union not array", `{"type":"union","value":{}}`, "must be an array"},
		{"union bad member", `{"type":"union","value":[{"type":"string"},{"type":"x"}]}`, `at [member 1]: unknown validator type "x"`},
		{"nested path", `{"type":"object","value":{"m":{"fieldType":{"type":"array","value":{"type":"object","value":{"a":{"fieldType":{"type":"bogus"},"optional":false}}}},"optional":false}}}`,
			`at .m[element].a: unknown validator type "bogus"`},
		{"too deep", strings.Repeat(`{"type":"array","value":`, 200) + `{"type":"string"}` + strings.Repeat(`}`, 200), "nested more than 128"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			val, err := v.FromJSON([]byte(tc.in))
			if err == nil {
				t.Fatalf("FromJSON = %v, want an error", val)
			}
			if !errors.Is(err, v.ErrInvalidValidator) {
				t.Fatalf("error %v does not match ErrInvalidValidator", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestFromJSON_Legacy(t *testing.T) {
	for _, in := range []string{`{"type":"map","keys":{"type":"string"},"values":{"type":"string"}}`, `{"type":"set","value":{"type":"string"}}`} {
		val, err := v.FromJSON([]byte(in))
		if err != nil || val.Kind() != "any" {
			t.Fatalf("FromJSON(%s) = %v, %v, want v.any()", in, val, err)
		}
	}
}

func TestFromJSON_Literals(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{`"x"`, "x"},
		{`true`, true},
		{`1`, 1.0},
		{`-2.5e3`, -2500.0},
		{`{"$integer":"//////////8="}`, int64(-1)},
		{`{"$float":"AAAAAAAA8H8="}`, math.Inf(1)},
		{`{"$float":"AAAAAAAAAIA="}`, negZero},
	}
	for _, tc := range tests {
		val, err := v.FromJSON([]byte(`{"type":"literal","value":` + tc.in + `}`))
		if err != nil {
			t.Fatalf("FromJSON(%s) = %v", tc.in, err)
		}
		lit, ok := val.(*v.LiteralValidator)
		if !ok || !sameValue(lit.Value(), tc.want) {
			t.Fatalf("FromJSON(%s) = %#v, want literal %#v", tc.in, val, tc.want)
		}
	}
}

func FuzzFromJSON(f *testing.F) {
	seeds := []string{
		agentSchemaJSON,
		`{"type":"string"}`, `{"type":"id","tableName":"users"}`,
		`{"type":"literal","value":{"$integer":"AQAAAAAAAAA="}}`,
		`{"type":"literal","value":{"$float":"AAAAAAAA+H8="}}`,
		`{"type":"literal","value":-0.5}`,
		`{"type":"record","keys":{"type":"union","value":[{"type":"string"},{"type":"id","tableName":"t"}]},"values":{"fieldType":{"type":"any"},"optional":false}}`,
		`{"type":"union","value":[]}`, `{"type":"map"}`, `null`, `[]`, `{"type":"object","value":{"_a":{"fieldType":{"type":"null"},"optional":true}}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		val, err := v.FromJSON(in)
		if err != nil {
			if !errors.Is(err, v.ErrInvalidValidator) {
				t.Fatalf("error %v does not match ErrInvalidValidator", err)
			}
			return
		}
		if v.Err(val) != nil {
			t.Fatalf("FromJSON returned a broken validator: %v", v.Err(val))
		}
		out, err := val.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON of a parsed validator: %v", err)
		}
		back, err := v.FromJSON(out)
		if err != nil {
			t.Fatalf("FromJSON(MarshalJSON()) = %v for %s", err, out)
		}
		again, err := back.MarshalJSON()
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("second round trip differs:\n%s\n%s (%v)", out, again, err)
		}
		if back.String() != val.String() {
			t.Fatalf("String() differs after round trip: %s vs %s", val, back)
		}
		if !v.IsSubset(val, back) || !v.IsSubset(back, val) {
			t.Fatalf("a validator is not a subset of its round trip: %s", out)
		}
		// Validation must never panic, whatever the validator.
		_ = val.Validate(map[string]any{"a": []any{int64(1), "x", nil}})
		_ = val.Validate("j57000820c20a1g7104gm2rc1m70ynr8")
		_ = v.HasFieldPath(val, []string{"a", "b"})
	})
}

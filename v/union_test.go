package v_test

import (
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/internal/vconform"
	"github.com/livedb-go/livedb/v"
)

func TestUnion_Conform(t *testing.T) {
	status := v.Union(v.Literal("pending"), v.Literal("running"), v.Literal("done"))
	runAcceptCases(t, []acceptCase{
		{name: "first member", val: status, in: "pending", ok: true, want: "pending"},
		{name: "last member", val: status, in: "done", ok: true, want: "done"},
		{name: "no member", val: status, in: "failed", reason: v.ReasonNoMatch},
		{name: "empty union rejects all", val: v.Union(), in: nil, reason: v.ReasonNoMatch},
		{name: "one member reports its error", val: v.Union(v.Literal("a")), in: "b", reason: v.ReasonLiteral},
		{name: "int64 first", val: v.Union(v.Int64(), v.Float64()), in: 1, ok: true, want: int64(1)},
		{name: "float64 first", val: v.Union(v.Float64(), v.Int64()), in: 1, ok: true, want: 1.0},
		{name: "nullable null", val: v.Nullable(v.String()), in: nil, ok: true, want: nil},
		{name: "nullable string", val: v.Nullable(v.String()), in: "x", ok: true, want: "x"},
		{name: "nullable other", val: v.Nullable(v.String()), in: 1.0, reason: v.ReasonNoMatch},
		{name: "union of objects", val: v.Union(
			v.Object(v.Fields{"kind": v.Literal("a"), "x": v.Float64()}),
			v.Object(v.Fields{"kind": v.Literal("b"), "y": v.String()}),
		), in: map[string]any{"kind": "b", "y": "s"}, ok: true, want: map[string]any{"kind": "b", "y": "s"}},
		{name: "nested union", val: v.Union(v.Union(v.Null(), v.Boolean()), v.String()), in: true, ok: true, want: true},
		{name: "id member checks table", val: v.Union(v.ID("users"), v.Null()), in: testID(workflowsTable, 1), reason: v.ReasonNoMatch},
	})
}

func TestUnion_ErrorMessage(t *testing.T) {
	val := v.Object(v.Fields{"status": v.Union(v.Literal("pending"), v.Literal("done"))})
	err := val.Validate(map[string]any{"status": "failed"})
	want := "Value does not match validator.\nPath: .status\nValue: \"failed\"\nValidator: v.union(v.literal(\"pending\"), v.literal(\"done\"))"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
	// A one-member union reports the member's error at the same path.
	err = v.Object(v.Fields{"s": v.Union(v.Literal("a"))}).Validate(map[string]any{"s": "b"})
	want = "`\"b\"` does not match literal validator `v.literal(\"a\")`.Path: .s"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
}

func TestUnion_Members(t *testing.T) {
	u := v.Union(v.String(), v.Null())
	ms := u.Members()
	if len(ms) != 2 || ms[0].Kind() != "string" || ms[1].Kind() != "null" {
		t.Fatalf("Members() = %v", ms)
	}
	ms[0] = v.Int64()
	if u.Members()[0].Kind() != "string" {
		t.Fatal("Members() exposed the union's slice")
	}
}

func TestRecord_Conform(t *testing.T) {
	scores := v.Record(v.String(), v.Float64())
	byUser := v.Record(v.ID("users"), v.Boolean())
	user := testID(usersTable, 7)
	runAcceptCases(t, []acceptCase{
		{name: "empty", val: scores, in: map[string]any{}, ok: true, want: map[string]any{}},
		{name: "entries", val: scores, in: map[string]any{"ann": 1, "bob": 2.5}, ok: true, want: map[string]any{"ann": 1.0, "bob": 2.5}},
		{name: "undefined value is absent", val: scores, in: map[string]any{"ann": value.Undefined}, ok: true, want: map[string]any{}},
		{name: "bad value", val: scores, in: map[string]any{"ann": "x"}, reason: v.ReasonNoMatch},
		{name: "not an object", val: scores, in: []any{}, reason: v.ReasonNoMatch},
		{name: "id keys", val: byUser, in: map[string]any{user: true}, ok: true, want: map[string]any{user: true}},
		{name: "id keys other table", val: byUser, in: map[string]any{testID(workflowsTable, 1): true}, reason: v.ReasonTableMismatch},
		{name: "id keys not ids", val: byUser, in: map[string]any{"ann": true}, reason: v.ReasonNoMatch},
		{name: "union keys", val: v.Record(v.Union(v.ID("users"), v.String()), v.Null()), in: map[string]any{"x": nil}, ok: true, want: map[string]any{"x": nil}},
		{name: "never keys", val: v.Record(v.Union(), v.Null()), in: map[string]any{}, ok: true, want: map[string]any{}},
	})
}

func TestRecord_ErrorPaths(t *testing.T) {
	val := v.Object(v.Fields{"scores": v.Record(v.ID("users"), v.Float64())})
	user := testID(usersTable, 7)
	tests := []struct {
		name string
		in   map[string]any
		want string
	}{
		{"bad key", map[string]any{"ann": 1.0},
			"Value does not match validator.\nPath: .scores.keys()\nValue: \"ann\"\nValidator: v.id(\"users\")"},
		{"bad value", map[string]any{user: int64(1)},
			"Value does not match validator.\nPath: .scores.values()\nValue: 1\nValidator: v.float64()"},
		// Several failing entries: the smallest key's failure, as Convex
		// iterates a sorted map.
		{"first in key order", map[string]any{"zed": 1.0, "amy": 1.0, "kim": 1.0, user: int64(2)},
			"Value does not match validator.\nPath: .scores.keys()\nValue: \"amy\"\nValidator: v.id(\"users\")"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 5 { // map order varies from run to run
				err := val.Validate(map[string]any{"scores": tc.in})
				if err == nil || err.Error() != tc.want {
					t.Fatalf("error = %v\nwant    %s", err, tc.want)
				}
			}
		})
	}
}

func TestRecord_DefinitionErrors(t *testing.T) {
	tests := []struct {
		name   string
		val    v.Validator
		reason string
	}{
		{"optional keys", v.Record(v.Optional(v.String()), v.String()), "Record validator cannot have optional keys"},
		{"optional values", v.Record(v.String(), v.Optional(v.String())), "Records cannot have optional values"},
		{"number keys", v.Record(v.Float64(), v.String()), "Records can only have string keys. Your validator contains a record with key typed as `v.float64()`, which is not a subtype of `v.string()`"},
		{"any keys", v.Record(v.Any(), v.String()), "Records can only have string keys. Your validator contains a record with key typed as `v.any()`, which is not a subtype of `v.string()`"},
		{"literal keys", v.Record(v.Literal("a"), v.String()), "Records cannot have string literal keys"},
		{"union with literal keys", v.Record(v.Union(v.String(), v.Literal("a")), v.String()), "Records cannot have string literal keys"},
		{"union with number keys", v.Record(v.Union(v.String(), v.Int64()), v.String()), "Records can only have string keys. Your validator contains a record with key typed as `v.union(v.string(), v.int64())`, which is not a subtype of `v.string()`"},
		{"nil keys", v.Record(nil, v.String()), "v.Record: the key validator is nil"},
		{"nil values", v.Record(v.String(), nil), "v.Record: the value validator is nil"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var de *v.DefinitionError
			if err := v.Err(tc.val); !errors.As(err, &de) || de.Reason != tc.reason {
				t.Fatalf("Err = %v, want reason %q", err, tc.reason)
			}
		})
	}
}

func TestOptional_Standalone(t *testing.T) {
	o := v.Optional(v.String())
	if v.Optional(o) != o {
		t.Fatal("Optional(Optional(x)) is not Optional(x)")
	}
	if o.Inner().Kind() != "string" {
		t.Fatalf("Inner() = %v", o.Inner())
	}
	if err := o.Validate(value.Undefined); err != nil {
		t.Fatalf("Validate(Undefined) = %v", err)
	}
	got, err := vconform.Conform(o, value.Undefined, nil)
	if err != nil || !value.IsUndefined(got) {
		t.Fatalf("Conform(Undefined) = %v, %v", got, err)
	}
	if err := o.Validate(nil); err == nil {
		t.Fatal("Validate(nil) = nil: optional must not allow null")
	}
	if err := o.Validate("x"); err != nil {
		t.Fatalf("Validate(x) = %v", err)
	}
}

// external is a validator implemented outside the package: it accepts the
// string "ok".
type external struct{}

func (external) Validate(x any) error {
	if x == "ok" {
		return nil
	}
	return errors.New("not ok")
}
func (external) MarshalJSON() ([]byte, error) { return []byte(`{ "type": "string" }`), nil }
func (external) String() string               { return "external()" }
func (external) IsOptional() bool             { return false }
func (external) Kind() string                 { return "string" }

func TestExternalValidator(t *testing.T) {
	val := v.Object(v.Fields{"a": v.Array(external{})})
	if err := val.Validate(map[string]any{"a": []any{"ok"}}); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	err := val.Validate(map[string]any{"a": []any{"ok", "bad"}})
	ve := MustValidationError(t, err)
	if ve.Path != ".a[1]" || ve.Err == nil || ve.Err.Error() != "not ok" {
		t.Fatalf("error = %+v", ve)
	}
	b, err := val.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"object","value":{"a":{"fieldType":{"type":"array","value":{"type":"string"}},"optional":false}}}`
	if string(b) != want {
		t.Fatalf("MarshalJSON = %s, want %s", b, want)
	}
	if v.Err(external{}) != nil {
		t.Fatal("Err(external) != nil")
	}
	if v.IsSubset(external{}, v.String()) || !v.IsSubset(external{}, v.Any()) {
		t.Fatal("IsSubset of an external validator is not conservative")
	}
}

// anyExternal is a validator implemented outside the package that accepts
// every value.
type anyExternal struct{ external }

func (anyExternal) Validate(any) error { return nil }

func TestExternalValidator_Conform(t *testing.T) {
	// The engine stores what an external validator accepts in canonical
	// form, as value.Normalize makes it: the validator cannot say which
	// number type it expects, so a Go int is an Int64.
	val := v.Object(v.Fields{"a": anyExternal{}, "b": v.Optional(anyExternal{})})
	got, err := vconform.Conform(val, map[string]any{"a": []string{"x"}, "b": 1}, nil)
	if err != nil {
		t.Fatalf("Conform = %v", err)
	}
	want := map[string]any{"a": []any{"x"}, "b": int64(1)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Conform = %#v, want %#v", got, want)
	}
	// A value that is not a Convex value is refused at its path, even
	// though the validator accepts it.
	_, err = vconform.Conform(val, map[string]any{"a": make(chan int)}, nil)
	ve := MustValidationError(t, err)
	if ve.Path != ".a" || ve.Reason != v.ReasonInvalidValue {
		t.Fatalf("error = %+v, want ReasonInvalidValue at .a", ve)
	}
}

func TestAccessors(t *testing.T) {
	r := v.Record(v.ID("users"), v.Float64())
	if r.Keys().Kind() != "id" || r.Values().Kind() != "number" {
		t.Fatalf("Record accessors: %v, %v", r.Keys(), r.Values())
	}
	if v.ID("users").Table() != "users" {
		t.Fatal("ID.Table")
	}
	if v.Array(v.Bytes()).Element().Kind() != "bytes" {
		t.Fatal("Array.Element")
	}
	if got := v.Literal(int64(4)).Value(); got != int64(4) {
		t.Fatalf("Literal.Value = %#v", got)
	}
	if v.ReasonMissingField.String() != "MissingRequiredField" || v.Reason(200).String() != "Reason(200)" {
		t.Fatal("Reason.String")
	}
}

func TestErrors_Unwrap(t *testing.T) {
	err := v.String().Validate("\xff")
	var nv *value.NotValueError
	if !errors.As(err, &nv) || nv.Reason != "string is not valid UTF-8" {
		t.Fatalf("Validate error %v does not unwrap to a NotValueError", err)
	}
	_, err = v.FromJSON([]byte(`{"type":`))
	var se *json.SyntaxError
	if !errors.As(err, &se) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("FromJSON error %v does not unwrap to the JSON error", err)
	}
}

func TestUnion_ObjectMembersTriedQuietly(t *testing.T) {
	u := v.Union(
		v.Object(v.Fields{"a": v.String(), "b": v.String()}),
		v.Object(v.Fields{"a": v.String()}),
	)
	got, err := vconform.Conform(u, map[string]any{"a": "x"}, nil)
	if err != nil || !reflect.DeepEqual(got, map[string]any{"a": "x"}) {
		t.Fatalf("Conform = %v, %v", got, err)
	}
	err = u.Validate(map[string]any{"c": 1.0})
	want := "Value does not match validator.\n\nValue: {c: 1.0}\nValidator: v.union(v.object({a: v.string(), b: v.string()}), v.object({a: v.string()}))"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
	if err := v.Union(v.String(), v.Null()).Validate("\xff"); MustValidationError(t, err).Reason != v.ReasonNoMatch {
		t.Fatalf("invalid value in a union: %v", err)
	}
	if err := v.Union(v.Array(external{}), v.Null()).Validate([]any{"bad"}); MustValidationError(t, err).Reason != v.ReasonNoMatch {
		t.Fatalf("external in a union: %v", err)
	}
}

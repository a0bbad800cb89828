package v_test

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/internal/vconform"
	"github.com/livedb-go/livedb/v"
)

func TestObject_Conform(t *testing.T) {
	obj := v.Object(v.Fields{
		"a": v.String(),
		"b": v.Optional(v.Float64()),
	})
	runAcceptCases(t, []acceptCase{
		{name: "all fields", val: obj, in: map[string]any{"a": "x", "b": 2}, ok: true, want: map[string]any{"a": "x", "b": 2.0}},
		{name: "optional absent", val: obj, in: map[string]any{"a": "x"}, ok: true, want: map[string]any{"a": "x"}},
		{name: "optional undefined", val: obj, in: map[string]any{"a": "x", "b": value.Undefined}, ok: true, want: map[string]any{"a": "x"}},
		{name: "optional null", val: obj, in: map[string]any{"a": "x", "b": nil}, reason: v.ReasonNoMatch},
		{name: "required missing", val: obj, in: map[string]any{"b": 1.0}, reason: v.ReasonMissingField},
		{name: "required undefined", val: obj, in: map[string]any{"a": value.Undefined}, reason: v.ReasonMissingField},
		{name: "extra field", val: obj, in: map[string]any{"a": "x", "c": 1.0}, reason: v.ReasonExtraField},
		{name: "extra undefined is absent", val: obj, in: map[string]any{"a": "x", "c": value.Undefined}, ok: true, want: map[string]any{"a": "x"}},
		{name: "not an object", val: obj, in: []any{}, reason: v.ReasonNoMatch},
		{name: "string map", val: v.Object(v.Fields{"k": v.String()}), in: map[string]string{"k": "v"}, ok: true, want: map[string]any{"k": "v"}},
		{name: "slice of maps keeps go ints", val: v.Array(v.Object(v.Fields{"x": v.Float64()})), in: []map[string]any{{"x": 1}},
			ok: true, want: []any{map[string]any{"x": 1.0}}},
		{name: "empty object", val: v.Object(v.Fields{}), in: map[string]any{}, ok: true, want: map[string]any{}},
		{name: "nil map", val: v.Object(v.Fields{}), in: map[string]any(nil), ok: true, want: map[string]any{}},
	})
}

func TestObject_Validate_ErrorMessages(t *testing.T) {
	message := v.Object(v.Fields{"author": v.String(), "body": v.String()})
	thread := v.Object(v.Fields{"messages": v.Array(message)})
	msgs := func(last map[string]any) map[string]any {
		list := []any{}
		for range 3 {
			list = append(list, map[string]any{"author": "ann", "body": "hi"})
		}
		return map[string]any{"messages": append(list, last)}
	}
	tests := []struct {
		name string
		val  v.Validator
		in   any
		want string
		path string
	}{
		{
			name: "nested wrong type",
			val:  thread,
			in:   msgs(map[string]any{"author": int64(1), "body": "hi"}),
			want: "Value does not match validator.\nPath: .messages[3].author\nValue: 1\nValidator: v.string()",
			path: ".messages[3].author",
		},
		{
			name: "nested missing field",
			val:  thread,
			in:   msgs(map[string]any{"body": "hi"}),
			want: "Object is missing the required field `author`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\nPath: .messages[3]\nObject: {body: \"hi\"}\nValidator: v.object({author: v.string(), body: v.string()})",
			path: ".messages[3]",
		},
		{
			name: "top-level extra field",
			val:  v.Object(v.Fields{"a": v.String()}),
			in:   map[string]any{"a": "s", "z": 1.0, "x": 1.0},
			want: "Object contains extra field `x` that is not in the validator.\n\nObject: {a: \"s\", x: 1.0, z: 1.0}\nValidator: v.object({a: v.string()})",
		},
		{
			name: "top-level wrong type",
			val:  v.Float64(),
			in:   int64(5),
			want: "Value does not match validator.\n\nValue: 5\nValidator: v.float64()",
		},
		{
			name: "first field in sorted order",
			val:  v.Object(v.Fields{"b": v.String(), "a": v.String()}),
			in:   map[string]any{"a": 1.0, "b": 2.0},
			want: "Value does not match validator.\nPath: .a\nValue: 1.0\nValidator: v.string()",
			path: ".a",
		},
		{
			name: "field error before missing field",
			val:  v.Object(v.Fields{"b": v.String(), "a": v.String()}),
			in:   map[string]any{"a": 1.0},
			want: "Value does not match validator.\nPath: .a\nValue: 1.0\nValidator: v.string()",
			path: ".a",
		},
		{
			name: "missing before extra",
			val:  v.Object(v.Fields{"a": v.String()}),
			in:   map[string]any{"b": 1.0},
			want: "Object is missing the required field `a`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\n\nObject: {b: 1.0}\nValidator: v.object({a: v.string()})",
		},
		{
			name: "optional is not nullable",
			val:  v.Object(v.Fields{"out": v.Optional(v.String())}),
			in:   map[string]any{"out": nil},
			want: "Value does not match validator.\nPath: .out\nValue: null\nValidator: v.string()",
			path: ".out",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.val.Validate(tc.in)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v\nwant    %s", err, tc.want)
			}
			if ve := MustValidationError(t, err); ve.Path != tc.path {
				t.Fatalf("Path = %q, want %q", ve.Path, tc.path)
			}
			_, cerr := vconform.Conform(tc.val, tc.in, nil)
			if cerr == nil || cerr.Error() != tc.want {
				t.Fatalf("Conform error = %v\nwant            %s", cerr, tc.want)
			}
		})
	}
}

func TestObject_Validate_DeepPath(t *testing.T) {
	// Deeper than the checker's fixed path stack.
	val := v.Validator(v.String())
	in := any(1.0)
	want := ""
	for i := range 20 {
		if i%2 == 0 {
			val = v.Array(val)
			in = []any{in}
			want = "[0]" + want
		} else {
			val = v.Object(v.Fields{"f": val})
			in = map[string]any{"f": in}
			want = ".f" + want
		}
	}
	ve := MustValidationError(t, val.Validate(in))
	if ve.Path != want {
		t.Fatalf("Path = %q, want %q", ve.Path, want)
	}
}

func TestObject_Helpers(t *testing.T) {
	base := v.Object(v.Fields{"a": v.String(), "b": v.Optional(v.Float64()), "c": v.Boolean()})
	tests := []struct {
		name string
		got  *v.ObjectValidator
		want string
	}{
		{"extend", base.Extend(v.Fields{"d": v.Int64(), "a": v.Float64()}), "v.object({a: v.float64(), b: v.optional(v.float64()), c: v.boolean(), d: v.int64()})"},
		{"pick", base.Pick("a", "c"), "v.object({a: v.string(), c: v.boolean()})"},
		{"omit", base.Omit("a"), "v.object({b: v.optional(v.float64()), c: v.boolean()})"},
		{"partial", base.Partial(), "v.object({a: v.optional(v.string()), b: v.optional(v.float64()), c: v.optional(v.boolean())})"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := v.Err(tc.got); err != nil {
				t.Fatal(err)
			}
			if s := tc.got.String(); s != tc.want {
				t.Fatalf("got %s, want %s", s, tc.want)
			}
		})
	}
	if s := base.String(); s != "v.object({a: v.string(), b: v.optional(v.float64()), c: v.boolean()})" {
		t.Fatalf("helpers modified the receiver: %s", s)
	}
	fields := base.Fields()
	if got := slices.Sorted(maps.Keys(fields)); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("Fields() keys = %v", got)
	}
	if !fields["b"].IsOptional() {
		t.Fatal("Fields()[b] lost its optional wrapper")
	}
	delete(fields, "a")
	if _, ok := base.Field("a"); !ok {
		t.Fatal("modifying Fields() changed the validator")
	}
	if f, ok := base.Field("b"); !ok || f.String() != "v.optional(v.float64())" {
		t.Fatalf("Field(b) = %v, %v", f, ok)
	}
	if _, ok := base.Field("zz"); ok {
		t.Fatal("Field(zz) found")
	}
}

func TestObject_DefinitionErrors(t *testing.T) {
	good := v.Object(v.Fields{"a": v.String()})
	tests := []struct {
		name     string
		val      v.Validator
		wantPath string
	}{
		{"field name not identifier", v.Object(v.Fields{"my-field": v.String()}), ""},
		{"field name starts with digit", v.Object(v.Fields{"1a": v.String()}), ""},
		{"field name only underscores", v.Object(v.Fields{"__": v.String()}), ""},
		{"field name too long", v.Object(v.Fields{string(make([]byte, 65)): v.String()}), ""},
		{"nil field", v.Object(v.Fields{"a": nil}), ".a"},
		{"optional nil", v.Object(v.Fields{"a": v.Optional(nil)}), ".a"},
		{"nested mistake", v.Object(v.Fields{"a": v.Array(v.Record(v.Float64(), v.String()))}), ".a[element]"},
		{"pick unknown", good.Pick("zz"), ""},
		{"omit unknown", good.Omit("zz"), ""},
		{"extend keeps mistake", v.Object(v.Fields{"a": nil}).Extend(v.Fields{"b": v.String()}), ".a"},
		{"extend with bad field", good.Extend(v.Fields{"b": v.Literal(struct{}{})}), ".b"},
		{"partial keeps mistake", good.Pick("zz").Partial(), ""},
		{"array nil", v.Array(nil), ""},
		{"array optional", v.Array(v.Optional(v.String())), "[element]"},
		{"union nil member", v.Union(v.String(), nil), "[member 1]"},
		{"union optional member", v.Union(v.Optional(v.String())), "[member 0]"},
		{"nullable optional", v.Nullable(v.Optional(v.String())), "[member 0]"},
		{"optional nil", v.Optional(nil), ""},
		{"id bad table", v.ID("my table"), ""},
		{"id empty table", v.ID(""), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Err(tc.val)
			if err == nil {
				t.Fatal("Err = nil, want a definition error")
			}
			if !errors.Is(err, v.ErrInvalidValidator) {
				t.Fatalf("Err = %v, does not match ErrInvalidValidator", err)
			}
			var de *v.DefinitionError
			if !errors.As(err, &de) || de.Path != tc.wantPath {
				t.Fatalf("Err = %v (path %q), want path %q", err, de.Path, tc.wantPath)
			}
			if verr := tc.val.Validate(map[string]any{}); !errors.Is(verr, v.ErrInvalidValidator) {
				t.Fatalf("Validate = %v, want the definition error", verr)
			}
			if _, cerr := vconform.Conform(tc.val, map[string]any{}, nil); !errors.Is(cerr, v.ErrInvalidValidator) {
				t.Fatalf("Conform = %v, want the definition error", cerr)
			}
			// Printing a broken validator must not panic.
			_ = tc.val.String()
			_ = tc.val.Kind()
		})
	}
	if err := v.Err(nil); !errors.Is(err, v.ErrInvalidValidator) {
		t.Fatalf("Err(nil) = %v", err)
	}
	if err := v.Err(good); err != nil {
		t.Fatalf("Err(good) = %v", err)
	}
}

func TestObject_DefinitionErrorMessage(t *testing.T) {
	err := v.Err(v.Object(v.Fields{"scores": v.Record(v.String(), v.Optional(v.Float64()))}))
	want := "livedb: invalid validator at .scores: Records cannot have optional values"
	if err == nil || err.Error() != want {
		t.Fatalf("Err = %v, want %s", err, want)
	}
}

func TestObject_Conform_Canonical(t *testing.T) {
	doc := map[string]any{
		"agentType": "coder", "status": "running", "input": "x",
		"tags":     []string{"a", "b"},
		"attempts": 3,
		"scores":   map[string]any{testID(usersTable, 1): 2},
		"metadata": map[string]any{"workflowId": value.ID(testID(workflowsTable, 1)), "startedAt": 17, "priority": 3, "completedAt": value.Undefined},
		"result":   []any{1, map[string]string{"k": "v"}},
		"done":     false,
		"output":   value.Undefined,
	}
	got, err := vconform.Conform(agentSchema(), doc, testTableName)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"agentType": "coder", "status": "running", "input": "x",
		"tags":     []any{"a", "b"},
		"attempts": int64(3),
		"scores":   map[string]any{testID(usersTable, 1): 2.0},
		"metadata": map[string]any{"workflowId": testID(workflowsTable, 1), "startedAt": 17.0, "priority": int64(3)},
		"result":   []any{int64(1), map[string]any{"k": "v"}},
		"done":     false,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Conform =\n%#v\nwant\n%#v", got, want)
	}
	if err := agentSchema().Validate(got); err != nil {
		t.Fatalf("the conformed value does not validate: %v", err)
	}
	if n, err := value.Normalize(got); err != nil || !reflect.DeepEqual(n, got) {
		t.Fatalf("the conformed value is not canonical: %v", err)
	}
}

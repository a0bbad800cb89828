package v_test

import (
	"strings"
	"testing"

	"github.com/livedb-go/livedb/v"
)

func TestIsSubset(t *testing.T) {
	obj := func(f v.Fields) v.Validator { return v.Object(f) }
	tests := []struct {
		name     string
		old, new v.Validator
		want     bool
	}{
		{"same scalar", v.String(), v.String(), true},
		{"different scalars", v.String(), v.Float64(), false},
		{"int64 not float64", v.Int64(), v.Float64(), false},
		{"anything in any", obj(v.Fields{"a": v.String()}), v.Any(), true},
		{"any in string", v.Any(), v.String(), false},
		{"literal in base", v.Literal("a"), v.String(), true},
		{"float literal in float64", v.Literal(1.0), v.Float64(), true},
		{"float literal not in int64", v.Literal(1.0), v.Int64(), false},
		{"int64 literal in int64", v.Literal(int64(1)), v.Int64(), true},
		{"bool literal in boolean", v.Literal(true), v.Boolean(), true},
		{"same literal", v.Literal("a"), v.Literal("a"), true},
		{"other literal", v.Literal("a"), v.Literal("b"), false},
		{"float literal vs int64 literal", v.Literal(1.0), v.Literal(int64(1)), false},
		{"string not in literal", v.String(), v.Literal("a"), false},
		{"id in string", v.ID("users"), v.String(), true},
		{"id same table", v.ID("users"), v.ID("users"), true},
		{"id other table", v.ID("users"), v.ID("teams"), false},
		{"string not in id", v.String(), v.ID("users"), false},
		{"array elementwise", v.Array(v.Literal("a")), v.Array(v.String()), true},
		{"array wider element", v.Array(v.String()), v.Array(v.Literal("a")), false},
		{"record elementwise", v.Record(v.ID("users"), v.Literal(1.0)), v.Record(v.String(), v.Float64()), true},
		{"record narrower values", v.Record(v.String(), v.Float64()), v.Record(v.String(), v.Literal(1.0)), false},
		{"member in union", v.String(), v.Nullable(v.String()), true},
		{"union in superset union", v.Union(v.Literal("a"), v.Null()), v.Union(v.Null(), v.String(), v.Int64()), true},
		{"union not covered", v.Union(v.String(), v.Int64()), v.Nullable(v.String()), false},
		{"empty union in anything", v.Union(), v.Null(), true},
		{"nothing in empty union", v.Null(), v.Union(), false},
		{"boolean in true|false", v.Boolean(), v.Union(v.Literal(false), v.Literal(true)), true},
		{"boolean not in true", v.Boolean(), v.Union(v.Literal(true), v.Null()), false},
		{"literal added to union", v.Union(v.Literal("a"), v.Literal("b")), v.Union(v.Literal("a"), v.Literal("b"), v.Literal("c")), true},
		{"literal removed from union", v.Union(v.Literal("a"), v.Literal("b")), v.Union(v.Literal("a")), false},
		{"object same", obj(v.Fields{"a": v.String()}), obj(v.Fields{"a": v.String()}), true},
		{"object field disappears", obj(v.Fields{"a": v.String(), "b": v.String()}), obj(v.Fields{"a": v.String()}), false},
		{"object new optional field", obj(v.Fields{"a": v.String()}), obj(v.Fields{"a": v.String(), "b": v.Optional(v.String())}), true},
		{"object new required field", obj(v.Fields{"a": v.String()}), obj(v.Fields{"a": v.String(), "b": v.String()}), false},
		{"object required to optional", obj(v.Fields{"a": v.String()}), obj(v.Fields{"a": v.Optional(v.String())}), true},
		{"object optional to required", obj(v.Fields{"a": v.Optional(v.String())}), obj(v.Fields{"a": v.String()}), false},
		{"object field widened", obj(v.Fields{"s": v.Literal("x")}), obj(v.Fields{"s": v.String()}), true},
		{"object field narrowed", obj(v.Fields{"s": v.String()}), obj(v.Fields{"s": v.Literal("x")}), false},
		{"object field nullable", obj(v.Fields{"s": v.String()}), obj(v.Fields{"s": v.Nullable(v.String())}), true},
		{"object in union with superset member", obj(v.Fields{"a": v.String()}),
			v.Union(obj(v.Fields{"b": v.Int64()}), obj(v.Fields{"a": v.String(), "c": v.Optional(v.Null())})), true},
		{"object not in union", obj(v.Fields{"a": v.String()}), v.Union(obj(v.Fields{"b": v.Int64()})), false},
		{"nested object", obj(v.Fields{"m": obj(v.Fields{"x": v.Float64()})}),
			obj(v.Fields{"m": obj(v.Fields{"x": v.Float64(), "y": v.Optional(v.Float64())})}), true},
		{"object vs record", obj(v.Fields{"a": v.String()}), v.Record(v.String(), v.String()), false},
		{"optional in required", v.Optional(v.String()), v.String(), false},
		{"required in optional", v.String(), v.Optional(v.String()), true},
		{"broken old", v.Record(v.Float64(), v.String()), v.Any(), false},
		{"broken new", v.String(), v.Union(nil), false},
		{"nil", nil, v.Any(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := v.IsSubset(tc.old, tc.new); got != tc.want {
				t.Fatalf("IsSubset(%v, %v) = %v, want %v", tc.old, tc.new, got, tc.want)
			}
		})
	}
}

func TestHasFieldPath(t *testing.T) {
	doc := v.Object(v.Fields{
		"status":   v.String(),
		"meta":     v.Optional(v.Object(v.Fields{"workflowId": v.ID("workflows"), "inner": v.Object(v.Fields{"x": v.Float64()})})),
		"tags":     v.Array(v.Object(v.Fields{"name": v.String()})),
		"anything": v.Any(),
		"scores":   v.Record(v.String(), v.Object(v.Fields{"best": v.Float64()})),
		"byUser":   v.Record(v.ID("users"), v.Float64()),
		"either":   v.Union(v.Null(), v.Object(v.Fields{"a": v.String()})),
	})
	union := v.Union(v.Object(v.Fields{"kind": v.Literal("a"), "x": v.String()}), v.Object(v.Fields{"kind": v.Literal("b"), "y": v.String()}))
	tests := []struct {
		val  v.Validator
		path string
		want bool
	}{
		{doc, "status", true},
		{doc, "missing", false},
		{doc, "status.length", false},
		{doc, "meta", true},
		{doc, "meta.workflowId", true},
		{doc, "meta.inner.x", true},
		{doc, "meta.inner.y", false},
		{doc, "tags", true},
		{doc, "tags.name", false}, // field paths do not enter arrays
		{doc, "anything.deep.path", true},
		{doc, "scores.alice", true},
		{doc, "scores.alice.best", true},
		{doc, "scores.alice.worst", false},
		{doc, "byUser.alice", false}, // not an ID
		{doc, "either.a", true},
		{doc, "either.b", false},
		{union, "x", true},
		{union, "y", true},
		{union, "z", false},
		{v.Any(), "a.b", true},
		{v.String(), "a", false},
	}
	for _, tc := range tests {
		if got := v.HasFieldPath(tc.val, strings.Split(tc.path, ".")); got != tc.want {
			t.Errorf("HasFieldPath(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
	if !v.HasFieldPath(v.String(), nil) {
		t.Error("the empty path must always be there")
	}
	if v.HasFieldPath(nil, []string{"a"}) {
		t.Error("HasFieldPath(nil) = true")
	}
	if id := testID(usersTable, 1); !v.HasFieldPath(doc, []string{"byUser", id}) {
		t.Errorf("HasFieldPath(byUser.%s) = false, want true", id)
	}
}

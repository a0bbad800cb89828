package livedb

import (
	"testing"

	"github.com/livedb-go/livedb/v"
)

func TestNeedsRevalidation(t *testing.T) {
	obj := func(fields v.Fields) v.Validator { return v.Object(fields) }
	base := v.Fields{"status": v.String(), "owner": v.String()}
	withOptional := v.Fields{"status": v.String(), "owner": v.String(), "note": v.Optional(v.String())}
	withRequired := v.Fields{"status": v.String(), "owner": v.String(), "note": v.String()}
	schema := func(tv v.Validator, validation ...bool) *Schema {
		s := DefineSchema(Tables{"t": DefineTable(tv)})
		if len(validation) > 0 {
			s = s.WithValidation(validation[0])
		}
		return s
	}

	tests := []struct {
		name string
		old  *Schema // the stored schema; nil for a new database
		next v.Validator
		want bool
	}{
		{"unchanged", schema(obj(base)), obj(base), false},
		{"new optional field is a superset", schema(obj(base)), obj(withOptional), false},
		{"new required field", schema(obj(base)), obj(withRequired), true},
		{"optional to required", schema(obj(withOptional)), obj(withRequired), true},
		{"required to optional is a superset", schema(obj(withRequired)), obj(withOptional), false},
		{"anything to any", schema(obj(withRequired)), v.Any(), false},
		{"stored schema did not enforce", schema(obj(withRequired), false), obj(withRequired), true},
		{"table not in the stored schema", DefineSchema(Tables{}), obj(base), true},
		{"no stored schema", nil, obj(base), true},
		{"no stored schema, any", nil, v.Any(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := needsRevalidation(tc.old, "t", DefineTable(tc.next)); got != tc.want {
				t.Errorf("needsRevalidation = %v, want %v", got, tc.want)
			}
		})
	}
}

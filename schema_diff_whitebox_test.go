package livedb

import (
	"fmt"
	"testing"

	"github.com/livedb-go/livedb/v"
)

func TestDiffTable(t *testing.T) {
	obj := func(fields v.Fields) v.Validator { return v.Object(fields) }
	base := v.Fields{"status": v.String(), "owner": v.String()}
	withOptional := v.Fields{"status": v.String(), "owner": v.String(), "note": v.Optional(v.String())}
	withRequired := v.Fields{"status": v.String(), "owner": v.String(), "note": v.String()}

	tests := []struct {
		name           string
		old, next      *TableDefinition
		validation     bool
		wantAdded      string
		wantDropped    string
		wantRevalidate bool
	}{
		{
			name:       "unchanged",
			old:        DefineTable(obj(base)).Index("by_status", "status"),
			next:       DefineTable(obj(base)).Index("by_status", "status"),
			validation: true,
			wantAdded:  "[]", wantDropped: "[]",
		},
		{
			name:       "index added and dropped",
			old:        DefineTable(obj(base)).Index("by_status", "status").Index("by_owner", "owner"),
			next:       DefineTable(obj(base)).Index("by_owner", "owner").Index("by_status_owner", "status", "owner"),
			validation: true,
			wantAdded:  "[{by_status_owner [status owner]}]", wantDropped: "[{by_status [status]}]",
		},
		{
			name:        "fields changed is dropped and added",
			old:         DefineTable(obj(base)).Index("by_status", "status").Index("by_owner", "owner"),
			next:        DefineTable(obj(base)).Index("by_status", "status", "owner").Index("by_team", "owner"),
			validation:  true,
			wantAdded:   "[{by_status [status owner]} {by_team [owner]}]",
			wantDropped: "[{by_status [status]} {by_owner [owner]}]",
		},
		{
			name:       "field order changed",
			old:        DefineTable(obj(base)).Index("by_both", "status", "owner"),
			next:       DefineTable(obj(base)).Index("by_both", "owner", "status"),
			validation: true,
			wantAdded:  "[{by_both [owner status]}]", wantDropped: "[{by_both [status owner]}]",
		},
		{
			name:       "index renamed",
			old:        DefineTable(obj(base)).Index("by_status", "status"),
			next:       DefineTable(obj(base)).Index("by_state", "status"),
			validation: true,
			wantAdded:  "[{by_state [status]}]", wantDropped: "[{by_status [status]}]",
		},
		{
			name:       "new optional field is a superset",
			old:        DefineTable(obj(base)),
			next:       DefineTable(obj(withOptional)),
			validation: true,
			wantAdded:  "[]", wantDropped: "[]",
		},
		{
			name:       "new required field needs revalidation",
			old:        DefineTable(obj(base)),
			next:       DefineTable(obj(withRequired)),
			validation: true,
			wantAdded:  "[]", wantDropped: "[]",
			wantRevalidate: true,
		},
		{
			name:       "optional to required needs revalidation",
			old:        DefineTable(obj(withOptional)),
			next:       DefineTable(obj(withRequired)),
			validation: true,
			wantAdded:  "[]", wantDropped: "[]",
			wantRevalidate: true,
		},
		{
			name:       "required to optional is a superset",
			old:        DefineTable(obj(withRequired)),
			next:       DefineTable(obj(withOptional)),
			validation: true,
			wantAdded:  "[]", wantDropped: "[]",
		},
		{
			name:       "validation off never revalidates",
			old:        DefineTable(obj(base)),
			next:       DefineTable(obj(withRequired)),
			validation: false,
			wantAdded:  "[]", wantDropped: "[]",
		},
		{
			name:       "anything to any",
			old:        DefineTable(obj(withRequired)),
			next:       DefineTable(v.Any()),
			validation: true,
			wantAdded:  "[]", wantDropped: "[]",
		},
		{
			name:       "new table",
			old:        nil,
			next:       DefineTable(obj(base)).Index("by_status", "status"),
			validation: true,
			wantAdded:  "[{by_status [status]}]", wantDropped: "[]",
			wantRevalidate: true,
		},
		{
			name:       "new table of any",
			old:        nil,
			next:       DefineTable(v.Any()),
			validation: true,
			wantAdded:  "[]", wantDropped: "[]",
		},
		{
			name:       "table left the schema",
			old:        DefineTable(obj(base)).Index("by_status", "status"),
			next:       nil,
			validation: true,
			wantAdded:  "[]", wantDropped: "[{by_status [status]}]",
		},
		{
			name:       "staged indexes take no part",
			old:        &TableDefinition{validator: obj(base), staged: []IndexDefinition{{Name: "by_owner", Fields: []string{"owner"}}}},
			next:       DefineTable(obj(base)).Index("by_owner", "owner"),
			validation: true,
			wantAdded:  "[{by_owner [owner]}]", wantDropped: "[]",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := diffTable(tc.old, tc.next, tc.validation)
			if got := fmt.Sprint(d.addedIndexes); got != tc.wantAdded {
				t.Errorf("addedIndexes = %s, want %s", got, tc.wantAdded)
			}
			if got := fmt.Sprint(d.droppedIndexes); got != tc.wantDropped {
				t.Errorf("droppedIndexes = %s, want %s", got, tc.wantDropped)
			}
			if d.needsRevalidation != tc.wantRevalidate {
				t.Errorf("needsRevalidation = %v, want %v", d.needsRevalidation, tc.wantRevalidate)
			}
		})
	}
}

func TestDiffTable_ResultIsACopy(t *testing.T) {
	next := DefineTable(v.Any()).Index("by_a", "a")
	d := diffTable(nil, next, true)
	d.addedIndexes[0].Fields[0] = "changed"
	if got := next.indexes[0].Fields[0]; got != "a" {
		t.Errorf("changing the diff changed the definition: field = %q", got)
	}
}

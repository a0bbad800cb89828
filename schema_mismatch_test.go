package livedb_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

func TestSchemaMismatchError_Error_Short(t *testing.T) {
	const n = 50
	path := filepath.Join(t.TempDir(), "mismatch.db")
	db := mustOpenFile(t, path, reportSchema(false), &livedb.Options{NoSync: true})
	stored := map[livedb.ID]bool{}
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		for i := range n {
			// No status: the second schema requires one.
			id, err := m.DB.Insert("tasks", livedb.Doc{"title": fmt.Sprint("task ", i)})
			if err != nil {
				return err
			}
			stored[id] = true
		}
		return nil
	})
	livedbtest.MustCheckClose(t, db)

	db, err := livedb.Open(path, reportSchema(true), &livedb.Options{NoSync: true})
	if err == nil {
		_ = db.Close()
		t.Fatal("Open accepted 50 tasks without the status the schema requires")
	}
	var mm *livedb.SchemaMismatchError
	if !errors.As(err, &mm) || !errors.Is(err, livedb.ErrSchemaMismatch) {
		t.Fatalf("Open = %v, want a *SchemaMismatchError", err)
	}
	if mm.Total != n || len(mm.Failures) != 10 {
		t.Fatalf("Total = %d with %d failures, want %d with 10", mm.Total, len(mm.Failures), n)
	}

	msg := err.Error()
	lines := strings.Split(msg, "\n")
	if len(lines) != 5 {
		t.Fatalf("message has %d lines, want 5:\n%s", len(lines), msg)
	}
	if want := "livedb: 50 stored documents do not match the schema; nothing was changed"; lines[0] != want {
		t.Errorf("first line = %q, want %q", lines[0], want)
	}
	for i, f := range mm.Failures[:3] {
		if !stored[f.ID] || f.Table != "tasks" {
			t.Errorf("failure %d names %s/%s, not a stored task", i, f.Table, f.ID)
		}
		if want := "  tasks/" + string(f.ID) + " at .status: required field is missing"; lines[1+i] != want {
			t.Errorf("line %d = %q, want %q", 1+i, lines[1+i], want)
		}
	}
	if want := "  … and 47 more"; lines[4] != want {
		t.Errorf("last line = %q, want %q", lines[4], want)
	}
	for _, dump := range []string{"Validator:", "Object:", "v.object(", "task 0"} {
		if strings.Contains(msg, dump) {
			t.Errorf("message contains %q, a validator or document dump:\n%s", dump, msg)
		}
	}

	// The full detail stays in the typed error, a *DocumentError like a
	// refused write's.
	for _, f := range mm.Failures {
		if f.Op != "revalidate" || !errors.Is(f, livedb.ErrSchemaEnforcement) {
			t.Errorf("failure %s: Op %q, errors.Is(ErrSchemaEnforcement) = %v; want revalidate, true", f.ID, f.Op, errors.Is(f, livedb.ErrSchemaEnforcement))
		}
		var ve *v.ValidationError
		if !errors.As(f.Err, &ve) || ve.Reason != v.ReasonMissingField || ve.Field != "status" {
			t.Fatalf("failure %s: Err = %#v, want a missing-field *v.ValidationError", f.ID, f.Err)
		}
		if !strings.Contains(ve.Error(), "Validator: v.object(") || !strings.Contains(ve.Value, "title") {
			t.Errorf("failure %s lost its detail: %v", f.ID, ve)
		}
	}
}

func TestSchemaMismatchError_Error_Reasons(t *testing.T) {
	long := "v.union(" + strings.Repeat(`v.literal("pending"), `, 10) + `v.literal("done"))`
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no match", &v.ValidationError{Reason: v.ReasonNoMatch, Path: ".step", Value: `"x"`, Validator: "v.float64()"},
			`t/ID1 at .step: got "x", want v.float64()`},
		{"long validator and value", &v.ValidationError{Reason: v.ReasonNoMatch, Path: ".tags[3]", Value: `"` + strings.Repeat("é", 60) + `"`, Validator: long},
			`t/ID1 at .tags[3]: got "` + strings.Repeat("é", 46) + `…, want v.union(v.literal("pending"), v.literal("pendin…`},
		{"literal", &v.ValidationError{Reason: v.ReasonLiteral, Path: ".status", Value: `"weird"`, Validator: `v.literal("done")`},
			`t/ID1 at .status: got "weird", want v.literal("done")`},
		{"missing nested field", &v.ValidationError{Reason: v.ReasonMissingField, Path: ".messages[3]", Field: "author", Value: "{body: \"hi\"}", Validator: "v.object({...})"},
			"t/ID1 at .messages[3].author: required field is missing"},
		{"extra field", &v.ValidationError{Reason: v.ReasonExtraField, Field: "extra", Value: "{}", Validator: "v.object({})"},
			"t/ID1 at .extra: field is not in the validator"},
		{"table mismatch", &v.ValidationError{Reason: v.ReasonTableMismatch, Path: ".owner", Value: "abc", Table: "teams", Validator: `v.id("users")`},
			`t/ID1 at .owner: ID of table teams, want v.id("users")`},
		{"system table", &v.ValidationError{Reason: v.ReasonSystemTable, Path: ".owner", Value: "abc", Validator: `v.id("users")`},
			`t/ID1 at .owner: ID of a system table, want v.id("users")`},
		{"invalid value", &v.ValidationError{Reason: v.ReasonInvalidValue, Path: ".s", Err: errors.New("string is not valid UTF-8")},
			"t/ID1 at .s: string is not valid UTF-8"},
		{"outside validator", &v.ValidationError{Reason: v.ReasonNoMatch, Path: ".n", Value: "5.0", Err: errors.New("must be even\nsecond line")},
			"t/ID1 at .n: got 5.0: must be even…"},
		{"not a ValidationError", errors.New("odd\nfailure"),
			"t/ID1: odd…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &livedb.SchemaMismatchError{Total: 1, Failures: []*livedb.DocumentError{{Table: "t", ID: "ID1", Err: tc.err}}}
			want := "livedb: 1 stored document does not match the schema; nothing was changed\n  " + tc.want
			if got := e.Error(); got != want {
				t.Errorf("Error() =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

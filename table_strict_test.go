package livedb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
)

type strictTask struct {
	WorkflowID livedb.ID `json:"workflowId"`
	AgentType  string    `json:"agentType"`
	Status     string    `json:"status"`
}

// With a schema, a table it does not declare is an error for every read
// and write, which names the table, the declared ones and the nearest; and
// nothing is written.
func TestDB_UndeclaredTable_Strict(t *testing.T) {
	forEachBackend(t, agentSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		wantErr := func(t *testing.T, err error, table, near string) {
			t.Helper()
			if !errors.Is(err, livedb.ErrUndeclaredTable) {
				t.Fatalf("err = %v, want ErrUndeclaredTable", err)
			}
			msg := err.Error()
			for _, s := range []string{`"` + table + `"`, "agentSessions, workflows", "AllowUndeclaredTables"} {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not mention %s", msg, s)
				}
			}
			if near != "" && !strings.Contains(msg, `did you mean "`+near+`"`) {
				t.Errorf("error %q does not suggest %q", msg, near)
			} else if near == "" && strings.Contains(msg, "did you mean") {
				t.Errorf("error %q suggests a table for a name close to none", msg)
			}
		}
		err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("workflow", livedb.Doc{"task": "t", "status": "pending"})
			return err
		})
		wantErr(t, err, "workflow", "workflows")
		err = db.Query(ctx, func(q *livedb.QueryCtx) error {
			_, err := q.DB.Query("agentSesions").Collect()
			return err
		})
		wantErr(t, err, "agentSesions", "agentSessions")
		err = db.Query(ctx, func(q *livedb.QueryCtx) error {
			_, _, err := q.DB.Query("zzzzzzzz").First()
			return err
		})
		wantErr(t, err, "zzzzzzzz", "")
		// The typed handle goes through the same check.
		tasks := livedb.NewTable[strictTask]("agentSesions")
		err = db.Mutation(ctx, func(m *livedb.MutationCtx) error {
			_, err := tasks.Insert(m.DB, strictTask{AgentType: "coder", Status: "new"})
			return err
		})
		wantErr(t, err, "agentSesions", "agentSessions")
		if got := tableNames(t, db); len(got) != 2 {
			t.Fatalf("tables = %v, want only the two declared", got)
		}
		err = db.Query(ctx, func(q *livedb.QueryCtx) error {
			if _, ok := q.DB.NormalizeID("workflow", "x"); ok {
				t.Error("NormalizeID accepted an undeclared table")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// Options.AllowUndeclaredTables restores Convex's rule at run time, and a
// database without a schema allows every table.
func TestDB_UndeclaredTable_Allowed(t *testing.T) {
	for name, c := range map[string]struct {
		schema *livedb.Schema
		opts   *livedb.Options
	}{
		"option":    {agentSchema(), looseOptions},
		"no schema": {nil, nil},
		"empty":     {livedb.DefineSchema(nil), nil},
	} {
		t.Run(name, func(t *testing.T) {
			forEachBackendOptions(t, c.schema, c.opts, func(t *testing.T, db *livedb.DB) {
				mustMutate(t, db, func(m *livedb.MutationCtx) error {
					_, err := m.DB.Insert("notes", livedb.Doc{"anything": 1.0})
					return err
				})
				if docs := mustCollect(t, db, "notes"); len(docs) != 1 {
					t.Fatalf("notes = %v", docs)
				}
			})
		})
	}
}

// A schema loaded with SchemaFromJSON is strict like any other, even when
// it does not validate documents.
func TestSchemaFromJSON_StrictTableNames(t *testing.T) {
	s, err := livedb.SchemaFromJSON([]byte(`{"tables":[{"tableName":"tasks","indexes":[],"documentType":null}],"schemaValidation":false}`))
	if err != nil {
		t.Fatal(err)
	}
	forEachBackend(t, s, func(t *testing.T, db *livedb.DB) {
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("taks", livedb.Doc{"x": 1.0})
			return err
		})
		if !errors.Is(err, livedb.ErrUndeclaredTable) || !strings.Contains(err.Error(), `did you mean "tasks"`) {
			t.Fatalf("err = %v, want ErrUndeclaredTable suggesting tasks", err)
		}
		mustMutate(t, db, func(m *livedb.MutationCtx) error {
			_, err := m.DB.Insert("tasks", livedb.Doc{"anything": "goes"})
			return err
		})
	})
}

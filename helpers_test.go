package livedb_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

// agentSchema is the workflows / agentSessions schema most engine tests use.
func agentSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"workflows": livedb.DefineTable(v.Object(v.Fields{
			"task":   v.String(),
			"status": v.Union(v.Literal("pending"), v.Literal("in_progress"), v.Literal("completed"), v.Literal("failed")),
			"step":   v.Optional(v.Float64()),
		})).Index("by_status", "status"),
		"agentSessions": livedb.DefineTable(v.Object(v.Fields{
			"workflowId": v.ID("workflows"),
			"agentType":  v.String(),
			"status":     v.String(),
			"attempt":    v.Optional(v.Int64()),
			"output":     v.Optional(v.String()),
		})).Index("by_workflow", "workflowId").
			Index("by_workflow_and_status", "workflowId", "status"),
	})
}

// backends names the backends every engine test runs against, in test
// order; openBackend opens each.
var backends = []string{"memory", "bbolt", "shared-memlog"}

// openBackend opens a fresh database of the named backend with schema s
// and opts (nil means defaults; bbolt always runs with NoSync), checked and
// closed at cleanup by livedbtest, the helpers users get. A test in a
// synctest bubble calls it inside the bubble, so the database's goroutines
// belong to the bubble and are closed inside it.
func openBackend(t *testing.T, name string, s *livedb.Schema, opts *livedb.Options) *livedb.DB {
	t.Helper()
	switch name {
	case "memory":
		return livedbtest.NewOptions(t, s, opts)
	case "bbolt":
		o := livedb.Options{}
		if opts != nil {
			o = *opts
		}
		o.NoSync = true
		db, err := livedb.Open(filepath.Join(t.TempDir(), "test.db"), s, &o)
		if err != nil {
			t.Fatalf("open bbolt: %v", err)
		}
		t.Cleanup(func() { livedbtest.MustCheckClose(t, db) })
		return db
	case "shared-memlog":
		db, err := livedb.OpenSharedMemLog(livedb.NewSharedMemLog(), s, opts)
		if err != nil {
			t.Fatalf("open shared-memlog: %v", err)
		}
		t.Cleanup(func() { livedbtest.MustCheckClose(t, db) })
		return db
	}
	t.Fatalf("openBackend: unknown backend %q", name)
	return nil
}

// forEachBackend runs body against a fresh database on every backend; the
// database is checked for consistency and closed when the test ends.
func forEachBackend(t *testing.T, s *livedb.Schema, body func(t *testing.T, db *livedb.DB)) {
	t.Helper()
	forEachBackendOptions(t, s, nil, body)
}

// looseOptions allows tables that the schema does not declare.
var looseOptions = &livedb.Options{AllowUndeclaredTables: true}

// forEachBackendOptions is forEachBackend with options.
func forEachBackendOptions(t *testing.T, s *livedb.Schema, opts *livedb.Options, body func(t *testing.T, db *livedb.DB)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) { body(t, openBackend(t, b, s, opts)) })
	}
}

// forEachBackendBubble is forEachBackendOptions with each subtest inside a
// synctest bubble (see rxSynctest), the database opened in the bubble.
func forEachBackendBubble(t *testing.T, s *livedb.Schema, opts *livedb.Options, body func(t *testing.T, db *livedb.DB)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			rxSynctest(t, func(t *testing.T) { body(t, openBackend(t, b, s, opts)) })
		})
	}
}

// mustMutate runs fn in a mutation and fails the test on error.
func mustMutate(t *testing.T, db *livedb.DB, fn func(m *livedb.MutationCtx) error) {
	t.Helper()
	if err := db.Mutation(context.Background(), fn); err != nil {
		t.Fatalf("Mutation: %v", err)
	}
}

// mustCollect returns every document of a table.
func mustCollect(t *testing.T, db *livedb.DB, table string) []livedb.Doc {
	t.Helper()
	var docs []livedb.Doc
	err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		var err error
		docs, err = q.DB.Query(table).Collect()
		return err
	})
	if err != nil {
		t.Fatalf("Collect %s: %v", table, err)
	}
	return docs
}

// mustInsertWorkflow inserts a workflow and returns its ID.
func mustInsertWorkflow(t *testing.T, db *livedb.DB, task, status string) livedb.ID {
	t.Helper()
	var id livedb.ID
	mustMutate(t, db, func(m *livedb.MutationCtx) error {
		var err error
		id, err = m.DB.Insert("workflows", livedb.Doc{"task": task, "status": status})
		return err
	})
	return id
}

// comparisonHolds reports whether a comparison result c (as from
// refCompare) satisfies the filter comparison op: eq, neq, lt, lte, gt
// or gte. The randomized tests' reference models evaluate filters with it.
func comparisonHolds(op string, c int) bool {
	switch op {
	case "eq":
		return c == 0
	case "neq":
		return c != 0
	case "lt":
		return c < 0
	case "lte":
		return c <= 0
	case "gt":
		return c > 0
	}
	return c >= 0
}

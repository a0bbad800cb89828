package model_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/model"
)

const alice = "https://auth.example|alice"

// newDB returns a fresh memory database with the model's schema.
func newDB(t *testing.T) *livedb.DB {
	t.Helper()
	return livedbtest.New(t, model.Schema())
}

// mutate runs fn in a mutation and returns its result, failing the test on
// error.
func mutate[R any](t *testing.T, db *livedb.DB, fn func(m *livedb.MutationCtx) (R, error)) R {
	t.Helper()
	var out R
	err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		var err error
		out, err = fn(m)
		return err
	})
	require.NoError(t, err)
	return out
}

// mutateErr runs fn in a mutation and returns its error.
func mutateErr[R any](db *livedb.DB, fn func(m *livedb.MutationCtx) (R, error)) error {
	return db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		_, err := fn(m)
		return err
	})
}

// query runs fn in a query and returns its result, failing the test on
// error.
func query[R any](t *testing.T, db *livedb.DB, fn func(q *livedb.QueryCtx) (R, error)) R {
	t.Helper()
	var out R
	err := db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		var err error
		out, err = fn(q)
		return err
	})
	require.NoError(t, err)
	return out
}

// create creates a workflow of alice's.
func create(t *testing.T, db *livedb.DB, task string, maxIterations int) livedb.Ref[model.Workflow] {
	t.Helper()
	return mutate(t, db, func(m *livedb.MutationCtx) (livedb.Ref[model.Workflow], error) {
		return model.CreateWorkflow(m, model.CreateWorkflowArgs{Owner: alice, Task: task, MaxIterations: maxIterations})
	})
}

// claim claims a session of type at for agent, failing the test when none
// is pending.
func claim(t *testing.T, db *livedb.DB, at model.AgentType, agent string) model.AgentSession {
	t.Helper()
	type res struct {
		s  model.AgentSession
		ok bool
	}
	r := mutate(t, db, func(m *livedb.MutationCtx) (res, error) {
		s, ok, err := model.ClaimSession(m, model.ClaimArgs{AgentType: at, AgentID: agent})
		return res{s, ok}, err
	})
	require.True(t, r.ok, "no pending %s session", at)
	return r.s
}

// work claims a session of type at and completes it with output (and a
// verdict for a reviewer), returning the session and the workflow after.
func work(t *testing.T, db *livedb.DB, at model.AgentType, output string, approved *bool) (model.AgentSession, model.Workflow) {
	t.Helper()
	s := claim(t, db, at, string(at)+"-1")
	wf := mutate(t, db, func(m *livedb.MutationCtx) (model.Workflow, error) {
		return model.CompleteSession(m, model.CompleteArgs{SessionID: s.ID, Output: output, Approved: approved})
	})
	return s, wf
}

func ptr[T any](x T) *T { return &x }

// getSession reads a session.
func getSession(t *testing.T, db *livedb.DB, id livedb.Ref[model.AgentSession]) model.AgentSession {
	t.Helper()
	type res struct {
		s  model.AgentSession
		ok bool
	}
	r := query(t, db, func(q *livedb.QueryCtx) (res, error) {
		s, ok, err := model.Sessions.Get(q.DB, id)
		return res{s, ok}, err
	})
	require.True(t, r.ok, "session %s not found", id)
	return r.s
}

// getWorkflow reads a workflow.
func getWorkflow(t *testing.T, db *livedb.DB, id livedb.Ref[model.Workflow]) model.Workflow {
	t.Helper()
	return query(t, db, func(q *livedb.QueryCtx) (model.Workflow, error) {
		return model.GetWorkflow(q, model.WorkflowArgs{WorkflowID: id})
	})
}

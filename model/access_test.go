package model_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/model"
)

var (
	aliceID = &livedb.Identity{TokenIdentifier: alice, Issuer: "https://auth.example", Subject: "alice"}
	bobID   = &livedb.Identity{TokenIdentifier: "https://auth.example|bob", Issuer: "https://auth.example", Subject: "bob"}
)

func as(id *livedb.Identity) context.Context {
	return livedb.WithIdentity(context.Background(), id)
}

func TestAPI_CreateWorkflow_Owner(t *testing.T) {
	db := newDB(t)
	_, err := model.API.CreateWorkflow.Call(context.Background(), db, model.NewWorkflowArgs{Task: "t"})
	require.ErrorIs(t, err, model.ErrUnauthenticated)
	_, err = model.API.CreateWorkflow.Call(as(&livedb.Identity{Subject: "no token"}), db, model.NewWorkflowArgs{Task: "t"})
	require.ErrorIs(t, err, model.ErrUnauthenticated, "an identity without a token identifier")

	id, err := model.API.CreateWorkflow.Call(as(aliceID), db, model.NewWorkflowArgs{Task: "t", MaxIterations: 2})
	require.NoError(t, err)
	wf := getWorkflow(t, db, id)
	assert.Equal(t, alice, wf.Owner, "the caller owns the workflow")
	assert.Equal(t, 2, wf.MaxIterations)
}

// TestAPI_OwnerOnly checks that every public function that names a
// workflow serves its owner and refuses anyone else.
func TestAPI_OwnerOnly(t *testing.T) {
	db := newDB(t)
	id, err := model.API.CreateWorkflow.Call(as(aliceID), db, model.NewWorkflowArgs{Task: "alice's task"})
	require.NoError(t, err)
	claim(t, db, model.Planner, "p1")
	args := model.WorkflowArgs{WorkflowID: id}
	calls := map[string]func(ctx context.Context) error{
		"get": func(ctx context.Context) error {
			_, err := model.API.GetWorkflow.Call(ctx, db, args)
			return err
		},
		"progress": func(ctx context.Context) error {
			_, err := model.API.WorkflowProgress.Call(ctx, db, args)
			return err
		},
		"listRunningSessions": func(ctx context.Context) error {
			_, err := model.API.ListRunningSessions.Call(ctx, db, args)
			return err
		},
		"cancel": func(ctx context.Context) error {
			_, err := model.API.CancelWorkflow.Call(ctx, db, args)
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, call(context.Background()), model.ErrUnauthenticated)
			err := call(as(bobID))
			require.ErrorIs(t, err, model.ErrForbidden)
			assert.Contains(t, err.Error(), string(id))
		})
	}
	assert.Equal(t, model.WorkflowInProgress, getWorkflow(t, db, id).Status, "refused calls change nothing")

	wf, err := model.API.GetWorkflow.Call(as(aliceID), db, args)
	require.NoError(t, err)
	assert.Equal(t, "alice's task", wf.Task)
	p, err := model.API.WorkflowProgress.Call(as(aliceID), db, args)
	require.NoError(t, err)
	assert.Equal(t, 1, p.Count(model.SessionRunning))
	running, err := model.API.ListRunningSessions.Call(as(aliceID), db, args)
	require.NoError(t, err)
	require.Len(t, running, 1)
	assert.Equal(t, "p1", *running[0].AgentID)
	wf, err = model.API.CancelWorkflow.Call(as(aliceID), db, args)
	require.NoError(t, err)
	assert.Equal(t, model.WorkflowCancelled, wf.Status)
}

func TestAPI_ListMyWorkflows(t *testing.T) {
	db := newDB(t)
	for _, c := range []struct {
		who  *livedb.Identity
		task string
	}{{aliceID, "a1"}, {bobID, "b1"}, {aliceID, "a2"}} {
		_, err := model.API.CreateWorkflow.Call(as(c.who), db, model.NewWorkflowArgs{Task: c.task})
		require.NoError(t, err)
	}
	tasks := func(id *livedb.Identity) []string {
		ps, err := model.API.ListMyWorkflows.Call(as(id), db, struct{}{})
		require.NoError(t, err)
		var out []string
		for _, p := range ps {
			out = append(out, p.Task)
		}
		return out
	}
	assert.Equal(t, []string{"a1", "a2"}, tasks(aliceID))
	assert.Equal(t, []string{"b1"}, tasks(bobID))
	_, err := model.API.ListMyWorkflows.Call(context.Background(), db, struct{}{})
	require.ErrorIs(t, err, model.ErrUnauthenticated)
}

func TestAPI_NotFound(t *testing.T) {
	db := newDB(t)
	id := create(t, db, "t", 0)
	mutate(t, db, func(m *livedb.MutationCtx) (bool, error) {
		wf, err := model.GetWorkflow(m.Query(), model.WorkflowArgs{WorkflowID: id})
		if err != nil {
			return false, err
		}
		if err := model.Sessions.Delete(m.DB, *wf.CurrentSessionID); err != nil {
			return false, err
		}
		return true, model.Workflows.Delete(m.DB, id)
	})
	_, err := model.API.GetWorkflow.Call(as(aliceID), db, model.WorkflowArgs{WorkflowID: id})
	require.ErrorIs(t, err, model.ErrNotFound)
}

func TestRegistry_PublicAndInternal(t *testing.T) {
	db := newDB(t)
	reg, err := livedb.NewRegistry(model.Functions()...)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"workflows:cancel", "workflows:create", "workflows:get", "workflows:listMine",
		"workflows:listRunningSessions", "workflows:progress",
	}, reg.Names(), "only the public functions are served")

	got, err := reg.CallPublic(as(aliceID), db, "workflows:create", livedb.Doc{"task": "via registry"})
	require.NoError(t, err)
	id, ok := got.(livedb.Ref[model.Workflow])
	require.True(t, ok, "%T", got)
	got, err = reg.CallPublic(as(aliceID), db, "workflows:get", livedb.Doc{"workflowId": string(id)})
	require.NoError(t, err)
	assert.Equal(t, "via registry", got.(model.Workflow).Task)
	_, err = reg.CallPublic(as(bobID), db, "workflows:get", livedb.Doc{"workflowId": string(id)})
	require.ErrorIs(t, err, model.ErrForbidden)

	internal := []string{
		model.Internal.ClaimSession.Name, model.Internal.StartSession.Name, model.Internal.CompleteSession.Name,
		model.Internal.FailSession.Name, model.Internal.ReleaseSession.Name, model.Internal.RequeueRunningSessions.Name,
		model.Internal.AdvanceWorkflow.Name, model.Internal.ListUnfinishedWorkflows.Name, model.Internal.ListProgress.Name,
		model.Internal.BeginSession.Name, model.Internal.OnAgentComplete.Name, model.Internal.SweepStaleSessions.Name,
		model.Internal.TimeoutWorkflow.Name,
	}
	assert.Len(t, model.Functions(), len(reg.Names())+len(internal), "every function is public or internal")
	for _, name := range internal {
		_, err := reg.CallPublic(as(aliceID), db, name, livedb.Doc{"agentType": "planner", "agentId": "x"})
		require.ErrorIs(t, err, livedb.ErrInternalFunction, name)
	}
	assert.Equal(t, model.SessionPending, getSession(t, db, *getWorkflow(t, db, id).CurrentSessionID).Status,
		"the refused claim did not run")
}

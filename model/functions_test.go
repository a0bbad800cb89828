package model_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/model"
	"github.com/livedb-go/livedb/v"
)

func TestInternal_ArgumentErrors(t *testing.T) {
	db := newDB(t)
	id := create(t, db, "t", 0)
	sid := *getWorkflow(t, db, id).CurrentSessionID
	ctx := context.Background()
	cases := []struct {
		name     string
		call     func() error
		wantPath string
	}{
		{"agent type is a literal union", func() error {
			_, err := model.Internal.ClaimSession.Call(ctx, db, model.ClaimArgs{AgentType: "designer", AgentID: "d"})
			return err
		}, ".agentType"},
		{"workflow ID of another table", func() error {
			_, err := model.Internal.AdvanceWorkflow.Call(ctx, db, model.WorkflowArgs{WorkflowID: livedb.Ref[model.Workflow](sid)})
			return err
		}, ".workflowId"},
		{"session ID of another table", func() error {
			_, err := model.Internal.CompleteSession.Call(ctx, db, model.CompleteArgs{SessionID: livedb.Ref[model.AgentSession](id), Output: "x"})
			return err
		}, ".sessionId"},
		{"not an ID", func() error {
			_, err := model.API.GetWorkflow.Call(as(aliceID), db, model.WorkflowArgs{WorkflowID: "nope"})
			return err
		}, ".workflowId"},
		{"max iterations is a number", func() error {
			reg, err := livedb.NewRegistry(model.Functions()...)
			require.NoError(t, err)
			_, err = reg.CallPublic(as(aliceID), db, "workflows:create", livedb.Doc{"task": "t", "maxIterations": "3"})
			return err
		}, ".maxIterations"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ae *livedb.ArgumentError
			require.ErrorAs(t, err, &ae)
			var ve *v.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.wantPath, ve.Path)
		})
	}
	assert.Equal(t, model.SessionPending, getSession(t, db, sid).Status)
}

// TestFunctions_Lifecycle drives two workflows through every function,
// so that every function's returns validator sees real results.
func TestFunctions_Lifecycle(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	owner := as(aliceID)
	must := func(err error) {
		t.Helper()
		require.NoError(t, err)
	}
	id, err := model.API.CreateWorkflow.Call(owner, db, model.NewWorkflowArgs{Task: "ship", MaxIterations: 2})
	must(err)
	other, err := model.API.CreateWorkflow.Call(owner, db, model.NewWorkflowArgs{Task: "doomed"})
	must(err)

	unfinished, err := model.Internal.ListUnfinishedWorkflows.Call(ctx, db, model.OwnerArgs{Owner: alice})
	must(err)
	assert.Len(t, unfinished, 2)

	step := func(at model.AgentType, approved *bool) model.Workflow {
		t.Helper()
		s, err := model.Internal.ClaimSession.Call(ctx, db, model.ClaimArgs{AgentType: at, AgentID: "a"})
		must(err)
		require.NotNil(t, s, "a %s session is pending", at)
		wf, err := model.Internal.CompleteSession.Call(ctx, db, model.CompleteArgs{SessionID: s.ID, Output: "out", Approved: approved})
		must(err)
		return wf
	}
	// The planner of the first workflow is claimed, released, started
	// explicitly, then completed.
	s, err := model.Internal.ClaimSession.Call(ctx, db, model.ClaimArgs{AgentType: model.Planner, AgentID: "p"})
	must(err)
	require.Equal(t, id, s.WorkflowID)
	_, err = model.Internal.ReleaseSession.Call(ctx, db, model.SessionArgs{SessionID: s.ID, AgentID: "p"})
	must(err)
	started, err := model.Internal.StartSession.Call(ctx, db, model.SessionArgs{SessionID: s.ID, AgentID: "p2"})
	must(err)
	assert.Equal(t, "p2", *started.AgentID)
	_, err = model.Internal.CompleteSession.Call(ctx, db, model.CompleteArgs{SessionID: s.ID, Output: "plan"})
	must(err)

	// The second workflow's planner fails.
	s, err = model.Internal.ClaimSession.Call(ctx, db, model.ClaimArgs{AgentType: model.Planner, AgentID: "p"})
	must(err)
	require.Equal(t, other, s.WorkflowID)
	wf, err := model.Internal.FailSession.Call(ctx, db, model.FailArgs{SessionID: s.ID, Error: "model unavailable"})
	must(err)
	assert.Equal(t, model.WorkflowFailed, wf.Status)

	step(model.Coder, nil)
	step(model.Reviewer, ptr(false))
	s, err = model.Internal.ClaimSession.Call(ctx, db, model.ClaimArgs{AgentType: model.Coder, AgentID: "c"})
	must(err)
	n, err := model.Internal.RequeueRunningSessions.Call(ctx, db, struct{}{})
	must(err)
	assert.Equal(t, 1, n)
	wf, err = model.Internal.AdvanceWorkflow.Call(ctx, db, model.WorkflowArgs{WorkflowID: id})
	must(err)
	assert.Equal(t, s.ID, *wf.CurrentSessionID, "a pending session is waited for")
	step(model.Coder, nil)
	wf = step(model.Reviewer, ptr(true))
	assert.Equal(t, model.WorkflowCompleted, wf.Status)

	ps, err := model.Internal.ListProgress.Call(ctx, db, model.OwnerArgs{Owner: alice})
	must(err)
	require.Len(t, ps, 2)
	assert.Equal(t, 1, ps[0].Reworks)
	assert.Equal(t, model.WorkflowFailed, ps[1].Status)
	mine, err := model.API.ListMyWorkflows.Call(owner, db, struct{}{})
	must(err)
	assert.Equal(t, ps, mine)
	unfinished, err = model.Internal.ListUnfinishedWorkflows.Call(ctx, db, model.OwnerArgs{Owner: alice})
	must(err)
	assert.Empty(t, unfinished)
}

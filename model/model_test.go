package model_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/model"
	"github.com/livedb-go/livedb/v"
)

func TestSchema_Definition(t *testing.T) {
	s := model.Schema()
	require.NoError(t, s.Err())
	assert.Same(t, s, model.Schema(), "the schema is built once")
	assert.Equal(t, []string{"agentSessions", "workflows"}, s.TableNames())
	indexes := func(table string) map[string][]string {
		def, ok := s.Table(table)
		require.True(t, ok)
		out := map[string][]string{}
		for _, ix := range def.Indexes() {
			out[ix.Name] = ix.Fields
		}
		return out
	}
	assert.Equal(t, map[string][]string{
		"by_status":           {"status"},
		"by_owner_and_status": {"owner", "status"},
	}, indexes("workflows"))
	assert.Equal(t, map[string][]string{
		"by_workflow":            {"workflowId"},
		"by_status":              {"status"},
		"by_workflow_and_status": {"workflowId", "status"},
		"by_type_and_status":     {"agentType", "status"},
	}, indexes("agentSessions"))
	sessions, _ := s.Table("agentSessions")
	assert.Equal(t, []livedb.SearchIndexDefinition{{Name: "search_output", SearchField: "output", FilterFields: []string{"workflowId", "status"}}}, sessions.SearchIndexes())

	// Statuses are unions of literals, not free strings, and the circular
	// reference is optional on the workflow's side.
	field := func(table, name string) v.Validator {
		def, _ := s.Table(table)
		obj, ok := def.Validator().(*v.ObjectValidator)
		require.True(t, ok)
		f, ok := obj.Field(name)
		require.True(t, ok, "%s.%s", table, name)
		return f
	}
	assert.Equal(t, `v.union(v.literal("pending"), v.literal("in_progress"), v.literal("completed"), v.literal("failed"), v.literal("cancelled"))`,
		field("workflows", "status").String())
	assert.Equal(t, `v.union(v.literal("pending"), v.literal("running"), v.literal("completed"), v.literal("failed"), v.literal("cancelled"))`,
		field("agentSessions", "status").String())
	assert.Equal(t, `v.union(v.literal("planner"), v.literal("coder"), v.literal("reviewer"))`, field("agentSessions", "agentType").String())
	assert.True(t, field("workflows", "currentSessionId").IsOptional())
	assert.Equal(t, `v.optional(v.id("agentSessions"))`, field("workflows", "currentSessionId").String())
	assert.False(t, field("agentSessions", "workflowId").IsOptional(), "a session always has its workflow")
}

func TestTables_Extend(t *testing.T) {
	tables := model.Tables()
	tables["notes"] = livedb.DefineTable(v.Object(v.Fields{"text": v.String()}))
	s := livedb.DefineSchema(tables)
	require.NoError(t, s.Err())
	assert.Equal(t, []string{"agentSessions", "notes", "workflows"}, s.TableNames())
	assert.Equal(t, []string{"agentSessions", "workflows"}, model.Schema().TableNames(), "the model's schema is unchanged")
}

func TestSchema_RefusesFreeStatus(t *testing.T) {
	db := newDB(t)
	err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		_, err := model.Workflows.Insert(m.DB, model.Workflow{Owner: alice, Task: "t", Status: "running", CurrentStep: model.Planner, MaxIterations: 1})
		return err
	})
	require.ErrorIs(t, err, livedb.ErrSchemaEnforcement)
	var ve *v.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, ".status", ve.Path)
}

func TestCreateWorkflow(t *testing.T) {
	db := newDB(t)
	id := create(t, db, "add a cache", 0)
	wf := getWorkflow(t, db, id)
	assert.Equal(t, id, wf.ID)
	assert.Equal(t, alice, wf.Owner)
	assert.Equal(t, model.WorkflowPending, wf.Status)
	assert.Equal(t, model.Planner, wf.CurrentStep)
	assert.Equal(t, 0, wf.Iteration)
	assert.Equal(t, model.DefaultMaxIterations, wf.MaxIterations)
	assert.Equal(t, []string{}, wf.Artifacts)
	assert.Nil(t, wf.Error)
	assert.Positive(t, wf.UpdatedAt)

	// Both sides of the circular reference are set.
	require.NotNil(t, wf.CurrentSessionID)
	s := getSession(t, db, *wf.CurrentSessionID)
	assert.Equal(t, id, s.WorkflowID)
	assert.Equal(t, model.Planner, s.AgentType)
	assert.Equal(t, model.SessionPending, s.Status)
	assert.Equal(t, "add a cache", s.Input, "the planner works on the task")
	assert.Nil(t, s.AgentID)

	assert.Equal(t, 7, getWorkflow(t, db, create(t, db, "other", 7)).MaxIterations)
}

func TestCreateWorkflow_InvalidArgs(t *testing.T) {
	db := newDB(t)
	cases := []struct {
		name string
		args model.CreateWorkflowArgs
	}{
		{"empty task", model.CreateWorkflowArgs{Owner: alice}},
		{"no owner", model.CreateWorkflowArgs{Task: "t"}},
		{"negative max", model.CreateWorkflowArgs{Owner: alice, Task: "t", MaxIterations: -1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := mutateErr(db, func(m *livedb.MutationCtx) (livedb.Ref[model.Workflow], error) {
				return model.CreateWorkflow(m, tc.args)
			})
			require.ErrorIs(t, err, model.ErrInvalidArgument)
		})
	}
	assert.Empty(t, query(t, db, func(q *livedb.QueryCtx) ([]model.Workflow, error) { return model.ListWorkflows(q, alice) }))
}

func TestAdvanceWorkflow_Approved(t *testing.T) {
	db := newDB(t)
	id := create(t, db, "add a cache", 0)

	plan, wf := work(t, db, model.Planner, "plan: LRU in front of the store", nil)
	assert.Equal(t, model.SessionCompleted, getSession(t, db, plan.ID).Status)
	assert.Equal(t, model.WorkflowInProgress, wf.Status)
	assert.Equal(t, model.Coder, wf.CurrentStep)
	assert.Equal(t, 1, wf.Iteration)

	code, wf := work(t, db, model.Coder, "cache.go v1", nil)
	assert.Equal(t, "plan: LRU in front of the store", code.Input, "the coder works on the plan")
	assert.Equal(t, 1, code.Iteration)
	assert.Equal(t, model.Reviewer, wf.CurrentStep)

	review, wf := work(t, db, model.Reviewer, "looks good", ptr(true))
	assert.Equal(t, "cache.go v1", review.Input, "the reviewer reviews the code")
	assert.Equal(t, model.WorkflowCompleted, wf.Status)
	assert.Equal(t, []string{"cache.go v1"}, wf.Artifacts)
	assert.Equal(t, review.ID, *wf.CurrentSessionID, "a finished workflow points at its last session")
	assert.Equal(t, wf, getWorkflow(t, db, id), "the returned workflow is the stored one")

	p := query(t, db, func(q *livedb.QueryCtx) (model.Progress, error) {
		return model.WorkflowProgress(q, model.WorkflowArgs{WorkflowID: id})
	})
	assert.Equal(t, 3, p.Count(model.SessionCompleted))
	assert.Equal(t, 0, p.Reworks)

	// Nothing is left to claim, and advancing again changes nothing.
	for _, at := range model.AgentTypes {
		_, ok := tryClaim(t, db, at)
		assert.False(t, ok, "%s", at)
	}
	again := mutate(t, db, func(m *livedb.MutationCtx) (model.Workflow, error) {
		return model.AdvanceWorkflow(m, model.WorkflowArgs{WorkflowID: id})
	})
	assert.Equal(t, wf, again)
}

func TestAdvanceWorkflow_Rework(t *testing.T) {
	db := newDB(t)
	id := create(t, db, "t", 3)
	work(t, db, model.Planner, "plan", nil)
	work(t, db, model.Coder, "v1", nil)
	_, wf := work(t, db, model.Reviewer, "needs tests", ptr(false))
	assert.Equal(t, model.WorkflowInProgress, wf.Status)
	assert.Equal(t, model.Coder, wf.CurrentStep, "the reviewer sends the work back to the coder")
	assert.Equal(t, 2, wf.Iteration)

	code, _ := work(t, db, model.Coder, "v2", nil)
	assert.Equal(t, "needs tests", code.Input, "the coder works on the feedback")
	assert.Equal(t, 2, code.Iteration)
	review, wf := work(t, db, model.Reviewer, "ok", ptr(true))
	assert.Equal(t, 2, review.Iteration)
	assert.Equal(t, model.WorkflowCompleted, wf.Status)
	assert.Equal(t, []string{"v2"}, wf.Artifacts)

	p := query(t, db, func(q *livedb.QueryCtx) (model.Progress, error) {
		return model.WorkflowProgress(q, model.WorkflowArgs{WorkflowID: id})
	})
	assert.Equal(t, 1, p.Reworks)
	var steps []string
	for _, s := range p.Sessions {
		steps = append(steps, string(s.AgentType))
	}
	assert.Equal(t, []string{"planner", "coder", "reviewer", "coder", "reviewer"}, steps, "oldest first")
}

func TestAdvanceWorkflow_MaxIterations(t *testing.T) {
	db := newDB(t)
	id := create(t, db, "t", 2)
	work(t, db, model.Planner, "plan", nil)
	for i := 1; i <= 2; i++ {
		work(t, db, model.Coder, "code", nil)
		_, wf := work(t, db, model.Reviewer, "no", ptr(false))
		if i < 2 {
			assert.Equal(t, model.WorkflowInProgress, wf.Status)
			continue
		}
		assert.Equal(t, model.WorkflowFailed, wf.Status, "the guard stops the loop")
		require.NotNil(t, wf.Error)
		assert.Contains(t, *wf.Error, "after 2 coder iterations")
		assert.Empty(t, wf.Artifacts)
	}
	_, ok := tryClaim(t, db, model.Coder)
	assert.False(t, ok, "no third coder session")
	assert.Equal(t, 2, getWorkflow(t, db, id).Iteration)
}

func TestFailSession(t *testing.T) {
	db := newDB(t)
	id := create(t, db, "t", 0)
	work(t, db, model.Planner, "plan", nil)
	s := claim(t, db, model.Coder, "coder-1")
	wf := mutate(t, db, func(m *livedb.MutationCtx) (model.Workflow, error) {
		return model.FailSession(m, model.FailArgs{SessionID: s.ID, Error: "compiler crashed"})
	})
	assert.Equal(t, model.WorkflowFailed, wf.Status)
	require.NotNil(t, wf.Error)
	assert.Equal(t, "coder session failed: compiler crashed", *wf.Error)
	got := getSession(t, db, s.ID)
	assert.Equal(t, model.SessionFailed, got.Status)
	assert.Equal(t, "compiler crashed", *got.Error)
	assert.NotNil(t, got.CompletedAt)
	assert.Equal(t, wf, getWorkflow(t, db, id))

	err := mutateErr(db, func(m *livedb.MutationCtx) (model.Workflow, error) {
		return model.FailSession(m, model.FailArgs{SessionID: s.ID, Error: "again"})
	})
	assert.ErrorIs(t, err, model.ErrInvalidTransition)
}

func TestStartSession_Transitions(t *testing.T) {
	db := newDB(t)
	id := create(t, db, "t", 0)
	sid := *getWorkflow(t, db, id).CurrentSessionID
	s := mutate(t, db, func(m *livedb.MutationCtx) (model.AgentSession, error) {
		return model.StartSession(m, model.SessionArgs{SessionID: sid, AgentID: "planner-7"})
	})
	assert.Equal(t, model.SessionRunning, s.Status)
	assert.Equal(t, "planner-7", *s.AgentID)
	assert.NotNil(t, s.StartedAt)
	assert.Equal(t, s, getSession(t, db, sid))
	assert.Equal(t, model.WorkflowInProgress, getWorkflow(t, db, id).Status)

	err := mutateErr(db, func(m *livedb.MutationCtx) (model.AgentSession, error) {
		return model.StartSession(m, model.SessionArgs{SessionID: sid, AgentID: "planner-8"})
	})
	require.ErrorIs(t, err, model.ErrInvalidTransition, "a running session cannot start again")
	assert.Contains(t, err.Error(), "it is running")
	assert.Equal(t, "planner-7", *getSession(t, db, sid).AgentID)
}

func TestCompleteSession_Errors(t *testing.T) {
	db := newDB(t)
	id := create(t, db, "t", 0)
	sid := *getWorkflow(t, db, id).CurrentSessionID
	complete := func(args model.CompleteArgs) error {
		return mutateErr(db, func(m *livedb.MutationCtx) (model.Workflow, error) { return model.CompleteSession(m, args) })
	}
	require.ErrorIs(t, complete(model.CompleteArgs{SessionID: sid, Output: "x"}), model.ErrInvalidTransition, "a pending session cannot complete")
	claim(t, db, model.Planner, "p")
	require.ErrorIs(t, complete(model.CompleteArgs{SessionID: sid, Output: "x", Approved: ptr(true)}), model.ErrInvalidArgument, "a planner gives no verdict")
	require.NoError(t, complete(model.CompleteArgs{SessionID: sid, Output: "plan"}))

	work(t, db, model.Coder, "code", nil)
	rev := claim(t, db, model.Reviewer, "r")
	require.ErrorIs(t, complete(model.CompleteArgs{SessionID: rev.ID, Output: "?"}), model.ErrInvalidArgument, "a reviewer must give a verdict")
	assert.Equal(t, model.SessionRunning, getSession(t, db, rev.ID).Status, "a refused completion writes nothing")

	var missing livedb.Ref[model.AgentSession]
	mutate(t, db, func(m *livedb.MutationCtx) (bool, error) {
		tmp, err := model.Sessions.Insert(m.DB, model.AgentSession{WorkflowID: id, AgentType: model.Coder, Status: model.SessionPending})
		if err != nil {
			return false, err
		}
		missing = tmp
		return true, model.Sessions.Delete(m.DB, tmp)
	})
	require.ErrorIs(t, complete(model.CompleteArgs{SessionID: missing, Output: "x"}), model.ErrNotFound)
}

func TestReleaseSession(t *testing.T) {
	db := newDB(t)
	create(t, db, "t", 0)
	s := claim(t, db, model.Planner, "planner-1")
	release := func(agent string) (model.AgentSession, error) {
		var out model.AgentSession
		err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			var err error
			out, err = model.ReleaseSession(m, model.SessionArgs{SessionID: s.ID, AgentID: agent})
			return err
		})
		return out, err
	}
	_, err := release("planner-2")
	require.ErrorIs(t, err, model.ErrInvalidTransition, "only the claiming agent releases")
	got, err := release("planner-1")
	require.NoError(t, err)
	assert.Equal(t, model.SessionPending, got.Status)
	assert.Nil(t, got.AgentID)
	assert.Nil(t, got.StartedAt)
	_, err = release("planner-1")
	require.ErrorIs(t, err, model.ErrInvalidTransition, "a pending session cannot be released")

	again := claim(t, db, model.Planner, "planner-2")
	assert.Equal(t, s.ID, again.ID, "a released session can be claimed again")
}

func TestRequeueRunningSessions(t *testing.T) {
	db := newDB(t)
	create(t, db, "a", 0)
	create(t, db, "b", 0)
	create(t, db, "c", 0)
	a := claim(t, db, model.Planner, "p1")
	b := claim(t, db, model.Planner, "p2")
	n := mutate(t, db, model.RequeueRunningSessions)
	assert.Equal(t, 2, n)
	for _, id := range []livedb.Ref[model.AgentSession]{a.ID, b.ID} {
		s := getSession(t, db, id)
		assert.Equal(t, model.SessionPending, s.Status)
		assert.Nil(t, s.AgentID)
	}
	assert.Equal(t, 0, mutate(t, db, model.RequeueRunningSessions))
}

func TestListRunningSessions(t *testing.T) {
	db := newDB(t)
	wf1 := create(t, db, "a", 0)
	wf2 := create(t, db, "b", 0)
	running := func(id livedb.Ref[model.Workflow]) []model.AgentSession {
		return query(t, db, func(q *livedb.QueryCtx) ([]model.AgentSession, error) {
			return model.ListRunningSessions(q, model.WorkflowArgs{WorkflowID: id})
		})
	}
	assert.Empty(t, running(wf1))
	s := claim(t, db, model.Planner, "p1")
	require.Equal(t, wf1, s.WorkflowID, "the oldest pending session is claimed first")
	got := running(wf1)
	require.Len(t, got, 1)
	assert.Equal(t, s.ID, got[0].ID)
	assert.Empty(t, running(wf2), "only the workflow's own sessions")
	mutate(t, db, func(m *livedb.MutationCtx) (model.Workflow, error) {
		return model.CompleteSession(m, model.CompleteArgs{SessionID: s.ID, Output: "plan"})
	})
	assert.Empty(t, running(wf1))
}

func TestListProgress_AndUnfinished(t *testing.T) {
	db := newDB(t)
	ids := []livedb.Ref[model.Workflow]{create(t, db, "first", 0), create(t, db, "second", 0), create(t, db, "third", 0)}
	mutate(t, db, func(m *livedb.MutationCtx) (livedb.Ref[model.Workflow], error) {
		return model.CreateWorkflow(m, model.CreateWorkflowArgs{Owner: "someone|else", Task: "not alice's"})
	})
	work(t, db, model.Planner, "plan", nil) // the first workflow is now in progress
	mutate(t, db, func(m *livedb.MutationCtx) (model.Workflow, error) {
		return model.CancelWorkflow(m, model.WorkflowArgs{WorkflowID: ids[2]})
	})

	ps := query(t, db, func(q *livedb.QueryCtx) ([]model.Progress, error) { return model.ListProgress(q, alice) })
	require.Len(t, ps, 3)
	var tasks []string
	for _, p := range ps {
		tasks = append(tasks, p.Task)
	}
	assert.Equal(t, []string{"first", "second", "third"}, tasks, "oldest first, whatever the status")
	assert.Equal(t, model.WorkflowInProgress, ps[0].Status)
	assert.Equal(t, 1, ps[0].Count(model.SessionCompleted))
	assert.Equal(t, 1, ps[0].Count(model.SessionPending))
	assert.Equal(t, model.WorkflowCancelled, ps[2].Status)

	unfinished := query(t, db, func(q *livedb.QueryCtx) ([]model.Workflow, error) {
		return model.ListUnfinishedWorkflows(q, alice)
	})
	require.Len(t, unfinished, 2)
	assert.Equal(t, ids[0], unfinished[0].ID)
	assert.Equal(t, ids[1], unfinished[1].ID)
}

func TestCancelWorkflow(t *testing.T) {
	db := newDB(t)
	id := create(t, db, "t", 0)
	work(t, db, model.Planner, "plan", nil)
	s := claim(t, db, model.Coder, "coder-1")
	wf := mutate(t, db, func(m *livedb.MutationCtx) (model.Workflow, error) {
		return model.CancelWorkflow(m, model.WorkflowArgs{WorkflowID: id})
	})
	assert.Equal(t, model.WorkflowCancelled, wf.Status)
	assert.Equal(t, model.SessionCancelled, getSession(t, db, s.ID).Status, "the running session is cancelled")

	// The agent still working on it learns when it completes.
	err := mutateErr(db, func(m *livedb.MutationCtx) (model.Workflow, error) {
		return model.CompleteSession(m, model.CompleteArgs{SessionID: s.ID, Output: "late"})
	})
	require.ErrorIs(t, err, model.ErrInvalidTransition)
	err = mutateErr(db, func(m *livedb.MutationCtx) (model.Workflow, error) {
		return model.CancelWorkflow(m, model.WorkflowArgs{WorkflowID: id})
	})
	require.ErrorIs(t, err, model.ErrInvalidTransition)
	assert.True(t, strings.Contains(err.Error(), "already cancelled"), err.Error())
}

// tryClaim claims a session of type at, reporting whether one was pending.
func tryClaim(t *testing.T, db *livedb.DB, at model.AgentType) (model.AgentSession, bool) {
	t.Helper()
	var s model.AgentSession
	var ok bool
	err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		var err error
		s, ok, err = model.ClaimSession(m, model.ClaimArgs{AgentType: at, AgentID: "probe"})
		return err
	})
	require.NoError(t, err)
	return s, ok
}

func TestAdvanceWorkflow_WithoutSession(t *testing.T) {
	db := newDB(t)
	// A workflow inserted directly, without its first session.
	id := mutate(t, db, func(m *livedb.MutationCtx) (livedb.Ref[model.Workflow], error) {
		return model.Workflows.Insert(m.DB, model.Workflow{Owner: alice, Task: "bare", Status: model.WorkflowPending,
			CurrentStep: model.Planner, MaxIterations: 1, Artifacts: []string{}})
	})
	assert.Nil(t, getWorkflow(t, db, id).CurrentSessionID)
	_, ok := tryClaim(t, db, model.Planner)
	require.False(t, ok)
	wf := mutate(t, db, func(m *livedb.MutationCtx) (model.Workflow, error) {
		return model.AdvanceWorkflow(m, model.WorkflowArgs{WorkflowID: id})
	})
	require.NotNil(t, wf.CurrentSessionID, "advancing gives it its planner session")
	s := claim(t, db, model.Planner, "p")
	assert.Equal(t, *wf.CurrentSessionID, s.ID)
	assert.Equal(t, "bare", s.Input)
}

package model

import (
	"fmt"

	"github.com/livedb-go/livedb"
)

// ClaimArgs are the arguments of ClaimSession.
type ClaimArgs struct {
	AgentType AgentType `json:"agentType"`
	// AgentID names the claiming agent; it is stored on the session.
	AgentID string `json:"agentId"`
}

// SessionArgs name a session, and the agent acting on it.
type SessionArgs struct {
	SessionID livedb.Ref[AgentSession] `json:"sessionId"`
	AgentID   string                   `json:"agentId"`
}

// CompleteArgs are the arguments of CompleteSession.
type CompleteArgs struct {
	SessionID livedb.Ref[AgentSession] `json:"sessionId"`
	Output    string                   `json:"output"`
	// Approved is the reviewer's verdict: true to accept the code, false
	// to send it back to the coder with Output as feedback. It must be set
	// for a reviewer session and only for one.
	Approved *bool `json:"approved,omitempty"`
}

// FailArgs are the arguments of FailSession.
type FailArgs struct {
	SessionID livedb.Ref[AgentSession] `json:"sessionId"`
	Error     string                   `json:"error"`
}

// getSession reads a session, or fails with ErrNotFound.
func getSession(r livedb.DBReader, id livedb.Ref[AgentSession]) (AgentSession, error) {
	s, ok, err := Sessions.Get(r, id)
	if err != nil {
		return AgentSession{}, fmt.Errorf("model: session %s: %w", id, err)
	}
	if !ok {
		return AgentSession{}, fmt.Errorf("%w: session %s", ErrNotFound, id)
	}
	return s, nil
}

// ClaimSession gives the agent the oldest pending session of its type and
// starts it (see StartSession). It returns false when no session of that
// type is pending.
//
// The read of the oldest pending session and the write that starts it are
// one serializable mutation: if another agent claims the same session
// first, this mutation conflicts and is re-run, and takes the next one.
// No session is claimed twice.
func ClaimSession(m *livedb.MutationCtx, args ClaimArgs) (AgentSession, bool, error) {
	if args.AgentID == "" {
		return AgentSession{}, false, fmt.Errorf("%w: the agent ID is empty", ErrInvalidArgument)
	}
	s, ok, err := Sessions.Query(m.DB).
		WithIndex("by_type_and_status", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Eq("agentType", args.AgentType).Eq("status", SessionPending)
		}).First()
	if err != nil || !ok {
		return AgentSession{}, false, err
	}
	s, err = StartSession(m, SessionArgs{SessionID: s.ID, AgentID: args.AgentID})
	return s, err == nil, err
}

// StartSession marks a pending session as running by the agent, and its
// workflow as in progress, and cancels the session's work item: the
// session is taken by hand, not by a pool worker. A session that is not
// pending, or whose workflow is finished, is an ErrInvalidTransition.
func StartSession(m *livedb.MutationCtx, args SessionArgs) (AgentSession, error) {
	s, err := getSession(m.DB, args.SessionID)
	if err != nil {
		return AgentSession{}, err
	}
	if s.Status != SessionPending {
		return AgentSession{}, fmt.Errorf("%w: cannot start session %s: it is %s", ErrInvalidTransition, s.ID, s.Status)
	}
	if err := cancelWork(m, s); err != nil {
		return AgentSession{}, err
	}
	return start(m, s, args.AgentID)
}

// start marks a session as running by the agent, and its workflow as in
// progress, unless the workflow is finished.
func start(m *livedb.MutationCtx, s AgentSession, agentID string) (AgentSession, error) {
	wf, err := getWorkflow(m.DB, s.WorkflowID)
	if err != nil {
		return AgentSession{}, err
	}
	if wf.Status.Finished() {
		return AgentSession{}, fmt.Errorf("%w: cannot start session %s: workflow %s is %s", ErrInvalidTransition, s.ID, wf.ID, wf.Status)
	}
	now := nowMillis()
	s.Status, s.AgentID, s.StartedAt = SessionRunning, &agentID, &now
	if err := Sessions.Replace(m.DB, s.ID, s); err != nil {
		return AgentSession{}, fmt.Errorf("model: session %s: %w", s.ID, err)
	}
	if wf.Status == WorkflowPending {
		if err := Workflows.Patch(m.DB, wf.ID, livedb.Doc{"status": WorkflowInProgress, "updatedAt": now}); err != nil {
			return AgentSession{}, fmt.Errorf("model: workflow %s: %w", wf.ID, err)
		}
	}
	return s, nil
}

// CompleteSession records a running session's output (and, for a
// reviewer, its verdict), then advances its workflow (AdvanceWorkflow) in
// the same transaction, and returns the workflow.
func CompleteSession(m *livedb.MutationCtx, args CompleteArgs) (Workflow, error) {
	s, err := getSession(m.DB, args.SessionID)
	if err != nil {
		return Workflow{}, err
	}
	if s.Status != SessionRunning {
		return Workflow{}, fmt.Errorf("%w: cannot complete session %s: it is %s", ErrInvalidTransition, s.ID, s.Status)
	}
	if (s.AgentType == Reviewer) != (args.Approved != nil) {
		return Workflow{}, fmt.Errorf("%w: session %s: a reviewer session, and only one, needs a verdict (approved)", ErrInvalidArgument, s.ID)
	}
	now := nowMillis()
	s.Status, s.Output, s.Approved, s.CompletedAt = SessionCompleted, &args.Output, args.Approved, &now
	if err := Sessions.Replace(m.DB, s.ID, s); err != nil {
		return Workflow{}, fmt.Errorf("model: session %s: %w", s.ID, err)
	}
	return AdvanceWorkflow(m, WorkflowArgs{WorkflowID: s.WorkflowID})
}

// FailSession marks a pending or running session as failed with the
// error, which fails its workflow (AdvanceWorkflow), and returns the
// workflow.
func FailSession(m *livedb.MutationCtx, args FailArgs) (Workflow, error) {
	s, err := getSession(m.DB, args.SessionID)
	if err != nil {
		return Workflow{}, err
	}
	if s.Status != SessionPending && s.Status != SessionRunning {
		return Workflow{}, fmt.Errorf("%w: cannot fail session %s: it is %s", ErrInvalidTransition, s.ID, s.Status)
	}
	now := nowMillis()
	s.Status, s.Error, s.CompletedAt = SessionFailed, &args.Error, &now
	if err := Sessions.Replace(m.DB, s.ID, s); err != nil {
		return Workflow{}, fmt.Errorf("model: session %s: %w", s.ID, err)
	}
	return AdvanceWorkflow(m, WorkflowArgs{WorkflowID: s.WorkflowID})
}

// ReleaseSession puts a running session back to pending, for another
// agent to claim: an agent that stops before finishing its work releases
// its session. Only the agent that claimed it may release it.
func ReleaseSession(m *livedb.MutationCtx, args SessionArgs) (AgentSession, error) {
	s, err := getSession(m.DB, args.SessionID)
	if err != nil {
		return AgentSession{}, err
	}
	if s.Status != SessionRunning {
		return AgentSession{}, fmt.Errorf("%w: cannot release session %s: it is %s", ErrInvalidTransition, s.ID, s.Status)
	}
	if deref(s.AgentID) != args.AgentID {
		return AgentSession{}, fmt.Errorf("%w: cannot release session %s: it was claimed by %q, not %q", ErrInvalidTransition, s.ID, deref(s.AgentID), args.AgentID)
	}
	return requeue(m, s, false)
}

// requeue makes a session pending again, with a new work item unless its
// item is pending (itemPending), ready to be taken again: the old item,
// if it is still running, is canceled.
func requeue(m *livedb.MutationCtx, s AgentSession, itemPending bool) (AgentSession, error) {
	s.Status, s.AgentID, s.StartedAt = SessionPending, nil, nil
	if err := Sessions.Replace(m.DB, s.ID, s); err != nil {
		return AgentSession{}, fmt.Errorf("model: session %s: %w", s.ID, err)
	}
	if itemPending {
		return s, nil
	}
	if err := cancelWork(m, s); err != nil {
		return AgentSession{}, err
	}
	if err := enqueueSession(m, &s); err != nil {
		return AgentSession{}, err
	}
	return s, nil
}

// RequeueRunningSessions puts every running session back to pending, each
// with a new work item (the old one is canceled), and returns how many
// there were. Call it when no agent is running. Agents that work through
// the pools do not need it: the items of a run that died come back when
// their lease ends, and SweepStaleSessions puts their sessions back to
// pending.
func RequeueRunningSessions(m *livedb.MutationCtx) (int, error) {
	running, err := Sessions.Query(m.DB).
		WithIndex("by_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("status", SessionRunning) }).
		Collect()
	if err != nil {
		return 0, fmt.Errorf("model: requeue running sessions: %w", err)
	}
	for _, s := range running {
		if _, err := requeue(m, s, false); err != nil {
			return 0, err
		}
	}
	return len(running), nil
}

// sessionsWithStatus returns the sessions of a workflow with a status,
// oldest first.
func sessionsWithStatus(r livedb.DBReader, wf livedb.Ref[Workflow], st SessionStatus) ([]AgentSession, error) {
	ss, err := Sessions.Query(r).
		WithIndex("by_workflow_and_status", func(rg livedb.IndexRange) livedb.IndexRange {
			return rg.Eq("workflowId", wf).Eq("status", st)
		}).Collect()
	if err != nil {
		return nil, fmt.Errorf("model: sessions of workflow %s: %w", wf, err)
	}
	return ss, nil
}

// ListRunningSessions returns the running sessions of a workflow, oldest
// first.
func ListRunningSessions(q *livedb.QueryCtx, args WorkflowArgs) ([]AgentSession, error) {
	return sessionsWithStatus(q.DB, args.WorkflowID, SessionRunning)
}

// ListSessions returns every session of a workflow, oldest first.
func ListSessions(q *livedb.QueryCtx, args WorkflowArgs) ([]AgentSession, error) {
	ss, err := Sessions.Query(q.DB).
		WithIndex("by_workflow", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("workflowId", args.WorkflowID) }).
		Collect()
	if err != nil {
		return nil, fmt.Errorf("model: sessions of workflow %s: %w", args.WorkflowID, err)
	}
	return ss, nil
}

package model

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/livedb-go/livedb"
)

// nowMillis returns the current time in milliseconds since the Unix
// epoch, the unit of _creationTime.
func nowMillis() float64 { return float64(time.Now().UnixMilli()) }

// CreateWorkflowArgs are the arguments of CreateWorkflow.
type CreateWorkflowArgs struct {
	// Owner is the TokenIdentifier of the identity the workflow belongs to.
	Owner string `json:"owner"`
	// Task is what the workflow must achieve; it is the planner's input.
	Task string `json:"task"`
	// MaxIterations bounds the coder rounds; 0 means DefaultMaxIterations.
	MaxIterations int `json:"maxIterations,omitempty"`
	// TimeoutMs, when not zero, is how long the workflow has to finish, in
	// milliseconds: then TimeoutWorkflow fails it (a scheduled function).
	TimeoutMs int `json:"timeoutMs,omitempty"`
}

// WorkflowArgs name a workflow.
type WorkflowArgs struct {
	WorkflowID livedb.Ref[Workflow] `json:"workflowId"`
}

// CreateWorkflow inserts a pending workflow and its first session, a
// pending planner session whose input is the task (with its work item in
// the planners' pool), and returns the workflow's reference. The workflow
// is inserted first, without currentSessionId, then patched to point at
// its session: the circular reference is broken on the workflow's side.
// With a TimeoutMs, it schedules TimeoutWorkflow ("workflows:timeout") to
// run then.
func CreateWorkflow(m *livedb.MutationCtx, args CreateWorkflowArgs) (livedb.Ref[Workflow], error) {
	switch {
	case args.Task == "":
		return "", fmt.Errorf("%w: the task is empty", ErrInvalidArgument)
	case args.Owner == "":
		return "", fmt.Errorf("%w: the owner is empty", ErrInvalidArgument)
	case args.MaxIterations < 0:
		return "", fmt.Errorf("%w: maxIterations %d is negative", ErrInvalidArgument, args.MaxIterations)
	case args.TimeoutMs < 0:
		return "", fmt.Errorf("%w: timeoutMs %d is negative", ErrInvalidArgument, args.TimeoutMs)
	}
	if args.MaxIterations == 0 {
		args.MaxIterations = DefaultMaxIterations
	}
	now := nowMillis()
	wf := Workflow{
		Owner:         args.Owner,
		Task:          args.Task,
		Status:        WorkflowPending,
		CurrentStep:   Planner,
		MaxIterations: args.MaxIterations,
		Artifacts:     []string{},
		UpdatedAt:     now,
	}
	id, err := Workflows.Insert(m.DB, wf)
	if err != nil {
		return "", fmt.Errorf("model: create workflow: %w", err)
	}
	wf.ID = id
	if args.TimeoutMs > 0 {
		job, err := m.Scheduler().RunAfter(time.Duration(args.TimeoutMs)*time.Millisecond, "workflows:timeout", TimeoutArgs{WorkflowID: id})
		if err != nil {
			return "", fmt.Errorf("model: create workflow: schedule its timeout: %w", err)
		}
		j := string(job)
		wf.TimeoutJobID = &j
	}
	if _, err := addSession(m, &wf, Planner, args.Task, now); err != nil {
		return "", err
	}
	return id, nil
}

// addSession inserts a pending session of agent type t for the workflow,
// with its work item in the pool of t, and makes it the workflow's current
// session.
func addSession(m *livedb.MutationCtx, wf *Workflow, t AgentType, input string, now float64) (livedb.Ref[AgentSession], error) {
	s := AgentSession{
		WorkflowID: wf.ID,
		AgentType:  t,
		Status:     SessionPending,
		Iteration:  wf.Iteration,
		Input:      input,
	}
	sid, err := Sessions.Insert(m.DB, s)
	if err != nil {
		return "", fmt.Errorf("model: workflow %s: add %s session: %w", wf.ID, t, err)
	}
	s.ID = sid
	if err := enqueueSession(m, &s); err != nil {
		return "", err
	}
	wf.CurrentStep, wf.CurrentSessionID, wf.UpdatedAt = t, &sid, now
	if err := Workflows.Replace(m.DB, wf.ID, *wf); err != nil {
		return "", fmt.Errorf("model: workflow %s: %w", wf.ID, err)
	}
	return sid, nil
}

// getWorkflow reads a workflow, or fails with ErrNotFound.
func getWorkflow(r livedb.DBReader, id livedb.Ref[Workflow]) (Workflow, error) {
	wf, ok, err := Workflows.Get(r, id)
	if err != nil {
		return Workflow{}, fmt.Errorf("model: workflow %s: %w", id, err)
	}
	if !ok {
		return Workflow{}, fmt.Errorf("%w: workflow %s", ErrNotFound, id)
	}
	return wf, nil
}

// GetWorkflow returns the workflow, or an error wrapping ErrNotFound.
func GetWorkflow(q *livedb.QueryCtx, args WorkflowArgs) (Workflow, error) {
	return getWorkflow(q.DB, args.WorkflowID)
}

// AdvanceWorkflow moves the workflow to its next step once its current
// session is finished, and returns it:
//
//   - after the planner, a coder session (iteration 1) works on the plan;
//   - after a coder, a reviewer session reviews the code;
//   - when the reviewer approves, the workflow is completed and the code
//     is added to its artifacts;
//   - when the reviewer requests changes, a new coder session works on the
//     feedback (the next iteration), unless the workflow reached its
//     MaxIterations: then it fails;
//   - when the session failed, the workflow fails with its error.
//
// While the current session is pending or running, and once the workflow
// is finished, AdvanceWorkflow changes nothing, so calling it again is
// harmless. CompleteSession and FailSession call it.
func AdvanceWorkflow(m *livedb.MutationCtx, args WorkflowArgs) (Workflow, error) {
	wf, err := getWorkflow(m.DB, args.WorkflowID)
	if err != nil {
		return Workflow{}, err
	}
	if wf.Status.Finished() {
		return wf, nil
	}
	now := nowMillis()
	if wf.CurrentSessionID == nil { // interrupted creation: start again
		_, err := addSession(m, &wf, Planner, wf.Task, now)
		return wf, err
	}
	cur, err := getSession(m.DB, *wf.CurrentSessionID)
	if err != nil {
		return Workflow{}, err
	}
	switch cur.Status {
	case SessionFailed:
		return finish(m, wf, WorkflowFailed, fmt.Sprintf("%s session failed: %s", cur.AgentType, deref(cur.Error)), now)
	case SessionCompleted:
	default:
		return wf, nil
	}
	output := deref(cur.Output)
	switch cur.AgentType {
	case Planner:
		wf.Iteration = 1
		_, err = addSession(m, &wf, Coder, output, now)
	case Coder:
		_, err = addSession(m, &wf, Reviewer, output, now)
	case Reviewer:
		switch {
		case cur.Approved != nil && *cur.Approved:
			wf.Artifacts = append(wf.Artifacts, cur.Input)
			return finish(m, wf, WorkflowCompleted, "", now)
		case wf.Iteration >= wf.MaxIterations:
			return finish(m, wf, WorkflowFailed, fmt.Sprintf("the reviewer still requested changes after %d coder iterations (the maximum)", wf.Iteration), now)
		}
		wf.Iteration++
		_, err = addSession(m, &wf, Coder, output, now)
	}
	return wf, err
}

// finish gives the workflow a final status, and cancels its timeout.
func finish(m *livedb.MutationCtx, wf Workflow, status WorkflowStatus, reason string, now float64) (Workflow, error) {
	wf.Status, wf.UpdatedAt = status, now
	if reason != "" {
		wf.Error = &reason
	}
	if wf.TimeoutJobID != nil {
		if err := m.Scheduler().Cancel(livedb.ID(*wf.TimeoutJobID)); err != nil {
			return Workflow{}, fmt.Errorf("model: workflow %s: cancel its timeout: %w", wf.ID, err)
		}
	}
	if err := Workflows.Replace(m.DB, wf.ID, wf); err != nil {
		return Workflow{}, fmt.Errorf("model: workflow %s: %w", wf.ID, err)
	}
	return wf, nil
}

// CancelWorkflow cancels an unfinished workflow and its pending and
// running sessions, and their work items (an agent still working on one
// has its result dropped). A finished workflow cannot be cancelled.
func CancelWorkflow(m *livedb.MutationCtx, args WorkflowArgs) (Workflow, error) {
	wf, err := getWorkflow(m.DB, args.WorkflowID)
	if err != nil {
		return Workflow{}, err
	}
	if wf.Status.Finished() {
		return Workflow{}, fmt.Errorf("%w: workflow %s is already %s", ErrInvalidTransition, wf.ID, wf.Status)
	}
	if err := cancelOpenSessions(m, wf, "workflow cancelled"); err != nil {
		return Workflow{}, err
	}
	return finish(m, wf, WorkflowCancelled, "cancelled by its owner", nowMillis())
}

// cancelOpenSessions cancels the pending and running sessions of a
// workflow, and their work items, with reason.
func cancelOpenSessions(m *livedb.MutationCtx, wf Workflow, reason string) error {
	now := nowMillis()
	for _, st := range []SessionStatus{SessionPending, SessionRunning} {
		open, err := sessionsWithStatus(m.DB, wf.ID, st)
		if err != nil {
			return err
		}
		for _, s := range open {
			if err := Sessions.Patch(m.DB, s.ID, livedb.Doc{"status": SessionCancelled, "error": reason, "completedAt": now}); err != nil {
				return fmt.Errorf("model: session %s: %w", s.ID, err)
			}
			if err := cancelWork(m, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// ListWorkflows returns the workflows of owner, oldest first.
func ListWorkflows(q *livedb.QueryCtx, owner string) ([]Workflow, error) {
	wfs, err := Workflows.Query(q.DB).
		WithIndex("by_owner_and_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("owner", owner) }).
		Collect()
	if err != nil {
		return nil, fmt.Errorf("model: list workflows: %w", err)
	}
	slices.SortFunc(wfs, func(a, b Workflow) int {
		return cmp.Or(cmp.Compare(a.CreationTime, b.CreationTime), cmp.Compare(a.ID, b.ID))
	})
	return wfs, nil
}

// ListUnfinishedWorkflows returns the pending and in-progress workflows of
// owner, oldest first: what a restarted orchestrator resumes.
func ListUnfinishedWorkflows(q *livedb.QueryCtx, owner string) ([]Workflow, error) {
	var out []Workflow
	for _, st := range []WorkflowStatus{WorkflowPending, WorkflowInProgress} {
		wfs, err := Workflows.Query(q.DB).
			WithIndex("by_owner_and_status", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("owner", owner).Eq("status", st)
			}).Collect()
		if err != nil {
			return nil, fmt.Errorf("model: list unfinished workflows: %w", err)
		}
		out = append(out, wfs...)
	}
	slices.SortFunc(out, func(a, b Workflow) int {
		return cmp.Or(cmp.Compare(a.CreationTime, b.CreationTime), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

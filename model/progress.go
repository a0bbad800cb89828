package model

import (
	"fmt"

	"github.com/livedb-go/livedb"
)

// Progress is a workflow's state and the history of its sessions, as a
// monitor shows it.
type Progress struct {
	WorkflowID    livedb.Ref[Workflow] `json:"workflowId"`
	Task          string               `json:"task"`
	Status        WorkflowStatus       `json:"status"`
	CurrentStep   AgentType            `json:"currentStep"`
	Iteration     int                  `json:"iteration"`
	MaxIterations int                  `json:"maxIterations"`
	// Reworks counts the reviews that sent the code back to the coder.
	Reworks int `json:"reworks"`
	// Sessions lists the workflow's sessions, oldest first.
	Sessions []SessionSummary `json:"sessions"`
	Error    *string          `json:"error"`
}

// SessionSummary is one session in a Progress.
type SessionSummary struct {
	SessionID livedb.Ref[AgentSession] `json:"sessionId"`
	AgentType AgentType                `json:"agentType"`
	Status    SessionStatus            `json:"status"`
	Iteration int                      `json:"iteration"`
	AgentID   *string                  `json:"agentId"`
	Approved  *bool                    `json:"approved"`
}

// Count returns how many of the workflow's sessions have status st.
func (p Progress) Count(st SessionStatus) int {
	n := 0
	for _, s := range p.Sessions {
		if s.Status == st {
			n++
		}
	}
	return n
}

// SessionStatuses lists every SessionStatus, in the order a monitor shows
// them.
var SessionStatuses = []SessionStatus{SessionPending, SessionRunning, SessionCompleted, SessionFailed, SessionCancelled}

// SessionCounts returns how many sessions of the workflow have each
// status (statuses without sessions are absent). It reads the counts that
// the by_workflow_and_status aggregate keeps, one stored row per status,
// without visiting the sessions; a subscription to it re-runs only when a
// session of the workflow is added, removed or changes status.
func SessionCounts(q *livedb.QueryCtx, args WorkflowArgs) (map[SessionStatus]int64, error) {
	out := map[SessionStatus]int64{}
	for _, st := range SessionStatuses {
		n, err := Sessions.Query(q.DB).WithIndex("by_workflow_and_status", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Eq("workflowId", args.WorkflowID).Eq("status", st)
		}).Count()
		if err != nil {
			return nil, fmt.Errorf("model: session counts of workflow %s: %w", args.WorkflowID, err)
		}
		if n > 0 {
			out[st] = n
		}
	}
	return out, nil
}

// WorkflowProgress returns the progress of a workflow. It reads the
// workflow and its sessions (through the by_workflow index), so a
// subscription to it is re-run only when they change.
func WorkflowProgress(q *livedb.QueryCtx, args WorkflowArgs) (Progress, error) {
	wf, err := getWorkflow(q.DB, args.WorkflowID)
	if err != nil {
		return Progress{}, err
	}
	return progressOf(q, wf)
}

func progressOf(q *livedb.QueryCtx, wf Workflow) (Progress, error) {
	ss, err := ListSessions(q, WorkflowArgs{WorkflowID: wf.ID})
	if err != nil {
		return Progress{}, err
	}
	p := Progress{
		WorkflowID:    wf.ID,
		Task:          wf.Task,
		Status:        wf.Status,
		CurrentStep:   wf.CurrentStep,
		Iteration:     wf.Iteration,
		MaxIterations: wf.MaxIterations,
		Sessions:      make([]SessionSummary, len(ss)),
		Error:         wf.Error,
	}
	for i, s := range ss {
		p.Sessions[i] = SessionSummary{SessionID: s.ID, AgentType: s.AgentType, Status: s.Status,
			Iteration: s.Iteration, AgentID: s.AgentID, Approved: s.Approved}
		if s.Approved != nil && !*s.Approved {
			p.Reworks++
		}
	}
	return p, nil
}

// ListProgress returns the progress of every workflow of owner, oldest
// first.
func ListProgress(q *livedb.QueryCtx, owner string) ([]Progress, error) {
	wfs, err := ListWorkflows(q, owner)
	if err != nil {
		return nil, err
	}
	out := make([]Progress, len(wfs))
	for i, wf := range wfs {
		if out[i], err = progressOf(q, wf); err != nil {
			return nil, fmt.Errorf("model: progress of workflow %s: %w", wf.ID, err)
		}
	}
	return out, nil
}

package model

import (
	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
	"github.com/livedb-go/livedb/workpool"
)

// NewWorkflowArgs are the arguments of API.CreateWorkflow: the owner is the
// caller.
type NewWorkflowArgs struct {
	Task string `json:"task"`
	// MaxIterations bounds the coder rounds; 0 means DefaultMaxIterations.
	MaxIterations int `json:"maxIterations,omitempty"`
	// TimeoutMs, when not zero, is how long the workflow has to finish.
	TimeoutMs int `json:"timeoutMs,omitempty"`
}

// OwnerArgs name the owner of workflows, for internal functions.
type OwnerArgs struct {
	Owner string `json:"owner"`
}

// PublicFunctions are the functions a client may call (Convex's api.*).
// Each requires an identity in the context and works only on the caller's
// own workflows.
type PublicFunctions struct {
	// CreateWorkflow ("workflows:create") creates a workflow owned by the
	// caller; see CreateWorkflow.
	CreateWorkflow *livedb.MutationFunction[NewWorkflowArgs, livedb.Ref[Workflow]]
	// GetWorkflow ("workflows:get") returns one of the caller's workflows.
	GetWorkflow *livedb.QueryFunction[WorkflowArgs, Workflow]
	// WorkflowProgress ("workflows:progress"); see WorkflowProgress.
	WorkflowProgress *livedb.QueryFunction[WorkflowArgs, Progress]
	// ListRunningSessions ("workflows:listRunningSessions"); see
	// ListRunningSessions.
	ListRunningSessions *livedb.QueryFunction[WorkflowArgs, []AgentSession]
	// ListMyWorkflows ("workflows:listMine") returns the progress of every
	// workflow of the caller, oldest first.
	ListMyWorkflows *livedb.QueryFunction[struct{}, []Progress]
	// CancelWorkflow ("workflows:cancel"); see CancelWorkflow.
	CancelWorkflow *livedb.MutationFunction[WorkflowArgs, Workflow]
}

// InternalFunctions are the functions of trusted code, the agents' worker
// loop and the orchestrator (Convex's internal.*): a Registry never serves
// them to a client, and they do not check the caller.
type InternalFunctions struct {
	// ClaimSession ("agents:claim") returns the claimed session, or nil
	// when none of the agent's type is pending; see ClaimSession.
	ClaimSession *livedb.MutationFunction[ClaimArgs, *AgentSession]
	// StartSession ("agents:start"); see StartSession.
	StartSession *livedb.MutationFunction[SessionArgs, AgentSession]
	// CompleteSession ("agents:complete"); see CompleteSession.
	CompleteSession *livedb.MutationFunction[CompleteArgs, Workflow]
	// FailSession ("agents:fail"); see FailSession.
	FailSession *livedb.MutationFunction[FailArgs, Workflow]
	// ReleaseSession ("agents:release"); see ReleaseSession.
	ReleaseSession *livedb.MutationFunction[SessionArgs, AgentSession]
	// RequeueRunningSessions ("agents:requeueRunning"); see
	// RequeueRunningSessions.
	RequeueRunningSessions *livedb.MutationFunction[struct{}, int]
	// AdvanceWorkflow ("workflows:advance"); see AdvanceWorkflow.
	AdvanceWorkflow *livedb.MutationFunction[WorkflowArgs, Workflow]
	// ListUnfinishedWorkflows ("workflows:listUnfinished"); see
	// ListUnfinishedWorkflows.
	ListUnfinishedWorkflows *livedb.QueryFunction[OwnerArgs, []Workflow]
	// ListProgress ("workflows:listProgress"); see ListProgress.
	ListProgress *livedb.QueryFunction[OwnerArgs, []Progress]
	// BeginSession ("agents:begin"), called by a pool worker that took a
	// session's item; see BeginSession.
	BeginSession *livedb.MutationFunction[BeginArgs, AgentSession]
	// OnAgentComplete ("agents:onComplete"), the onComplete of the agent
	// pools' items; see OnAgentComplete.
	OnAgentComplete *livedb.MutationFunction[workpool.OnCompleteArgs, any]
	// SweepStaleSessions ("agents:sweep"), run by the cron of Crons; see
	// SweepStaleSessions.
	SweepStaleSessions *livedb.MutationFunction[struct{}, int]
	// TimeoutWorkflow ("workflows:timeout"), scheduled by CreateWorkflow;
	// see TimeoutWorkflow.
	TimeoutWorkflow *livedb.MutationFunction[TimeoutArgs, Workflow]
}

func workflowArgs() v.Validator { return v.Object(v.Fields{"workflowId": v.ID(WorkflowsTable)}) }

func sessionArgs() v.Validator {
	return v.Object(v.Fields{"sessionId": v.ID(SessionsTable), "agentId": v.String()})
}

func ownerArgs() v.Validator { return v.Object(v.Fields{"owner": v.String()}) }

func progressValidator() v.Validator {
	return v.Object(v.Fields{
		"workflowId":    v.ID(WorkflowsTable),
		"task":          v.String(),
		"status":        workflowStatusValidator(),
		"currentStep":   agentTypeValidator(),
		"iteration":     v.Float64(),
		"maxIterations": v.Float64(),
		"reworks":       v.Float64(),
		"error":         v.Optional(v.String()),
		"sessions": v.Array(v.Object(v.Fields{
			"sessionId": v.ID(SessionsTable),
			"agentType": agentTypeValidator(),
			"status":    sessionStatusValidator(),
			"iteration": v.Float64(),
			"agentId":   v.Optional(v.String()),
			"approved":  v.Optional(v.Boolean()),
		})),
	})
}

// API holds the model's public functions.
var API = PublicFunctions{
	CreateWorkflow: livedb.NewMutation(livedb.FunctionDef[NewWorkflowArgs, livedb.Ref[Workflow]]{
		Name:    "workflows:create",
		Args:    v.Object(v.Fields{"task": v.String(), "maxIterations": v.Optional(v.Float64()), "timeoutMs": v.Optional(v.Float64())}),
		Returns: v.ID(WorkflowsTable),
	}, func(m *livedb.MutationCtx, a NewWorkflowArgs) (livedb.Ref[Workflow], error) {
		owner, err := Caller(m.Query())
		if err != nil {
			return "", err
		}
		return CreateWorkflow(m, CreateWorkflowArgs{Owner: owner, Task: a.Task, MaxIterations: a.MaxIterations, TimeoutMs: a.TimeoutMs})
	}),
	GetWorkflow: livedb.NewQuery(livedb.FunctionDef[WorkflowArgs, Workflow]{
		Name: "workflows:get", Args: workflowArgs(), Returns: workflowDoc(),
	}, Authorize),
	WorkflowProgress: livedb.NewQuery(livedb.FunctionDef[WorkflowArgs, Progress]{
		Name: "workflows:progress", Args: workflowArgs(), Returns: progressValidator(),
	}, func(q *livedb.QueryCtx, a WorkflowArgs) (Progress, error) {
		wf, err := Authorize(q, a)
		if err != nil {
			return Progress{}, err
		}
		return progressOf(q, wf)
	}),
	ListRunningSessions: livedb.NewQuery(livedb.FunctionDef[WorkflowArgs, []AgentSession]{
		Name: "workflows:listRunningSessions", Args: workflowArgs(), Returns: v.Array(sessionDoc()),
	}, func(q *livedb.QueryCtx, a WorkflowArgs) ([]AgentSession, error) {
		if _, err := Authorize(q, a); err != nil {
			return nil, err
		}
		return ListRunningSessions(q, a)
	}),
	ListMyWorkflows: livedb.NewQuery(livedb.FunctionDef[struct{}, []Progress]{
		Name: "workflows:listMine", Args: v.Object(v.Fields{}), Returns: v.Array(progressValidator()),
	}, func(q *livedb.QueryCtx, _ struct{}) ([]Progress, error) {
		owner, err := Caller(q)
		if err != nil {
			return nil, err
		}
		return ListProgress(q, owner)
	}),
	CancelWorkflow: livedb.NewMutation(livedb.FunctionDef[WorkflowArgs, Workflow]{
		Name: "workflows:cancel", Args: workflowArgs(), Returns: workflowDoc(),
	}, func(m *livedb.MutationCtx, a WorkflowArgs) (Workflow, error) {
		if _, err := Authorize(m.Query(), a); err != nil {
			return Workflow{}, err
		}
		return CancelWorkflow(m, a)
	}),
}

// Internal holds the model's internal functions.
var Internal = InternalFunctions{
	ClaimSession: livedb.NewMutation(livedb.FunctionDef[ClaimArgs, *AgentSession]{
		Name: "agents:claim", Internal: true,
		Args:    v.Object(v.Fields{"agentType": agentTypeValidator(), "agentId": v.String()}),
		Returns: v.Nullable(sessionDoc()),
	}, func(m *livedb.MutationCtx, a ClaimArgs) (*AgentSession, error) {
		s, ok, err := ClaimSession(m, a)
		if err != nil || !ok {
			return nil, err
		}
		return &s, nil
	}),
	StartSession: livedb.NewMutation(livedb.FunctionDef[SessionArgs, AgentSession]{
		Name: "agents:start", Internal: true, Args: sessionArgs(), Returns: sessionDoc(),
	}, StartSession),
	CompleteSession: livedb.NewMutation(livedb.FunctionDef[CompleteArgs, Workflow]{
		Name: "agents:complete", Internal: true,
		Args:    v.Object(v.Fields{"sessionId": v.ID(SessionsTable), "output": v.String(), "approved": v.Optional(v.Boolean())}),
		Returns: workflowDoc(),
	}, CompleteSession),
	FailSession: livedb.NewMutation(livedb.FunctionDef[FailArgs, Workflow]{
		Name: "agents:fail", Internal: true,
		Args:    v.Object(v.Fields{"sessionId": v.ID(SessionsTable), "error": v.String()}),
		Returns: workflowDoc(),
	}, FailSession),
	ReleaseSession: livedb.NewMutation(livedb.FunctionDef[SessionArgs, AgentSession]{
		Name: "agents:release", Internal: true, Args: sessionArgs(), Returns: sessionDoc(),
	}, ReleaseSession),
	RequeueRunningSessions: livedb.NewMutation(livedb.FunctionDef[struct{}, int]{
		Name: "agents:requeueRunning", Internal: true, Args: v.Object(v.Fields{}), Returns: v.Float64(),
	}, func(m *livedb.MutationCtx, _ struct{}) (int, error) { return RequeueRunningSessions(m) }),
	AdvanceWorkflow: livedb.NewMutation(livedb.FunctionDef[WorkflowArgs, Workflow]{
		Name: "workflows:advance", Internal: true, Args: workflowArgs(), Returns: workflowDoc(),
	}, AdvanceWorkflow),
	ListUnfinishedWorkflows: livedb.NewQuery(livedb.FunctionDef[OwnerArgs, []Workflow]{
		Name: "workflows:listUnfinished", Internal: true, Args: ownerArgs(), Returns: v.Array(workflowDoc()),
	}, func(q *livedb.QueryCtx, a OwnerArgs) ([]Workflow, error) { return ListUnfinishedWorkflows(q, a.Owner) }),
	ListProgress: livedb.NewQuery(livedb.FunctionDef[OwnerArgs, []Progress]{
		Name: "workflows:listProgress", Internal: true, Args: ownerArgs(), Returns: v.Array(progressValidator()),
	}, func(q *livedb.QueryCtx, a OwnerArgs) ([]Progress, error) { return ListProgress(q, a.Owner) }),
	BeginSession: livedb.NewMutation(livedb.FunctionDef[BeginArgs, AgentSession]{
		Name: "agents:begin", Internal: true,
		Args:    v.Object(v.Fields{"sessionId": v.ID(SessionsTable), "agentId": v.String(), "workId": v.ID(workpool.ItemsTable)}),
		Returns: sessionDoc(),
	}, BeginSession),
	OnAgentComplete: livedb.NewMutation(livedb.FunctionDef[workpool.OnCompleteArgs, any]{
		Name: onCompleteName, Internal: true,
	}, func(m *livedb.MutationCtx, a workpool.OnCompleteArgs) (any, error) { return nil, OnAgentComplete(m, a) }),
	SweepStaleSessions: livedb.NewMutation(livedb.FunctionDef[struct{}, int]{
		Name: "agents:sweep", Internal: true, Args: v.Object(v.Fields{}), Returns: v.Float64(),
	}, func(m *livedb.MutationCtx, _ struct{}) (int, error) { return SweepStaleSessions(m) }),
	TimeoutWorkflow: livedb.NewMutation(livedb.FunctionDef[TimeoutArgs, Workflow]{
		Name: "workflows:timeout", Internal: true, Args: workflowArgs(), Returns: workflowDoc(),
	}, TimeoutWorkflow),
}

// Functions returns every function of the model, public and internal, for
// livedb.NewRegistry: a registry serves only the public ones to
// Registry.CallPublic.
func Functions() []livedb.Registerable {
	return []livedb.Registerable{
		API.CreateWorkflow, API.GetWorkflow, API.WorkflowProgress, API.ListRunningSessions,
		API.ListMyWorkflows, API.CancelWorkflow,
		Internal.ClaimSession, Internal.StartSession, Internal.CompleteSession, Internal.FailSession,
		Internal.ReleaseSession, Internal.RequeueRunningSessions, Internal.AdvanceWorkflow,
		Internal.ListUnfinishedWorkflows, Internal.ListProgress,
		Internal.BeginSession, Internal.OnAgentComplete, Internal.SweepStaleSessions, Internal.TimeoutWorkflow,
	}
}

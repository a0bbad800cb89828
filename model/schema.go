package model

import (
	"sync"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
	"github.com/livedb-go/livedb/workpool"
)

// The tables of the model.
const (
	WorkflowsTable = "workflows"
	SessionsTable  = "agentSessions"
)

// WorkflowStatus is the state of a workflow.
type WorkflowStatus string

// The workflow statuses. Completed, Failed and Cancelled are final.
const (
	WorkflowPending    WorkflowStatus = "pending"     // created, no session started yet
	WorkflowInProgress WorkflowStatus = "in_progress" // a session has started
	WorkflowCompleted  WorkflowStatus = "completed"   // the reviewer approved
	WorkflowFailed     WorkflowStatus = "failed"      // a session failed, or too many iterations
	WorkflowCancelled  WorkflowStatus = "cancelled"   // cancelled by its owner
)

// Finished reports whether the status is final.
func (s WorkflowStatus) Finished() bool {
	return s == WorkflowCompleted || s == WorkflowFailed || s == WorkflowCancelled
}

// AgentType is the kind of agent a session needs.
type AgentType string

// The agent types, in the order a workflow uses them.
const (
	Planner  AgentType = "planner"
	Coder    AgentType = "coder"
	Reviewer AgentType = "reviewer"
)

// AgentTypes lists the agent types in workflow order.
var AgentTypes = []AgentType{Planner, Coder, Reviewer}

// SessionStatus is the state of an agent session.
type SessionStatus string

// The session statuses. Completed, Failed and Cancelled are final.
const (
	SessionPending   SessionStatus = "pending"   // waiting for an agent
	SessionRunning   SessionStatus = "running"   // claimed by an agent
	SessionCompleted SessionStatus = "completed" // done, with an output
	SessionFailed    SessionStatus = "failed"    // the agent gave up, with an error
	SessionCancelled SessionStatus = "cancelled" // its workflow was cancelled
)

// DefaultMaxIterations is how many coder rounds a workflow allows when
// CreateWorkflowArgs.MaxIterations is zero.
const DefaultMaxIterations = 3

// Workflow is a document of the workflows table.
type Workflow struct {
	ID           livedb.Ref[Workflow] `json:"_id"`
	CreationTime float64              `json:"_creationTime"`
	// Owner is the TokenIdentifier of the identity the workflow belongs to.
	Owner  string         `json:"owner"`
	Task   string         `json:"task"`
	Status WorkflowStatus `json:"status"`
	// CurrentStep is the agent type of the current session.
	CurrentStep AgentType `json:"currentStep"`
	// CurrentSessionID is the session the workflow waits for, or the last
	// one once it is finished. It is nil only while the workflow is being
	// created (the circular reference is broken on this side).
	CurrentSessionID *livedb.Ref[AgentSession] `json:"currentSessionId"`
	// Iteration counts the coder rounds started: 0 while planning.
	Iteration     int `json:"iteration"`
	MaxIterations int `json:"maxIterations"`
	// Artifacts holds the outputs the reviewer approved.
	Artifacts []string `json:"artifacts"`
	// Error says why a workflow failed or was cancelled.
	Error *string `json:"error"`
	// UpdatedAt is when the workflow last changed, in milliseconds since
	// the Unix epoch.
	UpdatedAt float64 `json:"updatedAt"`
	// TimeoutJobID is the scheduled TimeoutWorkflow of a workflow created
	// with a deadline, canceled when the workflow finishes first.
	TimeoutJobID *string `json:"timeoutJobId"`
}

// AgentSession is a document of the agentSessions table: one agent's turn
// on a workflow.
type AgentSession struct {
	ID           livedb.Ref[AgentSession] `json:"_id"`
	CreationTime float64                  `json:"_creationTime"`
	WorkflowID   livedb.Ref[Workflow]     `json:"workflowId"`
	AgentType    AgentType                `json:"agentType"`
	Status       SessionStatus            `json:"status"`
	// Iteration is the workflow's coder round the session belongs to.
	Iteration int `json:"iteration"`
	// Input is what the agent works on: the task for the planner, the plan
	// or the reviewer's feedback for the coder, the code for the reviewer.
	Input  string  `json:"input"`
	Output *string `json:"output"`
	// Approved is the reviewer's verdict; nil for other agents.
	Approved *bool `json:"approved"`
	// Error says why the session failed or was cancelled.
	Error *string `json:"error"`
	// AgentID names the agent that claimed the session.
	AgentID     *string  `json:"agentId"`
	StartedAt   *float64 `json:"startedAt"`
	CompletedAt *float64 `json:"completedAt"`
	// WorkID is the session's item in its agent pool (see AgentPool).
	WorkID *string `json:"workId"`
}

// Typed access to the model's tables.
var (
	Workflows = livedb.NewTable[Workflow](WorkflowsTable)
	Sessions  = livedb.NewTable[AgentSession](SessionsTable)
)

func workflowStatusValidator() v.Validator {
	return v.Union(v.Literal(string(WorkflowPending)), v.Literal(string(WorkflowInProgress)),
		v.Literal(string(WorkflowCompleted)), v.Literal(string(WorkflowFailed)), v.Literal(string(WorkflowCancelled)))
}

func sessionStatusValidator() v.Validator {
	return v.Union(v.Literal(string(SessionPending)), v.Literal(string(SessionRunning)),
		v.Literal(string(SessionCompleted)), v.Literal(string(SessionFailed)), v.Literal(string(SessionCancelled)))
}

func agentTypeValidator() v.Validator {
	return v.Union(v.Literal(string(Planner)), v.Literal(string(Coder)), v.Literal(string(Reviewer)))
}

// workflowFields validates a workflow without its system fields.
func workflowFields() *v.ObjectValidator {
	return v.Object(v.Fields{
		"owner":            v.String(),
		"task":             v.String(),
		"status":           workflowStatusValidator(),
		"currentStep":      agentTypeValidator(),
		"currentSessionId": v.Optional(v.ID(SessionsTable)),
		"iteration":        v.Float64(),
		"maxIterations":    v.Float64(),
		"artifacts":        v.Array(v.String()),
		"error":            v.Optional(v.String()),
		"updatedAt":        v.Float64(),
		"timeoutJobId":     v.Optional(v.ID("_scheduled_functions")),
	})
}

// sessionFields validates an agent session without its system fields.
func sessionFields() *v.ObjectValidator {
	return v.Object(v.Fields{
		"workflowId":  v.ID(WorkflowsTable),
		"agentType":   agentTypeValidator(),
		"status":      sessionStatusValidator(),
		"iteration":   v.Float64(),
		"input":       v.String(),
		"output":      v.Optional(v.String()),
		"approved":    v.Optional(v.Boolean()),
		"error":       v.Optional(v.String()),
		"agentId":     v.Optional(v.String()),
		"startedAt":   v.Optional(v.Float64()),
		"completedAt": v.Optional(v.Float64()),
		"workId":      v.Optional(v.ID(workpool.ItemsTable)),
	})
}

// workflowDoc validates a workflow read from the database.
func workflowDoc() *v.ObjectValidator {
	return workflowFields().Extend(v.Fields{"_id": v.ID(WorkflowsTable), "_creationTime": v.Float64()})
}

// sessionDoc validates a session read from the database.
func sessionDoc() *v.ObjectValidator {
	return sessionFields().Extend(v.Fields{"_id": v.ID(SessionsTable), "_creationTime": v.Float64()})
}

// Tables returns fresh definitions of the model's tables, for a schema that
// adds tables of its own:
//
//	tables := model.Tables()
//	tables["notes"] = livedb.DefineTable(v.Object(v.Fields{"text": v.String()}))
//	schema := livedb.DefineSchema(tables)
func Tables() livedb.Tables {
	return livedb.Tables{
		WorkflowsTable: livedb.DefineTable(workflowFields()).
			Index("by_status", "status").
			Index("by_owner_and_status", "owner", "status"),
		SessionsTable: livedb.DefineTable(sessionFields()).
			Index("by_workflow", "workflowId").
			Index("by_status", "status").
			// The aggregate keeps the sessions' counts per workflow and
			// status, which SessionCounts reads without visiting them.
			Index("by_workflow_and_status", "workflowId", "status").Aggregate().
			Index("by_type_and_status", "agentType", "status").
			SearchIndex("search_output", "output", "workflowId", "status"),
	}
}

var schema = sync.OnceValue(func() *livedb.Schema { return livedb.DefineSchema(Tables()) })

// Schema returns the model's schema: the workflows and agentSessions
// tables with their validators (statuses and agent types are unions of
// literals) and indexes:
//
//	workflows:      by_status (status), by_owner_and_status (owner, status)
//	agentSessions:  by_workflow (workflowId), by_status (status),
//	                by_workflow_and_status (workflowId, status),
//	                by_type_and_status (agentType, status), for claiming;
//	                search_output, a text search on output filtered by
//	                workflowId and status (SearchOutputs)
//
// The schema is immutable and may be shared by any number of databases.
func Schema() *livedb.Schema { return schema() }

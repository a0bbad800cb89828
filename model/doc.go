// Package model is the agent-orchestration state of livedb's seed design, made
// reusable: workflows that a planner, a coder and a reviewer agent work
// through, and the agent sessions that do the work.
//
// It follows the helper-function pattern Convex recommends: the business
// logic is in plain functions that take the transaction context
// ([CreateWorkflow], [ClaimSession], [CompleteSession], [AdvanceWorkflow],
// [WorkflowProgress], ...), so queries, mutations and tests share it, and
// thin validated functions wrap them: [API] holds the public ones (Convex's
// api.*), which check that the caller owns the workflow, and [Internal] the
// ones only trusted code such as the agents' worker loop may call (Convex's
// internal.*). [Functions] lists them all for a [livedb.Registry].
//
// # Life of a workflow
//
// [CreateWorkflow] inserts a pending workflow and its first session, a
// pending planner session. Every pending session has a work item in the
// livedb work pool of its agent type ([AgentPool]): a worker of that pool
// takes it, begins the session ([BeginSession]), does the agent's work and
// returns an [AgentResult], and the item's onComplete ([OnAgentComplete])
// ends the session with [CompleteSession], or with [FailSession] once the
// pool's retries are spent. A session can also be taken by hand with
// [ClaimSession] (which starts it and takes its item out of the pool, see
// [StartSession]). Completing or failing a session advances the workflow
// in the same transaction ([AdvanceWorkflow]):
//
//	planner ─▶ coder ─▶ reviewer ─┬─ approved ─────────────▶ completed
//	             ▲                ├─ changes requested ───┐
//	             └────────────────┘  (iteration < max)    │
//	                                 at max iterations ───┴▶ failed
//
// A failed session fails its workflow; [CancelWorkflow] cancels it and its
// open sessions; a workflow created with a TimeoutMs fails when it is not
// finished by then ([TimeoutWorkflow], a scheduled function).
//
// # Time and work
//
// The model uses livedb's scheduler, crons and work pools, so a program
// runs them with [livedb.DB.StartScheduler] on a Registry of [Functions]:
// the pools hand sessions to agents, with leases (an agent that dies or
// hangs gives its session back when its lease ends) and retries with
// backoff; the cron of [Crons] runs [SweepStaleSessions], which puts the
// sessions of expired leases back to pending; the scheduler runs
// [TimeoutWorkflow].
//
// # Concurrency
//
// A pool hands each item to one worker at a time, and workers do not
// conflict with each other when they take items. Claiming by hand is a
// read of the oldest pending session of a type followed by a write to it,
// in one serializable mutation: when two agents race for the same session,
// the second commit conflicts and its mutation is re-run on the new state,
// where that session is no longer pending. No session is ever claimed
// twice, without a lock.
//
// # Circular references
//
// A workflow points at its current session (currentSessionId) and a session
// at its workflow (workflowId). As Convex recommends, one side is optional:
// the workflow is inserted first without currentSessionId, then its session,
// then the workflow is patched.
//
// # Access control
//
// A workflow's owner is the TokenIdentifier of the identity that created it
// through [API].CreateWorkflow. Every public function reads the caller's
// identity from the context ([livedb.WithIdentity]) and refuses a caller
// without one ([ErrUnauthenticated]) or who is not the owner
// ([ErrForbidden]); see [Authorize].
package model

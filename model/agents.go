package model

import (
	"fmt"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/workpool"
)

// Agents work through livedb's work pools: every pending session has a
// work item in the pool of its agent type (its WorkID), enqueued in the
// mutation that creates or requeues the session. A worker of that pool
// takes the item, calls BeginSession, does the agent's work outside any
// transaction, and returns an AgentResult; the item's onComplete
// ([OnAgentComplete]) then completes the session with it, in the same
// transaction as the item's completion, or fails it when the pool gave up
// (after its retries). A worker that dies, or takes longer than its lease,
// gives the item back: another worker takes it again.
//
// A session may also be taken by hand with ClaimSession or StartSession,
// which cancel its work item, so that no worker takes it too.

// poolPrefix begins the name of every agent pool: "agents:planner", ...
const poolPrefix = "agents:"

// onCompleteName is the name of OnAgentComplete's function.
const onCompleteName = "agents:onComplete"

// agentRetry is how often an agent's work is tried, and how long apart.
var agentRetry = workpool.RetryPolicy{MaxAttempts: 3, InitialBackoff: 200 * time.Millisecond, Base: 2}

var agentPools = func() map[AgentType]*workpool.Pool {
	m := map[AgentType]*workpool.Pool{}
	for _, t := range AgentTypes {
		m[t] = workpool.New(poolPrefix+string(t), &workpool.Options{Retry: agentRetry})
	}
	return m
}()

// AgentPool returns the pool of the agents of type t, named
// "agents:<type>". The sessions of that type are enqueued in it, with 3
// attempts 200 ms and then 400 ms apart (times the jitter). To run its
// workers with another parallelism or lease, call [workpool.Pool.Work] on a
// pool of the same name: a pool is its name.
func AgentPool(t AgentType) *workpool.Pool {
	if p, ok := agentPools[t]; ok {
		return p
	}
	return workpool.New(poolPrefix+string(t), &workpool.Options{Retry: agentRetry})
}

// AgentResult is what an agent's work returns, the work item's result:
// the session's output and, for a reviewer, the verdict (see
// CompleteArgs).
type AgentResult struct {
	Output   string `json:"output"`
	Approved *bool  `json:"approved,omitempty"`
}

// BeginArgs are the arguments of BeginSession.
type BeginArgs struct {
	SessionID livedb.Ref[AgentSession] `json:"sessionId"`
	AgentID   string                   `json:"agentId"`
	// WorkID is the work item the worker took.
	WorkID livedb.ID `json:"workId"`
}

// enqueueSession puts a pending session's work item in its pool and
// records it on the session.
func enqueueSession(m *livedb.MutationCtx, s *AgentSession) error {
	id, err := AgentPool(s.AgentType).Enqueue(m, livedb.Doc{"sessionId": string(s.ID)},
		&workpool.EnqueueOptions{OnComplete: onCompleteName, Context: string(s.ID)})
	if err != nil {
		return fmt.Errorf("model: session %s: enqueue: %w", s.ID, err)
	}
	w := string(id)
	s.WorkID = &w
	if err := Sessions.Patch(m.DB, s.ID, livedb.Doc{"workId": w}); err != nil {
		return fmt.Errorf("model: session %s: %w", s.ID, err)
	}
	return nil
}

// cancelWork cancels a session's work item, if it has one that is not
// finished.
func cancelWork(m *livedb.MutationCtx, s AgentSession) error {
	if s.WorkID == nil {
		return nil
	}
	if err := AgentPool(s.AgentType).Cancel(m, livedb.ID(*s.WorkID)); err != nil {
		return fmt.Errorf("model: session %s: cancel its work: %w", s.ID, err)
	}
	return nil
}

// BeginSession marks the session of a work item that a worker took as
// running by the agent, and its workflow as in progress, and returns the
// session (its Input is the agent's work). A session already running
// under the same work item was begun by a worker that then lost the item
// (its lease ended): the new worker takes it over. Any other session is an
// ErrInvalidTransition, and the worker should return that error.
func BeginSession(m *livedb.MutationCtx, args BeginArgs) (AgentSession, error) {
	s, err := getSession(m.DB, args.SessionID)
	if err != nil {
		return AgentSession{}, err
	}
	mine := s.WorkID != nil && *s.WorkID == string(args.WorkID)
	if !mine || s.Status != SessionPending && s.Status != SessionRunning {
		return AgentSession{}, fmt.Errorf("%w: cannot begin session %s for work item %s: it is %s (work item %v)", ErrInvalidTransition, s.ID, args.WorkID, s.Status, deref(s.WorkID))
	}
	return start(m, s, args.AgentID)
}

// OnAgentComplete is the onComplete of the agent pools' items: it
// completes the item's session with the AgentResult a worker returned, or
// fails it with the error of the item's last attempt; a canceled item
// changes nothing (whoever canceled it took care of the session). It runs
// in the transaction that finishes the item.
func OnAgentComplete(m *livedb.MutationCtx, args workpool.OnCompleteArgs) error {
	sid, _ := args.Context.(string)
	s, err := getSession(m.DB, livedb.Ref[AgentSession](sid))
	if err != nil {
		return err
	}
	if s.WorkID == nil || *s.WorkID != string(args.WorkID) {
		return nil // the session moved on to another item
	}
	switch args.Result.Kind {
	case workpool.Success:
		res, err := resultOf(args.Result.ReturnValue)
		if err != nil {
			return fmt.Errorf("model: session %s: %w", s.ID, err)
		}
		_, err = CompleteSession(m, CompleteArgs{SessionID: s.ID, Output: res.Output, Approved: res.Approved})
		return err
	case workpool.Failed:
		_, err := FailSession(m, FailArgs{SessionID: s.ID, Error: args.Result.Error})
		return err
	}
	return nil
}

// resultOf decodes a work item's return value into an AgentResult.
func resultOf(x any) (AgentResult, error) {
	doc, ok := x.(map[string]any)
	if !ok {
		return AgentResult{}, fmt.Errorf("%w: the agent returned %T, not an AgentResult", ErrInvalidArgument, x)
	}
	return livedb.FromDoc[AgentResult](doc)
}

// SweepStaleSessions puts back to pending the running sessions whose work
// item is not running any more: the item is waiting for another attempt
// after its worker died or let its lease end, or it was canceled by a
// claim by hand that was abandoned. The session gets a new work item when
// its own is not pending. It returns how many it swept. Crons runs it
// every minute.
func SweepStaleSessions(m *livedb.MutationCtx) (int, error) {
	running, err := Sessions.Query(m.DB).
		WithIndex("by_status", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("status", SessionRunning) }).
		Collect()
	if err != nil {
		return 0, fmt.Errorf("model: sweep stale sessions: %w", err)
	}
	n := 0
	for _, s := range running {
		state := workpool.State("")
		if s.WorkID != nil {
			item, ok, err := m.DB.Get(livedb.ID(*s.WorkID))
			if err != nil {
				return n, fmt.Errorf("model: session %s: its work item: %w", s.ID, err)
			}
			if ok {
				state = workpool.State(fmt.Sprint(item["state"]))
			}
		}
		if state == workpool.Running {
			continue
		}
		if _, err := requeue(m, s, state == workpool.Pending); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// TimeoutArgs are the arguments of TimeoutWorkflow.
type TimeoutArgs struct {
	WorkflowID livedb.Ref[Workflow] `json:"workflowId"`
}

// TimeoutWorkflow fails a workflow that is not finished by its deadline
// (CreateWorkflowArgs.TimeoutMs), cancelling its open sessions and their
// work. CreateWorkflow schedules it; a finished workflow is left as it is.
func TimeoutWorkflow(m *livedb.MutationCtx, args TimeoutArgs) (Workflow, error) {
	wf, err := getWorkflow(m.DB, args.WorkflowID)
	if err != nil || wf.Status.Finished() {
		return wf, err
	}
	if err := cancelOpenSessions(m, wf, "workflow timed out"); err != nil {
		return Workflow{}, err
	}
	wf.TimeoutJobID = nil // this run is the job: nothing to cancel
	return finish(m, wf, WorkflowFailed, "timed out", nowMillis())
}

// Crons returns the model's recurring jobs: SweepStaleSessions every
// interval (a minute when interval is zero), as "agents:sweep", for
// [livedb.DB.StartScheduler].
func Crons(interval time.Duration) *livedb.Crons {
	if interval == 0 {
		interval = time.Minute
	}
	return new(livedb.Crons).Interval("sweep stale sessions", interval, "agents:sweep", nil)
}

package model_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/model"
	"github.com/livedb-go/livedb/workpool"
)

// registry returns a registry of the model's functions.
func registry(t *testing.T) *livedb.Registry {
	t.Helper()
	reg, err := livedb.NewRegistry(model.Functions()...)
	require.NoError(t, err)
	return reg
}

// agentWork is a fake agent: it begins the session of the item it took
// and returns an output, approving from the second coder round on.
func agentWork(db *livedb.DB, agent string) workpool.Func {
	return func(ctx context.Context, it *workpool.Item) (any, error) {
		sid, _ := it.Args["sessionId"].(string)
		s, err := model.Internal.BeginSession.Call(ctx, db, model.BeginArgs{SessionID: livedb.Ref[model.AgentSession](sid), AgentID: agent, WorkID: it.ID})
		if err != nil {
			return nil, err
		}
		res := model.AgentResult{Output: fmt.Sprintf("%s output %d", s.AgentType, s.Iteration)}
		if s.AgentType == model.Reviewer {
			res.Approved = ptr(s.Iteration >= 2)
		}
		return res, nil
	}
}

// runAgents runs every agent pool's workers until the returned stop is
// called.
func runAgents(t *testing.T, r *livedb.Runner, db *livedb.DB, perType int, work func(db *livedb.DB, agent string) workpool.Func) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, at := range model.AgentTypes {
		pool := workpool.New(model.AgentPool(at).Name(), &workpool.Options{MaxParallelism: perType, Lease: time.Minute})
		wg.Go(func() {
			if err := pool.Work(ctx, r, work(db, string(at))); err != nil {
				t.Errorf("Work %s: %v", at, err)
			}
		})
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// waitFinished waits until n of alice's workflows are finished.
func waitFinished(t *testing.T, db *livedb.DB, n int) []model.Progress {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, err := livedb.Subscribe(ctx, db, func(q *livedb.QueryCtx) ([]model.Progress, error) { return model.ListProgress(q, alice) })
	require.NoError(t, err)
	defer sub.Close()
	for u := range sub.Updates() {
		require.NoError(t, u.Err)
		done := 0
		for _, p := range u.Value {
			if p.Status.Finished() {
				done++
			}
		}
		if done >= n {
			return u.Value
		}
	}
	t.Fatalf("waiting for %d finished workflows: %v", n, ctx.Err())
	return nil
}

// waitSession waits until the session has status st.
func waitSession(t *testing.T, db *livedb.DB, sid livedb.Ref[model.AgentSession], st model.SessionStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, err := livedb.Subscribe(ctx, db, func(q *livedb.QueryCtx) (model.SessionStatus, error) {
		s, _, err := model.Sessions.Get(q.DB, sid)
		return s.Status, err
	})
	require.NoError(t, err)
	defer sub.Close()
	for u := range sub.Updates() {
		require.NoError(t, u.Err)
		if u.Value == st {
			return
		}
	}
	t.Fatalf("waiting for session %s to be %s: %v", sid, st, ctx.Err())
}

// TestAgents_PoolsRunWorkflows runs every workflow to its end through the
// agent pools: each session is worked on once, its result completing it
// in the work item's completion.
func TestAgents_PoolsRunWorkflows(t *testing.T) {
	const workflows = 6
	db := newDB(t)
	r := livedbtest.StartScheduler(t, db, registry(t), model.Crons(0))
	for i := range workflows {
		create(t, db, fmt.Sprintf("task %d", i), 2)
	}
	var calls sync.Map
	stop := runAgents(t, r, db, 2, func(db *livedb.DB, agent string) workpool.Func {
		inner := agentWork(db, agent)
		return func(ctx context.Context, it *workpool.Item) (any, error) {
			if _, dup := calls.LoadOrStore(it.ID, agent); dup {
				t.Errorf("item %s handed out twice", it.ID)
			}
			return inner(ctx, it)
		}
	})
	ps := waitFinished(t, db, workflows)
	stop()
	for _, p := range ps {
		assert.Equal(t, model.WorkflowCompleted, p.Status, p.Task)
		assert.Len(t, p.Sessions, 5, "planner, coder, reviewer, coder, reviewer")
		assert.Equal(t, 1, p.Reworks)
		for _, s := range p.Sessions {
			assert.Equal(t, model.SessionCompleted, s.Status)
			require.NotNil(t, s.AgentID)
			assert.Equal(t, string(s.AgentType), *s.AgentID, "the session was begun by an agent of its type")
		}
	}
	n := 0
	calls.Range(func(any, any) bool { n++; return true })
	assert.Equal(t, workflows*5, n, "one work item a session")
}

// TestAgents_FailedWorkFailsTheSession: an agent that keeps failing fails
// its session, and the workflow, once the pool gives up.
func TestAgents_FailedWorkFailsTheSession(t *testing.T) {
	db := newDB(t)
	r := livedbtest.StartScheduler(t, db, registry(t), nil)
	id := create(t, db, "doomed", 0)
	var attempts atomic.Int64
	stop := runAgents(t, r, db, 1, func(*livedb.DB, string) workpool.Func {
		return func(context.Context, *workpool.Item) (any, error) {
			attempts.Add(1)
			return nil, errors.New("the model is down")
		}
	})
	waitFinished(t, db, 1)
	stop()
	wf := getWorkflow(t, db, id)
	assert.Equal(t, model.WorkflowFailed, wf.Status)
	require.NotNil(t, wf.Error)
	assert.Contains(t, *wf.Error, "the model is down")
	assert.Equal(t, int64(3), attempts.Load(), "three attempts, the pool's retry policy")
}

// TestAgents_LeaseExpiryAndSweep: an agent that hangs loses its item when
// the lease ends; the cron's sweep puts its session back to pending, and
// the item is taken again.
func TestAgents_LeaseExpiryAndSweep(t *testing.T) {
	clock := livedbtest.NewClock(time.Time{})
	db := livedbtest.NewOptions(t, model.Schema(), &livedb.Options{Clock: clock})
	r := livedbtest.StartScheduler(t, db, registry(t), model.Crons(time.Minute))
	id := create(t, db, "hangs once", 0)
	began := make(chan string, 4)
	var attempts atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	pool := workpool.New(model.AgentPool(model.Planner).Name(), &workpool.Options{MaxParallelism: 1, Lease: 30 * time.Second})
	go func() {
		done <- pool.Work(ctx, r, func(ctx context.Context, it *workpool.Item) (any, error) {
			n := attempts.Add(1)
			res, err := agentWork(db, fmt.Sprintf("planner-%d", n))(ctx, it)
			began <- fmt.Sprint(n)
			if n == 1 {
				<-ctx.Done() // hangs until its lease ends
				return nil, ctx.Err()
			}
			return res, err
		})
	}()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	select {
	case <-began:
	case <-time.After(time.Minute):
		t.Fatal("the first attempt did not begin")
	}
	sid := *getWorkflow(t, db, id).CurrentSessionID
	assert.Equal(t, model.SessionRunning, getSession(t, db, sid).Status)

	clock.Advance(30 * time.Second) // the lease ends: the item waits for its retry
	livedbtest.RunDue(t, r)
	clock.Advance(30 * time.Second) // the sweep runs (every minute)
	livedbtest.RunDue(t, r)
	s := getSession(t, db, sid)
	// The retry (200 ms after the lease ended) may have begun the session
	// again already; otherwise the sweep put it back to pending.
	if attempts.Load() == 1 {
		assert.Equal(t, model.SessionPending, s.Status, "the sweep requeued the session of the expired lease")
	}
	select {
	case <-began:
	case <-time.After(time.Minute):
		t.Fatal("the item was not taken again")
	}
	waitSession(t, db, sid, model.SessionCompleted)
	items, err := livedb.QueryValue(context.Background(), db, func(q *livedb.QueryCtx) ([]livedb.Doc, error) {
		return q.DB.Query(workpool.ItemsTable).Collect()
	})
	require.NoError(t, err)
	expiries := 0.0
	for _, it := range items {
		expiries += it["expiries"].(float64)
	}
	assert.Equal(t, 1.0, expiries)
}

func TestTimeoutWorkflow(t *testing.T) {
	clock := livedbtest.NewClock(time.Time{})
	db := livedbtest.NewOptions(t, model.Schema(), &livedb.Options{Clock: clock})
	r := livedbtest.StartScheduler(t, db, registry(t), nil)
	slow := mutate(t, db, func(m *livedb.MutationCtx) (livedb.Ref[model.Workflow], error) {
		return model.CreateWorkflow(m, model.CreateWorkflowArgs{Owner: alice, Task: "slow", TimeoutMs: 60000})
	})
	quick := mutate(t, db, func(m *livedb.MutationCtx) (livedb.Ref[model.Workflow], error) {
		return model.CreateWorkflow(m, model.CreateWorkflowArgs{Owner: alice, Task: "quick", TimeoutMs: 60000})
	})
	require.NotNil(t, getWorkflow(t, db, quick).TimeoutJobID)
	mutate(t, db, func(m *livedb.MutationCtx) (model.Workflow, error) {
		return model.CancelWorkflow(m, model.WorkflowArgs{WorkflowID: quick})
	})

	clock.Advance(59 * time.Second)
	livedbtest.RunDue(t, r)
	assert.Equal(t, model.WorkflowPending, getWorkflow(t, db, slow).Status)
	clock.Advance(time.Second)
	livedbtest.RunDue(t, r)
	wf := getWorkflow(t, db, slow)
	assert.Equal(t, model.WorkflowFailed, wf.Status)
	require.NotNil(t, wf.Error)
	assert.Equal(t, "timed out", *wf.Error)
	s := getSession(t, db, *wf.CurrentSessionID)
	assert.Equal(t, model.SessionCancelled, s.Status)
	require.NotNil(t, s.WorkID)
	item := query(t, db, func(q *livedb.QueryCtx) (livedb.Doc, error) {
		d, _, err := q.DB.Get(livedb.ID(*s.WorkID))
		return d, err
	})
	assert.Equal(t, "canceled", item["state"], "the timed-out session's work is canceled")

	jobs := query(t, db, func(q *livedb.QueryCtx) ([]livedb.Doc, error) {
		return q.DB.Query("_scheduled_functions").Collect()
	})
	states := map[string]int{}
	for _, j := range jobs {
		states[j["name"].(string)+"/"+j["state"].(map[string]any)["kind"].(string)]++
	}
	assert.Equal(t, 1, states["workflows:timeout/success"])
	assert.Equal(t, 1, states["workflows:timeout/canceled"], "the cancelled workflow's timeout was canceled")
}

func TestStartSession_TakesTheSessionFromThePool(t *testing.T) {
	db := newDB(t)
	id := create(t, db, "by hand", 0)
	sid := *getWorkflow(t, db, id).CurrentSessionID
	item := func(s model.AgentSession) livedb.Doc {
		require.NotNil(t, s.WorkID)
		return query(t, db, func(q *livedb.QueryCtx) (livedb.Doc, error) {
			d, _, err := q.DB.Get(livedb.ID(*s.WorkID))
			return d, err
		})
	}
	first := getSession(t, db, sid)
	assert.Equal(t, "pending", item(first)["state"], "a pending session has a pending work item")
	assert.Equal(t, "agents:planner", item(first)["pool"])

	s := claim(t, db, model.Planner, "hand")
	assert.Equal(t, "canceled", item(s)["state"], "a session claimed by hand is taken out of the pool")
	released := mutate(t, db, func(m *livedb.MutationCtx) (model.AgentSession, error) {
		return model.ReleaseSession(m, model.SessionArgs{SessionID: s.ID, AgentID: "hand"})
	})
	assert.NotEqual(t, *first.WorkID, *released.WorkID)
	assert.Equal(t, "pending", item(released)["state"], "a released session is back in the pool")

	// BeginSession takes only the session of its own item.
	err := mutateErr(db, func(m *livedb.MutationCtx) (model.AgentSession, error) {
		return model.BeginSession(m, model.BeginArgs{SessionID: sid, AgentID: "w", WorkID: livedb.ID(*first.WorkID)})
	})
	require.ErrorIs(t, err, model.ErrInvalidTransition)
	begun := mutate(t, db, func(m *livedb.MutationCtx) (model.AgentSession, error) {
		return model.BeginSession(m, model.BeginArgs{SessionID: sid, AgentID: "w", WorkID: livedb.ID(*released.WorkID)})
	})
	assert.Equal(t, model.SessionRunning, begun.Status)
	again := mutate(t, db, func(m *livedb.MutationCtx) (model.AgentSession, error) {
		return model.BeginSession(m, model.BeginArgs{SessionID: sid, AgentID: "w2", WorkID: livedb.ID(*released.WorkID)})
	})
	assert.Equal(t, "w2", *again.AgentID, "a worker that got the item again takes the session over")
}

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
)

// claimAll has agents goroutines claim planner sessions until none is
// pending, all starting at once, and returns who claimed what. A mutation
// that kept conflicting is tried again, as a worker loop does.
func claimAll(t *testing.T, db *livedb.DB, agents int) (map[livedb.Ref[model.AgentSession]][]string, int64) {
	t.Helper()
	var (
		mu        sync.Mutex
		claims    = map[livedb.Ref[model.AgentSession]][]string{}
		conflicts atomic.Int64
		start     = make(chan struct{})
		wg        sync.WaitGroup
	)
	for i := range agents {
		agent := fmt.Sprintf("planner-%d", i)
		wg.Go(func() {
			<-start
			for {
				s, err := model.Internal.ClaimSession.Call(context.Background(), db, model.ClaimArgs{AgentType: model.Planner, AgentID: agent})
				if errors.Is(err, livedb.ErrConflict) {
					conflicts.Add(1)
					continue
				}
				if err != nil {
					t.Errorf("%s: claim: %v", agent, err)
					return
				}
				if s == nil {
					return
				}
				mu.Lock()
				claims[s.ID] = append(claims[s.ID], agent)
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	return claims, conflicts.Load()
}

func TestClaimSession_Concurrent(t *testing.T) {
	const sessions, agents = 40, 8
	for name, open := range map[string]func(testing.TB, *livedb.Schema) *livedb.DB{
		"memory": livedbtest.New, "bbolt": livedbtest.NewFile,
	} {
		t.Run(name, func(t *testing.T) {
			db := open(t, model.Schema())
			for i := range sessions {
				create(t, db, fmt.Sprintf("task %d", i), 0)
			}
			claims, conflicts := claimAll(t, db, agents)
			t.Logf("%d agents claimed %d sessions; %d claims gave up after their retries and were tried again", agents, len(claims), conflicts)

			require.Len(t, claims, sessions, "every session is claimed")
			for id, by := range claims {
				require.Len(t, by, 1, "session %s claimed by %v", id, by)
				s := getSession(t, db, id)
				assert.Equal(t, model.SessionRunning, s.Status)
				require.NotNil(t, s.AgentID)
				assert.Equal(t, by[0], *s.AgentID, "the stored claimer is the one the claim returned")
			}
			_, ok := tryClaim(t, db, model.Planner)
			assert.False(t, ok)
		})
	}
}

// TestWorkers_Concurrent runs a worker loop per agent type and agent over
// many workflows: every workflow completes, and every session is worked
// on once.
func TestWorkers_Concurrent(t *testing.T) {
	const workflows, perType = 12, 3
	db := newDB(t)
	for i := range workflows {
		create(t, db, fmt.Sprintf("task %d", i), 2)
	}
	// The deadline only keeps a broken build from hanging the test run.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var worked sync.Map // session ID -> agent
	var wg sync.WaitGroup
	for _, at := range model.AgentTypes {
		for i := range perType {
			agent := fmt.Sprintf("%s-%d", at, i)
			wg.Go(func() {
				for ctx.Err() == nil {
					s, err := model.Internal.ClaimSession.Call(ctx, db, model.ClaimArgs{AgentType: at, AgentID: agent})
					if errors.Is(err, livedb.ErrConflict) || err == nil && s == nil {
						continue // retry, or wait for work
					}
					if err != nil {
						if ctx.Err() == nil {
							t.Errorf("%s: claim: %v", agent, err)
						}
						return
					}
					if prev, dup := worked.LoadOrStore(s.ID, agent); dup {
						t.Errorf("session %s worked on by %s and %s", s.ID, prev, agent)
					}
					args := model.CompleteArgs{SessionID: s.ID, Output: fmt.Sprintf("%s output %d", at, s.Iteration)}
					if at == model.Reviewer {
						args.Approved = ptr(s.Iteration >= 2) // one rework per workflow
					}
					for {
						_, err := model.Internal.CompleteSession.Call(ctx, db, args)
						if !errors.Is(err, livedb.ErrConflict) {
							if err != nil && ctx.Err() == nil {
								t.Errorf("%s: complete: %v", agent, err)
							}
							break
						}
					}
				}
			})
		}
	}
	// Wait for every workflow to finish, watching a subscription.
	sub, err := livedb.Subscribe(ctx, db, func(q *livedb.QueryCtx) ([]model.Progress, error) { return model.ListProgress(q, alice) })
	require.NoError(t, err)
	for u := range sub.Updates() {
		require.NoError(t, u.Err)
		done := 0
		for _, p := range u.Value {
			if p.Status.Finished() {
				done++
			}
		}
		if done == workflows {
			break
		}
	}
	require.NoError(t, ctx.Err(), "the workflows did not finish")
	cancel()
	wg.Wait()

	ps := query(t, db, func(q *livedb.QueryCtx) ([]model.Progress, error) { return model.ListProgress(q, alice) })
	require.Len(t, ps, workflows)
	sessions := 0
	for _, p := range ps {
		assert.Equal(t, model.WorkflowCompleted, p.Status, p.Task)
		assert.Equal(t, 1, p.Reworks, p.Task)
		assert.Len(t, p.Sessions, 5, "planner, coder, reviewer, coder, reviewer")
		assert.Equal(t, 5, p.Count(model.SessionCompleted))
		sessions += len(p.Sessions)
	}
	n := 0
	worked.Range(func(_, _ any) bool { n++; return true })
	assert.Equal(t, sessions, n, "every session was worked on exactly once")
}

package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/model"
)

// agent is one worker goroutine: it claims a session of its type, does the
// (fake) work, and completes the session, in mutations of the internal
// functions.
type agent struct {
	o         *orchestrator
	kind      model.AgentType
	id        string
	onSession func()
}

// idleWake bounds how long an idle agent waits for its subscription before
// it looks for work again.
const idleWake = 250 * time.Millisecond

// loop runs the agent until ctx is done.
func (a *agent) loop(ctx context.Context) {
	// An idle agent waits for a change of the oldest pending session of
	// its type, rather than polling: Subscribe re-runs this query only
	// after commits that touch that index range.
	wake, err := livedb.Subscribe(ctx, a.o.db, func(q *livedb.QueryCtx) (string, error) {
		s, ok, err := model.Sessions.Query(q.DB).
			WithIndex("by_type_and_status", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("agentType", a.kind).Eq("status", model.SessionPending)
			}).First()
		if !ok {
			return "", err
		}
		return string(s.ID), err
	})
	if err != nil {
		return
	}
	defer wake.Close()
	for ctx.Err() == nil {
		s, err := a.claim(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			fmt.Fprintf(a.o.out, "%s: claim: %v\n", a.id, err)
			return
		case s == nil:
			a.idle(ctx, wake)
			continue
		}
		a.work(ctx, s)
	}
}

// claim claims a session. Agents racing for the oldest session conflict;
// livedb re-runs the losers (alone after three conflicts), so a claim
// never fails with a conflict.
func (a *agent) claim(ctx context.Context) (*model.AgentSession, error) {
	return mutateValue(ctx, a.o, func(m *livedb.MutationCtx) (*model.AgentSession, error) {
		return model.Internal.ClaimSession.Run(m, model.ClaimArgs{AgentType: a.kind, AgentID: a.id})
	})
}

// idle waits for new work, a timeout or the end.
func (a *agent) idle(ctx context.Context, wake *livedb.Subscription[string]) {
	t := time.NewTimer(idleWake)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wake.Updates():
	case <-t.C:
	}
}

// work does the session's fake work and completes it. When ctx ends first,
// the session is released for the next run.
func (a *agent) work(ctx context.Context, s *model.AgentSession) {
	d := a.o.workTime(s)
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		err := a.o.mutate(context.WithoutCancel(ctx), func(m *livedb.MutationCtx) error {
			_, err := model.Internal.ReleaseSession.Run(m, model.SessionArgs{SessionID: s.ID, AgentID: a.id})
			return err
		})
		if err != nil {
			fmt.Fprintf(a.o.out, "%s: release %s: %v\n", a.id, s.ID, err)
		}
		return
	}
	args := a.o.result(s)
	// The session's result is written even when the run is stopping: the
	// work is done.
	err := a.o.mutate(context.WithoutCancel(ctx), func(m *livedb.MutationCtx) error {
		_, err := model.Internal.CompleteSession.Run(m, args)
		return err
	})
	if err != nil {
		fmt.Fprintf(a.o.out, "%s: complete %s: %v\n", a.id, s.ID, err)
		return
	}
	a.onSession()
}

// draw returns a number in [0, 1) determined by the seed and the session's
// agent type, input (which derives from its workflow's task) and
// iteration: the same seed gives the same verdicts and durations, whatever
// the IDs and the timing.
func (o *orchestrator) draw(s *model.AgentSession, salt string) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s|%s|%d|%s", o.cfg.seed, s.AgentType, s.Input, s.Iteration, salt)
	return float64(h.Sum64()>>11) / (1 << 53)
}

// workTime is how long the agent pretends to work: between half and one
// and a half times -work.
func (o *orchestrator) workTime(s *model.AgentSession) time.Duration {
	return time.Duration(float64(o.cfg.work) * (0.5 + o.draw(s, "time")))
}

// result is what the agent produces for the session.
func (o *orchestrator) result(s *model.AgentSession) model.CompleteArgs {
	args := model.CompleteArgs{SessionID: s.ID}
	switch s.AgentType {
	case model.Planner:
		args.Output = "plan: " + s.Input
	case model.Coder:
		args.Output = fmt.Sprintf("%s.go v%d", slug(strings.TrimPrefix(s.Input, "plan: ")), s.Iteration)
		if strings.HasPrefix(s.Input, "review: ") {
			args.Output = fmt.Sprintf("%s v%d", strings.TrimSuffix(strings.TrimPrefix(s.Input, "review: "), " needs tests"), s.Iteration)
		}
	case model.Reviewer:
		approved := o.draw(s, "verdict") >= o.cfg.rework
		args.Approved = &approved
		args.Output = "approved"
		if !approved {
			args.Output = "review: " + strings.Fields(s.Input)[0] + " needs tests"
		}
	}
	return args
}

// slug makes a file name of a task.
func slug(task string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(task) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

// tasks are the fake tasks of new workflows.
var tasks = []string{
	"Add retries to the HTTP client",
	"Cache the user profile lookups",
	"Paginate the audit log API",
	"Rate-limit the login endpoint",
	"Export reports as CSV",
	"Migrate settings to the new schema",
	"Add dark mode to the dashboard",
	"Deduplicate webhook deliveries",
}

// taskName returns the task of the i-th workflow.
func taskName(i int) string {
	if i < len(tasks) {
		return tasks[i]
	}
	return fmt.Sprintf("%s (%d)", tasks[i%len(tasks)], i/len(tasks)+1)
}

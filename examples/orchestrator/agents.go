package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/model"
	"github.com/livedb-go/livedb/workpool"
)

// agent does the (fake) work of the sessions of one agent type: it is
// the work function of that type's pool, which hands it the sessions'
// work items with a lease and retries what fails.
type agent struct {
	o         *orchestrator
	kind      model.AgentType
	onSession func()
}

// work begins the item's session, does its fake work and returns the
// result, which the item's onComplete (model.OnAgentComplete) records.
// Its first attempt at a session may fail (-fail) or hang until its lease
// ends (-hang), as real agents do; later attempts do neither, so the
// outcome of a workflow depends on the seed only.
func (a *agent) work(ctx context.Context, item *workpool.Item) (any, error) {
	sid, _ := item.Args["sessionId"].(string)
	s, err := mutateValue(ctx, a.o, func(m *livedb.MutationCtx) (model.AgentSession, error) {
		return model.Internal.BeginSession.Run(m, model.BeginArgs{
			SessionID: livedb.Ref[model.AgentSession](sid), AgentID: agentName(a.kind, item), WorkID: item.ID,
		})
	})
	if err != nil {
		return nil, err
	}
	if item.Attempts == 1 {
		switch d := a.o.draw(&s, "trouble"); {
		case d < a.o.cfg.hang:
			<-ctx.Done() // stuck: the lease ends and another attempt comes
			return nil, ctx.Err()
		case d < a.o.cfg.hang+a.o.cfg.fail:
			return nil, fmt.Errorf("%s: the model API timed out", agentName(a.kind, item))
		}
	}
	t := time.NewTimer(a.o.workTime(&s))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err() // stopping: the pool gets the item back
	}
	a.onSession()
	args := a.o.result(&s)
	return model.AgentResult{Output: args.Output, Approved: args.Approved}, nil
}

// agentName names the worker that holds an item: "coder-2" for the
// second worker of the coders' pool.
func agentName(kind model.AgentType, item *workpool.Item) string {
	n := 0
	if item.Worker != nil {
		// A worker's ID is "<pool>/<index>/<tag>".
		parts := strings.Split(*item.Worker, "/")
		if len(parts) == 3 {
			n, _ = strconv.Atoi(parts[1])
		}
	}
	return fmt.Sprintf("%s-%d", kind, n+1)
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

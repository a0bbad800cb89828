// Command orchestrator runs the agent-orchestration model of
// github.com/livedb-go/livedb/model live: several workflows each go
// planner → coder → reviewer (the reviewer sometimes sends the work back
// to the coder), worked on by agent goroutines that claim sessions in
// mutations, while a monitor subscribed to a progress query redraws the
// state of every workflow. The state lives in a bbolt file: a second run
// on the same file resumes the workflows the first one left unfinished.
//
//	go run ./examples/orchestrator                  # 6 workflows, 2 agents per type
//	go run ./examples/orchestrator -stop-after 5    # stop early...
//	go run ./examples/orchestrator                  # ...and resume
//
// The agents' work is fake: a short sleep, and a verdict drawn
// deterministically from -seed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/model"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if code := exitCode(err); code != 0 {
		var ue usageError
		if !errors.As(err, &ue) || !ue.reported {
			fmt.Fprintln(os.Stderr, "orchestrator:", err)
		}
		os.Exit(code)
	}
}

// exitCode is the exit status for run's error, as flag.ExitOnError would
// give it: 0 for success and for -h (the user asked for the usage), 2 for
// a bad command line, 1 for a failed run.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		return 2
	}
	return 1
}

// usageError is a bad command line. reported says that the flag package
// printed it already, with the usage, so main does not print it again.
type usageError struct {
	err      error
	reported bool
}

// Error returns the text of the error it wraps.
func (e usageError) Error() string { return e.err.Error() }

// Unwrap returns the error it wraps.
func (e usageError) Unwrap() error { return e.err }

// config holds the command line.
type config struct {
	workflows     int
	agents        int
	path          string
	seed          int64
	work          time.Duration
	rework        float64
	maxIterations int
	stopAfter     int
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("orchestrator", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.IntVar(&c.workflows, "workflows", 6, "workflows to create when the database has none unfinished")
	fs.IntVar(&c.agents, "agents", 2, "agents of each type (planner, coder, reviewer)")
	fs.StringVar(&c.path, "db", "orchestrator.db", "the database file")
	fs.Int64Var(&c.seed, "seed", 1, "seed of the agents' fake work and verdicts")
	fs.DurationVar(&c.work, "work", 300*time.Millisecond, "mean duration of an agent's fake work")
	fs.Float64Var(&c.rework, "rework", 0.35, "probability that the reviewer sends the work back")
	fs.IntVar(&c.maxIterations, "max-iterations", 3, "coder rounds a workflow allows before it fails")
	fs.IntVar(&c.stopAfter, "stop-after", 0, "stop after this many sessions, leaving work to resume (0: run to the end)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, usageError{err: err, reported: true}
	}
	if err := c.check(fs); err != nil {
		return c, usageError{err: err}
	}
	return c, nil
}

// check validates the values of the flags.
func (c *config) check(fs *flag.FlagSet) error {
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.workflows < 1 || c.agents < 1:
		return errors.New("-workflows and -agents must be at least 1")
	case c.work < 0:
		return errors.New("-work must not be negative")
	case c.rework < 0 || c.rework >= 1:
		return errors.New("-rework must be in [0, 1)")
	case c.maxIterations < 1:
		return errors.New("-max-iterations must be at least 1")
	case c.stopAfter < 0:
		return errors.New("-stop-after must not be negative")
	}
	return nil
}

// owner is the identity the orchestrator creates and watches workflows as.
var owner = &livedb.Identity{
	TokenIdentifier: "https://orchestrator.example|demo",
	Issuer:          "https://orchestrator.example",
	Subject:         "demo",
	Name:            "orchestrator demo",
}

// stats counts what one run did.
type stats struct {
	mutations atomic.Int64 // committed mutations
	retries   atomic.Int64 // re-runs of mutations after a conflict
	sessions  atomic.Int64 // sessions the agents finished
}

// orchestrator is one run.
type orchestrator struct {
	cfg   config
	db    *livedb.DB
	out   io.Writer
	stats stats
}

// mutate runs fn as a mutation, counting commits and conflict re-runs
// (fn runs once more for each conflict the engine retried).
func (o *orchestrator) mutate(ctx context.Context, fn func(m *livedb.MutationCtx) error) error {
	_, err := mutateValue(ctx, o, func(m *livedb.MutationCtx) (struct{}, error) { return struct{}{}, fn(m) })
	return err
}

// mutateValue is mutate for a function with a result: it returns the value
// of the run that committed.
func mutateValue[T any](ctx context.Context, o *orchestrator, fn func(m *livedb.MutationCtx) (T, error)) (T, error) {
	runs := 0
	x, err := livedb.MutationValue(ctx, o.db, func(m *livedb.MutationCtx) (T, error) {
		runs++
		return fn(m)
	})
	o.stats.retries.Add(int64(max(runs-1, 0)))
	if err == nil {
		o.stats.mutations.Add(1)
	}
	return x, err
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	start := time.Now()
	db, err := livedb.Open(cfg.path, model.Schema(), nil)
	if errors.Is(err, livedb.ErrLocked) {
		return fmt.Errorf("%s is in use by another orchestrator: %w", cfg.path, err)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	o := &orchestrator{cfg: cfg, db: db, out: stdout}

	ids, err := o.prepare(ctx)
	if err != nil {
		return err
	}
	final, why, err := o.runAgents(ctx, ids)
	if err != nil {
		return err
	}
	o.summarize(final, why, time.Since(start))
	return db.Close()
}

// prepare requeues the sessions a crashed run left running, and returns
// the workflows to work on: the unfinished ones, or new ones.
func (o *orchestrator) prepare(ctx context.Context) ([]livedb.Ref[model.Workflow], error) {
	// The file lock guarantees no other orchestrator is running, so a
	// running session was left by a run that died.
	requeued, err := mutateValue(ctx, o, func(m *livedb.MutationCtx) (int, error) {
		return model.Internal.RequeueRunningSessions.Run(m, struct{}{})
	})
	if err != nil {
		return nil, err
	}
	if requeued > 0 {
		fmt.Fprintf(o.out, "requeued %d sessions that a previous run left running\n", requeued)
	}

	all, err := model.Internal.ListProgress.Call(ctx, o.db, model.OwnerArgs{Owner: owner.TokenIdentifier})
	if err != nil {
		return nil, err
	}
	unfinished, err := model.Internal.ListUnfinishedWorkflows.Call(ctx, o.db, model.OwnerArgs{Owner: owner.TokenIdentifier})
	if err != nil {
		return nil, err
	}
	var ids []livedb.Ref[model.Workflow]
	if len(unfinished) > 0 {
		for _, wf := range unfinished {
			ids = append(ids, wf.ID)
		}
		fmt.Fprintf(o.out, "resuming %d unfinished workflows from %s (%d finished earlier); no new workflows created\n",
			len(unfinished), o.cfg.path, len(all)-len(unfinished))
		return ids, nil
	}
	if len(all) > 0 {
		fmt.Fprintf(o.out, "all %d workflows in %s are finished; ", len(all), o.cfg.path)
	}
	ownerCtx := livedb.WithIdentity(ctx, owner)
	err = o.mutate(ownerCtx, func(m *livedb.MutationCtx) error {
		ids = ids[:0]
		for i := range o.cfg.workflows {
			id, err := model.API.CreateWorkflow.Run(m, model.NewWorkflowArgs{
				Task: taskName(len(all) + i), MaxIterations: o.cfg.maxIterations,
			})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.out, "created %d workflows in %s\n", len(ids), o.cfg.path)
	return ids, nil
}

// runAgents runs the agents and the monitor until every workflow of ids is
// finished, -stop-after sessions ran, or ctx is done. It returns the last
// progress seen and why it stopped ("" when everything finished).
func (o *orchestrator) runAgents(ctx context.Context, ids []livedb.Ref[model.Workflow]) ([]model.Progress, string, error) {
	// The monitor's query runs the public progress function for each
	// workflow, as the owner: Subscribe re-runs it after every commit that
	// touches one of the workflows or their sessions.
	ownerCtx := livedb.WithIdentity(ctx, owner)
	sub, err := livedb.Subscribe(ownerCtx, o.db, func(q *livedb.QueryCtx) ([]model.Progress, error) {
		out := make([]model.Progress, len(ids))
		for i, id := range ids {
			p, err := model.API.WorkflowProgress.Run(q, model.WorkflowArgs{WorkflowID: id})
			if err != nil {
				return nil, err
			}
			out[i] = p
		}
		return out, nil
	})
	if err != nil {
		return nil, "", err
	}
	defer sub.Close()

	agentCtx, stopAgents := context.WithCancel(ctx)
	defer stopAgents()
	var stopOnce sync.Once
	stopped := make(chan struct{})
	onSession := func() {
		if n := o.stats.sessions.Add(1); o.cfg.stopAfter > 0 && n >= int64(o.cfg.stopAfter) {
			stopOnce.Do(func() { close(stopped) })
		}
	}
	var wg sync.WaitGroup
	for _, t := range model.AgentTypes {
		for i := range o.cfg.agents {
			a := &agent{o: o, kind: t, id: fmt.Sprintf("%s-%d", t, i+1), onSession: onSession}
			wg.Go(func() { a.loop(agentCtx) })
		}
	}

	mon := newMonitor(o.out)
	var last []model.Progress
	why := ""
loop:
	for {
		select {
		case u, ok := <-sub.Updates():
			if !ok {
				why = "interrupted"
				break loop
			}
			if u.Err != nil {
				stopAgents()
				wg.Wait()
				return nil, "", u.Err
			}
			last = u.Value
			mon.draw(last, o)
			if allFinished(last) {
				break loop
			}
		case <-stopped:
			why = fmt.Sprintf("stopped after %d sessions (-stop-after)", o.cfg.stopAfter)
			break loop
		case <-ctx.Done():
			why = "interrupted"
			break loop
		}
	}
	stopAgents()
	wg.Wait()
	// Draw the state the agents left.
	final, err := model.Internal.ListProgress.Call(context.WithoutCancel(ctx), o.db, model.OwnerArgs{Owner: owner.TokenIdentifier})
	if err != nil {
		return nil, "", err
	}
	last = only(final, ids)
	mon.draw(last, o)
	return last, why, nil
}

// only keeps the progress of the workflows of ids.
func only(ps []model.Progress, ids []livedb.Ref[model.Workflow]) []model.Progress {
	keep := map[livedb.Ref[model.Workflow]]bool{}
	for _, id := range ids {
		keep[id] = true
	}
	var out []model.Progress
	for _, p := range ps {
		if keep[p.WorkflowID] {
			out = append(out, p)
		}
	}
	return out
}

func allFinished(ps []model.Progress) bool {
	for _, p := range ps {
		if !p.Status.Finished() {
			return false
		}
	}
	return true
}

// summarize prints the last line of a run.
func (o *orchestrator) summarize(ps []model.Progress, why string, elapsed time.Duration) {
	completed, failed, reworks := 0, 0, 0
	for _, p := range ps {
		switch p.Status {
		case model.WorkflowCompleted:
			completed++
		case model.WorkflowFailed, model.WorkflowCancelled:
			failed++
		}
		reworks += p.Reworks
	}
	if why != "" {
		fmt.Fprintf(o.out, "%s: %d workflows unfinished; run again to resume them\n", why, len(ps)-completed-failed)
	}
	fmt.Fprintf(o.out, "summary: workflows completed %d/%d, failed %d; sessions run %d; reworks %d; mutations %d; conflicts retried %d; time %s\n",
		completed, len(ps), failed, o.stats.sessions.Load(), reworks, o.stats.mutations.Load(), o.stats.retries.Load(),
		elapsed.Round(time.Millisecond))
}

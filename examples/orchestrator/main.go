// Command orchestrator runs the agent-orchestration model of
// github.com/livedb-go/livedb/model live: several workflows each go
// planner → coder → reviewer (the reviewer sometimes sends the work back
// to the coder), worked on by agents that livedb's work pools hand the
// sessions to, with a lease and retries, while a monitor subscribed to a
// progress query redraws the state of every workflow. A cron sweeps the
// sessions of expired leases back to pending, and the scheduler fails a
// workflow that misses its deadline (-timeout). The state lives in a bbolt
// file: a second run on the same file resumes the workflows the first one
// left unfinished.
//
//	go run ./examples/orchestrator                  # 6 workflows, 2 agents per type
//	go run ./examples/orchestrator -stop-after 5    # stop early...
//	go run ./examples/orchestrator                  # ...and resume
//
// The agents' work is fake: a short sleep, and a verdict drawn
// deterministically from -seed. A first attempt sometimes fails (-fail) or
// hangs until its lease ends (-hang); the summary says how many items the
// pools retried and how many leases expired.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/model"
	"github.com/livedb-go/livedb/server"
	"github.com/livedb-go/livedb/workpool"
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
	lease         time.Duration
	fail, hang    float64
	sweep         time.Duration
	timeout       time.Duration
	serve         string // address to serve the database at; "" for none
	adminKey      string
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("orchestrator", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.IntVar(&c.workflows, "workflows", 6, "workflows to create when the database has none unfinished")
	fs.IntVar(&c.agents, "agents", 2, "agents of each type (planner, coder, reviewer)")
	fs.StringVar(&c.path, "db", "orchestrator.db", "the database file, or a postgres:// URL to share the database with orchestrators in other processes")
	fs.Int64Var(&c.seed, "seed", 1, "seed of the agents' fake work and verdicts")
	fs.DurationVar(&c.work, "work", 300*time.Millisecond, "mean duration of an agent's fake work")
	fs.Float64Var(&c.rework, "rework", 0.35, "probability that the reviewer sends the work back")
	fs.IntVar(&c.maxIterations, "max-iterations", 3, "coder rounds a workflow allows before it fails")
	fs.IntVar(&c.stopAfter, "stop-after", 0, "stop after this many sessions, leaving work to resume (0: run to the end)")
	fs.DurationVar(&c.lease, "lease", time.Second, "how long an agent holds a session before it goes back to the pool")
	fs.Float64Var(&c.fail, "fail", 0.1, "probability that an agent's first attempt at a session fails (the pool retries it)")
	fs.Float64Var(&c.hang, "hang", 0.05, "probability that an agent's first attempt hangs until its lease ends")
	fs.DurationVar(&c.sweep, "sweep", 2*time.Second, "interval of the cron that puts sessions of expired leases back to pending")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "deadline of a new workflow (0: none)")
	fs.StringVar(&c.serve, "serve", "", "serve the database's public functions to Convex clients at this address while the run lasts (e.g. 127.0.0.1:8187)")
	fs.StringVar(&c.adminKey, "admin-key", os.Getenv("LIVEDB_ADMIN_KEY"), "with -serve, the key that opens the dashboard at /dashboard/ (default $LIVEDB_ADMIN_KEY; empty: no dashboard)")
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
	case c.lease <= 0:
		return errors.New("-lease must be positive")
	case c.fail < 0 || c.hang < 0 || c.fail+c.hang >= 1:
		return errors.New("-fail and -hang must not be negative, and their sum must be below 1")
	case c.sweep < time.Second:
		return errors.New("-sweep must be at least 1s")
	case c.timeout < 0:
		return errors.New("-timeout must not be negative")
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
	// sessions counts the agents' finished work, for -stop-after and the
	// monitor; work whose lease ended first is done again, and counted
	// again.
	sessions atomic.Int64
}

// orchestrator is one run.
type orchestrator struct {
	cfg    config
	db     *livedb.DB
	runner *livedb.Runner
	out    io.Writer
	stats  stats
	start  livedb.Stats // the database's counters when the run began
	began  time.Time
}

// mutations returns the commits of the run: its own mutations and those
// of the scheduler and the pools (taking, finishing, retrying items).
func (o *orchestrator) mutations() uint64 { return o.db.Stats().Commits - o.start.Commits }

// conflicts returns the re-runs of mutations after a conflict in the run.
func (o *orchestrator) conflicts() uint64 { return o.db.Stats().Retries - o.start.Retries }

// mutate runs fn as a mutation of the run's database.
func (o *orchestrator) mutate(ctx context.Context, fn func(m *livedb.MutationCtx) error) error {
	return o.db.Mutation(ctx, fn)
}

// mutateValue is mutate for a function with a result.
func mutateValue[T any](ctx context.Context, o *orchestrator, fn func(m *livedb.MutationCtx) (T, error)) (T, error) {
	return livedb.MutationValue(ctx, o.db, fn)
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
	reg, err := livedb.NewRegistry(model.Functions()...)
	if err != nil {
		return err
	}
	if cfg.serve != "" {
		stopServing, err := serve(cfg, db, reg, stdout)
		if err != nil {
			return err
		}
		defer stopServing()
	}
	runner, err := db.StartScheduler(reg, model.Crons(cfg.sweep))
	if err != nil {
		return err
	}
	defer runner.Close()
	o := &orchestrator{cfg: cfg, db: db, runner: runner, out: stdout, start: db.Stats(), began: time.Now()}

	ids, err := o.prepare(ctx)
	if err != nil {
		return err
	}
	final, why, err := o.runAgents(ctx, ids)
	if err != nil {
		return err
	}
	if err := o.summarize(ctx, final, why, time.Since(start)); err != nil {
		return err
	}
	if err := runner.Close(); err != nil {
		return err
	}
	return db.Close()
}

// prepare says what a run that died left, and returns the workflows to
// work on: the unfinished ones, or new ones.
func (o *orchestrator) prepare(ctx context.Context) ([]livedb.Ref[model.Workflow], error) {
	// The file lock guarantees no other orchestrator is running, so a
	// running session was left by a run that died: its work item comes
	// back to the pool when its lease ends.
	left, err := livedb.QueryValue(ctx, o.db, func(q *livedb.QueryCtx) (int, error) {
		ss, err := model.Sessions.Query(q.DB).WithIndex("by_status", func(r livedb.IndexRange) livedb.IndexRange {
			return r.Eq("status", model.SessionRunning)
		}).Collect()
		return len(ss), err
	})
	if err != nil {
		return nil, err
	}
	if left > 0 {
		fmt.Fprintf(o.out, "%d sessions were left running by a run that died: agents take them again when their leases end\n", left)
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
				Task: taskName(len(all) + i), MaxIterations: o.cfg.maxIterations, TimeoutMs: int(o.cfg.timeout.Milliseconds()),
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
	// One pool per agent type, -agents workers each: the pool hands them
	// the sessions' work items, with a lease, and retries what fails.
	var wg sync.WaitGroup
	for _, t := range model.AgentTypes {
		a := &agent{o: o, kind: t, onSession: onSession}
		pool := workpool.New(model.AgentPool(t).Name(), &workpool.Options{MaxParallelism: o.cfg.agents, Lease: o.cfg.lease})
		wg.Go(func() {
			if err := pool.Work(agentCtx, o.runner, a.work); err != nil {
				fmt.Fprintf(o.out, "%s agents: %v\n", t, err)
			}
		})
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
	// The pools took back the items the agents were working on; their
	// sessions go back to pending, for the next run.
	if _, err := mutateValue(context.WithoutCancel(ctx), o, func(m *livedb.MutationCtx) (int, error) {
		return model.Internal.SweepStaleSessions.Run(m, struct{}{})
	}); err != nil {
		return nil, "", err
	}
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
func (o *orchestrator) summarize(ctx context.Context, ps []model.Progress, why string, elapsed time.Duration) error {
	retried, expired, sessions, err := o.poolCounts(context.WithoutCancel(ctx), ps)
	if err != nil {
		return err
	}
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
	if err := o.printSessionCounts(context.WithoutCancel(ctx), ps); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "summary: workflows completed %d/%d, failed %d; sessions run %d; reworks %d; items retried %d; leases expired %d; mutations %d; conflicts retried %d; time %s\n",
		completed, len(ps), failed, sessions, reworks, retried, expired, o.mutations(), o.conflicts(),
		elapsed.Round(time.Millisecond))
	return nil
}

// printSessionCounts prints how many sessions of the workflows of ps have
// each status. It reads the counts that the sessions' by_workflow_and_status
// index keeps (model.SessionCounts): one stored row per workflow and
// status, however many sessions there are.
func (o *orchestrator) printSessionCounts(ctx context.Context, ps []model.Progress) error {
	total := map[model.SessionStatus]int64{}
	err := o.db.Query(ctx, func(q *livedb.QueryCtx) error {
		for _, p := range ps {
			counts, err := model.SessionCounts(q, model.WorkflowArgs{WorkflowID: p.WorkflowID})
			if err != nil {
				return err
			}
			for st, n := range counts {
				total[st] += n
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var parts []string
	for _, st := range model.SessionStatuses {
		parts = append(parts, fmt.Sprintf("%s %d", st, total[st]))
	}
	fmt.Fprintf(o.out, "sessions by status: %s\n", strings.Join(parts, ", "))
	return nil
}

// poolCounts returns, over the work items of the sessions of ps, how many
// attempts were retries (after a failure or an expired lease) and how
// many leases expired; and how many of these sessions this run finished.
func (o *orchestrator) poolCounts(ctx context.Context, ps []model.Progress) (retried, expired, finished int, err error) {
	sessions := map[string]bool{}
	for _, p := range ps {
		for _, s := range p.Sessions {
			sessions[string(s.SessionID)] = true
		}
	}
	since := float64(o.began.UnixMilli())
	items := livedb.NewTable[workpool.Item](workpool.ItemsTable)
	err = o.db.Query(ctx, func(q *livedb.QueryCtx) error {
		for _, t := range model.AgentTypes {
			all, err := items.Query(q.DB).WithIndex("by_claim", func(r livedb.IndexRange) livedb.IndexRange {
				return r.Eq("pool", model.AgentPool(t).Name())
			}).Collect()
			if err != nil {
				return err
			}
			for _, it := range all {
				if sid, _ := it.Args["sessionId"].(string); sessions[sid] {
					retried += max(it.Attempts-1, 0)
					expired += it.Expiries
				}
			}
		}
		for sid := range sessions {
			s, ok, err := model.Sessions.Get(q.DB, livedb.Ref[model.AgentSession](sid))
			if err != nil {
				return err
			}
			if ok && (s.Status == model.SessionCompleted || s.Status == model.SessionFailed) && s.CompletedAt != nil && *s.CompletedAt >= since {
				finished++
			}
		}
		return nil
	})
	return retried, expired, finished, err
}

// serve mounts livedb's server on the run's database and registry at
// cfg.serve, as a program mounts net/http/pprof: Convex clients (and, with
// an admin key, the dashboard) see the agents' progress live.
func serve(cfg config, db *livedb.DB, reg *livedb.Registry, out io.Writer) (stop func(), err error) {
	srv, err := server.New(db, reg, server.Options{AdminKey: cfg.adminKey})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.serve)
	if err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("-serve: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	fmt.Fprintf(out, "serving the database at http://%s\n", ln.Addr())
	return func() {
		_ = hs.Close()
		_ = srv.Close()
	}, nil
}

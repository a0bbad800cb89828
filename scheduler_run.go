package livedb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/livedb-go/livedb/internal/engine"
)

// Runner carries out a DB's time and work: it runs the scheduled
// functions when they are due, the cron jobs on their schedules, gives
// back the work items whose lease ended, and runs the workers of work
// pools (package workpool's Pool.Work). Start it with [DB.StartScheduler].
//
// A DB has at most one Runner. Its loop is woken by every commit (a
// function scheduled with no delay runs as soon as the scheduling mutation
// commits) and by the clock at the next due time; it never polls. The
// loop runs the due jobs one after the other, in order of due time, each
// in the same mutation as the record of its new state (functions due
// together share one mutation, each as a sub-transaction), so a job runs
// exactly once whatever crashes, and a job that was due while no Runner
// ran (the program was stopped) runs when the next Runner starts.
//
// A Runner is safe for concurrent use by multiple goroutines.
type Runner struct {
	db    *DB
	reg   *Registry
	crons []cronJob

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the loop and the Work calls
	stepMu sync.Mutex     // held by a step of the loop and by RunDue

	mu     sync.Mutex // guards closed, and wg.Add against Close's wg.Wait
	closed bool
}

// StartScheduler attaches a Runner to db, which runs the functions of reg
// that db's mutations schedule ([MutationCtx.Scheduler]), the cron jobs
// of crons (Convex's crons.ts; nil means none) and the leases of work
// pools, until Close (or until db is closed). reg holds the mutations
// that scheduled functions, crons and pools' onComplete name; internal
// functions are allowed, queries are not.
//
// The Runner is separate from Open, rather than an option of it, so that a
// program chooses which of its processes run scheduled work, and when:
// after its own start-up, and not in a tool that only reads the database.
// Mutations can schedule work whether or not a Runner runs; it waits in
// the system tables.
//
// StartScheduler creates the system tables if they do not exist, brings
// cronsTable to exactly the jobs of crons (new jobs are added, changed
// ones take their new schedule, and jobs no longer listed are removed, so
// a nil crons removes every job), and starts the loop, which first runs
// every job that is already due. It fails with ErrInvalidSchedule when a
// Runner is already attached to db or crons has a mistake, and with
// ErrUnknownFunction when a cron names a function that reg lacks.
func (db *DB) StartScheduler(reg *Registry, crons *Crons) (*Runner, error) {
	if db.opts.ReadOnly {
		return nil, fmt.Errorf("%w: the scheduler writes, and the database was opened read-only", ErrReadOnly)
	}
	r := &Runner{db: db, reg: reg}
	if crons != nil {
		if err := crons.Err(); err != nil {
			return nil, err
		}
		r.crons = crons.jobs
	}
	for _, c := range r.crons {
		if _, err := reg.mutation(c.function); err != nil {
			return nil, wrapErr(fmt.Sprintf("livedb: cron %q", c.name), err)
		}
	}
	if !db.runner.CompareAndSwap(nil, r) {
		return nil, fmt.Errorf("%w: a Runner is already attached to this database; Close it first", ErrInvalidSchedule)
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	if err := db.Mutation(r.ctx, r.setup); err != nil {
		r.cancel()
		db.runner.CompareAndSwap(r, nil)
		return nil, err
	}
	r.wg.Go(func() { db.singleton(r.ctx, "scheduler", r.loop) })
	return r, nil
}

// Close stops the Runner: its loop, and the workers of every Work call,
// which return once their handlers do. Scheduled work stays in the system
// tables for the next Runner. Close is idempotent.
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	r.db.runner.CompareAndSwap(r, nil)
	return nil
}

// enter registers a Work call, which Close waits for; it reports false
// once the Runner is closed.
func (r *Runner) enter() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.wg.Add(1)
	return true
}

// RunDue runs, in the calling goroutine, every scheduled function and cron
// job that is due on the DB's [Clock], and gives back every work item
// whose lease ended, until nothing is due (a function that schedules
// another with no delay is run too), and returns how many scheduled
// functions and cron runs it ran. It waits for a step of the loop that is
// under way, so when it returns, nothing due at the clock's time is left
// undone.
//
// It is what a test calls after moving a livedbtest.Clock; a program does
// not need it, as the loop does the same when the clock reaches a due
// time.
func (r *Runner) RunDue(ctx context.Context) (int, error) {
	r.stepMu.Lock()
	defer r.stepMu.Unlock()
	n, _, err := r.step(ctx)
	return n, err
}

// setup creates the system tables that do not exist, so that queries can
// use their indexes at once, and brings cronsTable to r.crons.
func (r *Runner) setup(m *MutationCtx) error {
	tx := m.DB.tx
	for _, name := range []string{scheduledFunctionsTable, cronsTable, workItemsTable} {
		t, err := tx.table("query", name) // records the read of its absence
		if err != nil || t != nil {
			if err != nil {
				return err
			}
			continue
		}
		st := systemTables[name]
		if other, ok := tx.cat.byNumber[st.number]; ok {
			return fmt.Errorf("%w: table %q has the number %d that system table %s needs; export it and import it into a fresh database", errTableNumber, other.name, st.number, name)
		}
		tx.createTable(r.db.allocSystemTable(name, st))
	}
	return r.syncCrons(m)
}

// loopRetry is how long the loop waits after a step failed (a storage
// error, a conflict beyond Options.MaxRetries) before it tries again,
// unless a commit wakes it first.
const loopRetry = time.Second

// loop runs steps until ctx ends: after each, it waits for the next
// commit or the next due time.
func (r *Runner) loop(ctx context.Context) {
	for {
		sig := r.db.commitSignal() // taken before the step: no commit is missed
		r.stepMu.Lock()
		_, next, err := r.step(ctx)
		r.stepMu.Unlock()
		if ctx.Err() != nil || r.db.isClosed() {
			return
		}
		if err != nil {
			r.db.opts.Logger.Info("livedb: scheduler: a step failed; trying again", slog.String("error", err.Error()))
			next = r.db.clock().Now().Add(loopRetry)
		}
		var fired <-chan struct{}
		stop := func() {}
		if !next.IsZero() {
			fired, stop = r.db.clock().Timer(next)
		}
		select {
		case <-sig:
		case <-fired:
		case <-ctx.Done():
		case <-r.db.closing:
		}
		stop()
	}
}

// dueBatch bounds the jobs of one kind that a step reads at once.
const dueBatch = 64

// dueWork is what a step found due, and when the next job is due (zero
// when none is pending).
type dueWork struct {
	jobs, crons, leases []ID
	next                time.Time
}

func (d *dueWork) empty() bool { return len(d.jobs)+len(d.crons)+len(d.leases) == 0 }

// later keeps the earliest of the next due times.
func (d *dueWork) later(ms float64) {
	t := fromMillis(ms)
	if d.next.IsZero() || t.Before(d.next) {
		d.next = t
	}
}

// step runs everything due, batch after batch, until nothing is due, and
// returns how many scheduled functions and cron runs ran and when the next
// job is due. The caller holds stepMu.
func (r *Runner) step(ctx context.Context) (ran int, next time.Time, err error) {
	for {
		if err := ctx.Err(); err != nil {
			return ran, next, err
		}
		d, err := r.due(ctx, r.db.clock().Now())
		if err != nil || d.empty() {
			return ran, d.next, err
		}
		for jobs := d.jobs; len(jobs) > 0; {
			n, handled, err := r.runBatch(ctx, jobs[:min(len(jobs), batchMax)])
			ran += n
			if err != nil {
				return ran, next, err
			}
			jobs = jobs[handled:]
		}
		for _, cronID := range d.crons {
			ok, err := r.runCron(ctx, cronID)
			if err != nil {
				return ran, next, err
			}
			if ok {
				ran++
			}
		}
		for _, itemID := range d.leases {
			if err := r.expireLease(ctx, itemID); err != nil {
				return ran, next, err
			}
		}
	}
}

// due reads, at one snapshot, the scheduled functions, cron jobs and
// leases due at now, in due order, and the next due time.
func (r *Runner) due(ctx context.Context, now time.Time) (dueWork, error) {
	return QueryValue(ctx, r.db, func(q *QueryCtx) (dueWork, error) {
		var d dueWork
		nowMs := toMillis(now)
		scan := func(table, index, field string, rng func(IndexRange) IndexRange, out *[]ID) error {
			docs, err := sysTake(q.DB, table, index, rng, dueBatch+1)
			if err != nil {
				return err
			}
			for _, doc := range docs {
				at, _ := doc[field].(float64)
				if at > nowMs || len(*out) == dueBatch {
					d.later(at)
					break
				}
				*out = append(*out, doc.ID())
			}
			return nil
		}
		if err := scan(scheduledFunctionsTable, "by_state_and_time", "scheduledTime", func(rg IndexRange) IndexRange {
			return rg.Eq("state.kind", string(ScheduledPending))
		}, &d.jobs); err != nil {
			return d, err
		}
		if err := scan(cronsTable, "by_next_run", "nextRun", nil, &d.crons); err != nil {
			return d, err
		}
		err := scan(workItemsTable, "by_lease", "leaseUntil", func(rg IndexRange) IndexRange {
			return rg.Eq("state", engine.WorkRunning)
		}, &d.leases)
		return d, err
	})
}

// sysTake returns the first n documents (all when n < 0) of a system
// table's index range; a table that does not exist yet is empty.
func sysTake(r *Reader, table, index string, rng func(IndexRange) IndexRange, n int) ([]Doc, error) {
	q := r.Query(table)
	if q.t == nil {
		return nil, q.err
	}
	q = q.WithIndex(index, rng)
	if n < 0 {
		return q.Collect()
	}
	return q.Take(n)
}

// batchMax bounds the scheduled functions that one mutation runs.
const batchMax = 32

// runBatch runs due scheduled functions, in order, in one mutation (one
// commit, one fsync): each as a sub-transaction with its state change, so
// that a failing one rolls back its own writes only. It returns how many
// ran and how many of jobs it handled: fewer than len(jobs) when a
// function reached a transaction limit that the functions before it in
// the batch share (it runs first in the next batch, where the limit is its
// own). When the batch cannot commit for another reason than the
// database's, the first function runs alone (runScheduled), which records
// why.
func (r *Runner) runBatch(ctx context.Context, jobs []ID) (ran, handled int, err error) {
	err = r.db.Mutation(ctx, func(m *MutationCtx) error {
		ran, handled = 0, 0
		for i, jobID := range jobs {
			doc, ok, err := m.DB.Get(jobID)
			if err != nil {
				return err
			}
			handled = i + 1
			if !ok || scheduledState(doc) != ScheduledPending {
				continue
			}
			name, _ := doc["name"].(string)
			var args Doc
			if a, _ := doc["args"].([]any); len(a) > 0 {
				args, _ = a[0].(map[string]any)
			}
			state := map[string]any{"kind": string(ScheduledSuccess)}
			if runErr := r.callIn(m, name, args, jobID); runErr != nil {
				if i > 0 && errors.Is(runErr, ErrLimit) {
					handled = i // its writes are rolled back: it runs in the next batch
					return nil
				}
				state = map[string]any{"kind": string(ScheduledFailed), "error": runErr.Error()}
			}
			ran++
			if err := m.DB.tx.sysPatch(jobID, Doc{"state": state, "completedTime": toMillis(r.db.clock().Now())}); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || stopsRunner(err) {
		return ran, handled, err
	}
	ok, err := r.runScheduled(ctx, jobs[0])
	if ok {
		return 1, 1, err
	}
	return 0, 1, err
}

// runScheduled runs a due scheduled function and records its outcome, in
// one mutation, and reports whether it ran (false when it was canceled or
// another runner ran it first).
func (r *Runner) runScheduled(ctx context.Context, jobID ID) (bool, error) {
	ran := false
	err := r.db.Mutation(ctx, func(m *MutationCtx) error {
		ran = false
		doc, ok, err := m.DB.Get(jobID)
		if err != nil || !ok || scheduledState(doc) != ScheduledPending {
			return err
		}
		name, _ := doc["name"].(string)
		var args Doc
		if a, _ := doc["args"].([]any); len(a) > 0 {
			args, _ = a[0].(map[string]any)
		}
		state := map[string]any{"kind": string(ScheduledSuccess)}
		if runErr := r.callIn(m, name, args, jobID); runErr != nil {
			state = map[string]any{"kind": string(ScheduledFailed), "error": runErr.Error()}
		}
		ran = true
		return m.DB.tx.sysPatch(jobID, Doc{"state": state, "completedTime": toMillis(r.db.clock().Now())})
	})
	if err == nil || stopsRunner(err) {
		return ran, err
	}
	// The run could not commit for a reason of its own (a limit its
	// writes and the state change reached together): it failed.
	err = r.db.Mutation(ctx, func(m *MutationCtx) error {
		doc, ok, gerr := m.DB.Get(jobID)
		if gerr != nil || !ok || scheduledState(doc) != ScheduledPending {
			return gerr
		}
		return m.DB.tx.sysPatch(jobID, Doc{
			"state":         map[string]any{"kind": string(ScheduledFailed), "error": err.Error()},
			"completedTime": toMillis(r.db.clock().Now()),
		})
	})
	return false, err
}

// stopsRunner reports whether err is a failure of the database or of the
// Runner's context rather than of the function run: the job stays as it
// was, for a later step.
func stopsRunner(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrClosed) || errors.Is(err, ErrStorageFailed) || errors.Is(err, ErrConflict) ||
		errors.Is(err, ErrReadOnly)
}

// callIn runs the registered mutation name of r's registry inside m's
// transaction (see callMutation).
func (r *Runner) callIn(m *MutationCtx, name string, args Doc, jobID ID) error {
	return callMutation(m, r.reg, name, args, jobID)
}

// callMutation runs the registered mutation name of reg with args inside
// m's transaction, as a sub-transaction: when it fails (or panics), its
// writes are rolled back and its error returned. jobID, when not empty, is
// the scheduled function it runs as (which may not cancel itself).
func callMutation(m *MutationCtx, reg *Registry, name string, args Doc, jobID ID) (err error) {
	f, err := reg.mutation(name)
	if err != nil {
		return err
	}
	if args == nil {
		args = Doc{}
	}
	tx := m.DB.tx
	sp := tx.savepoint()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("livedb: function %s panicked: %v", name, p)
		}
		if err != nil {
			tx.rollbackTo(sp)
		}
	}()
	ctx := WithIdentity(m.ctx, nil) // scheduled work runs as nobody, as in Convex
	if jobID != "" {
		ctx = context.WithValue(ctx, runningJobKey{}, jobID)
	}
	_, err = f.run(&MutationCtx{DB: m.DB, ctx: ctx}, args)
	return err
}

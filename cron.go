package livedb

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/livedb-go/livedb/internal/cronspec"
	"github.com/livedb-go/livedb/internal/value"
)

// Crons is a set of recurring jobs, each a registered mutation run on a
// schedule: Convex's cronJobs() in crons.ts. Build it once, with Interval
// and Cron, and give it to [DB.StartScheduler]. The zero Crons is an empty
// set, ready to use:
//
//	crons := new(livedb.Crons).
//		Interval("sweep stale sessions", time.Minute, "agents:sweep", nil).
//		Cron("nightly report", "0 3 * * *", "reports:build", livedb.Doc{"days": 1})
//
// A job runs at most once at a time (each run is one mutation, which also
// records its next run time in _crons). A job that fell behind, when
// the program was stopped or a run took longer than the interval, runs
// once and skips the runs it missed (counted in the table's "skipped"):
// runs are never stacked. A run that fails (its function returns an
// error) has its writes rolled back, its error recorded as "lastError",
// and the job keeps its schedule.
//
// Mistakes (a name registered twice, an interval under a second, a spec
// that does not parse) are not panics: Err returns the first, and
// StartScheduler refuses the Crons. A Crons is not safe for concurrent use
// while it is being built.
type Crons struct {
	jobs []cronJob
	err  error
}

// cronJob is one registered job.
type cronJob struct {
	name     string
	every    time.Duration  // an interval job's interval; 0 for a spec
	spec     *cronspec.Spec // a cron-syntax job's spec; nil for an interval
	function string
	args     Doc
}

// minCronInterval is the shortest interval of an interval job.
const minCronInterval = time.Second

// Interval adds a job that runs the registered mutation function with args
// every interval, Convex's crons.interval: its first run is when the
// Runner first starts with it, then every interval after the previous
// scheduled run. interval must be at least a second.
func (c *Crons) Interval(name string, interval time.Duration, function string, args any) *Crons {
	if interval < minCronInterval {
		c.fail(fmt.Errorf("%w: cron %q: the interval %v is shorter than a second", ErrInvalidSchedule, name, interval))
		return c
	}
	c.add(cronJob{name: name, every: interval, function: function}, args)
	return c
}

// Cron adds a job that runs the registered mutation function with args at
// the times the cron spec names, Convex's crons.cron: five fields, minute
// hour day-of-month month day-of-week, in UTC, such as "*/15 * * * *" or
// "0 9 * * MON-FRI" (numbers, *, ranges a-b, steps /n, lists a,b, and the
// names JAN-DEC and SUN-SAT). Its first run is the first such time after
// the Runner starts with it.
func (c *Crons) Cron(name, spec, function string, args any) *Crons {
	s, err := cronspec.Parse(spec)
	if err != nil {
		c.fail(fmt.Errorf("%w: cron %q: %w", ErrInvalidSchedule, name, err))
		return c
	}
	if _, ok := s.Next(time.Now()); !ok {
		c.fail(fmt.Errorf("%w: cron %q: %q names no time in the next five years", ErrInvalidSchedule, name, spec))
		return c
	}
	c.add(cronJob{name: name, spec: s, function: function}, args)
	return c
}

// Err returns the first mistake in the jobs' definitions, or nil.
func (c *Crons) Err() error { return c.err }

func (c *Crons) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// add adds a job after the checks that every kind shares.
func (c *Crons) add(j cronJob, args any) {
	switch {
	case j.name == "":
		c.fail(fmt.Errorf("%w: a cron job needs a name", ErrInvalidSchedule))
		return
	case j.function == "":
		c.fail(fmt.Errorf("%w: cron %q: the function name is empty", ErrInvalidSchedule, j.name))
		return
	}
	for _, o := range c.jobs {
		if o.name == j.name {
			c.fail(fmt.Errorf("%w: cron identifier registered twice: %q", ErrInvalidSchedule, j.name))
			return
		}
	}
	doc, err := argsDoc(args)
	if err != nil {
		c.fail(wrapErr(fmt.Sprintf("livedb: cron %q: arguments", j.name), err))
		return
	}
	x, err := value.Normalize(map[string]any(doc))
	if err != nil {
		c.fail(fmt.Errorf("%w: cron %q: arguments: %w", ErrInvalidSchedule, j.name, err))
		return
	}
	j.args = Doc(x.(map[string]any))
	c.jobs = append(c.jobs, j)
}

// schedule returns the job's schedule as cronsTable stores it.
func (j *cronJob) schedule() map[string]any {
	if j.spec != nil {
		return map[string]any{"kind": "cron", "spec": j.spec.String()}
	}
	return map[string]any{"kind": "interval", "ms": float64(j.every.Milliseconds())}
}

// firstRun returns the job's first run time when it is added at now.
func (j *cronJob) firstRun(now time.Time) float64 {
	if j.spec == nil {
		return toMillis(now)
	}
	next, _ := j.spec.Next(now) // checked by Cron
	return toMillis(next)
}

// syncCrons brings cronsTable to r.crons: jobs are added, changed ones
// (schedule, function or arguments) updated and run next as if new, and
// jobs no longer registered removed.
func (r *Runner) syncCrons(m *MutationCtx) error {
	tx := m.DB.tx
	rows, err := sysTake(&m.DB.Reader, cronsTable, "by_name", nil, -1)
	if err != nil {
		return err
	}
	byName := map[string]Doc{}
	for _, d := range rows {
		name, _ := d["name"].(string)
		byName[name] = d
	}
	now := r.db.clock().Now()
	for i := range r.crons {
		j := &r.crons[i]
		fields := Doc{"schedule": j.schedule(), "function": j.function, "args": map[string]any(j.args)}
		row, ok := byName[j.name]
		delete(byName, j.name)
		switch {
		case !ok:
			fields["name"], fields["nextRun"], fields["runs"], fields["skipped"] = j.name, j.firstRun(now), 0.0, 0.0
			if _, err := tx.sysInsert(cronsTable, fields); err != nil {
				return err
			}
		case !value.Equal(row["schedule"], fields["schedule"]) || row["function"] != j.function || !value.Equal(row["args"], fields["args"]):
			fields["nextRun"] = j.firstRun(now)
			if err := tx.sysPatch(row.ID(), fields); err != nil {
				return err
			}
		}
	}
	for _, d := range byName {
		if err := tx.sysDelete(d.ID()); err != nil {
			return err
		}
	}
	return nil
}

// runCron runs a due cron job and records its next run, in one mutation,
// and reports whether it ran (false when another runner ran it first).
func (r *Runner) runCron(ctx context.Context, cronID ID) (bool, error) {
	ran := false
	err := r.db.Mutation(ctx, func(m *MutationCtx) error {
		ran = false
		doc, ok, err := m.DB.Get(cronID)
		if err != nil || !ok {
			return err
		}
		now := r.db.clock().Now()
		due, _ := doc["nextRun"].(float64)
		if due > toMillis(now) {
			return nil
		}
		next, skipped, err := cronNext(doc, due, now)
		if err != nil {
			return err
		}
		name, _ := doc["name"].(string)
		function, _ := doc["function"].(string)
		args, _ := doc["args"].(map[string]any)
		fields := Doc{"nextRun": next, "lastRun": toMillis(now), "lastError": Undefined}
		if runErr := r.callIn(m, function, args, ""); runErr != nil {
			fields["lastError"] = fmt.Sprintf("cron %q: %s", name, runErr.Error())
		}
		runs, _ := doc["runs"].(float64)
		before, _ := doc["skipped"].(float64)
		fields["runs"], fields["skipped"] = runs+1, before+float64(skipped)
		ran = true
		return m.DB.tx.sysPatch(cronID, fields)
	})
	return ran, err
}

// maxSkipCount bounds the count of a cron-syntax job's missed runs.
const maxSkipCount = 100000

// cronNext returns the run after the one due at due, for a job run at now,
// and how many runs in between it skips.
func cronNext(doc Doc, due float64, now time.Time) (float64, int, error) {
	sched, _ := doc["schedule"].(map[string]any)
	if spec, ok := sched["spec"].(string); ok {
		s, err := cronspec.Parse(spec)
		if err != nil {
			return 0, 0, fmt.Errorf("%w: stored cron spec: %w", ErrCorrupt, err)
		}
		next, ok := s.Next(now)
		if !ok { // checked by Cron for its first five years: look again then
			next = now.Add(5 * 365 * 24 * time.Hour)
		}
		return toMillis(next), s.Count(fromMillis(due), now, maxSkipCount), nil
	}
	every, _ := sched["ms"].(float64)
	if every <= 0 {
		return 0, 0, fmt.Errorf("%w: stored cron interval %v", ErrCorrupt, sched["ms"])
	}
	k := math.Floor((toMillis(now)-due)/every) + 1
	return due + k*every, int(k) - 1, nil
}

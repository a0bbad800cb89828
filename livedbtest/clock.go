package livedbtest

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/livedb-go/livedb"
)

// Clock is a [livedb.Clock] that moves only when the test moves it, so
// that scheduled functions, cron jobs, leases and retries happen when the
// test says, and not before:
//
//	clock := livedbtest.NewClock(time.Time{})
//	db := livedbtest.NewOptions(t, schema, &livedb.Options{Clock: clock})
//	runner := livedbtest.StartScheduler(t, db, reg, nil)
//	... a mutation schedules "emails:send" after an hour ...
//	clock.Advance(time.Hour)
//	livedbtest.RunDue(t, runner) // it has run when RunDue returns
//
// Advance fires the timers of the Runner's loop and of the work pools'
// workers, which then act on their own goroutines; RunDue runs what is
// due in the test's goroutine and returns once it is done, for a test
// that checks the outcome at once. A Clock is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*clockTimer
}

// clockTimer is a timer of a Clock.
type clockTimer struct {
	at   time.Time
	ch   chan struct{}
	done bool // fired or stopped
}

// NewClock returns a clock that reads start until it is moved; a zero
// start means 2025-01-01 00:00 UTC.
func NewClock(start time.Time) *Clock {
	if start.IsZero() {
		start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return &Clock{now: start}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Timer returns a channel closed when the clock is moved to at or later
// (at once if it is there already).
func (c *Clock) Timer(at time.Time) (<-chan struct{}, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &clockTimer{at: at, ch: make(chan struct{})}
	if !at.After(c.now) {
		t.done = true
		close(t.ch)
		return t.ch, func() {}
	}
	c.timers = append(c.timers, t)
	return t.ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !t.done {
			t.done = true
			c.timers = slices.DeleteFunc(c.timers, func(x *clockTimer) bool { return x == t })
		}
	}
}

// Advance moves the clock forward by d (a negative d is taken as 0) and
// fires the timers it passes.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(c.now.Add(max(d, 0)))
}

// Set moves the clock to t, which may be in its past: then no timer
// fires, and timers fire again only once the clock passes them.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(t)
}

func (c *Clock) setLocked(t time.Time) {
	c.now = t
	c.timers = slices.DeleteFunc(c.timers, func(x *clockTimer) bool {
		if x.at.After(t) {
			return false
		}
		x.done = true
		close(x.ch)
		return true
	})
}

// StartScheduler starts a [livedb.Runner] on db for the test tb (see
// [livedb.DB.StartScheduler]), failing the test at once if it cannot start,
// and closes it at cleanup, before the database's own cleanup runs.
func StartScheduler(tb testing.TB, db *livedb.DB, reg *livedb.Registry, crons *livedb.Crons) *livedb.Runner {
	tb.Helper()
	r, err := db.StartScheduler(reg, crons)
	if err != nil {
		tb.Fatalf("livedbtest: start the scheduler: %v", err)
		return nil
	}
	tb.Cleanup(func() { _ = r.Close() })
	return r
}

// RunDue runs every scheduled function and cron job due on the database's
// clock, and gives back the work items whose lease ended, until nothing is
// due ([livedb.Runner.RunDue]); it fails the test on error and returns how
// many functions and cron runs ran.
func RunDue(tb testing.TB, r *livedb.Runner) int {
	tb.Helper()
	n, err := r.RunDue(context.WithoutCancel(tb.Context()))
	if err != nil {
		tb.Fatalf("livedbtest: run what is due: %v", err)
	}
	return n
}

// FinishScheduled runs every pending scheduled function, moving clock to
// each one's time in turn (never back), including the functions these
// schedule, until none is pending, and returns how many ran. Cron jobs
// due on the way run too. It fails the test when functions are still
// pending after limit rounds: a function that schedules itself forever.
// It is Convex's finishAllScheduledFunctions for a test clock.
func FinishScheduled(tb testing.TB, r *livedb.Runner, db *livedb.DB, clock *Clock, limit int) int {
	tb.Helper()
	total := 0
	for range limit {
		total += RunDue(tb, r)
		next, err := livedb.QueryValue(context.WithoutCancel(tb.Context()), db, func(q *livedb.QueryCtx) (time.Time, error) {
			job, ok, err := q.DB.Query("_scheduled_functions").
				WithIndex("by_state_and_time", func(rg livedb.IndexRange) livedb.IndexRange {
					return rg.Eq("state.kind", string(livedb.ScheduledPending))
				}).First()
			if err != nil || !ok {
				return time.Time{}, err
			}
			ms, _ := job["scheduledTime"].(float64)
			return time.UnixMilli(int64(math.Ceil(ms))), nil
		})
		if err != nil {
			tb.Fatalf("livedbtest: read the pending scheduled functions: %v", err)
			return total
		}
		if next.IsZero() {
			return total
		}
		if next.After(clock.Now()) {
			clock.Set(next)
		}
	}
	tb.Fatalf("livedbtest: scheduled functions are still pending after %d rounds (does a function schedule itself forever?)", limit)
	return total
}

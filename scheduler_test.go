package livedb_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/snapshot"
	"github.com/livedb-go/livedb/v"
	"github.com/livedb-go/livedb/workpool"
)

// schedSchema has the table that the scheduled test functions write.
func schedSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"effects": livedb.DefineTable(v.Object(v.Fields{
			"tag":  v.String(),
			"user": v.Optional(v.String()),
		})).Index("by_tag", "tag"),
		"items": livedb.DefineTable(v.Object(v.Fields{"n": v.Float64()})),
	})
}

// tagArgs are the arguments of most test functions.
type tagArgs struct {
	Tag string `json:"tag"`
}

var tagValidator = v.Object(v.Fields{"tag": v.String()})

// insertEffect records that a function ran, with the caller's identity.
func insertEffect(m *livedb.MutationCtx, tag string) error {
	doc := livedb.Doc{"tag": tag}
	if id := m.Auth(); id != nil {
		doc["user"] = id.Subject
	}
	_, err := m.DB.Insert("effects", doc)
	return err
}

// schedFunctions are the functions the scheduler tests schedule.
func schedFunctions(t testing.TB) *livedb.Registry {
	t.Helper()
	add := livedb.NewMutation(livedb.FunctionDef[tagArgs, any]{Name: "effects:add", Args: tagValidator, Internal: true},
		func(m *livedb.MutationCtx, a tagArgs) (any, error) { return nil, insertEffect(m, a.Tag) })
	fail := livedb.NewMutation(livedb.FunctionDef[tagArgs, any]{Name: "effects:fail", Args: tagValidator},
		func(m *livedb.MutationCtx, a tagArgs) (any, error) {
			if err := insertEffect(m, a.Tag); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("no luck with %s", a.Tag)
		})
	boom := livedb.NewMutation(livedb.FunctionDef[tagArgs, any]{Name: "effects:panic", Args: tagValidator},
		func(m *livedb.MutationCtx, a tagArgs) (any, error) {
			if err := insertEffect(m, a.Tag); err != nil {
				return nil, err
			}
			panic("boom " + a.Tag)
		})
	chain := livedb.NewMutation(livedb.FunctionDef[tagArgs, any]{Name: "effects:chain", Args: tagValidator},
		func(m *livedb.MutationCtx, a tagArgs) (any, error) {
			if err := insertEffect(m, a.Tag); err != nil {
				return nil, err
			}
			_, err := m.Scheduler().RunAfter(0, "effects:add", tagArgs{Tag: a.Tag + "+next"})
			return nil, err
		})
	cancelSelf := livedb.NewMutation(livedb.FunctionDef[tagArgs, any]{Name: "effects:cancelSelf", Args: tagValidator},
		func(m *livedb.MutationCtx, a tagArgs) (any, error) {
			self, ok, err := m.DB.Query("_scheduled_functions").
				WithIndex("by_state_and_time", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("state.kind", "pending") }).
				Filter(func(f livedb.FilterBuilder) livedb.Expr { return f.Eq(f.Field("name"), "effects:cancelSelf") }).First()
			if err != nil || !ok {
				return nil, fmt.Errorf("own job not found: %v", err)
			}
			return nil, m.Scheduler().Cancel(self.ID())
		})
	reader := livedb.NewQuery(livedb.FunctionDef[tagArgs, any]{Name: "effects:read", Args: tagValidator},
		func(q *livedb.QueryCtx, a tagArgs) (any, error) { return nil, nil })
	reg, err := livedb.NewRegistry(add, fail, boom, chain, cancelSelf, reader)
	require.NoError(t, err)
	return reg
}

// clockOptions returns options with a test clock.
func clockOptions(c *livedbtest.Clock) *livedb.Options { return &livedb.Options{Clock: c} }

// mustEffects returns the tags of the effects, in the order they were
// written.
func mustEffects(t testing.TB, db *livedb.DB) []string {
	t.Helper()
	docs, err := livedb.QueryValue(context.Background(), db, func(q *livedb.QueryCtx) ([]livedb.Doc, error) {
		return q.DB.Query("effects").Collect()
	})
	require.NoError(t, err)
	var tags []string
	for _, d := range docs {
		tags = append(tags, d["tag"].(string))
	}
	return tags
}

// mustJob reads a scheduled function.
func mustJob(t testing.TB, db *livedb.DB, id livedb.ID) livedb.ScheduledFunction {
	t.Helper()
	jobs := livedb.NewTable[livedb.ScheduledFunction]("_scheduled_functions")
	job, err := livedb.QueryValue(context.Background(), db, func(q *livedb.QueryCtx) (livedb.ScheduledFunction, error) {
		j, ok, err := jobs.Get(q.DB, livedb.Ref[livedb.ScheduledFunction](id))
		if err == nil && !ok {
			err = fmt.Errorf("scheduled function %s not found", id)
		}
		return j, err
	})
	require.NoError(t, err)
	return job
}

// mustSchedule schedules fn after delay in a mutation of its own.
func mustSchedule(t testing.TB, db *livedb.DB, delay time.Duration, fn, tag string) livedb.ID {
	t.Helper()
	id, err := livedb.MutationValue(context.Background(), db, func(m *livedb.MutationCtx) (livedb.ID, error) {
		return m.Scheduler().RunAfter(delay, fn, tagArgs{Tag: tag})
	})
	require.NoError(t, err)
	return id
}

// startSched opens a database of backend b with a test clock and starts a
// Runner on it.
func startSched(t *testing.T, b string) (*livedb.DB, *livedb.Runner, *livedbtest.Clock) {
	t.Helper()
	clock := livedbtest.NewClock(time.Time{})
	db := openBackend(t, b, schedSchema(), clockOptions(clock))
	return db, livedbtest.StartScheduler(t, db, schedFunctions(t), nil), clock
}

func TestScheduler_RunAfter_RunsOnceWhenDue(t *testing.T) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			db, r, clock := startSched(t, b)
			id := mustSchedule(t, db, 30*time.Second, "effects:add", "later")
			job := mustJob(t, db, id)
			assert.Equal(t, livedb.ScheduledPending, job.State.Kind)
			assert.Equal(t, "effects:add", job.Name)
			assert.Equal(t, []any{map[string]any{"tag": "later"}}, job.Args)
			assert.Equal(t, float64(clock.Now().Add(30*time.Second).UnixMilli()), job.ScheduledTime)

			clock.Advance(30*time.Second - time.Millisecond)
			assert.Equal(t, 0, livedbtest.RunDue(t, r), "not due yet")
			assert.Empty(t, mustEffects(t, db))

			// The loop's timer fires too: RunDue counts the run only if it
			// got there first, but it returns once the run is done.
			clock.Advance(time.Millisecond)
			livedbtest.RunDue(t, r)
			assert.Equal(t, []string{"later"}, mustEffects(t, db))
			job = mustJob(t, db, id)
			assert.Equal(t, livedb.ScheduledSuccess, job.State.Kind)
			require.NotNil(t, job.CompletedTime)
			assert.Equal(t, float64(clock.Now().UnixMilli()), *job.CompletedTime)

			clock.Advance(time.Hour)
			assert.Equal(t, 0, livedbtest.RunDue(t, r), "a run happens once")
			assert.Equal(t, []string{"later"}, mustEffects(t, db))
		})
	}
}

func TestScheduler_RunAfter_FailedMutationSchedulesNothing(t *testing.T) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			db, r, clock := startSched(t, b)
			err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
				if _, err := m.Scheduler().RunAfter(0, "effects:add", tagArgs{Tag: "never"}); err != nil {
					return err
				}
				return errors.New("changed my mind")
			})
			require.EqualError(t, err, "changed my mind")

			// A mutation that conflicts and runs again schedules once: the
			// run of the attempt that committed.
			first := make(chan struct{}, 1)
			release := make(chan struct{})
			done := make(chan error, 1)
			attempts := 0
			go func() {
				done <- db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					attempts++
					if _, err := m.DB.Query("items").Collect(); err != nil {
						return err
					}
					if _, err := m.Scheduler().RunAfter(0, "effects:add", tagArgs{Tag: "once"}); err != nil {
						return err
					}
					if attempts == 1 {
						first <- struct{}{}
						<-release
					}
					_, err := m.DB.Insert("items", livedb.Doc{"n": 1.0})
					return err
				})
			}()
			mustRecv(t, first, testWait, "the first attempt")
			mustMutate(t, db, func(m *livedb.MutationCtx) error {
				_, err := m.DB.Insert("items", livedb.Doc{"n": 2.0})
				return err
			})
			close(release)
			require.NoError(t, mustRecv(t, done, testWait, "the conflicting mutation"))
			require.Equal(t, 2, attempts, "the mutation conflicted once")

			clock.Advance(time.Minute)
			livedbtest.RunDue(t, r)
			assert.Equal(t, []string{"once"}, mustEffects(t, db))
			jobs := mustCollect(t, db, "_scheduled_functions")
			assert.Len(t, jobs, 1, "the failed mutation and the conflicting attempt scheduled nothing")
		})
	}
}

func TestScheduler_Run_FailureRollsBackAndIsRecorded(t *testing.T) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			db, r, _ := startSched(t, b)
			failID := mustSchedule(t, db, 0, "effects:fail", "f")
			panicID := mustSchedule(t, db, 0, "effects:panic", "p")
			okID := mustSchedule(t, db, 0, "effects:add", "ok")
			livedbtest.RunDue(t, r)
			assert.Equal(t, []string{"ok"}, mustEffects(t, db), "the failed runs' writes were rolled back")

			job := mustJob(t, db, failID)
			assert.Equal(t, livedb.ScheduledFailed, job.State.Kind)
			assert.Equal(t, "no luck with f", job.State.Error)
			job = mustJob(t, db, panicID)
			assert.Equal(t, livedb.ScheduledFailed, job.State.Kind)
			assert.Contains(t, job.State.Error, "panicked: boom p")
			assert.Equal(t, livedb.ScheduledSuccess, mustJob(t, db, okID).State.Kind)
		})
	}
}

func TestScheduler_RunAfter_Checks(t *testing.T) {
	db, _, _ := startSched(t, "memory")
	try := func(fn func(s *livedb.Scheduler) (livedb.ID, error)) error {
		return db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
			_, err := fn(m.Scheduler())
			return err
		})
	}
	err := try(func(s *livedb.Scheduler) (livedb.ID, error) { return s.RunAfter(0, "effects:nope", nil) })
	require.ErrorIs(t, err, livedb.ErrUnknownFunction)
	MustCleanErrorText(t, err, "")
	err = try(func(s *livedb.Scheduler) (livedb.ID, error) { return s.RunAfter(0, "effects:read", nil) })
	require.ErrorIs(t, err, livedb.ErrInvalidFunction, "a query cannot be scheduled")
	err = try(func(s *livedb.Scheduler) (livedb.ID, error) {
		return s.RunAfter(0, "effects:add", livedb.Doc{"tag": 3.0})
	})
	var ae *livedb.ArgumentError
	require.ErrorAs(t, err, &ae)
	err = try(func(s *livedb.Scheduler) (livedb.ID, error) { return s.RunAfter(-time.Second, "effects:add", nil) })
	require.ErrorIs(t, err, livedb.ErrInvalidSchedule)
	err = try(func(s *livedb.Scheduler) (livedb.ID, error) {
		return s.RunAt(time.Now().AddDate(6, 0, 0), "effects:add", tagArgs{Tag: "x"})
	})
	require.ErrorIs(t, err, livedb.ErrInvalidSchedule)
	err = try(func(s *livedb.Scheduler) (livedb.ID, error) { return s.RunAfter(0, "", nil) })
	require.ErrorIs(t, err, livedb.ErrInvalidSchedule)
	assert.Empty(t, mustCollect(t, db, "_scheduled_functions"), "nothing was scheduled")

	// The limit: 1,000 functions a mutation.
	err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		for i := range 1000 {
			if _, err := m.Scheduler().RunAfter(time.Hour, "effects:add", tagArgs{Tag: fmt.Sprint(i)}); err != nil {
				return fmt.Errorf("schedule %d: %w", i, err)
			}
		}
		_, err := m.Scheduler().RunAfter(time.Hour, "effects:add", tagArgs{Tag: "one too many"})
		return err
	})
	var le *livedb.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, int64(1000), le.Max)
	require.NoError(t, db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		for i := range 1000 {
			if _, err := m.Scheduler().RunAfter(time.Hour, "effects:add", tagArgs{Tag: fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		return nil
	}), "1,000 is allowed")
}

func TestScheduler_RunAfter_WithoutRunnerChecksAtRun(t *testing.T) {
	clock := livedbtest.NewClock(time.Time{})
	db := livedbtest.NewOptions(t, schedSchema(), clockOptions(clock))
	// No Runner: the names are not checked when scheduling.
	good := mustSchedule(t, db, time.Minute, "effects:add", "queued")
	bad := mustSchedule(t, db, time.Minute, "effects:typo", "x")
	clock.Advance(time.Hour)
	r := livedbtest.StartScheduler(t, db, schedFunctions(t), nil)
	livedbtest.RunDue(t, r) // the runs that waited for a Runner run when it starts
	assert.Equal(t, livedb.ScheduledSuccess, mustJob(t, db, good).State.Kind)
	job := mustJob(t, db, bad)
	assert.Equal(t, livedb.ScheduledFailed, job.State.Kind)
	assert.Contains(t, job.State.Error, "unknown function")
	assert.Equal(t, []string{"queued"}, mustEffects(t, db))
}

func TestScheduler_Run_NoIdentityAndChains(t *testing.T) {
	db, r, _ := startSched(t, "memory")
	ctx := livedb.WithIdentity(context.Background(), &livedb.Identity{Subject: "alice", TokenIdentifier: "x|alice"})
	_, err := livedb.MutationValue(ctx, db, func(m *livedb.MutationCtx) (livedb.ID, error) {
		if err := insertEffect(m, "caller"); err != nil {
			return "", err
		}
		return m.Scheduler().RunAfter(0, "effects:chain", tagArgs{Tag: "a"})
	})
	require.NoError(t, err)
	_, err = r.RunDue(ctx)
	require.NoError(t, err)
	docs := mustCollect(t, db, "effects")
	require.Len(t, docs, 3, "the chained function ran in the same RunDue")
	assert.Equal(t, "alice", docs[0]["user"])
	for _, d := range docs[1:] {
		assert.Nil(t, d["user"], "scheduled functions run without the caller's identity")
	}
	assert.Equal(t, []string{"caller", "a", "a+next"}, mustEffects(t, db))
}

func TestScheduler_Cancel(t *testing.T) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			db, r, clock := startSched(t, b)
			id := mustSchedule(t, db, time.Minute, "effects:add", "canceled")
			ran := mustSchedule(t, db, 0, "effects:add", "ran")
			livedbtest.RunDue(t, r)
			mustMutate(t, db, func(m *livedb.MutationCtx) error { return m.Scheduler().Cancel(id) })
			mustMutate(t, db, func(m *livedb.MutationCtx) error { return m.Scheduler().Cancel(ran) })
			clock.Advance(time.Hour)
			livedbtest.RunDue(t, r)
			assert.Equal(t, []string{"ran"}, mustEffects(t, db))
			assert.Equal(t, livedb.ScheduledCanceled, mustJob(t, db, id).State.Kind)
			assert.Equal(t, livedb.ScheduledSuccess, mustJob(t, db, ran).State.Kind, "canceling a run that happened does nothing")

			// Canceling in a mutation that fails cancels nothing.
			keep := mustSchedule(t, db, time.Minute, "effects:add", "kept")
			err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
				if err := m.Scheduler().Cancel(keep); err != nil {
					return err
				}
				return errors.New("no")
			})
			require.Error(t, err)
			clock.Advance(time.Hour)
			livedbtest.RunDue(t, r)
			assert.Equal(t, []string{"ran", "kept"}, mustEffects(t, db))

			// A scheduled function cannot cancel itself.
			self := mustSchedule(t, db, 0, "effects:cancelSelf", "self")
			livedbtest.RunDue(t, r)
			job := mustJob(t, db, self)
			assert.Equal(t, livedb.ScheduledFailed, job.State.Kind)
			assert.Contains(t, job.State.Error, "cannot cancel itself")

			// IDs that are not scheduled functions'.
			wf := mustSchedule(t, db, time.Minute, "effects:add", "x")
			item := mustCollect(t, db, "effects")[0].ID()
			err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error { return m.Scheduler().Cancel(item) })
			require.ErrorIs(t, err, livedb.ErrInvalidID)
			err = db.Mutation(context.Background(), func(m *livedb.MutationCtx) error { return m.Scheduler().Cancel("nope") })
			require.ErrorIs(t, err, livedb.ErrInvalidID)
			_ = wf
		})
	}
}

// TestScheduler_Cancel_Races cancels scheduled functions while the Runner's
// loop runs them: each either ran (and its cancel did nothing) or was
// canceled (and never runs), never both.
func TestScheduler_Cancel_Races(t *testing.T) {
	const jobs = 60
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			db, r, clock := startSched(t, b)
			ids := make([]livedb.ID, jobs)
			mustMutate(t, db, func(m *livedb.MutationCtx) error {
				for i := range ids {
					var err error
					if ids[i], err = m.Scheduler().RunAfter(time.Second, "effects:add", tagArgs{Tag: fmt.Sprint(i)}); err != nil {
						return err
					}
				}
				return nil
			})
			// The cancels start once the loop has run a few of the jobs,
			// so that some cancels come after their job ran, some before,
			// and some race with it.
			sub, err := livedb.Subscribe(context.Background(), db, func(q *livedb.QueryCtx) (int, error) {
				docs, err := q.DB.Query("effects").Take(4)
				return len(docs), err
			})
			require.NoError(t, err)
			defer sub.Close()
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, id := range ids {
				if i%2 == 1 {
					continue
				}
				wg.Go(func() {
					<-start
					if err := db.Mutation(context.Background(), func(m *livedb.MutationCtx) error { return m.Scheduler().Cancel(id) }); err != nil {
						t.Errorf("cancel %s: %v", id, err)
					}
				})
			}
			clock.Advance(time.Second) // the loop starts running them
			for n := 0; n < 4; {
				n = mustRecv(t, sub.Updates(), testWait, "the first runs").Value
			}
			close(start)
			wg.Wait()
			livedbtest.RunDue(t, r)

			tags := mustEffects(t, db)
			ranSet := map[string]bool{}
			for _, tag := range tags {
				require.False(t, ranSet[tag], "function %s ran twice", tag)
				ranSet[tag] = true
			}
			canceled := 0
			for i, id := range ids {
				job := mustJob(t, db, id)
				switch job.State.Kind {
				case livedb.ScheduledSuccess:
					assert.True(t, ranSet[fmt.Sprint(i)], "job %d succeeded without its effect", i)
				case livedb.ScheduledCanceled:
					canceled++
					assert.False(t, ranSet[fmt.Sprint(i)], "job %d was canceled and ran", i)
					assert.Equal(t, 0, i%2, "job %d was canceled but nobody canceled it", i)
				default:
					t.Errorf("job %d is %s", i, job.State.Kind)
				}
			}
			t.Logf("%d of the %d jobs canceled were canceled before they ran", canceled, jobs/2)
			assert.Less(t, canceled, jobs/2, "some cancels came too late")
		})
	}
}

func TestScheduler_Loop_WakesOnCommitAndClock(t *testing.T) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			db, _, clock := startSched(t, b)
			sub, err := livedb.Subscribe(context.Background(), db, func(q *livedb.QueryCtx) (int, error) {
				docs, err := q.DB.Query("effects").Collect()
				return len(docs), err
			})
			require.NoError(t, err)
			defer sub.Close()
			require.Equal(t, 0, mustRecv(t, sub.Updates(), testWait, "the first result").Value)

			mustSchedule(t, db, 0, "effects:add", "now")
			require.Equal(t, 1, mustRecv(t, sub.Updates(), testWait, "the run woken by the commit").Value)

			mustSchedule(t, db, time.Minute, "effects:add", "in a minute")
			clock.Advance(time.Minute)
			require.Equal(t, 2, mustRecv(t, sub.Updates(), testWait, "the run woken by the clock").Value)
		})
	}
}

func TestScheduler_Restart_OverdueRunsInOrder(t *testing.T) {
	clock := livedbtest.NewClock(time.Time{})
	path := filepath.Join(t.TempDir(), "sched.db")
	db, err := livedb.Open(path, schedSchema(), &livedb.Options{Clock: clock, NoSync: true})
	require.NoError(t, err)
	r, err := db.StartScheduler(schedFunctions(t), nil)
	require.NoError(t, err)
	for i, d := range []time.Duration{5, 1, 4, 2, 3} {
		mustSchedule(t, db, d*time.Minute, "effects:add", fmt.Sprintf("%d:%d", d, i))
	}
	require.NoError(t, r.Close())
	require.NoError(t, db.Close())

	clock.Advance(time.Hour) // the program was stopped while they fell due
	db, err = livedb.Open(path, schedSchema(), &livedb.Options{Clock: clock, NoSync: true})
	require.NoError(t, err)
	t.Cleanup(func() { livedbtest.MustCheckClose(t, db) })
	r = livedbtest.StartScheduler(t, db, schedFunctions(t), nil)
	livedbtest.RunDue(t, r)
	assert.Equal(t, []string{"1:1", "2:3", "3:4", "4:2", "5:0"}, mustEffects(t, db), "overdue runs run once, in order of due time")
}

func TestScheduler_Start_Checks(t *testing.T) {
	db, _, _ := startSched(t, "memory")
	_, err := db.StartScheduler(schedFunctions(t), nil)
	require.ErrorIs(t, err, livedb.ErrInvalidSchedule, "a second Runner")

	other := livedbtest.New(t, schedSchema())
	_, err = other.StartScheduler(schedFunctions(t), new(livedb.Crons).Interval("sweep", time.Minute, "effects:gone", nil))
	require.ErrorIs(t, err, livedb.ErrUnknownFunction)
	MustCleanErrorText(t, err, "")
	r, err := other.StartScheduler(schedFunctions(t), nil)
	require.NoError(t, err, "a failed start leaves no Runner attached")
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "Close is idempotent")
	err = workpool.New("p", nil).Work(context.Background(), r, func(context.Context, *workpool.Item) (any, error) { return nil, nil })
	require.ErrorIs(t, err, livedb.ErrClosed)
}

func TestSystemTables_ReadOnly(t *testing.T) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			db, _, _ := startSched(t, b)
			id := mustSchedule(t, db, time.Minute, "effects:add", "x")
			writes := map[string]func(m *livedb.MutationCtx) error{
				"insert": func(m *livedb.MutationCtx) error {
					_, err := m.DB.Insert("_scheduled_functions", livedb.Doc{"name": "x"})
					return err
				},
				"insert other": func(m *livedb.MutationCtx) error {
					_, err := m.DB.Insert("_mine", livedb.Doc{"a": 1.0})
					return err
				},
				"patch":   func(m *livedb.MutationCtx) error { return m.DB.Patch(id, livedb.Doc{"name": "y"}) },
				"replace": func(m *livedb.MutationCtx) error { return m.DB.Replace(id, livedb.Doc{"name": "y"}) },
				"delete":  func(m *livedb.MutationCtx) error { return m.DB.Delete(id) },
			}
			for name, fn := range writes {
				err := db.Mutation(context.Background(), fn)
				require.ErrorIs(t, err, livedb.ErrInvalidTable, name)
				MustCleanErrorText(t, err, "")
			}
			job := mustJob(t, db, id)
			assert.Equal(t, "effects:add", job.Name, "nothing was written")

			// Readable like any table, through its indexes.
			n, err := livedb.QueryValue(context.Background(), db, func(q *livedb.QueryCtx) (int, error) {
				docs, err := q.DB.Query("_scheduled_functions").
					WithIndex("by_state_and_time", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("state.kind", "pending") }).Collect()
				return len(docs), err
			})
			require.NoError(t, err)
			assert.Equal(t, 1, n)
			for _, name := range []string{"_crons", workpool.ItemsTable} {
				assert.Empty(t, mustCollect(t, db, name), "%s exists, empty", name)
			}

			// Export leaves the system tables out.
			var buf strings.Builder
			_, err = snapshot.Export(context.Background(), db, &writerTo{&buf}, nil)
			require.NoError(t, err)
			assert.NotContains(t, buf.String(), "_scheduled_functions")
		})
	}
}

// writerTo adapts a strings.Builder to io.Writer for Export.
type writerTo struct{ b *strings.Builder }

func (w *writerTo) Write(p []byte) (int, error) { return w.b.Write(p) }

func TestSystemTables_KeptByOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sys.db")
	db, err := livedb.Open(path, schedSchema(), &livedb.Options{NoSync: true})
	require.NoError(t, err)
	mustSchedule(t, db, time.Hour, "effects:add", "x")
	require.NoError(t, db.Close())
	// Open with the same schema, which declares no system table: the
	// system table and its index stay.
	db, err = livedb.Open(path, schedSchema(), &livedb.Options{NoSync: true})
	require.NoError(t, err)
	defer livedbtest.MustCheckClose(t, db)
	assert.Empty(t, db.OpenReport().IndexesDropped)
	stats, err := db.TableStats(context.Background())
	require.NoError(t, err)
	i := slices.IndexFunc(stats, func(s livedb.TableStat) bool { return s.Name == "_scheduled_functions" })
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, int64(1), stats[i].Documents)
	assert.Equal(t, uint32(1), stats[i].Number)
	r := livedbtest.StartScheduler(t, db, schedFunctions(t), nil)
	_ = r
	n, err := livedb.QueryValue(context.Background(), db, func(q *livedb.QueryCtx) (int, error) {
		docs, err := q.DB.Query("_scheduled_functions").
			WithIndex("by_state_and_time", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("state.kind", "pending") }).Collect()
		return len(docs), err
	})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

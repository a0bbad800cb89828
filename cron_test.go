package livedb_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
)

// cronJob is a document of _crons, for typed reads.
type cronJob struct {
	ID        livedb.ID    `json:"_id"`
	Name      string       `json:"name"`
	Schedule  cronSchedule `json:"schedule"`
	Function  string       `json:"function"`
	Args      any          `json:"args"`
	NextRun   float64      `json:"nextRun"`
	LastRun   *float64     `json:"lastRun"`
	LastError *string      `json:"lastError"`
	Runs      int          `json:"runs"`
	Skipped   int          `json:"skipped"`
}

// cronSchedule is a cron job's schedule.
type cronSchedule struct {
	Kind string  `json:"kind"`
	Ms   float64 `json:"ms"`
	Spec string  `json:"spec"`
}

// mustCron reads a cron job by name.
func mustCron(t testing.TB, db *livedb.DB, name string) cronJob {
	t.Helper()
	crons := livedb.NewTable[cronJob]("_crons")
	job, err := livedb.QueryValue(context.Background(), db, func(q *livedb.QueryCtx) (cronJob, error) {
		j, ok, err := crons.Query(q.DB).WithIndex("by_name", func(r livedb.IndexRange) livedb.IndexRange { return r.Eq("name", name) }).Unique()
		if err == nil && !ok {
			t.Fatalf("cron job %q not found", name)
		}
		return j, err
	})
	require.NoError(t, err)
	return job
}

// ms returns t in milliseconds since the Unix epoch, as the system tables
// store times.
func ms(t time.Time) float64 { return float64(t.UnixMilli()) }

// msTime returns the time of a whole number of milliseconds since the
// Unix epoch.
func msTime(ms float64) time.Time { return time.UnixMilli(int64(ms)) }

func countTag(tags []string, tag string) int {
	n := 0
	for _, x := range tags {
		if x == tag {
			n++
		}
	}
	return n
}

func TestCrons_Interval_SkipsMissedRuns(t *testing.T) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			clock := livedbtest.NewClock(time.Time{})
			start := clock.Now()
			db := openBackend(t, b, schedSchema(), clockOptions(clock))
			crons := new(livedb.Crons).Interval("tick", time.Minute, "effects:add", tagArgs{Tag: "tick"})
			r := livedbtest.StartScheduler(t, db, schedFunctions(t), crons)
			livedbtest.RunDue(t, r)
			job := mustCron(t, db, "tick")
			assert.Equal(t, 1, job.Runs, "an interval job first runs when the Runner starts")
			assert.Equal(t, ms(start.Add(time.Minute)), job.NextRun)
			assert.Equal(t, cronSchedule{Kind: "interval", Ms: 60000}, job.Schedule)

			clock.Advance(59 * time.Second)
			livedbtest.RunDue(t, r)
			assert.Equal(t, 1, countTag(mustEffects(t, db), "tick"))

			clock.Advance(time.Second)
			livedbtest.RunDue(t, r)
			assert.Equal(t, 2, countTag(mustEffects(t, db), "tick"))

			// Ten minutes pass at once (the program was busy or stopped):
			// one run, nine skipped, and the schedule keeps its phase.
			clock.Advance(10*time.Minute + 30*time.Second)
			livedbtest.RunDue(t, r)
			livedbtest.RunDue(t, r)
			job = mustCron(t, db, "tick")
			assert.Equal(t, 3, countTag(mustEffects(t, db), "tick"), "runs that fell behind are not stacked")
			assert.Equal(t, 3, job.Runs)
			assert.Equal(t, 9, job.Skipped)
			assert.Equal(t, ms(start.Add(12*time.Minute)), job.NextRun)
			require.NotNil(t, job.LastRun)
			assert.Equal(t, ms(clock.Now()), *job.LastRun)
		})
	}
}

func TestCrons_Cron_Spec(t *testing.T) {
	clock := livedbtest.NewClock(time.Date(2024, 3, 1, 10, 7, 0, 0, time.UTC))
	db := livedbtest.NewOptions(t, schedSchema(), clockOptions(clock))
	crons := new(livedb.Crons).Cron("quarter", "*/15 * * * *", "effects:add", tagArgs{Tag: "q"})
	r := livedbtest.StartScheduler(t, db, schedFunctions(t), crons)
	job := mustCron(t, db, "quarter")
	assert.Equal(t, ms(time.Date(2024, 3, 1, 10, 15, 0, 0, time.UTC)), job.NextRun, "the first run is the first time the spec names")
	assert.Equal(t, cronSchedule{Kind: "cron", Spec: "*/15 * * * *"}, job.Schedule)

	clock.Set(time.Date(2024, 3, 1, 10, 14, 59, 0, time.UTC))
	livedbtest.RunDue(t, r)
	assert.Empty(t, mustEffects(t, db))
	clock.Set(time.Date(2024, 3, 1, 10, 15, 0, 0, time.UTC))
	livedbtest.RunDue(t, r)
	assert.Equal(t, []string{"q"}, mustEffects(t, db))
	clock.Set(time.Date(2024, 3, 1, 11, 20, 0, 0, time.UTC))
	livedbtest.RunDue(t, r)
	job = mustCron(t, db, "quarter")
	assert.Equal(t, 2, job.Runs)
	assert.Equal(t, 3, job.Skipped, "10:30, 10:45 and 11:00 were missed; 11:15 ran late")
	assert.Equal(t, ms(time.Date(2024, 3, 1, 11, 30, 0, 0, time.UTC)), job.NextRun)
}

func TestCrons_FailureKeepsSchedule(t *testing.T) {
	clock := livedbtest.NewClock(time.Time{})
	db := livedbtest.NewOptions(t, schedSchema(), clockOptions(clock))
	crons := new(livedb.Crons).Interval("flaky", time.Minute, "effects:fail", tagArgs{Tag: "f"})
	r := livedbtest.StartScheduler(t, db, schedFunctions(t), crons)
	livedbtest.RunDue(t, r)
	job := mustCron(t, db, "flaky")
	require.NotNil(t, job.LastError)
	assert.Contains(t, *job.LastError, "no luck with f")
	assert.Empty(t, mustEffects(t, db), "the failed run's writes were rolled back")
	clock.Advance(time.Minute)
	livedbtest.RunDue(t, r)
	assert.Equal(t, 2, mustCron(t, db, "flaky").Runs)
}

func TestCrons_Start_SyncsTheTable(t *testing.T) {
	clock := livedbtest.NewClock(time.Time{})
	db := livedbtest.NewOptions(t, schedSchema(), clockOptions(clock))
	reg := schedFunctions(t)
	r, err := db.StartScheduler(reg, new(livedb.Crons).
		Interval("a", time.Hour, "effects:add", tagArgs{Tag: "a"}).
		Interval("b", time.Hour, "effects:add", tagArgs{Tag: "b"}).
		Interval("c", time.Hour, "effects:add", tagArgs{Tag: "c"}))
	require.NoError(t, err)
	livedbtest.RunDue(t, r)
	require.NoError(t, r.Close())
	a := mustCron(t, db, "a")

	// Restart with a kept, a changed and a new job; c is gone.
	clock.Advance(time.Minute)
	r = livedbtest.StartScheduler(t, db, reg, new(livedb.Crons).
		Interval("a", time.Hour, "effects:add", tagArgs{Tag: "a"}).
		Cron("b", "0 * * * *", "effects:add", tagArgs{Tag: "b2"}).
		Interval("d", time.Hour, "effects:add", tagArgs{Tag: "d"}))
	assert.Equal(t, a, mustCron(t, db, "a"), "an unchanged job keeps its state")
	b := mustCron(t, db, "b")
	assert.Equal(t, "cron", b.Schedule.Kind)
	assert.Equal(t, map[string]any{"tag": "b2"}, b.Args)
	assert.Equal(t, ms(clock.Now().Truncate(time.Hour).Add(time.Hour)), b.NextRun)
	assert.Equal(t, 1, b.Runs, "a changed job keeps its counts")
	rows := mustCollect(t, db, "_crons")
	var names []string
	for _, d := range rows {
		names = append(names, d["name"].(string))
	}
	assert.ElementsMatch(t, []string{"a", "b", "d"}, names, "a job no longer registered is removed")
	livedbtest.RunDue(t, r)
	assert.Equal(t, 1, countTag(mustEffects(t, db), "d"))
}

func TestCrons_Errors(t *testing.T) {
	cases := []struct {
		name  string
		crons *livedb.Crons
	}{
		{"twice", new(livedb.Crons).Interval("x", time.Minute, "f", nil).Interval("x", time.Hour, "g", nil)},
		{"short interval", new(livedb.Crons).Interval("x", time.Millisecond, "f", nil)},
		{"bad spec", new(livedb.Crons).Cron("x", "61 * * * *", "f", nil)},
		{"never", new(livedb.Crons).Cron("x", "0 0 31 2 *", "f", nil)},
		{"no name", new(livedb.Crons).Interval("", time.Minute, "f", nil)},
		{"no function", new(livedb.Crons).Interval("x", time.Minute, "", nil)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.crons.Err(), livedb.ErrInvalidSchedule)
			MustCleanErrorText(t, tc.crons.Err(), "")
			db := livedbtest.New(t, schedSchema())
			_, err := db.StartScheduler(schedFunctions(t), tc.crons)
			require.ErrorIs(t, err, livedb.ErrInvalidSchedule)
		})
	}
	assert.Contains(t, cases[0].crons.Err().Error(), "registered twice")
}

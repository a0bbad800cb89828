package livedbtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
)

func TestClock_TimerFiresWhenMoved(t *testing.T) {
	start := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	c := livedbtest.NewClock(start)
	assert.Equal(t, start, c.Now())
	assert.Equal(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), livedbtest.NewClock(time.Time{}).Now())

	soon, _ := c.Timer(start.Add(time.Second))
	later, _ := c.Timer(start.Add(time.Hour))
	stopped, stop := c.Timer(start.Add(time.Second))
	stop()
	stop() // idempotent
	past, _ := c.Timer(start.Add(-time.Second))
	assert.True(t, closed(past), "a timer for a time passed fires at once")
	assert.False(t, closed(soon))

	c.Advance(time.Second)
	assert.Equal(t, start.Add(time.Second), c.Now())
	assert.True(t, closed(soon))
	assert.False(t, closed(later))
	assert.False(t, closed(stopped), "a stopped timer never fires")

	c.Set(start) // back in time: nothing fires
	assert.False(t, closed(later))
	c.Advance(-time.Minute)
	assert.Equal(t, start, c.Now(), "Advance never goes back")
	c.Set(start.Add(2 * time.Hour))
	assert.True(t, closed(later))
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestFinishScheduled runs a chain of functions, each scheduling the next
// an hour later, by moving the clock from one to the next.
func TestFinishScheduled(t *testing.T) {
	schema := livedb.DefineSchema(livedb.Tables{"steps": livedb.DefineTable(v.Object(v.Fields{"n": v.Float64()}))})
	type stepArgs struct {
		N int `json:"n"`
	}
	step := livedb.NewMutation(livedb.FunctionDef[stepArgs, any]{Name: "steps:next"},
		func(m *livedb.MutationCtx, a stepArgs) (any, error) {
			if _, err := m.DB.Insert("steps", livedb.Doc{"n": float64(a.N)}); err != nil {
				return nil, err
			}
			if a.N < 5 {
				_, err := m.Scheduler().RunAfter(time.Hour, "steps:next", stepArgs{N: a.N + 1})
				return nil, err
			}
			return nil, nil
		})
	reg, err := livedb.NewRegistry(step)
	require.NoError(t, err)
	clock := livedbtest.NewClock(time.Time{})
	start := clock.Now()
	db := livedbtest.NewOptions(t, schema, &livedb.Options{Clock: clock})
	r := livedbtest.StartScheduler(t, db, reg, nil)
	require.NoError(t, db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		_, err := m.Scheduler().RunAfter(time.Hour, "steps:next", stepArgs{N: 1})
		return err
	}))
	assert.Equal(t, 0, livedbtest.RunDue(t, r), "nothing is due before the clock moves")

	livedbtest.FinishScheduled(t, r, db, clock, 100)
	n, err := livedb.QueryValue(context.Background(), db, func(q *livedb.QueryCtx) (int, error) {
		docs, err := q.DB.Query("steps").Collect()
		return len(docs), err
	})
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	assert.True(t, start.Add(5*time.Hour).Equal(clock.Now()), "the clock moved to each function's time: %v", clock.Now())
}

func TestFinishScheduled_FailsOnEndlessChains(t *testing.T) {
	schema := livedb.DefineSchema(livedb.Tables{"steps": livedb.DefineTable(v.Any())})
	forever := livedb.NewMutation(livedb.FunctionDef[livedb.Doc, any]{Name: "forever"},
		func(m *livedb.MutationCtx, _ livedb.Doc) (any, error) {
			_, err := m.Scheduler().RunAfter(time.Minute, "forever", nil)
			return nil, err
		})
	reg, err := livedb.NewRegistry(forever)
	require.NoError(t, err)
	clock := livedbtest.NewClock(time.Time{})
	db := livedbtest.NewOptions(t, schema, &livedb.Options{Clock: clock})
	r := livedbtest.StartScheduler(t, db, reg, nil)
	require.NoError(t, db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		_, err := m.Scheduler().RunAfter(0, "forever", nil)
		return err
	}))
	ft := &fakeTB{TB: t}
	livedbtest.FinishScheduled(ft, r, db, clock, 10)
	require.Len(t, ft.fatals, 1)
	assert.Contains(t, ft.fatals[0], "still pending after 10 rounds")
}

package livedb_test

// The snippets of README.md's "Time and work" section, compiled and run
// (see TestReadme_SnippetsAreTested).

import (
	"context"
	"errors"
	"log"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/livedbtest"
	"github.com/livedb-go/livedb/v"
	"github.com/livedb-go/livedb/workpool"
)

// readmeTimeSchema has the tables the time-and-work snippets write.
func readmeTimeSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"reminders": livedb.DefineTable(v.Object(v.Fields{"text": v.String()})),
		"sent":      livedb.DefineTable(v.Object(v.Fields{"to": v.String(), "ok": v.Boolean()})),
	})
}

// ReminderArgs are the arguments of the README's "reminders:send".
type ReminderArgs struct {
	Text string `json:"text"`
}

// readmeReminders is the README's registry.
func readmeReminders(t *testing.T) *livedb.Registry {
	t.Helper()
	remind := livedb.NewMutation(livedb.FunctionDef[ReminderArgs, any]{Name: "reminders:send", Internal: true},
		func(m *livedb.MutationCtx, a ReminderArgs) (any, error) {
			_, err := m.DB.Insert("reminders", livedb.Doc{"text": a.Text})
			return nil, err
		})
	sent := livedb.NewMutation(livedb.FunctionDef[workpool.OnCompleteArgs, any]{Name: "emails:sent", Internal: true},
		func(m *livedb.MutationCtx, a workpool.OnCompleteArgs) (any, error) {
			to, _ := a.Context.(string)
			_, err := m.DB.Insert("sent", livedb.Doc{"to": to, "ok": a.Result.Kind == workpool.Success})
			return nil, err
		})
	reg, err := livedb.NewRegistry(remind, sent)
	require.NoError(t, err)
	return reg
}

func TestReadme_Scheduler(t *testing.T) {
	clock := livedbtest.NewClock(time.Time{})
	db := livedbtest.NewOptions(t, readmeTimeSchema(), &livedb.Options{Clock: clock})
	require.NoError(t, readmeScheduler(context.Background(), db, readmeReminders(t)))
	jobs := mustCollect(t, db, "_scheduled_functions")
	require.Len(t, jobs, 1)
	assert.Equal(t, "canceled", jobs[0]["state"].(map[string]any)["kind"])
}

func readmeScheduler(ctx context.Context, db *livedb.DB, reg *livedb.Registry) error {
	// README: scheduler
	runner, err := db.StartScheduler(reg, nil) // reg holds "reminders:send"
	if err != nil {
		return err
	}
	defer runner.Close()

	err = db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		// Scheduled only if this mutation commits.
		id, err := m.Scheduler().RunAfter(30*time.Second, "reminders:send", ReminderArgs{Text: "stand up"})
		if err != nil {
			return err
		}
		return m.Scheduler().Cancel(id) // changed our mind: it never runs
	})
	// (end)
	return err
}

func TestReadme_Crons(t *testing.T) {
	clock := livedbtest.NewClock(time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)) // a Monday
	db := livedbtest.NewOptions(t, readmeTimeSchema(), &livedb.Options{Clock: clock})
	reg := readmeReminders(t)
	// README: crons
	crons := new(livedb.Crons).
		Interval("hourly reminder", time.Hour, "reminders:send", ReminderArgs{Text: "drink water"}).
		Cron("weekday standup", "0 9 * * MON-FRI", "reminders:send", ReminderArgs{Text: "standup"}) // UTC
	runner, err := db.StartScheduler(reg, crons)
	// (end)
	require.NoError(t, err)
	defer runner.Close()
	livedbtest.RunDue(t, runner)
	clock.Advance(time.Hour)
	livedbtest.RunDue(t, runner)
	var texts []string
	for _, d := range mustCollect(t, db, "reminders") {
		texts = append(texts, d["text"].(string))
	}
	assert.Equal(t, []string{"drink water", "drink water", "standup"}, texts)
}

func TestReadme_Pool(t *testing.T) {
	db := livedbtest.New(t, readmeTimeSchema())
	runner := livedbtest.StartScheduler(t, db, readmeReminders(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	require.NoError(t, readmePool(ctx, db, runner))
	waitItems(t, db, "emails", workpool.Success, 1)
	sent := mustCollect(t, db, "sent")
	require.Len(t, sent, 1)
	assert.Equal(t, true, sent[0]["ok"])
}

// send stands for a call to a mail service.
func send(_ context.Context, to string) (any, error) {
	if to == "" {
		return nil, errors.New("no address")
	}
	return "sent to " + to, nil
}

func readmePool(ctx context.Context, db *livedb.DB, runner *livedb.Runner) error {
	// README: pool
	emails := workpool.New("emails", &workpool.Options{MaxParallelism: 4, Lease: time.Minute})

	err := db.Mutation(ctx, func(m *livedb.MutationCtx) error {
		// The item exists only if this mutation commits; "emails:sent" runs
		// in the same transaction as its completion.
		_, err := emails.Enqueue(m, livedb.Doc{"to": "ada@example.com"},
			&workpool.EnqueueOptions{OnComplete: "emails:sent", Context: "ada@example.com"})
		return err
	})
	if err != nil {
		return err
	}

	// Four workers, goroutines of this process, until ctx ends:
	go func() {
		err := emails.Work(ctx, runner, func(ctx context.Context, item *workpool.Item) (any, error) {
			return send(ctx, item.Args["to"].(string)) // an error: tried again later, with backoff
		})
		if err != nil {
			log.Print(err)
		}
	}()
	// (end)
	return nil
}

func TestReadme_TestClock(t *testing.T) {
	schema, reg := readmeTimeSchema(), readmeReminders(t)
	// README: test clock
	clock := livedbtest.NewClock(time.Time{}) // 2025-01-01 UTC, until the test moves it
	db := livedbtest.NewOptions(t, schema, &livedb.Options{Clock: clock})
	runner := livedbtest.StartScheduler(t, db, reg, nil)
	err := db.Mutation(t.Context(), func(m *livedb.MutationCtx) error {
		_, err := m.Scheduler().RunAfter(time.Hour, "reminders:send", ReminderArgs{Text: "later"})
		return err
	})
	require.NoError(t, err)

	clock.Advance(59 * time.Minute)
	livedbtest.RunDue(t, runner) // nothing is due yet
	clock.Advance(time.Minute)
	livedbtest.RunDue(t, runner) // "reminders:send" has run when RunDue returns
	// Or run every scheduled function, and those they schedule, moving the clock:
	livedbtest.FinishScheduled(t, runner, db, clock, 100)
	// (end)
	assert.Len(t, mustCollect(t, db, "reminders"), 1)
}

package livedb

import (
	"fmt"
	"time"

	"github.com/livedb-go/livedb/internal/id"
)

// ScheduledState is the state of a scheduled function: the kind of its
// state in _scheduled_functions, as in Convex.
type ScheduledState string

// The states of a scheduled function. A scheduled mutation goes from
// pending to success or failed in the one commit that runs it, so
// ScheduledInProgress, which Convex shows for actions, is never seen;
// it is kept so that the table has Convex's shape.
const (
	ScheduledPending    ScheduledState = "pending"    // waiting for its time
	ScheduledInProgress ScheduledState = "inProgress" // not used by mutations
	ScheduledSuccess    ScheduledState = "success"    // ran and committed
	ScheduledFailed     ScheduledState = "failed"     // returned an error (State.Error); its writes were rolled back
	ScheduledCanceled   ScheduledState = "canceled"   // canceled before it ran
)

// ScheduledFunction is a document of _scheduled_functions, in
// Convex's shape, for typed reads:
//
//	jobs := livedb.NewTable[livedb.ScheduledFunction]("_scheduled_functions")
//	job, ok, err := jobs.Get(q.DB, id)
type ScheduledFunction struct {
	ID           ID      `json:"_id"`
	CreationTime float64 `json:"_creationTime"`
	// Name is the registered mutation to run.
	Name string `json:"name"`
	// Args holds one element, the arguments object.
	Args []any `json:"args"`
	// ScheduledTime is when it is due, in milliseconds since the Unix
	// epoch on the DB's [Clock].
	ScheduledTime float64 `json:"scheduledTime"`
	// CompletedTime is when it ran or was canceled, on the same clock.
	CompletedTime *float64 `json:"completedTime"`
	// State is the function's state; Error is the error of a failed run.
	State struct {
		Kind  ScheduledState `json:"kind"`
		Error string         `json:"error"`
	} `json:"state"`
}

// The bounds of scheduling, Convex's.
const (
	// maxScheduledPerMutation bounds the functions one mutation schedules.
	maxScheduledPerMutation = 1000
	// maxScheduleSpan bounds how far from now RunAt may schedule.
	maxScheduleSpan = 5 * 365 * 24 * time.Hour
)

// Scheduler schedules registered mutations from inside a mutation:
// Convex's ctx.scheduler. Scheduling is part of the mutation's
// transaction: the scheduled run is a document of
// _scheduled_functions that the mutation inserts, so if the mutation
// fails, or is re-run after a conflict, nothing (or only the committed
// attempt's runs) is scheduled.
//
// The runs are carried out by the DB's [Runner] (see [DB.StartScheduler]),
// each exactly once: the scheduled mutation and its state change commit
// together. The runs of a DB that has no Runner wait in the table until
// one starts, and then run, in order, however late.
//
// A Scheduler is only valid inside the mutation that got it.
type Scheduler struct {
	m *MutationCtx
}

// runningJobKey is the context key of the ID of the scheduled function a
// mutation runs as.
type runningJobKey struct{}

// Scheduler returns the mutation's scheduler.
func (m *MutationCtx) Scheduler() *Scheduler { return &Scheduler{m: m} }

// RunAfter schedules the registered mutation name to run with args (a Doc,
// a map or a struct, as [ToDoc] takes; nil means no arguments) once delay
// has passed on the DB's [Clock], and returns the ID of its document in
// _scheduled_functions. A delay of 0 runs it as soon as the Runner
// sees the commit.
//
// When a Runner is attached to the DB, name must be a mutation of its
// Registry (internal or not) and args must pass its validator: a mistake
// fails the scheduling mutation, with ErrUnknownFunction or an
// *ArgumentError. Without one, the checks are made when the function
// runs, and a mistake is recorded as the run's error. A mutation schedules
// at most 1,000 functions (a *LimitError).
func (s *Scheduler) RunAfter(delay time.Duration, name string, args any) (ID, error) {
	if delay < 0 {
		return "", fmt.Errorf("%w: runAfter %q: the delay %v is negative", ErrInvalidSchedule, name, delay)
	}
	now := s.m.DB.tx.db.clock().Now()
	return s.schedule("runAfter", now.Add(delay), now, name, args)
}

// RunAt schedules the registered mutation name to run with args at t (on
// the DB's [Clock]; a time in the past runs as soon as the Runner sees the
// commit). t must be within five years of now, as in Convex. Otherwise it
// is RunAfter.
func (s *Scheduler) RunAt(t time.Time, name string, args any) (ID, error) {
	now := s.m.DB.tx.db.clock().Now()
	if d := t.Sub(now); d > maxScheduleSpan || d < -maxScheduleSpan {
		return "", fmt.Errorf("%w: runAt %q: %s is more than five years from now (%s)", ErrInvalidSchedule, name, t.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return s.schedule("runAt", t, now, name, args)
}

// schedule inserts the scheduled function's document.
func (s *Scheduler) schedule(op string, at, now time.Time, name string, args any) (ID, error) {
	tx := s.m.DB.tx
	if err := tx.checkUsable(); err != nil {
		return "", err
	}
	if name == "" {
		return "", fmt.Errorf("%w: %s: the function name is empty", ErrInvalidSchedule, op)
	}
	doc, err := argsDoc(args)
	if err != nil {
		return "", wrapErr(fmt.Sprintf("livedb: %s %q: arguments", op, name), err)
	}
	if r := tx.db.runner.Load(); r != nil {
		f, err := r.reg.mutation(name)
		if err != nil {
			return "", wrapErr(fmt.Sprintf("livedb: %s", op), err)
		}
		if err := f.check(doc); err != nil {
			return "", err
		}
	}
	if tx.scheduled >= maxScheduledPerMutation {
		return "", &LimitError{Limit: "functions scheduled", Max: maxScheduledPerMutation}
	}
	jobID, err := tx.sysInsert(scheduledFunctionsTable, Doc{
		"name":          name,
		"args":          []any{map[string]any(doc)},
		"scheduledTime": dueMillis(at, now),
		"state":         map[string]any{"kind": string(ScheduledPending)},
	})
	if err != nil {
		return "", wrapErr(fmt.Sprintf("livedb: %s %q", op, name), err)
	}
	tx.scheduled++
	return jobID, nil
}

// Cancel cancels a scheduled function that has not run yet: it will not
// run. Canceling one that already ran, failed or was canceled does
// nothing. As part of the mutation's transaction, Cancel and the run are
// serialized: either the run happened before (and Cancel does nothing) or
// it never happens. A scheduled function cannot cancel itself
// (ErrInvalidSchedule); an ID that is not a scheduled function's is an
// error wrapping ErrInvalidID or ErrNotFound.
func (s *Scheduler) Cancel(jobID ID) error {
	tx := s.m.DB.tx
	if n, ok := id.TableNumber(string(jobID)); !ok || n != systemTables[scheduledFunctionsTable].number {
		return &DocumentError{Op: "cancel", Table: scheduledFunctionsTable, ID: jobID, Kind: ErrInvalidID,
			Err: fmt.Errorf("not the ID of a scheduled function")}
	}
	if self, _ := s.m.ctx.Value(runningJobKey{}).(ID); self == jobID {
		return fmt.Errorf("%w: scheduled function %s cannot cancel itself", ErrInvalidSchedule, jobID)
	}
	doc, ok, err := s.m.DB.Get(jobID)
	if err != nil {
		return err
	}
	if !ok {
		return &DocumentError{Op: "cancel", Table: scheduledFunctionsTable, ID: jobID, Kind: ErrNotFound}
	}
	if scheduledState(doc) != ScheduledPending {
		return nil
	}
	return tx.sysPatch(jobID, Doc{
		"state":         map[string]any{"kind": string(ScheduledCanceled)},
		"completedTime": toMillis(tx.db.clock().Now()),
	})
}

// scheduledState returns the state of a scheduled function's document.
func scheduledState(doc Doc) ScheduledState {
	st, _ := doc["state"].(map[string]any)
	k, _ := st["kind"].(string)
	return ScheduledState(k)
}

// argsDoc converts the arguments of scheduled work to a Doc, as ToDoc
// does; nil means no arguments.
func argsDoc(args any) (Doc, error) {
	if args == nil {
		return Doc{}, nil
	}
	doc, err := ToDoc(args)
	if doc == nil && err == nil {
		doc = Doc{}
	}
	return doc, err
}

package livedb

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/livedb-go/livedb/internal/engine"
	"github.com/livedb-go/livedb/internal/id"
)

// The work items of package workpool live in a system table of the engine
// (workItemsTable): the engine keeps their table and indexes, and gives
// back the items whose lease ended (Runner.expireLease); everything else
// about them (enqueue, cancel, workers) is package workpool's, which
// reaches the engine through internal/engine's Bridge, set here.

// workItemsTable is the system table of work items.
const workItemsTable = engine.WorkItemsTable

func init() {
	engine.Bridge = engine.Hooks{
		MutationDB:  func(m any) any { return m.(*MutationCtx).DB.tx.db },
		CheckUsable: func(m any) error { return m.(*MutationCtx).DB.tx.checkUsable() },
		SysInsert: func(m any, table string, doc map[string]any) (string, error) {
			id, err := m.(*MutationCtx).DB.tx.sysInsert(table, doc)
			return string(id), err
		},
		SysPatch: func(m any, id string, fields map[string]any) error {
			return m.(*MutationCtx).DB.tx.sysPatch(ID(id), fields)
		},
		IsWorkItemID: func(s string) bool {
			n, ok := id.TableNumber(s)
			return ok && n == systemTables[workItemsTable].number
		},
		Registry: func(db any) any {
			if r := db.(*DB).runner.Load(); r != nil {
				return r.reg
			}
			return nil
		},
		CheckMutation: func(reg any, name string) error {
			_, err := reg.(*Registry).mutation(name)
			return err
		},
		FinishWorkItem: func(m any, reg any, item, fields, result map[string]any) error {
			if reg == nil {
				return scheduleFinish(m.(*MutationCtx), item, fields, result)
			}
			return finishItem(m.(*MutationCtx), reg.(*Registry), item, fields, result)
		},
		Value: resultValue,
		Wrap:  func(head string, err error) error { return wrapErr(head, err) },
		Enter: func(r any) (context.Context, any, any, func(), bool) {
			rn := r.(*Runner)
			if !rn.enter() {
				return nil, nil, nil, nil, false
			}
			return rn.ctx, rn.db, rn.reg, rn.wg.Done, true
		},
		Clock:        func(db any) any { return db.(*DB).clock() },
		Logger:       func(db any) *slog.Logger { return db.(*DB).opts.Logger },
		CommitSignal: func(db any) <-chan struct{} { return db.(*DB).commitSignal() },
		Closing:      func(db any) <-chan struct{} { return db.(*DB).closing },
		Closed:       func(db any) bool { return db.(*DB).isClosed() },
	}
}

// finishItem writes the final fields of a work item and runs its
// onComplete with result, in m's transaction. An onComplete that fails
// has its writes rolled back and its error recorded on the item.
func finishItem(m *MutationCtx, reg *Registry, item, fields Doc, result map[string]any) error {
	if name := engine.Str(item["onComplete"]); name != "" {
		if err := callMutation(m, reg, name, engine.OnCompleteArgs(string(item.ID()), item, result), ""); err != nil {
			fields["onCompleteError"] = err.Error()
		}
	}
	return m.DB.tx.sysPatch(item.ID(), fields)
}

// scheduleFinish is finishItem when no Runner is attached to the DB: the
// item's onComplete is scheduled with no delay, to run when a Runner
// starts.
func scheduleFinish(m *MutationCtx, item, fields Doc, result map[string]any) error {
	if name := engine.Str(item["onComplete"]); name != "" {
		if _, err := m.Scheduler().RunAfter(0, name, engine.OnCompleteArgs(string(item.ID()), item, result)); err != nil {
			return err
		}
	}
	return m.DB.tx.sysPatch(item.ID(), fields)
}

// expireLease gives back a running item whose lease ended: pending again
// after its backoff, or failed when it has no attempt left. It does
// nothing when the item is no longer running or its lease was renewed.
func (r *Runner) expireLease(ctx context.Context, itemID ID) error {
	return r.db.Mutation(ctx, func(m *MutationCtx) error {
		doc, ok, err := m.DB.Get(itemID)
		if err != nil || !ok || engine.Str(doc["state"]) != engine.WorkRunning {
			return err
		}
		now := toMillis(r.db.clock().Now())
		if until, _ := doc["leaseUntil"].(float64); until > now {
			return nil
		}
		attempts, _ := doc["attempts"].(float64)
		expiries, _ := doc["expiries"].(float64)
		msg := fmt.Sprintf("livedb: the lease of attempt %d (worker %s) ended before it finished", int(attempts), engine.Str(doc["worker"]))
		fields := Doc{"worker": Undefined, "leaseUntil": Undefined, "expiries": expiries + 1, "error": msg}
		if attempts < engine.MaxAttempts(doc) {
			fields["state"], fields["readyAt"] = engine.WorkPending, now+engine.Backoff(doc, attempts)
			return m.DB.tx.sysPatch(itemID, fields)
		}
		fields["state"], fields["completedTime"] = engine.WorkFailed, now
		return finishItem(m, r.reg, doc, fields, map[string]any{"kind": engine.WorkFailed, "error": msg})
	})
}

package livedb

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/livedb-go/livedb/internal/id"
)

// WorkState is the state of a work item in [WorkItemsTable].
type WorkState string

// The states of a work item. Success, failed and canceled are final.
const (
	WorkPending  WorkState = "pending"  // waiting for a worker, from its ReadyAt on
	WorkRunning  WorkState = "running"  // leased to a worker until its LeaseUntil
	WorkSuccess  WorkState = "success"  // a worker finished it
	WorkFailed   WorkState = "failed"   // its last attempt failed, or its last lease ended
	WorkCanceled WorkState = "canceled" // canceled before it finished
)

// RetryPolicy says how often a work item is tried and how long it waits
// between attempts: Convex workpool's retryBehavior. The n-th retry waits
// InitialBackoff × Base^(n-1), times a random factor in [0.5, 1.5) (the
// jitter, so that items that failed together do not come back together).
type RetryPolicy struct {
	// MaxAttempts counts every attempt, the first included: 1 means no
	// retry. Zero means 5.
	MaxAttempts int
	// InitialBackoff is the wait before the second attempt. Zero means
	// 250 ms.
	InitialBackoff time.Duration
	// Base multiplies the wait after each attempt. Zero means 2; it must
	// be at least 1.
	Base float64
}

// withDefaults returns p with its zero fields set, or an error for a
// negative or too small one.
func (p RetryPolicy) withDefaults() (RetryPolicy, error) {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 5
	}
	if p.InitialBackoff == 0 {
		p.InitialBackoff = 250 * time.Millisecond
	}
	if p.Base == 0 {
		p.Base = 2
	}
	if p.MaxAttempts < 1 || p.InitialBackoff < 0 || p.Base < 1 || math.IsInf(p.Base, 0) || math.IsNaN(p.Base) {
		return p, fmt.Errorf("%w: retry policy %+v: MaxAttempts must be at least 1, InitialBackoff not negative, Base at least 1", ErrInvalidSchedule, p)
	}
	return p, nil
}

// doc returns the policy as a work item stores it.
func (p RetryPolicy) doc() map[string]any {
	return map[string]any{"maxAttempts": float64(p.MaxAttempts), "initialBackoffMs": toMillisDuration(p.InitialBackoff), "base": p.Base}
}

// PoolOptions configures a Pool. A nil *PoolOptions means the defaults of
// every field.
type PoolOptions struct {
	// MaxParallelism is how many items [Runner.Work] works on at once in
	// this process: the number of its workers (Convex workpool's
	// maxParallelism). Zero means 10. Processes that share a database each
	// run their own workers.
	MaxParallelism int
	// Lease is how long a worker of [Runner.Work] holds an item it took.
	// When the lease ends before the worker finishes (the worker is stuck,
	// or its process died), the item is given back to the pool, counting
	// as a failed attempt, and the worker's result is dropped. The work
	// function's context ends with the lease. Zero means one minute.
	Lease time.Duration
	// Retry is the retry policy of the pool's items.
	Retry RetryPolicy
}

// Pool is a queue of work items handed to workers, Convex's workpool
// component built in. Items are enqueued in mutations ([Pool.Enqueue],
// atomic with the mutation) and live in [WorkItemsTable], where queries
// and subscriptions follow their state. Workers are goroutines of the
// program ([Runner.Work]) that take items with a lease, run a Go function
// on them (typically a call to an outside service: an agent, an API), and
// finish them; a failed attempt is retried with exponential backoff and
// jitter, up to a limit. An item's onComplete mutation runs in the same
// transaction as its completion.
//
// No item is handed to two workers at once: taking an item is a mutation
// that leases it, and finishing it is a mutation that checks the lease. No
// item is lost: an item leased by a worker that dies comes back when its
// lease ends. A worker's function may therefore run more than once for an
// item (at least once), but the item's completion and its onComplete run
// exactly once.
//
// Workers do not conflict with each other when they take items: each item
// falls in one of 256 slots at random, each worker of a Work call owns a
// contiguous range of slots and reads only that range (slot after slot,
// from where it stopped, so no slot starves). A worker with nothing in its
// range takes another's item only once the item has been ready for a
// quarter of a second, which happens when its owner is busy with a long
// task: an idle owner is woken at once and takes it first. Items are
// therefore taken in order within a slot, not across the pool.
//
// A Pool is a definition: it holds no state and may be shared by any
// number of databases and goroutines. A pool is its name: Pool values with
// one name are one queue; the Retry of the one that enqueues an item is
// the item's, and the MaxParallelism and Lease of the one given to Work are
// its workers'. Mistakes in its options are reported by Err and by every
// method.
type Pool struct {
	name string
	opts PoolOptions
	err  error
}

// NewPool defines the pool name.
func NewPool(name string, opts *PoolOptions) *Pool {
	p := &Pool{name: name}
	if opts != nil {
		p.opts = *opts
	}
	var err error
	switch {
	case name == "":
		err = fmt.Errorf("%w: a pool needs a name", ErrInvalidSchedule)
	case p.opts.MaxParallelism < 0 || p.opts.Lease < 0:
		err = fmt.Errorf("%w: pool %q: MaxParallelism and Lease must not be negative", ErrInvalidSchedule, name)
	}
	if p.opts.MaxParallelism == 0 {
		p.opts.MaxParallelism = 10
	}
	if p.opts.Lease == 0 {
		p.opts.Lease = time.Minute
	}
	if err == nil {
		p.opts.Retry, err = p.opts.Retry.withDefaults()
	}
	p.err = err
	return p
}

// Name returns the pool's name.
func (p *Pool) Name() string { return p.name }

// Err returns the mistake in the pool's definition, or nil.
func (p *Pool) Err() error { return p.err }

// EnqueueOptions are the options of one work item. A nil *EnqueueOptions
// means none.
type EnqueueOptions struct {
	// OnComplete names a registered mutation (taking [OnCompleteArgs]) to
	// run when the item succeeds, fails for good or is canceled, in the
	// same transaction as that change of state.
	OnComplete string
	// Context is passed to OnComplete as it is: a Convex value (a Doc, a
	// map, a slice, a string, ...).
	Context any
	// RunAfter delays the item's first attempt.
	RunAfter time.Duration
	// Retry replaces the pool's retry policy for this item.
	Retry *RetryPolicy
}

// WorkItem is a document of [WorkItemsTable]: what a worker receives, and
// a typed form for reads.
type WorkItem struct {
	ID           ID        `json:"_id"`
	CreationTime float64   `json:"_creationTime"`
	Pool         string    `json:"pool"`
	State        WorkState `json:"state"`
	// Slot is the partition the item falls in; workers own ranges of
	// slots.
	Slot int `json:"slot"`
	// ReadyAt is when a pending item may be taken, in milliseconds since
	// the Unix epoch on the DB's [Clock]: its enqueue time, or when its
	// backoff ends.
	ReadyAt float64 `json:"readyAt"`
	// Args are the item's arguments; decode them with [FromDoc].
	Args Doc `json:"args"`
	// Attempts counts the attempts started, the current one included.
	Attempts int `json:"attempts"`
	// Retry is the item's retry policy.
	Retry struct {
		MaxAttempts      int     `json:"maxAttempts"`
		InitialBackoffMs float64 `json:"initialBackoffMs"`
		Base             float64 `json:"base"`
	} `json:"retry"`
	// LeaseMs is the length of the lease of the last attempt.
	LeaseMs float64 `json:"leaseMs"`
	// Worker and LeaseUntil name the worker that holds a running item and
	// when its lease ends.
	Worker     *string  `json:"worker"`
	LeaseUntil *float64 `json:"leaseUntil"`
	// Expiries counts the leases that ended before their worker finished.
	Expiries   int     `json:"expiries"`
	OnComplete *string `json:"onComplete"`
	Context    any     `json:"context"`
	// Error is the error of the last failed attempt.
	Error *string `json:"error"`
	// Result is what the worker returned, once the item succeeded.
	Result any `json:"result"`
	// OnCompleteError is the error of an onComplete mutation that failed
	// (its writes were rolled back; the item's completion stands).
	OnCompleteError *string  `json:"onCompleteError"`
	CompletedTime   *float64 `json:"completedTime"`
}

// OnCompleteArgs are the arguments of a pool's onComplete mutation
// (Convex workpool's {workId, context, result}): declare the mutation with
// livedb.FunctionDef[livedb.OnCompleteArgs, R] and register it. Result
// says how the item ended: Kind is WorkSuccess with the worker's
// ReturnValue, WorkFailed with the last attempt's Error, or WorkCanceled.
type OnCompleteArgs struct {
	WorkID  ID  `json:"workId"`
	Context any `json:"context"`
	Result  struct {
		Kind        WorkState `json:"kind"`
		ReturnValue any       `json:"returnValue"`
		Error       string    `json:"error"`
	} `json:"result"`
}

// workSlots is the number of slots items fall in.
const workSlots = 256

// Enqueue adds a work item with args (a Doc, a map or a struct, as
// [ToDoc] takes; nil means none) to the pool, as part of the mutation's
// transaction, and returns its ID in [WorkItemsTable]. A worker can take it
// once the mutation commits (and opts.RunAfter has passed).
func (p *Pool) Enqueue(m *MutationCtx, args any, opts *EnqueueOptions) (ID, error) {
	if p.err != nil {
		return "", p.err
	}
	tx := m.DB.tx
	if err := tx.checkUsable(); err != nil {
		return "", err
	}
	var o EnqueueOptions
	if opts != nil {
		o = *opts
	}
	retry := p.opts.Retry
	if o.Retry != nil {
		var err error
		if retry, err = o.Retry.withDefaults(); err != nil {
			return "", err
		}
	}
	if o.RunAfter < 0 {
		return "", fmt.Errorf("%w: enqueue in pool %q: RunAfter %v is negative", ErrInvalidSchedule, p.name, o.RunAfter)
	}
	doc, err := argsDoc(args)
	if err != nil {
		return "", wrapErr(fmt.Sprintf("livedb: enqueue in pool %q: arguments", p.name), err)
	}
	now := tx.db.clock().Now()
	item := Doc{
		"pool":     p.name,
		"state":    string(WorkPending),
		"slot":     float64(rand.IntN(workSlots)),
		"readyAt":  dueMillis(now.Add(o.RunAfter), now),
		"args":     map[string]any(doc),
		"attempts": 0.0,
		"retry":    retry.doc(),
		"expiries": 0.0,
	}
	if o.OnComplete != "" {
		if r := tx.db.runner.Load(); r != nil {
			if _, err := r.reg.mutation(o.OnComplete); err != nil {
				return "", wrapErr(fmt.Sprintf("livedb: enqueue in pool %q: onComplete", p.name), err)
			}
		}
		item["onComplete"] = o.OnComplete
	}
	if o.Context != nil {
		c, err := resultValue(o.Context)
		if err != nil {
			return "", wrapErr(fmt.Sprintf("livedb: enqueue in pool %q: context", p.name), err)
		}
		item["context"] = c
	}
	itemID, err := tx.sysInsert(WorkItemsTable, item)
	if err != nil {
		return "", wrapErr(fmt.Sprintf("livedb: enqueue in pool %q", p.name), err)
	}
	return itemID, nil
}

// Cancel cancels a work item of the pool that is not finished, as part of
// the mutation's transaction: a pending item will not be handed out, and a
// running one's worker goes on but has its result dropped. Its onComplete
// runs with WorkCanceled, in this transaction when a Runner is attached to
// the DB, and otherwise as a function scheduled with no delay (it runs when
// a Runner starts). Canceling a finished item does nothing.
func (p *Pool) Cancel(m *MutationCtx, itemID ID) error {
	if p.err != nil {
		return p.err
	}
	tx := m.DB.tx
	if n, ok := id.TableNumber(string(itemID)); !ok || n != systemTables[WorkItemsTable].number {
		return &DocumentError{Op: "cancel", Table: WorkItemsTable, ID: itemID, Kind: ErrInvalidID, Err: fmt.Errorf("not the ID of a work item")}
	}
	doc, ok, err := m.DB.Get(itemID)
	if err != nil {
		return err
	}
	if !ok {
		return &DocumentError{Op: "cancel", Table: WorkItemsTable, ID: itemID, Kind: ErrNotFound}
	}
	if doc["pool"] != p.name {
		return &DocumentError{Op: "cancel", Table: WorkItemsTable, ID: itemID, Kind: ErrInvalidID, Err: fmt.Errorf("the item is in pool %q, not %q", doc["pool"], p.name)}
	}
	if st := WorkState(str(doc["state"])); st != WorkPending && st != WorkRunning {
		return nil
	}
	fields := Doc{"state": string(WorkCanceled), "completedTime": toMillis(tx.db.clock().Now()), "worker": Undefined, "leaseUntil": Undefined}
	var reg *Registry
	if r := tx.db.runner.Load(); r != nil {
		reg = r.reg
	} else if name := str(doc["onComplete"]); name != "" {
		if _, err := m.Scheduler().RunAfter(0, name, onCompleteArgs(doc, map[string]any{"kind": string(WorkCanceled)})); err != nil {
			return err
		}
		return tx.sysPatch(itemID, fields)
	}
	return finishItem(m, reg, doc, fields, map[string]any{"kind": string(WorkCanceled)})
}

// finishItem writes the final fields of a work item and runs its
// onComplete with result, in m's transaction. An onComplete that fails
// has its writes rolled back and its error recorded on the item.
func finishItem(m *MutationCtx, reg *Registry, item, fields Doc, result map[string]any) error {
	if name := str(item["onComplete"]); name != "" {
		if err := callMutation(m, reg, name, onCompleteArgs(item, result), ""); err != nil {
			fields["onCompleteError"] = err.Error()
		}
	}
	return m.DB.tx.sysPatch(item.ID(), fields)
}

// onCompleteArgs returns the arguments of an item's onComplete.
func onCompleteArgs(item Doc, result map[string]any) Doc {
	args := Doc{"workId": string(item.ID()), "result": result}
	if c, ok := item["context"]; ok {
		args["context"] = c
	}
	return args
}

// backoff returns how long an item waits after its attempts-th failed
// attempt, in whole milliseconds: initialBackoff × base^(attempts-1),
// times a jitter factor in [0.5, 1.5), rounded up.
func backoff(item Doc, attempts float64) float64 {
	rp, _ := item["retry"].(map[string]any)
	initial, _ := rp["initialBackoffMs"].(float64)
	base, _ := rp["base"].(float64)
	return math.Ceil(initial * math.Pow(max(base, 1), max(attempts-1, 0)) * (0.5 + rand.Float64()))
}

// maxAttempts returns an item's attempt limit.
func maxAttempts(item Doc) float64 {
	rp, _ := item["retry"].(map[string]any)
	n, _ := rp["maxAttempts"].(float64)
	return max(n, 1)
}

// expireLease gives back a running item whose lease ended: pending again
// after its backoff, or failed when it has no attempt left. It does
// nothing when the item is no longer running or its lease was renewed.
func (r *Runner) expireLease(ctx context.Context, itemID ID) error {
	return r.db.Mutation(ctx, func(m *MutationCtx) error {
		doc, ok, err := m.DB.Get(itemID)
		if err != nil || !ok || WorkState(str(doc["state"])) != WorkRunning {
			return err
		}
		now := toMillis(r.db.clock().Now())
		if until, _ := doc["leaseUntil"].(float64); until > now {
			return nil
		}
		attempts, _ := doc["attempts"].(float64)
		expiries, _ := doc["expiries"].(float64)
		msg := fmt.Sprintf("livedb: the lease of attempt %d (worker %s) ended before it finished", int(attempts), str(doc["worker"]))
		fields := Doc{"worker": Undefined, "leaseUntil": Undefined, "expiries": expiries + 1, "error": msg}
		if attempts < maxAttempts(doc) {
			fields["state"], fields["readyAt"] = string(WorkPending), now+backoff(doc, attempts)
			return m.DB.tx.sysPatch(itemID, fields)
		}
		fields["state"], fields["completedTime"] = string(WorkFailed), now
		return finishItem(m, r.reg, doc, fields, map[string]any{"kind": string(WorkFailed), "error": msg})
	})
}

// str returns x when it is a string, and "" otherwise.
func str(x any) string {
	s, _ := x.(string)
	return s
}

// toMillisDuration converts a duration to milliseconds.
func toMillisDuration(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

package workpool

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/engine"
)

// ItemsTable is the system table that holds the items of every pool, by
// index by_claim ("pool", "state", "slot", "readyAt"), by_ready ("pool",
// "state", "readyAt") and by_lease ("state", "leaseUntil"). Queries and
// subscriptions read it like any table; only livedb writes it. [Item] is
// the typed form of its documents.
const ItemsTable = "_workpool_items"

// State is the state of a work item in [ItemsTable].
type State string

// The states of a work item. Success, failed and canceled are final.
const (
	Pending  State = "pending"  // waiting for a worker, from its ReadyAt on
	Running  State = "running"  // leased to a worker until its LeaseUntil
	Success  State = "success"  // a worker finished it
	Failed   State = "failed"   // its last attempt failed, or its last lease ended
	Canceled State = "canceled" // canceled before it finished
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
		return p, fmt.Errorf("%w: retry policy %+v: MaxAttempts must be at least 1, InitialBackoff not negative, Base at least 1", livedb.ErrInvalidSchedule, p)
	}
	return p, nil
}

// doc returns the policy as a work item stores it.
func (p RetryPolicy) doc() map[string]any {
	return map[string]any{"maxAttempts": float64(p.MaxAttempts), "initialBackoffMs": engine.DurationMillis(p.InitialBackoff), "base": p.Base}
}

// Options configures a Pool. A nil *Options means the defaults of every
// field.
type Options struct {
	// MaxParallelism is how many items [Pool.Work] works on at once in
	// this process: the number of its workers (Convex workpool's
	// maxParallelism). Zero means 10. Processes that share a database each
	// run their own workers.
	MaxParallelism int
	// Lease is how long a worker of [Pool.Work] holds an item it took.
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
// atomic with the mutation) and live in [ItemsTable], where queries
// and subscriptions follow their state. Workers are goroutines of the
// program ([Pool.Work]) that take items with a lease, run a Go function
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
	opts Options
	err  error
}

// New defines the pool name.
func New(name string, opts *Options) *Pool {
	p := &Pool{name: name}
	if opts != nil {
		p.opts = *opts
	}
	var err error
	switch {
	case name == "":
		err = fmt.Errorf("%w: a pool needs a name", livedb.ErrInvalidSchedule)
	case p.opts.MaxParallelism < 0 || p.opts.Lease < 0:
		err = fmt.Errorf("%w: pool %q: MaxParallelism and Lease must not be negative", livedb.ErrInvalidSchedule, name)
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

// Item is a document of [ItemsTable]: what a worker receives, and a typed
// form for reads (livedb.NewTable[workpool.Item](workpool.ItemsTable)).
type Item struct {
	ID           livedb.ID `json:"_id"`
	CreationTime float64   `json:"_creationTime"`
	Pool         string    `json:"pool"`
	State        State     `json:"state"`
	// Slot is the partition the item falls in; workers own ranges of
	// slots.
	Slot int `json:"slot"`
	// ReadyAt is when a pending item may be taken, in milliseconds since
	// the Unix epoch on the DB's [livedb.Clock]: its enqueue time, or when its
	// backoff ends.
	ReadyAt float64 `json:"readyAt"`
	// Args are the item's arguments; decode them with [livedb.FromDoc].
	Args livedb.Doc `json:"args"`
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
// livedb.FunctionDef[workpool.OnCompleteArgs, R] and register it. Result
// says how the item ended: Kind is Success with the worker's
// ReturnValue, Failed with the last attempt's Error, or Canceled.
type OnCompleteArgs struct {
	WorkID  livedb.ID `json:"workId"`
	Context any       `json:"context"`
	Result  struct {
		Kind        State  `json:"kind"`
		ReturnValue any    `json:"returnValue"`
		Error       string `json:"error"`
	} `json:"result"`
}

// workSlots is the number of slots items fall in.
const workSlots = 256

// Enqueue adds a work item with args (a Doc, a map or a struct, as
// [livedb.ToDoc] takes; nil means none) to the pool, as part of the
// mutation's transaction, and returns its ID in [ItemsTable]. A worker can
// take it once the mutation commits (and opts.RunAfter has passed).
func (p *Pool) Enqueue(m *livedb.MutationCtx, args any, opts *EnqueueOptions) (livedb.ID, error) {
	if p.err != nil {
		return "", p.err
	}
	br := &engine.Bridge
	if err := br.CheckUsable(m); err != nil {
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
		return "", fmt.Errorf("%w: enqueue in pool %q: RunAfter %v is negative", livedb.ErrInvalidSchedule, p.name, o.RunAfter)
	}
	doc, err := argsDoc(args)
	if err != nil {
		return "", br.Wrap(fmt.Sprintf("livedb: enqueue in pool %q: arguments", p.name), err)
	}
	db := br.MutationDB(m)
	now := clock(db).Now()
	item := map[string]any{
		"pool":     p.name,
		"state":    engine.WorkPending,
		"slot":     float64(rand.IntN(workSlots)),
		"readyAt":  engine.DueMillis(now.Add(o.RunAfter), now),
		"args":     map[string]any(doc),
		"attempts": 0.0,
		"retry":    retry.doc(),
		"expiries": 0.0,
	}
	if o.OnComplete != "" {
		if reg := br.Registry(db); reg != nil {
			if err := br.CheckMutation(reg, o.OnComplete); err != nil {
				return "", br.Wrap(fmt.Sprintf("livedb: enqueue in pool %q: onComplete", p.name), err)
			}
		}
		item["onComplete"] = o.OnComplete
	}
	if o.Context != nil {
		c, err := br.Value(o.Context)
		if err != nil {
			return "", br.Wrap(fmt.Sprintf("livedb: enqueue in pool %q: context", p.name), err)
		}
		item["context"] = c
	}
	itemID, err := br.SysInsert(m, ItemsTable, item)
	if err != nil {
		return "", br.Wrap(fmt.Sprintf("livedb: enqueue in pool %q", p.name), err)
	}
	return livedb.ID(itemID), nil
}

// argsDoc converts the arguments of an item to a Doc, as livedb.ToDoc
// does; nil means no arguments.
func argsDoc(args any) (livedb.Doc, error) {
	if args == nil {
		return livedb.Doc{}, nil
	}
	doc, err := livedb.ToDoc(args)
	if doc == nil && err == nil {
		doc = livedb.Doc{}
	}
	return doc, err
}

// Cancel cancels a work item of the pool that is not finished, as part of
// the mutation's transaction: a pending item will not be handed out, and a
// running one's worker goes on but has its result dropped. Its onComplete
// runs with Canceled, in this transaction when a Runner is attached to
// the DB, and otherwise as a function scheduled with no delay (it runs when
// a Runner starts). Canceling a finished item does nothing.
func (p *Pool) Cancel(m *livedb.MutationCtx, itemID livedb.ID) error {
	if p.err != nil {
		return p.err
	}
	br := &engine.Bridge
	if !br.IsWorkItemID(string(itemID)) {
		return &livedb.DocumentError{Op: "cancel", Table: ItemsTable, ID: itemID, Kind: livedb.ErrInvalidID, Err: fmt.Errorf("not the ID of a work item")}
	}
	doc, ok, err := m.DB.Get(itemID)
	if err != nil {
		return err
	}
	if !ok {
		return &livedb.DocumentError{Op: "cancel", Table: ItemsTable, ID: itemID, Kind: livedb.ErrNotFound}
	}
	if doc["pool"] != p.name {
		return &livedb.DocumentError{Op: "cancel", Table: ItemsTable, ID: itemID, Kind: livedb.ErrInvalidID, Err: fmt.Errorf("the item is in pool %q, not %q", doc["pool"], p.name)}
	}
	if st := engine.Str(doc["state"]); st != engine.WorkPending && st != engine.WorkRunning {
		return nil
	}
	db := br.MutationDB(m)
	fields := map[string]any{"state": engine.WorkCanceled, "completedTime": engine.ToMillis(clock(db).Now()), "worker": livedb.Undefined, "leaseUntil": livedb.Undefined}
	return br.FinishWorkItem(m, br.Registry(db), doc, fields, map[string]any{"kind": engine.WorkCanceled})
}

// clock returns the livedb.Clock of db (a *livedb.DB).
func clock(db any) livedb.Clock { return engine.Bridge.Clock(db).(livedb.Clock) }

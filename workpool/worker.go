package workpool

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/internal/engine"
)

// Func works on one item of a pool and returns its result (a Convex
// value, or nil) or an error, which makes the attempt fail (retried per
// the pool's RetryPolicy). ctx ends when the item's lease does, and when
// Work stops. It runs outside any transaction, may run more than once for
// an item (when a lease ends before it returns), and must not call
// [Pool.Work].
type Func func(ctx context.Context, item *Item) (any, error)

// errLeaseEnded is the cause of a worker's context that ends with its
// lease.
var errLeaseEnded = errors.New("livedb: the work item's lease ended")

// errLeaseLost says that a worker finishing an item no longer holds it:
// its lease ended (and the item went back to the pool, or failed), or the
// item was canceled. What the worker returned is dropped.
var errLeaseLost = errors.New("livedb: work item lease lost")

// Work runs the pool's workers in this process, MaxParallelism of them,
// on the DB that the Runner r (see [livedb.DB.StartScheduler]) is attached
// to, each taking items, calling fn and finishing the items, until ctx
// ends, r is closed or the DB is closed; then it waits for the running
// calls of fn to return and returns nil (or livedb.ErrClosed when the DB
// closed). r's registry holds the items' onComplete mutations.
// An item whose fn call was interrupted by ctx is given back to the pool
// without counting an attempt.
//
// Idle workers wait for commits and for the time the next item is ready
// (a retry's backoff, a RunAfter), never polling. Work may be called for
// several pools, and by several processes for one pool.
func (p *Pool) Work(ctx context.Context, r *livedb.Runner, fn Func) error {
	if p.err != nil {
		return p.err
	}
	if fn == nil {
		return fmt.Errorf("%w: Work on pool %q: the work function is nil", livedb.ErrInvalidSchedule, p.name)
	}
	rctx, db, reg, done, ok := engine.Bridge.Enter(r)
	if !ok {
		return fmt.Errorf("%w: the Runner is closed", livedb.ErrClosed)
	}
	defer done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(rctx, cancel)
	defer stop()
	pw := &poolWork{db: db, reg: reg, p: p, fn: fn, poke: make(chan struct{}, 1)}
	tag := make([]byte, 4)
	_, _ = rand.Read(tag) // crypto/rand.Read never fails
	n := p.opts.MaxParallelism
	var wg sync.WaitGroup
	wg.Go(func() { pw.dispatch(ctx) })
	for i := range n {
		lo, hi := i*workSlots/n, (i+1)*workSlots/n
		if lo == hi { // more workers than slots: some share one
			lo, hi = i%workSlots, i%workSlots+1
		}
		w := &worker{pw: pw, id: fmt.Sprintf("%s/%d/%s", p.name, i, hex.EncodeToString(tag)), lo: lo, hi: hi, cursor: lo}
		wg.Go(func() { w.loop(ctx) })
	}
	wg.Wait()
	if pw.closed() {
		return livedb.ErrClosed
	}
	return nil
}

// poolWork is one Work call: its DB (a *livedb.DB) and registry (the
// Runner's *livedb.Registry), its pool, function and the wake-up of its
// idle workers.
type poolWork struct {
	db  any
	reg any
	p   *Pool
	fn  Func

	idle atomic.Int32  // workers waiting for an item
	poke chan struct{} // a worker became idle: the dispatcher looks again

	mu   sync.Mutex
	wake chan struct{} // closed when an item is ready; replaced then
}

// closed reports whether the DB is closed or closing.
func (pw *poolWork) closed() bool { return engine.Bridge.Closed(pw.db) }

// logf logs msg with attrs at level Info on the DB's logger.
func (pw *poolWork) log(msg string, attrs ...any) { engine.Bridge.Logger(pw.db).Info(msg, attrs...) }

// ready returns a channel closed when the dispatcher next sees a ready
// item. A worker takes it before it looks for an item, so that an item
// that becomes ready while it looks is not missed.
func (pw *poolWork) ready() <-chan struct{} {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if pw.wake == nil {
		pw.wake = make(chan struct{})
	}
	return pw.wake
}

// signal wakes the idle workers.
func (pw *poolWork) signal() {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if pw.wake != nil {
		close(pw.wake)
		pw.wake = nil
	}
}

// dispatch wakes the idle workers when an item is ready: after each
// commit, and when a worker becomes idle, it reads the pool's first
// pending item, and when that is not ready yet, it waits for its time too;
// when it is, it wakes them again once the item has waited stealAfter, for
// a worker to take it from a busy owner. One read serves every worker of
// the pool, and none is made while no worker is idle.
func (pw *poolWork) dispatch(ctx context.Context) {
	br := &engine.Bridge
	db, clk, closing := pw.db.(*livedb.DB), clock(pw.db), br.Closing(pw.db)
	for ctx.Err() == nil && !pw.closed() {
		sig := br.CommitSignal(db)
		if pw.idle.Load() == 0 {
			select {
			case <-sig:
			case <-pw.poke:
			case <-ctx.Done():
			case <-closing:
			}
			continue
		}
		first, err := livedb.QueryValue(ctx, db, func(q *livedb.QueryCtx) (float64, error) {
			docs, err := q.DB.Query(ItemsTable).WithIndex("by_ready", func(rg livedb.IndexRange) livedb.IndexRange {
				return rg.Eq("pool", pw.p.name).Eq("state", engine.WorkPending)
			}).Take(1)
			if err != nil || len(docs) == 0 {
				return -1, err
			}
			at, _ := docs[0]["readyAt"].(float64)
			return at, nil
		})
		if err != nil {
			return // the DB or ctx ended; the workers see it too
		}
		now := engine.ToMillis(clk.Now())
		next := first
		if first >= 0 && first <= now {
			pw.signal()
			next = first + engine.DurationMillis(stealAfter)
		}
		var fired <-chan struct{}
		stop := func() {}
		if next > now {
			fired, stop = clk.Timer(engine.FromMillis(next))
		}
		select {
		case <-sig:
		case <-fired:
		case <-pw.poke:
		case <-ctx.Done():
		case <-closing:
		}
		stop()
	}
}

// worker is one worker of a Work call. It owns the slots [lo, hi) and
// looks at them in turn from cursor.
type worker struct {
	pw             *poolWork
	id             string
	lo, hi, cursor int
}

// loop takes and works on items until ctx ends. A worker that finished
// an item takes its next one in the same mutation as the completion: one
// commit an item while there is work.
func (w *worker) loop(ctx context.Context) {
	db, closing := w.pw.db.(*livedb.DB), engine.Bridge.Closing(w.pw.db)
	var item *Item
	for ctx.Err() == nil && !w.pw.closed() {
		wake := w.pw.ready()
		var err error
		if item == nil {
			item, err = livedb.MutationValue(ctx, db, func(m *livedb.MutationCtx) (*Item, error) { return w.claimIn(m) })
		}
		if err != nil && ctx.Err() == nil && !w.pw.closed() {
			w.pw.log("livedb: work pool: taking an item failed", slog.String("pool", w.pw.p.name), slog.String("error", err.Error()))
		}
		if item == nil {
			w.pw.idle.Add(1)
			select {
			case w.pw.poke <- struct{}{}:
			default:
			}
			select {
			case <-wake:
			case <-ctx.Done():
			case <-closing:
			}
			w.pw.idle.Add(-1)
			continue
		}
		item = w.work(ctx, item)
	}
}

// claimIn takes a ready item and leases it, in m, or returns nil when
// none is ready.
func (w *worker) claimIn(m *livedb.MutationCtx) (*Item, error) {
	now := engine.ToMillis(clock(w.pw.db).Now())
	doc, err := w.find(&m.DB.Reader, now)
	if err != nil || doc == nil {
		return nil, err
	}
	attempts, _ := doc["attempts"].(float64)
	lease := math.Ceil(engine.DurationMillis(w.pw.p.opts.Lease))
	fields := map[string]any{"state": engine.WorkRunning, "worker": w.id, "leaseMs": lease, "leaseUntil": now + lease, "attempts": attempts + 1}
	if err := engine.Bridge.SysPatch(m, string(doc.ID()), fields); err != nil {
		return nil, err
	}
	for k, x := range fields {
		doc[k] = x
	}
	item, err := livedb.FromDoc[*Item](doc)
	if err != nil {
		return nil, fmt.Errorf("%w: work item %s: %w", livedb.ErrCorrupt, doc.ID(), err)
	}
	if item.Slot >= w.lo && item.Slot < w.hi {
		w.cursor = item.Slot + 1
		if w.cursor == w.hi {
			w.cursor = w.lo
		}
	}
	return item, nil
}

// maxNotReady bounds the pending items that are not ready yet (waiting
// for their backoff) that one look at a range of slots passes over.
const maxNotReady = 256

// stealAfter is how long an item waits, ready, in another worker's slots
// before a worker with nothing in its own takes it: long enough that the
// owner, if idle, takes it first (it is woken at once), so that workers do
// not read each other's slots and conflict; short next to the tasks a
// worker is busy with when its items wait that long.
const stealAfter = 250 * time.Millisecond

// find returns the first ready item in the worker's slots, from its
// cursor round to it; or else the pool's oldest item that has been ready
// for stealAfter, whose owner is busy (or in no process).
func (w *worker) find(r *livedb.Reader, now float64) (livedb.Doc, error) {
	for _, rg := range [][2]int{{w.cursor, w.hi}, {w.lo, w.cursor}} {
		if rg[0] >= rg[1] {
			continue
		}
		doc, err := w.findIn(r, now, rg[0], rg[1])
		if doc != nil || err != nil {
			return doc, err
		}
	}
	docs, err := r.Query(ItemsTable).WithIndex("by_ready", func(rg livedb.IndexRange) livedb.IndexRange {
		return rg.Eq("pool", w.pw.p.name).Eq("state", engine.WorkPending).Lte("readyAt", now-engine.DurationMillis(stealAfter))
	}).Take(1)
	if err != nil || len(docs) == 0 {
		return nil, err
	}
	return docs[0], nil
}

// findIn returns the first ready item with a slot in [lo, hi).
func (w *worker) findIn(r *livedb.Reader, now float64, lo, hi int) (livedb.Doc, error) {
	q := r.Query(ItemsTable).WithIndex("by_claim", func(rg livedb.IndexRange) livedb.IndexRange {
		return rg.Eq("pool", w.pw.p.name).Eq("state", engine.WorkPending).Gte("slot", float64(lo)).Lt("slot", float64(hi))
	})
	skipped := 0
	for doc, err := range q.All() {
		if err != nil {
			return nil, err
		}
		if at, _ := doc["readyAt"].(float64); at <= now {
			return doc, nil
		}
		if skipped++; skipped >= maxNotReady {
			break
		}
	}
	return nil, nil
}

// work calls the pool's function on a leased item, with a context that
// ends with the lease, and finishes the item with its outcome; unless ctx
// ended, it takes the next item in the same mutation and returns it.
func (w *worker) work(ctx context.Context, item *Item) *Item {
	db := w.pw.db.(*livedb.DB)
	lctx, cancel := context.WithCancelCause(ctx)
	fired, stop := clock(db).Timer(engine.FromMillis(*item.LeaseUntil))
	go func() {
		select {
		case <-fired:
			cancel(errLeaseEnded)
		case <-lctx.Done():
		}
	}()
	result, err := w.call(lctx, item)
	ended := context.Cause(lctx) == errLeaseEnded
	stop()
	cancel(nil)
	if err == nil && result != nil {
		x, cerr := engine.Bridge.Value(result)
		if cerr != nil {
			err = engine.Bridge.Wrap(fmt.Sprintf("livedb: pool %q: the work function's result", w.pw.p.name), cerr)
		}
		result = x
	}
	// Finish even when ctx is ending: the work is done.
	fctx := context.WithoutCancel(ctx)
	var next *Item
	switch {
	case ended:
		// The lease ended: the Runner gives the item back, counting an
		// expiry; the result is dropped.
		return nil
	case err != nil && ctx.Err() != nil:
		err = db.Mutation(fctx, func(m *livedb.MutationCtx) error { return w.releaseIn(m, item) })
	default:
		next, err = livedb.MutationValue(fctx, db, func(m *livedb.MutationCtx) (*Item, error) {
			if err := w.finishIn(m, item, result, err); err != nil && !errors.Is(err, errLeaseLost) {
				return nil, err
			}
			if ctx.Err() != nil {
				return nil, nil
			}
			return w.claimIn(m)
		})
	}
	if err != nil && !w.pw.closed() {
		w.pw.log("livedb: work pool: finishing an item failed", slog.String("pool", w.pw.p.name),
			slog.String("item", string(item.ID)), slog.String("error", err.Error()))
	}
	return next
}

// call runs the pool's function, turning a panic into an error.
func (w *worker) call(ctx context.Context, item *Item) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("livedb: work function of pool %q panicked: %v", w.pw.p.name, p)
		}
	}()
	return w.pw.fn(ctx, item)
}

// held returns the item's document when the worker still holds the lease
// of the attempt it took, and errLeaseLost otherwise.
func (w *worker) held(m *livedb.MutationCtx, item *Item, now float64) (livedb.Doc, error) {
	doc, ok, err := m.DB.Get(item.ID)
	if err != nil {
		return nil, err
	}
	attempts, _ := doc["attempts"].(float64)
	until, _ := doc["leaseUntil"].(float64)
	if !ok || engine.Str(doc["state"]) != engine.WorkRunning || engine.Str(doc["worker"]) != w.id || int(attempts) != item.Attempts || until < now {
		return nil, fmt.Errorf("%w: item %s of pool %q, attempt %d", errLeaseLost, item.ID, w.pw.p.name, item.Attempts)
	}
	return doc, nil
}

// finishIn records an attempt's outcome in m: success (with onComplete),
// a retry after a backoff, or, with no attempt left, failure (with
// onComplete). It returns errLeaseLost, writing nothing, when the worker
// no longer holds the item.
func (w *worker) finishIn(m *livedb.MutationCtx, item *Item, result any, runErr error) error {
	now := engine.ToMillis(clock(w.pw.db).Now())
	doc, err := w.held(m, item, now)
	if err != nil {
		return err
	}
	br := &engine.Bridge
	fields := map[string]any{"worker": livedb.Undefined, "leaseUntil": livedb.Undefined}
	if runErr == nil {
		fields["state"], fields["completedTime"], fields["error"] = engine.WorkSuccess, now, livedb.Undefined
		out := map[string]any{"kind": engine.WorkSuccess}
		if result != nil {
			fields["result"], out["returnValue"] = result, result
		}
		return br.FinishWorkItem(m, w.pw.reg, doc, fields, out)
	}
	fields["error"] = runErr.Error()
	attempts, _ := doc["attempts"].(float64)
	if attempts < engine.MaxAttempts(doc) {
		fields["state"], fields["readyAt"] = engine.WorkPending, now+engine.Backoff(doc, attempts)
		return br.SysPatch(m, string(item.ID), fields)
	}
	fields["state"], fields["completedTime"] = engine.WorkFailed, now
	return br.FinishWorkItem(m, w.pw.reg, doc, fields, map[string]any{"kind": engine.WorkFailed, "error": runErr.Error()})
}

// releaseIn gives an item back to the pool without counting the attempt,
// in m: its worker is stopping.
func (w *worker) releaseIn(m *livedb.MutationCtx, item *Item) error {
	now := engine.ToMillis(clock(w.pw.db).Now())
	doc, err := w.held(m, item, now)
	if err != nil {
		return err
	}
	attempts, _ := doc["attempts"].(float64)
	return engine.Bridge.SysPatch(m, string(item.ID), map[string]any{"state": engine.WorkPending, "readyAt": now, "attempts": max(attempts-1, 0),
		"worker": livedb.Undefined, "leaseUntil": livedb.Undefined})
}

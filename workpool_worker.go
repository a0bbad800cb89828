package livedb

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
)

// WorkFunc works on one item of a pool and returns its result (a Convex
// value, or nil) or an error, which makes the attempt fail (retried per
// the pool's RetryPolicy). ctx ends when the item's lease does, and when
// Work stops. It runs outside any transaction, may run more than once for
// an item (when a lease ends before it returns), and must not call
// [Runner.Work].
type WorkFunc func(ctx context.Context, item *WorkItem) (any, error)

// errLeaseEnded is the cause of a worker's context that ends with its
// lease.
var errLeaseEnded = errors.New("livedb: the work item's lease ended")

// errLeaseLost says that a worker finishing an item no longer holds it:
// its lease ended (and the item went back to the pool, or failed), or the
// item was canceled. What the worker returned is dropped.
var errLeaseLost = errors.New("livedb: work item lease lost")

// Work runs the pool's workers in this process, MaxParallelism of them,
// each taking items, calling fn and finishing the items, until ctx ends,
// the Runner is closed or the DB is closed; then it waits for the running
// calls of fn to return and returns nil (or ErrClosed when the DB closed).
// An item whose fn call was interrupted by ctx is given back to the pool
// without counting an attempt.
//
// Idle workers wait for commits and for the time the next item is ready
// (a retry's backoff, a RunAfter), never polling. Work may be called for
// several pools, and by several processes for one pool.
func (r *Runner) Work(ctx context.Context, p *Pool, fn WorkFunc) error {
	if p.err != nil {
		return p.err
	}
	if fn == nil {
		return fmt.Errorf("%w: Work on pool %q: the work function is nil", ErrInvalidSchedule, p.name)
	}
	if !r.enter() {
		return fmt.Errorf("%w: the Runner is closed", ErrClosed)
	}
	defer r.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(r.ctx, cancel)
	defer stop()
	pw := &poolWork{r: r, p: p, fn: fn, poke: make(chan struct{}, 1)}
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
	if r.db.isClosed() {
		return ErrClosed
	}
	return nil
}

// poolWork is one Work call: its pool, function and the wake-up of its
// idle workers.
type poolWork struct {
	r  *Runner
	p  *Pool
	fn WorkFunc

	idle atomic.Int32  // workers waiting for an item
	poke chan struct{} // a worker became idle: the dispatcher looks again

	mu   sync.Mutex
	wake chan struct{} // closed when an item is ready; replaced then
}

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
	db := pw.r.db
	for ctx.Err() == nil && !db.isClosed() {
		sig := db.commitSignal()
		if pw.idle.Load() == 0 {
			select {
			case <-sig:
			case <-pw.poke:
			case <-ctx.Done():
			case <-db.closing:
			}
			continue
		}
		first, err := QueryValue(ctx, db, func(q *QueryCtx) (float64, error) {
			docs, err := sysTake(q.DB, WorkItemsTable, "by_ready", func(rg IndexRange) IndexRange {
				return rg.Eq("pool", pw.p.name).Eq("state", string(WorkPending))
			}, 1)
			if err != nil || len(docs) == 0 {
				return -1, err
			}
			at, _ := docs[0]["readyAt"].(float64)
			return at, nil
		})
		if err != nil {
			return // the DB or ctx ended; the workers see it too
		}
		now := toMillis(db.clock().Now())
		next := first
		if first >= 0 && first <= now {
			pw.signal()
			next = first + toMillisDuration(stealAfter)
		}
		var fired <-chan struct{}
		stop := func() {}
		if next > now {
			fired, stop = db.clock().Timer(fromMillis(next))
		}
		select {
		case <-sig:
		case <-fired:
		case <-pw.poke:
		case <-ctx.Done():
		case <-db.closing:
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
	db := w.pw.r.db
	var item *WorkItem
	for ctx.Err() == nil && !db.isClosed() {
		wake := w.pw.ready()
		var err error
		if item == nil {
			item, err = MutationValue(ctx, db, func(m *MutationCtx) (*WorkItem, error) { return w.claimIn(m) })
		}
		if err != nil && ctx.Err() == nil && !db.isClosed() {
			db.opts.Logger.Info("livedb: work pool: taking an item failed", slog.String("pool", w.pw.p.name), slog.String("error", err.Error()))
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
			case <-db.closing:
			}
			w.pw.idle.Add(-1)
			continue
		}
		item = w.work(ctx, item)
	}
}

// claimIn takes a ready item and leases it, in m, or returns nil when
// none is ready.
func (w *worker) claimIn(m *MutationCtx) (*WorkItem, error) {
	now := toMillis(m.DB.tx.db.clock().Now())
	doc, err := w.find(&m.DB.Reader, now)
	if err != nil || doc == nil {
		return nil, err
	}
	attempts, _ := doc["attempts"].(float64)
	lease := math.Ceil(toMillisDuration(w.pw.p.opts.Lease))
	fields := Doc{"state": string(WorkRunning), "worker": w.id, "leaseMs": lease, "leaseUntil": now + lease, "attempts": attempts + 1}
	if err := m.DB.tx.sysPatch(doc.ID(), fields); err != nil {
		return nil, err
	}
	for k, x := range fields {
		doc[k] = x
	}
	item, err := FromDoc[*WorkItem](doc)
	if err != nil {
		return nil, fmt.Errorf("%w: work item %s: %w", ErrCorrupt, doc.ID(), err)
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
func (w *worker) find(r *Reader, now float64) (Doc, error) {
	for _, rg := range [][2]int{{w.cursor, w.hi}, {w.lo, w.cursor}} {
		if rg[0] >= rg[1] {
			continue
		}
		doc, err := w.findIn(r, now, rg[0], rg[1])
		if doc != nil || err != nil {
			return doc, err
		}
	}
	docs, err := sysTake(r, WorkItemsTable, "by_ready", func(rg IndexRange) IndexRange {
		return rg.Eq("pool", w.pw.p.name).Eq("state", string(WorkPending)).Lte("readyAt", now-toMillisDuration(stealAfter))
	}, 1)
	if err != nil || len(docs) == 0 {
		return nil, err
	}
	return docs[0], nil
}

// findIn returns the first ready item with a slot in [lo, hi).
func (w *worker) findIn(r *Reader, now float64, lo, hi int) (Doc, error) {
	q := r.Query(WorkItemsTable)
	if q.t == nil {
		return nil, q.err
	}
	q = q.WithIndex("by_claim", func(rg IndexRange) IndexRange {
		return rg.Eq("pool", w.pw.p.name).Eq("state", string(WorkPending)).Gte("slot", float64(lo)).Lt("slot", float64(hi))
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
func (w *worker) work(ctx context.Context, item *WorkItem) *WorkItem {
	db := w.pw.r.db
	lctx, cancel := context.WithCancelCause(ctx)
	fired, stop := db.clock().Timer(fromMillis(*item.LeaseUntil))
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
		x, cerr := resultValue(result)
		if cerr != nil {
			err = wrapErr(fmt.Sprintf("livedb: pool %q: the work function's result", w.pw.p.name), cerr)
		}
		result = x
	}
	// Finish even when ctx is ending: the work is done.
	fctx := context.WithoutCancel(ctx)
	var next *WorkItem
	switch {
	case ended:
		// The lease ended: the Runner gives the item back, counting an
		// expiry; the result is dropped.
		return nil
	case err != nil && ctx.Err() != nil:
		err = db.Mutation(fctx, func(m *MutationCtx) error { return w.releaseIn(m, item) })
	default:
		next, err = MutationValue(fctx, db, func(m *MutationCtx) (*WorkItem, error) {
			if err := w.finishIn(m, item, result, err); err != nil && !errors.Is(err, errLeaseLost) {
				return nil, err
			}
			if ctx.Err() != nil {
				return nil, nil
			}
			return w.claimIn(m)
		})
	}
	if err != nil && !db.isClosed() {
		db.opts.Logger.Info("livedb: work pool: finishing an item failed", slog.String("pool", w.pw.p.name),
			slog.String("item", string(item.ID)), slog.String("error", err.Error()))
	}
	return next
}

// call runs the pool's function, turning a panic into an error.
func (w *worker) call(ctx context.Context, item *WorkItem) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("livedb: work function of pool %q panicked: %v", w.pw.p.name, p)
		}
	}()
	return w.pw.fn(ctx, item)
}

// held returns the item's document when the worker still holds the lease
// of the attempt it took, and errLeaseLost otherwise.
func (w *worker) held(m *MutationCtx, item *WorkItem, now float64) (Doc, error) {
	doc, ok, err := m.DB.Get(item.ID)
	if err != nil {
		return nil, err
	}
	attempts, _ := doc["attempts"].(float64)
	until, _ := doc["leaseUntil"].(float64)
	if !ok || WorkState(str(doc["state"])) != WorkRunning || str(doc["worker"]) != w.id || int(attempts) != item.Attempts || until < now {
		return nil, fmt.Errorf("%w: item %s of pool %q, attempt %d", errLeaseLost, item.ID, w.pw.p.name, item.Attempts)
	}
	return doc, nil
}

// finishIn records an attempt's outcome in m: success (with onComplete),
// a retry after a backoff, or, with no attempt left, failure (with
// onComplete). It returns errLeaseLost, writing nothing, when the worker
// no longer holds the item.
func (w *worker) finishIn(m *MutationCtx, item *WorkItem, result any, runErr error) error {
	now := toMillis(m.DB.tx.db.clock().Now())
	doc, err := w.held(m, item, now)
	if err != nil {
		return err
	}
	fields := Doc{"worker": Undefined, "leaseUntil": Undefined}
	if runErr == nil {
		fields["state"], fields["completedTime"], fields["error"] = string(WorkSuccess), now, Undefined
		out := map[string]any{"kind": string(WorkSuccess)}
		if result != nil {
			fields["result"], out["returnValue"] = result, result
		}
		return finishItem(m, w.pw.r.reg, doc, fields, out)
	}
	fields["error"] = runErr.Error()
	attempts, _ := doc["attempts"].(float64)
	if attempts < maxAttempts(doc) {
		fields["state"], fields["readyAt"] = string(WorkPending), now+backoff(doc, attempts)
		return m.DB.tx.sysPatch(item.ID, fields)
	}
	fields["state"], fields["completedTime"] = string(WorkFailed), now
	return finishItem(m, w.pw.r.reg, doc, fields, map[string]any{"kind": string(WorkFailed), "error": runErr.Error()})
}

// releaseIn gives an item back to the pool without counting the attempt,
// in m: its worker is stopping.
func (w *worker) releaseIn(m *MutationCtx, item *WorkItem) error {
	now := toMillis(m.DB.tx.db.clock().Now())
	doc, err := w.held(m, item, now)
	if err != nil {
		return err
	}
	attempts, _ := doc["attempts"].(float64)
	return m.DB.tx.sysPatch(item.ID, Doc{"state": string(WorkPending), "readyAt": now, "attempts": max(attempts-1, 0),
		"worker": Undefined, "leaseUntil": Undefined})
}

package livedb

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/livedb-go/livedb/internal/intervals"
)

// Update is one result delivered by a subscription: the query's value (or
// its error) at commit Timestamp. Every commit up to and including
// Timestamp is reflected; compare it with a mutation's timestamp (from
// [DB.MutationTS]) to know whether the mutation is visible.
//
// Value is shared with the subscription, which compares it with the next
// result to skip equal ones: read it, do not modify it.
type Update[T any] struct {
	Value     T
	Err       error
	Timestamp uint64
}

// Subscription delivers the result of a query function now and again after
// every commit that writes inside what the function read (its read set of
// index intervals, docs/semantics.md#subscriptions). A result equal to the last one delivered is not
// sent again.
//
// Updates are coalesced: the channel holds at most one pending update, and
// a newer result replaces an unread older one, so a slow reader always gets
// the newest result, memory stays bounded and writers never wait for
// readers. Subscriptions do not own goroutines: one goroutine of the DB
// matches commits against every subscription, and the invalidated ones
// re-run on at most GOMAXPROCS goroutines that end with the re-run, so
// thousands of subscriptions cost no more goroutines than one.
//
// A Subscription is safe for concurrent use.
type Subscription[T any] struct {
	ch    chan Update[T]
	mu    sync.Mutex // serialises sends and close of ch
	done  bool
	state *subState
}

// Updates returns the channel of updates. It is closed when the
// subscription ends: by Close, by cancellation of the context given to
// Subscribe, or by closing the DB.
func (s *Subscription[T]) Updates() <-chan Update[T] { return s.ch }

// Close ends the subscription and closes its channel. It is idempotent.
func (s *Subscription[T]) Close() { s.state.mgr.remove(s.state) }

// Subscribe runs fn as a query now and after every commit that touches its
// read set, delivering each new result on the subscription's channel. The
// first update is ready when Subscribe returns. Paginated queries inside fn
// keep the page ends of the first run (docs/semantics.md#pagination): re-runs
// return the same span
// of the index, grown or shrunk by the writes inside it.
//
// An error of fn is delivered as an update (Update.Err), and the
// subscription goes on: a later commit in its read set re-runs it. The
// first run happens in Subscribe, on the caller's goroutine (a panic there
// propagates, as in [DB.Query]); later runs happen on the DB's subscription
// goroutine, where a panic is delivered as an error. fn must be quick, and
// must not call Mutation (on bbolt the commit may wait for fn's snapshot)
// or the DB's Close (which waits for that goroutine).
//
// The subscription ends when ctx is done, on Close, or when the DB closes;
// a run in progress when ctx is done delivers nothing.
func Subscribe[T any](ctx context.Context, db *DB, fn func(q *QueryCtx) (T, error)) (*Subscription[T], error) {
	s := &Subscription[T]{ch: make(chan Update[T], 1)}
	st := &subState{
		mgr: db.subs,
		ctx: ctx,
		run: func(q *QueryCtx) (any, error) { return fn(q) },
	}
	st.deliver = func(x any, err error, ts uint64) {
		var u Update[T]
		u.Err, u.Timestamp = err, ts
		if x != nil {
			u.Value = x.(T)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.done {
			return
		}
		for {
			select {
			case s.ch <- u:
				return
			default:
				select { // replace the unread update with the newer one
				case <-s.ch:
				default:
				}
			}
		}
	}
	st.unread = func() bool { return len(s.ch) > 0 }
	st.closeCh = func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.done {
			s.done = true
			close(s.ch)
		}
	}
	s.state = st
	if err := db.subs.add(st); err != nil {
		return nil, err
	}
	return s, nil
}

// subState is a subscription as the manager sees it, type-erased.
type subState struct {
	mgr     *subManager
	ctx     context.Context
	run     func(q *QueryCtx) (any, error)
	deliver func(x any, err error, ts uint64)
	closeCh func()
	unread  func() bool // whether an update delivered is unread; nil: never (subscribe_sched.go)

	// Guarded by mgr.mu.
	stop    func() bool                  // unregisters the context callback
	reads   *intervals.Member[*subState] // the intervals of the last run, in mgr.index
	vec     []*vectorRead                // the vector searches of the last run (vector_search.go)
	ts      uint64                       // the snapshot the last run read
	journal []string
	last    any
	lastErr error
	removed bool
	matched uint64 // the loop's pass that last took it (subManager.matchSeq, invalidLocked)

	reruns atomic.Int64 // re-runs after the first run, for the tests (export_whitebox_test.go)
}

// subManager re-runs invalidated subscriptions. notify is called by the
// committer after each storage commit, in commit order; one goroutine
// matches the commits' index keys against every subscription's read set
// and re-runs the matched ones on new snapshots (see rerun).
//
// The read sets are in index (package intervals), which finds the
// subscriptions whose intervals contain a key in O(log n + matches). A
// subscription added since the last rebuild, or whose read set changed, is
// checked on its own until matchLocked rebuilds the index, which it does
// when such subscriptions or the entries they left behind grow past a
// fraction of the index: a change costs amortized O(√n log n), not a
// rebuild per commit. A re-run that reads the same intervals as before
// (the usual case) changes nothing.
type subManager struct {
	db   *DB
	wake chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	subs   map[*subState]struct{}
	forced []*subState
	index  intervals.Index[*subState]
	closed bool
	done   doneMark // how far the deliveries have caught up (subscribe_wait.go)
	// matchSeq numbers the loop's passes (invalidLocked), which mark each
	// subscription they take with it, instead of a set per pass.
	matchSeq uint64

	// hasPending is set when pending or forced grow, cleared when the loop
	// takes them: late re-runs give way to it (subscribe_sched.go).
	hasPending atomic.Bool
	lateSkips  int // loops in a row that left the late re-runs for later; loop's goroutine only

	looping atomic.Bool // loop runs (startLoop, db_lazy.go); set under mu

	// live is len(subs), for notify, which reads it without mu; changed
	// under mu.
	live atomic.Int64

	// pendMu guards pending, the commit records not matched yet, so that
	// a writer that notifies (often the mutation's own goroutine, on a
	// memory database: db_commit_inline.go) does not wait for mu, which
	// the loop holds while it matches and between re-runs. Lock order: mu,
	// then pendMu.
	pendMu  sync.Mutex
	pending []*commitRecord
}

func newSubManager(db *DB) *subManager {
	m := &subManager{
		db:   db,
		wake: make(chan struct{}, 1),
		subs: map[*subState]struct{}{},
		done: newDoneMark(db.lastTS.Load()),
	}
	return m // kick starts the loop (db_lazy.go)
}

// add runs a new subscription for the first time, delivers the result and
// registers the subscription. The first result is delivered before the
// subscription is registered, so that no re-run can deliver a newer result
// before it (and then be replaced by it). A commit after the first run's
// snapshot that the manager matched before the registration is caught by
// a forced re-run.
func (m *subManager) add(st *subState) error {
	x, runErr, tx, err := m.firstRun(st)
	if err != nil {
		return err
	}
	st.deliver(x, runErr, tx.ts)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	st.ts, st.journal = tx.ts, tx.journalOut
	st.last, st.lastErr = x, runErr
	m.subs[st] = struct{}{}
	m.live.Add(1)
	m.setReadsLocked(st, tx.reads)
	if m.db.lastTS.Load() > st.ts {
		// A commit after our snapshot may have been matched before we
		// registered: re-run once to be sure not to miss it.
		m.forced = append(m.forced, st)
		m.hasPending.Store(true)
	}
	// The callback runs on a goroutine of its own, so registering it under
	// the lock cannot deadlock even when ctx is already done.
	st.stop = context.AfterFunc(st.ctx, func() { m.remove(st) })
	m.mu.Unlock()
	m.kick()
	if h := testHookRegistered.Load(); h != nil {
		(*h)()
	}
	return nil
}

// testHookRegistered, when a test sets it, runs at the end of add, after
// the subscription is registered, before Subscribe returns.
var testHookRegistered atomic.Pointer[func()]

// firstRun runs a new subscription's query on a fresh snapshot. A panic of
// the query propagates to the caller of Subscribe, after the snapshot is
// released.
func (m *subManager) firstRun(st *subState) (x any, runErr error, tx *txn, err error) {
	tx, err = m.db.begin(st.ctx, false)
	if err != nil {
		return nil, nil, nil, err
	}
	defer m.db.end(tx)
	tx.journalIn = st.journal // page ends given by Registry.SubscribePublic
	x, runErr = st.run(&QueryCtx{DB: &Reader{tx: tx}, ctx: st.ctx})
	tx.reads.normalize()
	return x, runErr, tx, nil
}

// setReadsLocked gives st a new read set, which must be normalized; the
// index keeps its entries when the intervals did not change. Caller holds
// m.mu.
func (m *subManager) setReadsLocked(st *subState, rs readSet) {
	st.vec = rs.vec
	if st.reads != nil && m.index.Same(st.reads, rs.ivs) {
		return // the usual re-run: nothing to copy, nothing changes
	}
	ivs := ownIntervals(rs.ivs)
	if st.reads == nil {
		st.reads = m.index.Add(st, ivs)
		return
	}
	m.index.Set(st.reads, ivs)
}

// ownIntervals returns a copy of ivs whose keys are the copy's own, all
// in one array. A run's read set points into its txn and its queries (the
// txn's first interval, the point keys of its first Get, a Query's compiled
// range keys); a subscription keeps its read set until its next run, and
// must not keep those, and the snapshot they hold, alive.
func ownIntervals(ivs []interval) []interval {
	n := 0
	for _, iv := range ivs {
		n += len(iv.Start) + len(iv.End)
	}
	keys := make([]byte, 0, n)
	out := make([]interval, len(ivs))
	for i, iv := range ivs {
		s := len(keys)
		keys = append(keys, iv.Start...)
		e := len(keys)
		keys = append(keys, iv.End...)
		out[i] = interval{Start: keys[s:e:e], End: keys[e:len(keys):len(keys)]}
	}
	return out
}

func (m *subManager) remove(st *subState) {
	m.mu.Lock()
	if st.removed {
		m.mu.Unlock()
		return
	}
	st.removed = true
	delete(m.subs, st)
	m.live.Add(-1)
	if st.reads != nil {
		m.index.Remove(st.reads)
	}
	stop := st.stop
	m.mu.Unlock()
	if stop != nil {
		stop()
	}
	st.closeCh()
}

func (m *subManager) kick() {
	m.startLoop()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// notify hands committed records to the manager. It never blocks on
// subscribers, nor, while there are subscriptions, on the manager's mu.
func (m *subManager) notify(recs []*commitRecord) {
	if m.live.Load() == 0 && m.notifyIdle(recs) {
		return
	}
	m.pendMu.Lock()
	m.pending = append(m.pending, recs...)
	m.hasPending.Store(true)
	m.pendMu.Unlock()
	m.kick()
}

// notifyIdle moves the done mark past recs and reports true when
// there is no subscription and nothing pending: nothing to re-run. It
// takes mu, so that a subscription that registers meanwhile either is
// seen here or sees the commit's timestamp (add).
func (m *subManager) notifyIdle(recs []*commitRecord) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pendMu.Lock()
	idle := len(m.subs) == 0 && len(m.pending) == 0
	m.pendMu.Unlock()
	if idle && len(recs) > 0 {
		m.done.advanceLocked(recs[len(recs)-1].ts)
	}
	return idle
}

// close ends every subscription and stops the manager's goroutine, after
// the re-run in progress, if any.
func (m *subManager) close() {
	m.mu.Lock()
	m.closed = true
	subs := make([]*subState, 0, len(m.subs))
	for st := range m.subs {
		subs = append(subs, st)
	}
	m.mu.Unlock()
	for _, st := range subs {
		m.remove(st)
	}
	m.wg.Wait()
}

func (m *subManager) loop() {
	defer m.wg.Done()
	// late are invalidated subscriptions not re-run yet, whose readers had
	// not taken their last update (subscribe_sched.go); upTo is the last
	// commit matched, which the done mark reaches once late is empty.
	var late []*subState
	var upTo uint64
	for {
		if len(late) == 0 {
			select {
			case <-m.wake:
			case <-m.db.closing:
				return
			}
		} else if m.closing() {
			return
		}
		m.mu.Lock()
		m.pendMu.Lock()
		recs := m.pending
		m.pending = nil
		m.hasPending.Store(false)
		m.pendMu.Unlock()
		invalid := m.invalidLocked(late, recs)
		m.mu.Unlock()
		if len(recs) > 0 {
			upTo = recs[len(recs)-1].ts
		}
		late = m.rerunWaitingFirst(invalid)
		if upTo > 0 {
			// A late subscription has seen every commit up to its last
			// run's ts and not the one after it that invalidated it: the
			// mark stops there, so that it moves on under a stream of
			// commits that keeps a subscription late.
			mark := upTo
			m.mu.Lock()
			for _, st := range late {
				mark = min(mark, st.ts)
			}
			m.done.advanceLocked(mark)
			m.mu.Unlock()
		}
	}
}

// invalidLocked returns the subscriptions the loop re-runs now: those of
// late, then those recs invalidate (matchLocked), then the forced ones,
// each once, and empties forced. It marks each with a new matchSeq
// instead of building a set: with many subscriptions, most are late on
// most loops.
func (m *subManager) invalidLocked(late []*subState, recs []*commitRecord) []*subState {
	m.matchSeq++
	for _, st := range late {
		st.matched = m.matchSeq
	}
	out := m.matchLocked(recs, late)
	for _, st := range m.forced {
		if st.matched != m.matchSeq {
			st.matched = m.matchSeq
			out = append(out, st)
		}
	}
	m.forced = nil
	return out
}

// matchLocked appends to out the subscriptions that a key of recs
// invalidates: those that read an interval containing an old or new index
// key of a write committed after the subscription's last run, and that
// are not marked with the current matchSeq (the caller counts it up
// first); it marks each it appends.
func (m *subManager) matchLocked(recs []*commitRecord, out []*subState) []*subState {
	if len(recs) == 0 || len(m.subs) == 0 {
		return out
	}
	if m.index.NeedRebuild() {
		m.index.Rebuild()
	}
	var ts uint64
	add := func(st *subState) {
		if st.ts >= ts {
			return // its last run already saw this commit
		}
		if st.matched != m.matchSeq {
			st.matched = m.matchSeq
			out = append(out, st)
		}
	}
	var key []byte // the key stabbed, for addIfHit
	addIfHit := func(st *subState) {
		if st.vec == nil || vectorReadsHit(st.vec, key) {
			add(st)
		}
	}
	stab := func(k []byte) {
		if k == nil {
			return
		}
		key = k
		m.index.Stab(k, addIfHit)
	}
	for _, rec := range recs {
		ts = rec.ts
		if rec.all {
			for st := range m.subs {
				add(st)
			}
			continue
		}
		for _, k := range rec.tableKeys {
			stab(k)
		}
		for _, pd := range rec.writes {
			for _, k := range pd.oldKeys {
				stab(k)
			}
			for _, k := range pd.newKeys {
				stab(k)
			}
		}
	}
	return out
}

// rerun re-runs the invalidated subscriptions and delivers the results
// that changed. Several are shared among up to GOMAXPROCS goroutines, each
// with a snapshot of its own (a bbolt read transaction serves one goroutine
// at a time), so the subscriptions one commit invalidates do not wait for
// each other on one goroutine (bench/README.md). A worker's snapshot may
// hold a commit newer than the ones that invalidated the subscriptions;
// the subscription's ts then says so, and matchLocked does not re-run it
// for that commit again.
//
// With late set (subscriptions whose readers have not taken their last
// update, subscribe_sched.go), the workers give way: they yield before
// each re-run but the first of all, and stop when a commit is pending.
// rerun returns how many of subs it took, a prefix of subs; the others are
// left for the next loop.
func (m *subManager) rerun(subs []*subState, late bool) int {
	workers := min(runtime.GOMAXPROCS(0), len(subs))
	var next atomic.Int64
	if workers <= 1 {
		m.rerunFrom(subs, &next, late)
	} else {
		var wg sync.WaitGroup
		for range workers - 1 {
			wg.Go(func() { m.rerunFrom(subs, &next, late) })
		}
		m.rerunFrom(subs, &next, late)
		wg.Wait()
	}
	return int(min(next.Load(), int64(len(subs))))
}

// rerunFrom re-runs subs[next], subs[next+1], ... at one snapshot until
// next passes the end, or, when late, until a commit is pending; next is
// shared with the other workers.
func (m *subManager) rerunFrom(subs []*subState, next *atomic.Int64, late bool) {
	db := m.db
	v, err := db.view(false)
	if err != nil {
		// The DB is closing, or its store failed: the re-runs are
		// dropped (all taken), so that late ones do not come back to
		// fail again in a loop that never waits.
		next.Store(int64(len(subs)))
		return
	}
	defer v.snap.Release()
	snap, ts, cat := v.snap, v.ts, v.cat
	for {
		if late && next.Load() > 0 && m.giveWay() { // subscribe_sched.go
			return
		}
		i := next.Add(1) - 1
		if i >= int64(len(subs)) {
			return
		}
		st := subs[i]
		m.mu.Lock()
		removed, journal := st.removed, st.journal
		m.mu.Unlock()
		if removed || st.ctx.Err() != nil {
			continue
		}
		tx := &txn{db: db, ctx: st.ctx, snap: snap, ts: ts, cat: cat, base: cat, limits: &db.opts.Limits, journalIn: journal}
		x, runErr := runRecovered(st, tx)
		tx.done = true
		tx.reads.normalize()
		st.reruns.Add(1)
		db.stats.reruns.Add(1)
		if st.ctx.Err() != nil {
			// Cancelled during the run: its result (likely the context's
			// error) is not news, and the subscription is ending.
			continue
		}
		m.mu.Lock()
		if st.removed { // closed during the run
			m.mu.Unlock()
			continue
		}
		m.setReadsLocked(st, tx.reads)
		st.ts = ts
		if len(journal) == 0 {
			st.journal = tx.journalOut
		}
		last, lastErr := st.last, st.lastErr
		st.last, st.lastErr = x, runErr
		m.mu.Unlock()
		// Only this re-run touches st.last now: compare outside the lock.
		if !sameResult(last, lastErr, x, runErr) {
			wakes := st.unread != nil && st.waiting() // a channel reader waits
			st.deliver(x, runErr, ts)
			if wakes {
				yieldToReader() // subscribe_sched.go
			}
		}
	}
}

// runRecovered re-runs a subscription's query on the manager's goroutine,
// turning a panic into an error: the subscriber gets it as an update, and
// the other subscriptions go on.
func runRecovered(st *subState, tx *txn) (x any, err error) {
	defer func() {
		if r := recover(); r != nil {
			x, err = nil, fmt.Errorf("livedb: subscription query panicked: %v", r)
		}
	}()
	return st.run(&QueryCtx{DB: &Reader{tx: tx}, ctx: tx.ctx})
}

func sameResult(a any, aErr error, b any, bErr error) bool {
	if (aErr == nil) != (bErr == nil) {
		return false
	}
	if aErr != nil {
		return aErr.Error() == bErr.Error()
	}
	return sameValue(a, b)
}

// sameValue reports whether two query results are equal. Documents and the
// values inside them (the types a query returns most) are compared
// directly, floats by their bits (so NaN equals NaN and -0 differs from 0,
// as Convex tells them apart); anything else goes to reflect.DeepEqual,
// which costs several times as much on a page of documents, mostly in its
// map iteration (BenchmarkSameValue; bench/README.md).
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case []byte:
		y, ok := b.([]byte)
		return ok && (x == nil) == (y == nil) && bytes.Equal(x, y)
	case Doc:
		y, ok := b.(Doc)
		return ok && sameMap(x, y)
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && sameMap(x, y)
	case []Doc:
		y, ok := b.([]Doc)
		return ok && sameSlice(x, y)
	case []any:
		y, ok := b.([]any)
		return ok && sameSlice(x, y)
	}
	return reflect.DeepEqual(a, b)
}

func sameMap[M ~map[string]any](a, b M) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || !sameValue(av, bv) {
			return false
		}
	}
	return true
}

func sameSlice[E any](a, b []E) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for i := range a {
		if !sameValue(a[i], b[i]) {
			return false
		}
	}
	return true
}

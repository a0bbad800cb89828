package livedb

import (
	"bytes"
	"context"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
)

// Update is one result delivered by a subscription: the query's value (or
// its error) at commit Timestamp. Every commit up to and including
// Timestamp is reflected; compare it with a mutation's timestamp (from
// [DB.MutationTS]) to know whether the mutation is visible.
type Update[T any] struct {
	Value     T
	Err       error
	Timestamp uint64
}

// Subscription delivers the result of a query function now and again after
// every commit that writes inside what the function read (its read set of
// index intervals, §9). A result equal to the last one delivered is not
// sent again.
//
// Updates are coalesced: the channel holds at most one pending update, and
// a newer result replaces an unread older one, so a slow reader always gets
// the newest result, memory stays bounded and writers never wait for
// readers. Subscriptions do not own goroutines: one goroutine of the DB
// re-runs every invalidated subscription at one common snapshot, so
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

// Reruns returns how many times the query function was re-run after the
// first run (for tests and monitoring).
func (s *Subscription[T]) Reruns() int64 { return s.state.reruns.Load() }

// Subscribe runs fn as a query now and after every commit that touches its
// read set, delivering each new result on the subscription's channel. The
// first update is ready when Subscribe returns. Paginated queries inside fn
// keep the page ends of the first run (§7.4): re-runs return the same span
// of the index, grown or shrunk by the writes inside it.
//
// fn runs on the DB's subscription goroutine after the first time; it must
// be quick and must not call Mutation. The subscription ends when ctx is
// done, on Close, or when the DB closes.
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
	stop    func() bool // unregisters the context callback

	// Guarded by mgr.mu.
	reads   readSet
	ts      uint64
	journal []string
	last    any
	lastErr error
	removed bool

	reruns atomic.Int64
}

// subInterval is one read interval of one subscription.
type subInterval struct {
	interval
	sub *subState
}

// subManager re-runs invalidated subscriptions. notify is called by the
// committer after each storage commit, in commit order; one goroutine
// matches the commits' index keys against every subscription's read set
// (an interval index sorted by start with a running maximum of ends) and
// re-runs the matched ones at one new snapshot.
type subManager struct {
	db   *DB
	wake chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	subs    map[*subState]struct{}
	pending []*commitRecord
	forced  []*subState
	ivs     []subInterval // sorted by start; rebuilt when dirty
	maxEnd  [][]byte      // maxEnd[i] = max end of ivs[:i+1]
	dirty   bool
	closed  bool
}

func newSubManager(db *DB) *subManager {
	m := &subManager{db: db, wake: make(chan struct{}, 1), subs: map[*subState]struct{}{}}
	m.wg.Add(1)
	go m.loop()
	return m
}

// add runs a new subscription for the first time and registers it.
func (m *subManager) add(st *subState) error {
	tx, err := m.db.begin(st.ctx, false)
	if err != nil {
		return err
	}
	x, runErr := st.run(&QueryCtx{DB: &Reader{tx: tx}, ctx: st.ctx})
	m.db.end(tx)
	tx.reads.normalize()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	st.reads, st.ts, st.journal = tx.reads, tx.ts, tx.journalOut
	st.last, st.lastErr = x, runErr
	m.subs[st] = struct{}{}
	m.dirty = true
	if m.db.lastTS.Load() > st.ts {
		// A commit after our snapshot may have been matched before we
		// registered: re-run once to be sure not to miss it.
		m.forced = append(m.forced, st)
	}
	m.mu.Unlock()
	st.deliver(x, runErr, tx.ts)
	st.stop = context.AfterFunc(st.ctx, func() { m.remove(st) })
	m.kick()
	return nil
}

func (m *subManager) remove(st *subState) {
	m.mu.Lock()
	if st.removed {
		m.mu.Unlock()
		return
	}
	st.removed = true
	delete(m.subs, st)
	m.dirty = true
	m.mu.Unlock()
	if st.stop != nil {
		st.stop()
	}
	st.closeCh()
}

func (m *subManager) kick() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// notify hands committed records to the manager. It never blocks on
// subscribers.
func (m *subManager) notify(recs []*commitRecord) {
	m.mu.Lock()
	if len(m.subs) == 0 {
		m.mu.Unlock()
		return
	}
	m.pending = append(m.pending, recs...)
	m.mu.Unlock()
	m.kick()
}

// close ends every subscription and stops the manager's goroutine.
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
	for {
		select {
		case <-m.wake:
		case <-m.db.closing:
			return
		}
		m.mu.Lock()
		recs := m.pending
		m.pending = nil
		invalid := m.matchLocked(recs)
		for _, st := range m.forced {
			if !slices.Contains(invalid, st) {
				invalid = append(invalid, st)
			}
		}
		m.forced = nil
		m.mu.Unlock()
		if len(invalid) > 0 {
			m.rerun(invalid)
		}
	}
}

// rebuildLocked rebuilds the interval index.
func (m *subManager) rebuildLocked() {
	m.ivs = m.ivs[:0]
	for st := range m.subs {
		for _, iv := range st.reads.ivs {
			m.ivs = append(m.ivs, subInterval{interval: iv, sub: st})
		}
	}
	slices.SortFunc(m.ivs, func(a, b subInterval) int { return bytes.Compare(a.start, b.start) })
	m.maxEnd = m.maxEnd[:0]
	var cur []byte
	for _, iv := range m.ivs {
		if bytes.Compare(iv.end, cur) > 0 {
			cur = iv.end
		}
		m.maxEnd = append(m.maxEnd, cur)
	}
	m.dirty = false
}

// matchLocked returns the subscriptions that a key of recs invalidates:
// those that read an interval containing an old or new index key of a
// write committed after the subscription's last run.
func (m *subManager) matchLocked(recs []*commitRecord) []*subState {
	if len(recs) == 0 || len(m.subs) == 0 {
		return nil
	}
	if m.dirty {
		m.rebuildLocked()
	}
	hit := map[*subState]struct{}{}
	var out []*subState
	stab := func(k []byte, ts uint64) {
		i, _ := slices.BinarySearchFunc(m.ivs, k, func(iv subInterval, k []byte) int {
			if bytes.Compare(iv.start, k) <= 0 {
				return -1
			}
			return 1
		})
		for j := i - 1; j >= 0 && bytes.Compare(m.maxEnd[j], k) > 0; j-- {
			iv := m.ivs[j]
			if iv.sub.ts >= ts || !iv.contains(k) {
				continue
			}
			if _, ok := hit[iv.sub]; !ok {
				hit[iv.sub] = struct{}{}
				out = append(out, iv.sub)
			}
		}
	}
	for _, rec := range recs {
		for _, pd := range rec.writes {
			for _, k := range pd.oldKeys {
				stab(k, rec.ts)
			}
			for _, k := range pd.newKeys {
				stab(k, rec.ts)
			}
		}
	}
	return out
}

// rerun runs the invalidated subscriptions at one snapshot and delivers
// the results that changed.
func (m *subManager) rerun(subs []*subState) {
	db := m.db
	snap, err := db.store.Snapshot()
	if err != nil {
		return // the DB is closing
	}
	defer snap.Release()
	ts, err := snapshotTS(snap)
	if err != nil {
		return
	}
	cat := db.cat.Load()
	for _, st := range subs {
		m.mu.Lock()
		removed, journal := st.removed, st.journal
		m.mu.Unlock()
		if removed || st.ctx.Err() != nil {
			continue
		}
		tx := &txn{db: db, ctx: st.ctx, snap: snap, ts: ts, cat: cat, limits: &db.opts.Limits, journalIn: journal}
		x, runErr := st.run(&QueryCtx{DB: &Reader{tx: tx}, ctx: st.ctx})
		tx.done = true
		tx.reads.normalize()
		st.reruns.Add(1)
		m.mu.Lock()
		st.reads, st.ts = tx.reads, ts
		if len(journal) == 0 {
			st.journal = tx.journalOut
		}
		m.dirty = true
		same := sameResult(st.last, st.lastErr, x, runErr)
		st.last, st.lastErr = x, runErr
		m.mu.Unlock()
		if !same {
			st.deliver(x, runErr, ts)
		}
	}
}

func sameResult(a any, aErr error, b any, bErr error) bool {
	if (aErr == nil) != (bErr == nil) {
		return false
	}
	if aErr != nil {
		return aErr.Error() == bErr.Error()
	}
	return reflect.DeepEqual(a, b)
}

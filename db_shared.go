package livedb

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
)

// A shared database is a log of commit groups that several processes
// append to, each keeping a full copy of the database in its own store
// (memory, or a bbolt file) that follows the log. Queries, indexes,
// pagination and subscriptions run on the copy, unchanged; only the
// committer knows of the log (docs/architecture.md, "A log in front of the
// store").

// sharedLog is the log of a shared database: internal/pglog behind
// pgSharedLog, or a log in memory in tests. Its errors wrap ErrUnavailable,
// ErrOutcomeUnknown or errLogTrimmed where they mean that.
type sharedLog interface {
	// lock holds the log for one append and returns the entries after
	// after, which must be applied first.
	lock(ctx context.Context, after uint64) (sharedAppend, []logEntry, error)
	// since returns up to sharedChunk entries after after, without
	// holding the log.
	since(ctx context.Context, after uint64) ([]logEntry, error)
	// bootstrap calls fn with every key and value of the shared state, in
	// key order, and returns the timestamp of the last entry it holds.
	bootstrap(ctx context.Context, fn func(key, value []byte) error) (head uint64, err error)
	// trim deletes the entries before ts.
	trim(ctx context.Context, before uint64) error
	// notify receives after other processes appended, and after the log's
	// connection was restored.
	notify() <-chan struct{}
	// tryLease takes or renews the lease on role for holder for ttl, by
	// the log server's clock; it returns whether holder holds it.
	tryLease(ctx context.Context, role, holder string, ttl time.Duration) (bool, error)
	// releaseLease gives the lease up if holder holds it.
	releaseLease(ctx context.Context, role, holder string) error
	// id returns the shared database's identity.
	id() string
	close()
}

// sharedAppend is a held log.
type sharedAppend interface {
	head() uint64
	// commit appends e, applies state to the shared state and releases
	// the log.
	commit(ctx context.Context, e logEntry, state []kv.Op) error
	rollback()
}

// logEntry is one entry of a shared log: an encoded logGroup.
type logEntry struct {
	ts, prev uint64 // the group's last commit, and the entry before it
	nonce    []byte // the writer's, to recognise its own entry
	data     []byte
}

// errLogTrimmed says that the log no longer holds the entries after a
// copy's last one: the copy must be loaded anew from the shared state.
var errLogTrimmed = errors.New("livedb: the shared log was trimmed past this copy")

const (
	// sharedTimeout bounds one exchange with the shared log's server.
	sharedTimeout = 10 * time.Second
	// sharedPoll is how often a copy looks for new entries when no
	// notification came: notifications only say "look now", the log is
	// what counts, and a lost notification costs at most this delay.
	sharedPoll = 250 * time.Millisecond
	// sharedRetention is how long entries stay in the log: a copy that
	// was stopped for longer is loaded anew when it comes back.
	sharedRetention = time.Hour
	// trimEvery is how many appends a process makes between trims.
	trimEvery = 1000
)

// sharedState is what a DB keeps of its shared log.
type sharedState struct {
	log      sharedLog
	nonce    []byte        // this process's, in every entry it appends
	requests chan struct{} // CatchUp asks the committer to follow the log
	ticker   *time.Ticker
	appends  int  // since the last trim; committer only
	failing  bool // following the log fails; committer only
	// jsonOf is the schema whose stored form json is (sameJSON); committer only.
	jsonOf *Schema
	json   []byte
	held   *sharedLock // held by Open while it applies the schema, or by the committer for a mutation that runs alone
}

func (s *sharedState) wakeups() <-chan struct{} {
	if s == nil {
		return nil
	}
	return s.log.notify()
}

func (s *sharedState) ticks() <-chan time.Time {
	if s == nil {
		return nil
	}
	return s.ticker.C
}

func (s *sharedState) asked() <-chan struct{} {
	if s == nil {
		return nil
	}
	return s.requests
}

// sharedLock is the log held by the committer for one group.
type sharedLock struct {
	db     *DB
	held   sharedAppend
	ctx    context.Context
	cancel context.CancelFunc
}

// lockShared holds the log and applies the entries after this copy's last
// one. Committer only.
func (db *DB) lockShared() (*sharedLock, error) {
	return db.lockSharedFor(sharedTimeout)
}

// lockSharedFor is lockShared for a lock held up to d.
func (db *DB) lockSharedFor(d time.Duration) (*sharedLock, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	for attempt := 0; ; attempt++ {
		held, entries, err := db.shared.log.lock(ctx, db.lastTS.Load())
		if errors.Is(err, errLogTrimmed) && attempt == 0 {
			if err = db.rebootstrap(ctx); err == nil {
				continue
			}
		}
		if err != nil {
			cancel()
			return nil, err
		}
		for _, e := range entries {
			if err := db.applyEntry(e); err != nil {
				held.rollback()
				cancel()
				return nil, err
			}
		}
		return &sharedLock{db: db, held: held, ctx: ctx, cancel: cancel}, nil
	}
}

// append appends group g, which takes the catalog from base to cat, to
// the log, and with it its writes to the shared state.
func (lt *sharedLock) append(g *logGroup, base, cat *catalog) error {
	if cat != base && g.catalog == nil {
		b, err := cat.marshal()
		if err != nil {
			return err
		}
		g.catalog = b
	}
	state := make([]kv.Op, 0, len(g.ops)+1)
	for _, op := range g.ops {
		if !isFeedKey(op.Key) { // the change feed is each copy's own
			state = append(state, op)
		}
	}
	if g.catalog != nil {
		state = append(state, kv.Op{Key: keyCatalog, Value: g.catalog})
	}
	e := logEntry{ts: g.ts(), prev: lt.held.head(), nonce: lt.db.shared.nonce, data: encodeLogGroup(g)}
	err := lt.held.commit(lt.ctx, e, state)
	if err == nil {
		lt.db.afterAppend(lt.ctx, e.ts)
	}
	return err
}

// afterAppend trims the log now and then.
func (db *DB) afterAppend(ctx context.Context, ts uint64) {
	s := db.shared
	if s.appends++; s.appends < trimEvery {
		return
	}
	s.appends = 0
	before := ts - uint64(min(sharedRetention, time.Duration(ts)))
	if err := s.log.trim(ctx, before); err != nil {
		db.opts.Logger.Warn("livedb: trimming the shared log failed", slog.Any("error", err))
	}
}

// release lets the log go, if append did not.
func (lt *sharedLock) release() {
	lt.held.rollback()
	lt.cancel()
}

// follow applies the entries other processes appended. Committer only.
func (db *DB) follow() {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	err := db.catchUp(ctx)
	switch {
	case err == nil && db.shared.failing:
		db.shared.failing = false
		db.opts.Logger.Info("livedb: following the shared log again")
	case err != nil && !db.shared.failing && !errors.Is(err, ErrStorageFailed):
		// Said once per outage, not at every poll.
		db.shared.failing = true
		db.opts.Logger.Warn("livedb: following the shared log failed; retrying until it is back", slog.Any("error", err))
	}
}

// catchUp applies entries until none is left. Committer only (or Open).
func (db *DB) catchUp(ctx context.Context) error {
	for {
		entries, err := db.shared.log.since(ctx, db.lastTS.Load())
		if errors.Is(err, errLogTrimmed) {
			err = db.rebootstrap(ctx)
			if err == nil {
				continue
			}
		}
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return nil
		}
		for _, e := range entries {
			if err := db.applyEntry(e); err != nil {
				return err
			}
		}
	}
}

// applyEntry applies an entry of the log to this copy: the same storage
// commit and the same publication as for a group committed here.
func (db *DB) applyEntry(e logEntry) error {
	if err := db.writesStopped(); err != nil {
		return err
	}
	if e.ts <= db.lastTS.Load() {
		return nil // applied already
	}
	g, err := decodeLogGroup(e.data)
	if err == nil && g.ts() != e.ts {
		err = fmt.Errorf("%w: %w: entry %d holds commits up to %d", ErrNotLivedb, errBadLogGroup, e.ts, g.ts())
	}
	base := db.cat.Load()
	cat := base
	if err == nil && g.catalog != nil {
		cat, err = db.adoptCatalog(base, g.catalog)
	}
	if err == nil {
		err = g.resolve(cat)
	}
	if err != nil {
		// A copy that cannot apply an entry cannot go past it: it stops
		// its writes and serves reads of what it has.
		return db.failClosed(fmt.Errorf("shared log entry %d: %w", e.ts, err))
	}
	batch := kv.Batch{Ops: g.ops}
	if err := db.storeGroup(&batch, e.ts, base, cat); err != nil {
		return storeErr(err)
	}
	db.published(g.records, e.ts)
	db.subs.notify(g.records)
	return nil
}

// adoptCatalog returns the catalog stored as b, which another process
// committed after base: its schema resolved and its tables' validators
// attached. A table that did not change keeps its tableInfo, so that the
// mutations running on base do not see it changed.
func (db *DB) adoptCatalog(base *catalog, b []byte) (*catalog, error) {
	c, err := unmarshalCatalog(b)
	if err != nil {
		return nil, err
	}
	switch {
	case base.schema != nil && db.sameJSON(base, c):
		c.schema = base.schema
	case len(c.schemaJSON) > 0:
		if c.schema, err = SchemaFromJSON(c.schemaJSON); err != nil {
			return nil, wrapErr(ErrNotLivedb.Error()+": stored schema", err, ErrNotLivedb)
		}
	default:
		c.schema = DefineSchema(nil)
	}
	for name, t := range c.tables {
		if old := base.tables[name]; old != nil && c.schema == base.schema && sameTable(old, t) {
			c.tables[name], c.byNumber[t.number] = old, old
			continue
		}
		if def, ok := c.schema.Table(name); ok && c.schema.Validation() {
			t.validator = def.Validator()
		}
	}
	return c, nil
}

// sameJSON says whether c stores base's schema. base is published, and
// mutations read it: it is not written to, not even to cache its form.
func (db *DB) sameJSON(base, c *catalog) bool {
	j := base.schemaJSON
	if j == nil {
		// base is published and read by mutations: its stored form is
		// cached here, by the committer, not on it.
		s := db.shared
		if s.jsonOf != base.schema {
			var err error
			if s.json, err = schemaJSON(base.schema); err != nil {
				return false
			}
			s.jsonOf = base.schema
		}
		j = s.json
	}
	return bytes.Equal(j, c.schemaJSON)
}

// sameTable says whether a and b are the same table with the same indexes.
func sameTable(a, b *tableInfo) bool {
	if a.number != b.number || len(a.indexes) != len(b.indexes) {
		return false
	}
	for i, ix := range a.indexes {
		o := b.indexes[i]
		if ix.id != o.id || ix.name != o.name || !slices.Equal(ix.fields, o.fields) || !sameVector(ix.vec, o.vec) {
			return false
		}
	}
	return true
}

// CatchUp waits until this DB has applied every commit up to timestamp
// ts, as returned by MutationTS, or until ctx ends. On a shared database
// (OpenShared) this gives read-your-writes across processes: a process
// handed the timestamp of a mutation that another process committed calls
// CatchUp, and its queries from then on see that mutation. On a database
// of one process, every acknowledged commit is applied already: CatchUp
// returns at once for a timestamp MutationTS returned, and waits for later
// commits for one beyond the last.
func (db *DB) CatchUp(ctx context.Context, ts uint64) error {
	for {
		signal := db.commitSignal()
		if db.lastTS.Load() >= ts {
			return nil
		}
		if db.shared != nil {
			select {
			case db.shared.requests <- struct{}{}:
			default: // a request is pending already
			}
		}
		select {
		case <-signal:
		case <-ctx.Done():
			return ctx.Err()
		case <-db.closing:
			return ErrClosed
		}
	}
}

// keyShared holds the identity of the shared database a store is a copy
// of.
var keyShared = []byte("\x00shared")

// openShared opens a DB whose storage is store, a copy of the shared
// database that log holds: it loads store from the shared state when
// store is empty, catches up with the log, and applies schema, under the
// log's lock so that processes opening at once do it one at a time.
func openShared(ctx context.Context, log sharedLog, store kv.Store, path string, schema *Schema, o Options) (*DB, error) {
	if err := prepareCopy(ctx, log, store); err != nil {
		return nil, err
	}
	db, err := newDB(store, path, schema, o)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	db.shared = &sharedState{log: log, nonce: nonce, requests: make(chan struct{}, 1)}
	db.subs = newSubManager(db) // applied entries notify it; nothing subscribes yet
	if err := db.publishStored(); err != nil {
		return nil, err
	}
	if err := db.catchUp(ctx); err != nil {
		return nil, err
	}
	if !o.ReadOnly {
		if db.shared.held, err = db.lockShared(); err != nil {
			return nil, err
		}
		defer db.shared.held.release()
	}
	if err := db.load(); err != nil {
		return nil, err
	}
	db.shared.held = nil
	db.shared.ticker = time.NewTicker(sharedPoll)
	db.startCommitter() // now, not at the first commit: it follows the log
	return db, nil
}

// prepareCopy makes store a copy of log's database: an empty store is
// loaded from the shared state; a store that is a copy already is kept,
// to catch up from the log; any other store is refused.
func prepareCopy(ctx context.Context, log sharedLog, store kv.Store) error {
	snap, err := store.Snapshot()
	if err != nil {
		return storeErr(err)
	}
	id, ok, err := snap.Get(keyShared)
	empty := true
	if err == nil && !ok {
		it := snap.Iter(nil, nil, false)
		empty = !it.Next()
		err = it.Err()
		it.Close()
	}
	snap.Release()
	switch {
	case err != nil:
		return storeErr(err)
	case ok && string(id) == log.id():
		return nil
	case ok:
		return fmt.Errorf("%w: the local copy belongs to shared database %s, not %s: give each shared database a copy of its own", ErrNotLivedb, id, log.id())
	case !empty:
		return fmt.Errorf("%w: the local copy holds data but is not a copy of a shared database", ErrNotLivedb)
	}
	return loadCopy(ctx, log, store)
}

// copyChunk is how many keys one storage commit of loadCopy writes.
const copyChunk = 50_000

// loadCopy loads an empty store with the shared state.
func loadCopy(ctx context.Context, log sharedLog, store kv.Store) error {
	var batch kv.Batch
	flush := func() error {
		err := store.Commit(&batch)
		batch = kv.Batch{}
		return storeErr(err)
	}
	head, err := log.bootstrap(ctx, func(k, v []byte) error {
		batch.Put(bytes.Clone(k), bytes.Clone(v))
		if batch.Len() >= copyChunk {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	batch.Put(keyLastTS, encodeLastTS(head, 0))
	batch.Put(keyPrunedThrough, encodePrunedThrough(head))
	batch.Put(keyShared, []byte(log.id())) // last: a copy cut short is refused
	return flush()
}

// publishStored publishes the catalog the copy holds, so that entries can
// be applied on it, before load brings it to the schema.
func (db *DB) publishStored() error {
	snap, err := db.store.Snapshot()
	if err != nil {
		return storeErr(err)
	}
	defer snap.Release()
	ts, gen, err := snapshotTS(snap)
	if err != nil {
		return err
	}
	db.lastTS.Store(ts)
	b, ok, err := snap.Get(keyCatalog)
	if err != nil {
		return storeErr(err)
	}
	c := newCatalog()
	if ok {
		if c, err = db.adoptCatalog(newCatalog(), b); err != nil {
			return err
		}
	}
	c.gen = gen
	db.publishCatalog(c)
	return nil
}

// migrateShared commits what load computed to bring the shared database
// to db.schema, through the log held by openShared. Committer only (Open).
func (db *DB) migrateShared(old, next *catalog, batch *kv.Batch, cb []byte) error {
	lt := db.shared.held
	ts := max(db.lastTS.Load()+1, uint64(timeNow().UnixNano()))
	rec := &commitRecord{ts: ts}
	for name, t := range next.tables {
		if o := old.tables[name]; o == nil || o.number != t.number {
			rec.tableKeys = append(rec.tableKeys, tableKeys(t, o)...)
		}
	}
	g := &logGroup{records: []*commitRecord{rec}, ops: batch.Ops[:len(batch.Ops):len(batch.Ops)], catalog: cb}
	base := db.cat.Load()
	if err := lt.append(g, base, next); err != nil {
		return fmt.Errorf("livedb: apply schema: %w", err)
	}
	if err := db.storeGroup(batch, ts, base, next); err != nil {
		return fmt.Errorf("livedb: apply schema: %w", storeErr(err))
	}
	db.published(g.records, ts)
	return nil
}

// rebootstrap loads this copy anew from the shared state, when the log no
// longer holds what it missed: one storage commit that deletes what the
// state lacks and writes what differs, recorded as a commit that changed
// everything (every older mutation conflicts, every subscription re-runs).
// The change feed restarts after the state's timestamp. Committer only.
func (db *DB) rebootstrap(ctx context.Context) error {
	db.opts.Logger.Warn("livedb: this copy of the shared database fell behind the log's retention; loading it anew from the shared state")
	snap, err := db.store.Snapshot()
	if err != nil {
		return storeErr(err)
	}
	defer snap.Release()
	it := snap.Iter(nil, nil, false)
	defer it.Close()
	var batch kv.Batch
	var catBytes []byte
	more := it.Next()
	// keys each copy keeps for itself; not its change feed, whose records
	// would describe documents this load replaces without records
	local := func(k []byte) bool {
		return k[0] == tagLastTS || bytes.Equal(k, keyPrunedThrough) || bytes.Equal(k, keyShared)
	}
	head, err := db.shared.log.bootstrap(ctx, func(k, v []byte) error {
		for more && bytes.Compare(it.Key(), k) < 0 {
			if !local(it.Key()) {
				batch.Delete(bytes.Clone(it.Key()))
			}
			more = it.Next()
		}
		if bytes.Equal(k, keyCatalog) {
			catBytes = bytes.Clone(v)
		}
		if more && bytes.Equal(it.Key(), k) {
			if !bytes.Equal(it.Value(), v) {
				batch.Put(bytes.Clone(k), bytes.Clone(v))
			}
			more = it.Next()
			return nil
		}
		batch.Put(bytes.Clone(k), bytes.Clone(v))
		return nil
	})
	if err != nil {
		return err
	}
	for ; more; more = it.Next() {
		if !local(it.Key()) {
			batch.Delete(bytes.Clone(it.Key()))
		}
	}
	if err := it.Err(); err != nil {
		return storeErr(err)
	}
	base := db.cat.Load()
	cat := base
	if catBytes != nil {
		if cat, err = db.adoptCatalog(base, catBytes); err != nil {
			return err
		}
	}
	batch.Put(keyPrunedThrough, encodePrunedThrough(head))
	it.Close()
	snap.Release()
	if err := db.storeGroup(&batch, head, base, cat); err != nil {
		return storeErr(err)
	}
	rec := &commitRecord{ts: head, all: true}
	db.published([]*commitRecord{rec}, head)
	db.subs.notify([]*commitRecord{rec})
	return nil
}

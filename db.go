package livedb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/internal/kv/memkv"
)

// timeNow is the clock; tests of timestamps may replace it.
var timeNow = time.Now

// DB is a livedb database: a bbolt file opened with [Open], or memory
// opened with [OpenMemory]. Both run the same engine.
//
// DB is safe for concurrent use by multiple goroutines. The contexts it
// hands to query and mutation functions (QueryCtx, MutationCtx) are not:
// each belongs to the goroutine running that function.
type DB struct {
	store  kv.Store
	path   string // "" in memory
	opts   Options
	schema *Schema

	cat   atomic.Pointer[catalog] // the current catalog; replaced, never changed
	catMu sync.Mutex              // serialises catalog changes (implicit table creation)

	commitCh   chan *commitReq
	closing    chan struct{}
	closeOnce  sync.Once
	wg         sync.WaitGroup // the committer and the subscription runner
	lastTS     atomic.Uint64  // timestamp of the last commit
	sincePrune int            // committer only

	failure atomic.Pointer[storageFailure] // set once a storage commit failed: writes are stopped

	// activeMu guards active and log. Lock order: catMu before activeMu.
	activeMu sync.Mutex
	active   map[uint64]int  // snapshot timestamps of running mutations
	log      []*commitRecord // commits that running mutations may conflict with

	subs *subManager

	useStoredSchema bool // Open was given a nil schema: use the stored one

	signalMu sync.Mutex
	signal   chan struct{} // closed and replaced after every commit
}

// commitSignal returns a channel that is closed by the next commit.
func (db *DB) commitSignal() <-chan struct{} {
	db.signalMu.Lock()
	defer db.signalMu.Unlock()
	if db.signal == nil {
		db.signal = make(chan struct{})
	}
	return db.signal
}

// signalCommit wakes every waiter of commitSignal.
func (db *DB) signalCommit() {
	db.signalMu.Lock()
	defer db.signalMu.Unlock()
	if db.signal != nil {
		close(db.signal)
		db.signal = nil
	}
}

// Open opens the livedb database in the bbolt file at path, creating it if
// it does not exist, and brings it to schema (a nil schema means the one
// stored in the file, for tools that inspect a database they did not
// define): new tables and indexes are
// created (indexes backfilled from existing documents), removed indexes are
// dropped, and when a table's validator changed in a way that may reject
// stored documents, every document of the table is checked first. If any
// does not match, Open fails with a *SchemaMismatchError (wrapping
// ErrSchemaMismatch) and leaves the file as it was.
//
// A file locked by another process makes Open fail with ErrLocked after
// Options.Timeout. A file that is not a livedb database gives ErrNotLivedb.
// opts may be nil.
func Open(path string, schema *Schema, opts *Options) (*DB, error) {
	o := opts.withDefaults()
	store, err := bboltkv.Open(path, &bboltkv.Options{Timeout: o.Timeout, NoSync: o.NoSync, ReadOnly: o.ReadOnly})
	if err != nil {
		switch {
		case errors.Is(err, bboltkv.ErrLocked):
			return nil, fmt.Errorf("%w: %s (waited %v; bbolt lets one process at a time open a file that is being written, even read-only: stop that process or wait for it, or raise Options.Timeout)", ErrLocked, path, o.Timeout)
		case errors.Is(err, bboltkv.ErrNotDatabase), errors.Is(err, bboltkv.ErrCorrupt):
			return nil, fmt.Errorf("%w: %s: %w", ErrNotLivedb, path, err)
		}
		return nil, fmt.Errorf("livedb: open %s: %w", path, err)
	}
	db, err := open(store, path, schema, o)
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	return db, nil
}

// OpenMemory opens an empty in-memory database with schema. It behaves as
// a bbolt database does, except that nothing survives Close.
func OpenMemory(schema *Schema) (*DB, error) {
	return OpenMemoryOptions(schema, nil)
}

// OpenMemoryOptions is OpenMemory with options; the file options (Timeout,
// NoSync, ReadOnly) do not apply.
func OpenMemoryOptions(schema *Schema, opts *Options) (*DB, error) {
	o := opts.withDefaults()
	o.ReadOnly = false
	return open(memkv.New(), "", schema, o)
}

func open(store kv.Store, path string, schema *Schema, o Options) (*DB, error) {
	stored := schema == nil
	if stored {
		schema = DefineSchema(nil)
	}
	if err := schema.Err(); err != nil {
		return nil, err
	}
	db := &DB{
		useStoredSchema: stored,
		store:           store,
		path:            path,
		opts:            o,
		schema:          schema,
		commitCh:        make(chan *commitReq),
		closing:         make(chan struct{}),
		active:          map[uint64]int{},
	}
	if err := db.load(); err != nil {
		return nil, err
	}
	db.subs = newSubManager(db)
	db.wg.Add(1)
	go db.committer()
	return db, nil
}

// Path returns the database file's path, or "" for a memory database.
func (db *DB) Path() string { return db.path }

// Schema returns the schema the database was opened with.
func (db *DB) Schema() *Schema { return db.schema }

// Close ends every subscription, waits for the commit in progress, and
// closes the file. Queries and mutations still running fail with
// ErrClosed at their next database call or commit; a mutation whose commit
// was acknowledged before Close is durable. Close is idempotent.
func (db *DB) Close() error {
	var err error
	db.closeOnce.Do(func() {
		close(db.closing)
		db.subs.close()
		db.wg.Wait()
		err = db.store.Close()
	})
	return err
}

func (db *DB) isClosed() bool {
	select {
	case <-db.closing:
		return true
	default:
		return false
	}
}

// begin opens a transaction on a fresh snapshot. A mutation registers its
// snapshot timestamp as active so that the commit log keeps what it may
// conflict with.
func (db *DB) begin(ctx context.Context, writable bool) (*txn, error) {
	if db.isClosed() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if writable && db.opts.ReadOnly {
		return nil, fmt.Errorf("%w: the database was opened read-only", ErrReadOnly)
	}
	if writable {
		if err := db.writesStopped(); err != nil {
			return nil, err
		}
	}
	if writable {
		// The snapshot and its registration are one step for the
		// committer, which trims the commit log up to the oldest
		// registered snapshot. A query registers nothing: no lock.
		db.activeMu.Lock()
		defer db.activeMu.Unlock()
	}
	snap, err := db.store.Snapshot()
	if err != nil {
		return nil, storeErr(err)
	}
	ts, err := snapshotTS(snap)
	if err != nil {
		snap.Release()
		return nil, err
	}
	tx := &txn{db: db, ctx: ctx, snap: snap, ts: ts, cat: db.cat.Load(), limits: &db.opts.Limits}
	if writable {
		tx.writes = newWriteSet()
		db.active[ts]++
	}
	return tx, nil
}

// snapshotTS reads the timestamp of the last commit a snapshot contains.
func snapshotTS(snap kv.Snapshot) (uint64, error) {
	b, ok, err := snap.Get(keyLastTS)
	if err == nil && !ok {
		b, ok, err = snap.Get(keyLastTSBefore)
	}
	if err != nil || !ok {
		return 0, storeErr(err)
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: bad timestamp record", ErrNotLivedb)
	}
	return binary.BigEndian.Uint64(b), nil
}

// end releases a transaction's snapshot and registration.
func (db *DB) end(tx *txn) {
	tx.done = true
	tx.snap.Release()
	if tx.writes != nil {
		db.activeMu.Lock()
		if db.active[tx.ts]--; db.active[tx.ts] <= 0 {
			delete(db.active, tx.ts)
		}
		db.trimLogLocked() // the log may hold records only this one needed
		db.activeMu.Unlock()
	}
}

// QueryCtx is what a query function receives: Convex's query ctx. DB reads
// one snapshot of the database. It is only valid during the function.
type QueryCtx struct {
	DB  *Reader
	ctx context.Context
}

// Context returns the context the query runs under.
func (q *QueryCtx) Context() context.Context { return q.ctx }

// MutationCtx is what a mutation function receives: Convex's mutation ctx.
// DB reads a snapshot and buffers writes, which its own reads see. It is
// only valid during the function.
type MutationCtx struct {
	DB  *Writer
	ctx context.Context
}

// Context returns the context the mutation runs under.
func (m *MutationCtx) Context() context.Context { return m.ctx }

// Query runs fn against one consistent snapshot of the database. Every read
// of fn sees the same state. fn must not call Mutation on the same DB (on
// bbolt the commit may wait for fn's snapshot to end).
func (db *DB) Query(ctx context.Context, fn func(q *QueryCtx) error) error {
	_, err := db.query(ctx, fn)
	return err
}

// query runs fn and returns the transaction for its read set and timestamp.
func (db *DB) query(ctx context.Context, fn func(q *QueryCtx) error) (*txn, error) {
	tx, err := db.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	defer db.end(tx)
	err = fn(&QueryCtx{DB: &Reader{tx: tx}, ctx: ctx})
	return tx, err
}

// Mutation runs fn as a serializable transaction and commits its writes
// atomically when fn returns nil. If fn returns an error or panics, or ctx
// is cancelled before the commit, nothing is written (a panic is re-raised
// after the writes are discarded).
//
// Mutations run concurrently. When a commit that happened after fn's
// snapshot wrote inside something fn read, fn is run again on a new
// snapshot, with backoff, up to Options.MaxRetries times, then Mutation
// fails with a *ConflictError. fn must therefore have no effects outside
// the transaction that are unsafe to repeat. Mutation returns once the
// commit is durable (fsynced, unless Options.NoSync).
func (db *DB) Mutation(ctx context.Context, fn func(m *MutationCtx) error) error {
	_, err := db.MutationTS(ctx, fn)
	return err
}

// MutationTS is Mutation that also returns the commit timestamp. A
// subscription update or query at this timestamp or later reflects the
// mutation. A mutation that wrote nothing returns its snapshot's timestamp.
func (db *DB) MutationTS(ctx context.Context, fn func(m *MutationCtx) error) (uint64, error) {
	backoff := time.Millisecond
	for attempt := 0; ; attempt++ {
		ts, res, err := db.mutateOnce(ctx, fn)
		if err != errConflict {
			return ts, err
		}
		if attempt >= db.opts.MaxRetries {
			return 0, &ConflictError{Table: res.table.name, ID: ID(res.id), Retries: attempt}
		}
		t := time.NewTimer(backoff/2 + time.Duration(rand.Int64N(int64(backoff))))
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-db.closing:
			t.Stop()
			return 0, ErrClosed
		case <-t.C:
		}
		backoff = min(backoff*2, 100*time.Millisecond)
	}
}

// mutateOnce runs fn once and commits it. On a conflict it returns
// errConflict and the write that caused it.
func (db *DB) mutateOnce(ctx context.Context, fn func(m *MutationCtx) error) (uint64, *pendingDoc, error) {
	tx, err := db.begin(ctx, true)
	if err != nil {
		return 0, nil, err
	}
	ended := false
	defer func() {
		if !ended {
			db.end(tx)
		}
	}()
	if err := fn(&MutationCtx{DB: &Writer{Reader{tx: tx}}, ctx: ctx}); err != nil {
		return 0, nil, err
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	if len(tx.writes.order) == 0 {
		return tx.ts, nil, nil
	}
	tx.done = true
	tx.snap.Release() // do not pin pages while waiting for the commit
	res := db.submit(tx)
	ended = true
	db.end(tx)
	if res.err == errConflict {
		return 0, res.conflict, errConflict
	}
	return res.ts, nil, res.err
}

// tableForWrite returns the table for an insert, creating it (committed
// at once, on its own) if it does not exist.
func (db *DB) tableForWrite(tx *txn, name string) (*tableInfo, error) {
	if t, ok := tx.cat.tables[name]; ok {
		return t, nil
	}
	db.catMu.Lock()
	defer db.catMu.Unlock()
	cur := db.cat.Load()
	if t, ok := cur.tables[name]; ok {
		tx.cat = cur
		return t, nil
	}
	next := cur.clone()
	t := next.addTable(name)
	if err := db.storeCatalog(next); err != nil {
		return nil, err
	}
	tx.cat = next
	return t, nil
}

// storeCatalog commits a catalog on its own and publishes it.
func (db *DB) storeCatalog(c *catalog) error {
	b, err := c.marshal()
	if err != nil {
		return err
	}
	var batch kv.Batch
	batch.Put(keyCatalog, b)
	if err := db.commitStore(&batch); err != nil {
		return err
	}
	db.cat.Store(c)
	return nil
}

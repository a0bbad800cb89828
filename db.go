package livedb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/kv/bboltkv"
	"github.com/livedb-go/livedb/internal/kv/memkv"
)

// timeNow is the clock; tests of timestamps may replace it.
var timeNow = time.Now

// bboltMmapSize is bboltkv.Options.InitialMmapSize for Open: 0, the
// default, maps 1 GiB; tests shrink it to make bbolt remap often.
var bboltMmapSize = 0

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

	cat atomic.Pointer[catalog] // the published catalog; replaced, never changed
	// catMu is held by the committer from the storage commit of a catalog
	// change until its publication, and by view while it waits for that.
	catMu sync.Mutex
	// doubtCat is the catalog of a storage commit that failed with an
	// unknown outcome (see failClosed): snapshots may hold it.
	doubtCat  atomic.Pointer[catalog]
	nextTable atomic.Uint32 // the next table number to try (allocTable)
	nextIndex atomic.Uint32 // the next index id to hand out

	commitCh   chan *commitReq
	commitMu   sync.Mutex    // held by whoever commits: the committer, or an inline commit (db_commit_inline.go)
	pauses     chan *pause   // a mutation that runs alone, to the committer
	alone      chan struct{} // held by the mutation that runs alone
	stats      dbStats
	closing    chan struct{}
	closeOnce  sync.Once
	wg         sync.WaitGroup // the committer and the subscription runner
	lazy       lazyStart      // starts the committer on first need (db_lazy.go)
	lastTS     atomic.Uint64  // timestamp of the last commit
	sincePrune int            // under commitMu (the committer's, or an inline commit's)

	failure atomic.Pointer[storageFailure] // set once a storage commit failed: writes are stopped

	// activeMu guards active and log. Lock order: catMu before activeMu.
	activeMu sync.Mutex
	active   map[uint64]int  // snapshot timestamps of running mutations
	log      []*commitRecord // commits that running mutations may conflict with

	subs *subManager

	shared *sharedState // nil unless the database is shared (OpenShared)

	useStoredSchema bool // Open was given a nil schema: use the stored one
	// declared holds the tables a strict schema declares; nil allows
	// every table (see Options.AllowUndeclaredTables).
	declared map[string]bool

	report OpenReport // what Open changed; written by load only, before db is shared

	signalMu sync.Mutex
	signal   chan struct{} // closed and replaced after every commit

	// runner is the Runner that StartScheduler attached, or nil.
	runner atomic.Pointer[Runner]

	lastTSRead atomic.Pointer[lastTSRead] // the last commit's record, as a snapshot last read it (read_fixed3.go)
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
// ErrSchemaMismatch) and leaves the file as it was. [DB.OpenReport] says
// what Open changed.
//
// A file locked by another process makes Open fail with ErrLocked after
// Options.Timeout. A file that is not a livedb database gives ErrNotLivedb.
// opts may be nil.
//
// # A database shared by many processes
//
// A path that is a PostgreSQL URL ("postgres://user@host/db", with
// "?search_path=schema" to keep several livedb databases in one
// PostgreSQL database) opens the livedb database that PostgreSQL holds, as
// one of any number of processes, on any number of machines, that share
// it; Open creates its tables there if they do not exist. The DB is the
// same as for a file, with the same methods and guarantees: mutations are
// serializable across every process, and a commit in any process re-runs
// the subscriptions, in every process, whose reads it touched.
//
// Every process keeps a full copy of the database: in memory, or in the
// bbolt file Options.LocalCopy names, which survives a restart and then
// only catches up. Queries, pagination and subscriptions run on the copy;
// mutations commit through PostgreSQL (one transaction for each group of
// mutations), and every copy follows the log of commits PostgreSQL keeps.
// A process sees another's commit within milliseconds, and [DB.CatchUp]
// waits for a given one. While PostgreSQL cannot be reached, reads go on
// on the copy and writes fail with ErrUnavailable (or ErrOutcomeUnknown
// for a commit cut off while PostgreSQL committed it); the process
// reconnects and catches up by itself. schema is applied as for a file,
// once for all processes: the first process that opens with a changed
// schema migrates the shared database, under a lock that holds the other
// processes' commits meanwhile. NoSync does not apply: PostgreSQL makes
// commits durable, and the copy is a cache that is never synced.
func Open(path string, schema *Schema, opts *Options) (*DB, error) {
	reserveOpenStack(len(path)) // where growing the stack is cheap (db_open_stack.go)
	o := opts.withDefaults()
	if isDSN(path) {
		return openDSN(path, schema, o)
	}
	store, err := openFileStore(path, o, nil) // wal.go
	if err != nil {
		switch {
		case errors.Is(err, bboltkv.ErrLocked):
			return nil, fmt.Errorf("%w: %s (waited %v; bbolt lets one process at a time open a file that is being written, even read-only: stop that process or wait for it, or raise Options.Timeout)", ErrLocked, path, o.Timeout)
		case errors.Is(err, bboltkv.ErrNotDatabase), errors.Is(err, bboltkv.ErrCorrupt):
			return nil, notLivedb(path, err)
		}
		return nil, fmt.Errorf("livedb: %w", err) // "open <path>: ..."
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
//
// opts is at most one *Options, as [Open] takes (nil means the defaults);
// the file options (Timeout, NoSync, ReadOnly) do not apply. It is
// variadic so that the call of most tests stays OpenMemory(schema), while
// one with options reads as Open's: OpenMemory(schema, &livedb.Options{...}).
// More than one is an error.
func OpenMemory(schema *Schema, opts ...*Options) (*DB, error) {
	if len(opts) > 1 {
		return nil, fmt.Errorf("livedb: OpenMemory takes at most one *Options, got %d", len(opts))
	}
	var opt *Options
	if len(opts) == 1 {
		opt = opts[0]
	}
	o := opt.withDefaults()
	o.ReadOnly = false
	return open(memkv.New(), "", schema, o)
}

func open(store kv.Store, path string, schema *Schema, o Options) (*DB, error) {
	db, err := newDB(store, path, schema, o)
	if err != nil {
		return nil, err
	}
	if err := db.load(); err != nil {
		return nil, err
	}
	db.start()
	return db, nil
}

// newDB returns a DB on store that is not loaded or started yet.
func newDB(store kv.Store, path string, schema *Schema, o Options) (*DB, error) {
	stored := schema == nil
	if stored {
		schema = DefineSchema(nil)
	}
	if err := schema.Err(); err != nil {
		return nil, err
	}
	return &DB{
		declared:        strictTables(schema, &o, stored),
		useStoredSchema: stored,
		store:           store,
		path:            path,
		opts:            o,
		schema:          schema,
		commitCh:        make(chan *commitReq),
		pauses:          make(chan *pause),
		alone:           make(chan struct{}, 1),
		closing:         make(chan struct{}),
		active:          map[uint64]int{},
	}, nil
}

// start starts the subscription manager of a loaded DB; its committer
// starts at the first commit (db_lazy.go).
func (db *DB) start() {
	db.subs = newSubManager(db)
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
		db.closeLazy() // close(db.closing), with no committer starting
		db.subs.close()
		db.wg.Wait()
		db.waitInlineCommit() // db_commit_inline.go
		err = db.store.Close()
		if db.shared != nil {
			db.shared.log.close()
		}
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
	return db.beginIn(ctx, nil, writable)
}

// beginIn is begin into tx, a zero txn that the caller allocated with
// what goes with it (read_fixed.go), or a new txn when tx is nil.
func (db *DB) beginIn(ctx context.Context, tx *txn, writable bool) (*txn, error) {
	if db.isClosed() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if writable && db.opts.ReadOnly {
		return nil, fmt.Errorf("%w: the database was opened read-only", ErrReadOnly)
	}
	v, err := db.view(writable)
	if err != nil {
		return nil, err
	}
	if tx == nil {
		tx = new(txn)
	}
	// Field by field into the zero txn: a composite literal is copied
	// whole, with a bulk write barrier while the collector marks.
	tx.db, tx.ctx, tx.snap, tx.ts, tx.cat, tx.base, tx.limits = db, ctx, v.snap, v.ts, v.cat, v.cat, &db.opts.Limits
	if writable {
		tx.writes = newWriteSet()
	}
	return tx, nil
}

// snapView is a snapshot with the timestamp of its last commit and the
// catalog it holds.
type snapView struct {
	snap kv.Snapshot
	ts   uint64
	cat  *catalog
}

// errCatalogMoved says that a snapshot holds another catalog than the
// published one: a commit that changed the catalog is between its storage
// commit and its publication.
var errCatalogMoved = errors.New("livedb: the catalog is being published")

// view opens a snapshot with the catalog it holds. When writable, the
// snapshot's timestamp is registered as active, in one step with opening
// it: the committer trims the commit log up to the oldest registered
// snapshot. A query registers nothing and takes no lock.
//
// The catalog is published after the storage commit that changes it, so a
// snapshot opened in between holds a newer catalog than db.cat: view then
// waits for the publication (the committer holds catMu until it is done)
// and opens the snapshot again.
func (db *DB) view(writable bool) (snapView, error) {
	v, err := db.tryView(writable)
	if err != errCatalogMoved {
		return v, err
	}
	db.catMu.Lock()
	defer db.catMu.Unlock()
	v, err = db.tryView(writable)
	if err == errCatalogMoved {
		return v, fmt.Errorf("%w: the file's catalog generation is not the one loaded", ErrCorrupt)
	}
	return v, err
}

// tryView is view without waiting: errCatalogMoved when the snapshot's
// catalog is not the published one.
func (db *DB) tryView(writable bool) (snapView, error) {
	if writable {
		if err := db.writesStopped(); err != nil {
			return snapView{}, err
		}
		db.activeMu.Lock()
		defer db.activeMu.Unlock()
	}
	snap, err := db.store.Snapshot()
	if err != nil {
		return snapView{}, storeErr(err)
	}
	ts, gen, err := db.snapshotTS(snap) // read_fixed3.go
	if err != nil {
		snap.Release()
		return snapView{}, err
	}
	cat := db.cat.Load()
	if cat.gen != gen {
		if d := db.doubtCat.Load(); d != nil && d.gen == gen {
			cat = d // a failed commit reached the store after all
		} else {
			snap.Release()
			return snapView{}, errCatalogMoved
		}
	}
	if writable {
		db.active[ts]++
	}
	return snapView{snap: snap, ts: ts, cat: cat}, nil
}

// snapshotTS reads the timestamp of the last commit a snapshot contains and
// the generation of its catalog.
func snapshotTS(snap kv.Snapshot) (ts, catalogGen uint64, err error) {
	b, ok, err := snap.Get(keyLastTS)
	if err != nil || !ok {
		return 0, 0, storeErr(err) // a new file: no commit yet
	}
	return decodeLastTS(b)
}

// end releases a transaction's snapshot and registration. It is
// idempotent.
func (db *DB) end(tx *txn) {
	if tx.ended {
		return
	}
	tx.done, tx.ended = true, true
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
	qt := new(queryTx) // the txn, QueryCtx and Reader in one allocation (read_fixed.go)
	tx, err := db.beginIn(ctx, &qt.tx, false)
	if err != nil {
		return nil, err
	}
	tx.plain = true // read_fixed3.go
	defer db.end(tx)
	err = fn(qt.ctx(ctx))
	return tx, err
}

// Mutation runs fn as a serializable transaction and commits its writes
// atomically when fn returns nil. If fn returns an error or panics, or ctx
// is cancelled before the commit, nothing is written (a panic is re-raised
// after the writes are discarded).
//
// Mutations run concurrently, optimistically. When a commit that happened
// after fn's snapshot wrote inside something fn read, fn is run again on a
// new snapshot, with backoff. After it lost that race three times, fn runs
// alone: other commits wait until it commits (see [Options.MaxRetries]),
// so that every mutation commits in the end, however contended. fn must
// therefore have no effects outside the transaction that are unsafe to
// repeat, and must not wait for another mutation of the same DB. Mutation
// fails with a *ConflictError only when Options.MaxRetries limits the
// attempts, or when ctx ends while it retries. It returns once the commit
// is durable (fsynced, unless Options.NoSync).
func (db *DB) Mutation(ctx context.Context, fn func(m *MutationCtx) error) error {
	_, err := db.MutationTS(ctx, fn)
	return err
}

// MutationTS is Mutation that also returns the commit timestamp. A
// subscription update or query at this timestamp or later reflects the
// mutation. A mutation that wrote nothing returns its snapshot's timestamp.
func (db *DB) MutationTS(ctx context.Context, fn func(m *MutationCtx) error) (uint64, error) {
	return db.retry(ctx, func(sub submitter) (uint64, *conflict, error) {
		return db.mutateOnce(ctx, fn, sub)
	})
}

// mutateOnce runs fn once and commits it through sub. On a conflict it
// returns errConflict and what conflicted.
func (db *DB) mutateOnce(ctx context.Context, fn func(m *MutationCtx) error, sub submitter) (uint64, *conflict, error) {
	tx, err := db.begin(ctx, true)
	if err != nil {
		return 0, nil, err
	}
	defer db.end(tx)
	if err := fn(&MutationCtx{DB: &Writer{Reader{tx: tx}}, ctx: ctx}); err != nil {
		return 0, nil, err
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	return db.commitTx(ctx, tx, sub)
}

// commitTx commits a mutation's writes through sub and ends it; a mutation
// that wrote nothing commits nothing and returns its snapshot's
// timestamp. On a conflict it returns errConflict and what conflicted.
func (db *DB) commitTx(ctx context.Context, tx *txn, sub submitter) (uint64, *conflict, error) {
	if len(tx.writes.order) == 0 && len(tx.writes.tables) == 0 {
		return tx.ts, nil, nil
	}
	tx.done = true
	tx.snap.Release() // do not pin pages while waiting for the commit
	res := sub.submit(ctx, tx)
	db.end(tx)
	if res.err == errConflict {
		return 0, res.conflict, errConflict
	}
	return res.ts, nil, res.err
}

// allocTable returns a new table named name for a transaction whose
// catalog is cat to create: a table number and index ids that no table
// has or had. Numbers handed to transactions that do not commit are not
// used again.
func (db *DB) allocTable(cat *catalog, name string) *tableInfo {
	if st, ok := systemTables[name]; ok {
		return db.allocSystemTable(name, st)
	}
	n := db.nextTable.Add(1) - 1
	for cat.byNumber[n] != nil {
		n = db.nextTable.Add(1) - 1
	}
	ix := db.nextIndex.Add(2) - 2
	return newTableInfo(name, n, ix, ix+1)
}

// raiseAllocators keeps the allocators of table numbers and index ids past
// everything that c lists.
func (db *DB) raiseAllocators(c *catalog) {
	for _, p := range [2]struct {
		a *atomic.Uint32
		n uint32
	}{{&db.nextTable, c.nextTable}, {&db.nextIndex, c.nextIndex}} {
		for {
			cur := p.a.Load()
			if cur >= p.n || p.a.CompareAndSwap(cur, p.n) {
				break
			}
		}
	}
}

package pglog

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/livedb-go/livedb/internal/kv"
)

// Op is one write to the materialized state: a put of Value at Key, or a
// delete of Key. It is package kv's Op, so that a commit group's storage
// batch passes through unchanged.
type Op = kv.Op

// Entry is one entry of the log: one commit group.
type Entry struct {
	// TS is the entry's commit timestamp, greater than every earlier
	// entry's, at most math.MaxInt64 (PostgreSQL's bigint).
	TS uint64
	// Prev is the TS of the entry before it, 0 for the first: a reader
	// whose last applied timestamp is not the Prev of the next entry it
	// reads has missed entries.
	Prev uint64
	// Nonce is the writer's 16 random bytes (or nil), by which a writer
	// whose COMMIT had an unknown outcome recognises its entry.
	Nonce []byte
	// Data is the encoded commit group, opaque to this package.
	Data []byte
}

// Options configures a [Log]. A nil *Options means the defaults.
type Options struct {
	// MaxConns is the most connections the Log's pool opens, for Lock,
	// Since, Bootstrap, Trim and the lease; 0 means 4. The LISTEN
	// connection of Notify comes on top.
	MaxConns int32
	// IdleInTransactionTimeout ends a session that holds a transaction
	// open without sending anything for this long (PostgreSQL's
	// idle_in_transaction_session_timeout): a writer that hangs or is cut
	// off while it holds the clock row's lock ([Log.Lock]) must not stop
	// every other writer for good. 0 means 30 seconds; a setting of
	// idle_in_transaction_session_timeout in the DSN wins over it.
	IdleInTransactionTimeout time.Duration
	// NoCreate makes Open write nothing: where livedb's tables are
	// missing, it fails with an error wrapping [ErrFormat] instead of
	// creating them. It is for readers (a read-only process, the livedb
	// command) that must not make a database appear by looking for one.
	NoCreate bool
}

// Log is a livedb database's shared commit log in PostgreSQL, with the
// materialized state and the leases beside it. It is safe for concurrent
// use by multiple goroutines; an [Appender] is not.
type Log struct {
	pool       *pgxpool.Pool
	listenConf *pgx.ConnConfig // for the dedicated LISTEN connection
	schema     string          // the schema of the tables (current_schema() at Open)
	id         string          // the database id, from the meta row
	channel    string          // the NOTIFY channel: "livedb_" and the id
	q          queries

	// lastLoss is when the Log last saw the server go away (UnixNano):
	// pooled connections released before it are pinged before use.
	lastLoss atomic.Int64

	closed atomic.Bool
	ctx    context.Context // ends at Close; bounds the listener
	cancel context.CancelFunc
	notify chan struct{}

	// listenMu orders the start of the listener with Close, which sets
	// closed under it: no listener starts after Close.
	listenMu  sync.Mutex
	listening sync.WaitGroup // the listener goroutine
	started   bool           // the listener was started; guarded by listenMu
}

// Open connects to the PostgreSQL database of dsn (a URL or keyword DSN
// that pgx accepts), creates livedb's tables there if they are missing, and
// checks them (with Options.NoCreate it only checks them). The tables live in the schema that the DSN's search_path
// selects (by default public), so that one PostgreSQL database can hold
// several livedb databases, one per schema. Several processes may Open the
// same empty database at once: one creates the tables, all get the same
// [Log.ID]. Open returns an error wrapping [ErrFormat] for tables that are
// not livedb's or of an unknown format version, and one wrapping
// [ErrUnavailable] when the server cannot be reached. The caller must Close
// the Log.
func Open(ctx context.Context, dsn string, opts *Options) (*Log, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 4
	}
	if o.IdleInTransactionTimeout <= 0 {
		o.IdleInTransactionTimeout = 30 * time.Second
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open the shared log: %w: %w", ErrInvalid, err)
	}
	cfg.MaxConns = o.MaxConns
	params := cfg.ConnConfig.RuntimeParams
	if _, ok := params["application_name"]; !ok {
		params["application_name"] = "livedb"
	}
	if _, ok := params["idle_in_transaction_session_timeout"]; !ok {
		params["idle_in_transaction_session_timeout"] = strconv.FormatInt(max(1, o.IdleInTransactionTimeout.Milliseconds()), 10)
	}
	l := &Log{listenConf: cfg.ConnConfig.Copy(), notify: make(chan struct{}, 1)}
	cfg.ShouldPing = l.shouldPing
	l.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open the shared log: %w", err)
	}
	if err := l.setup(ctx, o.NoCreate); err != nil {
		l.pool.Close()
		return nil, fmt.Errorf("open the shared log: %w", err)
	}
	l.channel = "livedb_" + l.id
	l.q = newQueries(l.table)
	l.ctx, l.cancel = context.WithCancel(context.Background())
	return l, nil
}

// shouldPing makes the pool check a connection before handing it out when
// it sat idle for over a second (pgxpool's default) or was released before
// the Log last saw the server go away: after a restart, those are dead.
func (l *Log) shouldPing(_ context.Context, p pgxpool.ShouldPingParams) bool {
	if p.IdleDuration > time.Second {
		return true
	}
	loss := l.lastLoss.Load()
	return loss != 0 && time.Now().Add(-p.IdleDuration).UnixNano() <= loss
}

// lost records that the server went away if err says so, and returns err.
func (l *Log) lost(err error) error {
	if errors.Is(err, ErrUnavailable) {
		l.lastLoss.Store(time.Now().UnixNano())
	}
	return err
}

// retry runs op, and once more if it failed on a connection that the
// server had closed, such as a pooled connection from before a restart:
// the failure marked the time of the loss (see lost), so the pool now
// pings such connections before handing them out. op must be safe to run
// twice. A failure to connect is not retried: the server is away.
func (l *Log) retry(ctx context.Context, op func() error) error {
	err := op()
	var connectErr *pgconn.ConnectError
	if errors.Is(err, ErrUnavailable) && !errors.As(err, &connectErr) && ctx.Err() == nil {
		err = op()
	}
	return err
}

// ID returns the database id: random, made when the tables were created,
// the same for every process that opens the database.
func (l *Log) ID() string { return l.id }

// Close stops the listener and closes the connections. It waits for open
// Appenders to end (Commit or Rollback) and for running calls to return.
// It is idempotent.
func (l *Log) Close() {
	l.listenMu.Lock()
	first := l.closed.CompareAndSwap(false, true)
	l.listenMu.Unlock()
	if !first {
		return
	}
	l.cancel()
	l.listening.Wait()
	l.pool.Close()
}

// Head returns the timestamp of the last entry of the log, 0 while it is
// empty.
func (l *Log) Head(ctx context.Context) (uint64, error) {
	if l.closed.Load() {
		return 0, ErrClosed
	}
	var head int64
	err := l.retry(ctx, func() error {
		return l.lost(wrap("read the head", l.pool.QueryRow(ctx, l.q.head).Scan(&head)))
	})
	if err != nil {
		return 0, err
	}
	return checkHead(head)
}

// checkHead converts the head read from the meta row.
func checkHead(head int64) (uint64, error) {
	if head < 0 {
		return 0, fmt.Errorf("%w: %s.head is %d", ErrFormat, metaTable, head)
	}
	return uint64(head), nil
}

// toBigint converts a timestamp argument to PostgreSQL's bigint.
func toBigint(what string, ts uint64) (int64, error) {
	if ts > math.MaxInt64 {
		return 0, fmt.Errorf("%w: %s %d is past the largest timestamp, %d", ErrInvalid, what, ts, int64(math.MaxInt64))
	}
	return int64(ts), nil
}

// queries are the statements of the Log, with its qualified table names.
type queries struct {
	head, lockHead, entriesAfter, since                string
	insertEntry, upsertState, deleteState, advanceHead string
	state, trim, takeLease, releaseLease               string
}

func newQueries(table func(string) string) queries {
	meta, log, state, lease := table(metaTable), table(logTable), table(stateTable), table(leaseTable)
	return queries{
		head:         "SELECT head FROM " + meta,
		lockHead:     "SELECT head FROM " + meta + " FOR UPDATE",
		entriesAfter: "SELECT ts, prev, nonce, data FROM " + log + " WHERE ts > $1 ORDER BY ts",
		// One statement, so one snapshot, for the head and the entries.
		// The window keeps the entries whose data before them adds up to
		// less than $3 bytes: at least one, however large. No ORDER BY
		// outside: sorting up to 16 MiB would spill to disk; Since sorts.
		since: `SELECT m.head, s.ts, s.prev, s.nonce, s.data FROM ` + meta + ` m LEFT JOIN LATERAL (
			SELECT ts, prev, nonce, data FROM (
				SELECT ts, prev, nonce, data, sum(octet_length(data)) OVER (ORDER BY ts) AS upto
				FROM ` + log + ` WHERE ts > $1 ORDER BY ts LIMIT $2
			) w WHERE upto - octet_length(data) < $3
		) s ON true`,
		insertEntry: "INSERT INTO " + log + " (ts, prev, nonce, data) VALUES ($1, $2, $3, $4)",
		upsertState: "INSERT INTO " + state + " (key, value) SELECT * FROM unnest($1::bytea[], $2::bytea[])" +
			" ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		deleteState: "DELETE FROM " + state + " WHERE key = ANY($1::bytea[])",
		advanceHead: "UPDATE " + meta + " SET head = $1 WHERE head = $2",
		state:       "SELECT key, value FROM " + state + " ORDER BY key",
		trim:        "DELETE FROM " + log + " WHERE ts < $1 AND ts < (SELECT head FROM " + meta + ")",
		takeLease: `INSERT INTO ` + lease + ` AS l (name, holder, expires, token)
			VALUES ($1, $2, now() + $3 * interval '1 microsecond', 1)
			ON CONFLICT (name) DO UPDATE SET
				token = CASE WHEN l.holder IS NOT DISTINCT FROM excluded.holder THEN l.token ELSE l.token + 1 END,
				holder = excluded.holder,
				expires = excluded.expires
			WHERE l.holder = excluded.holder OR l.holder IS NULL OR l.expires <= now()
			RETURNING token`,
		releaseLease: "UPDATE " + lease + " SET holder = NULL, expires = now() WHERE name = $1 AND holder = $2",
	}
}

// Package pglog is the PostgreSQL side of a livedb database shared by
// several processes: a gap-free, ordered commit log, the materialized
// key/value state beside it, the clock that orders commits, the wake-ups
// that tell followers to read, and leases for singleton roles. It is
// byte-oriented: an entry's data is an opaque encoded commit group and the
// state is keys and values, as in package kv. It knows nothing of
// documents, tables or the engine; the engine (package livedb) appends each
// commit group here and every process applies the log to its local store.
//
// # Tables
//
// The tables live in the schema that the DSN's search_path selects (by
// default public: add search_path=name to the DSN to keep several livedb
// databases in one PostgreSQL database). [Open] creates whichever are
// missing, in one transaction under an advisory lock, so processes that
// open an empty database at once make one set of tables and one database
// id. It then refuses, with [ErrFormat], tables whose columns are not
// these or a format version it does not know.
//
//	livedb_meta   one row: the clock
//	  one      boolean primary key (always true: at most one row)
//	  id       text     the database id, random, made at creation
//	  version  integer  the format version of these tables (1)
//	  head     bigint   the ts of the last log entry, 0 while empty
//
//	livedb_log    one row per commit group
//	  ts       bigint primary key  the commit timestamp
//	  prev     bigint              the ts of the entry before (0 for the first)
//	  nonce    bytea               16 random bytes from the writer
//	  data     bytea               the encoded commit group
//
//	livedb_state  the state after the head entry
//	  key      bytea primary key
//	  value    bytea
//
//	livedb_lease  one row per singleton role
//	  name     text primary key
//	  holder   text         NULL once released
//	  expires  timestamptz  by the server's clock
//	  token    bigint       the fencing token: +1 for each new holder
//
// Timestamps are the caller's (uint64 up to math.MaxInt64, PostgreSQL's
// bigint); the log only requires each entry's to be greater than the head
// it follows.
//
// # Appending, and why the log is gap-free and in order
//
// A writer calls [Log.Lock], which begins a transaction and locks the clock
// row (SELECT head ... FOR UPDATE), then reads the entries after the
// writer's last applied timestamp; the writer applies them, decides what to
// commit (livedb checks its mutations' read sets against them), and calls
// [Appender.Commit], which in one round trip inserts the entry with
// prev = head, applies the puts and deletes to livedb_state set-wise,
// moves head to the entry's ts and sends NOTIFY, then COMMITs.
//
// The clock row lock is what orders the log. Only one transaction holds
// it at a time, and PostgreSQL releases row locks after a commit has
// become visible to new snapshots. So the writer that gets the lock next
// sees every entry committed before (its statements run in READ COMMITTED,
// each with a snapshot taken after the lock was granted), and its entry's
// prev is the previous entry's ts: appends form one chain, head to head,
// in commit order. A snapshot therefore always sees a prefix of the chain:
// entry n is committed, and visible, before the writer of n+1 can lock.
// A sequence or a serial column would not give this: nextval hands out
// values in one order, and transactions commit, and become visible, in
// another, so a follower that read up to value 7 could later see 6 appear
// and never read it.
//
// The prev column makes gaps detectable rather than impossible-to-see:
// [Log.Trim] deletes old entries (never the head entry), and a reader whose
// last applied ts is not the prev of the first entry it reads after it
// knows it missed entries ([ErrTrimmed]: it reloads from [Log.Bootstrap]),
// or that its copy is not of this log ([ErrDiverged]: a restored backup, or
// another database).
//
// # Outcomes of a commit
//
// An error before the COMMIT was sent means nothing was written (the
// transaction rolls back when its connection closes). If the connection
// breaks after the COMMIT was sent, the entry may or may not be in the
// log: [Appender.Commit] then returns [ErrOutcomeUnknown], and the writer
// looks for its entry's nonce in the log to know.
//
// # Following: notifications with a poll behind them
//
// Followers read the log with [Log.Since] from the timestamp they have
// applied, in chunks, without locks, and a new process loads the state and
// head together with [Log.Bootstrap] (one REPEATABLE READ snapshot) and
// follows from there. [Log.Notify] tells them when to read: every commit
// sends NOTIFY on a channel named after the database id, and each Log
// keeps one dedicated LISTEN connection that wakes the channel. NOTIFY
// carries no data that matters: a notification only says "look now", and
// the log is the truth. Notifications sent while the listener is
// disconnected are lost, so the listener also wakes the channel after each
// (re)connection, and a follower should poll [Log.Head] every few hundred
// milliseconds as well, which bounds the delay if the listener's
// connection hangs without failing (it pings an idle connection every 15
// seconds and reconnects when the ping fails).
//
// # Connections and errors
//
// A Log holds a pgxpool (4 connections by default) for Lock, Since,
// Bootstrap, Trim and leases, plus the one LISTEN connection. Errors that
// mean the server cannot be reached or went away wrap [ErrUnavailable]
// with their cause; callers retry later, and the pool reconnects. A
// malformed row is an error wrapping [ErrFormat], never a panic.
package pglog

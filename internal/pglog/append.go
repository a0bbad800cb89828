package pglog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Appender is an open transaction that holds the log's clock row: while it
// is open, no other writer, in this process or another, can append. It ends
// with Commit or Rollback; until then it holds a connection of the pool.
// An Appender is not safe for concurrent use.
type Appender struct {
	l    *Log
	tx   pgx.Tx
	head uint64
	done bool
}

// Lock begins a transaction, locks the log's clock row (waiting for a
// writer that holds it), and returns an Appender with the entries after
// `after` in timestamp order: the caller applies them before choosing what
// to append. Holding the lock keeps the log gap-free and in commit order
// (see the package doc).
//
// Lock returns every entry after `after`: a caller far behind catches up
// with [Log.Since] first. It returns an error wrapping [ErrTrimmed] when
// the entries after `after` were trimmed and one wrapping [ErrDiverged]
// when `after` is not a timestamp of this log; the caller then starts again
// from [Log.Bootstrap]. On any error, nothing stays locked.
func (l *Log) Lock(ctx context.Context, after uint64) (*Appender, []Entry, error) {
	if l.closed.Load() {
		return nil, nil, ErrClosed
	}
	from, err := toBigint("lock after", after)
	if err != nil {
		return nil, nil, err
	}
	var a *Appender
	var entries []Entry
	err = l.retry(ctx, func() (err error) {
		a, entries, err = l.lock(ctx, after, from)
		return err
	})
	return a, entries, err
}

// lock is one attempt of Lock.
func (l *Log) lock(ctx context.Context, after uint64, from int64) (*Appender, []Entry, error) {
	tx, err := l.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return nil, nil, l.lost(wrap("lock: begin", err))
	}
	// One round trip: lock the clock row, then read the entries. In READ
	// COMMITTED the second statement's snapshot is taken after the lock is
	// granted, so it sees every entry committed before.
	var b pgx.Batch
	b.Queue(l.q.lockHead)
	b.Queue(l.q.entriesAfter, from)
	br := tx.SendBatch(ctx, &b)
	head, entries, err := readLocked(br)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = wrap("lock", cerr)
	}
	if err == nil {
		var h uint64
		if h, err = checkHead(head); err == nil {
			err = checkChain(after, h, entries, true)
		}
		if err == nil {
			return &Appender{l: l, tx: tx, head: h}, entries, nil
		}
	}
	rollback(tx)
	return nil, nil, l.lost(err)
}

// readLocked reads the results of Lock's batch.
func readLocked(br pgx.BatchResults) (int64, []Entry, error) {
	var head int64
	if err := br.QueryRow().Scan(&head); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, nil, fmt.Errorf("lock the clock row: %w: %s has no row", ErrFormat, metaTable)
		}
		return 0, nil, wrap("lock the clock row", err)
	}
	rows, err := br.Query()
	if err != nil {
		return 0, nil, wrap("lock: read the entries", err)
	}
	entries, err := scanEntries(rows)
	return head, entries, err
}

// Head returns the log's head while the Appender holds the lock: the
// timestamp that the next entry's Prev must be.
func (a *Appender) Head() uint64 { return a.head }

// Commit appends e to the log, applies ops to the materialized state
// (later ops on a key win over earlier ones), advances the head to e.TS,
// notifies the listeners of every process, and commits; the Appender is
// then done, whatever the outcome. It takes one round trip for the writes
// and one for the COMMIT.
//
// e.Prev must be [Appender.Head] and e.TS greater, e.Nonce nil or 16 bytes,
// keys non-empty: otherwise Commit returns an error wrapping [ErrInvalid],
// sends nothing, and the Appender stays open. An error wrapping
// [ErrOutcomeUnknown] means the COMMIT was sent but its answer lost: the
// entry may be in the log (look for e.Nonce). Any other error means that
// nothing was written; it wraps [ErrUnavailable] when the server was lost.
func (a *Appender) Commit(ctx context.Context, e Entry, ops []Op) error {
	if a.done {
		return ErrDone
	}
	if err := a.check(e); err != nil {
		return err
	}
	puts, vals, dels, err := collapse(ops)
	if err != nil {
		return err
	}
	data := e.Data
	if data == nil {
		data = []byte{} // NULL is not allowed
	}
	var b pgx.Batch
	b.Queue(a.l.q.insertEntry, int64(e.TS), int64(e.Prev), e.Nonce, data)
	if len(puts) > 0 {
		b.Queue(a.l.q.upsertState, puts, vals)
	}
	if len(dels) > 0 {
		b.Queue(a.l.q.deleteState, dels)
	}
	b.Queue(a.l.q.advanceHead, int64(e.TS), int64(e.Prev))
	b.Queue("SELECT pg_notify($1, $2)", a.l.channel, strconv.FormatUint(e.TS, 10))
	if err := a.write(ctx, &b); err != nil {
		a.Rollback()
		return a.l.lost(err)
	}
	a.done = true
	if err := a.tx.Commit(ctx); err != nil {
		return a.l.lost(commitError(err))
	}
	return nil
}

// check refuses an entry that does not follow the head.
func (a *Appender) check(e Entry) error {
	if _, err := toBigint("entry ts", e.TS); err != nil {
		return err
	}
	switch {
	case e.Prev != a.head:
		return fmt.Errorf("%w: entry %d has prev %d, but the log's head is %d", ErrInvalid, e.TS, e.Prev, a.head)
	case e.TS <= a.head:
		return fmt.Errorf("%w: entry ts %d is not after the log's head %d", ErrInvalid, e.TS, a.head)
	case e.Nonce != nil && len(e.Nonce) != 16:
		return fmt.Errorf("%w: entry %d has a nonce of %d bytes, want 16", ErrInvalid, e.TS, len(e.Nonce))
	}
	return nil
}

// collapse turns ops into the keys and values to upsert and the keys to
// delete, each key once, with the last op on a key winning: one statement
// may not change a row twice.
func collapse(ops []Op) (puts, vals, dels [][]byte, err error) {
	last := make(map[string]int, len(ops))
	for i, op := range ops {
		if len(op.Key) == 0 {
			return nil, nil, nil, fmt.Errorf("%w: op %d has an empty key", ErrInvalid, i)
		}
		last[string(op.Key)] = i
	}
	for i, op := range ops {
		if last[string(op.Key)] != i {
			continue
		}
		if op.Delete {
			dels = append(dels, op.Key)
			continue
		}
		v := op.Value
		if v == nil {
			v = []byte{}
		}
		puts, vals = append(puts, op.Key), append(vals, v)
	}
	return puts, vals, dels, nil
}

// write sends Commit's batch and checks each result.
func (a *Appender) write(ctx context.Context, b *pgx.Batch) error {
	br := a.tx.SendBatch(ctx, b)
	var err error
	for i := range b.Len() {
		var tag pgconn.CommandTag
		if tag, err = br.Exec(); err != nil {
			break
		}
		if b.QueuedQueries[i].SQL == a.l.q.advanceHead && tag.RowsAffected() != 1 {
			err = fmt.Errorf("%w: the head moved while the clock row was locked", ErrFormat)
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return wrap("commit: write the entry", err)
	}
	return nil
}

// commitError classifies the error of a COMMIT: a refusal that the server
// answered (the transaction rolled back) or a failure before the COMMIT
// left means nothing was written; anything else leaves the outcome unknown.
func commitError(err error) error {
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrTxCommitRollback):
		return fmt.Errorf("commit: the server rolled the transaction back: %w", err)
	case pgconn.SafeToRetry(err):
		return wrap("commit: not sent", err)
	case errors.As(err, &pgErr) && !serverGone(pgErr.Code) && !fatal(pgErr.Severity):
		return fmt.Errorf("commit: refused: %w", err)
	}
	return fmt.Errorf("commit: %w: %w", ErrOutcomeUnknown, err)
}

// fatal reports whether a PostgreSQL error severity ends the session.
func fatal(severity string) bool {
	return strings.EqualFold(severity, "FATAL") || strings.EqualFold(severity, "PANIC")
}

// Rollback ends the Appender without writing, releasing the lock. It is
// idempotent, and does nothing after Commit.
func (a *Appender) Rollback() {
	if a.done {
		return
	}
	a.done = true
	rollback(a.tx)
}

// rollbackTimeout bounds a ROLLBACK; past it the connection is closed,
// which rolls back too.
const rollbackTimeout = 10 * time.Second

func rollback(tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	_ = tx.Rollback(ctx)
}

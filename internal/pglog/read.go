package pglog

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Limits of one [Log.Since] call.
const (
	// DefaultSinceLimit is the number of entries that Since returns at most
	// when its limit is 0 or less.
	DefaultSinceLimit = 1000
	// SinceMaxBytes bounds the data of the entries of one Since call: it
	// returns the entries whose data before them adds up to less, so at
	// least one entry, however large.
	SinceMaxBytes = 16 << 20
)

// Since returns the committed entries after `after` in timestamp order, at
// most limit of them (DefaultSinceLimit when limit <= 0) and about
// SinceMaxBytes of data, without locking: a follower calls it until it
// returns no entries. It reads one snapshot, which holds a prefix of the
// log (see the package doc). Like [Log.Lock], it returns errors wrapping
// [ErrTrimmed] and [ErrDiverged].
func (l *Log) Since(ctx context.Context, after uint64, limit int) ([]Entry, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	from, err := toBigint("since", after)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = DefaultSinceLimit
	}
	var entries []Entry
	err = l.retry(ctx, func() (err error) {
		entries, err = l.since(ctx, after, from, limit)
		return err
	})
	return entries, err
}

// since is one attempt of Since.
func (l *Log) since(ctx context.Context, after uint64, from int64, limit int) ([]Entry, error) {
	rows, err := l.pool.Query(ctx, l.q.since, from, limit, SinceMaxBytes)
	if err != nil {
		return nil, l.lost(wrap("read the log", err))
	}
	defer rows.Close()
	var head int64
	var entries []Entry
	n := 0
	for rows.Next() {
		n++
		var ts, prev pgtype.Int8
		var e Entry
		if err := rows.Scan(&head, &ts, &prev, &e.Nonce, &e.Data); err != nil {
			return nil, fmt.Errorf("read the log: %w: %w", ErrFormat, err)
		}
		if !ts.Valid { // the head alone: no entry after `after`
			continue
		}
		if err := setTimes(&e, ts.Int64, prev.Int64); err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, l.lost(wrap("read the log", err))
	}
	if n == 0 {
		return nil, fmt.Errorf("read the log: %w: %s has no row", ErrFormat, metaTable)
	}
	h, err := checkHead(head)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(entries, func(a, b Entry) int { return cmp.Compare(a.TS, b.TS) })
	if err := checkChain(after, h, entries, false); err != nil {
		return nil, err
	}
	return entries, nil
}

// scanEntries reads rows of (ts, prev, nonce, data) and closes rows.
func scanEntries(rows pgx.Rows) ([]Entry, error) {
	defer rows.Close()
	var entries []Entry
	for rows.Next() {
		var ts, prev int64
		var e Entry
		if err := rows.Scan(&ts, &prev, &e.Nonce, &e.Data); err != nil {
			return nil, fmt.Errorf("read the log: %w: %w", ErrFormat, err)
		}
		if err := setTimes(&e, ts, prev); err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("read the log", err)
	}
	return entries, nil
}

// setTimes sets e's timestamps from a row, refusing negative ones.
func setTimes(e *Entry, ts, prev int64) error {
	if ts <= 0 || prev < 0 {
		return fmt.Errorf("%w: %s has an entry with ts %d, prev %d", ErrFormat, logTable, ts, prev)
	}
	e.TS, e.Prev = uint64(ts), uint64(prev)
	return nil
}

// checkChain checks that entries, read after `after` from a log whose head
// is head, continue from `after` without gaps, and up to head when toHead.
// A reader that has applied up to `after` must be able to apply them in
// order and have missed nothing.
func checkChain(after, head uint64, entries []Entry, toHead bool) error {
	if after > head {
		return fmt.Errorf("%w: applied up to %d, but the log's head is %d", ErrDiverged, after, head)
	}
	if len(entries) == 0 {
		if after < head {
			// The head entry is never trimmed, so at least it follows.
			return fmt.Errorf("%w: the log holds no entry after %d, but its head is %d", ErrTrimmed, after, head)
		}
		return nil
	}
	first := entries[0]
	switch {
	case first.Prev > after:
		return fmt.Errorf("%w: applied up to %d, but the oldest entry after it follows %d", ErrTrimmed, after, first.Prev)
	case first.Prev < after:
		return fmt.Errorf("%w: applied up to %d, which is not an entry of the log (entry %d follows %d)", ErrDiverged, after, first.TS, first.Prev)
	}
	for i, e := range entries {
		if i > 0 && e.Prev != entries[i-1].TS {
			return fmt.Errorf("%w: entry %d follows %d, but the entry before it is %d", ErrFormat, e.TS, e.Prev, entries[i-1].TS)
		}
	}
	last := entries[len(entries)-1].TS
	if last > head || (toHead && last != head) {
		return fmt.Errorf("%w: the last entry read is %d, but the head is %d", ErrFormat, last, head)
	}
	return nil
}

// Bootstrap reads the log's head and the whole materialized state in one
// REPEATABLE READ, READ ONLY transaction, so the state is exactly the one
// after the entry at head: a new process loads it, then follows the log
// from head. It calls fn for each key and value in key order (bytes.Compare
// order), streaming the rows; key and value are valid only during the call.
// An error from fn stops the read and is returned, wrapped.
func (l *Log) Bootstrap(ctx context.Context, fn func(key, value []byte) error) (head uint64, err error) {
	if l.closed.Load() {
		return 0, ErrClosed
	}
	// A second attempt runs only if the first called fn for no row.
	called := false
	counted := func(key, value []byte) error {
		called = true
		return fn(key, value)
	}
	var last error
	err = l.retry(ctx, func() error {
		if !called {
			head, last = l.bootstrap(ctx, counted)
		}
		return last
	})
	return head, err
}

// bootstrap is one attempt of Bootstrap.
func (l *Log) bootstrap(ctx context.Context, fn func(key, value []byte) error) (head uint64, err error) {
	tx, err := l.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, l.lost(wrap("bootstrap: begin", err))
	}
	defer rollback(tx) // read only: nothing to commit
	var h int64
	if err := tx.QueryRow(ctx, l.q.head).Scan(&h); err != nil {
		return 0, l.lost(wrap("bootstrap: read the head", err))
	}
	if head, err = checkHead(h); err != nil {
		return 0, err
	}
	rows, err := tx.Query(ctx, l.q.state)
	if err != nil {
		return 0, l.lost(wrap("bootstrap: read the state", err))
	}
	if err := streamState(rows, fn); err != nil {
		return 0, l.lost(err)
	}
	return head, nil
}

// streamState calls fn for each (key, value) row and closes rows. It
// hands fn the bytes pgx read when the server sent them in binary (bytea's
// binary form is the bytes themselves), or scans them otherwise.
func streamState(rows pgx.Rows, fn func(key, value []byte) error) error {
	defer rows.Close()
	fds := rows.FieldDescriptions()
	raw := len(fds) == 2 && fds[0].Format == pgx.BinaryFormatCode && fds[1].Format == pgx.BinaryFormatCode
	var key, value []byte
	for rows.Next() {
		if raw {
			vals := rows.RawValues()
			key, value = vals[0], vals[1]
		} else if err := rows.Scan(&key, &value); err != nil {
			return fmt.Errorf("bootstrap: %w: %w", ErrFormat, err)
		}
		if key == nil || value == nil {
			return fmt.Errorf("bootstrap: %w: %s has a NULL key or value", ErrFormat, stateTable)
		}
		if err := fn(key, value); err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return wrap("bootstrap: read the state", err)
	}
	return nil
}

// Trim deletes the entries with ts < before, except the head entry, which
// stays so that a reader can tell that nothing follows it. It returns how
// many it deleted. A follower behind the trimmed entries gets [ErrTrimmed]
// and starts again from [Log.Bootstrap].
func (l *Log) Trim(ctx context.Context, before uint64) (int64, error) {
	if l.closed.Load() {
		return 0, ErrClosed
	}
	b := int64(math.MaxInt64)
	if before < math.MaxInt64 {
		b = int64(before)
	}
	var n int64
	err := l.retry(ctx, func() error {
		tag, err := l.pool.Exec(ctx, l.q.trim, b)
		n = tag.RowsAffected()
		return l.lost(wrap("trim the log", err))
	})
	return n, err
}

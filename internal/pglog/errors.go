package pglog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Like the errors of package kv, the errors of this package name no
// package in their text: livedb, which shows them to its users, adds its own
// prefix.

// Errors of every operation.
var (
	// ErrUnavailable is wrapped by the errors of operations that could not
	// reach PostgreSQL or lost their connection: the server is down,
	// shutting down (SQLSTATE 57P01), starting (57P03), refusing
	// connections, or the network failed. The error also wraps the cause and
	// says what failed. Nothing was written, except for errors that also
	// wrap [ErrOutcomeUnknown]. Retrying later is the cure.
	ErrUnavailable = errors.New("PostgreSQL unavailable")

	// ErrClosed is returned by the methods of a [Log] after Close.
	ErrClosed = errors.New("shared log is closed")

	// ErrInvalid is wrapped by the errors of calls with arguments that the
	// log refuses before sending anything: a timestamp out of range, an
	// entry that does not follow the head, an empty key, a bad lease.
	ErrInvalid = errors.New("invalid argument")

	// ErrFormat is wrapped by the errors of a database whose livedb tables
	// are not livedb's (other columns), are of an unknown format version,
	// or hold rows that break the log's rules (a negative timestamp, a
	// broken chain of entries).
	ErrFormat = errors.New("not a livedb shared log of a known format")
)

// Errors of appending.
var (
	// ErrOutcomeUnknown is wrapped by the error of an [Appender.Commit]
	// whose COMMIT was sent but whose answer was lost (the connection broke,
	// the context ended): the entry may or may not be in the log. It also
	// wraps [ErrUnavailable]. The writer finds out later by looking for its
	// entry's nonce in the log (with [Log.Since] or the next [Log.Lock]).
	ErrOutcomeUnknown = fmt.Errorf("commit outcome unknown: %w", ErrUnavailable)

	// ErrDone is returned by [Appender.Commit] on an Appender that was
	// already committed or rolled back.
	ErrDone = errors.New("appender already committed or rolled back")
)

// Errors of reading the log.
var (
	// ErrTrimmed is wrapped by the errors of [Log.Lock] and [Log.Since] when
	// the entries right after the caller's timestamp were trimmed: the
	// caller cannot follow the log from there and must start again from
	// [Log.Bootstrap].
	ErrTrimmed = errors.New("log entries trimmed")

	// ErrDiverged is wrapped by the errors of [Log.Lock] and [Log.Since]
	// when the caller's timestamp is not a point of this log: it is past the
	// head, or falls between two entries. The caller's copy holds commits
	// that the log does not (the database was restored from an older
	// backup, or the copy belongs to another database); it must start again
	// from [Log.Bootstrap], and should say so loudly.
	ErrDiverged = errors.New("local copy diverged from the log")
)

// wrap returns err with op in front, also wrapping [ErrUnavailable] when
// err means that the server could not be reached. It returns nil for a
// nil err.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if unavailable(err) {
		return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// unavailable reports whether err means that PostgreSQL could not be
// reached or the connection was lost, rather than a refusal of the request.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// A FATAL error ends the session (when it sat idle in a
		// transaction too long, for one): the connection is lost too.
		return serverGone(pgErr.Code) || fatal(pgErr.Severity)
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr):
		return true
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.Is(err, context.DeadlineExceeded) && pgconn.Timeout(err):
		return true // the server did not answer in time
	}
	return false
}

// serverGone reports whether a SQLSTATE means that the server is going or
// not there: connection exceptions (class 08), operator intervention
// other than a cancelled query (57P01 admin_shutdown, 57P02
// crash_shutdown, 57P03 cannot_connect_now...), too many connections.
func serverGone(code string) bool {
	return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57P") || code == "53300"
}

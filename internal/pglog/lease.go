package pglog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// TryLease takes the lease called name for holder, or renews it if holder
// has it, for ttl from now by PostgreSQL's clock (now()), so that the
// clocks of the machines do not matter. It reports whether holder holds
// the lease and, if so, its fencing token: a number that grows each time
// the lease passes to a new holder, and stays while one holder renews, so
// that a resource written under the lease can refuse a former holder's
// lower token. Another holder's lease is taken only once it has expired or
// was released. A holder that loses its connection before the answer does
// not know whether it holds the lease; it calls TryLease again.
//
// Leases time out by the server's clock but are checked by the holder's
// calls: a holder must stop acting as such before ttl has passed since it
// sent its last successful TryLease.
func (l *Log) TryLease(ctx context.Context, name, holder string, ttl time.Duration) (held bool, token int64, err error) {
	if l.closed.Load() {
		return false, 0, ErrClosed
	}
	if name == "" || holder == "" {
		return false, 0, fmt.Errorf("%w: lease name %q and holder %q must not be empty", ErrInvalid, name, holder)
	}
	if ttl < time.Microsecond {
		return false, 0, fmt.Errorf("%w: lease %q: ttl %s is under a microsecond", ErrInvalid, name, ttl)
	}
	err = l.retry(ctx, func() error {
		held = true
		err := l.pool.QueryRow(ctx, l.q.takeLease, name, holder, ttl.Microseconds()).Scan(&token)
		if errors.Is(err, pgx.ErrNoRows) {
			held, err = false, nil
		}
		return l.lost(wrap(fmt.Sprintf("take lease %q", name), err))
	})
	if err != nil {
		return false, 0, err
	}
	return held, token, nil
}

// ReleaseLease gives up the lease called name if holder holds it, so that
// another holder can take it at once (with a greater token). Releasing a
// lease that holder does not hold does nothing.
func (l *Log) ReleaseLease(ctx context.Context, name, holder string) error {
	if l.closed.Load() {
		return ErrClosed
	}
	return l.retry(ctx, func() error {
		_, err := l.pool.Exec(ctx, l.q.releaseLease, name, holder)
		return l.lost(wrap(fmt.Sprintf("release lease %q", name), err))
	})
}

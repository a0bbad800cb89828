package livedb

import "context"

// doneMark is how far the subscription manager has caught up: the
// timestamp of the last commit whose invalidated subscriptions have all
// been re-run and their changed results delivered. Waiters block on ch,
// which is closed and replaced at each advance. Guarded by subManager.mu.
type doneMark struct {
	ts uint64
	ch chan struct{}
}

func newDoneMark(ts uint64) doneMark {
	return doneMark{ts: ts, ch: make(chan struct{})}
}

// advanceLocked moves the mark to ts (never back) and wakes the waiters.
// Caller holds subManager.mu.
func (d *doneMark) advanceLocked(ts uint64) {
	if ts <= d.ts {
		return
	}
	d.ts = ts
	close(d.ch)
	d.ch = make(chan struct{})
}

// WaitSubscriptions waits until every subscription of the DB has caught
// up with the commits up to timestamp ts, and returns the timestamp they
// have caught up with (at least ts). Caught up means: every subscription
// whose read set one of those commits wrote inside has been re-run, and
// its new result, when it differs from the last one, has been delivered
// (to the channel of a [Subscription], or to the callback of
// [Registry.SubscribePublic]). A subscription's latest delivered result
// then reflects every commit up to the returned timestamp; a re-run may
// have read a newer snapshot, so some results reflect later commits too.
//
// A network server uses it to tell a client that its mutation (whose
// timestamp [DB.MutationTS] returned) is visible in every query the
// client watches. WaitSubscriptions(ctx, 0) returns at once with the
// current mark. It fails with the context's error, or with ErrClosed when
// the DB closes first.
//
// One gap remains: a subscription whose first run raced with a commit is
// re-run once more after it registers (see [Subscribe]), and until that
// re-run it may lag behind the returned timestamp.
func (db *DB) WaitSubscriptions(ctx context.Context, ts uint64) (uint64, error) {
	m := db.subs
	for {
		m.mu.Lock()
		done, ch := m.done.ts, m.done.ch
		m.mu.Unlock()
		if done >= ts {
			return done, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-db.closing:
			return 0, ErrClosed
		}
	}
}

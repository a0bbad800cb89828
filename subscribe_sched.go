package livedb

import "runtime"

// The order in which the subscription manager re-runs what a commit
// invalidates.
//
// A subscription whose reader waits for an update (its channel is empty:
// the reader took the last one) is re-run first, by every worker, and a
// worker that delivers to such a reader yields at once so that the reader
// runs. The others (their reader has not taken the last update, so an
// early result gains it nothing: it gets the newest when it reads) are
// late: re-run after the waiting ones, yielding before each re-run so that
// writers and readers are not held up by a worker that never blocks, and
// set aside as soon as a commit is pending (not started at all when one is
// pending already), to be re-run, oldest first, after that commit's
// waiting subscriptions. At most maxLateSkips loops in a row re-run no
// late subscription, and the next re-runs at least one, so a stream of
// commits cannot starve them; the done mark (WaitSubscriptions)
// waits for them.
//
// Example: 10 subscriptions watch one workflow, and only the first is read.
// A commit there invalidates all ten: the first re-runs at once and its
// reader has the result after one re-run, not after ten; if the next
// commit comes while the other nine re-run, its waiting subscriptions
// re-run before the rest of the nine, which are not run twice.

// waiting reports whether st's reader has taken the last update delivered
// (or takes each update as it is delivered: a callback of
// [Registry.SubscribePublic]), so that it waits for the next one.
func (st *subState) waiting() bool { return st.unread == nil || !st.unread() }

// rerunWaitingFirst re-runs subs, those whose readers wait first; it
// returns the late ones it set aside because a commit was pending.
func (m *subManager) rerunWaitingFirst(subs []*subState) (late []*subState) {
	n := 0
	for _, st := range subs {
		if st.waiting() {
			subs[n] = st
			n++
		} else {
			late = append(late, st)
		}
	}
	if n > 0 {
		m.rerun(subs[:n], false)
	}
	if len(late) == 0 {
		return nil
	}
	if m.hasPending.Load() && m.lateSkips < maxLateSkips {
		m.lateSkips++
		return late
	}
	m.lateSkips = 0
	return late[m.rerun(late, true):]
}

// maxLateSkips is how many loops in a row may leave every late re-run for
// later because a commit is pending; the next one re-runs at least one.
const maxLateSkips = 4

// giveWay is called by a worker of late re-runs before each re-run but
// the first of all: it yields, and reports whether a commit is pending
// (the worker then stops).
func (m *subManager) giveWay() bool {
	runtime.Gosched()
	return m.hasPending.Load()
}

// yieldToReader lets the goroutine that a delivery woke run now. A re-run
// worker does not block between re-runs, so the woken reader would
// otherwise wait on this P until the worker's last re-run ends (every P
// being busy with a worker when several re-run): on a 2-core machine, the
// whole fan-out of a commit.
func yieldToReader() { runtime.Gosched() }

// closing reports whether the DB is closing.
func (m *subManager) closing() bool {
	select {
	case <-m.db.closing:
		return true
	default:
		return false
	}
}

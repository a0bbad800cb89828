package livedb

import (
	"sync"
	"sync/atomic"
)

// Goroutines that a database which is only read never needs start on first
// need, not at Open: the committer at the first commit (submit, runAlone),
// the subscription manager's loop at its first kick. In a fresh process
// each goroutine started costs its stack's first page faults and a wake-up
// of another thread, which an open followed by a query would pay for
// nothing. A shared database starts its committer at the end of Open
// (openShared): it follows the log.

// lazyStart starts the committer once, unless Close came first.
type lazyStart struct {
	mu sync.Mutex  // held while the committer is started and while closing is closed
	on atomic.Bool // the committer runs (or ran)
}

// startCommitter starts the committer unless it runs or db is closed. A
// caller that then hands it work must still select on db.closing.
func (db *DB) startCommitter() {
	if db.lazy.on.Load() {
		return
	}
	db.lazy.mu.Lock()
	defer db.lazy.mu.Unlock()
	if db.lazy.on.Load() || db.isClosed() {
		return
	}
	db.wg.Add(1) // before Close can reach db.wg.Wait: Close closes closing under lazy.mu first
	go db.committer()
	db.lazy.on.Store(true)
}

// closeLazy closes db.closing, so that no committer starts after it.
func (db *DB) closeLazy() {
	db.lazy.mu.Lock()
	defer db.lazy.mu.Unlock()
	close(db.closing)
}

// startLoop starts the manager's loop unless it runs or the manager is
// closed.
func (m *subManager) startLoop() {
	if m.looping.Load() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.looping.Load() || m.closed {
		return
	}
	m.looping.Store(true)
	m.wg.Add(1) // before close's m.wg.Wait: close sets m.closed under m.mu first
	go m.loop()
}

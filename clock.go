package livedb

import (
	"sync"
	"time"

	"github.com/livedb-go/livedb/internal/engine"
)

// Clock is the time that the scheduler, crons and work pools go by: when a
// scheduled function is due, when a cron runs next, when a worker's lease
// ends and when a retry may start. Set it with [Options.Clock]; nil means
// the system clock. livedbtest.Clock is a clock a test moves by hand, so
// that scheduled work runs when the test says and not before.
//
// The clock does not set _creationTime, IDs or commit timestamps, which
// always follow the system clock.
//
// A Clock must be safe for concurrent use by multiple goroutines.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Timer returns a channel that is closed once the clock has reached at
	// (at once when it already has), and a function that releases the
	// timer when its owner stops waiting; stop may be called more than
	// once, before or after the channel is closed.
	Timer(at time.Time) (fired <-chan struct{}, stop func())
}

// systemClock is the Clock of the system: time.Now and time's timers.
type systemClock struct{}

// Now returns time.Now().
func (systemClock) Now() time.Time { return time.Now() }

// Timer closes the channel when the system clock reaches at.
func (systemClock) Timer(at time.Time) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	var once sync.Once
	fire := func() { once.Do(func() { close(ch) }) }
	d := time.Until(at)
	if d <= 0 {
		fire()
		return ch, func() {}
	}
	t := time.AfterFunc(d, fire)
	return ch, func() { t.Stop() }
}

// clock returns the DB's clock.
func (db *DB) clock() Clock { return db.opts.Clock }

// The system tables store times as whole milliseconds since the Unix
// epoch, as Convex does (see internal/engine, whose functions these are,
// shared with package workpool).

// toMillis returns t in whole milliseconds since the Unix epoch, rounded
// down.
func toMillis(t time.Time) float64 { return engine.ToMillis(t) }

// dueMillis returns due time t, set at now, in whole milliseconds since
// the Unix epoch, never before t unless t is due at once.
func dueMillis(t, now time.Time) float64 { return engine.DueMillis(t, now) }

// fromMillis returns the time of a stored due time.
func fromMillis(ms float64) time.Time { return engine.FromMillis(ms) }

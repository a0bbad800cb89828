package dashboard

import (
	"context"
	"sync"
	"time"

	"github.com/livedb-go/livedb"
)

// Recounting after commits waits at least minRecount, and at least
// recountFactor times as long as the last count took, so that counting
// costs at most about 1/recountFactor of one core however large the
// tables are.
const (
	minRecount    = time.Second
	recountFactor = 20
)

// counter caches the tables and their document counts ([livedb.DB.TableStats]).
// Counting walks every table's by_creation_time keys, so a count is reused
// while no commit has landed, and recounted after commits at most once per
// max(minRecount, recountFactor × the last count's duration). One count
// runs at a time; requests during it get the previous one.
//
// A counter is safe for concurrent use.
type counter struct {
	db  *livedb.DB
	now func() time.Time // time.Now; tests move it

	mu sync.Mutex
	// Guarded by mu.
	last    *counts
	running chan struct{} // closed when the running count ends; nil when none runs
}

// counts are the tables as one count saw them.
type counts struct {
	tables []livedb.TableStat
	// through is the last commit timestamp before the count started: the
	// counts reflect every commit up to it (and maybe a few after).
	through uint64
	at      time.Time     // when the count started
	took    time.Duration // how long it took
}

func newCounter(db *livedb.DB) *counter {
	return &counter{db: db, now: time.Now}
}

// get returns the cached counts, counting first when there are none or
// when they are older than the last commit and old enough to be redone.
func (c *counter) get(ctx context.Context) (*counts, error) {
	c.mu.Lock()
	last, running := c.last, c.running
	if last != nil && (!c.staleLocked(last) || running != nil) {
		c.mu.Unlock()
		return last, nil
	}
	if running != nil { // the first count is running: wait for it
		c.mu.Unlock()
		select {
		case <-running:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return c.get(ctx)
	}
	done := make(chan struct{})
	c.running = done
	c.mu.Unlock()

	// The count goes on if this request goes away: others may wait for it.
	fresh, err := c.count(context.WithoutCancel(ctx))
	c.mu.Lock()
	c.running = nil
	if err == nil {
		c.last = fresh
	}
	c.mu.Unlock()
	close(done)
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

// staleLocked reports whether the counts should be redone: commits landed
// since, and the wait after the last count is over. Caller holds c.mu.
func (c *counter) staleLocked(last *counts) bool {
	if c.db.LastTimestamp() == last.through {
		return false
	}
	wait := max(minRecount, recountFactor*last.took)
	return c.now().Sub(last.at) >= wait
}

// count counts every table now.
func (c *counter) count(ctx context.Context) (*counts, error) {
	through := c.db.LastTimestamp()
	start := c.now()
	tables, err := c.db.TableStats(ctx)
	if err != nil {
		return nil, err
	}
	return &counts{tables: tables, through: through, at: start, took: c.now().Sub(start)}, nil
}

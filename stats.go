package livedb

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// Stats are counters of a DB's commits since it was opened, for a program
// to read or export (for example to expvar or Prometheus), so that an
// operator sees contention before it hurts.
type Stats struct {
	// Commits counts the mutations and imports committed.
	Commits uint64
	// Groups counts the storage commits that carried them (each one fsync);
	// Commits/Groups is the mean group size.
	Groups uint64
	// MaxGroup is the largest group.
	MaxGroup int
	// CommitTime is the time spent in storage commits;
	// CommitTime/Groups is their mean latency.
	CommitTime time.Duration
	// Retries counts the re-runs of mutations after a conflict.
	Retries uint64
	// Alone counts the attempts of mutations that ran alone after
	// repeated conflicts (see [DB.Mutation]).
	Alone uint64
	// ConflictErrors counts the ConflictErrors returned.
	ConflictErrors uint64
	// Conflicts counts conflicts by what was read and then written:
	// "table.index", or "table" for a table's existence.
	Conflicts map[string]uint64
	// Reruns counts the re-runs of subscription queries after commits
	// that wrote inside what they read (first runs do not count);
	// Reruns/Commits is how much work a commit makes for subscriptions.
	Reruns uint64
	// Subscriptions is how many subscriptions are open now (a gauge, not
	// a counter).
	Subscriptions int
}

// Stats returns the DB's counters. It is safe to call at any time.
func (db *DB) Stats() Stats {
	s := &db.stats
	out := Stats{
		Commits:        s.commits.Load(),
		Groups:         s.groups.Load(),
		MaxGroup:       int(s.maxGroup.Load()),
		CommitTime:     time.Duration(s.commitNanos.Load()),
		Retries:        s.retries.Load(),
		Alone:          s.alone.Load(),
		ConflictErrors: s.conflictErrors.Load(),
		Reruns:         s.reruns.Load(),
	}
	s.mu.Lock()
	out.Conflicts = maps.Clone(s.conflicts)
	s.mu.Unlock()
	if out.Conflicts == nil {
		out.Conflicts = map[string]uint64{}
	}
	db.subs.mu.Lock()
	out.Subscriptions = len(db.subs.subs)
	db.subs.mu.Unlock()
	return out
}

// dbStats holds the counters behind Stats.
type dbStats struct {
	commits, groups, commitNanos   atomic.Uint64
	retries, alone, conflictErrors atomic.Uint64
	reruns                         atomic.Uint64
	maxGroup                       atomic.Int64
	mu                             sync.Mutex
	conflicts                      map[string]uint64 // guarded by mu
}

// grouped counts a storage commit of n mutations that took d. Called
// under commitMu (by the committer or an inline commit).
func (s *dbStats) grouped(n int, d time.Duration) {
	s.groups.Add(1)
	s.commits.Add(uint64(n))
	s.commitNanos.Add(uint64(d))
	if int64(n) > s.maxGroup.Load() {
		s.maxGroup.Store(int64(n))
	}
}

// conflicted counts a conflict.
func (s *dbStats) conflicted(c *conflict) {
	k := c.where()
	s.mu.Lock()
	if s.conflicts == nil {
		s.conflicts = map[string]uint64{}
	}
	s.conflicts[k]++
	s.mu.Unlock()
}

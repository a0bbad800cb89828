package livedb

import (
	"log/slog"
	"math"
	"time"
)

// Options configures a DB. A nil *Options means the defaults of every field.
type Options struct {
	// Timeout bounds how long Open waits for the file lock that another
	// process holds before it fails with ErrLocked. Zero means 1 second; it
	// never waits forever.
	Timeout time.Duration

	// NoSync skips the fsync after each commit, and of the directory of a
	// file that Open creates. It is for tests and bulk loads that can be
	// redone: a crash may lose acknowledged commits. On a database file it
	// makes the write-ahead log unsynced (no fdatasync per commit group)
	// and the checkpoints into bbolt unsynced transactions, so a crash of
	// the machine may also leave the bbolt file damaged.
	NoSync bool

	// ReadOnly opens the file without taking the write lock exclusively, so
	// several read-only processes can share it; every mutation fails. It
	// sees every commit, including those only the write-ahead log holds
	// (replayed into memory, nothing written).
	// On a shared database (Open of a PostgreSQL URL), a read-only process
	// writes nothing to PostgreSQL and never holds its log, so it never
	// delays the processes that write: it follows their commits, and Open
	// fails with ErrNotLivedb where no process has created the database.
	ReadOnly bool

	// Logger receives livedb's INFO lines about long operations as they
	// happen: an index backfilled, dropped or documents re-checked by Open,
	// and what snapshot.Import skips. Nil means no logging at all: livedb never
	// writes to slog.Default. What Open changed is also available, as a
	// value, from [DB.OpenReport].
	Logger *slog.Logger

	// Progress, when set, is called during long operations with how far
	// they got. It must not call back into the DB.
	Progress func(Progress)

	// AllowUndeclaredTables lets mutations create, and queries read,
	// tables that the schema does not declare; their documents are not
	// validated. This is Convex's rule at run time. Without it, a schema
	// that declares tables is strict, as TypeScript makes Convex code
	// (strictTableNameTypes): a read or write of any other table fails with
	// ErrUndeclaredTable, so a typo in a table name is an error instead of
	// a new table. A database opened without a schema (a nil or empty one)
	// allows every table.
	AllowUndeclaredTables bool

	// MaxRetries bounds how many times a mutation that hit an optimistic
	// concurrency conflict is re-run before it fails with a
	// *ConflictError. Zero means no bound: a mutation that conflicted three
	// times runs alone (see [DB.Mutation]), so it commits in the end, and
	// only its context can end its retries. A negative value means no
	// retry. (Convex retries a bounded number of times and then fails.)
	MaxRetries int

	// Limits are the per-transaction limits; zero fields take Convex's
	// defaults (see Limits).
	Limits Limits

	// LocalCopy is, for a shared database (Open of a PostgreSQL URL), the
	// bbolt file that keeps this process's copy of the shared database
	// across restarts: a process that opens it again only catches up with
	// what it missed. Empty means a copy in memory, loaded from PostgreSQL
	// at every open. Each process needs a file of its own.
	LocalCopy string

	// ChangeRetention is how long committed changes stay in the change feed.
	// Zero means 24 hours; a negative value keeps them forever.
	ChangeRetention time.Duration

	// Clock is the time of the scheduler, crons and work pools (see
	// [Clock]); nil means the system clock. Tests pass a
	// livedbtest.Clock to run scheduled work when they say.
	Clock Clock
}

// Limits are Convex's per-transaction limits (docs/semantics.md#limits). A
// zero field takes the default given on it.
type Limits struct {
	DocumentsRead    int   // default 32,000 (filtered-out documents count)
	BytesRead        int64 // default 16 MiB
	ReadIntervals    int   // default 4,096 index ranges and point reads
	DocumentsWritten int   // default 16,000
	BytesWritten     int64 // default 16 MiB
}

// Progress describes how far a long operation got.
type Progress struct {
	Op    string // "backfill", "revalidate", "export" or "import"
	Table string
	Index string
	Done  int64 // documents processed so far
	Total int64 // documents in all, or -1 when unknown
}

// withDefaults returns a copy of opts with every zero field set.
func (opts *Options) withDefaults() Options {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = math.MaxInt
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	if o.ChangeRetention == 0 {
		o.ChangeRetention = 24 * time.Hour
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	l := &o.Limits
	if l.DocumentsRead <= 0 {
		l.DocumentsRead = 32000
	}
	if l.BytesRead <= 0 {
		l.BytesRead = 16 << 20
	}
	if l.ReadIntervals <= 0 {
		l.ReadIntervals = 4096
	}
	if l.DocumentsWritten <= 0 {
		l.DocumentsWritten = 16000
	}
	if l.BytesWritten <= 0 {
		l.BytesWritten = 16 << 20
	}
	return o
}

func (o *Options) report(p Progress) {
	if o.Progress != nil {
		o.Progress(p)
	}
}

package livedb

import "context"

// singleton runs run in the role named role ("scheduler": the loop that
// runs scheduled functions, crons and lease expiries) and returns when run
// returns. At most one process that has the database open should hold a
// role at a time: with a database shared by several processes, this is
// where the holder of the role is chosen (a lease in the shared store,
// renewed while run runs; run's context ends when the lease is lost, and
// run is called again when it is won back). An embedded database (bbolt,
// memory) has one process, which holds every role: run runs at once, and
// its context ends when ctx ends.
//
// Nothing depends on the role for correctness: every piece of work that
// run does commits with the state change that marks it done, in one
// mutation, so a second holder running by mistake only makes mutations
// conflict and retry; it never runs anything twice.
func (db *DB) singleton(ctx context.Context, role string, run func(ctx context.Context)) {
	if db.shared != nil {
		// Several processes share the database: one of them at a time
		// holds the role, by a lease in PostgreSQL (db_shared_lease.go).
		db.sharedSingleton(ctx, role, run)
		return
	}
	run(ctx)
}

// Package livedb gives Go programs Convex's data model in-process: schemas
// built with the [github.com/livedb-go/livedb/v] validator builder,
// documents with _id and _creationTime, indexes with Convex's exact
// ordering, serializable mutations, cursor pagination and reactive
// subscriptions, stored durably in one bbolt file ([Open]) or in memory for
// tests ([OpenMemory]), on one engine.
//
// # Basics
//
// A [Schema] lists tables, each with a validator and indexes. [DB.Mutation]
// runs a function that reads a snapshot and buffers writes (its own reads
// see them), then commits atomically; [DB.Query] runs a function against one
// snapshot. Inside them, ctx.DB is Convex's ctx.db: Get, Insert, Patch,
// Replace, Delete and Query, whose builder offers WithIndex ranges, Order,
// Filter and the terminals Collect, Take, First, Unique, All and Paginate.
// [QueryValue] and [MutationValue] are the forms whose function returns a
// value. [Subscribe] re-runs a query function after every commit that
// writes inside what it read, and [DB.Changes] is the ordered, persisted
// change feed. [Table] gives typed access through Go structs (time.Time
// fields are stored as Float64 milliseconds); its reads take a [DBReader],
// the DB of a query or of a mutation.
//
// # Time and work
//
// A mutation schedules registered mutations to run later
// ([MutationCtx.Scheduler], Convex's ctx.scheduler), [Crons] run them on
// schedules, and package workpool's pools hand work items to goroutines
// of the program, with leases and retries (Convex's workpool component).
// [DB.StartScheduler] attaches the [Runner] that does all three: a scheduled
// function, a cron run or a work item's completion happens exactly once,
// in the same mutation as the change of its state. That state is in system
// tables (_scheduled_functions, _crons, workpool.ItemsTable), which
// queries and subscriptions read like any table and only livedb writes.
// [Options.Clock] sets the time they go by.
//
// # Export and import
//
// Package snapshot writes a database to a ZIP in Convex's snapshot layout
// at one commit and reads one back, or a single table's JSONL or JSON
// array, keeping _id, _creationTime and table numbers: Convex's `npx
// convex export` and `npx convex import`, beside the database as they are
// in Convex.
//
// # Numbers
//
// Convex has two number types, Int64 and Float64, and never mixes them: an
// index or filter on 1 (Float64) does not match int64(1). Go's int64 is
// always Int64 and float64 always Float64. Go's other integer kinds (int,
// int32, uint8, ...) are taken as the validator expects: as Float64 where it
// says v.Float64 (when exactly representable, |n| <= 2^53; larger values are
// refused, never rounded), and as Int64 everywhere else, including tables
// without a schema. uint64 values above the int64 range are refused.
// float32 becomes Float64.
//
// # Concurrency
//
// A DB is safe for concurrent use by multiple goroutines. Mutations run
// concurrently under optimistic concurrency control: at commit, a mutation
// conflicts when a commit after its snapshot wrote inside an interval it
// read, and is then re-run (see [Options.MaxRetries]). Commits are written
// in groups, one storage commit and one fsync for many mutations. The
// contexts handed to query and mutation functions belong to the goroutine
// running the function.
//
// # Durability
//
// On a database file, a mutation returns once its commit is in the
// write-ahead log beside the file (path+"-wal/") and fdatasynced: one
// appended, checksummed record and one fdatasync for each group of
// mutations that commit together. bbolt is written only by checkpoints in
// the background (every second, or every 32 MiB of commits, and at Close),
// each one synced bbolt transaction, so the bbolt file is always a
// consistent checkpoint, whatever a crash or power loss interrupts; Open
// replays the log after it. Open fsyncs the directory of a file it
// creates. [Options.NoSync] skips all of these syncs. When a storage commit fails in a way
// that leaves its outcome unknown (an I/O or fsync error: the commit may or
// may not be on disk), the DB fails closed: that mutation and every later
// write return an error wrapping [ErrStorageFailed], while queries,
// subscriptions and the change feed go on. Close and Open again to recover
// what reached the disk. A batch the storage refuses before writing (an
// index key over bbolt's 32 KiB limit) is an ordinary error.
//
// # Caveats
//
// bbolt allows one writing process per file: [Open] fails with [ErrLocked]
// after [Options.Timeout] instead of waiting forever. A query function must
// not call [DB.Mutation] on the same DB: the commit may wait for the query's
// snapshot to end. Mutation functions may run more than once, so they must
// not have effects outside the database that are unsafe to repeat.
package livedb

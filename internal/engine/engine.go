// Package engine is the one door through which the packages of this module
// that build on livedb without being its core (today packages workpool and
// snapshot) reach what the engine does not export: writes to system
// tables, the Runner's registry and lifetime, a DB's clock, logger and
// commit signal ([Bridge]); an import's one commit and an export's
// snapshot read ([Snapshot], snapshot.go).
//
// Package livedb fills in [Bridge] and [Snapshot] at init; the other
// packages only call them. Values that stand for livedb's own types are typed any here (this
// package cannot import livedb, which imports it); each hook says which
// type it takes and returns, and a caller passing anything else is a bug
// of this module that panics. Nothing here is part of livedb's public API:
// a new need of a leaf package is a new hook, added here, documented, and
// set in livedb's workitems.go or snapshot_bridge.go.
//
// The file workitem.go holds the stored form of work items, which the
// engine (that gives back items whose lease ended) and package workpool
// share.
package engine

import (
	"context"
	"log/slog"
)

// Hooks are the engine's functions that leaf packages may call. In each,
// m is a *livedb.MutationCtx inside its mutation, db a *livedb.DB, reg a
// *livedb.Registry (or nil), r a *livedb.Runner.
type Hooks struct {
	// MutationDB returns the *livedb.DB that m runs on.
	MutationDB func(m any) any
	// CheckUsable returns the error of using m after its transaction
	// ended (ErrTxDone), or nil.
	CheckUsable func(m any) error
	// SysInsert inserts doc into the system table named table in m's
	// transaction, creating the table if needed, and returns its ID.
	SysInsert func(m any, table string, doc map[string]any) (string, error)
	// SysPatch patches a document of a system table in m's transaction.
	SysPatch func(m any, id string, fields map[string]any) error
	// IsWorkItemID reports whether id is an ID of the work items' table.
	IsWorkItemID func(id string) bool
	// Registry returns the registry of the Runner attached to db, or nil
	// (an untyped nil) when no Runner is.
	Registry func(db any) any
	// CheckMutation returns nil when reg has a mutation called name, and
	// the error of calling it otherwise (ErrUnknownFunction,
	// ErrWrongFunctionKind).
	CheckMutation func(reg any, name string) error
	// FinishWorkItem writes fields (the final state) to the work item
	// item and runs its onComplete mutation of reg with result, in m's
	// transaction; with reg nil, it schedules the onComplete with no
	// delay instead, to run when a Runner starts. An onComplete that fails
	// has its writes rolled back and its error recorded on the item.
	FinishWorkItem func(m any, reg any, item, fields, result map[string]any) error
	// Value converts a Go value to a Convex value as a function's result
	// is converted (the mapping of livedb.ToDoc).
	Value func(x any) (any, error)
	// Wrap returns an error reading head, ": " and err's text without its
	// "livedb: " prefix, wrapping err.
	Wrap func(head string, err error) error
	// Enter registers a call that the Runner r's Close waits for. It
	// returns a context that ends at Close, r's DB and registry, and done,
	// to call when the call returns; ok is false (and the rest zero) when
	// r is closed.
	Enter func(r any) (ctx context.Context, db any, reg any, done func(), ok bool)
	// Clock returns db's livedb.Clock.
	Clock func(db any) any
	// Logger returns db's logger (Options.Logger).
	Logger func(db any) *slog.Logger
	// CommitSignal returns a channel closed at db's next commit (by this
	// process or, on a shared database, another).
	CommitSignal func(db any) <-chan struct{}
	// Closing returns a channel closed when db starts closing.
	Closing func(db any) <-chan struct{}
	// Closed reports whether db is closed or closing.
	Closed func(db any) bool
}

// Bridge holds the engine's hooks. Package livedb sets it in an init
// function, before any other package of the module can run; it is not
// changed afterwards.
var Bridge Hooks

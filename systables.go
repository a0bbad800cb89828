package livedb

import (
	"fmt"
	"strings"

	"github.com/livedb-go/livedb/internal/engine"
	"github.com/livedb-go/livedb/v"
)

// System tables hold the state of the scheduler, crons and work pools:
// _scheduled_functions, _crons and _workpool_items. Their names start with
// "_", which no user table may (Convex's rule), and their numbers are fixed
// and below firstUserTable, so their IDs never collide with a user
// table's.
//
// A system table is an ordinary table to every reader: queries,
// subscriptions, Get, the change feed and Check see it as they see any
// other. Only the engine writes it: the scheduler, cron and pool code set
// txn.system while they write (asSystem), and every write path refuses a
// system table otherwise (checkTableAccess for inserts, checkSystemWrite
// for patch, replace and delete). A system table is created, like a user
// table, by the first mutation that inserts into it, with its indexes and
// validator from systemTables; Open keeps those indexes (reconcile asks
// systemIndexes) instead of dropping indexes no user schema declares.
// Export leaves system tables out, and import skips them, as Convex's
// snapshot import does.

// The system tables, which queries and subscriptions read like any other
// table by their Convex names (the documents of two are described by
// [ScheduledFunction] and package workpool's Item) and only livedb writes.
// The work items' table, "_workpool_items", is package workpool's
// ItemsTable.
const (
	// scheduledFunctionsTable holds the functions scheduled with
	// [Scheduler.RunAfter] and [Scheduler.RunAt] (Convex's
	// _scheduled_functions), by_state_and_time ("state.kind",
	// "scheduledTime").
	scheduledFunctionsTable = "_scheduled_functions"
	// cronsTable holds the registered cron jobs (see [Crons]), by_name
	// ("name") and by_next_run ("nextRun"): name, schedule ({kind:
	// "interval", ms} or {kind: "cron", spec}), function, args, nextRun
	// and lastRun (milliseconds on the DB's [Clock]), lastError (of the
	// last run, absent when it succeeded), runs and skipped (the runs
	// missed because the job fell behind).
	cronsTable = "_crons"
)

// systemTable is the definition of a system table.
type systemTable struct {
	number uint32 // fixed, below firstUserTable
	def    *TableDefinition
}

// systemTables lists the system tables by name. The definitions go through
// DefineSchema's checks once, at start-up: a mistake in them is a bug of
// livedb and panics.
var systemTables = func() map[string]*systemTable {
	tables := map[string]*systemTable{
		scheduledFunctionsTable: {number: 1, def: DefineTable(scheduledValidator()).
			Index("by_state_and_time", "state.kind", "scheduledTime")},
		cronsTable: {number: 2, def: DefineTable(cronValidator()).
			Index("by_name", "name").
			Index("by_next_run", "nextRun")},
		// The items of package workpool's pools.
		workItemsTable: {number: 3, def: DefineTable(workItemValidator()).
			Index("by_claim", "pool", "state", "slot", "readyAt").
			Index("by_ready", "pool", "state", "readyAt").
			Index("by_lease", "state", "leaseUntil")},
	}
	// DefineSchema refuses names with "_": check each definition under a
	// stand-in name.
	for name, st := range tables {
		stand := "sys" + strings.TrimLeft(name, "_")
		if err := DefineSchema(Tables{stand: st.def}).Err(); err != nil {
			panic(fmt.Sprintf("livedb: system table %s: %v", name, err))
		}
	}
	return tables
}()

// isSystemTable reports whether name is reserved for the system: it starts
// with "_". Only the names of systemTables exist.
func isSystemTable(name string) bool { return strings.HasPrefix(name, "_") }

// systemIndexes returns the indexes and the validator of system table t,
// and false when t is not a system table.
func systemIndexes(t *tableInfo) ([]IndexDefinition, v.Validator, bool) {
	st, ok := systemTables[t.name]
	if !ok {
		return nil, nil, false
	}
	return st.def.Indexes(), st.def.Validator(), true
}

// allocSystemTable returns system table name for a transaction to create:
// its fixed number, new index ids for its built-in and declared indexes,
// and its validator.
func (db *DB) allocSystemTable(name string, st *systemTable) *tableInfo {
	declared := st.def.Indexes()
	n := uint32(2 + len(declared))
	ix := db.nextIndex.Add(n) - n
	t := newTableInfo(name, st.number, ix, ix+1)
	for i, d := range declared {
		t.indexes = append(t.indexes, newIndexInfo(t, ix+2+uint32(i), d.Name, d.Fields))
	}
	t.validator = st.def.Validator()
	return t
}

// checkTableAccess checks that a transaction may use table name for op
// ("insert", "query", "normalizeId"): a valid table name, declared by a
// strict schema; or a system table, which only the engine may insert into.
func (tx *txn) checkTableAccess(op, name string) error {
	if isSystemTable(name) {
		if _, ok := systemTables[name]; !ok {
			return &DocumentError{Op: op, Table: name, Kind: ErrInvalidTable, Err: checkTableName(name)}
		}
		if op == "insert" && !tx.system {
			return &DocumentError{Op: op, Table: name, Kind: ErrInvalidTable, Err: errSystemReadOnly(name)}
		}
		return nil
	}
	if err := checkTableName(name); err != nil {
		return &DocumentError{Op: op, Table: name, Kind: ErrInvalidTable, Err: err}
	}
	if err := tx.db.checkDeclared(name); err != nil {
		return &DocumentError{Op: op, Table: name, Kind: ErrUndeclaredTable, Err: err}
	}
	return nil
}

// checkSystemWrite refuses a write to a system table outside the engine's
// own code.
func (tx *txn) checkSystemWrite(op string, t *tableInfo, docID string) error {
	if !isSystemTable(t.name) || tx.system {
		return nil
	}
	return &DocumentError{Op: op, Table: t.name, ID: ID(docID), Kind: ErrInvalidTable, Err: errSystemReadOnly(t.name)}
}

func errSystemReadOnly(name string) error {
	return fmt.Errorf("%s is a system table (its name starts with '_'): it is read-only, and only livedb's scheduler, crons and work pools write it", name)
}

// checkTableNameOrSystem is checkTableName, which also accepts the name of
// a system table: for the names a reader may use.
func checkTableNameOrSystem(name string) error {
	if _, ok := systemTables[name]; ok {
		return nil
	}
	return checkTableName(name)
}

// asSystem runs fn with the transaction allowed to write system tables.
// fn is livedb's own code: it must not call a user's function.
func (tx *txn) asSystem(fn func(w *Writer) error) error {
	prev := tx.system
	tx.system = true
	defer func() { tx.system = prev }()
	return fn(&Writer{Reader{tx: tx}})
}

// sysInsert inserts doc into system table name, creating the table if it
// does not exist yet. A user table that an import gave the system table's
// number makes it an error, rather than a conflict retried forever.
func (tx *txn) sysInsert(name string, doc Doc) (ID, error) {
	st := systemTables[name]
	if other, ok := tx.cat.byNumber[st.number]; ok && other.name != name {
		return "", fmt.Errorf("%w: table %q has the number %d that system table %s needs; export it and import it into a fresh database", errTableNumber, other.name, st.number, name)
	}
	var id ID
	err := tx.asSystem(func(w *Writer) error {
		var err error
		id, err = w.Insert(name, doc)
		return err
	})
	return id, err
}

// sysPatch patches a document of a system table.
func (tx *txn) sysPatch(id ID, fields Doc) error {
	return tx.asSystem(func(w *Writer) error { return w.Patch(id, fields) })
}

// sysDelete deletes a document of a system table.
func (tx *txn) sysDelete(id ID) error {
	return tx.asSystem(func(w *Writer) error { return w.Delete(id) })
}

// scheduledValidator validates a document of _scheduled_functions, in
// Convex's shape: the function's name, its arguments as a one-element
// array, when it is due, when it completed and its state.
func scheduledValidator() v.Validator {
	state := func(kind string, extra v.Fields) v.Validator {
		f := v.Fields{"kind": v.Literal(kind)}
		for k, x := range extra {
			f[k] = x
		}
		return v.Object(f)
	}
	return v.Object(v.Fields{
		"name":          v.String(),
		"args":          v.Array(v.Any()),
		"scheduledTime": v.Float64(),
		"completedTime": v.Optional(v.Float64()),
		"state": v.Union(
			state(string(ScheduledPending), nil),
			state(string(ScheduledInProgress), nil),
			state(string(ScheduledSuccess), nil),
			state(string(ScheduledFailed), v.Fields{"error": v.String()}),
			state(string(ScheduledCanceled), nil),
		),
	})
}

// cronValidator validates a document of _crons: one registered job, its
// schedule, the function it runs and when it runs next.
func cronValidator() v.Validator {
	return v.Object(v.Fields{
		"name": v.String(),
		"schedule": v.Union(
			v.Object(v.Fields{"kind": v.Literal("interval"), "ms": v.Float64()}),
			v.Object(v.Fields{"kind": v.Literal("cron"), "spec": v.String()}),
		),
		"function":  v.String(),
		"args":      v.Any(),
		"nextRun":   v.Float64(),
		"lastRun":   v.Optional(v.Float64()),
		"lastError": v.Optional(v.String()),
		"runs":      v.Float64(),
		"skipped":   v.Float64(),
	})
}

// workItemValidator validates a document of _workpool_items: one work
// item of a pool, with its retry policy, lease and outcome.
func workItemValidator() v.Validator {
	return v.Object(v.Fields{
		"pool": v.String(),
		"state": v.Union(v.Literal(engine.WorkPending), v.Literal(engine.WorkRunning),
			v.Literal(engine.WorkSuccess), v.Literal(engine.WorkFailed), v.Literal(engine.WorkCanceled)),
		"slot":     v.Float64(),
		"readyAt":  v.Float64(),
		"args":     v.Any(),
		"attempts": v.Float64(),
		"retry": v.Object(v.Fields{
			"maxAttempts":      v.Float64(),
			"initialBackoffMs": v.Float64(),
			"base":             v.Float64(),
		}),
		"leaseMs":         v.Optional(v.Float64()),
		"worker":          v.Optional(v.String()),
		"leaseUntil":      v.Optional(v.Float64()),
		"expiries":        v.Float64(),
		"onComplete":      v.Optional(v.String()),
		"context":         v.Optional(v.Any()),
		"error":           v.Optional(v.String()),
		"result":          v.Optional(v.Any()),
		"onCompleteError": v.Optional(v.String()),
		"completedTime":   v.Optional(v.Float64()),
	})
}

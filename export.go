package livedb

// The engine's part of export: a view of the database at one snapshot,
// read without the per-transaction read limits. Package snapshot's Export
// reads it through internal/engine's Snapshot hooks (snapshot_bridge.go);
// TableStats reads it here.

import (
	"context"
	"slices"
)

// exportView is one snapshot of the database read without limits: the
// engine hook of export and of TableStats.
type exportView struct {
	db *DB
	tx *txn
}

// beginExport opens a snapshot for an export. Close it with end.
func (db *DB) beginExport(ctx context.Context) (*exportView, error) {
	tx, err := db.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	return &exportView{db: db, tx: tx}, nil
}

func (ev *exportView) end() { ev.db.end(ev.tx) }

// schema returns the schema the snapshot's catalog was opened with, or nil.
func (ev *exportView) schema() *Schema { return ev.tx.cat.schema }

// timestamp returns the commit timestamp of the snapshot.
func (ev *exportView) timestamp() uint64 { return ev.tx.ts }

// exportTable is a table as an export sees it.
type exportTable struct {
	name    string
	number  uint32
	indexes []IndexDefinition
	t       *tableInfo
}

// tables returns the snapshot's tables sorted by table number.
func (ev *exportView) tables() []exportTable {
	out := make([]exportTable, 0, len(ev.tx.cat.tables))
	for _, t := range ev.tx.cat.tables {
		et := exportTable{name: t.name, number: t.number, t: t}
		for _, ix := range t.userIndexes() {
			if ix.vec != nil {
				continue // listed by the schema's vectorIndexes, not as a database index
			}
			et.indexes = append(et.indexes, IndexDefinition{Name: ix.name, Fields: slices.Clone(ix.fields)})
		}
		out = append(out, et)
	}
	slices.SortFunc(out, func(a, b exportTable) int { return cmpUint32(a.number, b.number) })
	return out
}

func cmpUint32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// count returns the number of documents of a table, walking the keys of
// its by_creation_time index (no document is decoded).
func (ev *exportView) count(ctx context.Context, et exportTable) (int64, error) {
	p := et.t.byTime.prefix
	it := ev.tx.snap.Iter(p, prefixEnd(p), false)
	defer it.Close()
	var n int64
	for it.Next() {
		n++
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
	}
	return n, it.Err()
}

// forEach calls fn with every document of a table in by_id order (the
// order of the _id strings). The document is fn's to keep.
func (ev *exportView) forEach(ctx context.Context, et exportTable, fn func(doc map[string]any) error) error {
	n := 0
	return forEachDoc(ev.tx.snap, et.t, func(doc map[string]any) error {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return fn(doc)
	})
}

// TableStat describes one table of the database, as [DB.TableStats]
// reports it.
type TableStat struct {
	Name      string
	Number    uint32 // the table number that its documents' IDs carry
	Documents int64
	// Indexes lists the table's own indexes, in definition order; every
	// table also has by_id and by_creation_time.
	Indexes []IndexDefinition
}

// TableStats returns every table of the database with its number and its
// document count, in table-number order, read at one snapshot. Counting
// walks each table's by_creation_time index, without the per-transaction
// read limits.
func (db *DB) TableStats(ctx context.Context) ([]TableStat, error) {
	ev, err := db.beginExport(ctx)
	if err != nil {
		return nil, err
	}
	defer ev.end()
	var out []TableStat
	for _, et := range ev.tables() {
		n, err := ev.count(ctx, et)
		if err != nil {
			return nil, err
		}
		out = append(out, TableStat{Name: et.name, Number: et.number, Documents: n, Indexes: et.indexes})
	}
	return out, nil
}

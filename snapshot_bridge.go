package livedb

import (
	"context"

	"github.com/livedb-go/livedb/internal/engine"
)

// Export and import are package snapshot's (a tool beside the database, as
// `npx convex export/import` is beside Convex); what they need of the
// engine, an import's one commit (db_import.go) and an export's snapshot
// read (export.go), it reaches through internal/engine's Snapshot hooks,
// set here.

// errTableNumber is returned when a table that an import numbered holds the
// number of a system table that the engine needs (package snapshot exports
// it as ErrTableNumber).
var errTableNumber = engine.ErrTableNumber

func init() {
	engine.Snapshot = engine.SnapshotHooks{
		Progress: func(db any, f any) any {
			if f, ok := f.(func(Progress)); ok && f != nil {
				return f
			}
			if p := db.(*DB).opts.Progress; p != nil {
				return p
			}
			return nil
		},
		CheckTableName: checkTableName,
		Import: func(ctx context.Context, db any, job *engine.ImportJob) error {
			return db.(*DB).runImport(ctx, newImportJob(job))
		},
		BeginExport: func(ctx context.Context, db any) (engine.ExportView, error) {
			ev, err := db.(*DB).beginExport(ctx)
			if err != nil {
				return nil, err
			}
			return exportBridge{ev}, nil
		},
	}
}

// exportBridge is an export view as package snapshot sees it.
type exportBridge struct{ ev *exportView }

func (b exportBridge) Timestamp() uint64 { return b.ev.timestamp() }

func (b exportBridge) Schema() any {
	if s := b.ev.schema(); s != nil {
		return s
	}
	return nil
}

func (b exportBridge) Tables() []engine.ExportTable {
	ets := b.ev.tables()
	out := make([]engine.ExportTable, len(ets))
	for i, et := range ets {
		out[i] = engine.ExportTable{Name: et.name, Number: et.number, Handle: et.t}
	}
	return out
}

func (b exportBridge) Count(ctx context.Context, t engine.ExportTable) (int64, error) {
	return b.ev.count(ctx, exportTable{name: t.Name, number: t.Number, t: t.Handle.(*tableInfo)})
}

func (b exportBridge) ForEach(ctx context.Context, t engine.ExportTable, fn func(doc map[string]any) error) error {
	return b.ev.forEach(ctx, exportTable{name: t.Name, number: t.Number, t: t.Handle.(*tableInfo)}, fn)
}

func (b exportBridge) End() { b.ev.end() }

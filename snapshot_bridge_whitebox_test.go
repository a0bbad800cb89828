package livedb

import (
	"context"
	"io"

	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/internal/engine"
	"github.com/livedb-go/livedb/internal/snapfile"
)

// importTableText imports the lines of r into table through the engine's
// hook, as package snapshot's ImportTable does: in Convex-JSON (JSONL), or
// in export JSON when export is set. It is the white-box tests' way into
// an import, since package snapshot imports this one.
func importTableText(ctx context.Context, db *DB, table string, r io.Reader, export bool, mode engine.ImportMode) error {
	dec := convexjson.Decode
	if export {
		dec = convexjson.DecodeExport
	}
	src := snapfile.NewStreamSource(table, r, dec)
	defer src.Close()
	it := &engine.ImportTable{Name: table, Src: src, Number: src.PeekTableNumber()}
	return engine.Snapshot.Import(ctx, db, &engine.ImportJob{Mode: mode, Tables: []*engine.ImportTable{it}})
}

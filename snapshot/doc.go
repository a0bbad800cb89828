// Package snapshot exports a livedb database to a ZIP file and imports
// one, or a single table's documents, back: Convex's `npx convex export`
// and `npx convex import`, as a package beside the root package livedb
// (in Convex they are tools beside the database, not part of its API).
//
//	ts, err := snapshot.Export(ctx, db, w, nil)               // npx convex export
//	err = snapshot.Import(ctx, db, f, size, nil)              // npx convex import <zip>
//	err = snapshot.Import(ctx, db, f, size, &snapshot.ImportOptions{Mode: snapshot.Replace})
//	err = snapshot.ImportTable(ctx, db, "users", r, &snapshot.ImportOptions{
//		Format: snapshot.JSONArray, Mode: snapshot.Append,    // npx convex import --table users --append
//	})
//
// # The ZIP layout
//
// [Export] writes, and [Import] reads, the layout of a Convex snapshot
// export, so that either side reads the other's files with the same _id,
// _creationTime and table numbers:
//
//	README.md                       what the ZIP is
//	_tables/documents.jsonl         {"name":"<table>","id":<number>} per table, by number
//	_livedb/schema.json             the schema (Convex's schema.export() JSON), when it has tables
//	<table>/generated_schema.jsonl  "uniform"
//	<table>/documents.jsonl         one document per line in export JSON, in _id order
//
// Convex's import ignores _livedb/schema.json; [ReadSchema] reads it, so a
// backup restored into a new file gets its indexes and validators back.
//
// # Modes and formats
//
// [Mode] says what an import does with a table that already has documents,
// as Convex's flags do: [RequireEmpty] (the default), [Replace]
// (--replace) and [Append] (--append). [Format] is the format of a
// single-table import: [JSONL] (the default) and [JSONArray] hold
// Convex-JSON, as `npx convex import --table` reads them; [ExportJSONL]
// reads back a table file of an export exactly.
//
// # Errors
//
// Bad input is an [*ImportError] that says where (file, line, table,
// document _id, field path) and what: one of this package's sentinels
// ([ErrFormat], [ErrTableNotEmpty], [ErrTableNumber], [ErrDuplicateID]) or
// livedb's (livedb.ErrSchemaEnforcement, livedb.ErrInvalidDocument,
// livedb.ErrInvalidID, ...), for errors.Is. Nothing is written when an
// import fails. The texts of errors start with "livedb: ", as the
// database's own do, since a program sees them side by side.
//
// # Progress
//
// Both directions report progress with livedb.Progress values (Op "export"
// or "import"), to the options' Progress function when set and to the
// database's livedb.Options.Progress otherwise.
package snapshot

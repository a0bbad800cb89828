package livedb

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/livedb-go/livedb/internal/kv"
)

// SchemaMismatchError is returned by Open when stored documents do not
// match the schema it was given. It wraps ErrSchemaMismatch. Nothing was
// written.
//
// Its message is short: the count, then the first three offending
// documents, one line each, as "table/ID at .path: reason". Failures keeps
// each document's full error.
type SchemaMismatchError struct {
	// Failures lists up to the first 10 offending documents, each a
	// *DocumentError with Op "revalidate", the document's Table and ID,
	// Kind ErrSchemaEnforcement and, in Err, why (usually a
	// *v.ValidationError with the path, the full validator and the value
	// found).
	Failures []*DocumentError
	// Total counts every offending document found.
	Total int
}

// Error gives the count and the first few offending documents, one line
// each; Failures has the detail.
func (e *SchemaMismatchError) Error() string {
	var b strings.Builder
	noun := "documents do"
	if e.Total == 1 {
		noun = "document does"
	}
	fmt.Fprintf(&b, "livedb: %d stored %s not match the schema; nothing was changed", e.Total, noun)
	shown := e.Failures[:min(len(e.Failures), mismatchesShown)]
	for _, f := range shown {
		b.WriteString("\n  " + mismatchSummary(f))
	}
	if more := e.Total - len(shown); more > 0 {
		fmt.Fprintf(&b, "\n  … and %d more", more)
	}
	return b.String()
}

// Unwrap returns ErrSchemaMismatch.
func (e *SchemaMismatchError) Unwrap() error { return ErrSchemaMismatch }

const maxMismatches = 10

// load reads the stored catalog and brings it to db.schema, in one storage
// commit (or none when nothing changed). A file it cannot use gives an
// error that wraps ErrNotLivedb and names the file; a damaged one wraps
// ErrCorrupt too.
func (db *DB) load() error {
	err := db.loadCatalog()
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotLivedb) {
		err = notLivedb(db.path, err)
	}
	return err
}

// loadCatalog is load without the mapping of its errors.
func (db *DB) loadCatalog() error {
	snap, err := db.store.Snapshot()
	if err != nil {
		return storeErr(err)
	}
	defer snap.Release()
	ts, gen, err := snapshotTS(snap)
	if err != nil {
		return err
	}
	db.lastTS.Store(ts)
	b, ok, err := snap.Get(keyCatalog)
	if err != nil {
		return storeErr(err)
	}
	var old *catalog
	same := false // the stored schema is db.schema's
	if ok {
		if old, err = unmarshalCatalog(b); err != nil {
			return err
		}
		old.gen = gen
		if same, err = db.resolveSchema(old); err != nil {
			return err
		}
	} else {
		it := snap.Iter(nil, nil, false)
		nonEmpty := it.Next()
		it.Close()
		if f, ok := db.store.(interface{ HasForeignBuckets() (bool, error) }); ok && !nonEmpty {
			if nonEmpty, err = f.HasForeignBuckets(); err != nil {
				return storeErr(err)
			}
		}
		if nonEmpty && db.shared == nil { // a copy of a new shared database holds its own keys
			return fmt.Errorf("%w: the file holds data but no livedb catalog", ErrNotLivedb)
		}
		old = newCatalog()
	}
	if db.useStoredSchema && old.schema != nil {
		db.schema = old.schema
	}
	next, batch, err := db.reconcile(snap, old, same)
	if err != nil {
		return err
	}
	if db.opts.ReadOnly {
		switch {
		case !ok && db.shared != nil:
			return fmt.Errorf("%w: the shared database is empty: open it read-write once to create it", ErrNotLivedb)
		case !ok:
			return fmt.Errorf("%w: the file is empty", ErrNotLivedb)
		case batch.Len() > 0:
			return fmt.Errorf("%w: the schema differs from the stored one; open the database read-write to apply it", ErrReadOnly)
		}
		db.publishCatalog(next)
		return nil
	}
	cb, err := next.marshal()
	if err != nil {
		return err
	}
	// The catalog is stored whenever it changed, even without index work:
	// a new table's number, and the schema the documents were checked
	// against, which the next Open compares its schema with.
	if batch.Len() > 0 || !bytes.Equal(cb, b) {
		if db.shared != nil {
			snap.Release()
			return db.migrateShared(old, next, batch, cb)
		}
		next.gen = gen + 1
		batch.Put(keyCatalog, cb)
		batch.Put(keyLastTS, encodeLastTS(ts, next.gen))
		snap.Release() // bbolt: no read transaction may be open while it grows the file
		if err := db.store.Commit(batch); err != nil {
			return fmt.Errorf("livedb: apply schema: %w", err)
		}
	}
	db.publishCatalog(next)
	return nil
}

// publishCatalog makes c the catalog that new transactions read.
func (db *DB) publishCatalog(c *catalog) {
	db.cat.Store(c)
	db.raiseAllocators(c)
}

// resolveSchema sets c.schema, the schema the stored documents were
// written under, from c's stored JSON. When db.schema's stored form is the
// same bytes, c takes db.schema as it is, without parsing, and same is true;
// then no document needs checking and nothing needs writing for the schema.
func (db *DB) resolveSchema(c *catalog) (same bool, err error) {
	if len(c.schemaJSON) == 0 {
		return false, nil
	}
	if !db.useStoredSchema {
		cur, err := schemaJSON(db.schema)
		if err != nil {
			return false, err
		}
		if bytes.Equal(cur, c.schemaJSON) {
			c.schema = db.schema
			return true, nil
		}
	}
	s, err := SchemaFromJSON(c.schemaJSON)
	if err != nil {
		return false, wrapErr(ErrNotLivedb.Error()+": stored schema", err, ErrNotLivedb)
	}
	c.schema = s
	if !db.useStoredSchema {
		c.schemaJSON = nil // not db.schema's: reconcile replaces the schema
	}
	return db.useStoredSchema, nil
}

// reconcile computes the catalog for db.schema from the stored one, and the
// storage writes that get there: index backfills and drops. Unless same
// (the stored schema is db.schema), it first checks every document of each
// table whose validator became stricter.
func (db *DB) reconcile(snap kv.Snapshot, old *catalog, same bool) (*catalog, *kv.Batch, error) {
	s := db.schema
	next := old.clone()
	if next.schema != s {
		next.schema, next.schemaJSON = s, nil
	}
	batch := &kv.Batch{}
	mismatch := &SchemaMismatchError{}
	for _, name := range s.TableNames() {
		def, _ := s.Table(name)
		t, existed := next.tables[name]
		if !existed {
			t = next.addTable(name)
			db.report.TablesCreated = append(db.report.TablesCreated, name)
		}
		if s.Validation() {
			t.validator = def.Validator()
		}
		if existed && !same && s.Validation() && needsRevalidation(old.schema, name, def) {
			if err := db.revalidate(snap, next, t, mismatch); err != nil {
				return nil, nil, err
			}
		}
	}
	if mismatch.Total > 0 {
		return nil, nil, mismatch
	}
	for _, t := range next.tables {
		var wanted []IndexDefinition
		var vectors []VectorIndexDefinition
		if def, ok := s.Table(t.name); ok {
			wanted, vectors = def.Indexes(), def.vectors
		} else if ixs, val, ok := systemIndexes(t); ok {
			wanted, t.validator = ixs, val
		}
		if err := db.syncVectorIndexes(snap, next, t, vectors, batch); err != nil {
			return nil, nil, err
		}
		if err := db.syncIndexes(snap, next, t, wanted, batch); err != nil {
			return nil, nil, err
		}
		if err := db.syncIndexExtras(snap, next, t, old.tables[t.name], wanted, batch, mismatch); err != nil {
			return nil, nil, err
		}
		var search []SearchIndexDefinition
		if def, ok := s.Table(t.name); ok {
			search = def.SearchIndexes()
		}
		if err := db.syncSearch(snap, next, t, search, batch); err != nil {
			return nil, nil, err
		}
	}
	if mismatch.Total > 0 {
		return nil, nil, mismatch // duplicates in an index that became unique
	}
	db.report.sort()
	return next, batch, nil
}

// forEachDoc calls fn with every document of t, decoded.
func forEachDoc(snap kv.Snapshot, t *tableInfo, fn func(doc map[string]any) error) error {
	it := snap.Iter(t.byID.prefix, prefixEnd(t.byID.prefix), false)
	defer it.Close()
	for it.Next() {
		id, _, ok := indexEntryID(t, it.Key())
		if !ok {
			return fmt.Errorf("%w: table %s has by_id key %x that does not end with an ID of the table", ErrCorrupt, t.name, it.Key())
		}
		doc, err := decodeDoc(it.Value(), id)
		if err != nil {
			return err
		}
		if err := fn(doc); err != nil {
			return err
		}
	}
	return storeErr(it.Err())
}

func (db *DB) revalidate(snap kv.Snapshot, c *catalog, t *tableInfo, mm *SchemaMismatchError) error {
	db.opts.Logger.Info("livedb: checking documents against the new schema", slog.String("table", t.name))
	var n int64
	err := forEachDoc(snap, t, func(doc map[string]any) error {
		n++
		if n%1000 == 0 {
			db.opts.report(Progress{Op: "revalidate", Table: t.name, Done: n, Total: -1})
		}
		user := make(map[string]any, len(doc))
		for k, x := range doc {
			if k != fieldID && k != fieldCreationTime {
				user[k] = x
			}
		}
		if _, err := conform(t.validator, user, c.tableName); err != nil {
			mm.Total++
			if len(mm.Failures) < maxMismatches {
				mm.Failures = append(mm.Failures, &DocumentError{Op: "revalidate", Table: t.name, ID: ID(doc[fieldID].(string)), Kind: ErrSchemaEnforcement, Err: err})
			}
		}
		return nil
	})
	db.report.TablesChecked = append(db.report.TablesChecked, TableCheck{Table: t.name, Documents: n})
	return err
}

// syncIndexes drops the user indexes of t that are not wanted (by name and
// fields) and creates and backfills the wanted ones that are missing.
func (db *DB) syncIndexes(snap kv.Snapshot, c *catalog, t *tableInfo, wanted []IndexDefinition, batch *kv.Batch) error {
	keep := t.indexes[:2:2]
	var added []*indexInfo
	for _, ix := range t.userIndexes() {
		if ix.vec != nil || slices.ContainsFunc(wanted, func(w IndexDefinition) bool { return w.Name == ix.name && slices.Equal(w.Fields, ix.fields) }) { // vector indexes: syncVectorIndexes
			keep = append(keep, ix)
			continue
		}
		db.opts.Logger.Info("livedb: dropping index", slog.String("table", t.name), slog.String("index", ix.name))
		n, err := deletePrefix(snap, ix.prefix, batch)
		if err != nil {
			return err
		}
		db.report.IndexesDropped = append(db.report.IndexesDropped, indexChange(ix, n))
	}
	for _, w := range wanted {
		if slices.ContainsFunc(keep, func(ix *indexInfo) bool { return ix.name == w.Name && ix.vec == nil }) {
			continue
		}
		ix := newIndexInfo(t, c.allocIndex(), w.Name, slices.Clone(w.Fields))
		keep = append(keep, ix)
		added = append(added, ix)
	}
	// Keep definition order for user indexes.
	user := keep[2:]
	slices.SortStableFunc(user, func(a, b *indexInfo) int {
		return slices.IndexFunc(wanted, func(w IndexDefinition) bool { return w.Name == a.name }) -
			slices.IndexFunc(wanted, func(w IndexDefinition) bool { return w.Name == b.name })
	})
	t.indexes = keep
	if len(added) == 0 {
		return nil
	}
	return db.backfill(snap, t, added, batch)
}

func (db *DB) backfill(snap kv.Snapshot, t *tableInfo, added []*indexInfo, batch *kv.Batch) error {
	names := make([]string, len(added))
	for i, ix := range added {
		names[i] = ix.name
	}
	idx := strings.Join(names, ",")
	var n int64
	err := forEachDoc(snap, t, func(doc map[string]any) error {
		if n == 0 {
			db.opts.Logger.Info("livedb: backfilling index", slog.String("table", t.name), slog.String("index", idx))
		}
		for _, ix := range added {
			if err := checkIndexVector(ix, doc); err != nil {
				return &DocumentError{Op: "backfill", Table: t.name, ID: ID(fmt.Sprint(doc[fieldID])), Kind: ErrInvalidDocument, Err: err}
			}
			batch.Put(indexKey(ix, doc), noValue)
		}
		n++
		if n%1000 == 0 {
			db.opts.report(Progress{Op: "backfill", Table: t.name, Index: idx, Done: n, Total: -1})
		}
		return nil
	})
	db.opts.report(Progress{Op: "backfill", Table: t.name, Index: idx, Done: n, Total: n})
	for _, ix := range added {
		db.report.IndexesAdded = append(db.report.IndexesAdded, indexChange(ix, n))
	}
	return err
}

// deletePrefix adds to batch the deletion of every key under prefix, and
// returns how many there are.
func deletePrefix(snap kv.Snapshot, prefix []byte, batch *kv.Batch) (int64, error) {
	it := snap.Iter(prefix, prefixEnd(prefix), false)
	defer it.Close()
	var n int64
	for it.Next() {
		batch.Delete(append([]byte(nil), it.Key()...))
		n++
	}
	return n, storeErr(it.Err())
}

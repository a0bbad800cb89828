package livedb

// The engine's part of import (package snapshot's Import and ImportTable,
// reached through internal/engine's Snapshot hooks, snapshot_bridge.go): it
// writes documents with the _id, _creationTime and table numbers they
// carry, which no user mutation can. (Export's part, a snapshot read
// without the per-transaction read limits, is the export view in
// export.go; the file formats of both are package internal/snapfile's.)
//
// An import is one commit through the committer, under the engine's own
// rules: the catalog change (tables it adds, tables it gives the number its
// documents carry) and every document write (deletes of a replaced table,
// inserts) commit together, as one mutation that bypasses the
// per-transaction limits: one storage commit, one timestamp, a change-feed
// record per document, subscriptions woken, and OCC against concurrent
// writers (the import reads each table's catalog entry and whole by_id
// range, so a concurrent write there makes it retry). A failed or crashed
// import leaves nothing behind.

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/livedb-go/livedb/internal/convexjson"
	"github.com/livedb-go/livedb/internal/engine"
	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/snapfile"
	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/v"
)

// importJob is one import: its tables in the order they are written, and
// what happens to the documents they already hold.
type importJob struct {
	mode   engine.ImportMode
	tables []*importTable
	report func(Progress)
	// now is the _creationTime given to documents without one, advanced by
	// one ulp per document as an insert does.
	now float64
}

// importTable is one table of an import.
type importTable struct {
	name   string
	file   string // the file its documents come from, for messages
	number uint32 // the number the import gives it; 0 while unknown
	src    snapfile.Source
	docs   []importDoc
	lines  map[string]int // _id → line, to find duplicates
	t      *tableInfo     // in the planned catalog
}

// importDoc is one validated document, encoded as it will be stored.
type importDoc struct {
	id   string
	line int
	enc  []byte
}

// newImportJob returns the engine's state of the import ej.
func newImportJob(ej *engine.ImportJob) *importJob {
	job := &importJob{mode: ej.Mode, report: func(Progress) {}}
	if f, ok := ej.Progress.(func(Progress)); ok && f != nil {
		job.report = f
	}
	for _, et := range ej.Tables {
		job.tables = append(job.tables, &importTable{name: et.Name, file: et.File, number: et.Number, src: et.Src})
	}
	return job
}

// runImport validates every document of job and commits them, with the
// catalog change, as one commit. Nothing is written when a document is
// bad.
func (db *DB) runImport(ctx context.Context, job *importJob) error {
	if db.isClosed() {
		return ErrClosed
	}
	if db.opts.ReadOnly {
		return fmt.Errorf("%w: the database was opened read-only", ErrReadOnly)
	}
	if err := db.importPrepare(ctx, job); err != nil {
		return err
	}
	return db.importCommit(ctx, job)
}

// importPrepare plans the catalog on the current one, which gives every
// table its number, and validates every document against it. The commit
// plans again on its own snapshot, with the same numbers.
func (db *DB) importPrepare(ctx context.Context, job *importJob) error {
	v, err := db.view(false)
	if err != nil {
		return err
	}
	changed, err := db.importPlanCatalog(v.cat, v.snap, job)
	v.snap.Release()
	if err != nil {
		return err
	}
	next := v.cat.with(changed...)
	for _, it := range job.tables {
		it.t = next.tables[it.name]
		if err := importReadTable(ctx, next, it, job); err != nil {
			return err
		}
	}
	return nil
}

// importPlanCatalog returns the tables of base that the import changes:
// tables it adds, and tables it gives the number its documents carry. It
// sets the number of every imported table (new ones get fresh numbers). A
// table number that another table of the database keeps is an error, as is
// renumbering a table whose documents an append keeps.
func (db *DB) importPlanCatalog(base *catalog, snap kv.Snapshot, job *importJob) ([]*tableInfo, error) {
	imported := map[string]*importTable{}
	for _, it := range job.tables {
		if err := db.checkDeclared(it.name); err != nil {
			return nil, &engine.ImportError{File: it.file, Table: it.name, Kind: ErrUndeclaredTable, Err: err}
		}
		imported[it.name] = it
	}
	owner := map[uint32]string{} // number → table in the final catalog
	for _, t := range base.tables {
		if imported[t.name] == nil {
			owner[t.number] = t.name
		}
	}
	// Tables whose number the import does not say keep theirs when it is
	// free; a number the import gives to another table is taken from them.
	for _, it := range job.tables {
		if it.number == 0 {
			continue
		}
		if it.number < firstUserTable {
			return nil, &engine.ImportError{File: it.file, Table: it.name, Kind: engine.ErrTableNumber,
				Err: fmt.Errorf("the import gives table %q the number %d, which belongs to system tables (user tables are numbered from %d)", it.name, it.number, firstUserTable)}
		}
		if other, ok := owner[it.number]; ok {
			if imported[other] != nil {
				return nil, &engine.ImportError{File: it.file, Table: it.name, Kind: engine.ErrImportFormat,
					Err: fmt.Errorf("tables %q and %q both have table number %d", other, it.name, it.number)}
			}
			return nil, &engine.ImportError{File: it.file, Table: it.name, Kind: engine.ErrTableNumber,
				Err: fmt.Errorf("the import gives table %q the number %d, which this database's table %q has; import into a fresh database, or include %q in a replace", it.name, it.number, other, other)}
		}
		owner[it.number] = it.name
	}
	for _, it := range job.tables {
		if it.number != 0 {
			continue
		}
		if t, ok := base.tables[it.name]; ok && owner[t.number] == "" {
			it.number = t.number
			owner[it.number] = it.name
		}
	}
	for _, it := range job.tables {
		if it.number != 0 {
			continue
		}
		n := db.nextTable.Add(1) - 1
		for owner[n] != "" || base.byNumber[n] != nil {
			n = db.nextTable.Add(1) - 1
		}
		it.number = n
		owner[n] = it.name
	}
	var changed []*tableInfo
	for _, it := range job.tables {
		t, ok := base.tables[it.name]
		switch {
		case !ok:
			ix := db.nextIndex.Add(2) - 2
			changed = append(changed, newTableInfo(it.name, it.number, ix, ix+1))
		case t.number != it.number:
			empty, err := tableEmptyAt(snap, t)
			if err != nil {
				return nil, err
			}
			if job.mode == engine.ImportAppend && !empty {
				return nil, &engine.ImportError{File: it.file, Table: it.name, Kind: engine.ErrTableNumber,
					Err: fmt.Errorf("table %q has number %d in this database but %d in the import, so the imported IDs would not be valid here; append needs the same number (use replace, or import into a fresh database)", it.name, t.number, it.number)}
			}
			changed = append(changed, t.renumbered(it.number))
		}
		if job.mode == engine.ImportRequireEmpty && ok {
			empty, err := tableEmptyAt(snap, t)
			if err != nil {
				return nil, err
			}
			if !empty {
				return nil, importNotEmpty(it)
			}
		}
	}
	return changed, nil
}

func importNotEmpty(it *importTable) error {
	return &engine.ImportError{File: it.file, Table: it.name, Kind: engine.ErrTableNotEmpty,
		Err: fmt.Errorf("table %q already has documents; import it in replace or append mode", it.name)}
}

// tableEmptyAt reports whether t has no document in snap.
func tableEmptyAt(snap kv.Snapshot, t *tableInfo) (bool, error) {
	it := snap.Iter(t.byID.prefix, prefixEnd(t.byID.prefix), false)
	defer it.Close()
	if it.Next() {
		return false, nil
	}
	return true, it.Err()
}

// importReadTable reads, checks and encodes every document of one table.
func importReadTable(ctx context.Context, c *catalog, it *importTable, job *importJob) error {
	it.lines = map[string]int{}
	var done int64
	total := it.src.Total()
	for {
		raw, line, err := it.src.Next()
		if err != nil {
			return &engine.ImportError{File: it.file, Line: line, Table: it.name, Kind: engine.ErrImportFormat, Err: err}
		}
		if raw == nil {
			break
		}
		x, err := it.src.Decode(raw)
		if err != nil {
			return importDocError(it, line, "", engine.ErrImportFormat, err)
		}
		d, kind, err := importConform(c, it.t, x, job)
		if err != nil {
			return importDocError(it, line, d.id, kind, err)
		}
		if first, dup := it.lines[d.id]; dup {
			return importDocError(it, line, d.id, engine.ErrDuplicateID, fmt.Errorf("_id %q already appears on line %d", d.id, first))
		}
		d.line = line
		it.lines[d.id] = line
		it.docs = append(it.docs, d)
		if done++; done%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			job.report(Progress{Op: "import", Table: it.name, Done: done, Total: total})
		}
	}
	job.report(Progress{Op: "import", Table: it.name, Done: done, Total: max(total, done)})
	return nil
}

func importDocError(it *importTable, line int, docID string, kind, err error) error {
	return &engine.ImportError{File: it.file, Line: line, Table: it.name, ID: docID, Path: errorPath(err), Kind: kind, Err: err}
}

// importConform checks one decoded document of table t: its system fields
// (kept when present, assigned when absent), its fields against the
// table's validator, and the document limits. It returns the document
// encoded as stored.
func importConform(c *catalog, t *tableInfo, x any, job *importJob) (importDoc, error, error) {
	var d importDoc
	doc, ok := x.(map[string]any)
	if !ok {
		k, _ := value.KindOf(x)
		return d, engine.ErrImportFormat, fmt.Errorf("a document must be an object, not %s", k)
	}
	user := make(map[string]any, len(doc))
	for k, x := range doc {
		if k == fieldID || k == fieldCreationTime {
			continue
		}
		if strings.HasPrefix(k, "_") {
			return d, ErrInvalidDocument, &importFieldError{path: "." + k, msg: fmt.Sprintf("field %q starts with an underscore, which is only allowed for system fields like '_id'", k)}
		}
		user[k] = x
	}
	docID, kind, err := importID(c, t, doc[fieldID])
	d.id = docID
	if err != nil {
		return d, kind, err
	}
	ct, err := importCreationTime(doc, job)
	if err != nil {
		return d, ErrInvalidDocument, err
	}
	var m map[string]any
	if t.validator != nil {
		y, err := conform(t.validator, user, c.tableName)
		if err != nil {
			return d, ErrSchemaEnforcement, err
		}
		m, _ = y.(map[string]any)
	} else {
		y, err := value.Normalize(user)
		if err != nil {
			return d, ErrInvalidDocument, err
		}
		m, _ = y.(map[string]any)
	}
	if m == nil {
		return d, ErrInvalidDocument, errors.New("the document is not an object")
	}
	m[fieldID], m[fieldCreationTime] = docID, ct
	if err := value.CheckDocument(m); err != nil {
		return d, ErrInvalidDocument, err
	}
	if d.enc, err = value.EncodeStoredDocument(m); err != nil {
		return d, ErrInvalidDocument, err
	}
	return d, nil, nil
}

// importID checks a document's _id, or makes one when it has none.
func importID(c *catalog, t *tableInfo, x any) (string, error, error) {
	if x == nil {
		s, err := id.New(t.number, timeNow(), crand.Reader)
		if err != nil {
			return "", ErrInvalidDocument, err
		}
		return s, nil, nil
	}
	s, ok := x.(string)
	if !ok {
		k, _ := value.KindOf(x)
		return "", ErrInvalidID, &importFieldError{path: "._id", msg: fmt.Sprintf("_id must be a string, not %s", k)}
	}
	n, _, err := id.Decode(s)
	if err != nil {
		return s, ErrInvalidID, &importFieldError{path: "._id", msg: err.Error(), err: err}
	}
	if n != t.number {
		owner := ""
		if o, ok := c.byNumber[n]; ok {
			owner = fmt.Sprintf(" (table %q)", o.name)
		}
		return s, ErrInvalidID, &importFieldError{path: "._id", msg: fmt.Sprintf("_id %q has table number %d%s, but table %q has number %d here", s, n, owner, t.name, t.number)}
	}
	return s, nil, nil
}

// importCreationTime checks a document's _creationTime (a float64 of
// milliseconds, finite, > 0, < 2^53), or assigns one when it has none.
func importCreationTime(doc map[string]any, job *importJob) (float64, error) {
	x, ok := doc[fieldCreationTime]
	if !ok {
		if job.now == 0 {
			job.now = float64(timeNow().UnixNano()) / 1e6
		}
		ct := job.now
		job.now = math.Nextafter(ct, math.Inf(1))
		return ct, nil
	}
	f, ok := x.(float64)
	if !ok {
		k, _ := value.KindOf(x)
		return 0, &importFieldError{path: "._creationTime", msg: fmt.Sprintf("_creationTime must be a float64 of milliseconds (written with a '.' or an exponent in export JSON), not %s %s", k, value.Format(x))}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f >= 1<<53 {
		return 0, &importFieldError{path: "._creationTime", msg: fmt.Sprintf("_creationTime %s is not a time: it must be finite, > 0 and < 2^53", value.Format(f))}
	}
	return f, nil
}

// importFieldError is a problem with one field of an imported document.
type importFieldError struct {
	path string
	msg  string
	err  error
}

func (e *importFieldError) Error() string { return e.msg + " (at path " + e.path + ")" }
func (e *importFieldError) Unwrap() error { return e.err }

// importCommit writes the documents of job as one commit, retrying on OCC
// conflicts like a mutation.
func (db *DB) importCommit(ctx context.Context, job *importJob) error {
	_, err := db.retry(ctx, func(sub submitter) (uint64, *conflict, error) {
		return db.importOnce(ctx, job, sub)
	})
	return err
}

// importOnce builds the import's writes on a fresh snapshot and submits
// them to the committer. On a conflict it returns errConflict and the
// write that caused it.
func (db *DB) importOnce(ctx context.Context, job *importJob, sub submitter) (uint64, *conflict, error) {
	tx, err := db.begin(ctx, true)
	if err != nil {
		return 0, nil, err
	}
	defer db.end(tx)
	changed, err := db.importPlanCatalog(tx.base, tx.snap, job)
	if err != nil {
		return 0, nil, err
	}
	for _, t := range changed {
		tx.createTable(t)
	}
	for _, it := range job.tables {
		// The import depends on its tables' catalog entries: a concurrent
		// change of one (a mutation creating the table, another import)
		// makes it start again.
		for _, k := range tableKeys(tx.cat.tables[it.name], tx.base.tables[it.name]) {
			tx.reads.addPoint(k)
		}
		if err := importStage(tx, job.mode, it); err != nil {
			return 0, nil, err
		}
	}
	ws := tx.writes
	ws.order = slices.DeleteFunc(ws.order, func(docID string) bool {
		pd := ws.docs[docID]
		if pd.newEnc != nil && bytes.Equal(pd.oldEnc, pd.newEnc) {
			delete(ws.docs, docID) // an unchanged document is not a write
			return true
		}
		return false
	})
	if err := importCheckUnique(tx); err != nil { // unique.go
		return 0, nil, err
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	if h := testHookImportStaged.Load(); h != nil {
		(*h)()
	}
	return db.commitTx(ctx, tx, sub)
}

// testHookImportStaged, when a test sets it, runs in importOnce between the
// import's snapshot and its commit: after its writes are staged, before
// they go to the committer.
var testHookImportStaged atomic.Pointer[func()]

// importStage adds one table's writes to tx: the deletes of a replace, then
// the imported documents. The table's whole by_id range is read, so any
// concurrent write to the table conflicts.
func importStage(tx *txn, mode engine.ImportMode, it *importTable) error {
	t := tx.cat.tables[it.name]
	if t == nil || t.number != it.number {
		return fmt.Errorf("livedb: import: table %q changed while it was being imported", it.name)
	}
	ws := tx.writes
	tx.reads.add(t.byID.prefix, prefixEnd(t.byID.prefix))
	iter := tx.snap.Iter(t.byID.prefix, prefixEnd(t.byID.prefix), false)
	for iter.Next() {
		if mode == engine.ImportRequireEmpty {
			iter.Close()
			return importNotEmpty(it)
		}
		if mode == engine.ImportAppend {
			break
		}
		enc := bytes.Clone(iter.Value())
		id, _, ok := indexEntryID(t, iter.Key())
		if !ok {
			iter.Close()
			return fmt.Errorf("%w: table %s has by_id key %x that does not end with an ID of the table", ErrCorrupt, t.name, iter.Key())
		}
		docID := string(id)
		doc, err := decodeDoc(enc, docID)
		if err != nil {
			iter.Close()
			return err
		}
		ws.docs[docID] = &pendingDoc{table: t, id: docID, oldEnc: enc, oldKeys: indexKeys(t, doc)}
		ws.order = append(ws.order, docID)
	}
	iter.Close()
	if err := iter.Err(); err != nil {
		return err
	}
	for _, d := range it.docs {
		pd, ok := ws.docs[d.id]
		if !ok {
			if mode == engine.ImportAppend {
				if _, exists, err := tx.snap.Get(docKey(t, d.id)); err != nil {
					return err
				} else if exists {
					return &engine.ImportError{File: it.file, Line: d.line, Table: it.name, ID: d.id, Path: "._id", Kind: engine.ErrDuplicateID,
						Err: fmt.Errorf("a document with _id %q already exists in table %q", d.id, it.name)}
				}
			}
			pd = &pendingDoc{table: t, id: d.id}
			ws.docs[d.id] = pd
			ws.order = append(ws.order, d.id)
		}
		doc, err := decodeDoc(d.enc, d.id)
		if err != nil {
			return err
		}
		keys := indexKeys(t, doc)
		if err := checkKeySizes(t, keys); err != nil {
			return &engine.ImportError{File: it.file, Line: d.line, Table: it.name, ID: d.id, Kind: ErrInvalidDocument, Err: err}
		}
		pd.newEnc, pd.newKeys = d.enc, keys
	}
	return nil
}

// errorPath finds the field path an error names, or "".
func errorPath(err error) string {
	var ve *v.ValidationError
	var je *convexjson.Error
	var le *value.LimitError
	var ne *value.NameError
	var nv *value.NotValueError
	var fe *importFieldError
	switch {
	case errors.As(err, &fe):
		return fe.path
	case errors.As(err, &ve):
		return ve.Path
	case errors.As(err, &je):
		return je.Path
	case errors.As(err, &ne):
		return ne.Path
	case errors.As(err, &le):
		return le.Path
	case errors.As(err, &nv):
		return nv.Path
	}
	return ""
}

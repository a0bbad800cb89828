package livedb

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/google/btree"

	"github.com/livedb-go/livedb/internal/id"
	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/value"
)

// pendingDoc is one document written by a mutation. Its keys are full keys
// (index prefix included), one per index of the table, in t.indexes order.
type pendingDoc struct {
	table   *tableInfo
	id      string
	oldEnc  []byte   // the version in the snapshot; nil when inserted here
	oldKeys [][]byte // index keys of oldEnc; nil when inserted here
	newEnc  []byte   // the current version; nil when deleted
	newKeys [][]byte // index keys of newEnc; nil when deleted

	newCached *cachedDoc // newEnc decoded, for the memory backend's readers (read_precache.go); may be nil
}

// overlayEntry is an index entry written by a mutation: present (pointing
// at id) or deleted. Scans merge it over the snapshot, overlay winning.
type overlayEntry struct {
	key     []byte
	id      string
	deleted bool
}

func overlayLess(a, b overlayEntry) bool { return bytes.Compare(a.key, b.key) < 0 }

// writeSet is a mutation's write buffer.
//
// The index overlay, which lets the mutation's own queries see its writes,
// is built lazily: stage only appends the entries to staged, and
// indexOverlay moves them into the per-index trees when a scan needs them.
// A mutation that writes without querying what it wrote (a bulk load, most
// single-document writes) never builds a tree: sorting each entry into one
// was a large part of Insert's CPU (bench/README.md).
type writeSet struct {
	docs  map[string]*pendingDoc
	order []string // first-write order, for a deterministic commit
	// tables are the tables this mutation creates, or that an import
	// gives another number, in the order it did so.
	tables  []*tableInfo
	overlay map[uint32]*btree.BTreeG[overlayEntry]
	staged  []stagedEntry // overlay entries not in overlay yet, oldest first
}

// stagedEntry is an overlay entry of one index, waiting for indexOverlay.
type stagedEntry struct {
	indexID uint32
	overlayEntry
}

func newWriteSet() *writeSet {
	return &writeSet{docs: map[string]*pendingDoc{}, overlay: map[uint32]*btree.BTreeG[overlayEntry]{}}
}

// indexOverlay returns the mutation's entries of an index, or nil when it
// wrote none.
func (ws *writeSet) indexOverlay(indexID uint32) *btree.BTreeG[overlayEntry] {
	ws.flushStaged()
	return ws.overlay[indexID]
}

// flushStaged moves the staged entries into the overlay trees, in the
// order they were staged, so a later entry for a key replaces an earlier.
func (ws *writeSet) flushStaged() {
	for _, e := range ws.staged {
		t := ws.overlay[e.indexID]
		if t == nil {
			t = btree.NewG(16, overlayLess)
			ws.overlay[e.indexID] = t
		}
		t.ReplaceOrInsert(e.overlayEntry)
	}
	clear(ws.staged) // drop the references to keys and IDs
	ws.staged = ws.staged[:0]
}

// fieldValue follows a field path through objects; anything else on the way
// yields Undefined (docs/semantics.md#names).
func fieldValue(doc map[string]any, path []string) any {
	var cur any = doc
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return value.Undefined
		}
		if cur, ok = m[p]; !ok {
			return value.Undefined
		}
	}
	return cur
}

// Writer is the read and write access of a mutation: Convex's ctx.db in a
// mutation. Its writes are buffered, seen by its own reads, and committed
// atomically when the mutation's function returns nil. It is only valid
// inside that function and is not safe for concurrent use.
type Writer struct {
	Reader
}

// Insert adds a document to table and returns its new ID. The table is
// created if it does not exist yet (a table absent from the schema takes
// any document). doc must not contain _id or _creationTime; they are
// assigned. A document that fails validation is refused with a
// *DocumentError and nothing is written.
func (w *Writer) Insert(table string, doc Doc) (ID, error) {
	tx := w.tx
	if err := tx.checkUsable(); err != nil {
		return "", err
	}
	fail := func(kind, err error) (ID, error) {
		return "", &DocumentError{Op: "insert", Table: table, Kind: kind, Err: err}
	}
	t, err := tx.table("insert", table)
	if err != nil {
		return "", err
	}
	for _, f := range []string{fieldID, fieldCreationTime} {
		if _, ok := doc[f]; ok {
			return fail(ErrInvalidDocument, fmt.Errorf("field %s is assigned by the database and cannot be given to insert", f))
		}
	}
	created := t == nil
	if created {
		if tx.writes == nil {
			return fail(ErrReadOnly, nil)
		}
		t = tx.db.allocTable(tx.cat, table) // created below, once the document is accepted
	}
	m, cerr := tx.conform(t, map[string]any(doc))
	if cerr != nil {
		return "", cerr.withOp("insert", table, "")
	}
	newID, err := id.New(t.number, timeNow(), rand.Reader)
	if err != nil {
		return fail(ErrInvalidDocument, err)
	}
	m[fieldID] = newID
	m[fieldCreationTime] = tx.nextCreationTime()
	if err := value.CheckDocument(m); err != nil {
		return fail(ErrInvalidDocument, err)
	}
	if created {
		tx.createTable(t)
	}
	if err := tx.stage("insert", t, newID, nil, nil, m); err != nil {
		return "", err
	}
	return ID(newID), nil
}

// Patch shallowly merges fields into the document: new fields are added,
// existing ones overwritten, and a field set to [Undefined] is removed.
// Nested objects are replaced whole. _id and _creationTime may appear only
// with the document's current values. The result is validated like an
// insert; a patch that changes nothing is not a write.
func (w *Writer) Patch(docID ID, fields Doc) error {
	return w.tx.update("patch", docID, func(cur map[string]any) (map[string]any, error) {
		out := make(map[string]any, len(cur)+len(fields))
		for k, x := range cur {
			out[k] = x
		}
		for k, x := range fields {
			if k == fieldID || k == fieldCreationTime {
				if !value.Equal(x, cur[k]) {
					return nil, fmt.Errorf("field %s %s does not match the document's %s", k, value.Format(x), value.Format(cur[k]))
				}
				continue
			}
			if value.IsUndefined(x) {
				delete(out, k)
				continue
			}
			out[k] = x
		}
		return out, nil
	})
}

// Replace replaces every field of the document but _id and _creationTime,
// which doc may contain only with their current values. The result is
// validated like an insert; a replace that changes nothing is not a write.
func (w *Writer) Replace(docID ID, doc Doc) error {
	return w.tx.update("replace", docID, func(cur map[string]any) (map[string]any, error) {
		out := make(map[string]any, len(doc)+2)
		for k, x := range doc {
			if k == fieldID || k == fieldCreationTime {
				if !value.Equal(x, cur[k]) {
					return nil, fmt.Errorf("field %s %s does not match the document's %s", k, value.Format(x), value.Format(cur[k]))
				}
				continue
			}
			out[k] = x
		}
		out[fieldID], out[fieldCreationTime] = cur[fieldID], cur[fieldCreationTime]
		return out, nil
	})
}

// Delete removes the document. Deleting a document that does not exist is
// an error wrapping ErrNotFound.
func (w *Writer) Delete(docID ID) error {
	tx := w.tx
	t, cur, enc, err := tx.current("delete", docID)
	if err != nil {
		return err
	}
	return tx.stage("delete", t, cur[fieldID].(string), enc, cur, nil)
}

// current loads the document a write applies to, recording the read. It
// returns the decoded document and its encoding (which may point into the
// snapshot: valid only while the snapshot is).
func (tx *txn) current(op string, docID ID) (_ *tableInfo, _ map[string]any, _ []byte, err error) {
	defer catchFault(&err, guardFaults())
	if err := tx.checkUsable(); err != nil {
		return nil, nil, nil, err
	}
	t, ok, err := tx.resolveID(docID)
	if err != nil {
		return nil, nil, nil, idError(op, docID, err)
	}
	missing := &DocumentError{Op: op, ID: docID, Kind: ErrNotFound}
	if !ok {
		return nil, nil, nil, missing
	}
	missing.Table = t.name
	if err := tx.checkSystemWrite(op, t, string(docID)); err != nil {
		return nil, nil, nil, err
	}
	k, succ := pointKeys(t, string(docID))
	if err := tx.recordRead(k, succ); err != nil {
		return nil, nil, nil, err
	}
	enc, ok, err := tx.loadEncoded(t, string(docID))
	if err != nil {
		return nil, nil, nil, err
	}
	if !ok {
		return nil, nil, nil, missing
	}
	if err := tx.countRead(len(enc)); err != nil {
		return nil, nil, nil, err
	}
	cur, err := decodeDoc(enc, docID)
	if err != nil {
		return nil, nil, nil, err
	}
	return t, cur, enc, nil
}

// update runs a patch or replace: load, apply, validate, stage.
func (tx *txn) update(op string, docID ID, apply func(cur map[string]any) (map[string]any, error)) error {
	t, cur, enc, err := tx.current(op, docID)
	if err != nil {
		return err
	}
	fail := func(kind, err error) error {
		return &DocumentError{Op: op, Table: t.name, ID: docID, Kind: kind, Err: err}
	}
	next, err := apply(cur)
	if err != nil {
		return fail(ErrInvalidDocument, err)
	}
	sys := [2]any{next[fieldID], next[fieldCreationTime]}
	delete(next, fieldID)
	delete(next, fieldCreationTime)
	m, cerr := tx.conform(t, next)
	if cerr != nil {
		return cerr.withOp(op, t.name, docID)
	}
	m[fieldID], m[fieldCreationTime] = sys[0], sys[1]
	if err := value.CheckDocument(m); err != nil {
		return fail(ErrInvalidDocument, err)
	}
	if value.Equal(m, cur) {
		return nil // not a write (docs/semantics.md#writes)
	}
	return tx.stage(op, t, sys[0].(string), enc, cur, m)
}

// conform validates the user fields of a document (no system fields) and
// returns them in canonical form. The error's Op, Table and ID are left for
// the caller to fill in.
func (tx *txn) conform(t *tableInfo, doc map[string]any) (map[string]any, *DocumentError) {
	if tx.writes == nil {
		return nil, &DocumentError{Kind: ErrReadOnly}
	}
	for k := range doc {
		if strings.HasPrefix(k, "_") {
			return nil, &DocumentError{Kind: ErrInvalidDocument, Err: fmt.Errorf("field %q starts with an underscore, which is only allowed for system fields like '_id'", k)}
		}
	}
	var x any
	var err error
	if t.validator != nil {
		x, err = conform(t.validator, doc, tx.cat.tableName)
		if err != nil {
			return nil, &DocumentError{Kind: ErrSchemaEnforcement, Err: err}
		}
	} else {
		x, err = value.Normalize(doc)
		if err != nil {
			return nil, &DocumentError{Kind: ErrInvalidDocument, Err: err}
		}
	}
	m, ok := x.(map[string]any)
	if !ok {
		return nil, &DocumentError{Kind: ErrInvalidDocument, Err: errors.New("value must be an object")}
	}
	return m, nil
}

// stage records a write of document docID from prev (the version this
// transaction saw, encoded as prevEnc; nil for an insert) to next (nil for a
// delete), and updates the index overlay.
func (tx *txn) stage(op string, t *tableInfo, docID string, prevEnc []byte, prev, next map[string]any) error {
	ws := tx.writes
	if ws == nil {
		return ErrReadOnly
	}
	if err := tx.checkSystemWrite(op, t, docID); err != nil {
		return err
	}
	var newKeys [][]byte
	var nextEnc []byte
	if next != nil {
		newKeys = indexKeys(t, next)
		if err := checkKeySizes(t, newKeys); err != nil {
			return &DocumentError{Op: op, Table: t.name, ID: ID(docID), Kind: ErrInvalidDocument, Err: err}
		}
		if err := checkDocVectors(t, next); err != nil {
			return &DocumentError{Op: op, Table: t.name, ID: ID(docID), Kind: ErrInvalidDocument, Err: err}
		}
		if err := tx.checkUnique(op, t, docID, next); err != nil { // unique.go
			return err
		}
		var err error
		if nextEnc, err = value.EncodeStoredDocument(next); err != nil {
			return &DocumentError{Op: op, Table: t.name, ID: ID(docID), Kind: ErrInvalidDocument, Err: err}
		}
	}
	pd, seen := ws.docs[docID]
	if !seen {
		pd = &pendingDoc{table: t, id: docID}
		if prev != nil {
			pd.oldEnc = bytes.Clone(prevEnc) // the snapshot ends before the commit
			pd.oldKeys = indexKeys(t, prev)
		}
		ws.docs[docID] = pd
		ws.order = append(ws.order, docID)
		tx.docsWritten++
		if tx.docsWritten > tx.limits.DocumentsWritten {
			return &LimitError{Limit: "documents written", Max: int64(tx.limits.DocumentsWritten)}
		}
	}
	prevKeys := pd.newKeys
	if !seen {
		prevKeys = pd.oldKeys
	}
	pd.newEnc, pd.newKeys, pd.newCached = nil, nil, nil
	if next != nil {
		pd.newEnc = nextEnc
		pd.newKeys = newKeys
		if tx.db.keepsMemos() {
			pd.newCached = precachedDoc(next, pd.newEnc)
		}
		tx.bytesWritten += int64(len(pd.newEnc))
		if tx.bytesWritten > tx.limits.BytesWritten {
			return &LimitError{Limit: "bytes written", Max: tx.limits.BytesWritten}
		}
	}
	for i, ix := range t.indexes {
		if prevKeys != nil {
			ws.staged = append(ws.staged, stagedEntry{ix.id, overlayEntry{key: prevKeys[i], id: docID, deleted: true}})
		}
		if pd.newKeys != nil {
			ws.staged = append(ws.staged, stagedEntry{ix.id, overlayEntry{key: pd.newKeys[i], id: docID}})
		}
	}
	return nil
}

// checkKeySizes returns an error when one of a document's index keys
// (keys, in t.indexes order) is longer than a store takes: a long value in
// an indexed field. The error names the index and its fields.
func checkKeySizes(t *tableInfo, keys [][]byte) error {
	for i, k := range keys {
		if len(k) > kv.MaxKeySize {
			ix := t.indexes[i]
			return fmt.Errorf("its key in index %s.%s (fields %s) is %d bytes, more than the %d an index key may have: index a shorter field, or a prefix of this one", t.name, ix.name, strings.Join(ix.fieldNames(), ", "), len(k), kv.MaxKeySize)
		}
	}
	return nil
}

// checkTableName applies Convex's table-name rules.
func checkTableName(name string) error {
	if err := value.CheckIdentifier(name); err != nil {
		return err
	}
	if strings.HasPrefix(name, "_") {
		return fmt.Errorf("invalid table name %s starts with metadata prefix '_'", name)
	}
	return nil
}

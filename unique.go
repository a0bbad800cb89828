package livedb

import (
	"fmt"
	"strings"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/value"
)

// Unique indexes. Convex has none: its users check with a query before the
// insert, inside the same mutation. livedb does the same, in the engine:
// before a write is staged, the index range of the new values is read
// through the transaction (its own writes included) and recorded in its
// read set. Two mutations that insert the same values therefore both read
// that range; the first to commit writes a key inside the range the second
// read, so the second conflicts, re-runs, and then finds the first's
// document.
//
// A document that lacks one of the index's fields (the field is undefined)
// is exempt: it collides with no document. This is SQL's rule for NULL,
// and for the same reason: an optional field ("email", set once known) is
// the common case, and uniqueness is about the values that are set. null
// is a value in Convex, not an absence, so two documents whose field is
// null do collide.

// Unique marks the index defined just before it as unique: no two
// documents of the table may have the same values of the index's fields.
// An insert, patch or replace that would break the rule fails with a
// *[UniqueError] and writes nothing; [Open] refuses a schema that makes an
// index unique while the table holds duplicates. Documents lacking one of
// the fields are exempt. Unique with no index before it is a mistake
// reported by [Schema.Err].
func (t *TableDefinition) Unique() *TableDefinition {
	if len(t.indexes) == 0 {
		if t.defErr == "" {
			t.defErr = "Unique() must follow the Index(...) it applies to"
		}
		return t
	}
	t.indexes[len(t.indexes)-1].Unique = true
	return t
}

// UniqueError is the error of a write that would give two documents the
// same values of a unique index's fields. It wraps [ErrUniqueViolation].
type UniqueError struct {
	Table    string
	Index    string
	Fields   []string // the index's fields
	Values   []any    // the values the write gave them, in Fields order
	ID       ID       // the document written; "" for an insert
	Existing ID       // the document that already has these values
}

// Error names the index, the values and the document that holds them.
func (e *UniqueError) Error() string {
	vals := make([]string, len(e.Values))
	for i, x := range e.Values {
		vals[i] = e.Fields[i] + "=" + value.Format(x)
	}
	return fmt.Sprintf("livedb: unique index %s.%s: %s already belongs to document %s", e.Table, e.Index, strings.Join(vals, ", "), e.Existing)
}

// summary returns the violation on one line for a report of Open, each
// value cut to width runes: the index, the values and the other document.
func (e *UniqueError) summary(width int) string {
	vals := make([]string, len(e.Values))
	for i, x := range e.Values {
		vals[i] = e.Fields[i] + "=" + clip(value.Format(x), width)
	}
	return fmt.Sprintf("unique index %s: %s also in %s", e.Index, strings.Join(vals, ", "), e.Existing)
}

// Unwrap returns ErrUniqueViolation.
func (e *UniqueError) Unwrap() error { return ErrUniqueViolation }

// uniquePrefix returns the key prefix that the values of ix's fields in doc
// give, and the values; ok is false when one of them is undefined (the
// document is exempt).
func uniquePrefix(ix *indexInfo, doc map[string]any) (prefix []byte, vals []any, ok bool) {
	prefix = append(make([]byte, 0, 64), ix.prefix...)
	for _, p := range ix.paths {
		x := fieldValue(doc, p)
		if value.IsUndefined(x) {
			return nil, nil, false
		}
		vals = append(vals, x)
		prefix = value.AppendKey(prefix, x)
	}
	return prefix, vals, true
}

// checkUnique is the hook of stage: it returns a *UniqueError when next,
// the new version of document docID of t, has the values of a unique index
// that another document has, as the transaction sees them. Each range read
// goes into the read set, so that a concurrent commit of the same values
// conflicts.
func (tx *txn) checkUnique(op string, t *tableInfo, docID string, next map[string]any) error {
	for _, ix := range t.userIndexes() {
		if !ix.unique {
			continue
		}
		prefix, vals, ok := uniquePrefix(ix, next)
		if !ok {
			continue
		}
		other, err := tx.uniqueHolder(ix, prefix, docID)
		if err != nil {
			return err
		}
		if other != "" {
			e := &UniqueError{Table: t.name, Index: ix.name, Fields: append([]string(nil), ix.fields...), Values: vals, Existing: ID(other)}
			if op != "insert" {
				e.ID = ID(docID)
			}
			return e
		}
	}
	return nil
}

// uniqueHolder returns the ID of a document other than self whose entry in
// ix starts with prefix (the complete values of its fields), or "". It
// reads the keys only, the snapshot's merged with the transaction's own
// writes, and records the range it read.
func (tx *txn) uniqueHolder(ix *indexInfo, prefix []byte, self string) (string, error) {
	start, end := prefix, afterValues(prefix)
	var found string
	err := tx.scanKeys(ix, start, end, func(key []byte) bool {
		id, _, ok := indexEntryID(ix.table, key)
		if ok && string(id) != self {
			found = string(id)
			return false
		}
		return true
	})
	if err != nil {
		return "", err
	}
	return found, tx.recordRead(start, end)
}

// scanKeys calls fn with every key of ix in [start, end) that the
// transaction sees (the snapshot's, merged with its own writes: its own
// first, then the snapshot's), until fn returns false. It decodes no document and records no read.
func (tx *txn) scanKeys(ix *indexInfo, start, end []byte, fn func(key []byte) bool) error {
	var own map[string]bool // the transaction's entries in the range: key → present
	var ownKeys [][]byte
	if tx.writes != nil {
		if ov := tx.writes.indexOverlay(ix.id); ov != nil {
			ov.AscendRange(overlayEntry{key: start}, overlayEntry{key: end}, func(e overlayEntry) bool {
				if own == nil {
					own = map[string]bool{}
				}
				own[string(e.key)] = !e.deleted
				if !e.deleted {
					ownKeys = append(ownKeys, e.key)
				}
				return true
			})
		}
	}
	for _, k := range ownKeys {
		if !fn(k) {
			return nil
		}
	}
	it := tx.snap.Iter(start, end, false)
	defer it.Close()
	for it.Next() {
		if _, mine := own[string(it.Key())]; mine {
			continue // deleted, or given to fn above
		}
		if !fn(it.Key()) {
			return nil
		}
	}
	return storeErr(it.Err())
}

// uniqueDuplicates is the hook of Open: it adds to mm every document of t
// whose values of the unique index ix another document of t has, reading
// snap. ix is an index that became unique (new, or unique now), and its
// entries may not exist yet, so the documents are read.
func uniqueDuplicates(snap kv.Snapshot, t *tableInfo, ix *indexInfo, mm *SchemaMismatchError) error {
	first := map[string]string{} // prefix → first document's ID
	return forEachDoc(snap, t, func(doc map[string]any) error {
		prefix, vals, ok := uniquePrefix(ix, doc)
		if !ok {
			return nil
		}
		docID, _ := doc[fieldID].(string)
		other, dup := first[string(prefix)]
		if !dup {
			first[string(prefix)] = docID
			return nil
		}
		mm.Total++
		if len(mm.Failures) < maxMismatches {
			ue := &UniqueError{Table: t.name, Index: ix.name, Fields: append([]string(nil), ix.fields...), Values: vals, ID: ID(docID), Existing: ID(other)}
			mm.Failures = append(mm.Failures, &DocumentError{Op: "unique", Table: t.name, ID: ID(docID), Kind: ErrUniqueViolation, Err: ue})
		}
		return nil
	})
}

// importCheckUnique is the hook of an import: it returns a *UniqueError
// when the documents the import writes give two documents of a table the
// same values of a unique index, among themselves or with a document the
// import keeps. The snapshot ranges it reads lie in the tables' by_id
// ranges that the import has read already.
func importCheckUnique(tx *txn) error {
	ws := tx.writes
	seen := map[string]string{} // index prefix → ID
	for _, docID := range ws.order {
		pd := ws.docs[docID]
		if pd.newEnc == nil {
			continue
		}
		var doc map[string]any
		for _, ix := range pd.table.userIndexes() {
			if !ix.unique {
				continue
			}
			if doc == nil {
				var err error
				if doc, err = decodeDoc(pd.newEnc, docID); err != nil {
					return err
				}
			}
			prefix, vals, ok := uniquePrefix(ix, doc)
			if !ok {
				continue
			}
			fail := func(other string) error {
				return &UniqueError{Table: ix.table.name, Index: ix.name, Fields: append([]string(nil), ix.fields...), Values: vals, ID: ID(docID), Existing: ID(other)}
			}
			if other, dup := seen[string(prefix)]; dup {
				return fail(other)
			}
			seen[string(prefix)] = docID
			it := tx.snap.Iter(prefix, afterValues(prefix), false)
			for it.Next() {
				id, _, ok := indexEntryID(ix.table, it.Key())
				if ok && ws.docs[string(id)] == nil { // a document the import keeps
					it.Close()
					return fail(string(id))
				}
			}
			it.Close()
			if err := it.Err(); err != nil {
				return storeErr(err)
			}
		}
	}
	return nil
}

// String prints the definition as {name [fields]}, followed by "unique"
// and "aggregate[sums]" when they are set.
func (ix IndexDefinition) String() string {
	s := fmt.Sprintf("{%s %v", ix.Name, ix.Fields)
	if ix.Unique {
		s += " unique"
	}
	if ix.Aggregate {
		s += fmt.Sprintf(" aggregate%v", ix.Sums)
	}
	return s + "}"
}

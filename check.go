package livedb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
)

// problem returns err's text as an item of the list of problems that
// Check returns, without the prefix that the list's own ErrCorrupt gives.
func problem(err error) string {
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), ErrCorrupt.Error()+": "), errPrefix)
}

func errIndexDrift(ix *indexInfo, key []byte) error {
	return fmt.Errorf("%w: index %s.%s has entry %x for a document that does not exist", ErrCorrupt, ix.table.name, ix.name, shown(key))
}

// maxShown is how many bytes of a stored key or value an error message
// shows. In a damaged file a length can claim gigabytes, and a message that
// quoted them all would take as much memory.
const maxShown = 256

// shown formats at most maxShown bytes of a stored key or value, with the
// verb it is given (%q, %x), and says how long it is when it cuts.
type shown []byte

// Format implements fmt.Formatter.
func (b shown) Format(f fmt.State, verb rune) {
	if len(b) <= maxShown {
		fmt.Fprintf(f, fmt.FormatString(f, verb), []byte(b))
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb)+"... (%d bytes)", []byte(b[:maxShown]), len(b))
}

// Check verifies, at one snapshot, that every document decodes and has
// exactly the entries its fields produce in every index of its table, and
// that every index entry belongs to a document that produces it. It
// returns nil or an error wrapping ErrCorrupt that lists up to 10 problems.
// It reads the whole database.
func (db *DB) Check(ctx context.Context) (err error) {
	defer catchFault(&err, guardFaults())
	tx, err := db.begin(ctx, false)
	if err != nil {
		return err
	}
	defer db.end(tx)
	var problems []string
	add := func(format string, args ...any) {
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	for _, t := range tx.cat.tables {
		if err := checkTable(ctx, tx, t, add); err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w:\n  %s", ErrCorrupt, strings.Join(problems, "\n  "))
	}
	return nil
}

func checkTable(ctx context.Context, tx *txn, t *tableInfo, add func(string, ...any)) error {
	docs := 0
	err := forEachDoc(tx.snap, t, func(doc map[string]any) error {
		docs++
		if docs%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		docID, _ := doc[fieldID].(string)
		for _, ix := range t.indexes[1:] { // by_creation_time and the user's
			k := indexKey(ix, doc)
			got, ok, err := tx.snap.Get(k)
			switch {
			case err != nil:
				return storeErr(err)
			case !ok:
				add("table %q document %q: missing entry in index %s", t.name, docID, ix.name)
			case len(got) > 0:
				add("table %q document %q: entry in index %s holds a value, %q", t.name, docID, ix.name, shown(got))
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			add("table %q: %s", t.name, problem(err))
			return nil
		}
		return storeErr(err)
	}
	if err := checkSearch(tx, t, add); err != nil {
		return err
	}
	for _, ix := range t.indexes[1:] {
		n, err := checkEntries(tx, ix, add)
		if err != nil {
			return err
		}
		if n != docs {
			add("table %q index %s has %d entries for %d documents", t.name, ix.name, n, docs)
		}
	}
	return checkAggregates(tx, t, add) // aggregate.go
}

// checkEntries verifies that every entry of ix belongs to a document that
// produces exactly that key, and counts the entries.
func checkEntries(tx *txn, ix *indexInfo, add func(string, ...any)) (int, error) {
	it := tx.snap.Iter(ix.prefix, prefixEnd(ix.prefix), false)
	defer it.Close()
	n := 0
	for it.Next() {
		n++
		id, _, ok := indexEntryID(ix.table, it.Key())
		docID := string(id)
		if !ok {
			add("table %q index %s: entry %x does not end with an ID of the table", ix.table.name, ix.name, shown(it.Key()))
			continue
		}
		if v := it.Value(); len(v) > 0 {
			add("table %q index %s: entry for document %q holds a value, %q", ix.table.name, ix.name, docID, shown(v))
		}
		enc, ok, err := tx.snap.Get(docKey(ix.table, docID))
		if err != nil {
			return n, storeErr(err)
		}
		if !ok {
			add("table %q index %s: entry for missing document %q", ix.table.name, ix.name, docID)
			continue
		}
		doc, err := decodeDoc(enc, docID)
		if err != nil {
			add("table %q document %q: %s", ix.table.name, docID, problem(err))
			continue
		}
		if !bytes.Equal(indexKey(ix, doc), it.Key()) {
			add("table %q index %s: stale entry for document %q", ix.table.name, ix.name, docID)
		}
	}
	return n, storeErr(it.Err())
}

package livedb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/livedb-go/livedb/internal/kv"
	"github.com/livedb-go/livedb/internal/value"
	"github.com/livedb-go/livedb/v"
)

// Aggregates: counts and sums kept by an index.
//
// An index declared with [TableDefinition.Aggregate] keeps, for every
// prefix of its fields' values (0 to n fields), the number of documents
// with that prefix and, for each summed field, the sum of its numeric
// values. The rows live in livedb's keyspace under an id of their own,
// allocated like an index id (and never reused):
//
//	0x01 aggID(4) sel(1) depth(1) sortkey(v1…v_depth)   value: n(8) sum(8)
//
// sel is 0 for the count rows and j+1 for the rows of the j-th summed
// field; depth is how many of the index's fields the row fixes. A count row
// holds n, the number of documents; a sum row holds n, the number of
// documents whose field is a finite number, and sum, their sum as a
// float64. A row whose n reaches 0 is deleted, so the rows of a depth are
// exactly the distinct prefixes present.
//
// Worked example: an index on (workflowId, status) with Aggregate("cost")
// and documents {w1, done, cost 2}, {w1, run, cost 3}, {w2, done} has the
// count rows () → 3, (w1) → 2, (w2) → 1, (w1, done) → 1, (w1, run) → 1,
// (w2, done) → 1, and the cost rows () → (2, 5), (w1) → (2, 5),
// (w1, done) → (1, 2), (w1, run) → (1, 3): {w2, done} has no cost.
//
// The committer keeps the rows: after the group's mutations are accepted,
// it derives each one's changes to the rows from the documents it writes
// and adds them to the rows' current values, as blind writes of the
// group's storage batch. No mutation reads a row to write it, so inserts
// into one aggregate never conflict with each other; the row keys a commit
// changed join its record's read-set keys, so a Count or Sum that read a
// row conflicts or re-runs exactly when that row changed. The rows are part
// of the group's storage writes, which a shared database's log carries:
// every process applies the same rows. Count and Sum read the rows
// (aggregate_read.go).

// aggInfo describes the aggregate an index keeps. It is immutable.
type aggInfo struct {
	id       uint32
	prefix   []byte // indexPrefix(id)
	sums     []string
	sumPaths [][]string
}

func newAggInfo(id uint32, sums []string) *aggInfo {
	a := &aggInfo{id: id, prefix: indexPrefix(id), sums: slices.Clone(sums)}
	for _, f := range sums {
		a.sumPaths = append(a.sumPaths, strings.Split(f, "."))
	}
	return a
}

// Aggregate declares that the index defined just before it keeps counts
// of its ranges and the sums of the given numeric fields, so that
// [Query.Count] and [Query.Sum] on the index read a few stored rows
// instead of every document: an Eq-only range (on any prefix of the
// index's fields) is one read, and a range with bounds on the next field
// reads one row per distinct value of that field inside the bounds. The
// counts and sums are kept in the same commit as the documents.
//
// Sums skip documents whose field is missing or not a finite number (as
// SQL's SUM skips NULL); Int64 and Float64 values are summed as float64,
// so an Int64 sum is exact up to 2^53. Aggregate with no index before it
// is a mistake reported by [Schema.Err]; calling it twice on one index
// adds to the list of sums.
func (t *TableDefinition) Aggregate(sums ...string) *TableDefinition {
	if len(t.indexes) == 0 {
		if t.defErr == "" {
			t.defErr = "Aggregate(...) must follow the Index(...) it applies to"
		}
		return t
	}
	ix := &t.indexes[len(t.indexes)-1]
	ix.Aggregate = true
	ix.Sums = append(ix.Sums, sums...)
	return t
}

// checkAggregate applies the rules of an aggregate's sums: each is a valid
// field path, not a system field, listed once, and (with validation) one
// the validator can hold.
func (s *Schema) checkAggregate(table string, t *TableDefinition, ix IndexDefinition) error {
	fail := func(reason string) error { return &SchemaError{Table: table, Index: ix.Name, Reason: reason} }
	if len(ix.Sums) > 0 && !ix.Aggregate {
		return fail("sums are listed but the index keeps no aggregate")
	}
	for i, f := range ix.Sums {
		if problem := schemaFieldPathProblem(f); problem != "" {
			return fail(fmt.Sprintf("Invalid summed field: %q. %s", f, problem))
		}
		if strings.HasPrefix(f, "_") || strings.Contains(f, "._") {
			return fail(fmt.Sprintf("Summed field %q is a system or reserved field.", f))
		}
		if slices.Contains(ix.Sums[:i], f) {
			return fail(fmt.Sprintf("Summed field %q is listed twice.", f))
		}
		if s.validation && !v.HasFieldPath(t.validator, strings.Split(f, ".")) {
			return fail(fmt.Sprintf("Summed field %q does not exist in the table's validator.", f))
		}
	}
	return nil
}

// aggVal is a row's value, or a change to it.
type aggVal struct {
	n   int64
	sum float64
}

func encodeAggVal(a aggVal) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(a.n))
	return binary.BigEndian.AppendUint64(b, math.Float64bits(a.sum))
}

func decodeAggVal(b []byte) (aggVal, error) {
	if len(b) != 16 {
		return aggVal{}, fmt.Errorf("%w: aggregate row of %d bytes, want 16", ErrCorrupt, len(b))
	}
	return aggVal{n: int64(binary.BigEndian.Uint64(b)), sum: math.Float64frombits(binary.BigEndian.Uint64(b[8:]))}, nil
}

// aggRowBase returns the prefix of the rows of one selector and depth.
func aggRowBase(a *aggInfo, sel, depth int) []byte {
	return append(slices.Clip(a.prefix), byte(sel), byte(depth))
}

// summable returns x as a float64 when it is a finite number.
func summable(x any) (float64, bool) {
	var f float64
	switch t := x.(type) {
	case float64:
		f = t
	case int64:
		f = float64(t)
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// aggPrefixes returns, for d = 0..n, the sort keys of the first d values
// of ix's fields in doc (all slices of one array).
func aggPrefixes(ix *indexInfo, doc map[string]any) [][]byte {
	out := make([][]byte, len(ix.paths)+1)
	buf := make([]byte, 0, 64)
	out[0] = buf
	for i, p := range ix.paths {
		buf = value.AppendKey(buf, fieldValue(doc, p))
		out[i+1] = buf[:len(buf):len(buf)]
	}
	return out
}

// aggChanges calls add with every row change that writing a document of
// ix's table from old to new (either may be nil) makes: nothing for a row
// whose value it leaves as it is.
func aggChanges(ix *indexInfo, old, new map[string]any, add func(key []byte, d aggVal)) {
	a := ix.agg
	var oldP, newP [][]byte
	if old != nil {
		oldP = aggPrefixes(ix, old)
	}
	if new != nil {
		newP = aggPrefixes(ix, new)
	}
	for d := 0; d <= len(ix.paths); d++ {
		same := old != nil && new != nil && bytes.Equal(oldP[d], newP[d])
		for sel := 0; sel <= len(a.sums); sel++ {
			var o, n aggVal // the document's contribution before and after
			if sel == 0 {
				if old != nil {
					o.n = 1
				}
				if new != nil {
					n.n = 1
				}
			} else {
				if old != nil {
					if f, ok := summable(fieldValue(old, a.sumPaths[sel-1])); ok {
						o = aggVal{1, f}
					}
				}
				if new != nil {
					if f, ok := summable(fieldValue(new, a.sumPaths[sel-1])); ok {
						n = aggVal{1, f}
					}
				}
			}
			base := aggRowBase(a, sel, d)
			switch {
			case same:
				if o != n {
					add(append(base, newP[d]...), aggVal{n.n - o.n, n.sum - o.sum})
				}
			default:
				if o.n != 0 {
					add(append(base, oldP[d]...), aggVal{-o.n, -o.sum})
				}
				if n.n != 0 {
					add(append(slices.Clip(base), newP[d]...), n)
				}
			}
		}
	}
}

// aggBatch gathers the row changes of a commit group, in the committer.
type aggBatch struct {
	deltas map[string]aggVal
	order  []string // first-change order, for a deterministic batch
	err    error    // the first document that did not decode: fails the group
}

// record is the committer's hook for each accepted commit: it adds the
// row changes of rec's writes and appends the rows' keys to rec.tableKeys,
// the read-set keys the commit writes. A document that does not decode
// (damaged memory: the committer encoded it) fails the whole group.
func (ab *aggBatch) record(rec *commitRecord) {
	if err := ab.recordErr(rec); err != nil && ab.err == nil {
		ab.err = err
	}
}

func (ab *aggBatch) recordErr(rec *commitRecord) error {
	for _, pd := range rec.writes {
		var old, new map[string]any
		decoded := false
		for _, ix := range pd.table.userIndexes() {
			if ix.agg == nil {
				continue
			}
			if !decoded {
				decoded = true
				var err error
				if pd.oldEnc != nil {
					if old, err = decodeDoc(pd.oldEnc, pd.id); err != nil {
						return err
					}
				}
				if pd.newEnc != nil {
					if new, err = decodeDoc(pd.newEnc, pd.id); err != nil {
						return err
					}
				}
			}
			aggChanges(ix, old, new, func(key []byte, d aggVal) {
				ab.add(key, d)
				rec.tableKeys = append(rec.tableKeys, key)
			})
		}
	}
	return nil
}

func (ab *aggBatch) add(key []byte, d aggVal) {
	if ab.deltas == nil {
		ab.deltas = map[string]aggVal{}
	}
	cur, ok := ab.deltas[string(key)]
	if !ok {
		ab.order = append(ab.order, string(key))
	}
	ab.deltas[string(key)] = aggVal{cur.n + d.n, cur.sum + d.sum}
}

// writeAggregates is the committer's hook after a group's commits are
// accepted: it adds the gathered changes to the rows' stored values and
// puts the results in batch (a row whose count reaches 0 is deleted).
func (db *DB) writeAggregates(ab *aggBatch, batch *kv.Batch) error {
	if ab.err != nil {
		return ab.err
	}
	if len(ab.order) == 0 {
		return nil
	}
	snap, err := db.store.Snapshot()
	if err != nil {
		return storeErr(err)
	}
	defer snap.Release()
	for _, k := range ab.order {
		d := ab.deltas[k]
		if d == (aggVal{}) {
			continue
		}
		b, ok, err := snap.Get([]byte(k))
		if err != nil {
			return storeErr(err)
		}
		var cur aggVal
		if ok {
			if cur, err = decodeAggVal(b); err != nil {
				return err
			}
		}
		cur.n += d.n
		cur.sum += d.sum
		if cur.n <= 0 {
			if ok {
				batch.Delete([]byte(k))
			}
			continue
		}
		batch.Put([]byte(k), encodeAggVal(cur))
	}
	return nil
}

// aggRows computes every row of ix's aggregate from the documents of its
// table in snap: for a backfill, and for Check.
func aggRows(snap kv.Snapshot, ix *indexInfo) (map[string]aggVal, error) {
	ab := &aggBatch{deltas: map[string]aggVal{}}
	err := forEachDoc(snap, ix.table, func(doc map[string]any) error {
		aggChanges(ix, nil, doc, ab.add)
		return nil
	})
	return ab.deltas, err
}

// syncIndexExtras is Open's hook after syncIndexes, for table t of the
// catalog next (prev is t in the stored catalog, or nil): it sets the
// unique flags and aggregates that wanted declares, adds to mm the
// duplicates of indexes that became unique, drops the rows of aggregates
// no longer declared (or declared with other sums) and backfills the new
// ones.
func (db *DB) syncIndexExtras(snap kv.Snapshot, next *catalog, t, prev *tableInfo, wanted []IndexDefinition, batch *kv.Batch, mm *SchemaMismatchError) error {
	before := map[uint32]*indexInfo{}
	if prev != nil {
		for _, ix := range prev.userIndexes() {
			before[ix.id] = ix
		}
	}
	kept := map[uint32]bool{}
	for _, ix := range t.userIndexes() {
		i := slices.IndexFunc(wanted, func(w IndexDefinition) bool { return w.Name == ix.name })
		if i < 0 {
			continue // a vector index (vector.go): neither unique nor aggregated
		}
		w := wanted[i]
		old := before[ix.id]
		kept[ix.id] = true
		ix.unique = w.Unique
		if w.Unique && (old == nil || !old.unique) {
			if err := uniqueDuplicates(snap, t, ix, mm); err != nil {
				return err
			}
		}
		if ix.agg != nil && w.Aggregate && slices.Equal(ix.agg.sums, w.Sums) {
			continue
		}
		if ix.agg != nil {
			if _, err := deletePrefix(snap, ix.agg.prefix, batch); err != nil {
				return err
			}
			ix.agg = nil
		}
		if !w.Aggregate {
			continue
		}
		ix.agg = newAggInfo(next.allocIndex(), w.Sums)
		rows, err := aggRows(snap, ix)
		if err != nil {
			return err
		}
		for k, r := range rows {
			if r.n > 0 {
				batch.Put([]byte(k), encodeAggVal(r))
			}
		}
	}
	for id, ix := range before {
		if !kept[id] && ix.agg != nil {
			if _, err := deletePrefix(snap, ix.agg.prefix, batch); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkAggregates is Check's hook: it verifies every aggregate row of t's
// indexes against the documents.
func checkAggregates(tx *txn, t *tableInfo, add func(string, ...any)) error {
	for _, ix := range t.userIndexes() {
		if ix.agg == nil {
			continue
		}
		want, err := aggRows(tx.snap, ix)
		if err != nil {
			return err
		}
		it := tx.snap.Iter(ix.agg.prefix, prefixEnd(ix.agg.prefix), false)
		for it.Next() {
			k := string(it.Key())
			got, err := decodeAggVal(it.Value())
			w, ok := want[k]
			delete(want, k)
			switch {
			case err != nil:
				add("table %q index %s: aggregate row %x: %s", t.name, ix.name, shown(it.Key()), problem(err))
			case !ok:
				add("table %q index %s: aggregate row %x for no document", t.name, ix.name, shown(it.Key()))
			case got.n != w.n || math.Abs(got.sum-w.sum) > 1e-9*max(1, math.Abs(w.sum)):
				add("table %q index %s: aggregate row %x holds (%d, %g), the documents give (%d, %g)", t.name, ix.name, shown(it.Key()), got.n, got.sum, w.n, w.sum)
			}
		}
		it.Close()
		if err := it.Err(); err != nil {
			return storeErr(err)
		}
		for k, w := range want {
			if w.n > 0 {
				add("table %q index %s: aggregate row %x is missing (want (%d, %g))", t.name, ix.name, shown([]byte(k)), w.n, w.sum)
			}
		}
	}
	return nil
}

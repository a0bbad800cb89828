package livedb

import (
	"bytes"
	"slices"
	"strings"
)

// The reads of aggregates: Count and Sum, from the rows an aggregate
// index keeps when the range allows it, else by counting keys or
// reading documents; the committer's upkeep of the rows is in
// aggregate.go.

// Count returns the number of documents in the query's range that pass its
// filters. Its cost depends on what the schema declares:
//
//   - on an index with [TableDefinition.Aggregate], without filters, and a
//     range of Eq on the first k fields: one stored row;
//   - the same with bounds on field k+1: one row per distinct value of that
//     field inside the bounds;
//   - otherwise without filters: every index key of the range is read, but
//     no document is (keys do not count as documents read);
//   - with filters: every document of the range is read, as Collect does.
//
// The read set is as precise as what was read: a count from aggregate rows
// re-runs a subscription only when a commit changes one of those rows, that
// is, when a document enters or leaves the range.
func (q *Query) Count() (int64, error) {
	n, _, err := q.aggregate("", false)
	return n, err
}

// Sum returns the sum of field over the documents in the query's range
// that pass its filters. Documents whose field is missing or not a finite
// number are skipped (as SQL's SUM skips NULL); Int64 and Float64 values
// are summed as float64. On an index whose [TableDefinition.Aggregate]
// lists field, Sum costs what [Query.Count] does and re-runs a subscription
// only when a summed value in the range changes or a document with one
// enters or leaves; otherwise every document of the range is read.
func (q *Query) Sum(field string) (float64, error) {
	if problem := schemaFieldPathProblem(field); problem != "" {
		q.fail("Sum(%q): %s", field, problem)
	}
	_, s, err := q.aggregate(field, true)
	return s, err
}

// aggregate runs Count (sum false) or Sum(field).
func (q *Query) aggregate(field string, sum bool) (n int64, s float64, err error) {
	defer catchFault(&err, guardFaults())
	cr, err := q.plan()
	if err != nil || q.t == nil {
		return 0, 0, err
	}
	plain := len(q.filters) == 0 && len(q.preds) == 0
	if a := q.ix.agg; a != nil && plain {
		sel := 0
		if sum {
			sel = slices.Index(a.sums, field) + 1
		}
		if !sum || sel > 0 {
			if depth, bounded, ok := q.aggDepth(); ok {
				r, err := q.tx.aggRead(q.ix, sel, depth, bounded, cr)
				return r.n, r.sum, err
			}
		}
	}
	if plain && !sum {
		return q.tx.countKeys(q.ix, cr)
	}
	sc := q.tx.newScanner(q.ix, cr.start, cr.end, false)
	path := strings.Split(field, ".")
	for {
		_, row, ok, err := q.nextKept(sc)
		if err != nil || !ok {
			if cerr := sc.close(); err == nil {
				err = cerr
			}
			sc.release() // read_fixed2.go
			return n, s, err
		}
		if !sum {
			n++
		} else if f, ok := summable(fieldValue(row.doc, path)); ok {
			n++
			s += f
		}
	}
}

// aggDepth returns the depth of the aggregate rows that answer the query's
// range, and whether the range bounds the last field of that depth; ok is
// false when the range reaches _creationTime or _id, which rows do not
// keep. It runs after plan, which checked the range's grammar.
func (q *Query) aggDepth() (depth int, bounded, ok bool) {
	eqs := 0
	for _, t := range q.rng.list() {
		if t.op == rangeEq {
			eqs++
		} else {
			bounded = true
		}
	}
	depth = eqs
	if bounded {
		depth++
	}
	return depth, bounded, depth <= len(q.ix.fields)
}

// aggRead answers a count or sum (sel) of range cr of ix from the rows of
// one depth, plus the changes of the transaction's own writes, and records
// what it read.
func (tx *txn) aggRead(ix *indexInfo, sel, depth int, bounded bool, cr compiledRange) (aggVal, error) {
	base := aggRowBase(ix.agg, sel, depth)
	start := append(slices.Clip(base), cr.start[len(ix.prefix):]...)
	var total aggVal
	add := func(b []byte) error {
		r, err := decodeAggVal(b)
		total.n += r.n
		total.sum += r.sum
		if err == nil {
			err = tx.countRead(0)
		}
		return err
	}
	if !bounded {
		b, ok, err := tx.snap.Get(start)
		if err != nil {
			return total, storeErr(err)
		}
		if ok {
			if err := add(b); err != nil {
				return total, err
			}
		}
		if err := tx.recordRead(start, keySuccessor(start)); err != nil {
			return total, err
		}
	} else {
		end := prefixEnd(base)
		if bytes.HasPrefix(cr.end, ix.prefix) {
			end = append(slices.Clip(base), cr.end[len(ix.prefix):]...)
		}
		it := tx.snap.Iter(start, end, false)
		for it.Next() {
			if err := add(it.Value()); err != nil {
				it.Close()
				return total, err
			}
		}
		it.Close()
		if err := it.Err(); err != nil {
			return total, storeErr(err)
		}
		if err := tx.recordRead(start, end); err != nil {
			return total, err
		}
	}
	own, err := tx.ownAggDelta(ix, sel, cr)
	total.n += own.n
	total.sum += own.sum
	return total, err
}

// ownAggDelta returns what the transaction's own writes change in the
// count (sel 0) or sum (sel j+1) of range cr of ix.
func (tx *txn) ownAggDelta(ix *indexInfo, sel int, cr compiledRange) (aggVal, error) {
	var d aggVal
	if tx.writes == nil {
		return d, nil
	}
	i := slices.Index(ix.table.indexes, ix)
	in := func(keys [][]byte) bool {
		return keys != nil && bytes.Compare(keys[i], cr.start) >= 0 && bytes.Compare(keys[i], cr.end) < 0
	}
	contrib := func(enc []byte, docID string) (aggVal, error) {
		if sel == 0 {
			return aggVal{n: 1}, nil
		}
		doc, err := decodeDoc(enc, docID)
		if err != nil {
			return aggVal{}, err
		}
		if f, ok := summable(fieldValue(doc, ix.agg.sumPaths[sel-1])); ok {
			return aggVal{1, f}, nil
		}
		return aggVal{}, nil
	}
	for _, docID := range tx.writes.order {
		pd := tx.writes.docs[docID]
		if pd.table != ix.table {
			continue
		}
		if in(pd.oldKeys) {
			c, err := contrib(pd.oldEnc, docID)
			if err != nil {
				return d, err
			}
			d.n, d.sum = d.n-c.n, d.sum-c.sum
		}
		if in(pd.newKeys) {
			c, err := contrib(pd.newEnc, docID)
			if err != nil {
				return d, err
			}
			d.n, d.sum = d.n+c.n, d.sum+c.sum
		}
	}
	return d, nil
}

// countKeys counts the keys of ix in cr that the transaction sees, without
// decoding documents, and records the range.
func (tx *txn) countKeys(ix *indexInfo, cr compiledRange) (int64, float64, error) {
	var n int64
	err := tx.scanKeys(ix, cr.start, cr.end, func([]byte) bool { n++; return true })
	if err == nil {
		err = tx.recordRead(cr.start, cr.end)
	}
	return n, 0, err
}

// Count returns the number of documents in the range that pass the
// filters, as [Query.Count], at the cost it documents.
func (tq *TypedQuery[T]) Count() (int64, error) {
	if tq.q == nil {
		return 0, tq.err
	}
	return tq.q.Count()
}

// Sum returns the sum of a numeric field over the documents in the range
// that pass the filters, as [Query.Sum]. field is the stored field path
// (the struct field's tag name), not the Go field name.
func (tq *TypedQuery[T]) Sum(field string) (float64, error) {
	if tq.q == nil {
		return 0, tq.err
	}
	return tq.q.Sum(field)
}

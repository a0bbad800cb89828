package livedb_test

import (
	"math"
	"math/rand/v2"
	"strings"

	"github.com/livedb-go/livedb"
)

// ---- generation ----

// modelGen generates ops from a seed, looking at the model's state so that
// most writes name live documents.
type modelGen struct {
	rng *rand.Rand
}

var modelStrings = []string{"", "a", "ab", "b", "ba", "z"}

// modelNULStrings and modelBytes include values equal to another followed
// by a NUL byte ("a\x00" after "a"), whose sort keys extend the other's:
// see TestQuery_WithIndex_NULExtendedValues.
var (
	modelNULStrings = []string{"a\x00", "\x00", "a\x00b"}
	modelBytes      = [][]byte{{}, {0}, {1}, {0, 1}, {1, 0}}
)

func (g *modelGen) value() any {
	r := g.rng
	switch r.IntN(12) {
	case 0:
		return nil
	case 1, 2:
		return int64(r.IntN(5) - 2)
	case 3, 4:
		return []float64{-1.5, 0, math.Copysign(0, -1), 1, 2.5, math.Inf(1), math.Inf(-1), math.NaN()}[r.IntN(8)]
	case 5:
		return r.IntN(2) == 0
	case 6, 7:
		if r.IntN(4) == 0 {
			return modelNULStrings[r.IntN(len(modelNULStrings))]
		}
		return modelStrings[r.IntN(len(modelStrings))]
	case 8:
		return modelBytesClone(modelBytes[r.IntN(len(modelBytes))])
	case 9:
		return [][]any{{}, {int64(1)}, {int64(1), "a"}, {"a"}}[r.IntN(4)]
	case 10:
		return []map[string]any{{}, {"x": int64(1)}, {"x": "a"}}[r.IntN(3)]
	default:
		return int64(r.IntN(3))
	}
}

// bound returns a range value for the column: a domain value for a user
// field, a nearby value for the system columns.
func (g *modelGen) bound(col string, run *modelRun) any {
	r := g.rng
	switch col {
	case "_id":
		if id := run.anyID(r.IntN(1 << 20)); id != "" && r.IntN(4) != 0 {
			return string(id)
		}
		return modelStrings[r.IntN(len(modelStrings))]
	case "_creationTime":
		if d := run.anyDoc(r.IntN(1 << 20)); d != nil && r.IntN(4) != 0 {
			ct := d["_creationTime"].(float64)
			switch r.IntN(3) {
			case 0:
				return math.Nextafter(ct, math.Inf(-1))
			case 1:
				return math.Nextafter(ct, math.Inf(1))
			}
			return ct
		}
		return float64(r.IntN(3)) * 1e12
	}
	return g.value()
}

func modelBytesClone(b []byte) []byte { return append([]byte{}, b...) }

func (g *modelGen) fields(patch bool) map[string]any {
	r := g.rng
	m := map[string]any{}
	for _, f := range []string{"a", "b"} {
		switch k := r.IntN(6); {
		case k < 4:
			m[f] = g.value()
		case k == 4 && patch:
			m[f] = livedb.Undefined
		}
	}
	switch r.IntN(6) {
	case 0, 1, 2:
		c := map[string]any{"d": g.value()}
		if r.IntN(3) == 0 {
			c["e"] = int64(r.IntN(3))
		}
		m["c"] = c
	case 3:
		m["c"] = g.value() // not an object: c.d is undefined
	case 4:
		if patch {
			m["c"] = livedb.Undefined
		}
	}
	if r.IntN(3) == 0 {
		m["n"] = strings.Repeat("n", r.IntN(40))
	}
	g.extFields(m, patch)
	return m
}

func (g *modelGen) filter(depth int) *mFilter {
	r := g.rng
	if depth < 2 && r.IntN(3) == 0 {
		switch r.IntN(3) {
		case 0:
			return &mFilter{op: "not", kids: []*mFilter{g.filter(depth + 1)}}
		case 1:
			return &mFilter{op: "and", kids: []*mFilter{g.filter(depth + 1), g.filter(depth + 1)}}
		default:
			return &mFilter{op: "or", kids: []*mFilter{g.filter(depth + 1), g.filter(depth + 1)}}
		}
	}
	ops := []string{"eq", "neq", "lt", "lte", "gt", "gte"}
	fields := []string{"a", "b", "c.d", "c", "n"}
	return &mFilter{op: ops[r.IntN(len(ops))], field: fields[r.IntN(len(fields))], lit: g.value()}
}

func (g *modelGen) query(run *modelRun) *modelQuery {
	return g.queryOn(run, modelIndexNames[g.rng.IntN(len(modelIndexNames))])
}

// queryOn is query on a given index.
func (g *modelGen) queryOn(run *modelRun, index string) *modelQuery {
	r := g.rng
	q := &modelQuery{index: index}
	q.withIndex = q.index != "by_creation_time" || r.IntN(2) == 0
	cols := modelIndexCols[q.index]
	if q.withIndex {
		neq := r.IntN(len(cols)) // never every column: leaves room for a bound
		if r.IntN(3) == 0 {
			neq = 0
		}
		for i := range neq {
			// Eq on a value some document has, most of the time.
			if d := run.anyDoc(r.IntN(1 << 20)); d != nil && r.IntN(3) != 0 {
				q.eqs = append(q.eqs, modelField(d, cols[i]))
			} else {
				q.eqs = append(q.eqs, g.bound(cols[i], run))
			}
		}
		col := cols[len(q.eqs)]
		if r.IntN(2) == 0 {
			q.lower = &mBound{strict: r.IntN(2) == 0, x: g.bound(col, run)}
		}
		if r.IntN(2) == 0 {
			q.upper = &mBound{strict: r.IntN(2) == 0, x: g.bound(col, run)}
		}
		if q.lower != nil && q.upper != nil && refCompare(q.lower.x, q.upper.x) > 0 && r.IntN(4) != 0 {
			q.lower.x, q.upper.x = q.upper.x, q.lower.x
		}
		// An Undefined bound is legal: missing fields sort first.
		if len(q.eqs) == 0 && cols[0] != "_id" && cols[0] != "_creationTime" && r.IntN(10) == 0 {
			q.lower = &mBound{x: livedb.Undefined}
		}
	}
	q.setOrder = r.IntN(3) != 0
	q.desc = q.setOrder && r.IntN(2) == 0
	if r.IntN(3) == 0 {
		q.filter = g.filter(0)
	}
	q.pred = r.IntN(8) == 0
	switch k := r.IntN(10); {
	case k < 3:
		q.term = tCollect
	case k < 4:
		q.term, q.n = tTake, r.IntN(6)
	case k < 5:
		q.term = tFirst
	case k < 6:
		q.term = tUnique
	case k < 7:
		q.term, q.n = tAll, r.IntN(6)
	default:
		q.term, q.n = tPaginate, 1+r.IntN(7)
		if r.IntN(3) == 0 {
			q.maxRows = 1 + r.IntN(6)
		}
		q.checkSplit = r.IntN(2) == 0
		q.refetch = r.IntN(2) == 0
	}
	return q
}

// write generates one write op.
func (g *modelGen) write(run *modelRun, live int) *mOp {
	r := g.rng
	k := r.IntN(10)
	switch {
	case live < 20 && k < 6, live < 80 && k < 3, k < 1:
		return &mOp{kind: mInsert, fields: g.fields(false)}
	}
	op := &mOp{ref: g.ref(run)}
	switch r.IntN(3) {
	case 0:
		op.kind, op.fields = mPatch, g.fields(true)
	case 1:
		op.kind, op.fields = mReplace, g.fields(false)
	default:
		op.kind = mDelete
	}
	return op
}

// ref names a live document most of the time, else any ID of the run.
func (g *modelGen) ref(run *modelRun) int {
	if len(run.ids) == 0 {
		return g.rng.IntN(1 << 20)
	}
	if g.rng.IntN(8) != 0 {
		for range 8 {
			i := g.rng.IntN(len(run.ids))
			if _, ok := run.docs[string(run.ids[i])]; ok {
				return i
			}
		}
	}
	return g.rng.IntN(len(run.ids))
}

func (g *modelGen) op(run *modelRun) *mOp {
	r := g.rng
	live := len(run.docs)
	if r.IntN(5) == 0 {
		return g.extOp(run)
	}
	switch k := r.IntN(20); {
	case k < 7:
		return g.write(run, live)
	case k < 9:
		if r.IntN(10) == 0 {
			return &mOp{kind: mGet, badID: []string{"", "abc", strings.Repeat("z", 32), "0123456789abcdefghijkmnpqrstvwxy"}[r.IntN(4)]}
		}
		return &mOp{kind: mGet, ref: g.ref(run)}
	case k < 17:
		op := &mOp{kind: mQuery, q: g.query(run)}
		if op.q.term == tPaginate {
			for range r.IntN(4) {
				op.sub = append(op.sub, g.write(run, live))
			}
		}
		return op
	default:
		op := &mOp{kind: mMutation, abort: r.IntN(5) == 0, catch: r.IntN(2) == 0}
		for range 1 + r.IntN(6) {
			if r.IntN(4) == 0 {
				op.sub = append(op.sub, g.extOp(run))
				continue
			}
			switch r.IntN(3) {
			case 0:
				sub := &mOp{kind: mQuery, q: g.query(run)}
				if sub.q.term == tPaginate {
					for range r.IntN(3) {
						sub.sub = append(sub.sub, g.write(run, live))
					}
				}
				op.sub = append(op.sub, sub)
			case 1:
				op.sub = append(op.sub, &mOp{kind: mGet, ref: g.ref(run)})
			default:
				op.sub = append(op.sub, g.write(run, live))
			}
		}
		return op
	}
}

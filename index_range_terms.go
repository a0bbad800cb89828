package livedb

import "slices"

// This file holds how an IndexRange stores its terms: the first ones in an
// array inside the value, so that building the usual range (two or three
// Eq, a bound) allocates nothing, where a slice grown per Eq cost an
// allocation per term; longer ranges spill to a slice that no other range
// shares.

// with returns r with one more term.
func (r IndexRange) with(op rangeOp, field string, x any) IndexRange {
	t := rangeTerm{op: op, field: field, value: x}
	if r.spill == nil && r.n < len(r.inline) {
		r.inline[r.n] = t
		r.n++
		return r
	}
	if r.spill == nil {
		// One allocation, made and filled here: appending to a slice of
		// r.inline would make the compiler move r to the heap on every
		// call, the two or three that fit inline included (an allocation
		// of the whole range per Eq).
		spill := make([]rangeTerm, r.n+1)
		copy(spill, r.inline[:r.n])
		spill[r.n] = t
		r.spill = spill
		r.inline = [len(r.inline)]rangeTerm{} // the terms are in spill now
		r.n++
		return r
	}
	// Clip: a range built from this one must not append into the array
	// that r's next sibling appends into.
	r.spill = append(slices.Clip(r.spill), t)
	r.n++
	return r
}

// list returns r's terms, which the caller may change in place: they are
// r's own (its inline array, or a spill that [IndexRange.own] made r's).
func (r *IndexRange) list() []rangeTerm {
	if r.spill != nil {
		return r.spill
	}
	return r.inline[:r.n]
}

// own makes the spill of r, which other copies of the range may share,
// r's own, so that r's terms can be changed in place; inline terms are
// r's own already.
func (r *IndexRange) own() {
	if r.spill != nil {
		r.spill = slices.Clone(r.spill)
	}
}

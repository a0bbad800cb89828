package livedb

import (
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/livedb-go/livedb/internal/codec"
)

// Typed reads of cached versions, from a cached T.
//
// On the memory backend every version read twice keeps its decoded map
// (cachedDoc), which every reader shares. Decoding that map into a T
// touches each of its values, scattered over the heap; for a T that is
// flat (codec.Flat: booleans, numbers, strings, arrays and structs of
// those, no method of the user's decodes it) the second typed read of a
// cached version keeps its T next to the map (cachedDoc.typed), and later
// reads copy it with =, one contiguous copy. The first only marks the
// version (typedOnce) and decodes into the caller's T: most versions a
// point read finds are read once, and keeping their T would cost an
// allocation each. A flat T shares nothing a
// caller can change (its strings are immutable), so the copy is the
// caller's own, and it is the T the decoding would give, since the map
// never changes and decoding it calls nothing of the user's. Only a
// successful decoding is kept: an error is made again on every read, as
// before. One T is kept per version: Tables of different types reading the
// same versions replace each other's, which costs only the decoding.

// typedSlot holds the T kept for a cached version (cachedDoc.typed).
type typedSlot = atomic.Pointer[typedHead]

// typedHead starts every typedKept: typ is its T, which says what the
// typedKept behind a *typedHead is.
type typedHead struct{ typ reflect.Type }

// typedKept is a Table's decoding of a cached version, kept in one
// allocation.
type typedKept[T any] struct {
	typedHead // first, so that a *typedHead is a *typedKept[T] of its typ
	v         T
}

// isFlat reports whether T is flat (see the top of this file).
func isFlat[T any]() bool { return codec.Flat(reflect.TypeFor[T]()) }

// typedOnce marks, in cachedDoc.typed, a version whose T one typed read
// decoded without keeping it: the next keeps its T. Its typ is nil, no
// Table's.
var typedOnce = &typedHead{}

// decodeCached stores the document of cached version c into *out, which
// holds T's zero value: a copy of the T kept with it, or, on the version's
// first typed read, its decoding (keptIn). t.flat must be set.
func (t *Table[T]) decodeCached(c *cachedDoc, out *T) error {
	k, err := t.keptIn(c)
	if err != nil {
		return err
	}
	if k == nil {
		return t.decodeMap(c.doc, out)
	}
	*out = *k
	return nil
}

// getCached is Table.Get of cached version c, as decodeCached: on the
// first typed read, a T decoded by the FlatDecoder stays on the stack,
// and Get's result is its copy.
func (t *Table[T]) getCached(c *cachedDoc) (T, error) {
	k, err := t.keptIn(c)
	switch {
	case err != nil:
		return *new(T), err
	case k != nil:
		return *k, nil
	}
	var x T
	if t.decodeFlat(c.doc, &x) {
		return x, nil
	}
	p := new(T) // decodeInto's reflect.Value would move x to the heap
	err = t.decodeInto(Doc(c.doc), p)
	return *p, err
}

// keptIn returns the T kept with cached version c (not readOnce),
// decoding and keeping it when there is none yet; nil, without an error,
// on the version's first typed read, which keeps nothing but marks c
// (typedOnce), and the caller decodes. The T is decoded straight into the
// one allocation that keeps it, so that Table.Get, copying it out, holds
// no T of its own on the heap: its result is a copy, the caller's own, as
// on every read. t.flat must be set.
func (t *Table[T]) keptIn(c *cachedDoc) (*T, error) {
	h := c.typed.Load()
	if h != nil && h.typ == t.typ {
		return &(*typedKept[T])(unsafe.Pointer(h)).v, nil
	}
	if h == nil && c.typed.CompareAndSwap(nil, typedOnce) {
		return nil, nil
	}
	k := &typedKept[T]{typedHead: typedHead{typ: t.typ}}
	if err := t.decodeMap(c.doc, &k.v); err != nil {
		return nil, err
	}
	c.typed.Store(&k.typedHead)
	return &k.v, nil
}

// decodeMap stores doc into *out, which holds T's zero value: with T's
// FlatDecoder when it can, else by decodeInto.
func (t *Table[T]) decodeMap(doc map[string]any, out *T) error {
	if t.decodeFlat(doc, out) {
		return nil
	}
	return t.decodeInto(Doc(doc), out)
}

// decodeFlat stores doc into *out, which holds T's zero value, with T's
// FlatDecoder, and reports whether it did: on false *out is T's zero value
// again, and decodeInto stores doc or makes the error, as it would have
// without the FlatDecoder.
func (t *Table[T]) decodeFlat(doc map[string]any, out *T) bool {
	if t.fast == nil {
		return false
	}
	if t.fast.Decode(doc, unsafe.Pointer(out)) {
		return true
	}
	var zero T
	*out = zero
	return false
}

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
// those, no method of the user's decodes it) the first typed read of a
// cached version keeps its T next to the map (cachedDoc.typed), and later
// reads copy it with =, one contiguous copy. A write through a Table keeps
// it already (read_typed_write.go). A flat T shares nothing a
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

// decodeCached stores the document of cached version c into *out, which
// holds T's zero value: a copy of the T kept with it (keptIn). t.flat must
// be set.
func (t *Table[T]) decodeCached(c *cachedDoc, out *T) error {
	k, err := t.keptIn(c)
	if err != nil {
		return err
	}
	*out = *k
	return nil
}

// keptIn returns the T kept with cached version c (not readOnce),
// decoding and keeping it when there is none yet. The T is decoded
// straight into the one allocation that keeps it, so that Table.Get,
// copying it out, holds no T of its own on the heap: its result is a
// copy, the caller's own, on the first read as on later ones. t.flat must
// be set.
func (t *Table[T]) keptIn(c *cachedDoc) (*T, error) {
	if h := c.typed.Load(); h != nil && h.typ == t.typ {
		return &(*typedKept[T])(unsafe.Pointer(h)).v, nil
	}
	k := &typedKept[T]{typedHead: typedHead{typ: t.typ}}
	if !t.decodeFlat(c.doc, &k.v) {
		if err := t.decodeInto(Doc(c.doc), &k.v); err != nil {
			return nil, err
		}
	}
	c.typed.Store(&k.typedHead)
	return &k.v, nil
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

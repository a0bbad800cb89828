package livedb

import "unsafe"

// Typed rows appended as they are copied.
//
// A typed read of a cached version whose T is kept (read_typed_cache.go)
// copies that T into its result. appendRow copies it straight into the
// result slice, one copy, where decodeRow first appended T's zero value
// and then copied the kept T over it (through a reflect.Value of the
// slot, which only the other paths use). The copy is decodeCached's, so
// the result is the same T, the caller's own.

// appendRow appends the T of row to rows, as appending T's zero value and
// decoding row into it with decodeRow does. On an error, the caller drops
// rows.
func (t *Table[T]) appendRow(rows []T, row docRow) ([]T, error) {
	if k := t.keptOf(row); k != nil {
		return append(rows, *k), nil
	}
	rows = append(rows, *new(T))
	return rows, t.decodeRow(row, &rows[len(rows)-1])
}

// keptOf returns the T kept with the cached version of row for this
// Table's T, or nil when there is none: decodeRow would then decode.
func (t *Table[T]) keptOf(row docRow) *T {
	c := row.shared
	if c == nil || c == readOnce || !t.flat {
		return nil
	}
	h := c.typed.Load()
	if h == nil || h.typ != t.typ {
		return nil
	}
	return &(*typedKept[T])(unsafe.Pointer(h)).v
}

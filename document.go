package livedb

import (
	"fmt"
	"strings"

	"github.com/livedb-go/livedb/internal/value"
)

// Doc is a document or a set of fields in map form. Values are Convex
// values: nil, int64, float64, bool, string, []byte, []any,
// map[string]any, and ID (a string). Go's other integer kinds are accepted
// on input: see the package documentation, "Numbers".
//
// A Doc read from the database has the system fields "_id" (an ID) and
// "_creationTime" (a float64, milliseconds since the Unix epoch). It is a
// fresh copy that the caller owns: it may modify it, and the arrays,
// objects and []byte nested in it, without changing what any other read
// returns. That copy is what an untyped read costs on the memory backend,
// which keeps one decoded form of each stored version for all its readers;
// a reader that does not need a map reads into a struct with [Table]
// instead ([Table.Get], [TypedQuery]), which decodes that shared form
// straight into its T with no copy of the map.
type Doc map[string]any

// ID returns the document's _id, or "" when it has none.
func (d Doc) ID() ID {
	switch id := d[fieldID].(type) {
	case ID:
		return id
	case string:
		return ID(id)
	}
	return ""
}

// CreationTime returns the document's _creationTime in milliseconds since
// the Unix epoch, or 0 when it has none.
func (d Doc) CreationTime() float64 {
	f, _ := d[fieldCreationTime].(float64)
	return f
}

// ID is a document ID in Convex's encoding: 32 lowercase base32 characters
// for a user table, carrying the table's number. As a value it is a string.
type ID = value.ID

// Undefined stands for a missing field. In [Writer.Patch] it removes the
// field; in index ranges and filters it matches documents that lack the
// field. It sorts before null. It is never stored. It is a constant (of an
// unexported type), so no package can change it.
const Undefined = value.Undefined

const (
	fieldID           = "_id"
	fieldCreationTime = "_creationTime"
)

// DocumentError reports a document that was refused: a write, or a
// stored document that a changed schema does not accept (in
// [SchemaMismatchError.Failures]). It wraps the kind of failure
// (ErrSchemaEnforcement, ErrInvalidDocument, ErrNotFound, ErrInvalidID,
// ErrInvalidTable, ...) and its cause (for example a *v.ValidationError
// with the path), for errors.Is and errors.As.
type DocumentError struct {
	Op    string // "insert", "patch", "replace", "delete", "get", or "revalidate" when Open checks a stored document
	Table string
	ID    ID // empty for an insert
	Kind  error
	Err   error // the cause; may be nil
}

// Error describes the failure.
func (e *DocumentError) Error() string {
	var b strings.Builder
	b.WriteString("livedb: ")
	b.WriteString(e.Op)
	if e.Table != "" {
		fmt.Fprintf(&b, " in table %q", e.Table)
	}
	if e.ID != "" {
		fmt.Fprintf(&b, " of document %q", string(e.ID))
	}
	if e.Kind != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Kind.Error(), "livedb: "))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the kind and the cause, those that are set.
func (e *DocumentError) Unwrap() []error {
	errs := make([]error, 0, 2)
	for _, err := range [2]error{e.Kind, e.Err} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// withOp fills in where the error happened and returns e.
func (e *DocumentError) withOp(op, table string, id ID) *DocumentError {
	e.Op, e.Table, e.ID = op, table, id
	return e
}

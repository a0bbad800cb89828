package codec

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/livedb-go/livedb/internal/value"
)

// This file holds the error of the package and the helpers that build its
// paths on the way out of a failed conversion.

// Error reports a Go value that does not convert to a document, a
// document value that does not fit the Go field it is read into, or a Go
// type that cannot be mapped at all. Its message names both coordinates:
//
//	livedb: decode agentSessions document "j57…" field .meta.attempt (AgentSession.Meta.Attempt): value 1.5 (Float64) does not fit int
//
// The root package returns it to users as livedb.CodecError, a struct with
// the same fields, converting the pointer: keep the two field lists
// identical (the conversion does not compile otherwise).
type Error struct {
	// Op is "encode" (Go to document), "decode" (document to Go) or "type"
	// (a Go type that no value of can be mapped).
	Op string
	// Table is the table, or "" when it is not known (EncodeDoc, and
	// DecodeDoc given no table).
	Table string
	// ID is the document, or "" when it is not known.
	ID value.ID
	// Path is the document path of the value, such as ".meta.attempt" or
	// ".tags[2]"; "" for the document itself.
	Path string
	// Field is the Go path of the value, such as "AgentSession.Meta.Attempt".
	Field string
	// Reason says what is wrong.
	Reason string
	// Err is the error a MarshalText or UnmarshalText method returned, or
	// nil.
	Err error
}

// Error returns the message described on [Error].
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("livedb: ")
	b.WriteString(e.Op)
	if e.Table != "" {
		b.WriteString(" ")
		b.WriteString(e.Table)
	}
	if e.Op != "type" {
		b.WriteString(" document")
		if e.ID != "" {
			fmt.Fprintf(&b, " %q", string(e.ID))
		}
	}
	if e.Path != "" {
		b.WriteString(" field ")
		b.WriteString(e.Path)
	}
	switch {
	case e.Field == "":
	case e.Op == "type" && e.Path == "":
		b.WriteString(" ")
		b.WriteString(e.Field)
	default:
		b.WriteString(" (")
		b.WriteString(e.Field)
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// errorf starts a *Error at the value that failed; the callers on
// the way out prepend their path segments (see Within).
func errorf(op, format string, args ...any) *Error {
	return &Error{Op: op, Reason: fmt.Sprintf(format, args...)}
}

// Within prepends a path step to err when it is a *Error: docSeg to
// the document path (".name", "[3]") and goSeg to the Go path (".Name",
// "[3]"). Paths are only built on failure, so success allocates nothing
// for them.
func Within(err error, docSeg, goSeg string) error {
	var ce *Error
	if errors.As(err, &ce) {
		ce.Path = docSeg + ce.Path
		ce.Field = goSeg + ce.Field
	}
	return err
}

// layoutErr returns a copy of a struct type's cached layout error, so
// that Within and Rooted can add to it.
func layoutErr(si *structInfo) error {
	var ce *Error
	if errors.As(si.err, &ce) {
		c := *ce
		return &c
	}
	return si.err
}

// Rooted finishes a *Error at the top: the Go path starts with the
// root type's name, and the table and document are filled in.
func Rooted(err error, root reflect.Type, table string, docID value.ID) error {
	var ce *Error
	if errors.As(err, &ce) {
		ce.Field = typeLabel(root) + ce.Field
		ce.Table, ce.ID = table, docID
	}
	return err
}

// typeLabel names a type for a Go path: its name without the package, or
// its literal form.
func typeLabel(t reflect.Type) string {
	if t == nil {
		return "nil"
	}
	for t.Kind() == reflect.Pointer && t.Name() == "" {
		t = t.Elem()
	}
	if n := t.Name(); n != "" {
		return n
	}
	return t.String()
}

// describe prints a document value for an error: its Convex form,
// shortened, and its kind.
func describe(x any) string {
	s := value.Format(x)
	if len(s) > 64 {
		s = s[:60] + " ..."
	}
	if k, ok := value.KindOf(x); ok {
		return fmt.Sprintf("value %s (%s)", s, k)
	}
	return fmt.Sprintf("value %s (Go %T)", s, x)
}

package livedb

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/livedb-go/livedb/v"
)

// mismatchesShown is how many offending documents SchemaMismatchError's
// message names; Failures holds more.
const mismatchesShown = 3

// mismatchSummary returns f, a stored document that does not match the
// schema, on one line: "table/ID at .path: reason".
func mismatchSummary(f *DocumentError) string {
	path, reason := shortReason(f.Err)
	s := f.Table + "/" + string(f.ID)
	if path != "" {
		s += " at " + path
	}
	return s + ": " + reason
}

// shortReason returns where err locates the failure inside the document
// and a one-line reason, with what was found and what was expected cut
// short: the full validator and document stay in err.
func shortReason(err error) (path, reason string) {
	const width = 48 // runes of a value or validator
	var ue *UniqueError
	if errors.As(err, &ue) {
		return "", ue.summary(width) // unique.go
	}
	var ve *v.ValidationError
	if !errors.As(err, &ve) {
		return "", clip(err.Error(), 2*width)
	}
	switch ve.Reason {
	case v.ReasonMissingField:
		return ve.Path + "." + ve.Field, "required field is missing"
	case v.ReasonExtraField:
		return ve.Path + "." + ve.Field, "field is not in the validator"
	case v.ReasonTableMismatch:
		return ve.Path, "ID of table " + clip(ve.Table, width) + ", want " + clip(ve.Validator, width)
	case v.ReasonSystemTable:
		return ve.Path, "ID of a system table, want " + clip(ve.Validator, width)
	case v.ReasonInvalidValue:
		if ve.Err != nil {
			return ve.Path, clip(ve.Err.Error(), 2*width)
		}
		return ve.Path, "not a Convex value"
	}
	if ve.Validator == "" && ve.Err != nil { // a validator from outside package v
		return ve.Path, "got " + clip(ve.Value, width) + ": " + clip(ve.Err.Error(), width)
	}
	return ve.Path, "got " + clip(ve.Value, width) + ", want " + clip(ve.Validator, width)
}

// clip returns the first line of s, cut to at most n runes; a cut is
// marked with "…".
func clip(s string, n int) string {
	cut := false
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s, cut = s[:i], true
	}
	if utf8.RuneCountInString(s) > n {
		i := 0
		for range n - 1 {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
		}
		s, cut = s[:i], true
	}
	if cut {
		s += "…"
	}
	return s
}

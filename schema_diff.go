package livedb

import "github.com/livedb-go/livedb/v"

// needsRevalidation reports whether the stored documents of table name must
// be checked against its new definition def when a database is opened with
// a changed schema (docs/semantics.md#schema-changes): unless the validator the
// documents were written under is a subset of the new one ([v.IsSubset]),
// some stored document may not match.
//
// The enforced validator is v.Any() when the table was not in the stored
// schema, or when that schema did not enforce its validators: then
// anything may have been written. (Index changes are worked out from the
// stored catalog, which also carries the index ids; see syncIndexes.)
func needsRevalidation(old *Schema, name string, def *TableDefinition) bool {
	enforced := v.Any()
	if old != nil && old.Validation() {
		if od, ok := old.Table(name); ok {
			enforced = od.Validator()
		}
	}
	return !v.IsSubset(enforced, def.Validator())
}

package livedb

import (
	"slices"

	"github.com/livedb-go/livedb/v"
)

// tableDiff is what opening a database with a changed schema must do to one
// table (§5.5 of Convex's semantics): build the added indexes, delete the
// dropped ones, and, when needsRevalidation is set, check every stored
// document against the new validator.
//
// An index keeps its entries only if its name and its field list are both
// unchanged. An index whose fields changed is both dropped (the old
// definition) and added (the new one), so its entries are rebuilt. For
// example, going from
//
//	by_status(status), by_owner(owner)
//
// to
//
//	by_status(status, priority), by_team(team)
//
// gives addedIndexes [by_status(status, priority), by_team(team)] and
// droppedIndexes [by_status(status), by_owner(owner)].
//
// Staged indexes ([TableDefinition].staged) are never built, so they take no
// part: an index that moves from staged to enabled is added.
type tableDiff struct {
	addedIndexes      []IndexDefinition // in the new definition's order
	droppedIndexes    []IndexDefinition // in the old definition's order
	needsRevalidation bool
}

// diffTable compares the stored definition of a table (old) with the one the
// database is being opened with (next). validation is the new schema's
// [Schema.Validation].
//
// old is nil when the table was not in the stored schema, or when the stored
// schema did not enforce its validators: nothing was enforced, so the stored
// documents must be revalidated unless the new validator accepts anything
// (Convex: the enforced validator of such a table is v.any()). next is nil
// when the table left the schema: its indexes are dropped and nothing is
// revalidated.
//
// Revalidation is needed when validation is on and the old validator is not a
// subset of the new one ([v.IsSubset]): then some stored document may not
// match the new validator.
func diffTable(old, next *TableDefinition, validation bool) tableDiff {
	var d tableDiff
	var oldIndexes, newIndexes []IndexDefinition
	if old != nil {
		oldIndexes = old.indexes
	}
	if next != nil {
		newIndexes = next.indexes
	}
	for _, ix := range newIndexes {
		if !schemaHasIndex(oldIndexes, ix) {
			d.addedIndexes = append(d.addedIndexes, IndexDefinition{Name: ix.Name, Fields: slices.Clone(ix.Fields)})
		}
	}
	for _, ix := range oldIndexes {
		if !schemaHasIndex(newIndexes, ix) {
			d.droppedIndexes = append(d.droppedIndexes, IndexDefinition{Name: ix.Name, Fields: slices.Clone(ix.Fields)})
		}
	}
	if validation && next != nil {
		enforced := v.Any()
		if old != nil {
			enforced = old.validator
		}
		d.needsRevalidation = !v.IsSubset(enforced, next.validator)
	}
	return d
}

// schemaHasIndex reports whether ixs has an index with ix's name and fields.
func schemaHasIndex(ixs []IndexDefinition, ix IndexDefinition) bool {
	return slices.ContainsFunc(ixs, func(o IndexDefinition) bool {
		return o.Name == ix.Name && slices.Equal(o.Fields, ix.Fields)
	})
}

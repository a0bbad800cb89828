package livedb

import (
	"cmp"
	"slices"
	"strings"
)

// OpenReport says what [Open] (or [OpenMemory]) did to bring the database
// to the schema it was given; [DB.OpenReport] returns it. An Open that
// changed nothing gives the zero OpenReport. A new database reports every
// table and index of its schema as created, with no entries.
//
// Every list is sorted by table, then index name.
type OpenReport struct {
	// TablesCreated lists the tables of the schema that the database did
	// not have.
	TablesCreated []string
	// IndexesAdded lists the indexes created and backfilled, with one
	// entry per document of their table.
	IndexesAdded []IndexChange
	// IndexesDropped lists the indexes removed because the schema no longer
	// declares them. An index whose fields changed is dropped and added
	// again under the same name, so it is in both lists.
	IndexesDropped []IndexChange
	// TablesChecked lists the tables whose stored documents were checked
	// against a validator that may reject some of them (one that does not
	// accept everything the previous validator accepted). All of them
	// matched: otherwise Open fails with a *SchemaMismatchError.
	TablesChecked []TableCheck
}

// IndexChange is one index that Open added or dropped.
type IndexChange struct {
	Table   string
	Index   string
	Fields  []string // the indexed field paths, dotted
	Entries int64    // index entries written (added) or deleted (dropped)
}

// TableCheck is one table whose documents Open checked.
type TableCheck struct {
	Table     string
	Documents int64 // how many documents were checked
}

// OpenReport returns what Open did to the stored database to bring it to
// its schema: tables created, indexes added (with the entries backfilled)
// and dropped, and tables whose documents were checked. It is the same for
// the whole life of db. The returned lists are the caller's to keep and
// change.
//
// livedb logs these steps only to [Options.Logger], when one is given; the
// report is how a program learns what changed without a logger.
func (db *DB) OpenReport() OpenReport {
	r := db.report
	r.TablesCreated = slices.Clone(r.TablesCreated)
	r.IndexesAdded = cloneIndexChanges(r.IndexesAdded)
	r.IndexesDropped = cloneIndexChanges(r.IndexesDropped)
	r.TablesChecked = slices.Clone(r.TablesChecked)
	return r
}

func cloneIndexChanges(s []IndexChange) []IndexChange {
	s = slices.Clone(s)
	for i := range s {
		s[i].Fields = slices.Clone(s[i].Fields)
	}
	return s
}

// indexChange describes ix, with n entries.
func indexChange(ix *indexInfo, n int64) IndexChange {
	return IndexChange{Table: ix.table.name, Index: ix.name, Fields: slices.Clone(ix.fields), Entries: n}
}

// sort puts every list of r in table, then index, order.
func (r *OpenReport) sort() {
	byIndex := func(a, b IndexChange) int {
		return cmp.Or(strings.Compare(a.Table, b.Table), strings.Compare(a.Index, b.Index))
	}
	slices.Sort(r.TablesCreated)
	slices.SortFunc(r.IndexesAdded, byIndex)
	slices.SortFunc(r.IndexesDropped, byIndex)
	slices.SortFunc(r.TablesChecked, func(a, b TableCheck) int { return strings.Compare(a.Table, b.Table) })
}

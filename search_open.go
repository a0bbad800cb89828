package livedb

import (
	"log/slog"
	"slices"

	"github.com/livedb-go/livedb/internal/kv"
)

// syncSearch brings the search indexes of t to wanted, as syncIndexes does
// for database indexes: an index no longer wanted (by name, search field
// and filter fields) is dropped with all its keys, and a wanted one that is
// missing gets a new id and is built from the documents in snap, in the
// same storage commit as the schema change.
func (db *DB) syncSearch(snap kv.Snapshot, c *catalog, t *tableInfo, wanted []SearchIndexDefinition, batch *kv.Batch) error {
	var keep []*searchInfo
	for _, si := range t.search {
		if slices.ContainsFunc(wanted, func(w SearchIndexDefinition) bool { return sameSearchDefinition(w, si.def) }) {
			keep = append(keep, si)
			continue
		}
		db.opts.Logger.Info("livedb: dropping search index", slog.String("table", t.name), slog.String("index", si.def.Name))
		n, err := deletePrefix(snap, si.prefix, batch)
		if err != nil {
			return err
		}
		db.report.IndexesDropped = append(db.report.IndexesDropped, searchChange(si, n))
	}
	var out []*searchInfo
	for _, w := range wanted {
		i := slices.IndexFunc(keep, func(si *searchInfo) bool { return si.def.Name == w.Name })
		if i >= 0 {
			out = append(out, keep[i])
			continue
		}
		si := newSearchInfo(t, c.allocIndex(), cloneSearchDefinitions([]SearchIndexDefinition{w})[0])
		db.opts.Logger.Info("livedb: building search index", slog.String("table", t.name), slog.String("index", w.Name))
		n, err := backfillSearch(snap, si, batch)
		if err != nil {
			return err
		}
		db.opts.report(Progress{Op: "backfill", Table: t.name, Index: w.Name, Done: n, Total: n})
		db.report.IndexesAdded = append(db.report.IndexesAdded, searchChange(si, n))
		out = append(out, si)
	}
	t.search = out
	return nil
}

func sameSearchDefinition(a, b SearchIndexDefinition) bool {
	return a.Name == b.Name && a.SearchField == b.SearchField && slices.Equal(a.FilterFields, b.FilterFields)
}

// searchChange reports a search index added or dropped: its fields are the
// search field then the filter fields, and n counts the documents indexed
// (added) or the keys deleted (dropped).
func searchChange(si *searchInfo, n int64) IndexChange {
	return IndexChange{Table: si.table.name, Index: si.def.Name, Fields: append([]string{si.def.SearchField}, si.def.FilterFields...), Entries: n}
}

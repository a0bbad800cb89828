package livedb

import (
	"bytes"
	"encoding/binary"
	"maps"
	"slices"

	"github.com/livedb-go/livedb/internal/kv"
)

// checkSearch verifies the search indexes of t for Check: every indexed
// document has exactly its postings, every posting belongs to a document
// that produces it, and the document counts and statistics are the ones
// the documents give.
func checkSearch(tx *txn, t *tableInfo, add func(string, ...any)) error {
	for _, si := range t.search {
		want := map[string][]byte{} // expected key → value, every kind
		d := &searchDelta{si: si, df: map[string]int64{}}
		err := forEachDoc(tx.snap, t, func(doc map[string]any) error {
			e := si.entry(doc)
			var b kv.Batch
			d.apply(&b, doc[fieldID].(string), &searchEntry{}, &e)
			for _, op := range b.Ops {
				want[string(op.Key)] = op.Value
			}
			return nil
		})
		if err != nil {
			return err
		}
		want[string(si.statsKey())] = encodeSearchStats(d.docs, d.totalLen)
		for _, term := range slices.Sorted(maps.Keys(d.df)) {
			want[string(si.termsKey(searchDocFreq, term, true))] = binary.AppendUvarint(nil, uint64(d.df[term]))
		}
		if d.docs == 0 {
			delete(want, string(si.statsKey())) // an empty index may lack its statistics
		}
		it := tx.snap.Iter(si.prefix, prefixEnd(si.prefix), false)
		for it.Next() {
			k := string(it.Key())
			v, ok := want[k]
			switch {
			case !ok && k == string(si.statsKey()) && d.docs == 0:
				if !bytes.Equal(it.Value(), encodeSearchStats(0, 0)) {
					add("table %q search index %s: statistics %x for an empty index", t.name, si.def.Name, shown(it.Value()))
				}
			case !ok:
				add("table %q search index %s: stale entry %q", t.name, si.def.Name, shown(it.Key()))
			case !bytes.Equal(v, it.Value()):
				add("table %q search index %s: entry %q holds %x, the documents give %x", t.name, si.def.Name, shown(it.Key()), shown(it.Value()), shown(v))
			}
			delete(want, k)
		}
		it.Close()
		if err := it.Err(); err != nil {
			return storeErr(err)
		}
		for _, k := range slices.Sorted(maps.Keys(want)) {
			add("table %q search index %s: missing entry %q", t.name, si.def.Name, shown(k))
		}
	}
	return nil
}

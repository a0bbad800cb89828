package livedb_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// TestQuery_WithIndex_IDBounds bounds the _id column of indexes (by_id,
// by_k, by_creation_time), whose keys hold a document's internal id
// rather than its text: each bound (the document's
// own ID, strings just before and after it that are no ID, its prefix,
// another table's ID, the empty string, a string after every ID) keeps
// exactly the documents whose text _id it keeps in string order.
func TestQuery_WithIndex_IDBounds(t *testing.T) {
	forEachBackendOptions(t, qtSchema(), looseOptions, func(t *testing.T, db *livedb.DB) {
		ids := qtInsert(t, db, "items", qtItems("a", 0, 1, 2, 3, 4, 5))
		var otherTable livedb.ID
		mustMutate(t, db, func(m *livedb.MutationCtx) (err error) {
			otherTable, err = m.DB.Insert("others", livedb.Doc{"x": int64(1)})
			return err
		})
		type op struct {
			name string
			rng  func(r livedb.IndexRange, field string, x any) livedb.IndexRange
			keep func(c int) bool // c: the _id compared with the bound
		}
		ops := []op{
			{"eq", livedb.IndexRange.Eq, func(c int) bool { return c == 0 }},
			{"gt", livedb.IndexRange.Gt, func(c int) bool { return c > 0 }},
			{"gte", livedb.IndexRange.Gte, func(c int) bool { return c >= 0 }},
			{"lt", livedb.IndexRange.Lt, func(c int) bool { return c < 0 }},
			{"lte", livedb.IndexRange.Lte, func(c int) bool { return c <= 0 }},
		}
		qtRead(t, db, func(r *livedb.Reader) error {
			docs, err := r.Query("items").Collect()
			require.NoError(t, err)
			require.Len(t, docs, len(ids))
			for _, d := range docs {
				id := string(d["_id"].(livedb.ID))
				ct := d["_creationTime"]
				last := id[len(id)-1]
				// Strings that are not IDs (a 14-byte one has a 16-byte sort
				// key, the length of an internal id), and undefined, the one
				// value of another type the _id's validator lets a range hold.
				bounds := []any{
					id, id[:len(id)-1], id + "0", id[:len(id)-1] + string(last-1), id[:len(id)-1] + string(last+1),
					"", "~", "\u00e9", string(otherTable), string(ids[0]), string(ids[len(ids)-1]),
					id[:14], "\x01", livedb.Undefined,
				}
				for _, s := range bounds {
					for _, o := range ops {
						for _, ix := range []struct {
							name string
							rng  func(livedb.IndexRange) livedb.IndexRange
						}{
							{"by_k", func(x livedb.IndexRange) livedb.IndexRange { return x.Eq("k", d["k"]).Eq("_creationTime", ct) }},
							{"by_creation_time", func(x livedb.IndexRange) livedb.IndexRange { return x.Eq("_creationTime", ct) }},
							{"by_id", func(x livedb.IndexRange) livedb.IndexRange { return x }},
						} {
							got, err := r.Query("items").WithIndex(ix.name, func(x livedb.IndexRange) livedb.IndexRange {
								return o.rng(ix.rng(x), "_id", s)
							}).Collect()
							require.NoError(t, err)
							want := 0
							if ix.name == "by_id" {
								for _, other := range docs {
									if o.keep(v.Compare(string(other["_id"].(livedb.ID)), s)) {
										want++
									}
								}
							} else if o.keep(v.Compare(id, s)) {
								want = 1
							}
							require.Len(t, got, want, fmt.Sprintf("%s: _id %s %#v, document %s", ix.name, o.name, s, id))
						}
					}
				}
			}
			return nil
		})
	})
}

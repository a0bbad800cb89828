package livedb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// flatNum reads a numsSchema document: every field is one that a flat
// type's reads store without reflection when the document's value has
// the field's usual type (an Int64 into int64, a Float64 into float64).
type flatNum struct {
	ID    livedb.Ref[flatNum] `json:"_id"`
	Group string              `json:"group"`
	N     int64               `json:"n"` // a Float64 in the documents
	I     float64             `json:"i"` // an Int64 in the documents
}

func numsSchema() *livedb.Schema {
	return livedb.DefineSchema(livedb.Tables{
		"nums": livedb.DefineTable(v.Object(v.Fields{
			"group": v.String(),
			"n":     v.Float64(),
			"i":     v.Int64(),
		})).Index("by_group", "group"),
	})
}

// A flat type read from a version whose values do not have its fields'
// usual types gets what FromDoc makes of the document: a converted value
// (an integral Float64 into int64, an Int64 into float64) or the same
// error (a fraction into int64), on the first read of a version and on
// the later ones, by Get and by a query.
func TestTable_Get_FlatTypeConvertsAsFromDoc(t *testing.T) {
	forEachBackend(t, numsSchema(), func(t *testing.T, db *livedb.DB) {
		ctx := context.Background()
		tb := livedb.NewTable[flatNum]("nums")
		docs := []livedb.Doc{
			{"group": "a", "n": 2.0, "i": int64(3)},
			{"group": "b", "n": 1.5, "i": int64(4)},
		}
		ids := make([]livedb.ID, len(docs))
		mustMutate(t, db, func(m *livedb.MutationCtx) (err error) {
			for i, d := range docs {
				if ids[i], err = m.DB.Insert("nums", d); err != nil {
					return err
				}
			}
			return nil
		})
		for round := range 3 {
			err := db.Query(ctx, func(q *livedb.QueryCtx) error {
				for i, id := range ids {
					d, _, err := q.DB.Get(id)
					if err != nil {
						return err
					}
					want, wantErr := livedb.FromDoc[flatNum](d)
					got, ok, err := tb.Get(q.DB, livedb.Ref[flatNum](id))
					checkFlatNum(t, round, "Get", got, err, want, wantErr)
					if !ok && err == nil {
						t.Errorf("round %d: Get %s: not found", round, id)
					}
					xs, err := tb.Query(q.DB).WithIndex("by_group", func(r livedb.IndexRange) livedb.IndexRange {
						return r.Eq("group", docs[i]["group"])
					}).Collect()
					var x flatNum
					if err == nil && len(xs) == 1 {
						x = xs[0]
					} else if err == nil {
						t.Errorf("round %d: Collect of %s: %d rows", round, id, len(xs))
					}
					checkFlatNum(t, round, "Collect", x, err, want, wantErr)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// checkFlatNum reports a typed read's result that differs from FromDoc's
// (whose message names no table: a Table's names "nums").
func checkFlatNum(t *testing.T, round int, read string, got flatNum, err error, want flatNum, wantErr error) {
	t.Helper()
	switch {
	case (err == nil) != (wantErr == nil):
		t.Errorf("round %d %s: error %v, FromDoc's %v", round, read, err, wantErr)
	case err != nil && err.Error() != strings.Replace(wantErr.Error(), "decode document", "decode nums document", 1):
		t.Errorf("round %d %s: error %q, FromDoc's %q", round, read, err, wantErr)
	case err == nil && got != want:
		t.Errorf("round %d %s: %+v, FromDoc's %+v", round, read, got, want)
	}
}

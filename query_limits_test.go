package livedb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// TestQuery_Limits checks each transaction limit at its boundary: the limit
// itself passes, one more fails with a *LimitError naming it.
func TestQuery_Limits(t *testing.T) {
	pad := strings.Repeat("p", 1000)
	padded := func(n int) []livedb.Doc {
		docs := qtItems("a", qtRange(n)...)
		for _, d := range docs {
			d["pad"] = pad
		}
		return docs
	}
	cases := []struct {
		name   string
		limits livedb.Limits
		limit  string
		max    int64
		// ok and fail each run one transaction over a table of 20 padded
		// items; ok stays within the limit, fail exceeds it.
		ok, fail func(db *livedb.DB, ids []livedb.ID) error
		writes   bool
	}{
		{
			name: "documents read", limits: livedb.Limits{DocumentsRead: 10}, limit: "documents read", max: 10,
			ok: func(db *livedb.DB, _ []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					_, err := q.DB.Query("items").Take(10)
					return err
				})
			},
			fail: func(db *livedb.DB, _ []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					_, err := q.DB.Query("items").Take(11)
					return err
				})
			},
		},
		{
			name: "documents read by gets", limits: livedb.Limits{DocumentsRead: 10}, limit: "documents read", max: 10,
			ok: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					for _, id := range ids[:10] {
						if _, _, err := q.DB.Get(id); err != nil {
							return err
						}
					}
					return nil
				})
			},
			fail: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					for _, id := range ids[:11] {
						if _, _, err := q.DB.Get(id); err != nil {
							return err
						}
					}
					return nil
				})
			},
		},
		{
			// Each padded item is 1,000 to 1,150 bytes: 4 fit in 4,700
			// bytes, 5 do not.
			name: "bytes read", limits: livedb.Limits{BytesRead: 4700}, limit: "bytes read", max: 4700,
			ok: func(db *livedb.DB, _ []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					_, err := q.DB.Query("items").Take(4)
					return err
				})
			},
			fail: func(db *livedb.DB, _ []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					_, err := q.DB.Query("items").Take(5)
					return err
				})
			},
		},
		{
			name: "read intervals", limits: livedb.Limits{ReadIntervals: 10}, limit: "read intervals", max: 10,
			ok: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					// Ten separate point reads: every other item, so no two
					// intervals are adjacent.
					for i := 0; i < 20; i += 2 {
						if _, err := q.DB.Query("items").WithIndex("by_k", func(r livedb.IndexRange) livedb.IndexRange {
							return r.Eq("k", float64(i))
						}).Collect(); err != nil {
							return err
						}
					}
					return nil
				})
			},
			fail: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Query(context.Background(), func(q *livedb.QueryCtx) error {
					for i := 0; i < 20; i += 2 {
						if _, _, err := q.DB.Get(ids[i]); err != nil {
							return err
						}
					}
					_, _, err := q.DB.Get(ids[1])
					return err
				})
			},
		},
		{
			name: "documents written", limits: livedb.Limits{DocumentsWritten: 5}, limit: "documents written", max: 5, writes: true,
			ok: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					for _, id := range ids[:5] {
						if err := m.DB.Patch(id, livedb.Doc{"g": "b"}); err != nil {
							return err
						}
					}
					// Writing the same document again is not another document.
					return m.DB.Patch(ids[0], livedb.Doc{"g": "c"})
				})
			},
			fail: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					for _, d := range padded(6) {
						if _, err := m.DB.Insert("items", d); err != nil {
							return err
						}
					}
					return nil
				})
			},
		},
		{
			name: "bytes written", limits: livedb.Limits{BytesWritten: 4700}, limit: "bytes written", max: 4700, writes: true,
			ok: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					for _, d := range padded(4) {
						if _, err := m.DB.Insert("items", d); err != nil {
							return err
						}
					}
					return nil
				})
			},
			fail: func(db *livedb.DB, ids []livedb.ID) error {
				return db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
					for _, d := range padded(5) {
						if _, err := m.DB.Insert("items", d); err != nil {
							return err
						}
					}
					return nil
				})
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackendOptions(t, qtSchema(), &livedb.Options{Limits: tc.limits}, func(t *testing.T, db *livedb.DB) {
				var ids []livedb.ID
				for _, d := range padded(20) { // one per mutation, within the write limits
					ids = append(ids, qtInsert(t, db, "items", []livedb.Doc{d})...)
				}
				require.NoError(t, tc.ok(db, ids), "within the limit")
				before := mustPageAllItems(t, db)
				err := tc.fail(db, ids)
				require.ErrorIs(t, err, livedb.ErrLimit)
				var le *livedb.LimitError
				require.ErrorAs(t, err, &le)
				assert.Equal(t, tc.limit, le.Limit)
				assert.Equal(t, tc.max, le.Max)
				msg := err.Error()
				assert.Contains(t, msg, tc.limit)
				assert.Contains(t, msg, fmt.Sprintf("limit: %d", tc.max))
				if tc.writes {
					assert.Contains(t, msg, "mutations", "the message suggests splitting the work")
					assert.Equal(t, before, mustPageAllItems(t, db), "a mutation over the limit writes nothing")
				} else {
					assert.Contains(t, msg, "index", "the message suggests an index")
					assert.Contains(t, msg, "paginat", "the message suggests pagination")
				}
			})
		})
	}
}

// mustPageAllItems returns every item in by_k order, one per page and
// transaction, so that it fits the smallest read limits of the tests.
func mustPageAllItems(t *testing.T, db *livedb.DB) []livedb.Doc {
	t.Helper()
	var all []livedb.Doc
	opts := livedb.PaginationOptions{NumItems: 1}
	for range 1000 {
		res := qtPage(t, db, qtByK(livedb.Asc), opts)
		all = append(all, res.Page...)
		if res.IsDone {
			return all
		}
		opts.Cursor = res.ContinueCursor
	}
	t.Fatal("mustPageAllItems: no end")
	return nil
}
